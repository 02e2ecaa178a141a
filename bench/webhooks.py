"""Benchmark of the return path, WhatsApp's webhooks: `python -m bench.webhooks`.

Three parts, each a ratio measured in one run on the same machine:

- `ingest`: signed notifications POSTed to `/webhooks/whatsapp` by closed-loop clients (1, 16,
  64, 256): statuses for messages pigeon sent, inbound messages with fresh ids, and Meta-style
  batches of several changes, each a real change. Reports notifications/s, answer latency,
  the lag from received to applied (the database's own `received_at` and `applied_at`) and
  the CPU each process spent per notification. In the same run, the sync send peak (simulated
  latency 500 ms, 512 clients) that ingestion is compared with.
- `forged`: signed traffic at 16 clients alone, then next to a flood of forged requests at 64
  clients from another address (127.0.0.2): wrong signatures, no signature, large bodies.
- `mixed`: `make run`'s defaults (two numbers at 80 messages/s, simulated latency 500-800 ms,
  gRPC over Unix sockets) with sync and async sends at the accounts' full paced rate, the
  simulator's status webhooks on (sent, delivered, read per message) and inbound replies;
  then the same sends with the simulator's webhooks off, alternated. Reports sends/s, sync
  overhead, the simulator's webhook answers and timeouts, the lag, and how long after the
  simulator's last status every message is `read`.

The load generator (`bench/http_load.py`) writes requests built and signed before the
measured phase, so it costs little CPU; its own CPU is reported as `bench`.
Results: tables on stdout, JSON in .pigeon/bench-results/webhooks-<timestamp>.json.
"""

import argparse
import asyncio
import itertools
import os
import random
import secrets
import shlex
import shutil
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg
import orjson
import uvloop
from sqlalchemy.ext.asyncio import create_async_engine

from bench.common import (
    LOG_DIR,
    RESULTS_DIR,
    CpuMeter,
    distribution_ms,
    embedded_postmaster_pid,
    fresh_database,
    git_revision,
    machine,
    python_speed_seconds,
    unix_socket_folder,
)
from bench.http_load import Answer, ClosedLoop, OpenLoop, RawRequest, raw_request
from bench.sync_send import parse_server_timing
from services.conversations.settings import async_database_url
from tools.seed import SeededAccount, create_account
from tools.stack import Stack
from tools.whatsapp_sim.webhooks import Business, StatusPlan, inbound_value, notification, sign, status_object

INGEST_DATABASE = "pigeon_bench_webhooks"
MIXED_DATABASE = "pigeon_bench_mixed"
# High enough that neither pigeon's pacing nor the simulator's limit shapes the ingest stack's sends.
BENCH_MPS = 100_000
MESSAGE_TEXT = "Your order #4711 has shipped and will arrive tomorrow."
REPLY_TEXT = "Thanks! Can I change the delivery address?"
WEBHOOK_PATH = "/webhooks/whatsapp"
# make run's pacing margin: a number's slots are (1 s + margin) / messages_per_second apart.
PACING_MARGIN_SECONDS = 0.3


# --- notifications, built and signed in advance ------------------------------------------------


@dataclass
class BenchAccount:
    seeded: SeededAccount
    business: Business
    # Outbound messages waiting for statuses: (message id, wamid, recipient).
    messages: list[tuple[str, str, str]] = field(default_factory=list)


def bench_account(seeded: SeededAccount) -> BenchAccount:
    business = Business(
        seeded.phone_number_id,
        seeded.display_phone_number,
        f"waba-{seeded.phone_number_id}",
        seeded.app_secret,
    )
    return BenchAccount(seeded, business)


def status_value(account: BenchAccount, message: tuple[str, str, str], status: str) -> dict[str, Any]:
    message_id, wamid, recipient = message
    plan = StatusPlan(account.business, "", wamid, recipient, message_id, (), 1)
    return status_object(plan, status, int(time.time()))


def inbound_message(account: BenchAccount) -> dict[str, Any]:
    contact = random.choice(account.seeded.contact_wa_ids)
    message = {
        "from": contact,
        "id": "wamid.in" + secrets.token_hex(12),
        "timestamp": str(int(time.time())),
        "type": "text",
        "text": {"body": REPLY_TEXT},
    }
    return inbound_value(contact, "Bench Customer", [message])


def batch_body(account: BenchAccount, values: list[dict[str, Any]]) -> bytes:
    """Several changes in one notification, as Meta batches them."""
    envelope = notification(account.business, values[0])
    entry = envelope["entry"][0]
    for value in values[1:]:
        entry["changes"].append(notification(account.business, value)["entry"][0]["changes"][0])
    return orjson.dumps(envelope)


def signed_request(host: str, account: BenchAccount, body: bytes, signature: str | None = None) -> RawRequest:
    headers = {"Content-Type": "application/json", "User-Agent": "facebookexternalua"}
    signature = sign(body, account.business.app_secret) if signature is None else signature
    if signature:
        headers["X-Hub-Signature-256"] = signature
    return raw_request("POST", WEBHOOK_PATH, host, headers, body)


@dataclass
class Stream:
    requests: list[RawRequest]
    kinds: Counter[str]
    changes: int


def notification_stream(host: str, accounts: list[BenchAccount], count: int) -> Stream:
    """`count` signed notifications, accounts taking turns: of every 20, 14 single statuses,
    4 inbound messages and 2 batches of 4 statuses in 2 changes. Each message gets delivered
    and, about 200 notifications later, read: every status is a real change."""
    requests: list[RawRequest] = []
    kinds: Counter[str] = Counter()
    changes = 0
    waiting_read: list[list[tuple[str, str, str]]] = [[] for _ in accounts]
    for index in range(count):
        slot = index % len(accounts)
        account = accounts[slot]
        kind = (
            "batch",
            "inbound",
            "status",
            "status",
            "inbound",
            "status",
            "status",
            "status",
            "status",
            "status",
        )[index // len(accounts) % 10]
        if kind == "inbound":
            body = orjson.dumps(notification(account.business, inbound_message(account)))
            changes += 1
        elif kind == "status":
            reads = waiting_read[slot]
            if len(reads) > 200 // len(accounts) or not account.messages:
                message, status = reads.pop(0), "read"
            else:
                message, status = account.messages.pop(), "delivered"
                reads.append(message)
            body = orjson.dumps(
                notification(account.business, {"statuses": [status_value(account, message, status)]})
            )
            changes += 1
        else:
            values = []
            for _ in range(2):
                pair = [account.messages.pop(), account.messages.pop()]
                values.append({"statuses": [status_value(account, m, "delivered") for m in pair]})
            body = batch_body(account, values)
            changes += 4
        kinds[kind] += 1
        requests.append(signed_request(host, account, body))
    return Stream(requests, kinds, changes)


def forged_stream(host: str, accounts: list[BenchAccount], count: int) -> list[RawRequest]:
    """Requests that look like Meta's but are not signed by it: of every 10, 7 with a wrong
    signature, 1 without one and 2 with a 512 KiB body and a wrong signature."""
    requests = []
    big = b'{"object": "whatsapp_business_account", "entry": [], "pad": "' + b"x" * (512 * 1024) + b'"}'
    for index in range(count):
        account = accounts[index % len(accounts)]
        body = orjson.dumps(notification(account.business, inbound_message(account)))
        wrong = "sha256=" + secrets.token_hex(32)
        kind = index % 10
        if kind < 7:
            requests.append(signed_request(host, account, body, wrong))
        elif kind == 7:
            requests.append(signed_request(host, account, body, ""))
        else:
            requests.append(signed_request(host, account, big, wrong))
    return requests


# --- setup -------------------------------------------------------------------------------------


async def seed_accounts(url: str, count: int, conversations: int, mps: int) -> list[BenchAccount]:
    engine = create_async_engine(async_database_url(url))
    try:
        return [
            bench_account(
                await create_account(
                    engine, f"Bench {i + 1}", conversations=conversations, messages_per_second=mps
                )
            )
            for i in range(count)
        ]
    finally:
        await engine.dispose()


_CREATE_SENT_MESSAGES = """
WITH conversation AS (
    SELECT c.id, k.wa_id, row_number() OVER (ORDER BY c.id) - 1 AS n, count(*) OVER () AS total
    FROM conversations c JOIN contacts k ON k.id = c.contact_id
    WHERE c.account_id = $1
)
INSERT INTO messages (account_id, conversation_id, direction, contact_wa_id, type, body, status,
                      wa_message_id, sent_at)
SELECT $1, conversation.id, 'outbound', conversation.wa_id, 'text', $3::jsonb, 'sent',
       'wamid.bench' || md5(random()::text || g::text), now()
FROM generate_series(0, $2 - 1) AS g JOIN conversation ON conversation.n = g % conversation.total
RETURNING id::text, wa_message_id, contact_wa_id
"""


async def create_sent_messages(url: str, accounts: list[BenchAccount], per_account: int) -> None:
    """Outbound messages as a sync send leaves them (`sent`, with a wamid), for statuses to move."""
    connection = await asyncpg.connect(dsn(url))
    try:
        for account in accounts:
            rows = await connection.fetch(
                _CREATE_SENT_MESSAGES,
                account.seeded.account_id,
                per_account,
                orjson.dumps({"body": MESSAGE_TEXT}).decode(),
            )
            account.messages.extend((row[0], row[1], row[2]) for row in rows)
    finally:
        await connection.close()


def dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def wait_until_applied(url: str, limit_seconds: float) -> int:
    """Waits until no notification is left `received`; answers how many still are."""
    connection = await asyncpg.connect(dsn(url))
    try:
        deadline = time.monotonic() + limit_seconds
        while True:
            left = int(
                await connection.fetchval(
                    "SELECT count(*) FROM webhook_notifications WHERE state = 'received'"
                )
            )
            if left == 0 or time.monotonic() >= deadline:
                return left
            await asyncio.sleep(0.05)
    finally:
        await connection.close()


_LAG = """
SELECT count(*),
       count(*) FILTER (WHERE state = 'received'),
       percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM applied_at - received_at)),
       percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM applied_at - received_at)),
       max(extract(epoch FROM applied_at - received_at)),
       coalesce(sum((outcome->>'statuses_applied')::int), 0),
       coalesce(sum((outcome->>'messages_stored')::int), 0),
       (SELECT count(*) FROM webhook_notifications
        WHERE applied_at >= to_timestamp($1) AND applied_at < to_timestamp($2))
FROM webhook_notifications
WHERE received_at >= to_timestamp($1) AND received_at < to_timestamp($2)
"""


async def lag_between(url: str, wall_from: float, wall_to: float) -> dict[str, Any]:
    connection = await asyncpg.connect(dsn(url))
    try:
        row = await connection.fetchrow(_LAG, wall_from, wall_to)
    finally:
        await connection.close()
    total, unapplied, p50, p99, most, statuses, inbound, applied_meanwhile = row

    def ms(value: Any) -> float | None:
        return None if value is None else round(float(value) * 1000.0, 2)

    return {
        "stored": total,
        "unapplied": unapplied,
        "lag_ms": {"p50": ms(p50), "p99": ms(p99), "max": ms(most)},
        "statuses_applied": statuses,
        "messages_stored": inbound,
        # Applied while the window lasted, whenever received: with `per_second`, whether
        # applying kept up with receiving.
        "applied_per_second": round(applied_meanwhile / (wall_to - wall_from), 1),
    }


# --- measuring ---------------------------------------------------------------------------------


def latency_ms(answers: Sequence[Answer], ok: range = range(200, 300)) -> dict[str, float | None]:
    return distribution_ms(a.ended - a.started for a in answers if a.status in ok)


def statuses_of(answers: Sequence[Answer]) -> dict[str, int]:
    return dict(Counter(str(a.status) for a in answers))


async def closed_loop_phase(
    load: ClosedLoop, cpu: CpuMeter | None, warmup: float, duration: float
) -> tuple[float, float, float, dict[str, float]]:
    """Warm-up, then the measured window (cut short if the requests run out). Answers
    (window seconds, wall time at its start and end, CPU cores per process)."""
    await load.start()
    began = time.monotonic()
    while time.monotonic() - began < warmup and not load.exhausted:
        await asyncio.sleep(0.05)
    wall0 = time.time()
    if cpu is not None:
        cpu.start()
    load.measure()
    ends = time.monotonic() + duration
    while time.monotonic() < ends and not load.exhausted:
        await asyncio.sleep(0.05)
    window = load.end_measure()
    wall1 = time.time()
    cores = cpu.stop() if cpu is not None else {}
    await load.stop()
    return window, wall0, wall1, cores


def per_notification_ms(cores: dict[str, float], window: float, count: int) -> dict[str, float]:
    """CPU milliseconds each process spent per notification answered in the window."""
    if count == 0:
        return {}
    return {
        name: round(value * window * 1000.0 / count, 3)
        for name, value in cores.items()
        if not name.endswith("_sys") and name not in ("machine", "other")
    }


async def ingest_level(
    args: argparse.Namespace,
    stack: Stack,
    url: str,
    accounts: list[BenchAccount],
    clients: int,
    cpu: CpuMeter,
) -> dict[str, Any]:
    budget = args.budget if clients > 1 else max(2_000, args.budget // 10)
    stream = notification_stream(f"127.0.0.1:{stack.gateway_port}", accounts, budget)
    load = ClosedLoop("127.0.0.1", stack.gateway_port, stream.requests, clients)
    window, wall0, wall1, cores = await closed_loop_phase(load, cpu, args.warmup, args.duration)
    left = await wait_until_applied(url, 60.0)
    lag = await lag_between(url, wall0, wall1)
    ok = load.ok_in_window
    return {
        "clients": clients,
        "window_seconds": round(window, 3),
        "ran_out": load.exhausted,
        "notifications": ok,
        "per_second": round(ok / window, 1),
        "answer_ms": latency_ms(load.answers),
        "statuses": statuses_of(load.answers),
        "errors": {
            str(a.status): a.body[:200].decode(errors="replace") for a in load.answers if a.status != 200
        },
        "kinds": dict(stream.kinds),
        "left_unapplied_after_60s": left,
        **lag,
        "cpu_cores": cores,
        "cpu_ms_per_notification": per_notification_ms(cores, window, ok),
    }


async def steady_rate(
    args: argparse.Namespace, stack: Stack, accounts: list[BenchAccount], rate: float, cpu: CpuMeter
) -> dict[str, Any]:
    """Signed notifications at a fixed rate, one at a time as Meta sends them: what each costs
    when there are few to share a call or a transaction with."""
    count = int(rate * args.duration)
    stream = notification_stream(f"127.0.0.1:{stack.gateway_port}", accounts, count)
    load = OpenLoop("127.0.0.1", stack.gateway_port)
    cpu.start()
    started = time.perf_counter()
    await load.run([(index / rate, request, "signed") for index, request in enumerate(stream.requests)])
    window = time.perf_counter() - started
    cores = cpu.stop()
    answers = [answer for _, answer in load.answers]
    return {
        "rate": rate,
        "notifications": len(answers),
        "statuses": statuses_of(answers),
        "answer_ms": latency_ms(answers),
        "cpu_cores": cores,
        "cpu_ms_per_notification": per_notification_ms(cores, window, len(answers)),
    }


def send_requests(host: str, accounts: list[BenchAccount], path: str) -> list[RawRequest]:
    """One POST per conversation, accounts interleaved."""
    per_account = [
        [
            raw_request(
                "POST",
                path,
                host,
                {"Authorization": f"Bearer {account.seeded.api_key}", "Content-Type": "application/json"},
                orjson.dumps(
                    {"conversation_id": conversation, "type": "text", "text": {"body": MESSAGE_TEXT}}
                ),
            )
            for conversation in account.seeded.conversation_ids
        ]
        for account in accounts
    ]
    return [request for group in itertools.zip_longest(*per_account) for request in group if request]


async def sim_call(stack: Stack, method: str, path: str, body: Any = None) -> Any:
    import aiohttp

    async with (
        aiohttp.ClientSession() as session,
        session.request(
            method, stack.simulator_url + path, data=orjson.dumps(body) if body is not None else None
        ) as response,
    ):
        payload = await response.read()
        if response.status >= 300:
            raise RuntimeError(f"{method} {path} answered {response.status}: {payload[:300]!r}")
        return orjson.loads(payload) if payload else None


async def sync_peak(
    args: argparse.Namespace, stack: Stack, accounts: list[BenchAccount], cpu: CpuMeter
) -> dict[str, Any]:
    await sim_call(stack, "PATCH", "/_sim/config", {"latency": "500"})
    requests = send_requests(f"127.0.0.1:{stack.gateway_port}", accounts, "/messages/send")
    load = ClosedLoop(
        "127.0.0.1",
        stack.gateway_port,
        requests,
        args.sync_clients,
        cycle=True,
        keep_body=lambda status: True,
    )
    window, _, _, cores = await closed_loop_phase(load, cpu, max(args.warmup, 3.0), args.duration)
    await sim_call(stack, "PATCH", "/_sim/config", {"latency": "0"})
    sent = [a for a in load.answers if a.status == 200 and b'"status":"sent"' in a.body]
    ok_in_window = sum(1 for a in sent if a.ended <= load.t1)
    return {
        "clients": args.sync_clients,
        "sim_latency_ms": 500,
        "window_seconds": round(window, 3),
        "sends": ok_in_window,
        "per_second": round(ok_in_window / window, 1),
        "latency_ms": latency_ms(sent),
        "statuses": statuses_of(load.answers),
        "cpu_cores": cores,
    }


async def forged_flood(
    args: argparse.Namespace, stack: Stack, url: str, accounts: list[BenchAccount], cpu: CpuMeter
) -> dict[str, Any]:
    host = f"127.0.0.1:{stack.gateway_port}"
    runs: list[dict[str, Any]] = []
    for with_flood in (False, True, False, True)[: 2 * args.forged_runs]:
        stream = notification_stream(host, accounts, args.budget // 2)
        signed = ClosedLoop("127.0.0.1", stack.gateway_port, stream.requests, 16)
        flood = ClosedLoop(
            "127.0.0.1",
            stack.gateway_port,
            forged_stream(host, accounts, 2_000),
            64,
            cycle=True,
            local_address="127.0.0.2",
        )
        if with_flood:
            await flood.start()
        flood_before = Counter(flood.statuses)
        window, _, _, cores = await closed_loop_phase(signed, cpu, args.warmup, args.duration)
        flood_answers = Counter(flood.statuses)
        flood_answers.subtract(flood_before)
        if with_flood:
            await flood.stop()
        await wait_until_applied(url, 60.0)
        runs.append(
            {
                "flood": with_flood,
                "signed_per_second": round(signed.ok_in_window / window, 1),
                "signed_answer_ms": latency_ms(signed.answers),
                "signed_statuses": statuses_of(signed.answers),
                # Over the warm-up and the window (the flood has no window of its own).
                "forged_answers": {str(k): v for k, v in flood_answers.items()},
                "forged_per_second": round(flood_answers.total() / (window + args.warmup), 1),
                "cpu_cores": cores,
            }
        )
        print(
            f"  forged flood {'on ' if with_flood else 'off'}: signed {runs[-1]['signed_per_second']}/s, "
            f"forged answers {runs[-1]['forged_answers']}",
            flush=True,
        )
    alone = [r["signed_per_second"] for r in runs if not r["flood"]]
    flooded = [r["signed_per_second"] for r in runs if r["flood"]]
    return {
        "runs": runs,
        "signed_alone_per_second": sum(alone) / len(alone),
        "signed_with_flood_per_second": sum(flooded) / len(flooded),
        "kept": round(sum(flooded) / sum(alone), 3) if sum(alone) else None,
    }


async def ingest(args: argparse.Namespace) -> dict[str, Any]:
    print(
        f"preparing database {INGEST_DATABASE}: {args.accounts} accounts x {args.conversations} conversations..."
    )
    url = await fresh_database(INGEST_DATABASE)
    accounts = await seed_accounts(url, args.accounts, args.conversations, BENCH_MPS)
    needed = (len(args.clients) + 2 * args.forged_runs) * args.budget + int(
        sum(args.steady_rates) * args.duration
    )
    await create_sent_messages(url, accounts, needed // len(accounts) + 1_000)
    stack = Stack(
        database_url=url,
        log_dir=LOG_DIR,
        extra_env={"RATE_LIMIT_PER_SECOND": "1000000", "RATE_LIMIT_BURST": "1000000"},
        sim_env={"SIM_LATENCY": "0", "SIM_WEBHOOK_URL": ""},
    )
    print(f"starting the stack (logs in {LOG_DIR})...", flush=True)
    phone_numbers = [
        {"phone_number_id": a.seeded.phone_number_id, "access_token": a.seeded.access_token, "mps": BENCH_MPS}
        for a in accounts
    ]
    await asyncio.to_thread(stack.start, phone_numbers)
    result: dict[str, Any] = {"levels": []}
    try:
        pids = {s.name: [s.process.pid] for s in stack.services if s.process is not None}
        cpu = CpuMeter({**pids, "bench": [os.getpid()]}, embedded_postmaster_pid())
        if args.sync_clients:
            result["sync_peak"] = await sync_peak(args, stack, accounts, cpu)
            print(
                f"  sync send peak: {result['sync_peak']['per_second']}/s at {args.sync_clients} clients",
                flush=True,
            )
        for clients in args.clients:
            level = await ingest_level(args, stack, url, accounts, clients, cpu)
            result["levels"].append(level)
            print(
                f"  ingest c{clients}: {level['per_second']}/s (applied {level['applied_per_second']}/s), answer p50 {fmt(level['answer_ms']['p50'])} "
                f"p99 {fmt(level['answer_ms']['p99'])} ms, lag p50 {fmt(level['lag_ms']['p50'])} "
                f"p99 {fmt(level['lag_ms']['p99'])} ms, {level['statuses']}",
                flush=True,
            )
        for rate in args.steady_rates:
            steady = await steady_rate(args, stack, accounts, rate, cpu)
            result.setdefault("steady", []).append(steady)
            print(
                f"  steady {rate}/s: answer p50 {fmt(steady['answer_ms']['p50'])} p99 {fmt(steady['answer_ms']['p99'])} ms,"
                f" CPU ms per notification {steady['cpu_ms_per_notification']}",
                flush=True,
            )
        if args.forged_runs:
            result["forged"] = await forged_flood(args, stack, url, accounts, cpu)
    finally:
        result["stopped"] = await asyncio.to_thread(stack.stop)
    return result


# --- mixed load --------------------------------------------------------------------------------


def mixed_schedule(
    host: str, sim_host: str, accounts: list[BenchAccount], rate: float, seconds: float, reply_share: float
) -> list[tuple[float, RawRequest, str]]:
    """Sends at `rate` per second, evenly spaced, accounts and sync/async taking turns; every
    1/reply_share-th tick also an inbound reply, which the simulator signs and POSTs."""
    sync = send_requests(host, accounts, "/messages/send")
    queued = send_requests(host, accounts, "/messages/send-async")
    schedule: list[tuple[float, RawRequest, str]] = []
    replies = 0.0
    for tick in range(int(rate * seconds)):
        offset = tick / rate
        pool, tag = (sync, "sync") if tick % 2 == 0 else (queued, "async")
        schedule.append((offset, pool[tick // 2 % len(pool)], tag))
        replies += reply_share
        if replies >= 1.0:
            replies -= 1.0
            account = accounts[tick % len(accounts)]
            contact = random.choice(account.seeded.contact_wa_ids)
            body = orjson.dumps(
                {
                    "phone_number_id": account.seeded.phone_number_id,
                    "from": contact,
                    "message": {"type": "text", "text": {"body": REPLY_TEXT}},
                }
            )
            request = raw_request(
                "POST", "/_sim/inbound", sim_host, {"Content-Type": "application/json"}, body
            )
            schedule.append((offset, request, "reply"))
    return schedule


_UNFINISHED = """
SELECT count(*) FILTER (WHERE status IN ('queued', 'sending')),
       count(*) FILTER (WHERE status NOT IN ('read', 'failed')),
       count(*)
FROM messages WHERE direction = 'outbound' AND created_at >= to_timestamp($1)
"""


async def mixed_run(
    args: argparse.Namespace,
    stack: Stack,
    url: str,
    accounts: list[BenchAccount],
    cpu: CpuMeter,
    webhooks_on: bool,
) -> dict[str, Any]:
    await sim_call(
        stack,
        "PATCH",
        "/_sim/config",
        {"webhook_url": f"{stack.gateway_url}{WEBHOOK_PATH}" if webhooks_on else ""},
    )
    await sim_call(stack, "DELETE", "/_sim/requests")
    await sim_call(stack, "DELETE", "/_sim/webhooks")
    capacity = sum(a.seeded.messages_per_second for a in accounts) / (1.0 + PACING_MARGIN_SECONDS)
    rate = args.mixed_rate or capacity * 0.95
    schedule = mixed_schedule(
        f"127.0.0.1:{stack.gateway_port}",
        f"127.0.0.1:{stack.sim_port}",
        accounts,
        rate,
        args.mixed_seconds,
        args.reply_share if webhooks_on else 0.0,
    )
    sends = OpenLoop("127.0.0.1", stack.gateway_port, header="server-timing")
    replies = OpenLoop("127.0.0.1", stack.sim_port)
    wall0 = time.time()
    cpu.start()
    await asyncio.gather(
        sends.run([s for s in schedule if s[2] != "reply"]),
        replies.run([s for s in schedule if s[2] == "reply"]),
    )
    cores = cpu.stop()
    window = time.time() - wall0
    # Every message out of the outbox, then (webhooks on) every one `read`.
    connection = await asyncpg.connect(dsn(url))
    try:
        deadline = time.monotonic() + 120
        all_read_at: float | None = None
        while time.monotonic() < deadline:
            in_flight, unread, total = await connection.fetchrow(_UNFINISHED, wall0)
            if in_flight == 0 and (not webhooks_on or unread == 0):
                all_read_at = time.time()
                break
            await asyncio.sleep(0.02)
        outbound = total
    finally:
        await connection.close()
    await wait_until_applied(url, 30.0)
    lag = await lag_between(url, wall0, time.time() + 1)
    records = (await sim_call(stack, "GET", f"/_sim/requests?since={wall0 - 1}"))["requests"]
    sim_seconds = {
        r["wa_message_id"]: r["answered_at"] - r["received_at"]
        for r in records
        if r["wa_message_id"] and r["answered_at"] is not None
    }
    overheads: list[float] = []
    # The gateway's Server-Timing stages; whatsapp-sim: the WhatsApp stage (the account's
    # pacing slot, the sender) less the simulator's own time.
    stages: dict[str, list[float]] = {}
    sync_answers = [a for tag, a in sends.answers if tag == "sync"]
    async_answers = [a for tag, a in sends.answers if tag == "async"]
    for answer in sync_answers:
        if answer.status != 200:
            continue
        body = orjson.loads(answer.body)
        if body.get("status") == "sent" and body.get("wa_message_id") in sim_seconds:
            sim_time = sim_seconds[body["wa_message_id"]]
            overheads.append(answer.ended - answer.started - sim_time)
            timing = parse_server_timing(answer.header)
            for name, seconds in timing.items():
                stages.setdefault(name, []).append(seconds)
            stages.setdefault("whatsapp-sim", []).append(timing.get("whatsapp", 0.0) - sim_time)
            stages.setdefault("outside", []).append(answer.ended - answer.started - sum(timing.values()))
    hooks = (await sim_call(stack, "GET", "/_sim/webhooks"))["webhooks"]
    answered = [h for h in hooks if h["status"] is not None]
    status_hooks = [h for h in hooks if h["kind"] == "status"]
    last_status = max((h["sent_at"] for h in status_hooks), default=None)
    sim_sent = [r for r in records if r["status"] == 200]
    sent_times = sorted(r["answered_at"] for r in sim_sent)
    return {
        "webhooks": webhooks_on,
        "offered_per_second": round(rate, 1),
        "seconds": round(window, 2),
        "sync": {
            "statuses": statuses_of(sync_answers),
            "overhead_ms": distribution_ms(overheads),
            "stages_ms": {name: distribution_ms(values) for name, values in stages.items()},
        },
        "async": {"statuses": statuses_of(async_answers), "accept_ms": latency_ms(async_answers)},
        "replies": statuses_of([a for _, a in replies.answers]),
        "outbound_messages": outbound,
        "whatsapp_accepted": len(sim_sent),
        "whatsapp_per_second": round(len(sent_times) / (sent_times[-1] - sent_times[0]), 1)
        if len(sent_times) > 1
        else None,
        "webhook_posts": len(hooks),
        "webhook_answer_ms": distribution_ms(h["answered_at"] - h["sent_at"] for h in answered),
        "webhook_failures": dict(
            Counter(
                h["error"].split(":")[0] if h["error"] else str(h["status"])
                for h in hooks
                if h["status"] != 200
            )
        ),
        "all_read_after_last_status_s": (
            round(all_read_at - last_status, 3)
            if all_read_at is not None and last_status is not None
            else None
        ),
        "outbox_drained": all_read_at is not None,
        **lag,
        "cpu_cores": cores,
    }


async def mixed(args: argparse.Namespace) -> dict[str, Any]:
    print(f"preparing database {MIXED_DATABASE}: make run's two accounts at 80 messages/s...")
    url = await fresh_database(MIXED_DATABASE)
    accounts = await seed_accounts(url, 2, args.conversations, 80)
    sockets = unix_socket_folder(True)
    stack = Stack(
        database_url=url,
        log_dir=LOG_DIR / "mixed",
        sim_env={"SIM_LATENCY": "500-800"},
        unix_socket_dir=sockets,
    )
    phone_numbers = [
        {
            "phone_number_id": a.seeded.phone_number_id,
            "access_token": a.seeded.access_token,
            "app_secret": a.seeded.app_secret,
            "mps": a.seeded.messages_per_second,
        }
        for a in accounts
    ]
    print("starting the stack as make run does...", flush=True)
    await asyncio.to_thread(stack.start, phone_numbers)
    runs = []
    try:
        pids = {s.name: [s.process.pid] for s in stack.services if s.process is not None}
        cpu = CpuMeter({**pids, "bench": [os.getpid()]}, embedded_postmaster_pid())
        order = [True, False, False, True, True, False][: 2 * args.mixed_runs]
        for webhooks_on in order:
            run = await mixed_run(args, stack, url, accounts, cpu, webhooks_on)
            runs.append(run)
            print(
                f"  mixed, webhooks {'on ' if webhooks_on else 'off'}: sync {run['sync']['statuses']} "
                f"overhead p50 {fmt(run['sync']['overhead_ms']['p50'])} p99 {fmt(run['sync']['overhead_ms']['p99'])} ms, "
                f"async {run['async']['statuses']}, WhatsApp {run['whatsapp_per_second']}/s, "
                f"webhooks {run['webhook_posts']} answer p99 {fmt(run['webhook_answer_ms']['p99'])} ms "
                f"failures {run['webhook_failures']}, lag p99 {fmt(run['lag_ms']['p99'])} ms, "
                f"all read {run['all_read_after_last_status_s']} s after the last status",
                flush=True,
            )
            await asyncio.sleep(2)
    finally:
        stopped = await asyncio.to_thread(stack.stop)
        if sockets is not None:
            shutil.rmtree(sockets, ignore_errors=True)
    return {"runs": runs, "stopped": stopped}


# --- report ------------------------------------------------------------------------------------


def fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def mean(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None


def report(document: dict[str, Any]) -> None:
    ingest_result = document.get("ingest")
    if ingest_result:
        print("\nIngestion (signed notifications, closed loop)")
        header = f"{'clients':>8}{'notif/s':>9}{'applied':>9}{'ans p50':>9}{'p99':>8}{'lag p50':>9}{'p99':>9}  CPU ms per notification"
        print(header)
        print("-" * (len(header) + 40))
        for level in ingest_result["levels"]:
            cpu = " ".join(f"{k} {v:.2f}" for k, v in level["cpu_ms_per_notification"].items())
            print(
                f"{level['clients']:>8}{level['per_second']:>9.1f}{level['applied_per_second']:>9.1f}"
                f"{fmt(level['answer_ms']['p50']):>9}"
                f"{fmt(level['answer_ms']['p99']):>8}{fmt(level['lag_ms']['p50']):>9}{fmt(level['lag_ms']['p99']):>9}  {cpu}"
            )
        # Sustained: what was both answered and applied in the window.
        peak = max(min(level["per_second"], level["applied_per_second"]) for level in ingest_result["levels"])
        sync = ingest_result.get("sync_peak")
        if sync:
            ratio = peak / sync["per_second"] if sync["per_second"] else None
            print(
                f"ingestion peak {peak:.1f}/s against the sync send peak {sync['per_second']:.1f}/s: {fmt(ratio, 2)} x (target >= 3)"
            )
        forged = ingest_result.get("forged")
        if forged:
            print(
                f"forged flood: signed traffic {forged['signed_with_flood_per_second']:.1f}/s with it, "
                f"{forged['signed_alone_per_second']:.1f}/s alone: kept {fmt(forged['kept'], 2)} (target >= 0.8)"
            )
    mixed_result = document.get("mixed")
    if mixed_result:
        print("\nMixed load (make run's defaults)")
        on = [r for r in mixed_result["runs"] if r["webhooks"]]
        off = [r for r in mixed_result["runs"] if not r["webhooks"]]
        for name, runs in (("webhooks on", on), ("webhooks off", off)):
            if not runs:
                continue
            print(
                f"  {name}: sync overhead p50 {fmt(mean([r['sync']['overhead_ms']['p50'] for r in runs]))} ms "
                f"p99 {fmt(mean([r['sync']['overhead_ms']['p99'] for r in runs]))} ms; WhatsApp "
                f"{fmt(mean([r['whatsapp_per_second'] for r in runs]))}/s; webhook answer p99 "
                f"{fmt(mean([r['webhook_answer_ms']['p99'] for r in runs]))} ms; failures "
                f"{[r['webhook_failures'] for r in runs]}; lag p99 {fmt(mean([r['lag_ms']['p99'] for r in runs]))} ms; "
                f"all read {[r['all_read_after_last_status_s'] for r in runs]} s after the last status"
            )
        if on and off:
            p50_on = mean([r["sync"]["overhead_ms"]["p50"] for r in on])
            p50_off = mean([r["sync"]["overhead_ms"]["p50"] for r in off])
            if p50_on and p50_off:
                print(f"  sync overhead p50 with webhooks / without: {p50_on / p50_off:.2f} (target <= 1.2)")


async def main(args: argparse.Namespace) -> int:
    started_at = datetime.now(UTC)
    revision = git_revision()
    print(
        f"code: {revision['commit']}"
        + (f" with local changes {revision['dirty_files']}" if revision["dirty_files"] else "")
    )
    print(f"python speed: {python_speed_seconds():.3f} s for the yardstick loop (lower is faster)")
    document: dict[str, Any] = {
        "benchmark": "webhooks",
        "started_at": started_at.isoformat(),
        "command": " ".join(shlex.quote(a) for a in ["python", "-m", "bench.webhooks", *sys.argv[1:]]),
        "machine": machine(),
        "code": revision,
        "config": {k: v for k, v in vars(args).items()},
    }
    if "ingest" in args.parts:
        document["ingest"] = await ingest(args)
    if "mixed" in args.parts:
        document["mixed"] = await mixed(args)
    report(document)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"webhooks-{started_at.strftime('%Y%m%dT%H%M%SZ')}.json"
    path.write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2))
    print(f"results written to {path}")
    return 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.webhooks", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--parts",
        default="ingest,mixed",
        type=lambda raw: raw.split(","),
        help="ingest, mixed or both (default)",
    )
    parser.add_argument(
        "--clients",
        default=[1, 16, 64, 256],
        type=lambda raw: [int(c) for c in raw.split(",")],
        help="ingestion client counts (default 1,16,64,256)",
    )
    parser.add_argument(
        "--duration", type=float, default=10.0, help="measured seconds per level (default 10)"
    )
    parser.add_argument("--warmup", type=float, default=2.0, help="warm-up seconds (default 2)")
    parser.add_argument(
        "--budget", type=int, default=60_000, help="notifications built per level (default 60000)"
    )
    parser.add_argument("--accounts", type=int, default=8, help="ingest accounts (default 8)")
    parser.add_argument(
        "--conversations", type=int, default=64, help="conversations per account (default 64)"
    )
    parser.add_argument(
        "--sync-clients", type=int, default=512, help="sync send peak clients; 0 skips it (default 512)"
    )
    parser.add_argument(
        "--steady-rates",
        default=[],
        type=lambda raw: [float(r) for r in raw.split(",") if r],
        help="also signed notifications at these fixed rates, e.g. 350 (default none)",
    )
    parser.add_argument("--forged-runs", type=int, default=1, help="alone/flooded pairs; 0 skips (default 1)")
    parser.add_argument("--mixed-runs", type=int, default=1, help="webhooks on/off pairs (default 1)")
    parser.add_argument(
        "--mixed-seconds", type=float, default=20.0, help="seconds of sends per mixed run (default 20)"
    )
    parser.add_argument(
        "--mixed-rate", type=float, default=0.0, help="sends/s offered (default: 95 %% of the paced rate)"
    )
    parser.add_argument(
        "--reply-share", type=float, default=0.1, help="inbound replies per send (default 0.1)"
    )
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(uvloop.run(main(parse_args())))
