"""Benchmark of outbound webhooks (issue 19): `python -m bench.outbound_webhooks`.

Signed deliveries of an account's events to its endpoints, made by the worker inside
conversations, measured in one run on one stack against a customer's receiver that is a
process of its own (`tools/webhook_receiver.py`, on loopback like everything else):

- `throughput`: deliveries/s to one endpoint. One account's events are made first (sync
  sends over its 64 conversations, the simulator at 0 ms), then an endpoint subscribed to `*`
  is registered and `POST /webhook-endpoints/{id}/replay` delivers them again, once to a
  receiver that answers at once and once to one that answers after 200 ms. The rate is the
  deliveries over the time from the first one's arrival to the last one's answer (the claim
  after a replay waits for the worker's next poll; that wait is reported apart). With 200 ms
  answers, one endpoint's OUTBOUND_WEBHOOK_PARALLELISM requests in flight cap it at
  parallelism / 0.2 s (8: 40/s), which the figure is checked against. CPU per delivery of
  each process, from /proc.
- `sync`: the sync send peak (as bench.webhooks measures it: `POST /messages/send` from a
  cheap closed-loop client, simulated latency 500 ms, 512 clients; sends/s counts the 200s
  that end in the window), without any endpoint (A) and with one endpoint subscribed to `*`
  per sending account at a receiver answering in 0 ms (B), so that every event the sends make
  is delivered; alternated A B A B on the same stack and database. Once with the simulator's
  status webhooks off (one event per send), once with them on (each send comes back as sent,
  delivered and read webhooks, which make more events to deliver). Reports sends/s, B / A
  (target: >= 0.85, delivery takes at most 15 % off the peak), CPU per send of each process,
  PostgreSQL transactions per send (pg_stat_database, over the whole phase), deliveries per
  round (a round logs its attempts in one statement: attempts over distinct xmin), and
  whether delivery kept up: deliveries/s in the window, the time the endpoints' cursors took
  to reach the last event once the sends stopped.
- the lag from event to delivery while the sends of B run at peak: the receiver's
  `received_at` minus the body's `timestamp` (the event's creation, PostgreSQL's clock; one
  machine, one clock), first delivery of each webhook-id only, for the events made inside the
  measured window.

Every delivery's signature is checked with the stock `standardwebhooks` library after its
phase. Each phase's endpoints get a receiver path of their own and are deleted at its end;
deliveries that still come to a path after its DELETE was answered are counted and reported.
The embedded PostgreSQL may be shared with tests running meanwhile: `postgres` counts the
server's own processes and this database's backends only. Before each phase the benchmark
waits (up to --quiet-wait) for the machine to be idle, and a phase during which other programs
used more than NOISE_CORES is measured again (up to --noise-retries; kept in the JSON).
About 4 minutes on a quiet machine. Results: tables on stdout, JSON in
.pigeon/bench-results/outbound_webhooks-<timestamp>.json; exits 1 on any failed send, failed
or missing delivery, bad signature or undrained backlog.
"""

import argparse
import asyncio
import os
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import orjson
import uvloop
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from bench.common import (
    LOG_DIR,
    CpuMeter,
    embedded_postmaster_pid,
    fresh_database,
    machine_busy_cores,
    median_of,
    percentile,
    results_document,
    write_results,
)
from bench.http_load import ClosedLoop
from bench.webhook_traffic import (
    WEBHOOK_PATH,
    BenchAccount,
    dsn,
    fmt,
    latency_ms,
    seed_accounts,
    send_requests,
    sim_call,
    statuses_of,
    wait_until_applied,
)
from bench.webhooks import closed_loop_phase
from tools.stack import ServiceProcess, Stack, free_port

DATABASE = "pigeon_bench_outbound"
# High enough that neither pigeon's pacing nor the simulator's limit shapes the sends.
BENCH_MPS = 100_000
# Busier than this (cores) with the stack idle, or other programs using this much during a
# phase: something else runs on the machine (the phase is then measured again).
NOISE_CORES = 0.25
SERVICES = ("gateway", "conversations", "sender", "simulator", "receiver", "postgres", "bench")


# --- the receiver, the API, the database -------------------------------------------------------


@dataclass
class Receiver:
    """tools/webhook_receiver.py as a process of its own: the customer's server. Each phase's
    endpoints get a path of their own, so that what comes for them once they were deleted is
    told apart (and counted)."""

    process: ServiceProcess
    http: aiohttp.ClientSession
    # When each path's endpoints were deleted (wall clock).
    deleted_at: dict[str, float] = field(default_factory=dict)
    # Deliveries that came for a path after its endpoints were deleted.
    after_delete: Counter[str] = field(default_factory=Counter)
    serial: int = 0

    def new_path(self, prefix: str) -> str:
        self.serial += 1
        return f"/{prefix}-{self.serial}"

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.process.port}"

    async def behave(self, path: str, delay_ms: int) -> None:
        body = {"status": 204, "delay_ms": delay_ms}
        async with self.http.put(f"{self.base}/_behaviour/{path.lstrip('/')}", json=body) as response:
            if response.status != 204:
                raise RuntimeError(f"receiver behaviour: {response.status}")

    async def received(self, path: str | None = None) -> list[dict[str, Any]]:
        async with self.http.get(f"{self.base}/_received") as response:
            records: list[dict[str, Any]] = orjson.loads(await response.read())["received"]
        return [r for r in records if path is None or r["path"] == path]

    async def settle(self) -> None:
        """Counts what came for deleted endpoints since the last time, then forgets everything."""
        for record in await self.received():
            deleted = self.deleted_at.get(record["path"])
            if deleted is not None and record["received_at"] > deleted:
                self.after_delete[record["path"]] += 1
        await self.forget()

    async def forget(self) -> None:
        async with self.http.delete(f"{self.base}/_received") as response:
            await response.read()


async def api(
    http: aiohttp.ClientSession, stack: Stack, account: BenchAccount, method: str, path: str, body: Any = None
) -> Any:
    headers = {"Authorization": f"Bearer {account.seeded.api_key}"}
    async with http.request(method, stack.gateway_url + path, json=body, headers=headers) as response:
        payload = await response.read()
        if response.status >= 300:
            raise RuntimeError(f"{method} {path} answered {response.status}: {payload[:300]!r}")
        return orjson.loads(payload) if payload else None


async def create_endpoint(
    http: aiohttp.ClientSession, stack: Stack, account: BenchAccount, url: str
) -> dict[str, Any]:
    body = {"url": url, "events": ["*"], "description": "bench.outbound_webhooks"}
    endpoint: dict[str, Any] = await api(http, stack, account, "POST", "/webhook-endpoints", body)
    return endpoint


async def last_event_id(db: asyncpg.Connection, account: BenchAccount) -> int:
    value = await db.fetchval(
        "SELECT last_id FROM event_counters WHERE account_id = $1", account.seeded.account_id
    )
    return int(value or 0)


_BEHIND = """
SELECT count(*) FILTER (WHERE c.last_id > w.last_event_id),
       coalesce(sum(greatest(c.last_id - w.last_event_id, 0)), 0)
FROM webhook_endpoints w JOIN event_counters c ON c.account_id = w.account_id
WHERE w.enabled AND w.id = ANY($1::uuid[])
"""


async def drained(db: asyncpg.Connection, endpoint_ids: list[str], patience: float) -> float | None:
    """Seconds until every endpoint's cursor is at its account's last event, or None."""
    started = time.monotonic()
    while True:
        behind, _ = await db.fetchrow(_BEHIND, endpoint_ids)
        if behind == 0:
            return round(time.monotonic() - started, 3)
        if time.monotonic() - started > patience:
            return None
        await asyncio.sleep(0.05)


async def commits(db: asyncpg.Connection) -> int:
    """Transactions committed in the benchmark's database so far (the server's statistics)."""
    return int(await db.fetchval("SELECT xact_commit FROM pg_stat_database WHERE datname = $1", DATABASE))


async def attempts_per_round(db: asyncpg.Connection, endpoint_ids: list[str]) -> float | None:
    """Attempts over rounds: a round logs its attempts in one statement, so the rows of one
    round share their inserting transaction (xmin)."""
    attempts, rounds = await db.fetchrow(
        "SELECT count(*), count(DISTINCT xmin::text) FROM webhook_attempts "
        "WHERE endpoint_id = ANY($1::uuid[])",
        endpoint_ids,
    )
    return round(attempts / rounds, 1) if rounds else None


async def failed_attempts(db: asyncpg.Connection, endpoint_ids: list[str]) -> dict[str, int]:
    rows = await db.fetch(
        "SELECT coalesce(error, http_status::text) AS why, count(*) FROM webhook_attempts "
        "WHERE endpoint_id = ANY($1::uuid[]) AND NOT succeeded GROUP BY 1",
        endpoint_ids,
    )
    return {str(row[0]): int(row[1]) for row in rows}


# --- measuring ---------------------------------------------------------------------------------


def serves_database(pid: int, database: str) -> bool:
    """Whether a child of the postmaster works for `database`: its backends and autovacuum
    workers (by their process title), and the server's own background processes."""
    try:
        title = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except (OSError, UnicodeDecodeError):
        return False
    if not title.startswith("postgres:"):
        return True  # the postmaster itself
    words = title.split()[1:]
    if words[:2] == ["autovacuum", "worker"]:
        return words[2:3] == [database]
    # A backend: "postgres: <user> <database> <[local] or host(port)> <activity>".
    if len(words) >= 3 and (words[2].startswith("[local]") or "(" in words[2]):
        return words[1] == database
    return True


@dataclass
class DatabaseCpuMeter(CpuMeter):
    """CpuMeter whose `postgres` leaves out the backends of other databases: the embedded
    server may be shared with tests running meanwhile (their CPU then counts as `other`)."""

    database: str = DATABASE

    def _read_postgres(self) -> dict[int, tuple[float, float]]:
        readings = super()._read_postgres()
        return {pid: cpu for pid, cpu in readings.items() if serves_database(pid, self.database)}


async def quiet_machine(limit_seconds: float) -> float:
    """Waits (up to limit_seconds) until the machine is nearly idle; answers its busy cores."""
    deadline = time.monotonic() + limit_seconds
    while True:
        busy = round(await asyncio.to_thread(machine_busy_cores, 1.0), 2)
        if busy < NOISE_CORES or time.monotonic() >= deadline:
            return busy


async def measured(
    args: argparse.Namespace, label: str, phase: Callable[[], Awaitable[dict[str, Any]]]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A phase, measured again (up to --noise-retries times) while other programs used more
    than NOISE_CORES during it; answers the run kept and the disturbed ones."""
    disturbed: list[dict[str, Any]] = []
    for attempt in range(args.noise_retries + 1):
        result = await phase()
        other = result["cpu_cores"].get("other", 0.0)
        result["noisy"] = other > NOISE_CORES
        if not result["noisy"] or attempt == args.noise_retries:
            return result, disturbed
        print(f"  {label}: other programs used {other:.2f} cores meanwhile; measuring it again", flush=True)
        disturbed.append(result)
    raise AssertionError("unreachable")


def cpu_ms_per(cores: dict[str, float], seconds: float, count: int) -> dict[str, float]:
    """CPU milliseconds each process spent per item, from CpuMeter's cores over `seconds`."""
    if count == 0:
        return {}
    return {
        name: round(value * seconds * 1000.0 / count, 3)
        for name, value in cores.items()
        if not name.endswith("_sys") and name != "machine"
    }


def lag_ms(values_seconds: list[float]) -> dict[str, float | None]:
    ordered = sorted(v * 1000.0 for v in values_seconds)
    return {
        "count": len(ordered),
        "p50": percentile(ordered, 0.50),
        "p95": percentile(ordered, 0.95),
        "p99": percentile(ordered, 0.99),
        "max": ordered[-1] if ordered else None,
    }


@dataclass
class Delivery:
    webhook_id: str
    event_type: str
    created_at: float  # the body's timestamp, epoch seconds
    received_at: float


def first_deliveries(records: list[dict[str, Any]]) -> tuple[list[Delivery], int]:
    """The first delivery of each webhook-id, in arrival order, and how many came again."""
    seen: dict[str, Delivery] = {}
    repeats = 0
    for record in records:
        webhook_id = record["headers"].get("webhook-id", "")
        if webhook_id in seen:
            repeats += 1
            continue
        body = orjson.loads(record["body"])
        seen[webhook_id] = Delivery(
            webhook_id,
            body["type"],
            datetime.fromisoformat(body["timestamp"]).timestamp(),
            record["received_at"],
        )
    return list(seen.values()), repeats


def bad_signatures(records: list[dict[str, Any]], secrets: dict[str, str]) -> int:
    """Deliveries that the stock Standard Webhooks library does not verify with the secret of
    the endpoint named in their webhook-id (msg_<endpoint hex>_<event id>)."""
    verifiers = {endpoint_id.replace("-", ""): Webhook(secret) for endpoint_id, secret in secrets.items()}
    bad = 0
    for record in records:
        headers = record["headers"]
        parts = headers.get("webhook-id", "").split("_")
        verifier = verifiers.get(parts[1]) if len(parts) == 3 else None
        try:
            if verifier is None:
                raise WebhookVerificationError("no endpoint")
            verifier.verify(record["body"].encode(), headers)
        except WebhookVerificationError:
            bad += 1
    return bad


# --- part 1: deliveries/s to one endpoint ------------------------------------------------------


async def make_events(stack: Stack, account: BenchAccount, count: int, clients: int) -> dict[str, Any]:
    """`count` sync sends of the account, its conversations in turn (simulator at 0 ms)."""
    pool = send_requests(f"127.0.0.1:{stack.gateway_port}", [account], "/messages/send")
    requests = [pool[i % len(pool)] for i in range(count)]
    load = ClosedLoop("127.0.0.1", stack.gateway_port, requests, clients)
    started = time.perf_counter()
    await load.start()
    await load.ran_out.wait()
    await load.stop()
    return {
        "sends": count,
        "seconds": round(time.perf_counter() - started, 2),
        "statuses": {str(k): v for k, v in load.statuses.items()},
    }


async def replay_phase(
    args: argparse.Namespace,
    stack: Stack,
    db: asyncpg.Connection,
    http: aiohttp.ClientSession,
    receiver: Receiver,
    account: BenchAccount,
    cpu: CpuMeter,
    answer_ms: int,
    count: int,
) -> dict[str, Any]:
    path = receiver.new_path(f"replay-{answer_ms}ms")
    await receiver.behave(path, answer_ms)
    await receiver.settle()
    endpoint = await create_endpoint(http, stack, account, receiver.base + path)
    last = await last_event_id(db, account)
    since = max(0, last - count)
    busy_before = await quiet_machine(args.quiet_wait)
    cpu.start()
    cpu_t0 = time.perf_counter()
    replayed_at = time.time()
    await api(
        http, stack, account, "POST", f"/webhook-endpoints/{endpoint['id']}/replay", {"since_event_id": since}
    )
    took = await drained(db, [endpoint["id"]], args.drain_timeout)
    cores = cpu.stop()
    cpu_seconds = time.perf_counter() - cpu_t0
    records = await receiver.received(path)
    deliveries, repeats = first_deliveries(records)
    failures = await failed_attempts(db, [endpoint["id"]])
    per_round = await attempts_per_round(db, [endpoint["id"]])
    bad = bad_signatures(records, {endpoint["id"]: endpoint["secret"]})
    await api(http, stack, account, "DELETE", f"/webhook-endpoints/{endpoint['id']}")
    receiver.deleted_at[path] = time.time()
    arrivals = sorted(d.received_at for d in deliveries)
    # From the first request's arrival to the last one's answer.
    span = arrivals[-1] - arrivals[0] + answer_ms / 1000.0 if arrivals else 0.0
    ceiling = args.parallelism / (answer_ms / 1000.0) if answer_ms else None
    per_second = round(len(arrivals) / span, 1) if span else None
    return {
        "answer_ms": answer_ms,
        "events": last - since,
        "delivered": len(deliveries),
        "repeats": repeats,
        "failed_attempts": failures,
        "attempts_per_round": per_round,
        "bad_signatures": bad,
        "drained": took is not None,
        "first_after_replay_s": round(arrivals[0] - replayed_at, 3) if arrivals else None,
        "last_after_replay_s": round(arrivals[-1] - replayed_at, 3) if arrivals else None,
        "first_to_last_answer_s": round(span, 3),
        "per_second": per_second,
        "per_second_from_replay": round(len(arrivals) / (arrivals[-1] - replayed_at), 1)
        if arrivals
        else None,
        "ceiling_per_second": ceiling,
        "of_ceiling": round(per_second / ceiling, 3) if ceiling and per_second else None,
        "conversations_in_events": args.conversations,
        "cpu_cores": cores,
        "cpu_ms_per_delivery": cpu_ms_per(cores, cpu_seconds, len(deliveries)),
        "machine_busy_cores_before": busy_before,
    }


# --- part 2: the sync send peak without and with endpoints -------------------------------------


_EVENTS_IN = """
SELECT type, count(*) FROM events
WHERE account_id = ANY($1::uuid[]) AND created_at >= to_timestamp($2) AND created_at < to_timestamp($3)
GROUP BY type
"""


async def sync_phase(
    args: argparse.Namespace,
    stack: Stack,
    url: str,
    db: asyncpg.Connection,
    http: aiohttp.ClientSession,
    receiver: Receiver,
    accounts: list[BenchAccount],
    cpu: CpuMeter,
    with_endpoints: bool,
    status_webhooks: bool,
) -> dict[str, Any]:
    path = receiver.new_path("live")
    await receiver.behave(path, 0)
    await receiver.settle()
    await sim_call(
        stack,
        "PATCH",
        "/_sim/config",
        {
            "latency": str(args.sync_latency_ms),
            "webhook_url": f"{stack.gateway_url}{WEBHOOK_PATH}" if status_webhooks else "",
        },
    )
    await sim_call(stack, "DELETE", "/_sim/requests")
    await sim_call(stack, "DELETE", "/_sim/webhooks")
    endpoints = (
        [await create_endpoint(http, stack, account, receiver.base + path) for account in accounts]
        if with_endpoints
        else []
    )
    endpoint_ids = [e["id"] for e in endpoints]
    busy_before = await quiet_machine(args.quiet_wait)
    commits_before = await commits(db)
    requests = send_requests(f"127.0.0.1:{stack.gateway_port}", accounts, "/messages/send")
    load = ClosedLoop(
        "127.0.0.1",
        stack.gateway_port,
        requests,
        args.sync_clients,
        cycle=True,
        keep_body=lambda status: True,
    )
    window, wall0, wall1, cores = await closed_loop_phase(load, cpu, args.warmup, args.duration)
    stopped_at = time.monotonic()
    # As bench.sync_send counts: the 200s that ended inside the window, whenever they started;
    # every answer to a send started inside it that is not a 200 `sent` is an error.
    sends = load.ok_in_window
    sent = [a for a in load.answers if a.status == 200 and b'"status":"sent"' in a.body]
    failed = [a for a in load.answers if a.status != 200 or b'"status":"sent"' not in a.body]
    errors = len(failed)
    left_unapplied = 0
    if status_webhooks:
        # The simulator's last statuses come up to 120 ms after the last send.
        await asyncio.sleep(0.5)
        left_unapplied = await wait_until_applied(url, 60.0)
    account_ids = [a.seeded.account_id for a in accounts]
    events = {row[0]: int(row[1]) for row in await db.fetch(_EVENTS_IN, account_ids, wall0, wall1)}
    result: dict[str, Any] = {
        "endpoints": len(endpoints),
        "status_webhooks": status_webhooks,
        "clients": args.sync_clients,
        "sim_latency_ms": args.sync_latency_ms,
        "window_seconds": round(window, 3),
        "sends": sends,
        "per_second": round(sends / window, 1),
        "errors": errors,
        "statuses": statuses_of(load.answers),
        "error_examples": [a.body[:300].decode(errors="replace") for a in failed[:3]],
        "latency_ms": latency_ms(sent),
        "events_in_window": events,
        "events_per_send": round(sum(events.values()) / sends, 2) if sends else None,
        "left_unapplied": left_unapplied,
        "cpu_cores": cores,
        "cpu_ms_per_send": cpu_ms_per(cores, window, sends),
        "machine_busy_cores_before": busy_before,
    }
    if with_endpoints:
        took = await drained(db, endpoint_ids, args.drain_timeout)
        result["drained"] = took is not None
        result["drained_after_sends_stopped_s"] = (
            round(time.monotonic() - stopped_at, 2) if took is not None else None
        )
        records = await receiver.received(path)
        deliveries, repeats = first_deliveries(records)
        made = [d for d in deliveries if wall0 <= d.created_at < wall1]
        in_window = sum(1 for d in deliveries if wall0 <= d.received_at < wall1)
        result.update(
            {
                "delivered": len(deliveries),
                "repeats": repeats,
                "delivered_of_window_events": len(made),
                "missing": sum(events.values()) - len(made),
                "deliveries_per_second": round(in_window / window, 1),
                "lag_ms": lag_ms([d.received_at - d.created_at for d in made]),
                "lag_by_type_ms": {
                    kind: lag_ms([d.received_at - d.created_at for d in made if d.event_type == kind])
                    for kind in sorted({d.event_type for d in made})
                },
                "failed_attempts": await failed_attempts(db, endpoint_ids),
                "attempts_per_round": await attempts_per_round(db, endpoint_ids),
                "bad_signatures": bad_signatures(records, {e["id"]: e["secret"] for e in endpoints}),
            }
        )
    # Every transaction of the phase (warm-up, window, the backlog's drain) over its sends.
    await asyncio.sleep(1.0)  # backends report their counts when idle, within a second
    result["commits_per_send"] = round((await commits(db) - commits_before) / load.completed, 2)
    if with_endpoints:
        for endpoint, account in zip(endpoints, accounts, strict=True):
            await api(http, stack, account, "DELETE", f"/webhook-endpoints/{endpoint['id']}")
        receiver.deleted_at[path] = time.time()
    return result


# --- the run -----------------------------------------------------------------------------------


async def run(args: argparse.Namespace) -> dict[str, Any]:
    print(f"preparing database {DATABASE}: {args.accounts + 1} accounts x {args.conversations} conversations")
    url = await fresh_database(DATABASE)
    bench_accounts = await seed_accounts(url, args.accounts + 1, args.conversations, BENCH_MPS)
    replayed, senders = bench_accounts[0], bench_accounts[1:]
    log_dir = LOG_DIR / "outbound_webhooks"
    log_dir.mkdir(parents=True, exist_ok=True)
    stack = Stack(
        database_url=url,
        log_dir=log_dir,
        extra_env={
            "RATE_LIMIT_PER_SECOND": "1000000",
            "RATE_LIMIT_BURST": "1000000",
            "OUTBOUND_WEBHOOK_ALLOW_INSECURE_URLS": "true",
            "OUTBOUND_WEBHOOK_PARALLELISM": str(args.parallelism),
        },
        sim_env={"SIM_LATENCY": "0", "SIM_WEBHOOK_URL": ""},
    )
    phone_numbers = [
        {
            "phone_number_id": a.seeded.phone_number_id,
            "access_token": a.seeded.access_token,
            "app_secret": a.seeded.app_secret,
            "mps": BENCH_MPS,
        }
        for a in bench_accounts
    ]
    port = free_port()
    receiver_process = ServiceProcess(
        "receiver", "tools.webhook_receiver", port, {"RECEIVER_PORT": str(port)}, log_dir / "receiver.log"
    )
    print(f"starting the receiver and the stack (logs in {log_dir})...", flush=True)
    await asyncio.to_thread(receiver_process.start)
    result: dict[str, Any] = {}
    http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
    receiver = Receiver(receiver_process, http)
    db: asyncpg.Connection | None = None
    try:
        await asyncio.to_thread(stack.start, phone_numbers)
        db = await asyncpg.connect(dsn(url))
        pids = {s.name: [s.process.pid] for s in stack.services if s.process is not None}
        pids["receiver"] = [receiver_process.process.pid] if receiver_process.process else []
        cpu = DatabaseCpuMeter({**pids, "bench": [os.getpid()]}, embedded_postmaster_pid())
        if "throughput" in args.parts:
            count = max(args.events, args.slow_events)
            print(f"deliveries/s: making {count} events of one account ({args.conversations} conversations)")
            made = await make_events(stack, replayed, count, 64)
            print(f"  {made['sends']} sync sends in {made['seconds']} s: {made['statuses']}", flush=True)
            result["throughput"] = {"made": made, "phases": [], "discarded_noisy_runs": []}
            for answer_ms, events in ((0, args.events), (args.slow_ms, args.slow_events)):

                def replay(answer_ms: int = answer_ms, events: int = events) -> Awaitable[dict[str, Any]]:
                    return replay_phase(args, stack, db, http, receiver, replayed, cpu, answer_ms, events)

                phase, disturbed = await measured(args, f"replay to {answer_ms} ms", replay)
                result["throughput"]["phases"].append(phase)
                result["throughput"]["discarded_noisy_runs"] += disturbed
                print(
                    f"  receiver answering in {answer_ms} ms: {phase['delivered']}/{phase['events']} "
                    f"delivered, {fmt(phase['per_second'])}/s (ceiling {fmt(phase['ceiling_per_second'])}), "
                    f"first {phase['first_after_replay_s']} s after the replay",
                    flush=True,
                )
        if "sync" in args.parts:
            print(
                f"sync send peak ({args.sync_latency_ms} ms, {args.sync_clients} clients), "
                f"without (A) and with (B) an endpoint per account:",
                flush=True,
            )
            runs: list[dict[str, Any]] = []
            discarded: list[dict[str, Any]] = []
            for pair in range(args.pairs):
                for status_webhooks in args.status_webhooks:
                    for with_endpoints in (False, True):

                        def sync(
                            with_endpoints: bool = with_endpoints, status_webhooks: bool = status_webhooks
                        ) -> Awaitable[dict[str, Any]]:
                            return sync_phase(
                                args,
                                stack,
                                url,
                                db,
                                http,
                                receiver,
                                senders,
                                cpu,
                                with_endpoints,
                                status_webhooks,
                            )

                        label = f"pair {pair + 1} {'B' if with_endpoints else 'A'}"
                        phase, disturbed = await measured(args, label, sync)
                        for run_ in (phase, *disturbed):
                            run_["pair"] = pair + 1
                        runs.append(phase)
                        discarded += disturbed
                        print(sync_progress(phase), flush=True)
            result["sync"] = {"runs": runs, "discarded_noisy_runs": discarded}
        # What still comes for the last phase's deleted endpoints.
        await asyncio.sleep(3.0)
        await receiver.settle()
        result["delivered_after_delete"] = dict(receiver.after_delete)
    finally:
        if db is not None:
            await db.close()
        await http.close()
        result["stopped"] = await asyncio.to_thread(stack.stop)
        result["stopped"]["receiver"] = await asyncio.to_thread(receiver_process.stop)
    return result


def sync_progress(phase: dict[str, Any]) -> str:
    label = (
        f"  pair {phase['pair']}, status webhooks {'on ' if phase['status_webhooks'] else 'off'}, "
        f"{'B' if phase['endpoints'] else 'A'}: {phase['per_second']:.1f} sends/s, "
        f"{phase['events_per_send']} events a send"
    )
    if phase["endpoints"]:
        lag = phase["lag_ms"]
        label += (
            f", {phase['deliveries_per_second']}/s delivered in the window, drained "
            f"{phase['drained_after_sends_stopped_s']} s after, lag p50 {fmt(lag['p50'])} "
            f"p99 {fmt(lag['p99'])} ms, {phase['attempts_per_round']} attempts a round"
        )
    return label + f", errors {phase['errors']}"


# --- report ------------------------------------------------------------------------------------


def cpu_line(figures: dict[str, float], names: tuple[str, ...] = SERVICES) -> str:
    return ", ".join(f"{n} {figures[n]:.2f}" for n in names if n in figures)


def summarise_sync(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per status-webhooks setting: the medians of A and B, their ratio, each pair's ratio."""
    summary = []
    for status_webhooks in sorted({r["status_webhooks"] for r in runs}):
        a = [r for r in runs if r["status_webhooks"] == status_webhooks and not r["endpoints"]]
        b = [r for r in runs if r["status_webhooks"] == status_webhooks and r["endpoints"]]
        a_rate, b_rate = median_of(r["per_second"] for r in a), median_of(r["per_second"] for r in b)
        pairs = [
            round(y["per_second"] / x["per_second"], 3) for x, y in zip(a, b, strict=False) if x["per_second"]
        ]

        def median_cpu(phases: list[dict[str, Any]]) -> dict[str, float]:
            names = {n for p in phases for n in p["cpu_ms_per_send"]}
            return {n: round(median_of(p["cpu_ms_per_send"].get(n) for p in phases) or 0.0, 3) for n in names}

        def median_cores(phases: list[dict[str, Any]]) -> dict[str, float]:
            names = {n for p in phases for n in p["cpu_cores"]}
            return {n: round(median_of(p["cpu_cores"].get(n) for p in phases) or 0.0, 3) for n in names}

        lags = {
            stat: median_of(r["lag_ms"][stat] for r in b) for stat in ("count", "p50", "p95", "p99", "max")
        }
        summary.append(
            {
                "status_webhooks": status_webhooks,
                "a_per_second": a_rate,
                "b_per_second": b_rate,
                "ratio": round(b_rate / a_rate, 3) if a_rate and b_rate else None,
                "pair_ratios": pairs,
                "target_met": (b_rate / a_rate >= 0.85) if a_rate and b_rate else None,
                "events_per_send": median_of(r["events_per_send"] for r in b),
                "deliveries_per_second": median_of(r["deliveries_per_second"] for r in b),
                "drained_after_s": median_of(r["drained_after_sends_stopped_s"] for r in b),
                "lag_ms": lags,
                "attempts_per_round": median_of(r["attempts_per_round"] for r in b),
                "commits_per_send_a": median_of(r["commits_per_send"] for r in a),
                "commits_per_send_b": median_of(r["commits_per_send"] for r in b),
                "cpu_ms_per_send_a": median_cpu(a),
                "cpu_ms_per_send_b": median_cpu(b),
                "cpu_cores_a": median_cores(a),
                "cpu_cores_b": median_cores(b),
            }
        )
    return summary


def report(document: dict[str, Any]) -> None:
    throughput = document.get("throughput")
    if throughput:
        print(
            f"\nDeliveries to one endpoint, replayed ({throughput['phases'][0]['events']} events over "
            f"{throughput['phases'][0]['conversations_in_events']} conversations; "
            f"OUTBOUND_WEBHOOK_PARALLELISM {document['config']['parallelism']})"
        )
        print(
            f"{'answer ms':>10}{'events':>8}{'deliv/s':>9}{'ceiling':>9}{'of it':>7}{'1st after':>11}"
            f"{'a round':>9}  CPU ms per delivery"
        )
        for phase in throughput["phases"]:
            print(
                f"{phase['answer_ms']:>10}{phase['delivered']:>8}{fmt(phase['per_second']):>9}"
                f"{fmt(phase['ceiling_per_second']):>9}{fmt(phase['of_ceiling'], 2):>7}"
                f"{fmt(phase['first_after_replay_s'], 2):>10}s{fmt(phase['attempts_per_round']):>9}  "
                f"{cpu_line(phase['cpu_ms_per_delivery'])}"
            )
    sync = document.get("sync")
    if sync:
        print(
            f"\nSync send peak, {document['config']['sync_latency_ms']} ms, "
            f"{document['config']['sync_clients']} clients: A no endpoint, B one '*' endpoint per "
            f"account at a 0 ms receiver"
        )
        print(
            f"{'status webhooks':>16}{'A /s':>8}{'B /s':>8}{'B/A':>6}  pairs{'':>8}{'ev/send':>8}"
            f"{'deliv/s':>9}{'drain s':>8}{'lag p50':>9}{'p95':>8}{'p99':>8}"
        )
        for s in sync["summary"]:
            lag = s["lag_ms"]
            print(
                f"{'on' if s['status_webhooks'] else 'off':>16}{fmt(s['a_per_second']):>8}"
                f"{fmt(s['b_per_second']):>8}{fmt(s['ratio'], 2):>6}  "
                f"{' '.join(f'{r:.2f}' for r in s['pair_ratios']):<13}{fmt(s['events_per_send'], 2):>8}"
                f"{fmt(s['deliveries_per_second']):>9}{fmt(s['drained_after_s'], 2):>8}"
                f"{fmt(lag['p50']):>9}{fmt(lag['p95']):>8}{fmt(lag['p99']):>8}"
            )
        for s in sync["summary"]:
            print(
                f"  status webhooks {'on ' if s['status_webhooks'] else 'off'}: PostgreSQL transactions "
                f"per send {fmt(s['commits_per_send_a'], 2)} -> {fmt(s['commits_per_send_b'], 2)}; "
                f"{fmt(s['attempts_per_round'])} deliveries a round"
            )
        print("CPU ms per send (medians), A -> B")
        for s in sync["summary"]:
            a, b = s["cpu_ms_per_send_a"], s["cpu_ms_per_send_b"]
            cells = ", ".join(f"{n} {a.get(n, 0.0):.2f} -> {b.get(n, 0.0):.2f}" for n in SERVICES if n in b)
            print(f"  status webhooks {'on ' if s['status_webhooks'] else 'off'}: {cells}")
        for s in sync["summary"]:
            met = {True: "MET", False: "MISSED", None: "not run"}[s["target_met"]]
            print(
                f"  {met:<8}status webhooks {'on' if s['status_webhooks'] else 'off'}: B / A "
                f"{fmt(s['ratio'], 3)} (target >= 0.85)"
            )


def report_after_delete(document: dict[str, Any]) -> None:
    after = document.get("delivered_after_delete")
    if after:
        print(
            f"\n{sum(after.values())} deliveries came after their endpoint's DELETE had been answered "
            f"({', '.join(f'{path}: {count}' for path, count in after.items())})"
        )


def errors_of(document: dict[str, Any]) -> list[str]:
    found = []
    for phase in document.get("throughput", {}).get("phases", []):
        if phase["delivered"] < phase["events"] or not phase["drained"]:
            found.append(
                f"replay to {phase['answer_ms']} ms: {phase['delivered']}/{phase['events']} delivered"
            )
        if phase["failed_attempts"] or phase["bad_signatures"]:
            found.append(
                f"replay to {phase['answer_ms']} ms: failed {phase['failed_attempts']}, "
                f"bad signatures {phase['bad_signatures']}"
            )
    made = document.get("throughput", {}).get("made")
    if made and set(made["statuses"]) - {"200"}:
        found.append(f"making events: {made['statuses']}")
    sync = document.get("sync", {})
    for phase in sync.get("runs", []) + sync.get("discarded_noisy_runs", []):
        name = f"sync pair {phase['pair']} {'B' if phase['endpoints'] else 'A'}"
        if phase["errors"]:
            found.append(f"{name}: {phase['errors']} failed sends {phase['statuses']}")
        if phase["endpoints"]:
            if not phase["drained"] or phase["missing"]:
                found.append(f"{name}: drained {phase['drained']}, {phase['missing']} events not delivered")
            if phase["failed_attempts"] or phase["bad_signatures"]:
                found.append(
                    f"{name}: failed {phase['failed_attempts']}, bad signatures {phase['bad_signatures']}"
                )
    return found


async def main(args: argparse.Namespace) -> int:
    started_at = datetime.now(UTC)
    document = results_document("outbound_webhooks", args, started_at)
    document.update(await run(args))
    if "sync" in document:
        document["sync"]["summary"] = summarise_sync(document["sync"]["runs"])
    report(document)
    report_after_delete(document)
    write_results(document, "outbound_webhooks", started_at)
    errors = errors_of(document)
    if errors:
        print("ERRORS: " + "; ".join(errors))
        return 1
    return 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    assert __doc__ is not None
    parser = argparse.ArgumentParser(
        prog="python -m bench.outbound_webhooks", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--parts",
        default="throughput,sync",
        type=lambda raw: raw.split(","),
        help="throughput, sync or both (default, in that order)",
    )
    parser.add_argument(
        "--events", type=int, default=10_000, help="events replayed to the 0 ms receiver (default 10000)"
    )
    parser.add_argument(
        "--slow-events", type=int, default=600, help="events replayed to the slow receiver (default 600)"
    )
    parser.add_argument(
        "--slow-ms", type=int, default=200, help="the slow receiver's answer time (default 200)"
    )
    parser.add_argument(
        "--parallelism",
        type=int,
        default=8,
        help="OUTBOUND_WEBHOOK_PARALLELISM, requests in flight per endpoint (default 8, the service's)",
    )
    parser.add_argument("--accounts", type=int, default=8, help="sending accounts (default 8)")
    parser.add_argument(
        "--conversations", type=int, default=64, help="conversations per account (default 64)"
    )
    parser.add_argument("--sync-clients", type=int, default=512, help="sync send clients (default 512)")
    parser.add_argument(
        "--sync-latency-ms", type=int, default=500, help="simulated latency of the sync peak (default 500)"
    )
    parser.add_argument("--pairs", type=int, default=3, help="A/B pairs per setting (default 3)")
    parser.add_argument(
        "--status-webhooks",
        default=[False, True],
        type=lambda raw: [{"off": False, "on": True}[item] for item in raw.split(",")],
        help="the simulator's status webhooks during the sync peak: off, on or off,on (default)",
    )
    parser.add_argument(
        "--duration", type=float, default=10.0, help="measured seconds per phase (default 10)"
    )
    parser.add_argument("--warmup", type=float, default=3.0, help="warm-up seconds (default 3)")
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=30.0,
        help=f"seconds to wait before a phase for under {NOISE_CORES} cores busy (default 30)",
    )
    parser.add_argument(
        "--noise-retries",
        type=int,
        default=2,
        help=f"measure a phase again while other programs used > {NOISE_CORES} cores (default 2 times)",
    )
    parser.add_argument(
        "--drain-timeout",
        type=float,
        default=120.0,
        help="seconds to wait for the endpoints to catch up after a phase (default 120)",
    )
    args = parser.parse_args(argv)
    if unknown := set(args.parts) - {"throughput", "sync"}:
        parser.error(f"unknown parts {sorted(unknown)}")
    return args


if __name__ == "__main__":
    sys.exit(uvloop.run(main(parse_args())))
