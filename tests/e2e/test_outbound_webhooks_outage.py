"""Outbound webhooks through outages, end to end: the customer's receiver (a real process) down
for 30 s while messages flow, and the conversations service (the delivery worker) killed with
SIGKILL in the middle of deliveries. Nothing is lost: every event of the account after the
endpoint's creation reaches the receiver, signed so that the stock `standardwebhooks` library
verifies it; within a conversation the events first arrive in the log's order; and an event that
arrives twice comes again under the webhook-id it had, with the same body.

What the receiver got is what it recorded; it forgets on a stop, so what it recorded is read
before it stops. A PostgreSQL restart is not exercised here: the tests share one embedded server.
"""

import asyncio
import contextlib
import itertools
import signal
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import aiohttp
import orjson
import pytest_asyncio
from sqlalchemy import text
from standardwebhooks.webhooks import Webhook

from tests.e2e.test_outbound_webhooks import call, create_endpoint, until
from tests.fixtures.receiver import Receiver
from tests.fixtures.stack import Running, start_running
from tools.seed import SeededAccount, create_account
from tools.stack import ServiceProcess

# Leases short enough that what a killed conversations held is taken over within a test's
# patience: a worker's endpoints, and the outbox's messages (just above what a send may take).
ENV = {
    "OUTBOUND_WEBHOOK_LEASE_SECONDS": "3",
    "LEASE_SECONDS": "17",
    "SYNC_LEASE_SECONDS": "17",
    "MAX_ATTEMPTS": "20",
}
CONVERSATIONS = 6
# The slow receiver of the crash test: deliveries are in flight most of the time.
RECEIVER_DELAY_MS = 300
SENDS_PER_SECOND = 4.0
# The crash test's: about as many events as the slow receiver takes, so that a backlog builds.
CRASH_SENDS_PER_SECOND = 10.0
# The outage: the receiver is down this long, while messages go on flowing.
BACKLOG_SENDS = 300
BACKLOG_SENDS_PER_SECOND = 100.0
OUTAGE_SECONDS = 30.0
OUTAGE_STARTS_AFTER = 5.0
# Sends go on this long after the receiver, or conversations, is back.
SENDS_AFTER_SECONDS = 5.0
# The patience of a client for one send, and of the test for the deliveries to catch up; polled,
# so that a slow machine only takes longer.
SEND_PATIENCE_SECONDS = 60.0
CATCH_UP_SECONDS = 180.0


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def outage(postgres_server: str) -> AsyncIterator[Running]:
    async with start_running(postgres_server, "hooks-outage", ENV) as running:
        yield running


# --- what the account sends ---


@dataclass
class Flow:
    """A steady flow of async sends over the account's conversations, each retried with its own
    Idempotency-Key until accepted (through a restart of the services behind the gateway)."""

    accepted: list[str] = field(default_factory=list)
    rejected: Counter[str] = field(default_factory=Counter)
    gave_up: list[int] = field(default_factory=list)


async def send_steadily(
    running: Running, account: SeededAccount, per_second: float, flow: Flow, stop: asyncio.Event
) -> None:
    """Starts a send every 1/per_second s until `stop` is set, then awaits them all."""
    timeout = aiohttp.ClientTimeout(total=10)

    async def send(n: int) -> None:
        to = account.contact_wa_ids[n % len(account.contact_wa_ids)]
        body = orjson.dumps({"to": to, "type": "text", "text": {"body": f"flowing {n}"}})
        headers = {"Authorization": f"Bearer {account.api_key}", "Idempotency-Key": f"flow-{n}"}
        deadline = time.monotonic() + SEND_PATIENCE_SECONDS
        while time.monotonic() < deadline:
            try:
                async with running.http.post(
                    f"{running.gateway}/messages/send-async", data=body, headers=headers, timeout=timeout
                ) as response:
                    if response.status == 202:
                        flow.accepted.append((await response.json())["id"])
                        return
                    flow.rejected[str(response.status)] += 1
            except (aiohttp.ClientError, TimeoutError) as exc:
                flow.rejected[type(exc).__name__] += 1
            await asyncio.sleep(0.2)
        flow.gave_up.append(n)

    started = time.monotonic()
    sends: list[asyncio.Task[None]] = []
    try:
        for n in itertools.count():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), max(0.0, started + n / per_second - time.monotonic()))
            if stop.is_set():
                break
            sends.append(asyncio.create_task(send(n)))
        await asyncio.gather(*sends)
    finally:
        for task in sends:
            task.cancel()


# --- what the receiver got ---


class Delivered:
    """Every delivery the receiver recorded at a path, across its restarts, in the order they
    came; each verified (signature and timestamp) when first seen, within the library's
    5 minute tolerance. A record whose `refused` is set was answered 503: not delivered."""

    def __init__(self, receiver: Receiver, path: str, endpoint: dict[str, Any]) -> None:
        self.receiver = receiver
        self.path = path
        self.webhook = Webhook(endpoint["secret"])
        self.records: list[dict[str, Any]] = []
        # Records the current receiver process holds that are in `records` already.
        self.taken = 0
        # Deliveries that came after this (wall clock) were answered 503.
        self.refused_after: float | None = None

    async def fetch(self) -> list[dict[str, Any]]:
        fresh = await self.receiver.received(self.path)
        for record in fresh[self.taken :]:
            record["payload"] = self.webhook.verify(record["body"].encode(), record["headers"])
            record["refused"] = self.refused_after is not None and record["received_at"] >= self.refused_after
            self.records.append(record)
        self.taken = len(fresh)
        return self.records

    async def stop_receiver(self) -> None:
        """Stops the receiver: it answers 503 from now, what it recorded is read, then it stops
        (its records go with it)."""
        await self.receiver.behave(self.path, status=503)
        self.refused_after = time.time()
        await self.fetch()
        await self.receiver.stop()

    async def start_receiver(self) -> None:
        await self.receiver.start()
        self.taken = 0
        self.refused_after = None

    def delivered_ids(self) -> set[int]:
        return {event_id_of(r) for r in self.records if not r["refused"]}


def event_id_of(record: dict[str, Any]) -> int:
    return int(record["headers"]["webhook-id"].rsplit("_", 1)[1])


# --- what the database holds ---


@dataclass(frozen=True)
class Event:
    id: int
    type: str
    conversation_id: str | None
    data: Any
    created_at: datetime


async def events_after(running: Running, account: SeededAccount, after_id: int) -> dict[int, Event]:
    async with running.engine.connect() as connection:
        rows = await connection.execute(
            text(
                "SELECT id, type, conversation_id, data::text AS data, created_at FROM events "
                "WHERE account_id = :account_id AND id > :after_id ORDER BY id"
            ),
            {"account_id": account.account_id, "after_id": after_id},
        )
        return {
            row.id: Event(
                row.id,
                row.type,
                str(row.conversation_id) if row.conversation_id else None,
                orjson.loads(row.data),
                row.created_at,
            )
            for row in rows
        }


async def scalar(running: Running, sql: str, **params: Any) -> Any:
    async with running.engine.connect() as connection:
        return (await connection.execute(text(sql), params)).scalar_one()


async def sends_settled(running: Running, account: SeededAccount) -> bool:
    """No message of the account waits to be sent any more: no more events come of them."""
    waiting = await scalar(
        running,
        "SELECT count(*) FROM messages WHERE account_id = :a AND status IN ('queued', 'sending')",
        a=account.account_id,
    )
    return bool(waiting == 0)


async def cursor(running: Running, endpoint: dict[str, Any]) -> int:
    return int(
        await scalar(running, "SELECT last_event_id FROM webhook_endpoints WHERE id = :id", id=endpoint["id"])
    )


async def caught_up(
    running: Running, account: SeededAccount, endpoint: dict[str, Any], delivered: Delivered
) -> dict[int, Event] | None:
    """The account's events since the endpoint's creation, once every one was delivered and the
    endpoint's cursor stands on the last."""
    if not await sends_settled(running, account):
        return None
    events = await events_after(running, account, endpoint["last_event_id"])
    await delivered.fetch()
    if not events or set(events) - delivered.delivered_ids():
        return None
    if await cursor(running, endpoint) != max(events):
        return None
    return events


async def wait_caught_up(
    running: Running, account: SeededAccount, endpoint: dict[str, Any], delivered: Delivered
) -> dict[int, Event]:
    deadline = time.monotonic() + CATCH_UP_SECONDS
    while (events := await caught_up(running, account, endpoint, delivered)) is None:
        if time.monotonic() > deadline:
            events = await events_after(running, account, endpoint["last_event_id"])
            missing = sorted(set(events) - delivered.delivered_ids())
            raise AssertionError(
                f"not caught up after {CATCH_UP_SECONDS} s: sends settled="
                f"{await sends_settled(running, account)}, {len(missing)} of {len(events)} events "
                f"not delivered {missing[:20]}, cursor {await cursor(running, endpoint)}"
            )
        await asyncio.sleep(0.5)
    return events


# --- the checks ---


def check_deliveries(
    endpoint: dict[str, Any], events: dict[int, Event], records: list[dict[str, Any]]
) -> dict[str, int]:
    """Every event delivered; each delivery its event's, under its webhook-id; a conversation's
    first deliveries in the log's order; a repeat under a webhook-id seen before, with the same
    body. Returns the counts."""
    prefix = f"msg_{endpoint['id'].replace('-', '')}_"
    first_body: dict[str, str] = {}
    first_order: dict[str | None, list[int]] = {}
    repeats = 0
    for record in records:
        webhook_id = record["headers"]["webhook-id"]
        assert webhook_id.startswith(prefix), webhook_id
        event = events.get(event_id_of(record))
        assert event is not None, f"{webhook_id}: no event of the account after the endpoint's creation"
        payload = record["payload"]
        assert payload["type"] == event.type, (webhook_id, payload["type"], event.type)
        assert payload["data"] == event.data, webhook_id
        assert datetime.fromisoformat(payload["timestamp"]) == event.created_at, webhook_id
        if webhook_id in first_body:
            repeats += 1
            assert record["body"] == first_body[webhook_id], f"{webhook_id} came again with another body"
            continue
        first_body[webhook_id] = record["body"]
        first_order.setdefault(event.conversation_id, []).append(event.id)

    delivered = {event_id_of(r) for r in records if not r["refused"]}
    missing = sorted(set(events) - delivered)
    assert missing == [], f"{len(missing)} of {len(events)} events never delivered: {missing[:20]}"
    out_of_order = {conversation: ids for conversation, ids in first_order.items() if ids != sorted(ids)}
    assert out_of_order == {}, f"first deliveries out of the log's order: {out_of_order}"
    return {
        "events": len(events),
        "records": len(records),
        "refused": sum(r["refused"] for r in records),
        "repeats": repeats,
        "conversations": len(first_order),
    }


async def endpoint_state(
    running: Running, account: SeededAccount, endpoint: dict[str, Any]
) -> dict[str, Any]:
    status, state = await call(running, account, "GET", f"/webhook-endpoints/{endpoint['id']}")
    assert status == 200, state
    return state  # type: ignore[no-any-return]


async def failed_attempts(running: Running, account: SeededAccount, endpoint: dict[str, Any]) -> list[Any]:
    status, page = await call(
        running, account, "GET", f"/webhook-endpoints/{endpoint['id']}/deliveries?status=failed"
    )
    assert status == 200, page
    return page["deliveries"]  # type: ignore[no-any-return]


async def new_account(running: Running, name: str) -> SeededAccount:
    account = await create_account(running.engine, name, conversations=CONVERSATIONS)
    await running.register(account)
    return account


# --- the tests ---


async def test_a_receiver_down_for_30_seconds_gets_every_event_after(
    outage: Running, receiver: Receiver
) -> None:
    running = outage
    account = await new_account(running, "Hooks outage")
    endpoint = await create_endpoint(running, account, receiver.url("/outage"))
    delivered = Delivered(receiver, "/outage", endpoint)
    flow, stop_sending = Flow(), asyncio.Event()
    started = time.monotonic()
    sending = asyncio.create_task(send_steadily(running, account, SENDS_PER_SECOND, flow, stop_sending))
    try:
        # Deliveries flow before the outage.
        await asyncio.sleep(OUTAGE_STARTS_AFTER)
        await until(delivered.fetch, timeout=60)
        before_outage = len(delivered.records)

        await delivered.stop_receiver()
        down_at = time.monotonic()
        # The endpoint fails while the receiver is down, and its backlog grows.
        down = await until(lambda: _failing(running, account, endpoint), timeout=OUTAGE_SECONDS - 5)
        last_id_at_down = await scalar(
            running, "SELECT last_id FROM event_counters WHERE account_id = :a", a=account.account_id
        )
        await asyncio.sleep(max(0.0, down_at + OUTAGE_SECONDS - time.monotonic()))
        down_for = time.monotonic() - down_at
        await delivered.start_receiver()
        await asyncio.sleep(SENDS_AFTER_SECONDS)
        stop_sending.set()
        await sending
    finally:
        sending.cancel()
    assert flow.gave_up == [], f"{len(flow.gave_up)} sends never accepted: {dict(flow.rejected)}"

    events = await wait_caught_up(running, account, endpoint, delivered)
    counts = check_deliveries(endpoint, events, await delivered.fetch())
    after_outage = [e for e in events if e > last_id_at_down]
    state = await endpoint_state(running, account, endpoint)
    failed = await failed_attempts(running, account, endpoint)
    print(
        f"\nreceiver outage: {counts} sent={len(flow.accepted)} before_outage={before_outage} "
        f"failures_while_down={down['failures']} failed_attempts={len(failed)} "
        f"down_for={down_for:.1f}s took={time.monotonic() - started:.1f}s"
    )
    assert after_outage, "no event happened while the receiver was down"
    assert state["enabled"] is True and state["failures"] == 0 and state["failing_since"] is None
    assert state["last_event_id"] == max(events)
    # The attempts while it was down: refused connections (or a 503 just before the stop).
    assert failed, "no failed attempt listed"
    assert all(a["http_status"] in (None, 503) and a["succeeded"] is False for a in failed), failed[:3]


async def _failing(
    running: Running, account: SeededAccount, endpoint: dict[str, Any]
) -> dict[str, Any] | None:
    state = await endpoint_state(running, account, endpoint)
    return state if state["failures"] >= 2 and state["enabled"] else None


async def test_a_killed_worker_loses_no_event(outage: Running, receiver: Receiver) -> None:
    running = outage
    account = await new_account(running, "Hooks crash")
    # A slow receiver: deliveries are in flight whenever the worker is killed.
    await receiver.behave("/crash", delay_ms=RECEIVER_DELAY_MS)
    endpoint = await create_endpoint(running, account, receiver.url("/crash"))
    delivered = Delivered(receiver, "/crash", endpoint)
    flow, stop_sending = Flow(), asyncio.Event()
    started = time.monotonic()
    sending = asyncio.create_task(send_steadily(running, account, CRASH_SENDS_PER_SECOND, flow, stop_sending))
    conversations = running.stack.service("conversations")
    try:
        # Killed once deliveries went on for a while, with one in flight.
        await until(lambda: _under_way(delivered), timeout=60)
        cursor_at_kill = await cursor(running, endpoint)
        conversations.signal(signal.SIGKILL)
        assert conversations.process is not None
        assert await asyncio.to_thread(conversations.process.wait, 10) == -signal.SIGKILL
        await delivered.fetch()
        records_at_kill = len(delivered.records)
        await asyncio.sleep(1.0)
        await asyncio.to_thread(ServiceProcess.start, conversations)
        await asyncio.sleep(SENDS_AFTER_SECONDS)
        stop_sending.set()
        await sending
    finally:
        sending.cancel()
    assert flow.gave_up == [], f"{len(flow.gave_up)} sends never accepted: {dict(flow.rejected)}"

    events = await wait_caught_up(running, account, endpoint, delivered)
    records = await delivered.fetch()
    counts = check_deliveries(endpoint, events, records)
    # What the worker delivered but had not yet recorded comes again after the restart.
    before_kill = {r["headers"]["webhook-id"] for r in records[:records_at_kill]}
    again_after_kill = sum(r["headers"]["webhook-id"] in before_kill for r in records[records_at_kill:])
    print(
        f"\nworker killed: {counts} sent={len(flow.accepted)} rejected_while_down={dict(flow.rejected)} "
        f"cursor_at_kill={cursor_at_kill} records_at_kill={records_at_kill} "
        f"again_after_kill={again_after_kill} took={time.monotonic() - started:.1f}s"
    )
    assert max(events) > cursor_at_kill, "every event was delivered before the kill"
    assert conversations.process is not None and conversations.process.poll() is None


async def _under_way(delivered: Delivered) -> bool:
    """Deliveries went on for a while, and the receiver holds one now (it answers after
    RECEIVER_DELAY_MS)."""
    started = time.time()
    records = await delivered.fetch()
    return len(records) >= 60 and records[-1]["received_at"] > started - RECEIVER_DELAY_MS / 1000 * 0.8


async def backlog(
    running: Running, receiver: Receiver, path: str
) -> tuple[SeededAccount, dict[str, Any], Delivered, Flow]:
    """A fresh account's endpoint at a slow receiver with a backlog of about 600 events (some
    30 s of deliveries at its pace), its deliveries under way."""
    account = await new_account(running, f"Hooks {path}")
    await receiver.behave(f"/{path}", delay_ms=RECEIVER_DELAY_MS)
    endpoint = await create_endpoint(running, account, receiver.url(f"/{path}"))
    delivered = Delivered(receiver, f"/{path}", endpoint)
    flow, stop_sending = Flow(), asyncio.Event()
    sending = asyncio.create_task(
        send_steadily(running, account, BACKLOG_SENDS_PER_SECOND, flow, stop_sending)
    )
    await asyncio.sleep(BACKLOG_SENDS / BACKLOG_SENDS_PER_SECOND)
    stop_sending.set()
    await sending
    assert flow.gave_up == [], f"{len(flow.gave_up)} sends never accepted: {dict(flow.rejected)}"
    await until(lambda: _under_way(delivered), timeout=60)
    return account, endpoint, delivered, flow


async def test_a_stopped_worker_lets_its_endpoint_go_at_once(outage: Running, receiver: Receiver) -> None:
    """SIGTERM while an endpoint has a backlog longer than the grace period: no attempt starts,
    those in flight end and are recorded, and the endpoint is released for the next replica to
    take at once; nothing is delivered twice."""
    running = outage
    account, endpoint, delivered, flow = await backlog(running, receiver, "stop")
    conversations = running.stack.service("conversations")
    conversations.signal(signal.SIGTERM)
    assert conversations.process is not None
    assert await asyncio.to_thread(conversations.process.wait, 30) == 0
    owner = await scalar(
        running, "SELECT lease_owner FROM webhook_endpoints WHERE id = :id", id=endpoint["id"]
    )
    assert owner is None, "the stopped worker kept its endpoint's lease"
    await asyncio.to_thread(ServiceProcess.start, conversations)

    events = await wait_caught_up(running, account, endpoint, delivered)
    counts = check_deliveries(endpoint, events, await delivered.fetch())
    print(f"\nworker stopped: {counts} sent={len(flow.accepted)}")
    assert counts["repeats"] == 0, counts


async def test_a_deleted_endpoint_gets_no_attempt_started_after_the_delete(
    outage: Running, receiver: Receiver
) -> None:
    """A DELETE while its endpoint has a backlog: the run learns of it at once (a notification)
    and starts no attempt; only those already in flight may still arrive."""
    running = outage
    account, endpoint, delivered, _ = await backlog(running, receiver, "deleted")

    status, _ = await call(running, account, "DELETE", f"/webhook-endpoints/{endpoint['id']}")
    assert status == 204
    deleted_at = time.time()
    await asyncio.sleep(3 * RECEIVER_DELAY_MS / 1000 + 1)
    records = await delivered.fetch()
    after = [r for r in records if r["received_at"] > deleted_at]
    # At most what was in flight (8 requests per endpoint); the backlog was hundreds of events.
    assert len(after) <= 8, len(after)
    assert len(records) < BACKLOG_SENDS, len(records)
