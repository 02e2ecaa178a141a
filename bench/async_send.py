"""Benchmark of asynchronous sending: `python -m bench.async_send`.

Three measurements, each repeated `--runs` times (the median is reported):

- accept: `POST /messages/send-async` at concurrency 16 for `--seconds`; latency and
  accepted/s, then a check that every 202 is committed in PostgreSQL. The dispatcher is
  off during it, so the figure is the accept path's own (on 2 shared cores, delivering at
  the same time would take CPU from it).
- drain: 20,000 messages queued across 50 accounts (80 messages/s each, their default),
  then a dispatcher started; delivered/s until all are sent, with the simulator at 500 ms,
  and the most requests any phone number received within one second (must stay <= 80).
- event delay: at low load (one send every 100 ms, simulator at 0 ms) the time from the
  POST to the `message.sent` frame on a WebSocket.

Self-contained like bench.sync_send: fresh database `pigeon_bench_async`, seeded accounts,
the stack as real processes, logs in .pigeon/bench-logs/async.
"""

import argparse
import asyncio
import bisect
import os
import shlex
import shutil
import sys
import time
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

import aiohttp
import orjson
import uvloop
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

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
    median_of,
    unix_socket_folder,
)
from services.conversations.migrate import sqlalchemy_url
from tools.seed import SeededAccount, create_account
from tools.stack import Stack

DATABASE_NAME = "pigeon_bench_async"
TEXT = {"type": "text", "text": {"body": "Your order #4711 has shipped."}}


Request = tuple[dict[str, str], bytes]


def request_for(account: SeededAccount, index: int) -> Request:
    conversation_id = account.conversation_ids[index % len(account.conversation_ids)]
    return (
        {"Authorization": f"Bearer {account.api_key}", "Content-Type": "application/json"},
        orjson.dumps({"conversation_id": conversation_id, **TEXT}),
    )


async def count_sent(engine: AsyncEngine, ids: list[str]) -> int:
    async with engine.connect() as connection:
        return int(
            (
                await connection.execute(
                    text(
                        "SELECT count(*) FROM messages"
                        " WHERE id = ANY(CAST(:ids AS uuid[])) AND status = 'sent'"
                    ),
                    {"ids": ids},
                )
            ).scalar_one()
        )


async def committed(engine: AsyncEngine, ids: list[str]) -> int:
    async with engine.connect() as connection:
        return int(
            (
                await connection.execute(
                    text("SELECT count(*) FROM messages WHERE id = ANY(CAST(:ids AS uuid[]))"), {"ids": ids}
                )
            ).scalar_one()
        )


async def set_latency(http: aiohttp.ClientSession, stack: Stack, latency: str) -> None:
    async with http.patch(f"{stack.simulator_url}/_sim/config", json={"latency": latency}) as response:
        assert response.status == 200, await response.text()
    async with http.delete(f"{stack.simulator_url}/_sim/requests") as response:
        assert response.status == 204


async def restart_conversations(stack: Stack, dispatcher: bool) -> None:
    for service in stack.replicas_of("conversations"):
        await asyncio.to_thread(service.stop)
        service.env["DISPATCHER_ENABLED"] = "true" if dispatcher else "false"
        await asyncio.to_thread(service.start)
    # Until the gateway's channel has reconnected.
    async with aiohttp.ClientSession() as http:
        for _ in range(100):
            async with http.get(f"{stack.gateway_url}/readyz") as response:
                if response.status == 200:
                    return
            await asyncio.sleep(0.1)


async def accept(
    http: aiohttp.ClientSession, stack: Stack, engine: AsyncEngine, accounts: list[SeededAccount], args: Any
) -> dict[str, Any]:
    requests = [request_for(a, i) for i in range(8) for a in accounts]
    latencies: list[float] = []
    ids: list[str] = []
    errors = 0
    url = f"{stack.gateway_url}/messages/send-async"
    stop_at = time.perf_counter() + args.seconds
    counter = iter(range(10**9))

    async def client() -> None:
        nonlocal errors
        while time.perf_counter() < stop_at:
            headers, body = requests[next(counter) % len(requests)]
            started = time.perf_counter()
            async with http.post(url, data=body, headers=headers) as response:
                payload = await response.read()
                if response.status != 202:
                    errors += 1
                    continue
            latencies.append(time.perf_counter() - started)
            ids.append(orjson.loads(payload)["id"])

    # Built here: a restart gives conversations a new pid.
    pids = {s.name: [s.process.pid] for s in stack.services if s.process is not None}
    cpu = CpuMeter({**pids, "bench": [os.getpid()]}, embedded_postmaster_pid())
    cpu.start()
    began = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(args.concurrency)))
    elapsed = time.perf_counter() - began
    cores = cpu.stop()
    stored = await committed(engine, ids)
    accepted_per_second = len(ids) / elapsed
    return {
        "accepted": len(ids),
        "errors": errors,
        "committed": stored,
        "accepted_per_second": accepted_per_second,
        "latency_ms": distribution_ms(latencies),
        "cpu_cores": cores,
        # Where one accept's CPU goes, per process (the machine's too).
        "cpu_ms_per_accept": {
            name: round(value * 1000 / accepted_per_second, 3)
            for name, value in cores.items()
            if not name.endswith("_sys") and accepted_per_second
        },
    }


def busiest_second(arrivals: list[float]) -> int:
    arrivals.sort()
    return max((bisect.bisect_left(arrivals, t + 1.0) - i for i, t in enumerate(arrivals)), default=0)


async def drain(
    http: aiohttp.ClientSession, stack: Stack, engine: AsyncEngine, accounts: list[SeededAccount], args: Any
) -> dict[str, Any]:
    await restart_conversations(stack, dispatcher=False)
    await set_latency(http, stack, str(args.drain_latency_ms))
    # What the accept phase queued is not part of this measurement: set it aside (committed:
    # until 2026-11-25 this was rolled back, and the drain delivered the accept phase's too).
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "UPDATE messages SET status = 'failed', error_code = 'bench_set_aside'"
                " WHERE status = 'queued'"
            )
        )
    requests = [request_for(a, i) for i in range(args.drain_messages // len(accounts)) for a in accounts]
    ids: list[str] = []
    queue = iter(requests)

    async def enqueue() -> None:
        for headers, body in queue:
            async with http.post(f"{stack.gateway_url}/messages/send-async", data=body, headers=headers) as r:
                assert r.status == 202, await r.text()
                ids.append(orjson.loads(await r.read())["id"])

    await asyncio.gather(*(enqueue() for _ in range(32)))
    async with http.delete(f"{stack.simulator_url}/_sim/requests") as response:
        assert response.status in (200, 204), await response.text()
    began = time.perf_counter()
    await restart_conversations(stack, dispatcher=True)
    sent = 0
    while sent < len(ids):
        await asyncio.sleep(0.5)
        sent = await count_sent(engine, ids)
        if time.perf_counter() - began > args.drain_timeout:
            break
    elapsed = time.perf_counter() - began
    async with http.get(f"{stack.simulator_url}/_sim/requests") as response:
        records = (await response.json())["requests"]
    by_number: dict[str, list[float]] = defaultdict(list)
    rate_limited = 0
    for record in records:
        by_number[record["phone_number_id"]].append(float(record["received_at"]))
        rate_limited += record["status"] == 429
    return {
        "messages": len(ids),
        "sent": sent,
        "seconds": elapsed,
        "delivered_per_second": sent / elapsed,
        "busiest_second_per_number": max(busiest_second(v) for v in by_number.values()),
        "answered_130429": rate_limited,
        "requests_at_simulator": len(records),
    }


async def event_delay(
    http: aiohttp.ClientSession, stack: Stack, account: SeededAccount, args: Any
) -> dict[str, Any]:
    await set_latency(http, stack, "0")
    delays: list[float] = []
    posted: dict[str, float] = {}
    async with http.ws_connect(f"{stack.gateway_url}/ws", params={"token": account.api_key}) as socket:

        async def listen() -> None:
            async for message in socket:
                frame = orjson.loads(message.data)
                if frame["type"] == "message.sent" and frame["data"]["id"] in posted:
                    delays.append(time.perf_counter() - posted[frame["data"]["id"]])

        listener = asyncio.create_task(listen())
        for index in range(args.delay_messages):
            headers, body = request_for(account, index)
            started = time.perf_counter()
            async with http.post(f"{stack.gateway_url}/messages/send-async", data=body, headers=headers) as r:
                posted[orjson.loads(await r.read())["id"]] = started
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.0)
        listener.cancel()
    return {"messages": args.delay_messages, "seen": len(delays), "delay_ms": distribution_ms(delays)}


async def main(args: argparse.Namespace) -> int:
    started_at = datetime.now(UTC)
    url = await fresh_database(DATABASE_NAME)
    engine = create_async_engine(sqlalchemy_url(url))
    accounts = [await create_account(engine, f"Bench {i + 1}", conversations=8) for i in range(args.accounts)]
    phone_numbers = [
        {"phone_number_id": a.phone_number_id, "access_token": a.access_token, "mps": a.messages_per_second}
        for a in accounts
    ]
    sockets = unix_socket_folder(args.unix_sockets)
    stack = Stack(
        database_url=url,
        log_dir=LOG_DIR / "async",
        sim_env={"SIM_LATENCY": "0", "SIM_WEBHOOK_URL": ""},
        # One API key per account at full speed: the per-key request limit is not measured here.
        extra_env={"DISPATCHER_ENABLED": "false", "RATE_LIMIT_PER_SECOND": "0"},
        replicas=args.replicas,
        unix_socket_dir=sockets,
    )
    await asyncio.to_thread(stack.start, phone_numbers)
    runs: list[dict[str, Any]] = []
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=256)) as http:
            for run in range(args.runs):
                await restart_conversations(stack, dispatcher=False)
                await set_latency(http, stack, "500")
                result = {"accept": await accept(http, stack, engine, accounts, args)}
                result["drain"] = await drain(http, stack, engine, accounts, args)
                result["event"] = await event_delay(http, stack, accounts[0], args)
                runs.append(result)
                a, d, e = result["accept"], result["drain"], result["event"]
                print(
                    f"run {run + 1}/{args.runs}: accept {a['accepted_per_second']:.0f}/s "
                    f"p50 {a['latency_ms']['p50']:.2f} p99 {a['latency_ms']['p99']:.2f} ms "
                    f"({a['committed']}/{a['accepted']} committed, {a['errors']} errors; CPU ms per accept: "
                    + " ".join(f"{k} {v:.2f}" for k, v in a["cpu_ms_per_accept"].items())
                    + "); "
                    f"drain {d['delivered_per_second']:.0f}/s "
                    f"({d['sent']}/{d['messages']} in {d['seconds']:.1f} s, "
                    f"{d['requests_at_simulator']} requests at the simulator, "
                    f"busiest second {d['busiest_second_per_number']}/number, "
                    f"130429 x{d['answered_130429']}); "
                    f"accept->sent event p50 {e['delay_ms']['p50']:.1f} p99 {e['delay_ms']['p99']:.1f} ms",
                    flush=True,
                )
    finally:
        await asyncio.to_thread(stack.stop)
        await engine.dispose()
        if sockets is not None:
            shutil.rmtree(sockets, ignore_errors=True)
    median = {
        "accept_per_second": median_of(r["accept"]["accepted_per_second"] for r in runs),
        "accept_p50_ms": median_of(r["accept"]["latency_ms"]["p50"] for r in runs),
        "accept_p99_ms": median_of(r["accept"]["latency_ms"]["p99"] for r in runs),
        "drain_per_second": median_of(r["drain"]["delivered_per_second"] for r in runs),
        "busiest_second_per_number": max(r["drain"]["busiest_second_per_number"] for r in runs),
        "event_delay_p50_ms": median_of(r["event"]["delay_ms"]["p50"] for r in runs),
        "event_delay_p99_ms": median_of(r["event"]["delay_ms"]["p99"] for r in runs),
    }
    print("median of runs: " + ", ".join(f"{k} {v:.2f}" for k, v in median.items() if v is not None))
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"async_send-{started_at.strftime('%Y%m%dT%H%M%SZ')}.json"
    document = {
        "benchmark": "async_send",
        "command": " ".join(shlex.quote(a) for a in ["python", "-m", "bench.async_send", *sys.argv[1:]]),
        "machine": machine(),
        "code": git_revision(),
        "config": vars(args),
        "median": median,
        "runs": runs,
    }
    path.write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2))
    print(f"results written to {path}")
    lost = sum(
        r["accept"]["accepted"] - r["accept"]["committed"] + r["drain"]["messages"] - r["drain"]["sent"]
        for r in runs
    )
    return 1 if lost else 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--accounts", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=16, help="accept clients")
    parser.add_argument("--seconds", type=float, default=10.0, help="accept phase length")
    parser.add_argument("--drain-messages", type=int, default=20_000)
    parser.add_argument("--drain-latency-ms", type=int, default=500)
    parser.add_argument("--drain-timeout", type=float, default=180.0)
    parser.add_argument("--delay-messages", type=int, default=50)
    add_stack_arguments(parser)
    args = parser.parse_args(argv)
    check_stack_arguments(parser, args)
    return args


if __name__ == "__main__":
    sys.exit(uvloop.run(main(parse_args())))
