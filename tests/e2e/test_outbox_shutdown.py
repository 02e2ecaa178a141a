"""SIGTERM on the conversations service while its dispatcher delivers: it stops claiming,
lets deliveries in flight finish (or puts back those not yet handed to the sender), leaves
nothing `sending`, and sends nothing twice."""

import asyncio
import signal
import time
from collections import Counter

import orjson
from sqlalchemy import text

from tests.fixtures.stack import start_running

TEMPLATE = {"type": "template", "template": {"name": "order_update", "language": {"code": "en"}}}


async def test_sigterm_leaves_nothing_sending_and_loses_nothing(postgres_server: str) -> None:
    # A short grace period, so that some deliveries are still in flight when it ends.
    async with start_running(postgres_server, "shutdown", {"CONVERSATIONS_GRACE_SECONDS": "0.3"}) as running:
        async with running.http.patch(
            f"{running.simulator}/_sim/config", json={"latency": "400"}
        ) as response:
            assert response.status == 200
        acme = running.acme
        accepted: list[str] = []
        for n in range(300):
            async with running.http.post(
                f"{running.gateway}/messages/send-async",
                data=orjson.dumps({"to": f"1555040{n:04d}", **TEMPLATE}),
                headers={"Authorization": f"Bearer {acme.api_key}"},
            ) as response:
                assert response.status == 202
                accepted.append((await response.json())["id"])
        await asyncio.sleep(0.3)  # deliveries under way
        conversations = running.stack.service("conversations")
        conversations.signal(signal.SIGTERM)
        assert conversations.process is not None
        code = await asyncio.to_thread(conversations.process.wait, 30)
        assert code == 0

        async with running.engine.connect() as connection:
            statuses = dict(
                (
                    await connection.execute(
                        text(
                            "SELECT status, count(*) FROM messages WHERE id = ANY(CAST(:ids AS uuid[])) GROUP BY status"
                        ),
                        {"ids": accepted},
                    )
                ).all()
            )
        assert "sending" not in statuses, statuses
        assert sum(statuses.values()) == len(accepted)

        await asyncio.to_thread(conversations.start)
        deadline = time.monotonic() + 30
        while True:
            async with running.engine.connect() as connection:
                sent = (
                    await connection.execute(
                        text(
                            "SELECT count(*) FROM messages WHERE id = ANY(CAST(:ids AS uuid[])) AND status = 'sent'"
                        ),
                        {"ids": accepted},
                    )
                ).scalar_one()
            if sent == len(accepted) or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.2)
        assert sent == len(accepted)

        # Each exactly once: a delivery cut off by the end of the grace period after its
        # request had gone to WhatsApp would have been put back and sent again.
        received = Counter(
            request["body"]["biz_opaque_callback_data"]  # type: ignore[index]
            for request in await running.simulator_requests(phone_number_id=acme.phone_number_id)
            if request["status"] == 200
        )
        assert {m: n for m, n in received.items() if n > 1} == {}
        assert set(received) == set(accepted)
