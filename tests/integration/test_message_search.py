"""Message search in PostgreSQL (migration 0020, reads.sql's search_messages): text bodies and
captions matched word by word, one account's only, newest first by pages, narrowed to a
conversation or a time range, and served by messages_words_idx."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg
import orjson
import pytest
import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncEngine

from services.conversations.adapters.database.database import Database
from services.conversations.adapters.database.queries import Query
from services.conversations.adapters.database.reads import SQL
from services.conversations.domain.errors import InvalidArgument
from services.conversations.domain.search import MessageSearch
from services.conversations.use_cases.directory import Directory
from services.conversations.use_cases.reading import Reading
from tests.integration.test_service_window import GENERIC_PLAN_OF
from tools.seed import SeededAccount, create_account

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@pytest_asyncio.fixture(loop_scope="session")
async def connection(database: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(database)
    yield connection
    await connection.close()


@pytest_asyncio.fixture(loop_scope="session")
async def reading(database: str) -> AsyncIterator[Reading]:
    db = Database(database, 2)
    yield Reading(Directory(db.directory, 0.0), db.reads)
    await db.close()


async def store(
    connection: asyncpg.Connection,
    account: SeededAccount,
    conversation: int,
    minutes: int,
    message_type: str,
    body: dict[str, Any],
) -> UUID:
    """An inbound message of the account's `conversation`-th conversation, created `minutes`
    after T0; its id."""
    return await connection.fetchval(  # type: ignore[no-any-return]
        "INSERT INTO messages (account_id, conversation_id, direction, contact_wa_id, type, body, status,"
        " created_at) VALUES ($1, $2, 'inbound', $3, $4, $5::jsonb, 'received', $6) RETURNING id",
        UUID(account.account_id),
        UUID(account.conversation_ids[conversation]),
        account.contact_wa_ids[conversation],
        message_type,
        orjson.dumps(body).decode(),
        T0 + timedelta(minutes=minutes),
    )


async def everything(reading: Reading, account: SeededAccount, search: MessageSearch) -> list[UUID]:
    """The ids of every page of the search, two at a time, in order."""
    found: list[UUID] = []
    token = ""
    while True:
        messages, token = await reading.search(UUID(account.account_id), search, 2, token)
        found += [m.id for m in messages]
        if not token:
            return found


async def test_bodies_and_captions_match_newest_first_by_pages(
    engine: AsyncEngine, connection: asyncpg.Connection, reading: Reading
) -> None:
    account = await create_account(engine, "Search bodies", conversations=2)
    other = await create_account(engine, "Search others", conversations=1)
    oldest = await store(connection, account, 0, 1, "text", {"body": "Where is my parcel?"})
    photo = await store(connection, account, 1, 2, "image", {"id": "m1", "caption": "the PARCEL, damaged"})
    await store(connection, account, 0, 3, "text", {"body": "thanks a lot"})
    await store(connection, account, 0, 4, "location", {"latitude": 1, "longitude": 2, "name": "parcel"})
    newest = await store(connection, account, 1, 5, "text", {"body": "parcel arrived, thanks"})
    await store(connection, other, 0, 6, "text", {"body": "my parcel too"})

    assert await everything(reading, account, MessageSearch("parcel")) == [newest, photo, oldest]
    assert await everything(reading, account, MessageSearch("parcel thanks")) == [newest]
    assert await everything(reading, account, MessageSearch('"parcel arrived"')) == [newest]
    assert await everything(reading, account, MessageSearch("parcel -thanks")) == [photo, oldest]
    assert await everything(reading, account, MessageSearch("damaged or where")) == [photo, oldest]
    assert await everything(reading, account, MessageSearch("parce")) == []
    # Nothing but punctuation has no words: nothing is found, nothing fails.
    assert await everything(reading, account, MessageSearch("?!")) == []


async def test_a_conversation_or_a_time_range_narrows_it(
    engine: AsyncEngine, connection: asyncpg.Connection, reading: Reading
) -> None:
    account = await create_account(engine, "Search narrowed", conversations=2)
    other = await create_account(engine, "Search narrowed others", conversations=1)
    first = await store(connection, account, 0, 10, "text", {"body": "refund please"})
    second = await store(connection, account, 1, 20, "text", {"body": "refund please"})
    third = await store(connection, account, 0, 30, "text", {"body": "refund please"})
    conversation = UUID(account.conversation_ids[0])

    assert await everything(reading, account, MessageSearch("refund", conversation_id=conversation)) == [
        third,
        first,
    ]
    since, until = T0 + timedelta(minutes=10), T0 + timedelta(minutes=30)
    assert await everything(reading, account, MessageSearch("refund", since=since)) == [third, second, first]
    assert await everything(reading, account, MessageSearch("refund", since=since, until=until)) == [
        second,
        first,
    ]
    # Another account's conversation: nothing, as a conversation without matches.
    elsewhere = MessageSearch("refund", conversation_id=UUID(other.conversation_ids[0]))
    assert await everything(reading, account, elsewhere) == []


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"q": ""}, "q must be 1 to 200 characters"),
        ({"q": "x" * 201}, "q must be 1 to 200 characters"),
        ({"q": "a\x00b"}, "q must not contain"),
        ({"q": "a", "since": T0, "until": T0}, "until must be after since"),
    ],
    ids=["empty", "too-long", "nul", "until-not-after-since"],
)
def test_a_search_that_is_not_one_is_refused(arguments: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        MessageSearch(**arguments)


# 20,000 messages of one account over 100 conversations, one minute apart: "common" in every
# tenth, "rare-<g>" in each, text and captions alike.
MANY_MESSAGES = """
INSERT INTO messages (account_id, conversation_id, direction, contact_wa_id, type, body, status, created_at)
SELECT $1, c.id, 'inbound', '15550000000',
       CASE WHEN g % 2 = 0 THEN 'text' ELSE 'image' END,
       jsonb_build_object(CASE WHEN g % 2 = 0 THEN 'body' ELSE 'caption' END,
                          'rare-' || g || CASE WHEN g % 10 = 0 THEN ' common' ELSE '' END),
       'received', now() - g * interval '1 minute'
FROM generate_series(1, 20000) AS g
JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM conversations WHERE account_id = $1) AS c
  ON c.n = g % 100
"""


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def many_messages(engine: AsyncEngine, database: str) -> UUID:
    account = await create_account(engine, "Search many", conversations=100)
    connection = await asyncpg.connect(database)
    try:
        await connection.execute(MANY_MESSAGES, UUID(account.account_id))
        await connection.execute("ANALYZE messages")
    finally:
        await connection.close()
    return UUID(account.account_id)


# Each search statement and the index that must serve it, planned for a common and a rare word.
SEARCH_PLANS = [
    # The account's newest messages walked in order, stopping after `scan`: never sorted whole.
    (SQL.search_recent_messages, "Index Scan using messages_account_created_idx"),
    (SQL.search_messages, "Bitmap Index Scan on messages_words_idx"),
    (SQL.search_conversation_messages, "messages_conversation_created_idx"),
]


@pytest.mark.parametrize("generic", [False, True], ids=["plan-for-the-values", "plan-for-any-values"])
@pytest.mark.parametrize("q", ["rare-4217", "common"])
@pytest.mark.parametrize(("query", "index"), SEARCH_PLANS, ids=[q.name for q, _ in SEARCH_PLANS])
async def test_an_index_serves_each_search_statement(
    connection: asyncpg.Connection, many_messages: UUID, generic: bool, q: str, query: Query, index: str
) -> None:
    """Each statement the read store runs for a search, planned for its values and, as a
    prepared statement may come to be, for any values: its index, never the whole table."""
    conversation_id = await connection.fetchval(
        "SELECT conversation_id FROM messages WHERE account_id = $1 LIMIT 1", many_messages
    )
    values = {
        "account_id": many_messages,
        "q": q,
        "conversation_id": conversation_id,
        "since": None,
        "before_time": None,
        "before_id": None,
        "scan": 210,
        "limit": 21,
    }
    if generic:
        await connection.execute(GENERIC_PLAN_OF)
        rows = await connection.fetch("SELECT * FROM pg_temp.generic_plan_of($1)", query.sql)
    else:
        arguments = {name: values[name] for name in query.parameters}
        rows = await connection.fetch(f"EXPLAIN {query.sql}", *query.arguments(arguments))
    plan = "\n".join(row[0] for row in rows)
    assert index in plan, plan
    assert "Seq Scan on messages" not in plan, plan


@pytest.mark.parametrize("page_size", [1, 7, 50])
@pytest.mark.parametrize("q", ["common", "rare-150 or rare-160 or rare-490", "common or rare-155"])
async def test_every_page_holds_what_the_whole_search_finds(
    connection: asyncpg.Connection, reading: Reading, many_messages: UUID, page_size: int, q: str
) -> None:
    """Pages filled by a walk of the newest messages, by the words index when the walk falls
    short, or by both in turn, add up to every match of the range, newest first, once: as one
    statement that reads the whole account finds them."""
    newest = await connection.fetchval(
        "SELECT max(created_at) FROM messages WHERE account_id = $1", many_messages
    )
    since, until = newest - timedelta(minutes=500), newest - timedelta(minutes=100)
    for search in (MessageSearch(q, since=since), MessageSearch(q, since=since, until=until)):
        expected = await connection.fetch(
            "SELECT id FROM messages WHERE account_id = $1 AND to_tsvector('simple', coalesce(body->>'body', '')"
            " || ' ' || coalesce(body->>'caption', '')) @@ websearch_to_tsquery('simple', $2)"
            " AND created_at >= coalesce($3::timestamptz, '-infinity') AND created_at < coalesce($4::timestamptz, 'infinity')"
            " ORDER BY created_at DESC, id DESC",
            many_messages,
            q,
            search.since,
            search.until,
        )
        found: list[UUID] = []
        token = ""
        while True:
            messages, token = await reading.search(many_messages, search, page_size, token)
            found += [m.id for m in messages]
            if not token:
                break
        assert found == [row["id"] for row in expected]
        assert expected
