"""The outbox survives a crash: conversations (the dispatcher) and the sender are killed
with SIGKILL in the middle of a burst of async sends, then started again. Every message
accepted with 202 is sent, nothing stays `queued` or `sending`, and WhatsApp gets a message
twice only in the documented window (accepted by WhatsApp before the crash, outcome never
stored, sent again once its lease was taken over)."""

import asyncio
import itertools
import signal
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson
from sqlalchemy import text

from tests.e2e.test_faults import stored_messages
from tests.fixtures.stack import Running, start_running
from tools.seed import SeededAccount, create_account
from tools.stack import ServiceProcess

TEMPLATE = {"type": "template", "template": {"name": "hello_world", "language": {"code": "en_US"}}}
ACCOUNTS = 6
MESSAGES = 3000
CLIENT_CONCURRENCY = 32
KILL_AFTER_ACCEPTED = 800
IN_FLIGHT_AT_KILL = 5
DOWN_SECONDS = 1.0
DISPATCH_CONCURRENCY = 512
ENV = {
    "LEASE_SECONDS": "3",
    "SYNC_LEASE_SECONDS": "3",
    "MAX_ATTEMPTS": "20",
    "RETRY_BASE_SECONDS": "0.2",
    "RETRY_MAX_SECONDS": "1",
    "DISPATCH_CONCURRENCY": str(DISPATCH_CONCURRENCY),
}
# The client's patience for one message (retried while the services are down), and the
# outbox's to drain after the client is done.
CLIENT_SECONDS = 45
DRAIN_SECONDS = 60


@dataclass
class Client:
    """What the client saw: each logical message is posted with its own Idempotency-Key
    and retried until it is answered 202, as a careful client would."""

    accepted: dict[str, int] = field(default_factory=dict)  # message id -> logical message
    rejected: Counter[str] = field(default_factory=Counter)  # HTTP status or exception name
    replayed: int = 0
    gave_up: list[int] = field(default_factory=list)


@dataclass
class Crash:
    killed_at: float = 0.0  # wall clock, as the simulator's received_at
    restart_began: float = 0.0
    restarted_at: float = 0.0
    at_whatsapp_at_kill: int = 0  # requests WhatsApp was still answering
    sending_at_kill: int = 0
    queued_at_kill: int = 0


async def post_all(
    running: Running, accounts: list[SeededAccount], client: Client, kill: asyncio.Event
) -> None:
    numbers = itertools.count()
    deadline = time.monotonic() + CLIENT_SECONDS
    timeout = aiohttp.ClientTimeout(total=10)

    async def post(n: int) -> None:
        account = accounts[n % len(accounts)]
        body = orjson.dumps({"to": f"1555{n:07d}", **TEMPLATE})
        headers = {"Authorization": f"Bearer {account.api_key}", "Idempotency-Key": f"crash-{n}"}
        while time.monotonic() < deadline:
            try:
                async with running.http.post(
                    f"{running.gateway}/messages/send-async", data=body, headers=headers, timeout=timeout
                ) as response:
                    status = response.status
                    payload: Any = await response.json() if status == 202 else await response.read()
                    replayed = response.headers.get("Idempotent-Replayed") == "true"
            except (aiohttp.ClientError, TimeoutError) as exc:
                client.rejected[type(exc).__name__] += 1
            else:
                if status == 202:
                    assert payload["id"] not in client.accepted, f"{payload['id']} accepted for two keys"
                    client.accepted[payload["id"]] = n
                    client.replayed += replayed
                    if len(client.accepted) >= KILL_AFTER_ACCEPTED:
                        kill.set()
                    return
                client.rejected[str(status)] += 1
            await asyncio.sleep(0.05)
        client.gave_up.append(n)

    async def worker() -> None:
        while (n := next(numbers)) < MESSAGES:
            await post(n)

    await asyncio.gather(*(worker() for _ in range(CLIENT_CONCURRENCY)))


async def scalar(running: Running, sql: str, **params: Any) -> Any:
    async with running.engine.connect() as connection:
        return (await connection.execute(text(sql), params)).scalar_one()


async def kill_and_restart(running: Running, kill: asyncio.Event, crash: Crash) -> None:
    await kill.wait()
    # Kill while WhatsApp is answering some of our sends (requests it holds for 20-80 ms):
    # the duplicate window, and claims the restarted dispatcher must take over.
    # Both sides must show it: a request the sender gave up on stays unanswered in the
    # simulator's records, so those alone could count sends no longer in flight.
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        recent = await running.simulator_requests(since=str(time.time() - 0.25))  # answers take 20-80 ms
        crash.at_whatsapp_at_kill = sum(r["status"] is None for r in recent)
        sending = await scalar(running, "SELECT count(*) FROM messages WHERE status = 'sending'")
        if crash.at_whatsapp_at_kill >= IN_FLIGHT_AT_KILL and sending >= IN_FLIGHT_AT_KILL:
            break
        await asyncio.sleep(0.005)
    services = [running.stack.service("conversations"), running.stack.service("sender")]
    for service in services:
        service.signal(signal.SIGKILL)
    for service in services:
        assert service.process is not None
        assert await asyncio.to_thread(service.process.wait, 10) == -signal.SIGKILL
    crash.killed_at = time.time()
    crash.sending_at_kill = await scalar(running, "SELECT count(*) FROM messages WHERE status = 'sending'")
    crash.queued_at_kill = await scalar(running, "SELECT count(*) FROM messages WHERE status = 'queued'")
    await asyncio.sleep(DOWN_SECONDS)
    # Between killed_at and restart_began no process of ours could call WhatsApp.
    crash.restart_began = time.time()
    await asyncio.gather(*(asyncio.to_thread(ServiceProcess.start, service) for service in services))
    crash.restarted_at = time.time()


async def until_drained(running: Running, ids: list[str]) -> None:
    deadline = time.monotonic() + DRAIN_SECONDS
    while True:
        left = await scalar(
            running,
            "SELECT count(*) FROM messages WHERE id = ANY(CAST(:ids AS uuid[])) AND status NOT IN ('sent', 'failed')",
            ids=ids,
        )
        if left == 0:
            return
        assert time.monotonic() < deadline, f"{left} accepted messages not terminal after {DRAIN_SECONDS} s"
        await asyncio.sleep(0.25)


async def test_killed_dispatcher_and_sender_lose_nothing(postgres_server: str) -> None:
    async with start_running(postgres_server, "crash", ENV) as running:
        async with running.http.patch(
            f"{running.simulator}/_sim/config", json={"latency": "20-80"}
        ) as response:
            assert response.status == 200
        accounts = [
            await create_account(running.engine, f"Crash {i}", conversations=0, messages_per_second=1000)
            for i in range(ACCOUNTS)
        ]
        for account in accounts:
            await running.register(account, mps=1000)

        client, crash, kill = Client(), Crash(), asyncio.Event()
        started = time.monotonic()
        crasher = asyncio.create_task(kill_and_restart(running, kill, crash))
        try:
            await post_all(running, accounts, client, kill)
        finally:
            if not kill.is_set():
                crasher.cancel()
        assert kill.is_set(), f"only {len(client.accepted)} accepted: the crash never happened"
        await crasher
        posted_in = time.monotonic() - started
        accepted = list(client.accepted)
        await until_drained(running, accepted)
        drained_in = time.monotonic() - started

        # 1. Every accepted message is stored and sent; the client got every message accepted
        # (through the restart), and no request the client gave up on left a message behind.
        assert client.gave_up == [], f"{len(client.gave_up)} messages never accepted (gateway kept failing?)"
        stored = await stored_messages(running, accounts)
        rows = list(stored.values())
        async with running.engine.connect() as connection:
            stuck = (
                await connection.execute(
                    text(
                        "SELECT status, count(*) FROM messages WHERE status IN ('queued', 'sending') GROUP BY status"
                    )
                )
            ).all()
        assert set(stored) == set(accepted), (
            f"accepted but not stored: {len(set(accepted) - set(stored))}, "
            f"stored but never accepted: {len(set(stored) - set(accepted))}"
        )
        statuses = Counter(row.status for row in rows)
        failed = Counter(f"{row.error_code}: {row.error_message}" for row in rows if row.status == "failed")
        # 3. Nothing left behind anywhere in the database.
        assert stuck == [], f"left queued/sending: {stuck}"

        # 2. WhatsApp got every accepted message, twice only in the duplicate window.
        successes: dict[str, list[dict[str, Any]]] = defaultdict(list)
        other: Counter[str] = Counter()
        for account in accounts:
            requests: list[dict[str, Any]] = await running.simulator_requests(
                phone_number_id=account.phone_number_id
            )
            for request in requests:
                message_id = request["body"]["biz_opaque_callback_data"]
                assert message_id in stored, f"WhatsApp got {message_id}, which pigeon does not know"
                if request["status"] == 200:
                    successes[message_id].append(request)
                else:
                    other[f"{request['status']}/{request['error_code']}"] += 1
        never_sent = [m for m in accepted if not successes[m]]
        duplicates = {
            m: sorted(r["received_at"] for r in successes[m]) for m in accepted if len(successes[m]) > 1
        }
        outside_window = {
            m: times
            for m, times in duplicates.items()
            if len(times) != 2 or not times[0] < crash.restart_began <= times[1]
        }
        wrong_wamid = [
            m for m in accepted if stored[m].wa_message_id not in {r["wa_message_id"] for r in successes[m]}
        ]
        alive = {s.name: s.process is not None and s.process.poll() is None for s in running.stack.services}

        print(
            f"\noutbox crash: accepted={len(accepted)} rejected={sum(client.rejected.values())} "
            f"{dict(client.rejected)} replayed={client.replayed} sent={statuses['sent']} "
            f"failed={statuses['failed']} duplicates={len(duplicates)} "
            f"at_whatsapp_at_kill={crash.at_whatsapp_at_kill} sending_at_kill={crash.sending_at_kill} "
            f"queued_at_kill={crash.queued_at_kill} "
            f"down={crash.restarted_at - crash.killed_at:.1f}s (restart took "
            f"{crash.restarted_at - crash.restart_began:.1f}s) non200_at_sim={dict(other)} "
            f"posted_in={posted_in:.1f}s drained_in={drained_in:.1f}s"
        )
        assert crash.sending_at_kill > 0, "nothing was in flight at the kill: the takeover was not exercised"
        assert statuses["sent"] == len(accepted), f"failed: {dict(failed)}"
        assert never_sent == [], f"{len(never_sent)} accepted messages never reached WhatsApp"
        assert outside_window == {}, (
            f"{len(outside_window)} sent twice outside the crash window "
            f"(restart began {crash.restart_began}): {list(outside_window.items())[:5]}"
        )
        assert len(duplicates) <= DISPATCH_CONCURRENCY
        assert wrong_wamid == [], f"{len(wrong_wamid)} messages store a wamid WhatsApp never answered"
        assert all(alive.values()), alive
