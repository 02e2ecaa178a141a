"""What operators see: Server-Timing on sends, Prometheus metrics on every service, and
one request id followed across the three services' logs."""

import asyncio
import re

import orjson

from tests.fixtures.stack import Running

TEMPLATE = {"type": "template", "template": {"name": "order_update", "language": {"code": "en"}}}


async def scrape(running: Running, port: int) -> str:
    async with running.http.get(f"http://127.0.0.1:{port}/metrics") as response:
        assert response.status == 200
        return await response.text()


def sample(metrics: str, name: str, **labels: str) -> float:
    """The value of one sample, its labels given in any order."""
    for line in metrics.splitlines():
        if not line.startswith(name + "{") and line.split(" ")[0] != name:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split(" ")[0]))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no sample {name} {labels}")


async def test_server_timing_splits_a_send(running: Running) -> None:
    acme = running.acme
    async with running.http.post(
        f"{running.gateway}/messages/send",
        data=orjson.dumps({"to": "15550007001", **TEMPLATE}),
        headers={"Authorization": f"Bearer {acme.api_key}"},
    ) as response:
        assert response.status == 200
        timing = response.headers["Server-Timing"]
    parts = dict(re.findall(r"(\w+);dur=([0-9.]+)", timing))
    assert set(parts) == {"lookup", "whatsapp", "persist"}
    assert all(float(v) >= 0 for v in parts.values())
    # A failed send says it too.
    async with running.http.post(
        f"{running.gateway}/messages/send",
        data=orjson.dumps({"to": "1999131026", **TEMPLATE}),
        headers={"Authorization": f"Bearer {acme.api_key}"},
    ) as response:
        assert response.status == 422
        assert "whatsapp;dur=" in response.headers["Server-Timing"]


async def test_every_service_exposes_metrics(running: Running) -> None:
    acme = running.acme
    # Two sends: the second finds the account cached, whatever ran before this test.
    for to in ("15550007002", "15550007003"):
        async with running.http.post(
            f"{running.gateway}/messages/send",
            data=orjson.dumps({"to": to, **TEMPLATE}),
            headers={"Authorization": f"Bearer {acme.api_key}"},
        ) as response:
            assert response.status == 200
    async with running.http.get(f"{running.gateway}/metrics") as response:
        gateway = await response.text()
    assert (
        sample(gateway, "pigeon_http_requests_total", route="/messages/send", method="POST", status="200")
        >= 1
    )
    assert (
        sample(gateway, "pigeon_http_request_duration_seconds_count", route="/messages/send", method="POST")
        >= 1
    )

    conversations = await scrape(running, running.stack.conversations_metrics_port)
    assert (
        sample(
            conversations,
            "grpc_server_handled_total",
            grpc_type="unary",
            grpc_service="pigeon.conversations.v1.Conversations",
            grpc_method="SendNow",
            grpc_code="OK",
        )
        >= 1
    )
    assert sample(conversations, "pigeon_cache_hits_total", cache="accounts") >= 1
    assert sample(conversations, "pigeon_outbox_queued") >= 0

    sender = await scrape(running, running.stack.sender_metrics_port)
    assert sample(sender, "pigeon_whatsapp_call_duration_seconds_count", outcome="accepted", code="") >= 1
    assert (
        sample(
            sender,
            "grpc_server_handled_total",
            grpc_type="unary",
            grpc_service="pigeon.sender.v1.Sender",
            grpc_method="SendMessage",
            grpc_code="OK",
        )
        >= 1
    )


async def test_a_request_id_follows_a_send_across_the_services(running: Running) -> None:
    acme = running.acme
    request_id = "trace-follow-me-42"
    async with running.http.post(
        f"{running.gateway}/messages/send",
        data=orjson.dumps({"to": "1999131000", **TEMPLATE}),
        headers={"Authorization": f"Bearer {acme.api_key}", "X-Request-ID": request_id},
    ) as response:
        assert response.status == 502
        assert response.headers["X-Request-ID"] == request_id
    await asyncio.sleep(0.2)
    assert running.stack.log_dir is not None
    lines = {
        name: [
            orjson.loads(line)
            for line in (running.stack.log_dir / f"{name}.log").read_text().splitlines()
            if line.startswith("{")
        ]
        for name in ("gateway", "sender")
    }
    for name, entries in lines.items():
        assert any(entry.get("request_id") == request_id for entry in entries), name
    # And no secret ever reaches a log line.
    for name in ("gateway", "sender", "conversations", "simulator"):
        text = (running.stack.log_dir / f"{name}.log").read_text()
        for account in (running.acme, running.globex):
            assert account.access_token not in text, name
            assert account.app_secret not in text, name
            assert account.api_key not in text, name


async def test_readiness_follows_dependencies_and_recovers(postgres_server: str) -> None:
    import signal
    import time

    from tests.fixtures.stack import start_running

    async with start_running(postgres_server, "readiness") as running:

        async def ready() -> tuple[int, dict[str, bool]]:
            async with running.http.get(f"{running.gateway}/readyz") as response:
                return response.status, (await response.json())["dependencies"]

        assert await ready() == (200, {"conversations": True, "sender": True})
        sender = running.stack.service("sender")
        sender.signal(signal.SIGKILL)
        assert sender.process is not None
        await asyncio.to_thread(sender.process.wait)
        deadline = time.monotonic() + 10
        while (status := await ready()) != (503, {"conversations": True, "sender": False}):
            assert time.monotonic() < deadline, status
            await asyncio.sleep(0.1)
        await asyncio.to_thread(sender.start)
        deadline = time.monotonic() + 10
        while (status := await ready())[0] != 200:
            assert time.monotonic() < deadline, status
            await asyncio.sleep(0.1)
