"""An account's event log read a page at a time (adapters/database/events.sql) against a real
PostgreSQL: pages bounded in events and in bytes, in id order, the first event always."""

from collections.abc import AsyncIterator
from uuid import UUID

import pytest_asyncio
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from services.conversations.adapters.database.events import EventLog
from services.conversations.adapters.database.pool import StatementPool
from tools.seed import SeededAccount

PATIENCE = 10.0


@pytest_asyncio.fixture(loop_scope="session")
async def log(database: str) -> AsyncIterator[EventLog]:
    pool = StatementPool(database, 2, PATIENCE, application_name="event-log-test")
    yield EventLog(pool)
    await pool.close()


async def append(engine: AsyncEngine, account: SeededAccount, sizes: list[int]) -> None:
    """Events whose data is a JSON string of `size - 2` characters: `size` bytes as text."""
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO events (account_id, id, type, data) "
                "SELECT :a, n, 'message.received', to_jsonb(repeat('x', size - 2)) "
                "FROM unnest(CAST(:sizes AS int[])) WITH ORDINALITY AS s(size, n)"
            ),
            {"a": account.account_id, "sizes": sizes},
        )


async def test_a_page_ends_with_the_event_that_reaches_the_bytes(
    engine: AsyncEngine, account: SeededAccount, log: EventLog
) -> None:
    await append(engine, account, [400, 400, 400, 5000, 100, 100])
    account_id = UUID(account.account_id)
    pages = []
    after = 0
    while page := await log.events_after(account_id, after, limit=200, max_bytes=1000):
        pages.append([(event.id, len(event.data_json)) for event in page])
        after = page[-1].id
    # 400 + 400 < 1000: the third comes and ends the page; the large event comes alone.
    assert pages == [[(1, 400), (2, 400), (3, 400)], [(4, 5000)], [(5, 100), (6, 100)]]


async def test_a_page_holds_at_most_limit_events(
    engine: AsyncEngine, account: SeededAccount, log: EventLog
) -> None:
    await append(engine, account, [10] * 7)
    account_id = UUID(account.account_id)
    assert [e.id for e in await log.events_after(account_id, 0, limit=3, max_bytes=10**6)] == [1, 2, 3]
    assert [e.id for e in await log.events_after(account_id, 5, limit=3, max_bytes=10**6)] == [6, 7]


async def test_other_accounts_events_are_not_read(
    engine: AsyncEngine, account: SeededAccount, other_account: SeededAccount, log: EventLog
) -> None:
    await append(engine, other_account, [10, 10])
    assert await log.events_after(UUID(account.account_id), 0, limit=10, max_bytes=10**6) == []
