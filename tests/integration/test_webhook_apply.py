"""Receiving and applying webhook notifications, in process against real PostgreSQL:
forged signatures, payloads of unexpected shapes, notifications that keep failing,
and a lost deadlock. The HTTP path is tested end to end in tests/e2e/test_webhooks.py,
batches in tests/integration/test_webhook_batches.py."""

import asyncio
import hashlib
import hmac
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import orjson
import pytest
import pytest_asyncio
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from services.conversations.adapters.database.directory import DirectoryStore
from services.conversations.adapters.database.pool import StatementPool
from services.conversations.adapters.database.webhook_store import WebhookStore, webhook_pool
from services.conversations.domain.errors import Unauthenticated, Unavailable
from services.conversations.domain.notifications import AppSecret, Notification
from services.conversations.use_cases.directory import Directory
from services.conversations.use_cases.webhook_apply import MAX_APPLY_ATTEMPTS
from services.conversations.use_cases.webhooks import (
    IGNORED_NO_ACCOUNT,
    SECRETS_RELOAD_PAUSE_SECONDS,
    Webhooks,
    parse_body,
)
from services.shared.secrets_at_rest import SecretBox
from tools.seed import SeededAccount, create_account


@dataclass
class Receiver:
    webhooks: Webhooks
    store: WebhookStore
    secret_loads: list[float]

    async def store_and_apply(self, body: bytes, account: SeededAccount) -> int:
        """Stores and applies a body as `receive` does once it is verified for `account`."""
        signed_for = frozenset([uuid.UUID(account.account_id)])
        [notification_id] = await self.webhooks.applier.store_and_apply(
            [Notification(0, body, parse_body(body), signed_for)]
        )
        return notification_id

    async def apply(self, notification_id: int, body: bytes, account: SeededAccount) -> None:
        """Applies a stored notification, as the sweep does."""
        signed_for = frozenset([uuid.UUID(account.account_id)])
        notification = Notification(notification_id, body, parse_body(body), signed_for)
        await self.webhooks.applier.apply_stored([notification])


@pytest_asyncio.fixture(loop_scope="session")
async def receiver(database: str) -> AsyncIterator[Receiver]:
    pool = webhook_pool(database)
    store = WebhookStore(pool, SecretBox())
    loads: list[float] = []
    load = store.app_secrets

    async def counted() -> list[AppSecret]:
        loads.append(time.monotonic())
        return await load()

    store.app_secrets = counted  # type: ignore[method-assign]
    directory_pool = StatementPool(database, 2)
    webhooks = Webhooks(store, Directory(DirectoryStore(directory_pool, SecretBox()), 60))
    yield Receiver(webhooks, store, loads)
    await webhooks.stop()
    await directory_pool.close()
    await pool.close()


def sign(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def wamid() -> str:
    return f"wamid.apply{uuid.uuid4().hex}"


def payload(account: SeededAccount, value: dict[str, Any]) -> bytes:
    change = {
        "field": "messages",
        "value": {"metadata": {"phone_number_id": account.phone_number_id}, **value},
    }
    return orjson.dumps({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [change]}]})


def text_message(sender: str, body: str, wa_message_id: str = "") -> dict[str, Any]:
    return {
        "from": sender,
        "id": wa_message_id or wamid(),
        "timestamp": str(int(time.time())),
        "type": "text",
        "text": {"body": body},
    }


async def notification(engine: AsyncEngine, notification_id: int) -> Any:
    async with engine.connect() as connection:
        return (
            await connection.execute(
                text("SELECT state, outcome FROM webhook_notifications WHERE id = :id"),
                {"id": notification_id},
            )
        ).one()


async def test_a_malformed_signature_is_refused_before_any_hashing_or_query(
    receiver: Receiver, account: SeededAccount
) -> None:
    body = payload(account, {"messages": [text_message("15550001111", "hi")]})
    for signature in ("", "sha256=00", "sha256=" + "g" * 64, "sha1=" + "0" * 64, sign(body, "x") + "0"):
        with pytest.raises(Unauthenticated):
            await receiver.webhooks.receive(body, signature)
    assert receiver.secret_loads == []


async def test_a_forged_signature_costs_one_hmac_and_no_reload(
    receiver: Receiver, account: SeededAccount
) -> None:
    body = payload(account, {"messages": [text_message("15550001111", "hi")]})
    forged = sign(body, "not the app secret")
    results = await asyncio.gather(
        *(receiver.webhooks.receive(body, forged) for _ in range(50)), return_exceptions=True
    )
    assert all(isinstance(result, Unauthenticated) for result in results)
    # The number is known: its secret decides, and nothing is read again.
    assert len(receiver.secret_loads) == 1
    count = await notifications_named(receiver, account)
    assert count == 0


async def test_unknown_numbers_share_one_reload_within_the_pause(
    receiver: Receiver, account: SeededAccount
) -> None:
    await receiver.webhooks.receive(payload(account, {}), sign(payload(account, {}), account.app_secret))
    await asyncio.sleep(SECRETS_RELOAD_PAUSE_SECONDS)
    stranger = SeededAccount("", "Stranger", "", "999000222", "", "", "secret", 80)
    body = payload(stranger, {"messages": [text_message("15550001111", "hi")]})
    results = await asyncio.gather(
        *(receiver.webhooks.receive(body, sign(body, "secret")) for _ in range(50))
    )
    assert {(r.notification_id, r.ignored) for r in results} == {(0, IGNORED_NO_ACCOUNT)}
    # The first read, then one read again for all fifty; none more within the pause.
    assert len(receiver.secret_loads) == 2
    await receiver.webhooks.receive(body, sign(body, "secret"))
    assert len(receiver.secret_loads) == 2


async def test_an_account_created_after_the_secrets_were_read_is_found(
    receiver: Receiver, engine: AsyncEngine, account: SeededAccount
) -> None:
    await receiver.webhooks.receive(
        payload(account, {}), sign(payload(account, {}), account.app_secret)
    )  # secrets read now
    newcomer = await create_account(engine, "Newcomer", conversations=0)
    body = payload(newcomer, {"messages": [text_message("15550002222", "first")]})
    # Its NOTIFY (as the listener passes it on) makes the next webhook read the secrets again.
    receiver.webhooks.forget_secrets(f"account:{newcomer.account_id}")
    assert (await receiver.webhooks.receive(body, sign(body, newcomer.app_secret))).notification_id > 0
    assert len(receiver.secret_loads) == 2
    # Without a NOTIFY: found by the read again that an unknown number makes, once the pause is over.
    later = await create_account(engine, "Later", conversations=0)
    body = payload(later, {"messages": [text_message("15550002223", "first")]})
    await asyncio.sleep(SECRETS_RELOAD_PAUSE_SECONDS)
    assert (await receiver.webhooks.receive(body, sign(body, later.app_secret))).notification_id > 0
    assert len(receiver.secret_loads) == 3


async def notifications_named(receiver: Receiver, account: SeededAccount) -> int:
    rows = await receiver.store.pool.fetch(
        "SELECT count(*) FROM webhook_notifications WHERE $1::uuid = ANY(signed_for)", [account.account_id]
    )
    return int(rows[0][0])


async def test_parts_of_an_unexpected_shape_are_counted_and_the_rest_applied(
    receiver: Receiver, engine: AsyncEngine, account: SeededAccount
) -> None:
    sender = "15550003333"
    good = text_message(sender, "he\u0000llo")
    change = {
        "field": "messages",
        "value": {
            "metadata": {"phone_number_id": account.phone_number_id},
            "contacts": ["nobody", {"wa_id": sender, "profile": "not an object"}, {"wa_id": sender}],
            "messages": [
                "not a message",
                {**text_message(sender, "x"), "context": "not an object"},
                {**text_message(sender, "x"), "timestamp": "1e20"},
                {**text_message(sender, "x"), "timestamp": str(10**20)},
                {"id": wamid()},
                good,
            ],
            "statuses": [7, {"id": wamid(), "status": "read", "timestamp": str(10**20)}],
            "errors": "not a list",
        },
    }
    body = orjson.dumps({"entry": ["x", {"changes": "y"}, {"changes": [None, {"field": "other"}, change]}]})
    notification_id = await receiver.store_and_apply(body, account)

    state, outcome = await notification(engine, notification_id)
    assert state == "applied"
    assert outcome == {
        "other_fields": 1,
        "invalid_messages": 5,
        "invalid_statuses": 2,
        "messages_stored": 1,
        "errors": 1,
    }
    async with engine.connect() as connection:
        stored = (
            await connection.execute(
                text("SELECT body->>'body' FROM messages WHERE wa_message_id = :id"), {"id": good["id"]}
            )
        ).scalar_one()
    assert stored == "hello"


async def test_a_notification_that_keeps_failing_ends_failed_and_a_lost_deadlock_is_retried(
    receiver: Receiver, engine: AsyncEngine, account: SeededAccount
) -> None:
    poison, flaky, slow = wamid(), wamid(), wamid()
    async with engine.begin() as connection:
        await connection.execute(text("CREATE SEQUENCE IF NOT EXISTS test_flaky_inserts"))
        await connection.execute(
            text(
                f"""
                CREATE FUNCTION test_refuse_some_inbound() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF NEW.wa_message_id = '{poison}' THEN
                        RAISE EXCEPTION 'refused by the test';
                    END IF;
                    IF NEW.wa_message_id = '{slow}' THEN
                        RAISE EXCEPTION 'as statement_timeout does' USING ERRCODE = 'query_canceled';
                    END IF;
                    IF NEW.wa_message_id = '{flaky}' AND nextval('test_flaky_inserts') = 1 THEN
                        RAISE EXCEPTION 'a deadlock, as the test says' USING ERRCODE = 'deadlock_detected';
                    END IF;
                    RETURN NEW;
                END $$
                """
            )
        )
        await connection.execute(
            text(
                "CREATE TRIGGER test_refuse_some_inbound BEFORE INSERT ON messages "
                "FOR EACH ROW EXECUTE FUNCTION test_refuse_some_inbound()"
            )
        )
    try:
        poison_body = payload(account, {"messages": [text_message("15550004444", "p", poison)]})
        # Stored though it cannot be applied, the first failure counted; then the sweep's tries.
        poisoned = await receiver.store_and_apply(poison_body, account)
        for attempt in range(1, MAX_APPLY_ATTEMPTS + 1):
            if attempt > 1:
                await receiver.apply(poisoned, poison_body, account)
            state, outcome = await notification(engine, poisoned)
            assert outcome["apply_failures"] == attempt
            assert "refused by the test" in outcome["last_error"]
            assert state == ("failed" if attempt == MAX_APPLY_ATTEMPTS else "received")
        await receiver.apply(poisoned, poison_body, account)  # given up: no longer tried
        assert (await notification(engine, poisoned)).outcome["apply_failures"] == MAX_APPLY_ATTEMPTS

        # Cancelled by the server (statement_timeout): the statement's failure, counted too.
        cancelled = await receiver.store_and_apply(
            payload(account, {"messages": [text_message("15550004444", "s", slow)]}), account
        )
        assert (await notification(engine, cancelled)).outcome["apply_failures"] == 1
        rows = await receiver.store.pool.fetch("SHOW statement_timeout", [])
        assert rows[0][0] == "9s"

        retried = await receiver.store_and_apply(
            payload(account, {"messages": [text_message("15550004444", "f", flaky)]}), account
        )
        state, outcome = await notification(engine, retried)
        assert (state, outcome) == ("applied", {"messages_stored": 1})
    finally:
        async with engine.begin() as connection:
            await connection.execute(text("DROP TRIGGER test_refuse_some_inbound ON messages"))
            await connection.execute(text("DROP FUNCTION test_refuse_some_inbound()"))
            await connection.execute(text("DROP SEQUENCE test_flaky_inserts"))


async def test_a_database_out_of_connections_is_not_the_notifications_fault(
    receiver: Receiver, engine: AsyncEngine, account: SeededAccount
) -> None:
    body = payload(account, {"messages": [text_message("15550005555", "later")]})
    signed = sign(body, account.app_secret)

    def pool_exhausted() -> Any:
        raise TimeoutError("no free connection in time")  # what the pool raises

    receiver.store.pool.transaction = pool_exhausted  # type: ignore[method-assign]
    # A new notification: refused (the caller answers 503, Meta retries), nothing stored.
    with pytest.raises(Unavailable):
        await receiver.webhooks.receive(body, signed)
    assert await notifications_named(receiver, account) == 0
    # A stored one: left for the sweep, the failure not counted against it.
    stored = await receiver.store.store_unapplied(body, [uuid.UUID(account.account_id)], "earlier")
    for _ in range(MAX_APPLY_ATTEMPTS + 1):
        await receiver.apply(stored, body, account)
    assert tuple(await notification(engine, stored)) == (
        "received",
        {"apply_failures": 1, "last_error": "earlier"},
    )

    del receiver.store.pool.transaction
    await receiver.apply(stored, body, account)
    assert (await notification(engine, stored)).state == "applied"


async def test_an_account_change_during_a_load_makes_the_next_webhook_read_again(
    receiver: Receiver, account: SeededAccount
) -> None:
    body = payload(account, {})
    counted = receiver.store.app_secrets
    table_read = asyncio.Event()
    go_on = asyncio.Event()

    async def held_up() -> list[AppSecret]:
        secrets = await counted()
        table_read.set()  # read before the change below: stale
        await go_on.wait()
        return secrets

    receiver.store.app_secrets = held_up  # type: ignore[method-assign]
    first = asyncio.create_task(receiver.webhooks.receive(body, sign(body, account.app_secret)))
    await table_read.wait()
    receiver.webhooks.forget_secrets(f"account:{uuid.uuid4()}")  # the NOTIFY of an account added
    go_on.set()
    await first
    receiver.store.app_secrets = counted  # type: ignore[method-assign]

    await receiver.webhooks.receive(body, sign(body, account.app_secret))
    assert len(receiver.secret_loads) == 2  # read again, not served the stale read
