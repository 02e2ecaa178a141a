"""The hot path's connection pool against a real PostgreSQL: size, waiting, failed, broken
and cancelled statements, closing. Each test's pool has an application_name of its own,
so pg_stat_activity shows its connections and nothing else."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable

import asyncpg
import pytest
import pytest_asyncio

from services.conversations.adapters.database.errors import database_unavailable
from services.conversations.adapters.database.pool import StatementPool

PID_AFTER = "SELECT pg_backend_pid(), pg_sleep($1::float8)"
PATIENCE = 10.0  # seconds: a slow machine's worst case for what should take milliseconds


@pytest_asyncio.fixture(loop_scope="session")
async def admin(database: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(database)
    yield connection
    await connection.close()


@pytest_asyncio.fixture(loop_scope="session")
async def make_pool(database: str) -> AsyncIterator[Callable[..., StatementPool]]:
    pools: list[StatementPool] = []

    def make(size: int = 2, acquire_timeout_seconds: float = PATIENCE) -> StatementPool:
        name = f"pool-test-{uuid.uuid4().hex[:12]}"
        pool = StatementPool(database, size, acquire_timeout_seconds, application_name=name)
        pools.append(pool)
        return pool

    yield make
    for pool in pools:
        await pool.close()


async def backends(admin: asyncpg.Connection, pool: StatementPool) -> dict[int, tuple[str, str]]:
    """The pool's server connections: pid -> (state, query)."""
    rows = await admin.fetch(
        "SELECT pid, state, query FROM pg_stat_activity WHERE application_name = $1", pool.application_name
    )
    return {row["pid"]: (row["state"], row["query"]) for row in rows}


async def until(condition: Callable[[], object], what: str) -> None:
    deadline = asyncio.get_running_loop().time() + PATIENCE
    while not await condition():  # type: ignore[misc]
        assert asyncio.get_running_loop().time() < deadline, what
        await asyncio.sleep(0.02)


async def both_connections(pool: StatementPool, sleep: float = 0.2) -> set[int]:
    """The pids of the pool's two connections, made busy at the same time."""
    rows = await asyncio.gather(*(pool.fetch(PID_AFTER, [sleep]) for _ in range(2)))
    return {records[0][0] for records in rows}


async def test_reuses_its_connections_and_opens_no_more_than_its_size(
    make_pool: Callable[..., StatementPool], admin: asyncpg.Connection
) -> None:
    pool = make_pool(size=2)
    rows = await asyncio.gather(*(pool.fetch(PID_AFTER, [0.05]) for _ in range(8)))
    used = {records[0][0] for records in rows}
    assert len(used) == 2
    assert set(await backends(admin, pool)) == used
    for _ in range(5):
        assert (await pool.fetch(PID_AFTER, [0]))[0][0] in used
    assert set(await backends(admin, pool)) == used


async def test_a_waiting_statement_runs_on_the_first_connection_freed(
    make_pool: Callable[..., StatementPool],
) -> None:
    pool = make_pool(size=2)
    await both_connections(pool, 0)
    short = asyncio.create_task(pool.fetch(PID_AFTER, [0.1]))
    long = asyncio.create_task(pool.fetch(PID_AFTER, [3]))
    await asyncio.sleep(0.05)
    waited = (await pool.fetch(PID_AFTER, [0]))[0][0]
    assert short.done() and not long.done()
    assert waited == (await short)[0][0]
    await long


async def test_waits_at_most_its_timeout_then_fails_as_unavailable(
    make_pool: Callable[..., StatementPool],
) -> None:
    pool = make_pool(size=2, acquire_timeout_seconds=0.3)
    await both_connections(pool, 0)
    busy = [asyncio.create_task(pool.fetch(PID_AFTER, [2])) for _ in range(2)]
    await asyncio.sleep(0.05)
    with pytest.raises(TimeoutError) as raised:
        await pool.fetch("SELECT 1", [])
    # The gRPC layer answers UNAVAILABLE for it, as for any unreachable database.
    assert database_unavailable(raised.value)
    await asyncio.gather(*busy)
    assert (await pool.fetch("SELECT 41 + 1", []))[0][0] == 42


async def test_a_failed_statement_keeps_its_connection(make_pool: Callable[..., StatementPool]) -> None:
    pool = make_pool(size=2)
    pids = await both_connections(pool)
    with pytest.raises(asyncpg.exceptions.DivisionByZeroError):
        await pool.fetch("SELECT 1 / 0", [])
    with pytest.raises(asyncpg.exceptions.DataError):
        await pool.fetch("SELECT $1::int", ["not a number"])
    assert await both_connections(pool) == pids


async def test_connections_killed_mid_statement_are_dropped_and_replaced(
    make_pool: Callable[..., StatementPool], admin: asyncpg.Connection
) -> None:
    pool = make_pool(size=2)
    busy = [asyncio.create_task(pool.fetch(PID_AFTER, [5])) for _ in range(2)]

    async def both_sleeping() -> bool:
        return sum("pg_sleep" in query for _, query in (await backends(admin, pool)).values()) == 2

    await until(both_sleeping, "both statements running")
    killed = set(await backends(admin, pool))
    for pid in killed:
        await admin.execute("SELECT pg_terminate_backend($1)", pid)
    for task in busy:
        with pytest.raises(Exception) as raised:
            await task
        assert database_unavailable(raised.value), repr(raised.value)
    fresh = await both_connections(pool)
    assert len(fresh) == 2 and not fresh & killed


async def test_a_cancelled_statement_is_cancelled_on_the_server_and_its_connection_kept(
    make_pool: Callable[..., StatementPool], admin: asyncpg.Connection
) -> None:
    pool = make_pool(size=2)
    pids = await both_connections(pool, 0)
    task = asyncio.create_task(pool.fetch("SELECT pg_sleep(30)", []))

    async def sleeping() -> bool:
        return any("pg_sleep(30)" in q for s, q in (await backends(admin, pool)).values() if s == "active")

    await until(sleeping, "the statement running")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    async def stopped() -> bool:
        return not await sleeping()

    # Not left running on the server (holding its locks) behind a terminated socket.
    await until(stopped, "the server cancelled the statement")
    # And the connection serves again: still the same two.
    assert await both_connections(pool) == pids


async def test_closing_refuses_new_and_waiting_statements(make_pool: Callable[..., StatementPool]) -> None:
    pool = make_pool(size=1)
    busy = asyncio.create_task(pool.fetch(PID_AFTER, [0.5]))
    await asyncio.sleep(0.05)
    waiting = asyncio.create_task(pool.fetch("SELECT 1", []))
    await asyncio.sleep(0.05)
    await pool.close()
    with pytest.raises(asyncpg.exceptions.InterfaceError):
        await waiting
    await busy  # a statement under way finishes
    with pytest.raises(asyncpg.exceptions.InterfaceError):
        await pool.fetch("SELECT 1", [])
