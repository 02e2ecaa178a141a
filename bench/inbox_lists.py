"""Benchmark of the inbox's lists and of message search: `python -m bench.inbox_lists`.

A fresh database gets `--accounts` accounts (20) of `--conversations` conversations each (5,000)
with `--messages` messages each (10): 1,000,000 messages and 100,000 conversations by default,
bulk-loaded with generate_series, every index in place (as production has them), then vacuumed
and analyzed. The g-th conversation of an account: last activity g quarter-minutes ago; one in 4
resolved and one in 7 pending (else open); one in 10 assigned to "agent-<g % 7>" (else
unassigned); one in 50 labelled "vip" and one in 20 "billing"; one in 100 unread; one in 5 whose
customer wrote last, 0-2 minutes before that activity (an open 24 h window; the others' customers
wrote 3 days before it: a customer's message is activity too, as pigeon keeps them); contact
"Customer <g>". Each message's text
(a caption for one in 5: images) holds two of 10 common words (each in about a fifth of the
messages), "item<n>" (500 of them: one message in 500) and "ref<n>" (100,000: one in 100,000).

Then a stack (tools/stack.py) takes, for each list, `--clients` closed-loop HTTP clients (16)
for `--seconds` (after a warm-up), requests spread over the accounts and the filters' values,
and the answers' p50 and p99 are printed beside the target (p99 <= 50 ms) with the CPU each
process used. Results: a table on stdout, JSON in .pigeon/bench-results/inbox_lists-<time>.json.
"""

import argparse
import asyncio
import os
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import asyncpg
import uvloop

from bench.common import (
    LOG_DIR,
    CpuMeter,
    distribution_ms,
    embedded_postmaster_pid,
    fresh_database,
    results_document,
    write_results,
)
from bench.http_load import ClosedLoop, raw_request
from bench.webhook_traffic import BENCH_MPS, BenchAccount, dsn, seed_accounts
from tools.stack import Stack

DATABASE = "pigeon_bench_inbox_lists"
TARGET_P99_MS = 50.0
COMMON_WORDS = (
    "hello",
    "order",
    "thanks",
    "please",
    "delivery",
    "price",
    "when",
    "where",
    "payment",
    "refund",
)

# One account's contacts, conversations and messages ($1 the account, $2 conversations, $3
# messages per conversation, $4 the common words); the states as the module's docstring says.
_LOAD = """
WITH contact AS (
    INSERT INTO contacts (account_id, wa_id, user_id, profile_name)
    SELECT $1, '1888' || lpad(g::text, 8, '0'), 'US.888' || g, 'Customer ' || g
    FROM generate_series(1, $2::int) AS g
    RETURNING id, wa_id
), conversation AS (
    INSERT INTO conversations (account_id, contact_id, created_at, last_message_at, last_inbound_at,
                               last_activity_at, status, assignee, labels, unread_count)
    SELECT $1, id, now() - interval '30 days', now() - g * interval '15 seconds',
           now() - g * interval '15 seconds'
               - CASE WHEN g % 5 = 0 THEN (g % 3) * interval '1 minute' ELSE interval '3 days' END,
           now() - g * interval '15 seconds',
           CASE WHEN g % 4 = 0 THEN 'resolved' WHEN g % 7 = 0 THEN 'pending' ELSE 'open' END,
           CASE WHEN g % 10 = 0 THEN 'agent-' || g % 7 ELSE '' END,
           CASE WHEN g % 50 = 0 THEN ARRAY['billing', 'vip'] WHEN g % 20 = 0 THEN ARRAY['billing']
                ELSE '{}'::text[] END,
           CASE WHEN g % 100 = 0 THEN 1 ELSE 0 END
    FROM (SELECT id, right(wa_id, 8)::int AS g FROM contact) AS numbered
    RETURNING id, contact_id, last_activity_at
), numbered AS (
    SELECT v.id, v.last_activity_at, k.wa_id, row_number() OVER () AS c
    FROM conversation v JOIN contact k ON k.id = v.contact_id
)
INSERT INTO messages (account_id, conversation_id, direction, contact_wa_id, type, body, status, created_at)
SELECT $1, n.id, CASE WHEN i % 2 = 0 THEN 'inbound' ELSE 'outbound' END, n.wa_id,
       CASE WHEN i % 5 = 4 THEN 'image' ELSE 'text' END,
       jsonb_build_object(
           CASE WHEN i % 5 = 4 THEN 'caption' ELSE 'body' END,
           ($4::text[])[1 + (n.c * 7 + i) % 10] || ' about the ' || ($4::text[])[1 + (n.c * 3 + i * 7) % 10]
           || ' of item' || (n.c * $3 + i) * 7919 % 500 || ' ref' || (n.c * $3 + i + $5::int) % 100000),
       CASE WHEN i % 2 = 0 THEN 'received' ELSE 'read' END,
       n.last_activity_at - i * interval '1 hour'
FROM numbered n, generate_series(0, $3::int - 1) AS i
"""


async def load(url: str, accounts: list[BenchAccount], conversations: int, messages: int) -> float:
    """The accounts' conversations and messages; the seconds it took."""
    started = time.monotonic()
    connection = await asyncpg.connect(dsn(url))
    try:
        for number, account in enumerate(accounts):
            await connection.execute(
                _LOAD,
                account.seeded.account_id,
                conversations,
                messages,
                list(COMMON_WORDS),
                number * conversations * messages,
            )
            print(f"  account {number + 1}/{len(accounts)} loaded", flush=True)
        await connection.execute("VACUUM ANALYZE contacts, conversations, messages")
        sizes = await connection.fetch(
            "SELECT relname, pg_size_pretty(pg_total_relation_size(oid)) FROM pg_class"
            " WHERE relname IN ('messages', 'conversations', 'messages_words_idx')"
        )
        print("sizes: " + ", ".join(f"{row[0]} {row[1]}" for row in sizes))
    finally:
        await connection.close()
    return time.monotonic() - started


def queries(accounts: list[BenchAccount], conversations: int) -> dict[str, list[dict[str, str]]]:
    """Each list's query parameters, varied over its values (each request takes the next
    account in turn)."""
    spread = range(1, 41)
    return {
        "all": [{}],
        "status=resolved": [{"status": "resolved"}],
        "status=pending": [{"status": "pending"}],
        "assignee": [{"assignee": f"agent-{n % 7}"} for n in spread],
        "unassigned": [{"unassigned": "true"}],
        "label=vip": [{"label": "vip"}],
        "label=billing": [{"label": "billing"}],
        "unread": [{"unread": "true"}],
        "q name prefix": [{"q": f"customer {n * 97 % conversations}"} for n in spread],
        "q phone": [{"q": f"+1888{n * 97 % conversations:08d}"} for n in spread],
        "can_send_free_form": [{"can_send_free_form": "true"}],
        "status+assignee": [{"status": "open", "assignee": f"agent-{n % 7}"} for n in spread],
        "search rare (ref<n>)": [{"q": f"ref{n * 2477 % 100000}"} for n in spread],
        "search item<n>": [{"q": f"item{n * 13 % 500}"} for n in spread],
        "search common word": [{"q": COMMON_WORDS[n % 10]} for n in spread],
        "search two words": [{"q": f"{COMMON_WORDS[n % 10]} {COMMON_WORDS[(n + 3) % 10]}"} for n in spread],
        "search word in a conversation": [{"q": COMMON_WORDS[n % 10], "conversation_id": ""} for n in spread],
    }


def requests_for(
    name: str, params: list[dict[str, str]], accounts: list[BenchAccount], host: str
) -> list[bytes]:
    path = "/messages/search" if name.startswith("search") else "/conversations"
    built = []
    for n in range(max(len(params), len(accounts)) * 2):
        account = accounts[n % len(accounts)]
        chosen = dict(params[n % len(params)])
        if "conversation_id" in chosen:  # one of the account's conversations, in turn
            conversations = account.seeded.conversation_ids
            chosen["conversation_id"] = conversations[n % len(conversations)]
        headers = {"Authorization": f"Bearer {account.seeded.api_key}"}
        query = urlencode({**chosen, "page_size": "20"})
        built.append(raw_request("GET", f"{path}?{query}", host, headers))
    return built


async def measure(
    stack: Stack, requests: list[bytes], clients: int, warmup: float, seconds: float, cpu: CpuMeter
) -> dict[str, Any]:
    loop = ClosedLoop("127.0.0.1", stack.gateway_port, requests, clients, cycle=True)
    await loop.start()
    await asyncio.sleep(warmup)
    cpu.start()
    loop.measure()
    await asyncio.sleep(seconds)
    window = loop.end_measure()
    cores = cpu.stop()
    await loop.stop()
    answers = [a for a in loop.answers if a.ended <= loop.t1]
    failed = [a for a in answers if a.status != 200]
    latency = distribution_ms(a.ended - a.started for a in answers if a.status == 200)
    return {
        "requests": len(answers),
        "per_second": round(len(answers) / window, 1),
        "failed": len(failed),
        "first_failure": failed[0].body.decode(errors="replace")[:300] if failed else None,
        "latency_ms": latency,
        "cpu_cores": cores,
    }


async def conversation_ids(url: str, accounts: list[BenchAccount], per_account: int) -> None:
    """Some of each account's conversations, for the search narrowed to one."""
    connection = await asyncpg.connect(dsn(url))
    try:
        for account in accounts:
            rows = await connection.fetch(
                "SELECT id::text FROM conversations WHERE account_id = $1 ORDER BY random() LIMIT $2",
                account.seeded.account_id,
                per_account,
            )
            account.seeded.conversation_ids = [row[0] for row in rows]
    finally:
        await connection.close()


async def run(args: argparse.Namespace) -> dict[str, Any]:
    url = await fresh_database(DATABASE)
    accounts = await seed_accounts(url, args.accounts, 0, BENCH_MPS)
    print(
        f"loading {args.accounts} accounts x {args.conversations:,} conversations x {args.messages} messages",
        flush=True,
    )
    load_seconds = await load(url, accounts, args.conversations, args.messages)
    print(f"loaded in {load_seconds:.0f} s")
    await conversation_ids(url, accounts, 40)
    log_dir = LOG_DIR / "inbox_lists"
    log_dir.mkdir(parents=True, exist_ok=True)
    stack = Stack(
        database_url=url,
        log_dir=log_dir,
        extra_env={"RATE_LIMIT_PER_SECOND": "1000000", "RATE_LIMIT_BURST": "1000000"},
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
    results: dict[str, Any] = {"load_seconds": round(load_seconds, 1), "lists": {}}
    await asyncio.to_thread(stack.start, phone_numbers)
    try:
        pids = {s.name: [s.process.pid] for s in stack.services if s.process is not None}
        cpu = CpuMeter({**pids, "bench": [os.getpid()]}, embedded_postmaster_pid())
        host = f"127.0.0.1:{stack.gateway_port}"
        print(f"{args.clients} clients, {args.seconds:g} s each; p99 target {TARGET_P99_MS:g} ms")
        print(
            f"{'list':<32} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'fail':>5}"
            "  target  postgres conversations gateway (CPU cores)"
        )
        for name, params in queries(accounts, args.conversations).items():
            if args.only and args.only not in name:
                continue
            found = await measure(
                stack,
                requests_for(name, params, accounts, host),
                args.clients,
                args.warmup,
                args.seconds,
                cpu,
            )
            p50, p99 = found["latency_ms"]["p50"], found["latency_ms"]["p99"]
            found["meets_target"] = p99 is not None and p99 <= TARGET_P99_MS and not found["failed"]
            results["lists"][name] = found
            cores = found["cpu_cores"]
            print(
                f"{name:<32} {found['per_second']:>7.0f} {p50 or 0:>7.1f} {p99 or 0:>7.1f}"
                f" {found['failed']:>5}"
                f"  {'yes' if found['meets_target'] else 'NO ':<6}  {cores.get('postgres', 0):>8.2f}"
                f" {cores.get('conversations', 0):>13.2f} {cores.get('gateway', 0):>7.2f}",
                flush=True,
            )
            if found["first_failure"]:
                print(f"  first failure: {found['first_failure']}")
    finally:
        await asyncio.to_thread(stack.stop)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--accounts", type=int, default=20)
    parser.add_argument("--conversations", type=int, default=5000, help="per account")
    parser.add_argument("--messages", type=int, default=10, help="per conversation")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--only", default="", help="only the lists whose name holds this")
    args = parser.parse_args()
    started_at = datetime.now(UTC)
    document = results_document("inbox_lists", args, started_at)
    document["results"] = uvloop.run(run(args))
    write_results(document, "inbox_lists", started_at)


if __name__ == "__main__":
    main()
