"""A sync send whose outcome cannot be written at once: PostgreSQL goes away after the request
reached WhatsApp and before its answer came back, and returns a couple of seconds later.

The outcome write is retried within the send's deadline, so the client gets its answer (200, or
504 `outcome_unknown` past the deadline: never a 503 that invites a second send) and the message
is stored `sent`; the outbox, whose lease on the row runs out meanwhile, never sends it again.
Before, the client got 503, the row stayed `sending`, and the outbox sent it a second time once
the lease ran out. The simulator's status webhooks are off: nothing else may settle the row."""

import asyncio
import os
import secrets
import time
from typing import Any

import orjson

from tests.fixtures.stack import Running, start_running
from tools.stack import DATA_DIR, RestartablePostgres

# The simulator answers this long after the request (its `1998<ms>` trigger), within the sender's
# 1.5 s WhatsApp timeout: time enough to stop PostgreSQL in between.
ANSWER_AFTER_MS = 1000
DOWN_SECONDS = 2.5
ENV = {
    "SYNC_LEASE_SECONDS": "6",
    "LEASE_SECONDS": "3",
    "RECONCILE_SECONDS": "1",
    "MAX_ATTEMPTS": "30",
    "RETRY_MAX_SECONDS": "1",
}


async def post_send(running: Running, body: dict[str, Any], key: str) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {running.acme.api_key}", "Idempotency-Key": key}
    async with running.http.post(
        f"{running.gateway}/messages/send", data=orjson.dumps(body), headers=headers
    ) as response:
        return response.status, await response.json()


async def copies(running: Running, to: str) -> list[dict[str, Any]]:
    return [r for r in await running.simulator_requests(to=to) if r["status"] == 200]


async def test_postgres_away_between_the_answer_and_the_outcome_write(postgres_server: str) -> None:
    postgres = RestartablePostgres(DATA_DIR / f"pg-outcome-{os.getpid()}-{secrets.token_hex(3)}")
    server = await asyncio.to_thread(postgres.start)
    try:
        async with start_running(server, "outcome-write", ENV) as running:
            to = f"1998{ANSWER_AFTER_MS}"
            body = {
                "to": to,
                "type": "template",
                "template": {"name": "hello_world", "language": {"code": "en_US"}},
            }
            key = f"outcome-{secrets.token_hex(4)}"
            send = asyncio.create_task(post_send(running, body, key))
            deadline = time.monotonic() + 10
            while not await running.simulator_requests(to=to):
                assert time.monotonic() < deadline, "the send never reached the simulator"
                await asyncio.sleep(0.02)
            # The request is at WhatsApp; its answer comes while PostgreSQL is away.
            await asyncio.to_thread(postgres.stop)
            await asyncio.sleep(DOWN_SECONDS)
            await asyncio.to_thread(postgres.start)
            status, answer = await send
            assert (status, answer.get("status")) == (200, "sent") or (
                status == 504 and answer["error"]["code"] == "outcome_unknown"
            ), (status, answer)
            await running.engine.dispose()

            # Past the sync lease and the reconcile delay: the outbox had every chance to send it again.
            await asyncio.sleep(6 + 1 + 3)
            status, stored = await post_send(running, body, key)
            assert status == 200 and stored["status"] == "sent", (status, stored)
            sent = await copies(running, to)
            assert len(sent) == 1, sent
            assert sent[0]["body"]["biz_opaque_callback_data"] == stored["id"]
    finally:
        await asyncio.to_thread(postgres.close)
