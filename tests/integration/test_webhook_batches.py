"""Notifications applied together, as one batch, against real PostgreSQL: statuses of one
message in every order, duplicates within a batch, two accounts, a notification that fails
among others. Each batch goes through the applier as the receiving side hands it over."""

import itertools
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest_asyncio
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from services.conversations.adapters.database.directory import DirectoryStore
from services.conversations.adapters.database.pool import StatementPool
from services.conversations.adapters.database.webhook_store import WebhookStore, webhook_pool
from services.conversations.domain.notifications import Notification
from services.conversations.use_cases.directory import Directory
from services.conversations.use_cases.webhook_apply import WebhookApplier
from services.conversations.use_cases.webhooks import parse_body
from services.shared.secrets_at_rest import SecretBox
from tools.seed import SeededAccount, create_account


@pytest_asyncio.fixture(loop_scope="session")
async def applier(database: str) -> AsyncIterator[WebhookApplier]:
    pool = webhook_pool(database)
    store = WebhookStore(pool, SecretBox())
    directory_pool = StatementPool(database, 2)
    applier = WebhookApplier(store, Directory(DirectoryStore(directory_pool, SecretBox()), 60))
    yield applier
    await applier.close()
    await directory_pool.close()
    await pool.close()


def envelope(account: SeededAccount, *values: dict[str, Any]) -> bytes:
    changes = [
        {"field": "messages", "value": {"metadata": {"phone_number_id": account.phone_number_id}, **value}}
        for value in values
    ]
    return orjson.dumps({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": changes}]})


def status(wa_message_id: str, name: str, at: int, **extra: Any) -> dict[str, Any]:
    return {"id": wa_message_id, "status": name, "timestamp": str(at), "recipient_id": "1555", **extra}


def inbound(sender: str, wa_message_id: str, body: str) -> dict[str, Any]:
    return {
        "contacts": [{"profile": {"name": "Batch"}, "wa_id": sender}],
        "messages": [
            {
                "from": sender,
                "id": wa_message_id,
                "timestamp": str(int(time.time())),
                "type": "text",
                "text": {"body": body},
            }
        ],
    }


def verified(account: SeededAccount, *bodies: bytes) -> list[Notification]:
    """The bodies as `receive` hands them over once their signature checked for `account`."""
    signed_for = frozenset([uuid.UUID(account.account_id)])
    return [Notification(0, body, parse_body(body), signed_for) for body in bodies]


async def sent_message(engine: AsyncEngine, account: SeededAccount) -> tuple[str, str]:
    """An outbound message as a send leaves it: `sent`, with a WhatsApp id. (id, wamid)."""
    wamid = f"wamid.batch{uuid.uuid4().hex}"
    async with engine.begin() as connection:
        message_id = (
            await connection.execute(
                text(
                    """
                    INSERT INTO messages (account_id, conversation_id, direction, contact_wa_id, type, body,
                                          status, wa_message_id, sent_at)
                    VALUES (:account_id, :conversation_id, 'outbound', :wa_id, 'text', '{"body": "hi"}',
                            'sent', :wamid, now())
                    RETURNING id
                    """
                ),
                {
                    "account_id": account.account_id,
                    "conversation_id": account.conversation_ids[0],
                    "wa_id": account.contact_wa_ids[0],
                    "wamid": wamid,
                },
            )
        ).scalar_one()
    return str(message_id), wamid


async def one(engine: AsyncEngine, sql: str, **params: Any) -> Any:
    async with engine.connect() as connection:
        return (await connection.execute(text(sql), params)).one()


async def events_of(engine: AsyncEngine, account: SeededAccount, **where: str) -> list[tuple[Any, ...]]:
    condition = " AND ".join(f"{column} = :{column}" for column in where) or "true"
    async with engine.connect() as connection:
        rows = await connection.execute(
            text(
                f"SELECT id, type, data FROM events WHERE account_id = :account AND {condition} ORDER BY id"
            ),
            {"account": account.account_id, **where},
        )
        return [tuple(row) for row in rows]


def at(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


async def test_statuses_of_one_message_end_the_same_in_every_order(
    applier: WebhookApplier, engine: AsyncEngine, account: SeededAccount
) -> None:
    apply = applier
    base = int(time.time()) - 100
    times = {"sent": base, "delivered": base + 10, "read": base + 20}
    for order in itertools.permutations(times):
        for together in (False, True):  # one notification each, or all in one notification
            message_id, wamid = await sent_message(engine, account)
            await events_of(engine, account)
            values = [{"statuses": [status(wamid, name, times[name])]} for name in order]
            bodies = (
                [envelope(account, value) for value in values]
                if not together
                else [envelope(account, *values)]
            )
            await apply.store_and_apply(verified(account, *bodies))

            row = await one(
                engine,
                "SELECT status, sent_at, delivered_at, read_at, error_code FROM messages WHERE id = :id",
                id=message_id,
            )
            # The send set sent_at already; the statuses add their own times.
            assert (row.status, row.delivered_at, row.read_at, row.error_code) == (
                "read",
                at(times["delivered"]),
                at(times["read"]),
                None,
            ), (order, together)
            events = await events_of(engine, account, message_id=message_id)
            assert [e[1] for e in events] == ["message.read"], (order, together)
            assert events[0][2]["status"] == "read"


async def test_a_batch_ends_as_the_same_statuses_applied_one_by_one(
    applier: WebhookApplier, engine: AsyncEngine, account: SeededAccount
) -> None:
    """Including a failure after read (refused) and a failure pigeon concluded (overridden)."""
    apply = applier
    base = int(time.time()) - 100
    failed = {"errors": [{"code": 131026, "title": "Message undeliverable"}]}
    # In rank order (delivered < read < failed): how a batch applies them, whatever their order.
    reports = [("delivered", base + 1, {}), ("read", base + 3, {}), ("failed", base + 2, failed)]
    batch_id, batch_wamid = await sent_message(engine, account)
    alone_id, alone_wamid = await sent_message(engine, account)
    for message_id in (batch_id, alone_id):
        async with engine.begin() as connection:
            await connection.execute(
                text("UPDATE messages SET status = 'failed', error_code = 'timeout' WHERE id = :id"),
                {"id": message_id},
            )
    together = [
        envelope(account, {"statuses": [status(batch_wamid, n, t, **x)]}) for n, t, x in reversed(reports)
    ]
    await apply.store_and_apply(verified(account, *together))
    for name, seconds, extra in reports:  # one batch each
        await apply.store_and_apply(
            verified(account, envelope(account, {"statuses": [status(alone_wamid, name, seconds, **extra)]}))
        )

    columns = "status, delivered_at, read_at, failed_at, error_code, error_message"  # sent_at: the send's
    batch = await one(engine, f"SELECT {columns} FROM messages WHERE id = :id", id=batch_id)
    alone = await one(engine, f"SELECT {columns} FROM messages WHERE id = :id", id=alone_id)
    assert tuple(batch) == tuple(alone)
    assert (batch.status, batch.error_code, batch.failed_at) == ("read", None, None)


async def test_duplicates_within_a_batch_change_things_once(
    applier: WebhookApplier, engine: AsyncEngine, account: SeededAccount
) -> None:
    apply = applier
    message_id, wamid = await sent_message(engine, account)
    sender, inbound_id = "15550009001", f"wamid.in{uuid.uuid4().hex}"
    delivered = {"statuses": [status(wamid, "delivered", int(time.time()))]}
    bodies = [
        envelope(account, inbound(sender, inbound_id, "once"), delivered),
        envelope(account, inbound(sender, inbound_id, "once"), delivered),  # Meta delivered it twice
        envelope(account, {"statuses": delivered["statuses"] * 2}),  # twice in one notification
    ]
    ids = await apply.store_and_apply(verified(account, *bodies))

    outcomes = [
        (await one(engine, "SELECT state, outcome FROM webhook_notifications WHERE id = :id", id=i))
        for i in ids
    ]
    assert [state for state, _ in outcomes] == ["applied"] * 3
    assert [outcome for _, outcome in outcomes] == [
        {"messages_stored": 1, "statuses_applied": 1},
        {"messages_duplicate": 1, "statuses_ignored": 1},
        {"statuses_ignored": 2},
    ]
    count = await one(engine, "SELECT count(*) FROM messages WHERE wa_message_id = :id", id=inbound_id)
    assert count[0] == 1
    assert [e[1] for e in await events_of(engine, account, message_id=message_id)] == ["message.delivered"]
    conversation_events = [
        e[1] for e in await events_of(engine, account) if e[2].get("contact", {}).get("wa_id") == sender
    ]
    assert conversation_events == ["conversation.updated"]


async def test_two_accounts_in_one_batch_each_get_their_changes_and_events(
    applier: WebhookApplier, engine: AsyncEngine, account: SeededAccount
) -> None:
    apply = applier
    other = await create_account(engine, "Second in the batch")
    mine, mine_wamid = await sent_message(engine, account)
    theirs, theirs_wamid = await sent_message(engine, other)
    before = {a.account_id: len(await events_of(engine, a)) for a in (account, other)}
    sender = "15550009002"
    batch = [
        *verified(
            account, envelope(account, {"statuses": [status(mine_wamid, "delivered", int(time.time()))]})
        ),
        *verified(
            other,
            envelope(other, {"statuses": [status(theirs_wamid, "read", int(time.time()))]}),
            envelope(other, inbound(sender, f"wamid.in{uuid.uuid4().hex}", "hello")),
        ),
        # Signed by the first account's secret, naming the second's number: not applied.
        *verified(account, envelope(other, {"statuses": [status(theirs_wamid, "failed", int(time.time()))]})),
    ]
    ids = await apply.store_and_apply(batch)

    assert (await one(engine, "SELECT status FROM messages WHERE id = :id", id=mine))[0] == "delivered"
    assert (await one(engine, "SELECT status FROM messages WHERE id = :id", id=theirs))[0] == "read"
    mine_events = (await events_of(engine, account))[before[account.account_id] :]
    their_events = (await events_of(engine, other))[before[other.account_id] :]
    assert [e[1] for e in mine_events] == ["message.delivered"]
    assert sorted(e[1] for e in their_events) == ["conversation.updated", "message.read", "message.received"]
    # Each account's event ids follow on without a gap.
    for events in (mine_events, their_events):
        event_ids = [e[0] for e in events]
        assert event_ids == list(range(event_ids[0], event_ids[0] + len(event_ids)))
    outcome = (await one(engine, "SELECT outcome FROM webhook_notifications WHERE id = :id", id=ids[-1]))[0]
    assert outcome == {"unknown_phone_numbers": [other.phone_number_id]}


async def test_a_notification_that_fails_does_not_fail_the_others_in_its_batch(
    applier: WebhookApplier, engine: AsyncEngine, account: SeededAccount
) -> None:
    apply = applier
    poison = f"wamid.poison{uuid.uuid4().hex}"
    async with engine.begin() as connection:
        await connection.execute(
            text(
                f"""
                CREATE FUNCTION test_refuse_in_batch() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF NEW.wa_message_id = '{poison}' THEN RAISE EXCEPTION 'refused by the test'; END IF;
                    RETURN NEW;
                END $$
                """
            )
        )
        await connection.execute(
            text(
                "CREATE TRIGGER test_refuse_in_batch BEFORE INSERT ON messages "
                "FOR EACH ROW EXECUTE FUNCTION test_refuse_in_batch()"
            )
        )
    try:
        good = [f"wamid.good{uuid.uuid4().hex}" for _ in range(2)]
        ids = await apply.store_and_apply(
            verified(
                account,
                envelope(account, inbound("15550009003", good[0], "a")),
                envelope(account, inbound("15550009003", poison, "b")),
                envelope(account, inbound("15550009004", good[1], "c")),
            )
        )
        states = [
            tuple(await one(engine, "SELECT state, outcome FROM webhook_notifications WHERE id = :id", id=i))
            for i in ids
        ]
        assert states[0] == ("applied", {"messages_stored": 1})
        assert states[2] == ("applied", {"messages_stored": 1})
        assert states[1][0] == "received"  # tried again by the sweep, until it gives up
        assert states[1][1]["apply_failures"] == 1
    finally:
        async with engine.begin() as connection:
            await connection.execute(text("DROP TRIGGER test_refuse_in_batch ON messages"))
            await connection.execute(text("DROP FUNCTION test_refuse_in_batch()"))
