"""The 24 h service window in PostgreSQL (migration 0013, reads.sql): as long as the send path's
window, whatever the session's time zone; the filters of conversation lists keep what the
domain's WindowFilter keeps, page by page; and the window index serves them."""

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from uuid import UUID

import asyncpg
import pytest
import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncEngine

from services.conversations.adapters.database.pool import StatementPool
from services.conversations.adapters.database.reads import SQL, ReadStore
from services.conversations.domain.inbox import NO_INBOX_FILTER
from services.conversations.domain.model import Conversation, Page
from services.conversations.domain.outbound import SERVICE_WINDOW_SECONDS
from services.conversations.domain.pages import decode_page_token, one_page
from services.conversations.domain.service_window import NO_FILTER, WindowFilter
from tools.seed import create_account

HOUR = timedelta(hours=1)
WINDOW_INDEX = "conversations_account_window_idx"
ACTIVITY_INDEX = "conversations_account_activity_idx"


@pytest_asyncio.fixture(loop_scope="session")
async def connection(database: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(database)
    yield connection
    await connection.close()


@pytest_asyncio.fixture(loop_scope="session")
async def reads(database: str) -> AsyncIterator[ReadStore]:
    store = ReadStore(StatementPool(database, 2))
    yield store
    await store.pool.close()


async def wrote(connection: asyncpg.Connection, conversation_id: str, hours_ago: float | None) -> None:
    """The customer last wrote that long ago (None: never)."""
    await connection.execute(
        "UPDATE conversations SET last_inbound_at = now() - make_interval(secs => $2::float8 * 3600) WHERE id = $1",
        UUID(conversation_id),
        hours_ago,
    )


@pytest.mark.parametrize("time_zone", ["UTC", "America/New_York", "Australia/Lord_Howe"])
async def test_the_window_is_the_send_paths_24_hours_whatever_the_time_zone(
    connection: asyncpg.Connection, time_zone: str
) -> None:
    """Across a daylight saving change too (New York, 8 March 2026: a 23-hour day; Lord Howe
    moves by half an hour): hours, not calendar days."""
    await connection.execute(f"SET TIME ZONE '{time_zone}'")
    try:
        lengths = await connection.fetch(
            "SELECT pigeon_window_expires_at(t) - t AS length FROM unnest($1::text[]::timestamptz[]) AS t",
            ["2026-03-07 12:00:00+00", "2026-10-03 15:30:00+00", "2026-04-04 15:00:00+00"],
        )
    finally:
        await connection.execute("RESET TIME ZONE")
    assert {row["length"] for row in lengths} == {timedelta(seconds=SERVICE_WINDOW_SECONDS)}
    assert await connection.fetchval("SELECT pigeon_window_expires_at(NULL)") is None


async def test_a_conversation_shows_its_window_as_of_the_read(
    connection: asyncpg.Connection, engine: AsyncEngine, reads: ReadStore
) -> None:
    account = await create_account(engine, "Window fields", conversations=3)
    for conversation_id, hours_ago in zip(account.conversation_ids, [1, 25, None], strict=True):
        await wrote(connection, conversation_id, hours_ago)
    account_id = UUID(account.account_id)
    shown = [await reads.get_conversation(account_id, UUID(c)) for c in account.conversation_ids]

    opened, closed, never = [
        (c.last_inbound_at, c.window_expires_at, c.can_send_free_form) for c in shown if c
    ]
    assert opened[0] is not None and opened[1:] == (opened[0] + 24 * HOUR, True)
    assert closed[0] is not None and closed[1:] == (closed[0] + 24 * HOUR, False)
    assert never == (None, None, False)


async def all_pages(
    reads: ReadStore, account_id: UUID, window: WindowFilter, page_size: int
) -> list[Conversation]:
    """Every page, as the Reading use case asks for them."""
    listed: list[Conversation] = []
    page = None
    while True:
        found = await reads.list_conversations(account_id, page_size + 1, page, window, NO_INBOX_FILTER)
        rows, token = one_page(found, page_size, lambda c: Page(c.last_activity_at, c.id))
        listed += rows
        if not token:
            return listed
        page = decode_page_token(token)


def hence(hours: float) -> datetime:
    return datetime.now(UTC) + timedelta(hours=hours)


@pytest.mark.parametrize(
    "window",
    [
        lambda: WindowFilter(can_send_free_form=True),
        lambda: WindowFilter(can_send_free_form=False),
        lambda: WindowFilter(expires_after=hence(5)),
        lambda: WindowFilter(expires_before=hence(5)),
        lambda: WindowFilter(expires_after=hence(-10), expires_before=hence(10)),
        lambda: WindowFilter(can_send_free_form=True, expires_before=hence(3)),
        lambda: WindowFilter(can_send_free_form=False, expires_after=hence(-24)),
        lambda: WindowFilter(can_send_free_form=True, expires_after=hence(-24), expires_before=hence(10)),
    ],
    ids=[
        "open",
        "closed",
        "after",
        "before",
        "range",
        "open-closing-soon",
        "closed-lately",
        "open-and-bounded",
    ],
)
async def test_the_filters_keep_what_the_domain_keeps_page_by_page(
    connection: asyncpg.Connection, engine: AsyncEngine, reads: ReadStore, window: Callable[[], WindowFilter]
) -> None:
    """Windows hours away from every bound, so that the few milliseconds between the
    database's now() and this test's do not matter."""
    hours_ago = [0.5, None, 2, 10, 23, 25, 30, 100, None, 47]
    account = await create_account(engine, "Window filters", conversations=len(hours_ago))
    for conversation_id, hours in zip(account.conversation_ids, hours_ago, strict=True):
        await wrote(connection, conversation_id, hours)
    account_id = UUID(account.account_id)
    every = await all_pages(reads, account_id, NO_FILTER, 100)
    assert [str(c.id) for c in every] == account.conversation_ids  # most recently active first
    chosen = window()

    listed = await all_pages(reads, account_id, chosen, 3)

    expected = [c.id for c in every if chosen.keeps(c.window_expires_at, datetime.now(UTC))]
    assert [c.id for c in listed] == expected
    assert 0 < len(expected) < len(every)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def many_conversations(engine: AsyncEngine, database: str) -> UUID:
    """An account of 20,000 conversations, its statistics known to the planner."""
    account_id = UUID((await create_account(engine, "Many windows", conversations=1)).account_id)
    connection = await asyncpg.connect(database)
    try:
        await connection.execute(MANY_CONVERSATIONS, account_id, 20000)
        await connection.execute("ANALYZE conversations")
    finally:
        await connection.close()
    return account_id


# An account's conversations as they age: the g-th one's customer last wrote g * 26 minutes
# ago (about a year for the oldest; open windows are the 37 newest), or never, one in three.
MANY_CONVERSATIONS = """
WITH contact AS (
    INSERT INTO contacts (account_id, wa_id)
    SELECT $1, '1666' || lpad(g::text, 8, '0') FROM generate_series(1, $2::int) AS g
    RETURNING id, wa_id
)
INSERT INTO conversations (account_id, contact_id, last_inbound_at, last_activity_at)
SELECT $1, id, CASE WHEN g % 3 <> 0 THEN at END, at
FROM (SELECT id, right(wa_id, 8)::int AS g, now() - right(wa_id, 8)::int * interval '26 minutes' AS at
      FROM contact) AS aged
"""


# The arguments of the inbox filters (conversation_filters) when none is set.
NO_INBOX_ARGUMENTS = {"status": None, "assignee": None, "label": None, "unread": False}

# EXPLAIN (GENERIC_PLAN) of a statement with its $1, $2, ...: sent from PL/pgSQL, since a client
# that prepares statements would want values for them.
GENERIC_PLAN_OF = """
CREATE OR REPLACE FUNCTION pg_temp.generic_plan_of(statement text) RETURNS SETOF text LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY EXECUTE 'EXPLAIN (GENERIC_PLAN) ' || statement;
END
$$
"""


@pytest.mark.parametrize("generic", [False, True], ids=["plan-for-the-values", "plan-for-any-values"])
@pytest.mark.parametrize(
    ("window", "index"),
    [
        # A lower bound: the few windows in its range, by the window index.
        (lambda: WindowFilter(can_send_free_form=True), WINDOW_INDEX),
        (lambda: WindowFilter(expires_after=hence(-48), expires_before=hence(-24)), WINDOW_INDEX),
        (lambda: WindowFilter(can_send_free_form=True, expires_before=hence(1)), WINDOW_INDEX),
        # None: most of the account, walked by activity until the page is full.
        (lambda: NO_FILTER, ACTIVITY_INDEX),
        (lambda: WindowFilter(can_send_free_form=False), ACTIVITY_INDEX),
        (lambda: WindowFilter(expires_before=hence(-24)), ACTIVITY_INDEX),
    ],
    ids=["open", "closed-yesterday", "closing-within-the-hour", "all", "closed", "closed-before-yesterday"],
)
async def test_an_index_serves_each_filter(
    connection: asyncpg.Connection,
    many_conversations: UUID,
    generic: bool,
    window: Callable[[], WindowFilter],
    index: str,
) -> None:
    """The statement the read store runs for the filter, planned for its values and, as a
    prepared statement may come to be, for any values, over an account of 20,000 conversations."""
    chosen = window()
    arguments = {
        "account_id": many_conversations,
        "limit": 21,
        "can_send_free_form": chosen.can_send_free_form,
        "window_expires_before": chosen.expires_before,
        "after_time": None,
        "after_id": None,
    }
    if chosen.bounded_below:
        query = SQL.list_conversations_by_window
        arguments |= {"window_expires_after": chosen.expires_after, **NO_INBOX_ARGUMENTS}
    else:
        query = SQL.list_conversations
    if generic:
        await connection.execute(GENERIC_PLAN_OF)
        rows = await connection.fetch("SELECT * FROM pg_temp.generic_plan_of($1)", query.sql)
    else:
        rows = await connection.fetch(f"EXPLAIN {query.sql}", *query.arguments(arguments))
    plan = "\n".join(row[0] for row in rows)
    # A plain or a bitmap index scan, as the planner's statistics choose: the index serves it.
    assert f"Index Scan using {index}" in plan or f"Bitmap Index Scan on {index}" in plan, plan


@pytest.mark.parametrize("generic", [False, True], ids=["plan-for-the-values", "plan-for-any-values"])
@pytest.mark.parametrize(
    "window",
    [lambda: WindowFilter(can_send_free_form=True), lambda: WindowFilter(expires_after=hence(-48))],
    ids=["open", "closing-after-two-days-ago"],
)
async def test_a_lower_bound_walks_by_activity_first_no_further_than_it_implies(
    connection: asyncpg.Connection,
    many_conversations: UUID,
    generic: bool,
    window: Callable[[], WindowFilter],
) -> None:
    """list_recent_conversations_by_window walks the activity index from the page's last and
    stops at the activity the window's bound implies (or after `scan` rows): an index
    condition, for its values and for any values, never a sort of the account."""
    chosen = window()
    query = SQL.list_recent_conversations_by_window
    arguments = {
        "account_id": many_conversations,
        "limit": 21,
        "scan": 210,
        "can_send_free_form": chosen.can_send_free_form,
        "window_expires_after": chosen.expires_after,
        "window_expires_before": None,
        "after_time": None,
        "after_id": None,
        **NO_INBOX_ARGUMENTS,
    }
    if generic:
        await connection.execute(GENERIC_PLAN_OF)
        rows = await connection.fetch("SELECT * FROM pg_temp.generic_plan_of($1)", query.sql)
    else:
        rows = await connection.fetch(f"EXPLAIN {query.sql}", *query.arguments(arguments))
    plan = "\n".join(row[0] for row in rows)
    walk = plan[plan.index(f"Index Scan using {ACTIVITY_INDEX}") :]
    index_condition = walk.splitlines()[1]
    assert "Index Cond: ((account_id = " in index_condition and "(last_activity_at >= " in index_condition, (
        plan
    )
    assert "ROW(last_activity_at, id) < ROW(" in index_condition, plan


@pytest.mark.parametrize("page_size", [1, 3, 8])
@pytest.mark.parametrize(
    "window",
    [
        lambda: WindowFilter(can_send_free_form=True),
        lambda: WindowFilter(expires_after=hence(-48), expires_before=hence(-24)),
    ],
    ids=["open", "closed-yesterday"],
)
async def test_walks_and_the_window_index_make_the_same_pages(
    reads: ReadStore, many_conversations: UUID, page_size: int, window: Callable[[], WindowFilter]
) -> None:
    """Pages filled by a walk by activity, by the window index when the walk falls short, or
    by both in turn add up to what the domain keeps of the whole account, in order, once.
    (The account's windows are minutes away from each bound.)"""
    chosen = window()
    every = await all_pages(reads, many_conversations, NO_FILTER, 1000)
    expected = [c.id for c in every if chosen.keeps(c.window_expires_at, datetime.now(UTC))]

    listed = await all_pages(reads, many_conversations, chosen, page_size)

    assert [c.id for c in listed] == expected
    assert len(expected) > 2 * page_size
