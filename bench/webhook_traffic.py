"""The traffic of the webhook benchmarks and what the database says of it: seeded accounts,
notifications built and signed in advance (as Meta would sign them), sends, and the lag from
received to applied read from the notifications' own rows."""

import asyncio
import itertools
import random
import secrets
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import orjson
from sqlalchemy.ext.asyncio import create_async_engine

from bench.common import (
    distribution_ms,
)
from bench.http_load import Answer, RawRequest, raw_request
from services.conversations.migrate import sqlalchemy_url
from tools.seed import SeededAccount, create_account
from tools.stack import Stack
from tools.whatsapp_sim.webhooks import Business, StatusPlan, inbound_value, notification, sign, status_object

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
    engine = create_async_engine(sqlalchemy_url(url))
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


def latency_ms(answers: Sequence[Answer], ok: range = range(200, 300)) -> dict[str, float | None]:
    return distribution_ms(a.ended - a.started for a in answers if a.status in ok)


def statuses_of(answers: Sequence[Answer]) -> dict[str, int]:
    return dict(Counter(str(a.status) for a in answers))


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


def fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def p50_p99(distribution: dict[str, float | None]) -> str:
    return f"p50 {fmt(distribution['p50'])} p99 {fmt(distribution['p99'])} ms"
