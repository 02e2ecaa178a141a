"""Benchmark of the synchronous send path: `python -m bench.sync_send` (or `make bench`).

Self-contained: PostgreSQL (DATABASE_URL's server, otherwise the embedded one), a fresh
database `pigeon_bench`, migrations, seeded accounts, then the whole stack (simulator, sender,
conversations, gateway) as real processes with logs in .pigeon/bench-logs. For each scenario
(simulated WhatsApp latency and number of concurrent clients) the benchmark process drives
`POST /messages/send` through one pooled aiohttp session on uvloop: a warm-up, then a measured
phase; every scenario is repeated `--runs` times and the median of each figure is reported.

Overhead is what pigeon adds to WhatsApp's own time: for every measured send, the client's
latency minus the simulator's own time for that request (its answered_at - received_at, matched
by wa_message_id from `GET /_sim/requests`). The simulator's HTTP parsing and writing, and the
benchmark client's own, are therefore counted as overhead. `overhead_fixed` subtracts the
configured latency instead, for comparison.

Also reported: the CPU each process used during the measured phase (from /proc), the stages of
the gateway's Server-Timing header, and the CPU other programs used meanwhile. The machine is
shared: before each run the benchmark waits for it to be quiet, and a run during which other
programs used more than NOISE_CORES is repeated (up to --noise-retries times; the disturbed run
is kept in the JSON, out of the medians). Every non-200 (or a 200 whose status is not "sent")
counts as an error and makes the exit status 1.

Results: a table on stdout and JSON in .pigeon/bench-results/sync_send-<timestamp>.json.
"""

import argparse
import asyncio
import contextlib
import itertools
import os
import shlex
import shutil
import sys
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import aiohttp
import orjson
import uvloop
from sqlalchemy.ext.asyncio import create_async_engine

from bench.common import (
    LOG_DIR,
    RESULTS_DIR,
    CpuMeter,
    add_stack_arguments,
    check_stack_arguments,
    distribution_ms,
    embedded_postmaster_pid,
    fresh_database,
    git_revision,
    machine,
    machine_busy_cores,
    median_of,
    python_speed_seconds,
    unix_socket_folder,
)
from services.conversations.migrate import sqlalchemy_url
from tools.seed import SeededAccount, create_account
from tools.stack import ServiceProcess, Stack, free_port

DATABASE_NAME = "pigeon_bench"
# High enough that the simulator's per-number throughput limit never answers 130429.
BENCH_MPS = 100_000
MESSAGE_TEXT = "Your order #4711 has shipped and will arrive tomorrow."

# Given by the issue as context; not measured by this benchmark.
NAIVE_DESIGN_REFERENCE = (
    "A single-process FastAPI version of the naive design, measured on this kind of machine "
    "(2 cores), spends 2.7 ms p50 at 0 ms simulated latency and tops out near 420 sends/s at 500 ms."
)


@dataclass(frozen=True)
class Scenario:
    latency_ms: int
    concurrency: int
    # "pigeon", or "naive": the design pigeon replaces (bench/naive_app.py), driven alike.
    target: str = "pigeon"

    @property
    def key(self) -> str:
        prefix = "" if self.target == "pigeon" else f"{self.target} "
        return f"{prefix}{self.latency_ms}ms/c{self.concurrency}"


@dataclass(frozen=True)
class Target:
    scenario: str
    metric: str  # a key of a run's flat figures
    op: str  # "<=" or ">="
    threshold: float
    text: str

    def check(self, value: float | None) -> bool | None:
        if value is None:
            return None
        return value <= self.threshold if self.op == "<=" else value >= self.threshold


TARGETS = [
    Target("0ms/c1", "overhead_p50_ms", "<=", 2.0, "simulator 0 ms, 1 client: overhead p50 <= 2 ms"),
    Target("0ms/c64", "overhead_p99_ms", "<=", 25.0, "simulator 0 ms, 64 clients: overhead p99 <= 25 ms"),
    Target("500ms/c1", "overhead_p50_ms", "<=", 8.0, "simulator 500 ms, 1 client: overhead p50 <= 8 ms"),
    Target("500ms/c512", "throughput", ">=", 800.0, "simulator 500 ms, 512 clients: >= 800 sends/s"),
]

# CPU used outside the stack, PostgreSQL and the benchmark above which a run is flagged as noisy.
NOISE_CORES = 0.25

DEFAULT_SCENARIOS = "0:1,0:64,500:1,500:64,500:512"


def parse_scenarios(raw: str) -> list[Scenario]:
    scenarios = []
    for item in raw.split(","):
        latency, _, concurrency = item.strip().partition(":")
        if not latency.isdigit() or not concurrency.isdigit() or int(concurrency) < 1:
            raise argparse.ArgumentTypeError(f"scenario {item!r}: expected LATENCY_MS:CONCURRENCY")
        scenarios.append(Scenario(int(latency), int(concurrency)))
    return scenarios


# --- load generation ----------------------------------------------------------------------------


@dataclass
class Sample:
    started: float
    ended: float
    status: int | str  # HTTP status, or the exception's class name
    body: bytes
    server_timing: str | None = None  # the gateway's Server-Timing header


@dataclass
class Load:
    """Shared by the workers of one scenario run. Times are perf_counter() seconds."""

    session: aiohttp.ClientSession
    url: str
    requests: list[tuple[dict[str, str], bytes]]
    counter: "itertools.count[int]" = field(default_factory=itertools.count)
    stopping: bool = False
    completed: int = 0
    t0: float = float("inf")  # start of the measured phase
    t1: float = float("inf")  # its end
    measured: list[Sample] = field(default_factory=list)
    min_samples: int = 0
    enough: asyncio.Event = field(default_factory=asyncio.Event)  # set once min_samples sends are measured
    ok_in_window: int = 0  # 200s that ended inside [t0, t1], whenever they started

    async def worker(self) -> None:
        session, url, requests, counter = self.session, self.url, self.requests, self.counter
        n = len(requests)
        clock = time.perf_counter
        while not self.stopping:
            headers, body = requests[next(counter) % n]
            started = clock()
            status: int | str
            timing = None
            try:
                async with session.post(url, data=body, headers=headers) as response:
                    payload = await response.read()
                    status = response.status
                    timing = response.headers.get("Server-Timing")
            except Exception as exc:  # every failure is counted, none is hidden
                payload = repr(exc).encode()
                status = type(exc).__name__
            ended = clock()
            self.completed += 1
            if self.t0 <= started < self.t1:
                self.measured.append(Sample(started, ended, status, payload, timing))
                if status == 200 and len(self.measured) >= self.min_samples:
                    self.enough.set()
            if status == 200 and self.t0 <= ended <= self.t1:
                self.ok_in_window += 1


async def sim_call(control: aiohttp.ClientSession, method: str, url: str, body: Any = None) -> Any:
    data = orjson.dumps(body) if body is not None else None
    async with control.request(method, url, data=data) as response:
        payload = await response.read()
        if response.status >= 300:
            raise RuntimeError(f"{method} {url} answered {response.status}: {payload[:300]!r}")
        return orjson.loads(payload) if payload else None


async def run_scenario(
    scenario: Scenario,
    args: argparse.Namespace,
    stack: Stack,
    control: aiohttp.ClientSession,
    requests: list[tuple[dict[str, str], bytes]],
    cpu: CpuMeter,
    naive_url: str = "",
) -> dict[str, Any]:
    sim = stack.simulator_url
    url = f"{naive_url if scenario.target == 'naive' else stack.gateway_url}/messages/send"
    await sim_call(control, "PATCH", f"{sim}/_sim/config", {"latency": str(scenario.latency_ms)})
    await sim_call(control, "DELETE", f"{sim}/_sim/requests")
    connector = aiohttp.TCPConnector(limit=scenario.concurrency + 8, limit_per_host=0, keepalive_timeout=120)
    timeout = aiohttp.ClientTimeout(total=args.request_timeout)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        load = Load(session, url, requests, min_samples=args.min_samples)
        workers = [asyncio.create_task(load.worker()) for _ in range(scenario.concurrency)]
        try:
            begin = time.perf_counter()
            # Warm-up: at least --warmup seconds and --warmup-requests sends, at most 5 x --warmup.
            while True:
                await asyncio.sleep(0.05)
                elapsed = time.perf_counter() - begin
                if elapsed >= 5 * args.warmup or (
                    elapsed >= args.warmup and load.completed >= args.warmup_requests
                ):
                    break
            warmup_sends = load.completed
            wall0 = time.time()
            cpu.start()
            load.t0 = time.perf_counter()
            # Measured phase: --duration seconds, extended until --min-samples sends have started
            # and finished (the 500 ms, 1 client case makes only 2 sends a second).
            await asyncio.sleep(args.duration)
            if not load.enough.is_set():
                remaining = load.t0 + max(args.duration, args.max_duration) - time.perf_counter()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(load.enough.wait(), max(0.0, remaining))
            load.t1 = time.perf_counter()
            cores = cpu.stop()
            load.stopping = True
            await asyncio.wait_for(asyncio.gather(*workers), args.request_timeout + 5)
        finally:
            load.stopping = True
            for task in workers:
                task.cancel()
            await asyncio.gather(*workers, return_exceptions=True)

    window = load.t1 - load.t0
    sim_seconds: dict[str, float] = {}
    if not args.no_sim_match:
        records = await sim_call(control, "GET", f"{sim}/_sim/requests?since={wall0 - 1.0}")
        for record in records["requests"]:
            if record["wa_message_id"] and record["answered_at"] is not None:
                sim_seconds[record["wa_message_id"]] = record["answered_at"] - record["received_at"]

    configured = scenario.latency_ms / 1000.0
    latencies: list[float] = []
    overheads: list[float] = []
    overheads_fixed: list[float] = []
    sim_times: list[float] = []
    statuses: Counter[str] = Counter()
    error_examples: dict[str, str] = {}
    unmatched = 0
    # Stages of the gateway's Server-Timing header, plus what they do not cover.
    stages: dict[str, list[float]] = {}
    for sample in load.measured:
        latency = sample.ended - sample.started
        ok = sample.status == 200
        wamid = None
        if ok:
            try:
                message = orjson.loads(sample.body)
                ok = message.get("status") == "sent"
                wamid = message.get("wa_message_id")
            except orjson.JSONDecodeError:
                ok = False
        label = "200" if ok else ("200 not sent" if sample.status == 200 else str(sample.status))
        statuses[label] += 1
        if not ok:
            error_examples.setdefault(label, sample.body[:300].decode(errors="replace"))
            continue
        latencies.append(latency)
        overheads_fixed.append(latency - configured)
        sim_time: float | None = None
        if args.no_sim_match:
            overheads.append(latency - configured)
        elif wamid in sim_seconds:
            sim_time = sim_seconds[wamid]
            sim_times.append(sim_time)
            overheads.append(latency - sim_time)
        else:
            unmatched += 1
        if sample.server_timing:
            parsed = parse_server_timing(sample.server_timing)
            for name, seconds in parsed.items():
                stages.setdefault(name, []).append(seconds)
            if sim_time is not None and "whatsapp" in parsed:
                stages.setdefault("whatsapp-sim", []).append(parsed["whatsapp"] - sim_time)
            stages.setdefault("outside", []).append(latency - sum(parsed.values()))

    errors = sum(n for label, n in statuses.items() if label != "200")
    return {
        "scenario": scenario.key,
        "sim_latency_ms": scenario.latency_ms,
        "concurrency": scenario.concurrency,
        "warmup_sends": warmup_sends,
        "window_seconds": round(window, 3),
        "measured_sends": len(load.measured),
        "ok_sends": len(latencies),
        "errors": errors,
        "statuses": dict(statuses),
        "error_examples": error_examples,
        "throughput": load.ok_in_window / window,
        "latency_ms": distribution_ms(latencies),
        "overhead_ms": distribution_ms(overheads),
        "overhead_fixed_ms": distribution_ms(overheads_fixed),
        "simulator_ms": distribution_ms(sim_times),
        # "whatsapp-sim": the sender call minus the simulator's own time; "outside": latency
        # not covered by the handler's stages (client, HTTP, gateway middlewares, response).
        "server_timing_ms": {name: distribution_ms(values) for name, values in stages.items()},
        "sim_unmatched": unmatched if not args.no_sim_match else None,
        "cpu_cores": cores,
    }


def parse_server_timing(header: str) -> dict[str, float]:
    """`lookup;dur=1.23, whatsapp;dur=0.50` -> {"lookup": 0.00123, ...} in seconds."""
    stages = {}
    for metric in header.split(","):
        name, _, params = metric.strip().partition(";")
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "dur":
                with contextlib.suppress(ValueError):
                    stages[name] = float(value) / 1000.0
    return stages


def progress(run_index: int, runs: int, scenario: Scenario, run: dict[str, Any], noisy: bool) -> str:
    latency, overhead = run["latency_ms"], run["overhead_ms"]
    cpu = " ".join(
        f"{name} {cores:.2f}" for name, cores in run["cpu_cores"].items() if not name.endswith("_sys")
    )
    return (
        f"run {run_index + 1}/{runs} {scenario.key:<17} {run['ok_sends']:>6} ok {run['errors']:>4} err "
        f"{run['throughput']:8.1f}/s  lat p50 {fmt(latency['p50'], 2)} p99 {fmt(latency['p99'], 2)}  "
        f"ovh p50 {fmt(overhead['p50'], 2)} p99 {fmt(overhead['p99'], 2)}  cpu {cpu}"
        + ("  NOISY" if noisy else "")
    )


async def wait_for_quiet(limit_seconds: float) -> None:
    """Waits (up to limit_seconds) until the machine is nearly idle: other programs sharing it
    would otherwise take CPU from the run. The stack itself is idle between runs."""
    deadline = time.monotonic() + limit_seconds
    while True:
        busy = await asyncio.to_thread(machine_busy_cores, 1.0)
        if busy < NOISE_CORES or time.monotonic() >= deadline:
            if busy >= NOISE_CORES:
                print(f"machine still busy ({busy:.2f} cores) after {limit_seconds:.0f} s; running anyway")
            return


def flat(run: dict[str, Any]) -> dict[str, float | None]:
    """The figures whose median across runs is reported."""
    figures: dict[str, float | None] = {
        "throughput": run["throughput"],
        "errors": run["errors"],
        "ok_sends": run["ok_sends"],
    }
    for group in ("latency_ms", "overhead_ms", "overhead_fixed_ms", "simulator_ms"):
        prefix = group.removesuffix("_ms")
        for stat in ("p50", "p90", "p99", "max"):
            figures[f"{prefix}_{stat}_ms"] = run[group][stat]
    for name, cores in run["cpu_cores"].items():
        figures[f"cpu_{name}"] = cores
    for name, stage in run["server_timing_ms"].items():
        for stat in ("p50", "p99"):
            figures[f"stage_{name}_{stat}_ms"] = stage[stat]
    return figures


# --- setup ------------------------------------------------------------------------------------


async def seed(url: str, accounts: int, conversations: int) -> list[SeededAccount]:
    engine = create_async_engine(sqlalchemy_url(url))
    try:
        return [
            await create_account(
                engine, f"Bench {i + 1}", conversations=conversations, messages_per_second=BENCH_MPS
            )
            for i in range(accounts)
        ]
    finally:
        await engine.dispose()


def prebuilt_requests(accounts: list[SeededAccount]) -> list[tuple[dict[str, str], bytes]]:
    """One (headers, body) per conversation, interleaving accounts: built once, sent as is."""
    per_account = [
        [
            (
                {"Authorization": f"Bearer {account.api_key}", "Content-Type": "application/json"},
                orjson.dumps(
                    {"conversation_id": conversation_id, "type": "text", "text": {"body": MESSAGE_TEXT}}
                ),
            )
            for conversation_id in account.conversation_ids
        ]
        for account in accounts
    ]
    return [request for group in itertools.zip_longest(*per_account) for request in group if request]


def fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def print_tables(results: list[dict[str, Any]], runs: int) -> None:
    print(f"\nSync send, median of {runs} run(s) per scenario (ms unless noted)")
    header = (
        f"{'scenario':<18}{'sends':>7}{'err':>5}{'sends/s':>9}"
        f"{'lat p50':>9}{'p90':>8}{'p99':>8}{'ovh p50':>9}{'p90':>8}{'p99':>8}{'fixed p50':>10}{'p99':>8}"
    )
    print(header)
    print("-" * len(header))
    for result in results:
        m = result["median"]
        print(
            f"{result['scenario']:<18}{fmt(m['ok_sends'], 0):>7}{fmt(m['errors'], 0):>5}"
            f"{fmt(m['throughput']):>9}"
            f"{fmt(m['latency_p50_ms'], 2):>9}{fmt(m['latency_p90_ms'], 2):>8}"
            f"{fmt(m['latency_p99_ms'], 2):>8}"
            f"{fmt(m['overhead_p50_ms'], 2):>9}{fmt(m['overhead_p90_ms'], 2):>8}"
            f"{fmt(m['overhead_p99_ms'], 2):>8}"
            f"{fmt(m['overhead_fixed_p50_ms'], 2):>10}{fmt(m['overhead_fixed_p99_ms'], 2):>8}"
        )
    names = ["gateway", "conversations", "sender", "simulator", "postgres", "bench", "other", "machine"]
    if any(r["median"].get("cpu_naive") is not None for r in results):
        names.insert(0, "naive")
    print("\nCPU during the measured phase: cores used (share of it in the kernel)")
    header = f"{'scenario':<18}" + "".join(f"{name:>15}" for name in names)
    print(header)
    print("-" * len(header))

    def cpu_cell(m: dict[str, Any], name: str) -> str:
        total, system = m.get(f"cpu_{name}"), m.get(f"cpu_{name}_sys")
        if total is None:
            return "-"
        share = f" ({100 * system / total:.0f}%)" if system is not None and total > 0 else ""
        return f"{total:.2f}{share}"

    for result in results:
        m = result["median"]
        print(f"{result['scenario']:<18}" + "".join(f"{cpu_cell(m, n):>15}" for n in names))
    noisy = [
        f"{r['scenario']} run {i + 1}: {run['cpu_cores']['other']:.2f}"
        for r in results
        for i, run in enumerate(r["runs"])
        if run["cpu_cores"].get("other", 0.0) > NOISE_CORES
    ]
    if noisy:
        print(f"NOISE: other programs used more than {NOISE_CORES} cores during " + "; ".join(noisy))
    discarded = sum(len(r.get("discarded_noisy_runs", [])) for r in results)
    if discarded:
        print(f"{discarded} run(s) disturbed by other programs were repeated (kept in the JSON only)")
    stage_names: list[str] = []
    for result in results:
        for key in result["median"]:
            if key.startswith("stage_") and key.endswith("_p50_ms"):
                name = key.removeprefix("stage_").removesuffix("_p50_ms")
                if name not in stage_names:
                    stage_names.append(name)
    if stage_names:
        print("\nWhere a send's time goes (gateway Server-Timing stages), p50 / p99 ms")
        header = f"{'scenario':<18}" + "".join(f"{name:>17}" for name in stage_names)
        print(header)
        print("-" * len(header))
        for result in results:
            m = result["median"]
            cells = [
                f"{fmt(m.get(f'stage_{n}_p50_ms'), 2)} / {fmt(m.get(f'stage_{n}_p99_ms'), 1)}"
                for n in stage_names
            ]
            print(f"{result['scenario']:<18}" + "".join(f"{cell:>17}" for cell in cells))
    print_comparison(results)
    errors = [(r["scenario"], run) for r in results for run in r["runs"] if run["errors"]]
    if errors:
        print("\nERRORS (every non-200, or a 200 whose status is not 'sent'):")
        for key, run in errors:
            print(f"  {key}: {run['statuses']} e.g. {run['error_examples']}")


def print_comparison(results: list[dict[str, Any]]) -> None:
    """pigeon against the naive design, scenario by scenario, from the same run."""
    by_key = {r["scenario"]: r["median"] for r in results}
    pairs = [(key, by_key[f"naive {key}"]) for key in by_key if f"naive {key}" in by_key]
    if not pairs:
        return
    print("\npigeon against the naive design (bench/naive_app.py), same run, medians")
    header = (
        f"{'scenario':<18}{'sends/s':>9}{'naive':>9}{'ratio':>7}"
        f"{'ovh p50':>9}{'naive':>9}{'ovh p99':>9}{'naive':>9}"
    )
    print(header)
    print("-" * len(header))
    for key, naive in pairs:
        m = by_key[key]
        ratio = m["throughput"] / naive["throughput"] if naive["throughput"] else None
        print(
            f"{key:<18}{fmt(m['throughput']):>9}{fmt(naive['throughput']):>9}{fmt(ratio, 2):>7}"
            f"{fmt(m['overhead_p50_ms'], 2):>9}{fmt(naive['overhead_p50_ms'], 2):>9}"
            f"{fmt(m['overhead_p99_ms'], 1):>9}{fmt(naive['overhead_p99_ms'], 1):>9}"
        )


def evaluate(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by_key = {r["scenario"]: r for r in results}
    verdicts = []
    for target in TARGETS:
        result = by_key.get(target.scenario)
        value = result["median"].get(target.metric) if result else None
        verdicts.append(
            {
                "target": target.text,
                "scenario": target.scenario,
                "metric": target.metric,
                "threshold": target.threshold,
                "median": value,
                "met": target.check(value),
            }
        )
    return verdicts


# --- main -------------------------------------------------------------------------------------


async def main(args: argparse.Namespace) -> int:
    started_at = datetime.now(UTC)
    revision = git_revision()
    print(
        f"code: {revision['commit']}"
        + (f" with local changes {revision['dirty_files']}" if revision["dirty_files"] else "")
    )
    print(f"python speed: {python_speed_seconds():.3f} s for the yardstick loop (lower is faster)")
    print(f"preparing database {DATABASE_NAME} and seeding {args.accounts} x {args.conversations}...")
    url = await fresh_database(DATABASE_NAME)
    accounts = await seed(url, args.accounts, args.conversations)
    requests = prebuilt_requests(accounts)
    phone_numbers = [
        {"phone_number_id": a.phone_number_id, "access_token": a.access_token, "mps": BENCH_MPS}
        for a in accounts
    ]
    sockets = unix_socket_folder(args.unix_sockets)
    # With --tracing the services trace (that share of the sends) and export the spans over OTLP
    # to a receiver that discards them.
    sink_port = free_port()
    sink = (
        ServiceProcess(
            "otlp-sink",
            "tools.otlp_sink",
            sink_port,
            {"OTLP_SINK_PORT": str(sink_port)},
            LOG_DIR / "otlp-sink.log",
        )
        if args.tracing is not None
        else None
    )
    tracing_env = (
        {
            "TRACING_ENABLED": "true",
            "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{sink_port}",
            "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
            "OTEL_TRACES_SAMPLER_ARG": str(args.tracing),
        }
        if sink
        else {}
    )
    stack = Stack(
        database_url=url,
        log_dir=LOG_DIR,
        # The gateway's per-key request limit stays on (its cost is part of the path) but
        # high enough never to refuse the benchmark's traffic.
        extra_env={"RATE_LIMIT_PER_SECOND": "1000000", "RATE_LIMIT_BURST": "1000000", **tracing_env},
        sim_env={"SIM_LATENCY": "0", "SIM_WEBHOOK_URL": ""},
        replicas=args.replicas,
        unix_socket_dir=sockets,
    )
    transport = "Unix sockets" if args.unix_sockets else "TCP"
    print(
        f"starting the stack (logs in {LOG_DIR}, replicas {args.replicas or 'one each'}, "
        f"gRPC over {transport}, tracing {f'on, sampling {args.tracing}' if sink else 'off'})..."
    )
    if sink:
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        await asyncio.to_thread(sink.start)
    await asyncio.to_thread(stack.start, phone_numbers)
    if sink:
        stack.services.insert(0, sink)  # stopped with the stack, after the services
    naive: ServiceProcess | None = None
    results: list[dict[str, Any]] = [
        {"scenario": s.key, "sim_latency_ms": s.latency_ms, "concurrency": s.concurrency, "runs": []}
        for s in args.scenarios
    ]
    try:
        if args.naive:
            port = free_port()
            naive_env = {
                "DATABASE_URL": url,
                "WHATSAPP_BASE_URL": stack.simulator_url,
                "NAIVE_PORT": str(port),
            }
            naive = ServiceProcess("naive", "bench.naive_app", port, naive_env, LOG_DIR / "naive.log")
            stack.services.insert(1, naive)  # stopped with the stack, before the simulator
            await asyncio.to_thread(naive.start)
        pids = {s.name: [s.process.pid] for s in stack.services if s.process is not None}
        print("stack pids: " + ", ".join(f"{name} {ids[0]}" for name, ids in pids.items()), flush=True)
        cpu = CpuMeter({**pids, "bench": [os.getpid()]}, embedded_postmaster_pid())
        async with aiohttp.ClientSession() as control:
            # Runs are interleaved (every scenario once, then again) so slow drift spreads evenly.
            for run_index in range(args.runs):
                order = list(zip(args.scenarios, results, strict=True))
                if args.naive and run_index % 2:
                    # pigeon and naive twins swap places every other run: neither always
                    # inherits the other's after-effects (vacuum, checkpoints).
                    order = [pair for i in range(0, len(order), 2) for pair in reversed(order[i : i + 2])]
                for scenario, result in order:
                    for attempt in range(args.noise_retries + 1):
                        await wait_for_quiet(args.quiet_wait)
                        run = await run_scenario(
                            scenario,
                            args,
                            stack,
                            control,
                            requests,
                            cpu,
                            f"http://127.0.0.1:{naive.port}" if naive else "",
                        )
                        noisy = run["cpu_cores"]["other"] > NOISE_CORES
                        print(progress(run_index, args.runs, scenario, run, noisy), flush=True)
                        await asyncio.sleep(args.pause)
                        if not noisy or attempt == args.noise_retries:
                            result["runs"].append(run)
                            break
                        # Kept in the JSON, left out of the medians; the errors still count.
                        result.setdefault("discarded_noisy_runs", []).append(run)
    finally:
        codes = await asyncio.to_thread(stack.stop)
        print(f"stack stopped: {codes}")
        if sockets is not None:
            shutil.rmtree(sockets, ignore_errors=True)

    for result in results:
        figures = [flat(run) for run in result["runs"]]
        result["median"] = {key: median_of(f.get(key) for f in figures) for key in figures[0]}
    verdicts = evaluate(results)
    print_tables(results, args.runs)
    print("\nTargets (on the medians):")
    for verdict in verdicts:
        met = {True: "MET", False: "MISSED", None: "not run"}[verdict["met"]]
        print(f"  {met:<8}{verdict['target']}: {fmt(verdict['median'], 2)}")
    print(f"\nFor context (not measured here): {NAIVE_DESIGN_REFERENCE}")

    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"sync_send-{started_at.strftime('%Y%m%dT%H%M%SZ')}.json"
    document = {
        "benchmark": "sync_send",
        "started_at": started_at.isoformat(),
        "command": " ".join(shlex.quote(a) for a in ["python", "-m", "bench.sync_send", *sys.argv[1:]]),
        "machine": machine(),
        "code": revision,
        "config": {
            **{k: v for k, v in vars(args).items() if k != "scenarios"},
            "scenarios": [s.key for s in args.scenarios],
            "overhead_definition": "client latency minus the simulator's answered_at - received_at "
            "for the same wa_message_id; overhead_fixed subtracts the configured latency",
        },
        "targets": verdicts,
        "naive_design_reference": NAIVE_DESIGN_REFERENCE,
        "scenarios": results,
    }
    path.write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2))
    print(f"results written to {path}")
    failed_runs = sum(run["errors"] for r in results for run in r["runs"] + r.get("discarded_noisy_runs", []))
    return 1 if failed_runs else 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.sync_send", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--naive",
        action="store_true",
        help="also drive the naive design (bench/naive_app.py) with each scenario, interleaved",
    )
    parser.add_argument(
        "--scenarios",
        type=parse_scenarios,
        default=parse_scenarios(DEFAULT_SCENARIOS),
        help=f"comma-separated LATENCY_MS:CONCURRENCY pairs (default {DEFAULT_SCENARIOS})",
    )
    parser.add_argument("--runs", type=int, default=3, help="repetitions of each scenario (default 3)")
    parser.add_argument("--duration", type=float, default=10.0, help="measured seconds (default 10)")
    parser.add_argument(
        "--min-samples",
        type=int,
        default=60,
        help="extend the measured phase until this many sends were measured (default 60)",
    )
    parser.add_argument(
        "--max-duration", type=float, default=60.0, help="cap on the extended phase (default 60 s)"
    )
    parser.add_argument("--warmup", type=float, default=2.0, help="warm-up seconds (default 2)")
    parser.add_argument(
        "--warmup-requests", type=int, default=200, help="warm-up sends, within 5 x --warmup (default 200)"
    )
    parser.add_argument("--accounts", type=int, default=8, help="seeded accounts (default 8)")
    parser.add_argument(
        "--conversations", type=int, default=64, help="conversations per account (default 64)"
    )
    parser.add_argument("--request-timeout", type=float, default=30.0, help="client timeout per send")
    parser.add_argument("--pause", type=float, default=1.0, help="seconds between scenario runs")
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=60.0,
        help=f"before each run, wait up to this long for other programs to use < {NOISE_CORES} cores",
    )
    parser.add_argument(
        "--noise-retries",
        type=int,
        default=2,
        help=f"repeat a run during which other programs used > {NOISE_CORES} cores (default 2 times)",
    )
    add_stack_arguments(parser)
    parser.add_argument(
        "--tracing",
        nargs="?",
        type=float,
        const=1.0,
        metavar="RATIO",
        help="services trace this share of the sends (default 1: all; TRACING_ENABLED), exporting over "
        "OTLP to a receiver that discards the spans (tools/otlp_sink.py)",
    )
    parser.add_argument(
        "--no-sim-match",
        action="store_true",
        help="skip GET /_sim/requests; overhead is then only latency minus the configured latency",
    )
    args = parser.parse_args(argv)
    check_stack_arguments(parser, args)
    if args.naive:
        args.scenarios = [twin for s in args.scenarios for twin in (s, replace(s, target="naive"))]
    return args


if __name__ == "__main__":
    sys.exit(uvloop.run(main(parse_args())))
