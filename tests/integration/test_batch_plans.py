"""The batched write statements keep one generic plan (`plan_cache_mode` on their
connections), so that plan must find the messages an outcome is for by primary key: the
partial lease index holds every message in flight, and scanning it would grow with the
load. (Sequential scans are turned off here: on this test database's small tables they
are rightly cheapest; PostgreSQL plans again when autovacuum analyzes a grown table.)"""

from collections.abc import AsyncIterator

import asyncpg
import pytest
import pytest_asyncio

from services.conversations.adapters.database.messages import SQL
from services.conversations.adapters.database.queries import Query


@pytest_asyncio.fixture(loop_scope="session")
async def generic(database: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(
        database, server_settings={"plan_cache_mode": "force_generic_plan", "enable_seqscan": "off"}
    )
    yield connection
    await connection.close()


async def generic_plan(connection: asyncpg.Connection, statement: Query) -> str:
    await connection.execute(f"PREPARE batch AS {statement.sql}")
    try:
        nulls = ", ".join(["NULL"] * len(statement.parameters))
        return "\n".join(row[0] for row in await connection.fetch(f"EXPLAIN EXECUTE batch({nulls})"))
    finally:
        await connection.execute("DEALLOCATE batch")


@pytest.mark.asyncio(loop_scope="session")
async def test_outcomes_find_their_messages_by_primary_key(generic: asyncpg.Connection) -> None:
    plan = await generic_plan(generic, SQL.record_outcomes)
    assert "Index Scan using messages_pkey on messages msg" in plan, plan
    assert "messages_lease_idx" not in plan, plan
