"""Retention against the real PostgreSQL (services/conversations/adapters/database/retention.sql):
rows made old by hand go, exactly those, in batches of two; events an enabled outbound webhook
endpoint has yet to deliver stay; and a round over a large backlog holds no transaction open
for long nor keeps the hot writes waiting. In a database of its own: a round deletes every
account's old rows."""

import asyncio
import os
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace

import asyncpg
import pytest
import pytest_asyncio

from services.conversations.adapters.database.database import RETENTION_APPLICATION_NAME, Database
from services.conversations.migrate import sqlalchemy_url
from services.conversations.settings import RetentionSettings
from services.conversations.use_cases.retention import Retention
from tests.fixtures.database import create_engine
from tools.seed import create_account
from tools.stack import drop_database, ensure_database, migrate

pytestmark = pytest.mark.asyncio(loop_scope="session")

DAY = 86400.0
SETTINGS = RetentionSettings(
    worker_enabled=True,
    every_seconds=300.0,
    batch_size=2,
    pause_seconds=0.0,
    events_keep_seconds=7 * DAY,
    notifications_keep_seconds=7 * DAY,
    failed_notifications_keep_seconds=30 * DAY,
    pending_statuses_keep_seconds=7 * DAY,
    idempotency_keep_seconds=DAY,
)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def retention_database(postgres_server: str) -> AsyncIterator[str]:
    url = await ensure_database(postgres_server, f"pigeon_test_retention_{os.getpid()}", fresh=True)
    await migrate(url)
    yield url
    await drop_database(postgres_server, url)


@pytest_asyncio.fixture(loop_scope="session")
async def db(retention_database: str) -> AsyncIterator[asyncpg.Connection]:
    """The test's own connection; every test starts with empty tables."""
    connection = await asyncpg.connect(retention_database)
    await connection.execute(
        "TRUNCATE events, event_counters, webhook_notifications, pending_statuses, idempotency_keys,"
        " webhook_endpoints CASCADE"
    )
    yield connection
    await connection.close()


@pytest_asyncio.fixture(loop_scope="session")
async def database(retention_database: str) -> AsyncIterator[Database]:
    database = Database(retention_database, 2)
    yield database
    await database.close()


async def new_account(url: str) -> uuid.UUID:
    engine = create_engine(sqlalchemy_url(url), pool_size=1)
    try:
        return uuid.UUID(str((await create_account(engine, "Retention", conversations=1)).account_id))
    finally:
        await engine.dispose()


async def append_events(db: asyncpg.Connection, account_id: uuid.UUID, ages_in_days: list[float]) -> None:
    """Events as the services append them, then dated `ages_in_days` ago (oldest first)."""
    count = len(ages_in_days)
    await db.execute(
        "SELECT pigeon_append_events($1::uuid[], $2::text[], $3::uuid[], $4::uuid[], $5::jsonb[])",
        [account_id] * count,
        ["message.sent"] * count,
        [None] * count,
        [None] * count,
        ["{}"] * count,
    )
    last_id = await db.fetchval("SELECT last_id FROM event_counters WHERE account_id = $1", account_id)
    for offset, age in enumerate(ages_in_days):
        await db.execute(
            "UPDATE events SET created_at = now() - make_interval(secs => $3) WHERE account_id = $1 AND id = $2",
            account_id,
            last_id - count + 1 + offset,
            age * DAY,
        )


async def event_ids(db: asyncpg.Connection, account_id: uuid.UUID) -> list[int]:
    return [
        r[0] for r in await db.fetch("SELECT id FROM events WHERE account_id = $1 ORDER BY id", account_id)
    ]


async def add_endpoint(db: asyncpg.Connection, account_id: uuid.UUID, cursor: int, enabled: bool) -> None:
    await db.execute(
        "INSERT INTO webhook_endpoints (id, account_id, url, event_types, secret, last_event_id, enabled)"
        " VALUES ($1, $2, 'https://crm.example.com/hook', '{*}', 'whsec_x', $3, $4)",
        uuid.uuid4(),
        account_id,
        cursor,
        enabled,
    )


async def test_exactly_the_old_events_go_in_batches(
    db: asyncpg.Connection, database: Database, retention_database: str
) -> None:
    alice, bob, carol = [await new_account(retention_database) for _ in range(3)]
    await append_events(db, alice, [9, 9, 8, 8, 8, 1, 0])
    await append_events(db, bob, [9, 9, 9, 9, 1])
    await add_endpoint(db, bob, cursor=2, enabled=True)  # yet to deliver 3 onwards
    await add_endpoint(db, bob, cursor=0, enabled=False)  # disabled: holds nothing back
    await append_events(db, carol, [8, 8])  # all old: the log is emptied, its counter kept

    result = await Retention(database.retention, SETTINGS).run_round()

    assert await event_ids(db, alice) == [6, 7]
    assert await event_ids(db, bob) == [3, 4, 5]
    assert await event_ids(db, carol) == []
    assert result.deleted == {"events": 5 + 2 + 2}
    # Batches of two: alice 2, 2, then 1 up to event 6 (within the retention); bob 2 up to the
    # endpoint's cursor, then none; carol 2, then none; one batch each for the empty tables
    # (two for notifications: applied ones, then failed ones).
    assert result.batches == (3 + 2 + 2) + 2 + 1 + 1
    # The next events keep their ids, and a watch knows where the kept log starts.
    assert await database.events.first_kept_event_id(alice) == 6
    assert await database.events.first_kept_event_id(carol) == 3
    await append_events(db, carol, [0])
    assert await event_ids(db, carol) == [3]
    assert await database.events.first_kept_event_id(carol) == 3


async def test_exactly_the_old_notifications_statuses_and_keys_go(
    db: asyncpg.Connection, database: Database, retention_database: str
) -> None:
    account = await new_account(retention_database)
    # Notifications, oldest first (ids rise with received_at, as when Meta's POSTs come in).
    notifications = [
        (40, "failed"),
        (31, "applied"),
        (20, "failed"),
        (9, "applied"),
        (9, "received"),  # still to apply: never deleted
        (8, "malformed"),
        (8, "applied"),
        (1, "applied"),
    ]
    for age, state in notifications:
        await db.execute(
            "INSERT INTO webhook_notifications (received_at, body, signed_for, state)"
            " VALUES (now() - make_interval(secs => $1), '{}', '{}', $2)",
            age * DAY,
            state,
        )
    for n, age in enumerate([8, 6, 9, 7.5]):
        await db.execute(
            "INSERT INTO pending_statuses (account_id, wa_message_id, status, status_at, received_at)"
            " VALUES ($1, $2, 'delivered', now(), now() - make_interval(secs => $3))",
            account,
            f"wamid.{n}",
            age * DAY,
        )
    for n, age in enumerate([2, 0.5, 1.5, 3, 0.1]):
        await db.execute(
            "INSERT INTO idempotency_keys (account_id, key, request_hash, message_id, created_at)"
            " VALUES ($1, $2, '\\x00', $3, now() - make_interval(secs => $4))",
            account,
            f"key-{n}",
            uuid.uuid4(),
            age * DAY,
        )

    result = await Retention(database.retention, SETTINGS).run_round()

    kept = await db.fetch(
        "SELECT round(extract(epoch FROM now() - received_at) / 86400) AS age, state"
        " FROM webhook_notifications ORDER BY id"
    )
    assert [(int(r["age"]), r["state"]) for r in kept] == [(20, "failed"), (9, "received"), (1, "applied")]
    assert [r[0] for r in await db.fetch("SELECT wa_message_id FROM pending_statuses")] == ["wamid.1"]
    assert [r[0] for r in await db.fetch("SELECT key FROM idempotency_keys ORDER BY key")] == [
        "key-1",
        "key-4",
    ]
    assert result.deleted == {
        "webhook_notifications": 5,
        "pending_statuses": 3,
        "idempotency_keys": 3,
    }


async def test_a_round_over_a_large_backlog_keeps_every_transaction_short(
    db: asyncpg.Connection, database: Database, retention_database: str
) -> None:
    account = await new_account(retention_database)
    backlog = 40_000
    await db.execute(
        "SELECT pigeon_append_events(array_fill($1::uuid, ARRAY[$2::int]), array_fill('message.sent'::text, ARRAY[$2::int]),"
        " array_fill(NULL::uuid, ARRAY[$2::int]), array_fill(NULL::uuid, ARRAY[$2::int]), array_fill('{}'::jsonb, ARRAY[$2::int]))",
        account,
        backlog,
    )
    await db.execute(
        "UPDATE events SET created_at = now() - interval '8 days' WHERE account_id = $1", account
    )
    await db.execute("VACUUM ANALYZE events")
    settings = replace(SETTINGS, batch_size=1000)
    round_started = time.perf_counter()
    round_task = asyncio.create_task(Retention(database.retention, settings).run_round())

    # Meanwhile: the same account's events appended one commit at a time (the hot write, on
    # the very rows' table and counter), and retention's transactions watched.
    writer = await asyncpg.connect(retention_database)
    longest_write = longest_transaction = 0.0
    writes = 0
    try:
        while not round_task.done():
            started = time.perf_counter()
            await writer.execute(
                "SELECT pigeon_append_events(ARRAY[$1::uuid], '{message.sent}', '{NULL}', '{NULL}', '{\"{}\"}')",
                account,
            )
            longest_write = max(longest_write, time.perf_counter() - started)
            writes += 1
            open_for = await db.fetchval(
                "SELECT coalesce(max(extract(epoch FROM clock_timestamp() - xact_start)), 0)::float8"
                " FROM pg_stat_activity WHERE application_name = $1 AND state <> 'idle'",
                RETENTION_APPLICATION_NAME,
            )
            longest_transaction = max(longest_transaction, open_for)
    finally:
        await writer.close()
    result = await round_task
    print(
        f"retention: {backlog} events in {result.batches} batches, {time.perf_counter() - round_started:.2f} s;"
        f" longest retention transaction {longest_transaction * 1000:.1f} ms; {writes} appends beside it,"
        f" the longest {longest_write * 1000:.1f} ms"
    )

    assert result.deleted == {"events": backlog}
    assert result.batches >= backlog // settings.batch_size
    assert await db.fetchval("SELECT count(*) FROM events WHERE account_id = $1", account) == writes
    assert writes > 10  # the writes ran beside the round, not after it
    # One batch of 1000 deletes in milliseconds; the whole backlog takes much longer.
    assert longest_transaction < 0.5, longest_transaction
    assert longest_write < 0.5, longest_write
