"""The hot path's connection pool against a real PostgreSQL: size, waiting, broken and
cancelled connections, closing."""

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest
import pytest_asyncio

from services.conversations.grpc_api import database_unavailable
from services.conversations.statements import StatementPool

BACKEND_PID = "SELECT pg_backend_pid()"


@pytest_asyncio.fixture(loop_scope="session")
async def pool(database: str) -> AsyncIterator[StatementPool]:
    pool = StatementPool(database, size=2, acquire_timeout_seconds=0.5)
    yield pool
    await pool.close()


async def backends(database: str) -> set[int]:
    """pids of the pool's connections (their application_name)."""
    connection = await asyncpg.connect(database)
    try:
        rows = await connection.fetch(
            "SELECT pid FROM pg_stat_activity WHERE application_name = 'pigeon-conversations'"
            " AND datname = current_database()"
        )
        return {row["pid"] for row in rows}
    finally:
        await connection.close()


async def test_reuses_connections_and_opens_no_more_than_its_size(pool: StatementPool, database: str) -> None:
    pids = await asyncio.gather(
        *(pool.fetch("SELECT pg_backend_pid(), pg_sleep(0.05)", []) for _ in range(8))
    )
    used = {records[0][0] for records in pids}
    assert len(used) == 2
    again = {(await pool.fetch(BACKEND_PID, []))[0][0] for _ in range(5)}
    assert again <= used
    assert used <= await backends(database)


async def test_waits_for_a_connection_then_gives_up_as_unavailable(pool: StatementPool) -> None:
    busy = [asyncio.create_task(pool.fetch("SELECT pg_sleep(1.5)", [])) for _ in range(2)]
    await asyncio.sleep(0.2)
    with pytest.raises(TimeoutError) as raised:
        await pool.fetch("SELECT 1", [])
    # The gRPC layer answers UNAVAILABLE for it, as for any unreachable database.
    assert database_unavailable(raised.value)
    await asyncio.gather(*busy)
    assert (await pool.fetch("SELECT 41 + 1", []))[0][0] == 42


async def test_a_waiting_statement_gets_the_next_free_connection(pool: StatementPool) -> None:
    busy = [asyncio.create_task(pool.fetch("SELECT pg_sleep(0.2)", [])) for _ in range(2)]
    await asyncio.sleep(0.05)
    assert (await pool.fetch("SELECT 'waited'", []))[0][0] == "waited"
    await asyncio.gather(*busy)


async def both_connections(pool: StatementPool) -> set[int]:
    """The pids of the pool's two connections, busy at the same time."""
    rows = await asyncio.gather(*(pool.fetch("SELECT pg_backend_pid(), pg_sleep(0.2)", []) for _ in range(2)))
    return {records[0][0] for records in rows}


async def test_a_failed_statement_keeps_its_connection(pool: StatementPool) -> None:
    pids = await both_connections(pool)
    with pytest.raises(asyncpg.exceptions.DivisionByZeroError):
        await pool.fetch("SELECT 1 / 0", [])
    assert await both_connections(pool) == pids


async def test_a_connection_killed_by_the_server_is_dropped(pool: StatementPool, database: str) -> None:
    pids = await both_connections(pool)
    admin = await asyncpg.connect(database)
    try:
        for pid in pids:
            await admin.execute("SELECT pg_terminate_backend($1)", pid)
    finally:
        await admin.close()
    failures = 0
    for _ in range(4):
        try:
            await pool.fetch("SELECT 1", [])
        except Exception as exc:
            assert database_unavailable(exc), repr(exc)
            failures += 1
    # At most one failure per dead connection, then fresh ones.
    assert failures <= 2
    assert not (await both_connections(pool)) & pids


async def test_a_cancelled_statement_costs_its_connection_not_the_pool(pool: StatementPool) -> None:
    for _ in range(3):
        task = asyncio.create_task(pool.fetch("SELECT pg_sleep(5)", []))
        await asyncio.sleep(0.1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    # Still room for two connections at once.
    assert len(await both_connections(pool)) == 2


async def test_a_closed_pool_refuses_statements(database: str) -> None:
    pool = StatementPool(database, size=1)
    await pool.fetch("SELECT 1", [])
    await pool.close()
    with pytest.raises(asyncpg.exceptions.InterfaceError):
        await pool.fetch("SELECT 1", [])
