"""The mixed load of `python -m bench.webhooks --parts mixed`: make run's defaults (two numbers
at 80 messages/s, simulated latency 500-800 ms, gRPC over Unix sockets), sync and async sends at
the accounts' paced rate, the simulator's status webhooks on or off, and inbound replies."""

import argparse
import asyncio
import os
import random
import shutil
import time
from collections import Counter
from typing import Any

import asyncpg
import orjson

from bench.common import (
    LOG_DIR,
    CpuMeter,
    distribution_ms,
    embedded_postmaster_pid,
    fresh_database,
    unix_socket_folder,
)
from bench.http_load import OpenLoop, RawRequest, raw_request
from bench.sync_send import parse_server_timing
from bench.webhook_traffic import (
    REPLY_TEXT,
    WEBHOOK_PATH,
    BenchAccount,
    dsn,
    lag_between,
    latency_ms,
    p50_p99,
    seed_accounts,
    send_requests,
    sim_call,
    statuses_of,
    wait_until_applied,
)
from tools.stack import Stack

MIXED_DATABASE = "pigeon_bench_mixed"
# make run's pacing margin: a number's slots are (1 s + margin) / messages_per_second apart.
PACING_MARGIN_SECONDS = 0.3

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


async def batch_sizes(stack: Stack) -> dict[str, tuple[float, float]]:
    """Items and batches so far of each group-committed batch, from the gateway's and
    conversations' /metrics."""
    import aiohttp

    found: dict[str, tuple[float, float]] = {}
    async with aiohttp.ClientSession() as session:
        for url in (
            f"{stack.gateway_url}/metrics",
            f"http://127.0.0.1:{stack.conversations_metrics_port}/metrics",
        ):
            async with session.get(url) as response:
                text = await response.text()
            for line in text.splitlines():
                for kind in ("sum", "count"):
                    prefix = f'pigeon_batch_items_{kind}{{batch="'
                    if line.startswith(prefix):
                        name = line[len(prefix) :].split('"', 1)[0]
                        items, batches = found.get(name, (0.0, 0.0))
                        value = float(line.rsplit(" ", 1)[1])
                        found[name] = (value, batches) if kind == "sum" else (items, value)
    return found


def per_batch(
    before: dict[str, tuple[float, float]], after: dict[str, tuple[float, float]]
) -> dict[str, float]:
    """Mean items per batch between two readings of `batch_sizes`."""
    means = {}
    for name, (items, batches) in after.items():
        items0, batches0 = before.get(name, (0.0, 0.0))
        if batches > batches0:
            means[name] = round((items - items0) / (batches - batches0), 2)
    return means


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
    sizes_before = await batch_sizes(stack)
    wall0 = time.time()
    cpu.start()
    await asyncio.gather(
        sends.run([s for s in schedule if s[2] != "reply"]),
        replies.run([s for s in schedule if s[2] == "reply"]),
    )
    cores = cpu.stop()
    sizes = per_batch(sizes_before, await batch_sizes(stack))
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
        "items_per_batch": sizes,
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
                f"overhead {p50_p99(run['sync']['overhead_ms'])}, async {run['async']['statuses']}, "
                f"WhatsApp {run['whatsapp_per_second']}/s, webhooks {run['webhook_posts']} "
                f"answer {p50_p99(run['webhook_answer_ms'])} failures {run['webhook_failures']}, "
                f"lag {p50_p99(run['lag_ms'])}, "
                f"all read {run['all_read_after_last_status_s']} s after the last status",
                flush=True,
            )
            await asyncio.sleep(2)
    finally:
        stopped = await asyncio.to_thread(stack.stop)
        if sockets is not None:
            shutil.rmtree(sockets, ignore_errors=True)
    return {"runs": runs, "stopped": stopped}
