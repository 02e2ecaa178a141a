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
import contextlib
import os
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import uvloop

from bench.common import (
    LOG_DIR,
    CpuMeter,
    embedded_postmaster_pid,
    fresh_database,
    median_of,
    results_document,
    write_results,
)
from bench.http_load import ClosedLoop, OpenLoop
from bench.mixed_load import mixed
from bench.webhook_traffic import (
    BENCH_MPS,
    BenchAccount,
    create_sent_messages,
    fmt,
    forged_stream,
    lag_between,
    latency_ms,
    notification_stream,
    p50_p99,
    seed_accounts,
    send_requests,
    sim_call,
    statuses_of,
    wait_until_applied,
)
from tools.stack import Stack

INGEST_DATABASE = "pigeon_bench_webhooks"


# --- measuring ---------------------------------------------------------------------------------


async def closed_loop_phase(
    load: ClosedLoop, cpu: CpuMeter | None, warmup: float, duration: float
) -> tuple[float, float, float, dict[str, float]]:
    """Warm-up, then the measured window (cut short if the requests run out). Answers
    (window seconds, wall time at its start and end, CPU cores per process)."""
    await load.start()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(load.ran_out.wait(), warmup)
    if load.ran_out.is_set():
        await load.stop()
        raise SystemExit("the notifications ran out during the warm-up: give a larger --budget")
    wall0 = time.time()
    if cpu is not None:
        cpu.start()
    load.measure()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(load.ran_out.wait(), duration)
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
        f"preparing database {INGEST_DATABASE}: {args.accounts} accounts x {args.conversations} conversations"
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
                f"  ingest c{clients}: {level['per_second']}/s (applied {level['applied_per_second']}/s), "
                f"answer {p50_p99(level['answer_ms'])}, lag {p50_p99(level['lag_ms'])}, {level['statuses']}",
                flush=True,
            )
        for rate in args.steady_rates:
            steady = await steady_rate(args, stack, accounts, rate, cpu)
            result.setdefault("steady", []).append(steady)
            print(
                f"  steady {rate}/s: answer {p50_p99(steady['answer_ms'])},"
                f" CPU ms per notification {steady['cpu_ms_per_notification']}",
                flush=True,
            )
        if args.forged_runs:
            result["forged"] = await forged_flood(args, stack, url, accounts, cpu)
    finally:
        result["stopped"] = await asyncio.to_thread(stack.stop)
    return result


# --- report ------------------------------------------------------------------------------------


def report(document: dict[str, Any]) -> None:
    ingest_result = document.get("ingest")
    if ingest_result:
        report_ingestion(ingest_result)
    mixed_result = document.get("mixed")
    if mixed_result:
        report_mixed(mixed_result)


def report_ingestion(result: dict[str, Any]) -> None:
    print("\nIngestion (signed notifications, closed loop)")
    header = f"{'clients':>8}{'notif/s':>9}{'applied':>9}{'ans p50':>9}{'p99':>8}{'lag p50':>9}{'p99':>9}"
    print(header + "  CPU ms per notification")
    print("-" * (len(header) + 60))
    for level in result["levels"]:
        answer, lag = level["answer_ms"], level["lag_ms"]
        cpu = " ".join(f"{k} {v:.2f}" for k, v in level["cpu_ms_per_notification"].items())
        print(
            f"{level['clients']:>8}{level['per_second']:>9.1f}{level['applied_per_second']:>9.1f}"
            f"{fmt(answer['p50']):>9}{fmt(answer['p99']):>8}{fmt(lag['p50']):>9}{fmt(lag['p99']):>9}  {cpu}"
        )
    # Sustained: what was both answered and applied in the window.
    peak = max(min(level["per_second"], level["applied_per_second"]) for level in result["levels"])
    sync = result.get("sync_peak")
    if sync:
        ratio = peak / sync["per_second"] if sync["per_second"] else None
        print(
            f"ingestion peak {peak:.1f}/s, sync send peak {sync['per_second']:.1f}/s: "
            f"{fmt(ratio, 2)} x (target >= 3)"
        )
    forged = result.get("forged")
    if forged:
        print(
            f"forged flood: signed traffic {forged['signed_with_flood_per_second']:.1f}/s with it, "
            f"{forged['signed_alone_per_second']:.1f}/s alone: kept {fmt(forged['kept'], 2)} (target >= 0.8)"
        )


def report_mixed(result: dict[str, Any]) -> None:
    print("\nMixed load (make run's defaults), medians of the runs")
    on = [r for r in result["runs"] if r["webhooks"]]
    off = [r for r in result["runs"] if not r["webhooks"]]
    for name, runs in (("webhooks on", on), ("webhooks off", off)):
        if not runs:
            continue

        def median(path: tuple[str, ...], runs: list[dict[str, Any]] = runs) -> str:
            values = []
            for run in runs:
                value: Any = run
                for key in path:
                    value = value[key]
                values.append(value)
            return fmt(median_of(values))

        print(
            f"  {name}: sync overhead p50 {median(('sync', 'overhead_ms', 'p50'))} "
            f"p99 {median(('sync', 'overhead_ms', 'p99'))} ms; "
            f"WhatsApp {median(('whatsapp_per_second',))}/s; "
            f"webhook answer p99 {median(('webhook_answer_ms', 'p99'))} ms; "
            f"lag p99 {median(('lag_ms', 'p99'))} ms"
        )
        print(
            f"    webhook failures {[r['webhook_failures'] for r in runs]}; all read "
            f"{[r['all_read_after_last_status_s'] for r in runs]} s after the simulator's last status"
        )
    p50_on = median_of([r["sync"]["overhead_ms"]["p50"] for r in on])
    p50_off = median_of([r["sync"]["overhead_ms"]["p50"] for r in off])
    if p50_on and p50_off:
        print(f"  sync overhead p50 with webhooks / without: {p50_on / p50_off:.2f} (target <= 1.2)")


async def main(args: argparse.Namespace) -> int:
    started_at = datetime.now(UTC)
    document = results_document("webhooks", args, started_at)
    if "ingest" in args.parts:
        document["ingest"] = await ingest(args)
    if "mixed" in args.parts:
        document["mixed"] = await mixed(args)
    report(document)
    write_results(document, "webhooks", started_at)
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
