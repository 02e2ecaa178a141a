"""A connection to WhatsApp that breaks after the request was written (the simulator's "1996..."
recipients: accepted, status webhooks sent, the connection closed without an answer), end to
end through the outbox: reconciled by the status webhook, or sent again after the reconcile
delay when none comes (the duplicate window that remains)."""

import asyncio
import itertools
from collections.abc import AsyncIterator

import pytest_asyncio

from tests.e2e.test_async_send import TEMPLATE, send, sent_for, until_terminal
from tests.fixtures.stack import Running, start_running

RECONCILE_SECONDS = 2.0


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def resets(postgres_server: str) -> AsyncIterator[Running]:
    env = {"RECONCILE_SECONDS": str(RECONCILE_SECONDS)}
    async with start_running(postgres_server, "resets", env, webhooks=True) as running:
        yield running


async def configure(running: Running, **changes: object) -> None:
    async with running.http.patch(f"{running.simulator}/_sim/config", json=changes) as response:
        assert response.status == 200


async def test_a_status_webhook_settles_a_send_whose_answer_was_lost(resets: Running) -> None:
    acme = resets.acme
    # WhatsApp's first status a second after the send: well after a connection error's
    # immediate retry, within the reconcile delay.
    await configure(resets, status_delays_ms=[1000, 1100, 1200])
    try:
        _, accepted, _ = await send(resets, acme, {"to": "19961000001", **TEMPLATE})
        done = await until_terminal(resets, acme, accepted["id"])
    finally:
        await configure(resets, status_delays_ms=[20, 60, 120])
    [request] = await sent_for(resets, accepted["id"])
    # WhatsApp's status, matched by pigeon's id (biz_opaque_callback_data), took it out of
    # the queue: its WhatsApp id is the one the lost answer carried, and no error is left.
    assert done["status"] in ("sent", "delivered", "read")
    assert done["wa_message_id"] == request["wa_message_id"]
    assert done.get("error") is None
    await asyncio.sleep(RECONCILE_SECONDS + 1)  # past the reconcile delay: never sent again
    assert len(await sent_for(resets, accepted["id"])) == 1


async def test_without_a_status_webhook_it_is_sent_again_after_the_reconcile_delay(resets: Running) -> None:
    acme = resets.acme
    url = (await (await resets.http.get(f"{resets.simulator}/_sim/config")).json())["webhook_url"]
    await configure(resets, webhook_url="")
    try:
        _, accepted, _ = await send(resets, acme, {"to": "19961000002", **TEMPLATE})
        done = await until_terminal(resets, acme, accepted["id"], timeout=4 * RECONCILE_SECONDS + 10)
    finally:
        await configure(resets, webhook_url=url)
    requests = await sent_for(resets, accepted["id"])
    # The duplicate window: nothing said whether WhatsApp had it, so each attempt went out
    # again, never sooner than the reconcile delay; here every answer is lost (MAX_ATTEMPTS 3).
    assert len(requests) == 3
    gaps = [b["received_at"] - a["received_at"] for a, b in itertools.pairwise(requests)]
    assert all(gap >= RECONCILE_SECONDS for gap in gaps), gaps
    assert (done["status"], done["error"]["code"]) == ("failed", "unknown_outcome")
