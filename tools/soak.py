"""`make soak`: pigeon under mixed traffic and chaos for SOAK_SECONDS (600), then its invariants.

Everything runs on this machine, on loopback: an embedded PostgreSQL of its own (restartable),
the simulator, two replicas each of gateway, conversations and sender, and a webhook receiver.

Traffic, all the while: careful clients sending (sync and async by turns, each message under its
own Idempotency-Key, posted again after an error until answered), customers writing (inbound
messages through the simulator, which also sends every send's status webhooks), a WebSocket
client per account that resumes with `since` whenever it is cut off, and an outbound webhook
endpoint per account. Chaos: every 30-60 s a SIGKILL of one replica (gateway, conversations and
sender by turns), restarted at once; one PostgreSQL restart; one 30 s WhatsApp outage (the
simulator answering 131016, a retryable error, to every send).

Then, once everything has settled, it checks and prints:
- every accepted message (200 or 202) sent, by the simulator's record counted by pigeon's id
  (`biz_opaque_callback_data`), exactly once; a second copy counts only inside a documented crash
  window (a SIGKILL of conversations or a sender, or the PostgreSQL restart, between the first
  copy and the second: docs/architecture.md, "The duplicate window"), and each is listed;
- every signed webhook the simulator sent answered 200 in the end, and applied;
- no event missing from a WebSocket client that resumed with `since`, nor from a receiver;
- every service's RSS at start and end.
It exits 1 when an invariant breaks. `python -m tools.soak --help` for the settings.
"""

import argparse
import asyncio
import contextlib
import itertools
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import orjson
from sqlalchemy.ext.asyncio import create_async_engine

from services.conversations.migrate import sqlalchemy_url
from services.conversations.settings import database_dsn
from services.shared.secrets_at_rest import new_key, parse_keys
from tools.seed import SeededAccount, create_account
from tools.stack import (
    DATA_DIR,
    ROOT,
    RestartablePostgres,
    ServiceProcess,
    Stack,
    ensure_database,
    free_port,
    migrate,
    phone_numbers_in,
    wait_for_port,
)

TEMPLATE = {"type": "template", "template": {"name": "hello_world", "language": {"code": "en_US"}}}
# A message is given up on (and the invariant broken) after this long unanswered.
GIVE_UP_SECONDS = 120.0
CLIENT_TIMEOUT = aiohttp.ClientTimeout(total=20)
# Retries of the simulator's webhooks: 0.2 s doubling, about 100 s in all, past any restart here.
SIM_WEBHOOK_RETRIES = "9"
# Shorter than the default 60 s, so that a killed replica's claims go back within the run.
LEASE_SECONDS = "20"
SETTLE_SECONDS = 240.0


@dataclass
class Chaos:
    """What was done to the stack, and when (wall clock)."""

    events: list[tuple[float, str]] = field(default_factory=list)

    def note(self, what: str) -> None:
        self.events.append((time.time(), what))
        print(f"  {time.strftime('%H:%M:%S')} {what}", flush=True)


@dataclass
class Traffic:
    accepted: dict[str, str] = field(default_factory=dict)  # message id -> "sync" or "async"
    answers: Counter[str] = field(default_factory=Counter)
    gave_up: int = 0
    inbound: int = 0
    inbound_failed: int = 0
    # Per account: the event ids its WebSocket client got, and how many times it resumed.
    socket_ids: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    resumes: Counter[str] = field(default_factory=Counter)


def rss_kib(pid: int) -> int:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def rss_of(stack: Stack) -> dict[str, int]:
    return {s.name: rss_kib(s.process.pid) for s in stack.services if s.process is not None}


def auth(account: SeededAccount) -> dict[str, str]:
    return {"Authorization": f"Bearer {account.api_key}"}


async def send_one(
    http: aiohttp.ClientSession,
    stack: Stack,
    account: SeededAccount,
    n: int,
    traffic: Traffic,
    stop_at: float,
) -> None:
    """One logical message, posted (to either gateway) until answered other than 5xx or 429."""
    route = "send" if n % 2 else "send-async"
    body = (
        {"to": f"1555{n % 9000000:07d}", **TEMPLATE}
        if n % 3 == 0
        else {
            "conversation_id": account.conversation_ids[n % len(account.conversation_ids)],
            "type": "text",
            "text": {"body": f"soak {n}"},
        }
    )
    headers = {**auth(account), "Idempotency-Key": f"soak-{account.account_id}-{n}"}
    deadline = max(stop_at, time.monotonic()) + GIVE_UP_SECONDS
    while time.monotonic() < deadline:
        url = random.choice(stack.gateway_urls) + f"/messages/{route}"
        try:
            async with http.post(url, data=orjson.dumps(body), headers=headers) as response:
                answer = await response.json(content_type=None)
                status = response.status
        except (aiohttp.ClientError, TimeoutError, ValueError):
            traffic.answers["connection_error"] += 1
            await asyncio.sleep(0.5)
            continue
        traffic.answers[str(status)] += 1
        if status in (200, 202):
            traffic.accepted[answer["id"]] = "sync" if route == "send" else "async"
            return
        if status >= 500 or status == 429:
            code = (answer.get("error") or {}).get("code", "")
            if status == 502 and code.startswith("whatsapp"):
                return  # WhatsApp's own answer to a sync send (the outage): stored failed, not accepted
            await asyncio.sleep(0.5)
            continue
        return  # another 4xx: refused, nothing accepted
    traffic.gave_up += 1


async def senders(
    http: aiohttp.ClientSession,
    stack: Stack,
    accounts: list[SeededAccount],
    rate: float,
    traffic: Traffic,
    stop_at: float,
) -> None:
    tasks: set[asyncio.Task[None]] = set()
    for n in itertools.count(1):
        if time.monotonic() >= stop_at:
            break
        task = asyncio.create_task(send_one(http, stack, accounts[n % len(accounts)], n, traffic, stop_at))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        await asyncio.sleep(1 / rate)
    await asyncio.gather(*tasks)


async def customers(
    http: aiohttp.ClientSession, stack: Stack, accounts: list[SeededAccount], traffic: Traffic, stop_at: float
) -> None:
    """A customer of each account writes every second or so (the simulator's signed webhook)."""
    for n in itertools.count(1):
        if time.monotonic() >= stop_at:
            return
        account = accounts[n % len(accounts)]
        body = {
            "phone_number_id": account.phone_number_id,
            "from": account.contact_wa_ids[n % len(account.contact_wa_ids)],
            "message": {"type": "text", "text": {"body": f"customer {n}"}},
        }
        try:
            async with http.post(f"{stack.simulator_url}/_sim/inbound", json=body) as response:
                traffic.inbound += 1 if response.status == 200 else 0
        except (aiohttp.ClientError, TimeoutError):
            traffic.inbound_failed += 1
        await asyncio.sleep(1.0)


async def socket_client(
    http: aiohttp.ClientSession, stack: Stack, account: SeededAccount, traffic: Traffic, done: asyncio.Event
) -> None:
    """Reads the account's events, resuming with `since` (the last id it got) whenever cut off."""
    seen = traffic.socket_ids[account.account_id]
    since = 0
    while not done.is_set():
        url = random.choice(stack.gateway_urls).replace("http", "ws") + f"/ws?since={since}"
        try:
            async with http.ws_connect(url, headers=auth(account), heartbeat=10) as socket:
                async for frame in socket:
                    if frame.type != aiohttp.WSMsgType.TEXT:
                        break
                    event = orjson.loads(frame.data)
                    if "id" in event:
                        seen.add(int(event["id"]))
                        since = max(since, int(event["id"]))
                    if done.is_set():
                        return
        except (aiohttp.ClientError, TimeoutError):
            pass
        traffic.resumes[account.account_id] += 1
        await asyncio.sleep(0.5)


async def chaos(
    stack: Stack, postgres: RestartablePostgres, http: aiohttp.ClientSession, seconds: float, record: Chaos
) -> None:
    """A replica killed every 30-60 s (by turns), the PostgreSQL restart at 40 % of the run and the
    WhatsApp outage at 60 %."""
    started = time.monotonic()
    kinds = itertools.cycle(["conversations", "sender", "gateway"])
    restart_at, outage_at = started + 0.4 * seconds, started + 0.6 * seconds
    next_kill = started + random.uniform(30, 60)
    did_restart = did_outage = False
    while time.monotonic() - started < seconds:
        now = time.monotonic()
        if not did_restart and now >= restart_at:
            did_restart = True
            record.note("PostgreSQL stopped")
            await asyncio.to_thread(postgres.stop)
            await asyncio.sleep(3)
            await asyncio.to_thread(postgres.start)
            record.note("PostgreSQL started")
        elif not did_outage and now >= outage_at:
            did_outage = True
            await sim_config(http, stack, {"error_rate": 1.0, "error_code": 131016})
            record.note("WhatsApp outage began")
            await asyncio.sleep(30)
            await sim_config(http, stack, {"error_rate": 0.0})
            record.note("WhatsApp outage ended")
        elif now >= next_kill:
            replica = random.choice(stack.replicas_of(next(kinds)))
            await kill_and_restart(replica, record)
            next_kill = time.monotonic() + random.uniform(30, 60)
        else:
            await asyncio.sleep(0.5)


async def kill_and_restart(replica: ServiceProcess, record: Chaos) -> None:
    assert replica.process is not None
    replica.signal(signal.SIGKILL)
    await asyncio.to_thread(replica.process.wait)
    record.note(f"SIGKILL {replica.name}")
    await asyncio.to_thread(replica.start)
    record.note(f"restarted {replica.name}")


async def sim_config(http: aiohttp.ClientSession, stack: Stack, changes: dict[str, Any]) -> None:
    async with http.patch(f"{stack.simulator_url}/_sim/config", json=changes) as response:
        assert response.status == 200, await response.text()


async def register_endpoints(
    http: aiohttp.ClientSession, stack: Stack, accounts: list[SeededAccount], receiver_url: str
) -> None:
    for account in accounts:
        body = {"url": f"{receiver_url}/hook-{account.account_id}", "events": ["*"]}
        async with http.post(
            f"{stack.gateway_url}/webhook-endpoints", json=body, headers=auth(account)
        ) as response:
            assert response.status == 201, await response.text()


# --- the checks ---------------------------------------------------------------------------------


async def settle(database: str, traffic: Traffic) -> None:
    """Waits until no accepted message is queued or sending, and no webhook is unapplied."""
    deadline = time.monotonic() + SETTLE_SECONDS
    connection = await asyncpg.connect(database_dsn(database))
    try:
        while time.monotonic() < deadline:
            busy = await connection.fetchval(
                "SELECT count(*) FROM messages"
                " WHERE id = ANY($1::uuid[]) AND status IN ('queued', 'sending')",
                list(traffic.accepted),
            )
            unapplied = await connection.fetchval(
                "SELECT count(*) FROM webhook_notifications WHERE state NOT IN ('applied', 'malformed')"
            )
            behind = await connection.fetchval(
                "SELECT count(*) FROM webhook_endpoints e WHERE e.enabled AND e.last_event_id < "
                "(SELECT coalesce(max(last_id), 0) FROM event_counters c WHERE c.account_id = e.account_id)"
            )
            if busy == unapplied == behind == 0:
                return
            await asyncio.sleep(2)
    finally:
        await connection.close()


async def copies_sent(http: aiohttp.ClientSession, stack: Stack) -> dict[str, list[float]]:
    """pigeon's message id -> when the simulator accepted each copy of it."""
    async with http.get(f"{stack.simulator_url}/_sim/requests") as response:
        records = (await response.json())["requests"]
    copies: dict[str, list[float]] = defaultdict(list)
    for record in records:
        body = record["body"]
        if record["status"] == 200 and isinstance(body, dict) and body.get("biz_opaque_callback_data"):
            copies[body["biz_opaque_callback_data"]].append(record["received_at"])
    return copies


def in_crash_window(first: float, second: float, chaos: Chaos) -> str | None:
    """The crash that explains a second copy, if one happened between the two copies."""
    for at, what in chaos.events:
        crashed = what.startswith(("SIGKILL conversations", "SIGKILL sender", "PostgreSQL stopped"))
        if crashed and first - 1.0 <= at <= second:
            return what
    return None


async def check(
    http: aiohttp.ClientSession,
    stack: Stack,
    database: str,
    accounts: list[SeededAccount],
    traffic: Traffic,
    chaos: Chaos,
    receiver_url: str,
) -> tuple[dict[str, Any], list[str]]:
    broken: list[str] = []
    copies = await copies_sent(http, stack)
    connection = await asyncpg.connect(database_dsn(database))
    try:
        statuses = dict(
            await connection.fetch(
                "SELECT id::text, status FROM messages WHERE id = ANY($1::uuid[])", list(traffic.accepted)
            )
        )
        events = {
            a.account_id: set(
                await connection.fetchval(
                    "SELECT coalesce(array_agg(id), '{}') FROM events WHERE account_id = $1", a.account_id
                )
            )
            for a in accounts
        }
        unapplied = await connection.fetchval(
            "SELECT count(*) FROM webhook_notifications WHERE state NOT IN ('applied', 'malformed')"
        )
    finally:
        await connection.close()

    lost = [m for m in traffic.accepted if not copies.get(m)]
    failed_after = [m for m in lost if statuses.get(m) == "failed"]
    explained: list[tuple[str, float, str | None]] = []
    unexplained: list[tuple[str, float, str | None]] = []
    for message_id in traffic.accepted:
        times = sorted(copies.get(message_id, []))
        for first, second in itertools.pairwise(times):
            crash = in_crash_window(first, second, chaos)
            (explained if crash else unexplained).append((message_id, round(second - first, 2), crash))
    if lost:
        broken.append(f"{len(lost)} accepted messages never sent ({len(failed_after)} of them ended failed)")
    if unexplained:
        broken.append(f"{len(unexplained)} second copies outside any crash window: {unexplained[:5]}")
    if traffic.gave_up:
        broken.append(
            f"{traffic.gave_up} messages never answered other than 5xx within {GIVE_UP_SECONDS:g} s"
        )

    async with http.get(f"{stack.simulator_url}/_sim/webhooks") as response:
        webhook_records = (await response.json())["webhooks"]
    last_answer: dict[bytes, int | None] = {}
    for record in webhook_records:
        last_answer[orjson.dumps(record["body"])] = record["status"]
    webhooks_failed = sum(1 for status in last_answer.values() if status != 200)
    if webhooks_failed:
        broken.append(f"{webhooks_failed} signed webhooks never answered 200")
    if unapplied:
        broken.append(f"{unapplied} webhook notifications stored but not applied")

    async with http.get(f"{receiver_url}/_received") as response:
        received = (await response.json())["received"]
    delivered: dict[str, set[int]] = defaultdict(set)
    for item in received:
        event = orjson.loads(item["body"])
        account_id = item["path"].removeprefix("/hook-")
        webhook_id = item["headers"].get("webhook-id", "")
        if event.get("type") != "ping":
            delivered[account_id].add(int(webhook_id.rsplit("_", 1)[-1]))
    for account in accounts:
        missing_socket = events[account.account_id] - traffic.socket_ids[account.account_id]
        missing_hook = events[account.account_id] - delivered[account.account_id]
        if missing_socket:
            broken.append(f"{account.name}: {len(missing_socket)} events missing from its WebSocket client")
        if missing_hook:
            broken.append(f"{account.name}: {len(missing_hook)} events missing from its webhook receiver")

    report = {
        "accepted": len(traffic.accepted),
        "accepted_sync": sum(1 for v in traffic.accepted.values() if v == "sync"),
        "answers": dict(traffic.answers),
        "sent_once": sum(1 for m in traffic.accepted if len(copies.get(m, [])) == 1),
        "second_copies_in_crash_windows": explained,
        "second_copies_unexplained": unexplained,
        "never_sent": len(lost),
        "inbound_messages": traffic.inbound,
        "signed_webhooks": len(last_answer),
        "signed_webhooks_not_answered_200": webhooks_failed,
        "events": {a.name: len(events[a.account_id]) for a in accounts},
        "socket_resumes": {a.name: traffic.resumes[a.account_id] for a in accounts},
        "chaos": [(time.strftime("%H:%M:%S", time.localtime(at)), what) for at, what in chaos.events],
    }
    return report, broken


# --- the run ------------------------------------------------------------------------------------


async def soak(seconds: float, rate: float) -> int:
    data_dir = DATA_DIR / "pg-soak"
    shutil.rmtree(data_dir, ignore_errors=True)
    postgres = RestartablePostgres(data_dir)
    log_dir = DATA_DIR / "soak-logs"
    shutil.rmtree(log_dir, ignore_errors=True)
    log_dir.mkdir(parents=True)
    receiver_port = free_port()
    receiver = subprocess.Popen(  # noqa: ASYNC220 - started once, before anything runs
        [sys.executable, "-m", "tools.webhook_receiver", "--port", str(receiver_port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    stack: Stack | None = None
    try:
        wait_for_port(receiver_port, receiver)
        server = await asyncio.to_thread(postgres.start)
        database = await ensure_database(server, "pigeon_soak", fresh=True)
        await migrate(database)
        keys = f"soak1:{new_key()}"
        engine = create_async_engine(sqlalchemy_url(database))
        accounts = [
            await create_account(engine, f"Soak {i}", conversations=4, secrets_box=parse_keys(keys))
            for i in (1, 2)
        ]
        await engine.dispose()
        stack = Stack(
            database,
            log_dir=log_dir,
            secrets_keys=keys,
            replicas={"gateway": 2, "conversations": 2, "sender": 2},
            extra_env={
                "LEASE_SECONDS": LEASE_SECONDS,
                "SYNC_LEASE_SECONDS": LEASE_SECONDS,
                "OUTBOUND_WEBHOOK_ALLOW_INSECURE_URLS": "true",
                "AUTH_CACHE_TTL_SECONDS": "5",
            },
            sim_env={"SIM_LATENCY": "20-60", "SIM_WEBHOOK_RETRIES": SIM_WEBHOOK_RETRIES},
        )
        await asyncio.to_thread(stack.start, await phone_numbers_in(database, parse_keys(keys)))
        receiver_url = f"http://127.0.0.1:{receiver_port}"
        rss_start = rss_of(stack)
        traffic, record, done = Traffic(), Chaos(), asyncio.Event()
        print(f"soak: {seconds:g} s, {rate:g} sends/s, logs in {log_dir}", flush=True)
        async with aiohttp.ClientSession(timeout=CLIENT_TIMEOUT) as http:
            await register_endpoints(http, stack, accounts, receiver_url)
            stop_at = time.monotonic() + seconds
            sockets = [asyncio.create_task(socket_client(http, stack, a, traffic, done)) for a in accounts]
            await asyncio.gather(
                senders(http, stack, accounts, rate, traffic, stop_at),
                customers(http, stack, accounts, traffic, stop_at),
                chaos(stack, postgres, http, seconds, record),
            )
            print("soak: traffic stopped; settling", flush=True)
            await settle(database, traffic)
            await asyncio.sleep(5)  # the WebSocket clients' last frames
            done.set()
            for task in sockets:
                task.cancel()
            await asyncio.gather(*sockets, return_exceptions=True)
            report, broken = await check(http, stack, database, accounts, traffic, record, receiver_url)
        report["rss_kib_start"], report["rss_kib_end"] = rss_start, rss_of(stack)
        print(orjson.dumps(report, option=orjson.OPT_INDENT_2).decode())
        for line in broken:
            print(f"BROKEN: {line}")
        print("soak: every invariant held" if not broken else f"soak: {len(broken)} invariants broken")
        return 1 if broken else 0
    finally:
        if stack is not None:
            await asyncio.to_thread(stack.stop)
        receiver.terminate()
        receiver.wait()
        await asyncio.to_thread(postgres.close)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=float(os.environ.get("SOAK_SECONDS", "600")))
    parser.add_argument(
        "--rate", type=float, default=float(os.environ.get("SOAK_RATE", "10")), help="sends per second"
    )
    args = parser.parse_args()
    return asyncio.run(soak(args.seconds, args.rate))


if __name__ == "__main__":
    sys.exit(main())
