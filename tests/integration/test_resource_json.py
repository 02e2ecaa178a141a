"""The SQL functions that build the message and conversation resources, against a real
PostgreSQL: their timestamps (the same strings as the gateway's), and that the planner
inlines them (a SQL function that is not inlined has its body parsed and planned again in
every statement that calls it)."""

from collections.abc import AsyncIterator
from uuid import UUID

import asyncpg
import orjson
import pytest
import pytest_asyncio
from google.protobuf.timestamp_pb2 import Timestamp
from sqlalchemy.ext.asyncio import AsyncEngine

from services.conversations.adapters.database.pool import StatementPool
from services.conversations.adapters.database.reads import ReadStore
from services.conversations.entrypoints.protobuf import conversation_to_proto, message_to_proto
from services.gateway.resources import conversation_json, message_json, timestamp_json
from tools.seed import create_account


@pytest_asyncio.fixture(loop_scope="session")
async def connection(database: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(database)
    yield connection
    await connection.close()


async def plan(connection: asyncpg.Connection, query: str) -> str:
    return "\n".join(row[0] for row in await connection.fetch(f"EXPLAIN (VERBOSE) {query}"))


@pytest.mark.asyncio(loop_scope="session")
@pytest.mark.parametrize("time_zone", ["UTC", "Asia/Kolkata", "America/St_Johns"])
async def test_timestamps_are_utc_with_microseconds_whatever_the_session_time_zone(
    connection: asyncpg.Connection, time_zone: str
) -> None:
    await connection.execute(f"SET TIME ZONE '{time_zone}'")
    try:
        text = await connection.fetchval(
            "SELECT pigeon_ts(CAST('2026-11-25 14:03:07.012345+00' AS timestamptz))"
        )
    finally:
        await connection.execute("RESET TIME ZONE")
    assert text == "2026-11-25T14:03:07.012345Z"
    assert await connection.fetchval("SELECT pigeon_ts(NULL)") is None


@pytest.mark.asyncio(loop_scope="session")
@pytest.mark.parametrize(
    "query",
    [
        "SELECT pigeon_message_json(m) FROM messages m",
        "SELECT pigeon_conversation_json(c, k) FROM conversations c JOIN contacts k ON k.id = c.contact_id",
    ],
)
async def test_resource_builders_are_inlined_into_the_statement(
    connection: asyncpg.Connection, query: str
) -> None:
    text = await plan(connection, query)
    assert "to_char(" in text, text
    assert "pigeon_" not in text, text


@pytest.mark.asyncio(loop_scope="session")
@pytest.mark.parametrize(
    "instant",
    [
        "2026-11-25 14:03:07+00",  # whole seconds
        "2026-11-25 14:03:07.012+00",  # milliseconds
        "2026-11-25 14:03:07.012345+00",
        "1999-12-31 23:59:59.999999+00",
        "2026-02-28 23:00:00.5-02",  # not UTC
        "1969-12-31 23:59:59.5+00",  # before the epoch
        "0099-07-01 12:00:00+00",  # a year of fewer than four digits
    ],
)
async def test_the_gateway_writes_timestamps_as_the_events_do(
    connection: asyncpg.Connection, instant: str
) -> None:
    """The HTTP resources (built by the gateway from protobuf) and the WebSocket events
    (built by PostgreSQL) show one instant as one string."""
    in_database, moment = await connection.fetchrow(
        "SELECT pigeon_ts(CAST(CAST($1 AS text) AS timestamptz)), CAST(CAST($1 AS text) AS timestamptz)",
        instant,
    )
    timestamp = Timestamp()
    timestamp.FromDatetime(moment)
    assert timestamp_json(timestamp) == in_database


MESSAGE_WITH_MEDIA = """
WITH file AS (
    INSERT INTO media (id, account_id, origin, wa_media_id, mime_type, size, sha256, filename, caption,
                       status, stored_at)
    VALUES (gen_random_uuid(), $1, 'inbound', '777', 'image/jpeg', 1234, repeat('ab', 32), 'a.jpg',
            'a caption', 'stored', now())
    RETURNING media
)
INSERT INTO messages (account_id, conversation_id, direction, contact_wa_id, type, body, status,
                      wa_message_id, media_id, media)
SELECT $1, $2, 'inbound', '15550001111', 'image', '{"id": "777", "caption": "a caption"}',
       'received', 'wamid.resource-' || gen_random_uuid(), (file.media).id, pigeon_media_json(file.media)
FROM file
RETURNING id, pigeon_message_json(messages)::text AS resource
"""

READ_RECEIPT = """
UPDATE conversations c SET read_receipt = jsonb_build_object(
    'message_id', 'wamid.x', 'status', CASE WHEN $2::text IS NULL THEN 'sent' ELSE 'failed' END,
    'error', CASE WHEN $2::text IS NULL THEN NULL ELSE jsonb_build_object('code', $2::text, 'message', 'bad') END,
    'at', pigeon_ts(now()))
FROM contacts k
WHERE c.id = $1 AND k.id = c.contact_id
RETURNING pigeon_conversation_json(c, k)::text AS resource
"""


async def test_sql_and_the_gateway_build_the_same_resources(
    connection: asyncpg.Connection, engine: AsyncEngine, database: str
) -> None:
    """A message with its file and a conversation with a read receipt, as the events show them
    (PostgreSQL) and as the HTTP API does (the gateway, from protobuf, read by the adapter)."""
    account = await create_account(engine, "Resources", conversations=1)
    account_id, conversation_id = UUID(account.account_id), UUID(account.conversation_ids[0])
    reads = ReadStore(StatementPool(database, 2))
    try:
        row = await connection.fetchrow(MESSAGE_WITH_MEDIA, account_id, conversation_id)
        from_sql = orjson.loads(row["resource"])
        assert from_sql["media"]["status"] == "stored"
        message = await reads.get_message(account_id, row["id"])
        assert message is not None
        assert orjson.loads(orjson.dumps(message_json(message_to_proto(message)))) == from_sql
        for error in (None, "131009"):
            from_sql = orjson.loads(await connection.fetchval(READ_RECEIPT, conversation_id, error))
            assert from_sql["read_receipt"]["status"] == ("sent" if error is None else "failed")
            conversation = await reads.get_conversation(account_id, conversation_id)
            assert conversation is not None
            from_gateway = conversation_json(conversation_to_proto(conversation))
            assert orjson.loads(orjson.dumps(from_gateway)) == from_sql
    finally:
        await reads.pool.close()


# What touch_conversations (webhooks.sql) sends in a conversation.updated event.
CONVERSATION_EVENT = """
UPDATE conversations c SET last_inbound_at = now() - make_interval(secs => $2::float8 * 3600)
FROM contacts k
WHERE c.id = $1 AND k.id = c.contact_id
RETURNING pigeon_conversation_json(c, k)::text AS resource
"""


@pytest.mark.parametrize(
    ("hours_ago", "can_send_free_form"), [(1.0, True), (23.9, True), (24.1, False), (None, False)]
)
async def test_the_service_window_reads_the_same_in_events_and_over_http(
    engine: AsyncEngine,
    database: str,
    connection: asyncpg.Connection,
    hours_ago: float | None,
    can_send_free_form: bool,
) -> None:
    """Its close (null when the customer never wrote) and whether it is open, as of the event
    and as of the read: the same here, a few milliseconds apart."""
    account = await create_account(engine, "Window resources", conversations=1)
    account_id, conversation_id = UUID(account.account_id), UUID(account.conversation_ids[0])
    reads = ReadStore(StatementPool(database, 1))
    try:
        from_sql = orjson.loads(await connection.fetchval(CONVERSATION_EVENT, conversation_id, hours_ago))
        conversation = await reads.get_conversation(account_id, conversation_id)
    finally:
        await reads.pool.close()
    assert conversation is not None
    from_gateway = orjson.loads(orjson.dumps(conversation_json(conversation_to_proto(conversation))))
    assert from_gateway == from_sql
    assert from_sql["can_send_free_form"] is can_send_free_form
    assert (from_sql["window_expires_at"] is None) == (hours_ago is None)
