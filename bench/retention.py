"""Retention under a long load: `python -m bench.retention`.

A stack whose retention is short (`--retention-seconds` for events, webhook notifications and
pending statuses; a round every `--every-seconds`) takes, for `--minutes`, a steady webhook load:
`--rate` async sends per second with a fresh `Idempotency-Key` each, over two accounts, the
simulator (0 ms) answering each with sent, delivered and read webhooks; a tenth as many signed
status webhooks for messages pigeon never sent (they wait in `pending_statuses`); each account's
events delivered to an outbound webhook endpoint (`tools/webhook_receiver.py`, answering 204),
whose cursor keeps up. Every `--sample-seconds` it prints each table's rows and size on disk
(`pg_total_relation_size`, indexes and TOAST included) and the age of its oldest row: bounded,
the rows level off at about rate x (retention + round interval) and the sizes stop growing.

Idempotency keys must be kept at least 24 h (`IDEMPOTENCY_KEEP_SECONDS`' floor, the API's
promise), which no bench waits for: the bench dates each new key back by 24 h less the retention
(one UPDATE per sample), so that they come due as the others do. That is the only row the bench
touches itself. Results: a table on stdout, JSON in .pigeon/bench-results/retention-<time>.json.
"""

import argparse
import asyncio
import secrets
import time
from datetime import UTC, datetime
from typing import Any

import aiohttp
import asyncpg
import orjson
import uvloop

from bench.common import LOG_DIR, fresh_database, results_document, write_results
from bench.webhook_traffic import BENCH_MPS, MESSAGE_TEXT, BenchAccount, dsn, seed_accounts
from tools.stack import ServiceProcess, Stack, free_port
from tools.whatsapp_sim.webhooks import StatusPlan, notification, sign, status_object

DATABASE = "pigeon_bench_retention"
TABLES = ("events", "webhook_notifications", "pending_statuses", "idempotency_keys")
DAY = 86400.0
# The column each table's age is read from.
_CREATED = {
    "events": "created_at",
    "webhook_notifications": "received_at",
    "pending_statuses": "received_at",
    "idempotency_keys": "created_at",
}


async def sample(db: asyncpg.Connection, retention_seconds: float) -> dict[str, dict[str, float]]:
    found = {}
    for table in TABLES:
        row = await db.fetchrow(
            f"SELECT count(*), pg_total_relation_size('{table}'),"
            f" coalesce(extract(epoch FROM now() - min({_CREATED[table]})), 0)::float8 FROM {table}"
        )
        # Idempotency keys' real age: their dating back undone.
        oldest = row[2] - (DAY - retention_seconds if table == "idempotency_keys" and row[0] else 0.0)
        found[table] = {"rows": row[0], "bytes": row[1], "oldest_seconds": round(oldest, 1)}
    return found


async def age_idempotency_keys(db: asyncpg.Connection, retention_seconds: float) -> None:
    """New keys dated back by 24 h less the retention (those dated back already are older)."""
    shift = DAY - retention_seconds
    await db.execute(
        "UPDATE idempotency_keys SET created_at = created_at - make_interval(secs => $1)"
        " WHERE created_at > now() - make_interval(secs => $1 / 2)",
        shift,
    )


def unknown_status(account: BenchAccount) -> bytes:
    """A signed status webhook for a message sent from another tool on the same number."""
    wamid = "wamid.elsewhere" + secrets.token_hex(12)
    plan = StatusPlan(account.business, "", wamid, account.seeded.contact_wa_ids[0], None, (), 1)
    value = {"statuses": [status_object(plan, "delivered", int(time.time()))]}
    return orjson.dumps(notification(account.business, value))


async def load(
    http: aiohttp.ClientSession, stack: Stack, accounts: list[BenchAccount], rate: float, until: float
) -> dict[str, int]:
    """Open loop: `rate` async sends per second, and a status for an unknown message every tenth."""
    answers: dict[str, int] = {}
    in_flight: set[asyncio.Task[None]] = set()

    async def post(path: str, body: bytes, headers: dict[str, str]) -> None:
        async with http.post(stack.gateway_url + path, data=body, headers=headers) as response:
            await response.read()
            answers[f"{path} {response.status}"] = answers.get(f"{path} {response.status}", 0) + 1

    started = time.monotonic()
    n = 0
    while time.monotonic() < until:
        account = accounts[n % len(accounts)]
        conversation = account.seeded.conversation_ids[
            n // len(accounts) % len(account.seeded.conversation_ids)
        ]
        headers = {
            "Authorization": f"Bearer {account.seeded.api_key}",
            "Content-Type": "application/json",
            "Idempotency-Key": f"bench-{n}-{secrets.token_hex(6)}",
        }
        body = {"conversation_id": conversation, "type": "text", "text": {"body": MESSAGE_TEXT}}
        jobs = [post("/messages/send-async", orjson.dumps(body), headers)]
        if n % 10 == 0:
            status = unknown_status(account)
            signed = {
                "Content-Type": "application/json",
                "X-Hub-Signature-256": sign(status, account.business.app_secret),
            }
            jobs.append(post("/webhooks/whatsapp", status, signed))
        for job in jobs:
            task = asyncio.create_task(job)
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)
        n += 1
        await asyncio.sleep(max(0.0, started + n / rate - time.monotonic()))
    if in_flight:
        await asyncio.wait(in_flight)
    return answers


def print_sample(elapsed: float, found: dict[str, dict[str, float]]) -> None:
    cells = [
        f"{found[t]['rows']:>9,} {found[t]['bytes'] / 1e6:>7.1f} MB {found[t]['oldest_seconds']:>6.0f} s"
        for t in TABLES
    ]
    print(f"{elapsed:>6.0f} s  " + "  ".join(cells), flush=True)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    url = await fresh_database(DATABASE)
    accounts = await seed_accounts(url, 2, 16, BENCH_MPS)
    log_dir = LOG_DIR / "retention"
    log_dir.mkdir(parents=True, exist_ok=True)
    days = str(args.retention_seconds / DAY)
    stack = Stack(
        database_url=url,
        log_dir=log_dir,
        extra_env={
            "RATE_LIMIT_PER_SECOND": "1000000",
            "RATE_LIMIT_BURST": "1000000",
            "OUTBOUND_WEBHOOK_ALLOW_INSECURE_URLS": "true",
            "EVENTS_RETENTION_DAYS": days,
            "WEBHOOK_NOTIFICATIONS_RETENTION_DAYS": days,
            "FAILED_WEBHOOK_NOTIFICATIONS_RETENTION_DAYS": days,
            "PENDING_STATUSES_RETENTION_DAYS": days,
            "RETENTION_EVERY_SECONDS": str(args.every_seconds),
        },
        sim_env={"SIM_LATENCY": "0"},
    )
    phone_numbers = [
        {
            "phone_number_id": a.seeded.phone_number_id,
            "access_token": a.seeded.access_token,
            "app_secret": a.seeded.app_secret,
            "mps": BENCH_MPS,
        }
        for a in accounts
    ]
    port = free_port()
    receiver = ServiceProcess(
        "receiver", "tools.webhook_receiver", port, {"RECEIVER_PORT": str(port)}, log_dir / "receiver.log"
    )
    await asyncio.to_thread(receiver.start)
    http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=256))
    samples: list[dict[str, Any]] = []
    try:
        await asyncio.to_thread(stack.start, phone_numbers)
        db = await asyncpg.connect(dsn(url))
        for account in accounts:
            async with http.post(
                stack.gateway_url + "/webhook-endpoints",
                json={"url": f"http://127.0.0.1:{port}/hook", "events": ["*"]},
                headers={"Authorization": f"Bearer {account.seeded.api_key}"},
            ) as response:
                assert response.status == 201, await response.text()
        print(
            f"{args.rate:g} sends/s for {args.minutes:g} min, retention {args.retention_seconds:g} s,"
            f" a round every {args.every_seconds:g} s; per table: rows, size, oldest row"
        )
        print("elapsed  " + "  ".join(f"{t:>30}" for t in TABLES))
        started = time.monotonic()
        until = started + args.minutes * 60
        traffic = asyncio.create_task(load(http, stack, accounts, args.rate, until))
        while not traffic.done():
            await asyncio.wait([traffic], timeout=args.sample_seconds)
            await age_idempotency_keys(db, args.retention_seconds)
            async with http.delete(f"http://127.0.0.1:{port}/_received") as response:
                await response.read()  # the receiver's memory, not the database's
            found = await sample(db, args.retention_seconds)
            elapsed = time.monotonic() - started
            samples.append({"elapsed_seconds": round(elapsed, 1), **found})
            print_sample(elapsed, found)
        answers = traffic.result()
        await db.close()
    finally:
        await http.close()
        await asyncio.to_thread(stack.stop)
        await asyncio.to_thread(receiver.stop)
    # Bounded: past the warm-up (retention + two rounds), the rows of the last half of the run
    # are no more than those of its first half.
    warm = args.retention_seconds + 2 * args.every_seconds
    steady = [s for s in samples if s["elapsed_seconds"] >= warm]
    half = len(steady) // 2
    verdict = {
        t: {
            "max_rows_first_half": max((s[t]["rows"] for s in steady[:half]), default=0),
            "max_rows_second_half": max((s[t]["rows"] for s in steady[half:]), default=0),
            "max_bytes_first_half": max((s[t]["bytes"] for s in steady[:half]), default=0),
            "max_bytes_second_half": max((s[t]["bytes"] for s in steady[half:]), default=0),
        }
        for t in TABLES
    }
    for table, f in verdict.items():
        print(
            f"{table}: max rows {f['max_rows_first_half']:,} then {f['max_rows_second_half']:,};"
            f" max size {f['max_bytes_first_half'] / 1e6:.1f} then {f['max_bytes_second_half'] / 1e6:.1f} MB"
        )
    print(f"answers: {answers}")
    return {"answers": answers, "samples": samples, "halves": verdict}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=50.0, help="async sends per second")
    parser.add_argument("--retention-seconds", type=float, default=60.0)
    parser.add_argument("--every-seconds", type=float, default=10.0)
    parser.add_argument("--sample-seconds", type=float, default=20.0)
    args = parser.parse_args()
    started_at = datetime.now(UTC)
    document = results_document("retention", args, started_at)
    document["results"] = uvloop.run(run(args))
    write_results(document, "retention", started_at)


if __name__ == "__main__":
    main()
