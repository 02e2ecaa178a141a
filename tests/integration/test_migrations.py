"""Migrations run against a live database: writes to a large table go on while an index on it
is built."""

import asyncio
import os
from collections.abc import AsyncIterator

import asyncpg
import pytest_asyncio

from services.conversations.migrate import upgrade
from services.conversations.settings import database_dsn
from tools.stack import drop_database, ensure_database

# A write's lock on messages (ROW EXCLUSIVE), as every insert and update of a send takes.
WRITE = "UPDATE messages SET status = status WHERE false"


@pytest_asyncio.fixture(loop_scope="session")
async def database_at_0020(postgres_server: str) -> AsyncIterator[str]:
    url = await ensure_database(postgres_server, f"pigeon_test_migrations_{os.getpid()}", fresh=True)
    await asyncio.to_thread(upgrade, url, "0020")
    yield url
    await drop_database(postgres_server, url)


async def index_build_waiting(connection: asyncpg.Connection) -> None:
    """Until the migration's CREATE INDEX waits for the open transaction."""
    deadline = asyncio.get_running_loop().time() + 30
    while not await connection.fetchval(
        "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'CREATE INDEX%messages_account_created_idx%'"
        " AND wait_event_type IS NOT NULL"
    ):
        assert asyncio.get_running_loop().time() < deadline, "the index build did not start"
        await asyncio.sleep(0.05)


async def test_0021_builds_its_index_while_messages_are_written(database_at_0020: str) -> None:
    """A plain CREATE INDEX queues behind a transaction that writes messages, and every later
    write then queues behind it: sends would stop until the whole table is indexed."""
    dsn = database_dsn(database_at_0020)
    open_transaction, writer = await asyncpg.connect(dsn), await asyncpg.connect(dsn)
    try:
        transaction = open_transaction.transaction()
        await transaction.start()
        await open_transaction.execute(WRITE)
        migration = asyncio.ensure_future(asyncio.to_thread(upgrade, database_at_0020, "0021"))
        await index_build_waiting(writer)

        await writer.execute("SET statement_timeout = '5s'")
        await writer.execute(WRITE)  # would time out behind a plain CREATE INDEX

        await transaction.commit()
        await asyncio.wait_for(migration, 60)
        valid = await writer.fetchval(
            "SELECT indisvalid FROM pg_index WHERE indexrelid = 'messages_account_created_idx'::regclass"
        )
        assert valid is True
    finally:
        await open_transaction.close()
        await writer.close()
