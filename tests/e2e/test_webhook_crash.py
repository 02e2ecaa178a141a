"""A crash while webhooks are being stored and applied loses nothing and doubles nothing.

Conversations is killed (SIGKILL) while a batch of notifications is inside its transaction
(held there by a trigger that sleeps), then started again. The notifications were not
acknowledged, so the sender posts them again, as Meta retries: each is then stored and
applied once. A notification stored but left unapplied (its apply failed) is applied by
the restarted replica's sweep."""

import asyncio
import signal
import time
import uuid
from typing import Any

import orjson
from sqlalchemy import text

from tests.e2e.test_webhooks import envelope, inbound_value, sign
from tests.fixtures.stack import Running, start_running
from tools.stack import ServiceProcess

HELD_CONTACT = "15550707070"
NOTIFICATIONS = 20


async def scalar(running: Running, sql: str, **params: Any) -> Any:
    async with running.engine.connect() as connection:
        return (await connection.execute(text(sql), params)).scalar()


async def post_until_acknowledged(
    running: Running, body: bytes, signature: str, deadline: float
) -> list[int]:
    """What Meta does: POST again until a 2xx (here within `deadline`); every answer seen."""
    answers: list[int] = []
    while time.monotonic() < deadline:
        try:
            async with running.http.post(
                f"{running.gateway}/webhooks/whatsapp",
                data=body,
                headers={"X-Hub-Signature-256": signature, "Content-Type": "application/json"},
            ) as response:
                await response.read()
                answers.append(response.status)
                if response.status == 200:
                    return answers
        except OSError:
            answers.append(0)
        await asyncio.sleep(0.2)
    return answers


async def test_a_crash_mid_apply_loses_and_doubles_nothing(postgres_server: str) -> None:
    async with start_running(postgres_server, "webhook-crash", webhooks=True) as running:
        account = running.acme
        async with running.engine.begin() as connection:
            await connection.execute(
                text(
                    f"""
                    CREATE FUNCTION test_hold_inbound() RETURNS trigger LANGUAGE plpgsql AS $$
                    BEGIN
                        IF NEW.contact_wa_id = '{HELD_CONTACT}' THEN PERFORM pg_sleep(30); END IF;
                        RETURN NEW;
                    END $$
                    """
                )
            )
            await connection.execute(
                text(
                    "CREATE TRIGGER test_hold_inbound BEFORE INSERT ON messages "
                    "FOR EACH ROW EXECUTE FUNCTION test_hold_inbound()"
                )
            )
        wamids = [f"wamid.crash{uuid.uuid4().hex}" for _ in range(NOTIFICATIONS)]
        bodies = [
            orjson.dumps(
                envelope(
                    account,
                    inbound_value(
                        HELD_CONTACT, "Held", {"id": wamid, "type": "text", "text": {"body": wamid}}
                    ),
                )
            )
            for wamid in wamids
        ]
        deadline = time.monotonic() + 60
        posts = [
            asyncio.create_task(
                post_until_acknowledged(running, body, sign(body, account.app_secret), deadline)
            )
            for body in bodies
        ]
        # Killed once the batch is inside its transaction (the trigger sleeping).
        while (
            await scalar(
                running,
                "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%INSERT INTO messages%' AND wait_event = 'PgSleep'",
            )
            == 0
        ):
            assert time.monotonic() < deadline, "the batch never reached its insert"
            await asyncio.sleep(0.05)
        conversations = running.stack.service("conversations")
        conversations.signal(signal.SIGKILL)
        assert conversations.process is not None
        assert await asyncio.to_thread(conversations.process.wait, 10) == -signal.SIGKILL
        # Its transaction dies with its connection: nothing of the batch was committed.
        await asyncio.sleep(0.5)
        assert (
            await scalar(running, "SELECT count(*) FROM webhook_notifications WHERE body = ANY(:b)", b=bodies)
            == 0
        )
        async with running.engine.begin() as connection:
            await connection.execute(text("DROP TRIGGER test_hold_inbound ON messages"))
            await connection.execute(text("DROP FUNCTION test_hold_inbound()"))
        await asyncio.to_thread(ServiceProcess.start, conversations)

        answers = await asyncio.gather(*posts)
        assert all(seen[-1] == 200 for seen in answers), answers
        assert any(status != 200 for seen in answers for status in seen), "no delivery was cut by the crash"
        stored = await scalar(
            running,
            "SELECT count(*) FROM messages WHERE account_id = :a AND wa_message_id = ANY(:w)",
            a=account.account_id,
            w=wamids,
        )
        assert stored == NOTIFICATIONS
        events = await scalar(
            running,
            "SELECT count(*) FROM events e JOIN messages m ON m.id = e.message_id "
            "WHERE e.account_id = :a AND m.wa_message_id = ANY(:w) AND e.type = 'message.received'",
            a=account.account_id,
            w=wamids,
        )
        assert events == NOTIFICATIONS
        states = await scalar(
            running,
            "SELECT array_agg(DISTINCT state) FROM webhook_notifications WHERE body = ANY(:b)",
            b=bodies,
        )
        assert states == ["applied"]
