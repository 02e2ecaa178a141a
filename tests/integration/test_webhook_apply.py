"""Receiving and applying webhook notifications, in process against real PostgreSQL:
forged signatures, payloads of unexpected shapes, notifications that keep failing,
and a lost deadlock. The HTTP path is tested end to end in tests/e2e/test_webhooks.py."""

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
import sqlalchemy.exc
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from services.conversations.domain import Unauthenticated
from services.conversations.inbox import Inbox
from services.conversations.store import Store
from services.conversations.webhook_store import AppSecret, WebhookStore
from services.conversations.webhooks import MAX_APPLY_ATTEMPTS, Webhooks
from tools.seed import SeededAccount, create_account


@dataclass
class Receiver:
    webhooks: Webhooks
    store: WebhookStore
    secret_loads: list[float]


@pytest_asyncio.fixture(loop_scope="session")
async def receiver(engine: AsyncEngine) -> AsyncIterator[Receiver]:
    store = WebhookStore(engine)
    loads: list[float] = []
    load = store.app_secrets

    async def counted() -> list[AppSecret]:
        loads.append(time.monotonic())
        return await load()

    store.app_secrets = counted  # type: ignore[method-assign]
    inbox_store = Store(engine)
    yield Receiver(Webhooks(store, Inbox(inbox_store, cache_ttl_seconds=60)), store, loads)
    await inbox_store.close()


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


async def test_forged_signatures_share_one_reload_a_second(
    receiver: Receiver, account: SeededAccount
) -> None:
    body = payload(account, {"messages": [text_message("15550001111", "hi")]})
    forged = sign(body, "not the app secret")
    results = await asyncio.gather(
        *(receiver.webhooks.receive(body, forged) for _ in range(50)), return_exceptions=True
    )
    assert all(isinstance(result, Unauthenticated) for result in results)
    # The first read, then one reload for all fifty (they arrived before it started).
    assert len(receiver.secret_loads) == 2
    assert receiver.secret_loads[1] - receiver.secret_loads[0] >= 0.9


async def test_an_account_created_after_the_secrets_were_read_is_found(
    receiver: Receiver, engine: AsyncEngine, account: SeededAccount
) -> None:
    await receiver.webhooks.receive(
        payload(account, {}), sign(payload(account, {}), account.app_secret)
    )  # secrets read now
    newcomer = await create_account(engine, "Newcomer", conversations=0)
    body = payload(newcomer, {"messages": [text_message("15550002222", "first")]})
    assert await receiver.webhooks.receive(body, sign(body, newcomer.app_secret)) > 0
    assert len(receiver.secret_loads) == 2


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
    notification_id = await receiver.store.store(body, [uuid.UUID(account.account_id)])
    await receiver.webhooks.apply(notification_id)

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
        poisoned = await receiver.store.store(
            payload(account, {"messages": [text_message("15550004444", "p", poison)]}),
            [uuid.UUID(account.account_id)],
        )
        for attempt in range(1, MAX_APPLY_ATTEMPTS + 1):
            await receiver.webhooks.apply(poisoned)
            state, outcome = await notification(engine, poisoned)
            assert outcome["apply_failures"] == attempt
            assert "refused by the test" in outcome["last_error"]
            assert state == ("failed" if attempt == MAX_APPLY_ATTEMPTS else "received")
        await receiver.webhooks.apply(poisoned)  # given up: no longer tried
        assert (await notification(engine, poisoned)).outcome["apply_failures"] == MAX_APPLY_ATTEMPTS

        # Cancelled by the server (statement_timeout): the statement's failure, counted too.
        cancelled = await receiver.store.store(
            payload(account, {"messages": [text_message("15550004444", "s", slow)]}),
            [uuid.UUID(account.account_id)],
        )
        await receiver.webhooks.apply(cancelled)
        assert (await notification(engine, cancelled)).outcome["apply_failures"] == 1
        async with engine.connect() as connection:
            assert (await connection.execute(text("SHOW statement_timeout"))).scalar() == "9s"

        retried = await receiver.store.store(
            payload(account, {"messages": [text_message("15550004444", "f", flaky)]}),
            [uuid.UUID(account.account_id)],
        )
        await receiver.webhooks.apply(retried)
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
    notification_id = await receiver.store.store(
        payload(account, {"messages": [text_message("15550005555", "later")]}),
        [uuid.UUID(account.account_id)],
    )

    def pool_exhausted() -> Any:
        raise sqlalchemy.exc.TimeoutError("QueuePool limit reached")

    receiver.store.transaction = pool_exhausted  # type: ignore[method-assign]
    for _ in range(MAX_APPLY_ATTEMPTS + 1):
        await receiver.webhooks.apply(notification_id)
    assert tuple(await notification(engine, notification_id)) == ("received", None)  # not counted

    del receiver.store.transaction
    await receiver.webhooks.apply(notification_id)
    assert (await notification(engine, notification_id)).state == "applied"


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
