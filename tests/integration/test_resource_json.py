"""The SQL functions that build the message and conversation resources, against a real
PostgreSQL: their timestamps (the same strings as the gateway's), and that the planner
inlines them (a SQL function that is not inlined has its body parsed and planned again in
every statement that calls it)."""

from collections.abc import AsyncIterator

import asyncpg
import pytest
import pytest_asyncio
from google.protobuf.timestamp_pb2 import Timestamp

from services.gateway.resources import timestamp_json


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
