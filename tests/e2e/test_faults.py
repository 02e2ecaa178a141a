"""Faults on real processes: WhatsApp down or hanging, PostgreSQL restarted, the gateway
killed, the sender stuck, and SIGTERM of the gateway and the sender under load.

Each test runs a stack of its own (tests/fixtures/stack.py) and prints one summary line
with its figures (`-s` shows them; docs/reliability.md quotes them). What every test holds
to: a client never gets an answer for something that is not stored, every message accepted
ends `sent`, nothing stays `queued` or `sending`, WhatsApp gets a message twice only in the
documented duplicate window, and no request hangs or answers 500.
"""

import asyncio
import itertools
import os
import secrets
import signal
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson
from sqlalchemy import text

from services.shared.vocabulary import SENDER_CALL_PREFIX
from tests.fixtures.receiver import Receiver
from tests.fixtures.stack import WHATSAPP_TIMEOUT_SECONDS, Running, start_running
from tools.seed import SeededAccount, create_account
from tools.stack import DATA_DIR, RestartablePostgres

TEMPLATE = {"type": "template", "template": {"name": "hello_world", "language": {"code": "en_US"}}}
BASELINE_LATENCY = "5-25"
# A simulator answer this much later than its arrival may have come after the sender's
# WhatsApp timeout (1.5 s in the test stacks): the sender gave up, WhatsApp kept the message.
LATE_ANSWER_SECONDS = WHATSAPP_TIMEOUT_SECONDS - 0.5
CLIENT_TIMEOUT = aiohttp.ClientTimeout(total=15)


# --- what a client sees -------------------------------------------------------------------------


@dataclass
class Attempt:
    started: float  # monotonic
    elapsed: float
    outcome: str  # the HTTP status, or the exception's name
    code: str | None = None  # the JSON error's code
    details: Any = None


@dataclass
class Client:
    """A careful client: each logical message has its own Idempotency-Key and is posted
    again after an error or a lost connection until it is answered."""

    accepted: dict[str, int] = field(default_factory=dict)  # message id -> logical message
    attempts: list[Attempt] = field(default_factory=list)
    replayed: int = 0
    gave_up: list[int] = field(default_factory=list)
    # Every JSON error answer must have the one error shape.
    bad_shape: list[tuple[int, bytes]] = field(default_factory=list)

    def outcomes(self, since: float = 0.0, until: float = float("inf")) -> Counter[str]:
        return Counter(a.outcome for a in self.attempts if since <= a.started < until)


async def post_once(
    running: Running, url: str, account: SeededAccount, body: bytes, headers: dict[str, str], client: Client
) -> tuple[str, Any]:
    """One POST; records the attempt; returns (outcome, JSON answer or None)."""
    started = time.monotonic()
    payload: Any = None
    try:
        async with running.http.post(
            url,
            data=body,
            headers={"Authorization": f"Bearer {account.api_key}", **headers},
            timeout=CLIENT_TIMEOUT,
        ) as response:
            outcome = str(response.status)
            raw = await response.read()
            replayed = response.headers.get("Idempotent-Replayed") == "true"
    except (aiohttp.ClientError, TimeoutError) as exc:
        client.attempts.append(Attempt(started, time.monotonic() - started, type(exc).__name__))
        return type(exc).__name__, None
    elapsed = time.monotonic() - started
    try:
        payload = orjson.loads(raw)
    except orjson.JSONDecodeError:
        payload = None
    code, details = None, None
    if response.status >= 400:
        error = payload.get("error") if isinstance(payload, dict) else None
        if not (isinstance(error, dict) and {"code", "message", "details"} <= set(error)):
            client.bad_shape.append((response.status, raw[:200]))
        else:
            code, details = error["code"], error["details"]
    client.attempts.append(Attempt(started, elapsed, outcome, code, details))
    client.replayed += replayed
    return outcome, payload


async def post_load(
    running: Running,
    accounts: list[SeededAccount],
    client: Client,
    *,
    messages: int,
    concurrency: int,
    route: str = "send-async",
    key_prefix: str,
    to: Callable[[int], str],
    patience: float,
    on_accepted: Callable[[], None] | None = None,
    retry_pause: float = 0.05,
) -> None:
    """Posts `messages` logical messages, `concurrency` at a time, each retried with its key
    until answered (202, or 200/4xx/502/504 for sync sends) or `patience` runs out."""
    numbers = itertools.count()
    deadline = time.monotonic() + patience
    url = f"{running.gateway}/messages/{route}"
    done = {"202"} if route == "send-async" else {"200", "422", "502", "504"}

    async def post(n: int) -> None:
        account = accounts[n % len(accounts)]
        body = orjson.dumps({"to": to(n), **TEMPLATE})
        headers = {"Idempotency-Key": f"{key_prefix}-{n}"}
        while time.monotonic() < deadline:
            outcome, payload = await post_once(running, url, account, body, headers, client)
            if outcome in done:
                message_id = (
                    payload["id"] if outcome in ("200", "202") else payload["error"]["details"]["message_id"]
                )
                previous = client.accepted.setdefault(message_id, n)
                assert previous == n, f"{message_id} answered for keys {previous} and {n}"
                if on_accepted is not None:
                    on_accepted()
                return
            await asyncio.sleep(retry_pause)
        client.gave_up.append(n)

    async def worker() -> None:
        while (n := next(numbers)) < messages:
            await post(n)

    await asyncio.gather(*(worker() for _ in range(concurrency)))


# --- what the system holds ----------------------------------------------------------------------


async def set_sim(running: Running, **changes: Any) -> None:
    async with running.http.patch(f"{running.simulator}/_sim/config", json=changes) as response:
        assert response.status == 200, await response.text()


async def new_accounts(running: Running, name: str, count: int) -> list[SeededAccount]:
    accounts = [
        await create_account(running.engine, f"{name} {i}", conversations=0, messages_per_second=1000)
        for i in range(count)
    ]
    for account in accounts:
        await running.register(account, mps=1000)
    return accounts


async def stored_messages(running: Running, accounts: list[SeededAccount]) -> dict[str, Any]:
    async with running.engine.connect() as connection:
        rows = (
            await connection.execute(
                text(
                    "SELECT id::text AS id, status, error_code, error_message, wa_message_id, attempts "
                    "FROM messages WHERE account_id = ANY(CAST(:accounts AS uuid[])) AND direction = 'outbound'"
                ),
                {"accounts": [a.account_id for a in accounts]},
            )
        ).all()
    return {row.id: row for row in rows}


async def unsettled(running: Running) -> dict[str, int]:
    """Messages anywhere in the stack's database still queued or sending."""
    async with running.engine.connect() as connection:
        rows = (
            await connection.execute(
                text(
                    "SELECT status, count(*) FROM messages WHERE status IN ('queued', 'sending') GROUP BY status"
                )
            )
        ).all()
    return {row[0]: row[1] for row in rows}


async def until_settled(running: Running, timeout: float) -> float:
    """Waits until nothing is queued or sending; returns how long it took."""
    started = time.monotonic()
    while left := await unsettled(running):
        assert time.monotonic() - started < timeout, f"still {left} after {timeout} s"
        await asyncio.sleep(0.25)
    return time.monotonic() - started


@dataclass
class AtWhatsApp:
    """The simulator's record of the sends of some accounts, by pigeon message id."""

    successes: dict[str, list[dict[str, Any]]]
    others: Counter[str]
    unknown: list[str]  # message ids pigeon does not know

    def duplicates(self) -> dict[str, list[dict[str, Any]]]:
        return {m: rs for m, rs in self.successes.items() if len(rs) > 1}


async def at_whatsapp(running: Running, accounts: list[SeededAccount], known: set[str]) -> AtWhatsApp:
    successes: dict[str, list[dict[str, Any]]] = defaultdict(list)
    others: Counter[str] = Counter()
    unknown: list[str] = []
    for account in accounts:
        requests: list[dict[str, Any]] = await running.simulator_requests(
            phone_number_id=account.phone_number_id
        )
        for request in requests:
            message_id = request["body"]["biz_opaque_callback_data"]
            if message_id not in known:
                unknown.append(message_id)
            if request["status"] == 200:
                successes[message_id].append(request)
            else:
                others[f"{request['status']}/{request['error_code']}"] += 1
    for records in successes.values():
        records.sort(key=lambda r: r["received_at"])
    return AtWhatsApp(successes, others, unknown)


def took(request: dict[str, Any]) -> float:
    return float(request["answered_at"] - request["received_at"])


def check_all_sent(accepted: set[str], stored: dict[str, Any], seen: AtWhatsApp) -> Counter[str]:
    """Every accepted message stored and sent with a wamid WhatsApp really answered;
    nothing stored that no client was answered for; nothing at WhatsApp pigeon doesn't know."""
    assert set(stored) == accepted, (
        f"accepted but not stored: {len(accepted - set(stored))}, "
        f"stored but never answered: {len(set(stored) - accepted)}"
    )
    statuses = Counter(row.status for row in stored.values())
    failed = Counter(
        f"{row.error_code}: {row.error_message}" for row in stored.values() if row.status != "sent"
    )
    assert statuses["sent"] == len(accepted), f"not sent: {dict(failed)}"
    assert seen.unknown == [], f"WhatsApp got {len(seen.unknown)} messages pigeon does not know"
    never = [m for m in accepted if not seen.successes.get(m)]
    assert never == [], f"{len(never)} sent messages never accepted by WhatsApp"
    wrong = [
        m for m in accepted if stored[m].wa_message_id not in {r["wa_message_id"] for r in seen.successes[m]}
    ]
    assert wrong == [], f"{len(wrong)} messages store a wamid WhatsApp never answered"
    return statuses


async def message(running: Running, account: SeededAccount, message_id: str) -> dict[str, Any]:
    async with running.http.get(
        f"{running.gateway}/messages/{message_id}", headers={"Authorization": f"Bearer {account.api_key}"}
    ) as response:
        assert response.status == 200
        return dict(await response.json())


async def readyz(running: Running, url: str | None = None) -> tuple[int, dict[str, bool]]:
    async with running.http.get(f"{url or running.gateway}/readyz", timeout=CLIENT_TIMEOUT) as response:
        return response.status, (await response.json())["dependencies"]


async def until(predicate: Callable[[], Awaitable[bool]], timeout: float, what: str) -> float:
    started = time.monotonic()
    while not await predicate():
        assert time.monotonic() - started < timeout, f"{what} not within {timeout} s"
        await asyncio.sleep(0.05)
    return time.monotonic() - started


def pids(running: Running) -> dict[str, int | None]:
    return {
        s.name: s.process.pid if s.process is not None and s.process.poll() is None else None
        for s in running.stack.services
    }


@dataclass
class SyncProbe:
    status: int
    code: str
    whatsapp_code: str
    message_id: str
    elapsed: float


async def sync_probe(running: Running, account: SeededAccount, to: str) -> SyncProbe:
    started = time.monotonic()
    async with running.http.post(
        f"{running.gateway}/messages/send",
        data=orjson.dumps({"to": to, **TEMPLATE}),
        headers={"Authorization": f"Bearer {account.api_key}"},
        timeout=CLIENT_TIMEOUT,
    ) as response:
        payload = await response.json()
        status = response.status
    elapsed = time.monotonic() - started
    if status == 200:
        return SyncProbe(status, "", "", payload["id"], elapsed)
    error = payload["error"]
    details = error["details"] or {}
    return SyncProbe(
        status, error["code"], details.get("whatsapp_code", ""), details.get("message_id", ""), elapsed
    )


# --- 1. WhatsApp outage ---------------------------------------------------------------------------

OUTAGE_ENV = {"MAX_ATTEMPTS": "30", "RETRY_BASE_SECONDS": "0.2", "RETRY_MAX_SECONDS": "2"}
OUTAGE_MESSAGES = 2000
OUTAGE_ACCOUNTS = 4
OUTAGE_AFTER_ACCEPTED = 300
FAILING_SECONDS = 6.0  # every send answered 503 / 131016 at once
HANGING_SECONDS = 5.0  # every send answered 131016 after 2.5 s: the sender times out first
SLOW_SECONDS = 2.0  # every send accepted after 2 s: the sender has given up; WhatsApp keeps it
# The sender's timeout (1.5 s) plus the moment when hundreds of outbox sends time out with
# the probes on two shared cores: the sender's loop then fires its timers late (seen up to
# 3.2 s, and 4.1 s on a machine 2.5 times slower). A hang would be 15 s (SEND_TIMEOUT_SECONDS).
SYNC_DEADLINE_SECONDS = 6.0
SYNC_PROBES = 4


@dataclass
class Outage:
    began: float = 0.0  # wall clock, as the simulator's times
    hanging_began: float = 0.0
    slow_began: float = 0.0
    restored: float = 0.0
    failing_probes: list[SyncProbe] = field(default_factory=list)
    hanging_probes: list[SyncProbe] = field(default_factory=list)


async def whatsapp_outage(running: Running, start: asyncio.Event, outage: Outage) -> None:
    await start.wait()
    acme = running.acme
    probes = itertools.count()

    async def probe_all() -> list[SyncProbe]:
        return list(
            await asyncio.gather(
                *(sync_probe(running, acme, f"1556{next(probes):07d}") for _ in range(SYNC_PROBES))
            )
        )

    outage.began = time.time()
    await set_sim(running, error_rate=1.0, error_code=131016)
    await asyncio.sleep(1.0)
    outage.failing_probes = await probe_all()
    await asyncio.sleep(max(0.0, FAILING_SECONDS - (time.time() - outage.began)))

    outage.hanging_began = time.time()
    await set_sim(running, latency="2500")
    await asyncio.sleep(0.5)
    outage.hanging_probes = await probe_all()
    await asyncio.sleep(max(0.0, HANGING_SECONDS - (time.time() - outage.hanging_began)))

    outage.slow_began = time.time()
    await set_sim(running, error_rate=0.0, latency="2000")
    await asyncio.sleep(SLOW_SECONDS)

    await set_sim(running, latency=BASELINE_LATENCY)
    outage.restored = time.time()


async def test_whatsapp_outage_loses_nothing_and_sync_sends_fail_fast(postgres_server: str) -> None:
    async with start_running(postgres_server, "faults-outage", OUTAGE_ENV) as running:
        await set_sim(running, latency=BASELINE_LATENCY)
        accounts = await new_accounts(running, "Outage", OUTAGE_ACCOUNTS)
        client, outage, start = Client(), Outage(), asyncio.Event()

        def count_accepted() -> None:
            if len(client.accepted) >= OUTAGE_AFTER_ACCEPTED:
                start.set()

        started = time.monotonic()
        breaker = asyncio.create_task(whatsapp_outage(running, start, outage))
        try:
            await post_load(
                running,
                accounts,
                client,
                messages=OUTAGE_MESSAGES,
                concurrency=32,
                key_prefix="outage",
                to=lambda n: f"1555{n:07d}",
                patience=60,
                on_accepted=count_accepted,
            )
        finally:
            if not start.is_set():
                breaker.cancel()
        posted_in = time.monotonic() - started
        await breaker
        settled_in = await until_settled(running, timeout=45)
        restored_to_settled = time.time() - outage.restored

        # Every post answered 202 at once: WhatsApp's outage is none of the client's business.
        assert client.gave_up == []
        assert client.outcomes() == Counter({"202": OUTAGE_MESSAGES}), client.outcomes()
        accepted = set(client.accepted)
        stored = await stored_messages(running, accounts)
        seen = await at_whatsapp(running, accounts, set(stored))
        statuses = check_all_sent(accepted, stored, seen)

        # At most one answer WhatsApp gave in time per message; every other success came
        # after the sender's timeout (the sender gave up, WhatsApp kept the message).
        in_time_twice = {
            m: rs for m, rs in seen.successes.items() if sum(took(r) < LATE_ANSWER_SECONDS for r in rs) > 1
        }
        late = [r for rs in seen.successes.values() for r in rs if took(r) >= LATE_ANSWER_SECONDS]
        duplicates = seen.duplicates()
        unexplained = {
            m: rs for m, rs in duplicates.items() if not all(took(r) >= LATE_ANSWER_SECONDS for r in rs[:-1])
        }
        late_outside_slow = [
            r for r in late if not outage.slow_began - 0.5 <= r["received_at"] <= outage.restored + 0.5
        ]
        attempts = Counter(row.attempts for row in stored.values())

        probes = outage.failing_probes + outage.hanging_probes
        stored_probes = {p.message_id: await message(running, running.acme, p.message_id) for p in probes}

        print(
            f"\nwhatsapp outage: accepted={len(accepted)} sent={statuses['sent']} lost=0 "
            f"duplicates={len(duplicates)} (late 200s after the sender's timeout={len(late)}) "
            f"non200_at_whatsapp={sum(seen.others.values())} {dict(seen.others)} "
            f"max_attempts={max(attempts)} "
            f"outage={outage.restored - outage.began:.1f}s (503s {FAILING_SECONDS:.0f}s, hanging "
            f"{HANGING_SECONDS:.0f}s, slow {SLOW_SECONDS:.0f}s) "
            f"sync_503_phase={[(p.status, round(p.elapsed, 2)) for p in outage.failing_probes]} "
            f"sync_hanging_phase={[(p.status, round(p.elapsed, 2)) for p in outage.hanging_probes]} "
            f"posted_in={posted_in:.1f}s settled_in={settled_in:.1f}s "
            f"restored_to_settled={restored_to_settled:.1f}s"
        )
        assert in_time_twice == {}, f"{len(in_time_twice)} messages accepted twice in time by WhatsApp"
        assert unexplained == {}, f"{len(unexplained)} duplicates without a timed-out first send"
        assert len(duplicates) <= len(late)
        assert late_outside_slow == [], f"{len(late_outside_slow)} late answers outside the slow phase"
        assert len(late) > 0, "the slow phase sent nothing: the timeout path was not exercised"
        assert sum(seen.others.values()) > OUTAGE_MESSAGES / 2, "the outage hit too few sends"

        # Sync sends during the outage: a quick 502 or 504, stored failed, never a hang or a 500.
        for p in outage.failing_probes:
            assert (p.status, p.code, p.whatsapp_code) == (502, "whatsapp_failed", "131016"), p
        for p in outage.hanging_probes:
            assert (p.status, p.code, p.whatsapp_code) == (504, "whatsapp_timeout", "timeout"), p
            assert p.elapsed >= WHATSAPP_TIMEOUT_SECONDS - 0.1, p
        assert all(p.elapsed < SYNC_DEADLINE_SECONDS for p in probes), probes
        for p in probes:
            assert stored_probes[p.message_id]["status"] == "failed", stored_probes[p.message_id]
            assert stored_probes[p.message_id]["error"]["code"] == p.whatsapp_code


# --- 2. PostgreSQL restart ------------------------------------------------------------------------

POSTGRES_ENV = {
    "LEASE_SECONDS": "3",
    "MAX_ATTEMPTS": "30",
    "RETRY_BASE_SECONDS": "0.2",
    "RETRY_MAX_SECONDS": "1",
}
POSTGRES_MESSAGES = 1500
POSTGRES_AFTER_ACCEPTED = 300
POSTGRES_DOWN_SECONDS = 3.0
# Longest any request may take while PostgreSQL is down: the pool's timeout (5 s) and a margin.
POSTGRES_ANSWER_SECONDS = 7.0


@dataclass
class Restart:
    stop_began: float = 0.0  # monotonic
    stopped: float = 0.0
    restarted: float = 0.0
    stop_wall: float = 0.0
    restarted_wall: float = 0.0
    not_ready_after: float | None = None  # seconds from the stop to /readyz 503
    ready_after: float | None = None  # seconds from the restart to /readyz 200
    readyz_during_gap: Counter[int] = field(default_factory=Counter)


async def restart_postgres(
    running: Running, postgres: RestartablePostgres, start: asyncio.Event, restart: Restart
) -> None:
    await start.wait()
    restart.stop_wall = time.time()
    restart.stop_began = time.monotonic()
    await asyncio.to_thread(postgres.stop)
    restart.stopped = time.monotonic()
    # Down at least POSTGRES_DOWN_SECONDS, and until the gateway reports not ready.
    while time.monotonic() - restart.stopped < POSTGRES_DOWN_SECONDS or restart.not_ready_after is None:
        status, dependencies = await readyz(running)
        restart.readyz_during_gap[status] += 1
        if status == 503 and restart.not_ready_after is None:
            assert dependencies == {"conversations": False, "sender": True}, dependencies
            restart.not_ready_after = time.monotonic() - restart.stop_began
        assert time.monotonic() - restart.stopped < 10, "/readyz never reported PostgreSQL's absence"
        await asyncio.sleep(0.1)
    await asyncio.to_thread(postgres.start)
    restart.restarted = time.monotonic()
    restart.restarted_wall = time.time()
    # The test's own pool holds connections the stop closed (the services' pools must cope alone).
    await running.engine.dispose()

    async def ready() -> bool:
        return (await readyz(running))[0] == 200

    restart.ready_after = await until(ready, 10, "/readyz 200 after the restart")


@dataclass(frozen=True)
class Endpoint:
    id: str
    account_id: str
    # The account's newest event when it was made: it gets those after.
    first_after: int


async def register_endpoints(
    running: Running, accounts: list[SeededAccount], receiver: Receiver
) -> list[Endpoint]:
    """An outbound webhook endpoint per account, taking every event."""
    endpoints = []
    for account in accounts:
        async with running.http.post(
            f"{running.gateway}/webhook-endpoints",
            json={"url": receiver.url(f"/{account.account_id}"), "events": ["*"]},
            headers={"Authorization": f"Bearer {account.api_key}"},
        ) as response:
            assert response.status == 201
            created = await response.json()
        endpoints.append(Endpoint(created["id"], account.account_id, created["last_event_id"]))
    return endpoints


async def undelivered(running: Running, endpoints: list[Endpoint], receiver: Receiver) -> set[str]:
    """The webhook-ids of the endpoints' events that the receiver has not had."""
    expected = set()
    async with running.engine.connect() as connection:
        for endpoint in endpoints:
            rows = await connection.execute(
                text("SELECT id FROM events WHERE account_id = CAST(:account AS uuid) AND id > :after"),
                {"account": endpoint.account_id, "after": endpoint.first_after},
            )
            expected |= {f"msg_{endpoint.id.replace('-', '')}_{row.id}" for row in rows}
    return expected - {r["headers"]["webhook-id"] for r in await receiver.received()}


async def test_postgres_restart_mid_load(postgres_server: str, receiver: Receiver) -> None:
    postgres = RestartablePostgres(DATA_DIR / f"pg-faults-{os.getpid()}-{secrets.token_hex(3)}")
    server = await asyncio.to_thread(postgres.start)
    try:
        async with start_running(server, "faults-postgres", POSTGRES_ENV) as running:
            await set_sim(running, latency="20-60")
            accounts = await new_accounts(running, "Postgres", 3)
            endpoints = await register_endpoints(running, accounts, receiver)
            before = pids(running)
            client, restart, start = Client(), Restart(), asyncio.Event()

            def count_accepted() -> None:
                if len(client.accepted) >= POSTGRES_AFTER_ACCEPTED:
                    start.set()

            started = time.monotonic()
            restarter = asyncio.create_task(restart_postgres(running, postgres, start, restart))
            try:
                await post_load(
                    running,
                    accounts,
                    client,
                    messages=POSTGRES_MESSAGES,
                    concurrency=16,
                    key_prefix="pg",
                    to=lambda n: f"1555{n:07d}",
                    patience=40,
                    on_accepted=count_accepted,
                    retry_pause=0.1,
                )
            finally:
                if not start.is_set():
                    restarter.cancel()
            assert start.is_set(), "PostgreSQL was never restarted"
            await restarter
            posted_in = time.monotonic() - started
            settled_in = await until_settled(running, timeout=30)

            gap = [a for a in client.attempts if restart.stop_began <= a.started < restart.restarted]
            after = [a for a in client.attempts if a.started >= restart.restarted]
            outcomes = client.outcomes()
            errors = Counter(f"{a.outcome}/{a.code}" for a in client.attempts if a.outcome != "202")
            slowest_error = max((a.elapsed for a in client.attempts if a.outcome != "202"), default=0.0)
            first_202_after = min((a.started for a in after if a.outcome == "202"), default=float("inf"))
            last_error_after = max(
                (a.started + a.elapsed for a in after if a.outcome != "202"), default=restart.restarted
            )

            accepted = set(client.accepted)
            stored = await stored_messages(running, accounts)
            seen = await at_whatsapp(running, accounts, set(stored))
            statuses = check_all_sent(accepted, stored, seen)
            duplicates = seen.duplicates()
            # The window: WhatsApp accepted it, and the outcome could not be written (down).
            outside_window = {
                m: [r["received_at"] for r in rs]
                for m, rs in duplicates.items()
                if not restart.stop_wall - 1.0 <= rs[0]["answered_at"] <= restart.restarted_wall + 2.0
            }
            after_pids = pids(running)

            print(
                f"\npostgres restart: accepted={len(accepted)} sent={statuses['sent']} lost=0 "
                f"duplicates={len(duplicates)} requests={len(client.attempts)} {dict(outcomes)} "
                f"during_gap={dict(Counter(a.outcome for a in gap))} errors={dict(errors)} "
                f"slowest_error={slowest_error:.2f}s "
                f"down={restart.restarted - restart.stop_began:.1f}s "
                f"readyz_503_after={restart.not_ready_after:.1f}s readyz_200_after_restart={restart.ready_after:.1f}s "
                f"first_202_after_restart={first_202_after - restart.restarted:.2f}s "
                f"errors_until={last_error_after - restart.restarted:.2f}s_after_restart "
                f"posted_in={posted_in:.1f}s settled_in={settled_in:.1f}s"
            )
            assert client.bad_shape == [], client.bad_shape[:3]
            assert set(outcomes) <= {"202", "503"}, outcomes
            assert {a.code for a in client.attempts if a.outcome == "503"} <= {"service_unavailable"}
            assert slowest_error < POSTGRES_ANSWER_SECONDS, slowest_error
            assert Counter(a.outcome for a in gap)["503"] > 0, "no request met the gap"
            assert client.gave_up == [], f"{len(client.gave_up)} messages never accepted"
            assert outside_window == {}, list(outside_window.items())[:5]
            assert restart.readyz_during_gap[503] > 0
            # Reconnected by themselves: no pigeon process was restarted.
            assert after_pids == before and all(after_pids.values()), (before, after_pids)
            # Every event reached the accounts' webhook endpoints too.
            deadline = time.monotonic() + 60
            while missing := await undelivered(running, endpoints, receiver):
                assert time.monotonic() < deadline, f"{len(missing)} events never delivered"
                await asyncio.sleep(0.5)
            # At least each message's queued and sent events.
            assert len(await receiver.received()) >= 2 * len(accepted)
    finally:
        await asyncio.to_thread(postgres.close)


# --- 3. SIGKILL of the gateway ---------------------------------------------------------------------

KILL_ENV = {"SYNC_LEASE_SECONDS": "2", "LEASE_SECONDS": "3", "MAX_ATTEMPTS": "20", "RETRY_MAX_SECONDS": "1"}
KILL_ASYNC_MESSAGES = 1200
KILL_SYNC_MESSAGES = 300
KILL_SYNC_CONCURRENCY = 16
KILL_AFTER_ACCEPTED = 300
KILL_DOWN_SECONDS = 1.0


@dataclass
class Kill:
    killed_at: float = 0.0  # wall clock
    signalled_mono: float = 0.0
    killed_mono: float = 0.0
    restarted_mono: float = 0.0
    at_whatsapp_at_kill: int = 0


async def kill_gateway(running: Running, start: asyncio.Event, kill: Kill) -> None:
    await start.wait()
    # Kill while sync sends are at WhatsApp: their gateway dies mid-call.
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        recent = await running.simulator_requests(since=str(time.time() - 1))
        kill.at_whatsapp_at_kill = sum(r["status"] is None for r in recent)
        if kill.at_whatsapp_at_kill >= 3:
            break
        await asyncio.sleep(0.005)
    gateway = running.stack.service("gateway")
    kill.signalled_mono = time.monotonic()
    gateway.signal(signal.SIGKILL)
    assert gateway.process is not None
    assert await asyncio.to_thread(gateway.process.wait, 10) == -signal.SIGKILL
    kill.killed_at, kill.killed_mono = time.time(), time.monotonic()
    await asyncio.sleep(KILL_DOWN_SECONDS)
    await asyncio.to_thread(gateway.start)
    kill.restarted_mono = time.monotonic()


async def test_killed_gateway_never_acknowledges_what_it_did_not_store(postgres_server: str) -> None:
    async with start_running(postgres_server, "faults-gateway-kill", KILL_ENV) as running:
        await set_sim(running, latency="20-80")
        async_accounts = await new_accounts(running, "Kill async", 3)
        sync_accounts = await new_accounts(running, "Kill sync", 2)
        async_client, sync_client, kill, start = Client(), Client(), Kill(), asyncio.Event()

        def count_accepted() -> None:
            if len(async_client.accepted) >= KILL_AFTER_ACCEPTED:
                start.set()

        started = time.monotonic()
        killer = asyncio.create_task(kill_gateway(running, start, kill))
        try:
            await asyncio.gather(
                post_load(
                    running,
                    async_accounts,
                    async_client,
                    messages=KILL_ASYNC_MESSAGES,
                    concurrency=16,
                    key_prefix="kill-async",
                    to=lambda n: f"1555{n:07d}",
                    patience=40,
                    on_accepted=count_accepted,
                ),
                post_load(
                    running,
                    sync_accounts,
                    sync_client,
                    messages=KILL_SYNC_MESSAGES,
                    concurrency=KILL_SYNC_CONCURRENCY,
                    route="send",
                    key_prefix="kill-sync",
                    to=lambda n: f"1557{n:07d}",
                    patience=40,
                ),
            )
        finally:
            if not start.is_set():
                killer.cancel()
        assert start.is_set(), "the gateway was never killed"
        await killer
        posted_in = time.monotonic() - started
        # Sync sends cut by the kill stay `sending` until their lease (2 s), then the outbox sends them.
        settled_in = await until_settled(running, timeout=30)

        accepted_async, accepted_sync = set(async_client.accepted), set(sync_client.accepted)
        stored_async = await stored_messages(running, async_accounts)
        stored_sync = await stored_messages(running, sync_accounts)
        seen_async = await at_whatsapp(running, async_accounts, set(stored_async))
        seen_sync = await at_whatsapp(running, sync_accounts, set(stored_sync))
        statuses_async = check_all_sent(accepted_async, stored_async, seen_async)
        statuses_sync = check_all_sent(accepted_sync, stored_sync, seen_sync)
        sync_duplicates = seen_sync.duplicates()
        outside_window = {
            m: rs
            for m, rs in sync_duplicates.items()
            if len(rs) != 2 or not rs[0]["received_at"] < kill.killed_at < rs[1]["received_at"]
        }
        outcomes = async_client.outcomes() + sync_client.outcomes()
        connection_errors = {k: v for k, v in outcomes.items() if not k.isdigit()}
        errors_before_kill = [
            a
            for a in async_client.attempts + sync_client.attempts
            if a.started + a.elapsed < kill.signalled_mono and not a.outcome.isdigit()
        ]

        print(
            f"\ngateway SIGKILL: accepted={len(accepted_async)} async + {len(accepted_sync)} sync "
            f"sent={statuses_async['sent'] + statuses_sync['sent']} lost=0 "
            f"duplicates={len(seen_async.duplicates())} async + {len(sync_duplicates)} sync "
            f"(sync calls at WhatsApp at the kill={kill.at_whatsapp_at_kill}) "
            f"answers={dict(outcomes)} replayed={async_client.replayed + sync_client.replayed} "
            f"down={kill.restarted_mono - kill.killed_mono:.1f}s "
            f"posted_in={posted_in:.1f}s settled_in={settled_in:.1f}s"
        )
        assert async_client.gave_up == [] and sync_client.gave_up == []
        assert set(outcomes) - set(connection_errors) <= {"200", "202"}, outcomes
        assert connection_errors, "no client saw the kill"
        assert errors_before_kill == [], errors_before_kill[:3]
        assert seen_async.duplicates() == {}, "the outbox sent twice though only the gateway died"
        assert outside_window == {}, list(outside_window.items())[:3]
        assert len(sync_duplicates) <= KILL_SYNC_CONCURRENCY  # at most the sync calls the kill cut


# --- 4. A stuck sender ----------------------------------------------------------------------------

STUCK_ENV = {
    "SEND_TIMEOUT_SECONDS": "2",
    "MAX_ATTEMPTS": "30",
    "RETRY_BASE_SECONDS": "0.2",
    "RETRY_MAX_SECONDS": "1",
}
STUCK_DEADLINE = 2.0
STUCK_MARGIN = 1.0


async def test_stuck_sender_is_cut_by_the_gateway_deadline(postgres_server: str) -> None:
    async with start_running(postgres_server, "faults-stuck-sender", STUCK_ENV) as running:
        acme = running.acme
        sender = running.stack.service("sender")
        warm = await sync_probe(running, acme, "15580000000")
        assert warm.status == 200, warm
        sender.signal(signal.SIGSTOP)
        try:
            stopped_at = time.time()
            async with running.http.post(
                f"{running.gateway}/messages/send-async",
                data=orjson.dumps({"to": "15580000100", **TEMPLATE}),
                headers={"Authorization": f"Bearer {acme.api_key}"},
            ) as response:
                assert response.status == 202
                queued = (await response.json())["id"]
            probes = await asyncio.gather(
                *(sync_probe(running, acme, f"155800000{n:02d}") for n in range(1, 6))
            )
            not_ready = await readyz(running)
            stuck_for = time.time() - stopped_at
        finally:
            sender.signal(signal.SIGCONT)
        resumed_at = time.time()
        stored = {p.message_id: await message(running, acme, p.message_id) for p in probes}

        async def recovered() -> bool:
            return (await sync_probe(running, acme, f"1558{secrets.randbelow(10**7):07d}")).status == 200

        recovered_in = await until(recovered, 10, "a sync send after SIGCONT")
        settled_in = await until_settled(running, timeout=20)
        queued_after = await message(running, acme, queued)
        await asyncio.sleep(0.5)  # let a resumed sender finish whatever it still had
        requests: list[dict[str, Any]] = await running.simulator_requests(
            phone_number_id=acme.phone_number_id
        )
        late_at_whatsapp = [r for r in requests if r["body"]["biz_opaque_callback_data"] in stored]

        print(
            f"\nstuck sender: sync={[(p.status, round(p.elapsed, 2)) for p in probes]} "
            f"deadline={STUCK_DEADLINE}s readyz_while_stuck={not_ready} stuck_for={stuck_for:.1f}s "
            f"recovered_in={recovered_in:.2f}s async_after_resume={queued_after['status']} "
            f"(settled in {settled_in:.1f}s) timed_out_sync_sends_reaching_whatsapp_after_resume="
            f"{len(late_at_whatsapp)} ({Counter(r['status'] for r in late_at_whatsapp)})"
        )
        for p in probes:
            assert (p.status, p.code, p.whatsapp_code) == (504, "whatsapp_timeout", "timeout"), p
            assert STUCK_DEADLINE - 0.1 <= p.elapsed < STUCK_DEADLINE + STUCK_MARGIN, p
            assert (stored[p.message_id]["status"], stored[p.message_id]["error"]["code"]) == (
                "failed",
                "timeout",
            )
        assert not_ready == (503, {"conversations": True, "sender": False}), not_ready
        assert queued_after["status"] == "sent", queued_after
        # A sync send cut by the deadline may still reach WhatsApp once the sender resumes
        # (documented for 504), but at most once, and pigeon keeps it failed.
        assert all(
            n <= 1 for n in Counter(r["body"]["biz_opaque_callback_data"] for r in late_at_whatsapp).values()
        )
        assert all(r["received_at"] >= resumed_at - 0.1 for r in late_at_whatsapp)
        for p in probes:
            assert (await message(running, acme, p.message_id))["status"] == "failed"


# --- 5. SIGTERM of the gateway and the sender under load ---------------------------------------------

GRACEFUL_ENV = {"MAX_ATTEMPTS": "30", "RETRY_BASE_SECONDS": "0.2", "RETRY_MAX_SECONDS": "1"}
IN_FLIGHT = 8
# The gateway's gRPC channel retries a lost peer with a backoff of at most 2 s (grpc_client.py).
RECONNECT_SECONDS = 2.5
SLOW_RECIPIENT = "1998700"  # the simulator answers 700 ms later: well inside the 1.5 s timeout


@dataclass
class Background:
    """Async and sync sends posted continuously while a service is stopped and started."""

    async_client: Client = field(default_factory=Client)
    sync_client: Client = field(default_factory=Client)
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    numbers: itertools.count = field(default_factory=itertools.count)

    async def run(self, running: Running, accounts: list[SeededAccount]) -> None:
        async def worker(route: str, client: Client) -> None:
            url = f"{running.gateway}/messages/{route}"
            while not self.stop.is_set():
                n = next(self.numbers)
                body = orjson.dumps({"to": f"1559{n:07d}", **TEMPLATE})
                outcome, payload = await post_once(
                    running, url, accounts[n % len(accounts)], body, {}, client
                )
                if outcome in ("200", "202"):
                    client.accepted[payload["id"]] = n
                elif outcome.isdigit() and isinstance(payload, dict):
                    client.accepted[payload["error"]["details"]["message_id"]] = n
                else:
                    await asyncio.sleep(0.05)

        await asyncio.gather(
            *(worker("send-async", self.async_client) for _ in range(6)),
            *(worker("send", self.sync_client) for _ in range(6)),
        )


@dataclass
class Stopped:
    probes: list[SyncProbe]
    signalled: float  # monotonic
    exited_in: float
    code: int | None


async def in_flight_then_signal(running: Running, service_name: str, account: SeededAccount) -> Stopped:
    """Starts IN_FLIGHT slow sync sends and SIGTERMs the service while they are at WhatsApp;
    returns their answers, when it was signalled, how long it took to exit, its exit code."""
    probes = [asyncio.create_task(sync_probe(running, account, SLOW_RECIPIENT)) for _ in range(IN_FLIGHT)]

    async def at_whatsapp_now() -> bool:
        recent = await running.simulator_requests(to=SLOW_RECIPIENT, since=str(time.time() - 1))
        return sum(r["status"] is None for r in recent) >= IN_FLIGHT

    await until(at_whatsapp_now, 3, "the slow sends at WhatsApp")
    service = running.stack.service(service_name)
    assert service.process is not None
    signalled = time.monotonic()
    service.signal(signal.SIGTERM)
    code = await asyncio.to_thread(service.process.wait, 20)
    exited_in = time.monotonic() - signalled
    return Stopped(list(await asyncio.gather(*probes)), signalled, exited_in, code)


async def test_sigterm_of_gateway_and_sender_under_load(postgres_server: str) -> None:
    async with start_running(postgres_server, "faults-graceful", GRACEFUL_ENV) as running:
        await set_sim(running, latency="20-80")
        accounts = await new_accounts(running, "Graceful", 3)
        slow = (await new_accounts(running, "Graceful slow", 1))[0]
        background = Background()
        load = asyncio.create_task(background.run(running, accounts))
        try:
            await asyncio.sleep(1.0)
            gateway = await in_flight_then_signal(running, "gateway", slow)
            await asyncio.to_thread(running.stack.service("gateway").start)
            gateway_up = time.monotonic()
            await asyncio.sleep(1.0)

            sender = await in_flight_then_signal(running, "sender", slow)
            await asyncio.sleep(0.5)  # sends meet a missing sender
            await asyncio.to_thread(running.stack.service("sender").start)
            sender_up = time.monotonic()
            await asyncio.sleep(1.0)
        finally:
            background.stop.set()
            await load
        settled_in = await until_settled(running, timeout=30)

        async_client, sync_client = background.async_client, background.sync_client
        attempts = async_client.attempts + sync_client.attempts
        stored = await stored_messages(running, accounts)
        accepted_async, answered_sync = set(async_client.accepted), set(sync_client.accepted)
        # A request the gateway stored but whose answer never reached the client: an in-flight
        # request dropped by the shutdown.
        unanswered = set(stored) - accepted_async - answered_sync
        async_statuses = Counter(stored[m].status for m in accepted_async)
        sync_statuses = Counter(f"{stored[m].status}/{stored[m].error_code}" for m in answered_sync)
        sync_answers = Counter(f"{a.outcome}/{a.code}" if a.code else a.outcome for a in sync_client.attempts)
        async_answers = async_client.outcomes()
        # Connection errors belong to the gateway's absence: from its SIGTERM to its restart.
        connection_errors = [a for a in attempts if not a.outcome.isdigit()]
        errors_outside = [
            a for a in connection_errors if not gateway.signalled <= a.started + a.elapsed <= gateway_up + 0.5
        ]
        errors_started_before_signal = [a for a in connection_errors if a.started < gateway.signalled]
        # From the sender's SIGTERM until the gateway's channel reconnects (its backoff is at most 2 s).
        sender_502 = [a for a in sync_client.attempts if a.outcome == "502"]
        sender_errors_outside = [
            a
            for a in sender_502
            if not (a.started + a.elapsed >= sender.signalled and a.started <= sender_up + RECONNECT_SECONDS)
        ]
        last_502_after_restart = max((a.started + a.elapsed - sender_up for a in sender_502), default=0.0)
        probes = gateway.probes + sender.probes
        slow_stored = {p.message_id: (await message(running, slow, p.message_id))["status"] for p in probes}
        seen = await at_whatsapp(running, accounts, set(stored))

        print(
            f"\ngraceful SIGTERM: gateway in_flight={[p.status for p in gateway.probes]} exit={gateway.code} "
            f"in {gateway.exited_in:.2f}s down={gateway_up - gateway.signalled:.1f}s; "
            f"sender in_flight={[p.status for p in sender.probes]} exit={sender.code} in {sender.exited_in:.2f}s "
            f"down={sender_up - sender.signalled:.1f}s (502s until {last_502_after_restart:.1f}s after its restart); "
            f"async={dict(async_answers)} -> {dict(async_statuses)}; "
            f"sync={dict(sync_answers)} -> {dict(sync_statuses)}; stored_unanswered={len(unanswered)} "
            f"connection_errors_on_requests_sent_before_sigterm={len(errors_started_before_signal)} "
            f"duplicates={len(seen.duplicates())} settled_in={settled_in:.1f}s"
        )
        # In-flight requests completed: sent, answered 200, and the processes exited cleanly.
        assert [p.status for p in probes] == [200] * (2 * IN_FLIGHT)
        assert set(slow_stored.values()) == {"sent"}, slow_stored
        assert (gateway.code, sender.code) == (0, 0)
        assert gateway.exited_in < 5 and sender.exited_in < 5
        assert unanswered == set(), f"{len(unanswered)} stored messages whose request got no answer"
        # No 5xx but the sender's absence (502 with a sender_* code, stored failed: mostly
        # sender_unavailable, or sender_cancelled for a call the stopping server dropped as it came
        # in), and connection errors only while the gateway was away.
        assert async_client.bad_shape == [] and sync_client.bad_shape == []
        assert {k for k in async_answers if k.isdigit()} == {"202"}, async_answers
        assert {k for k in sync_answers if k[0].isdigit()} <= {"200", "502/whatsapp_failed"}, sync_answers
        codes = Counter(a.details["whatsapp_code"] for a in sync_client.attempts if a.outcome == "502")
        assert all(code.startswith(SENDER_CALL_PREFIX) for code in codes), codes
        assert sender_errors_outside == [], [
            (round(a.started - sender.signalled, 2), round(a.started - sender_up, 2))
            for a in sender_errors_outside
        ]
        assert errors_outside == [], errors_outside[:3]
        # Nothing left behind; every async message sent, every sync one as it was answered.
        assert async_statuses == Counter({"sent": len(accepted_async)}), async_statuses
        assert sum(sync_statuses.values()) == len(answered_sync)
        failed_by_sender = {
            k: n for k, n in sync_statuses.items() if k.startswith(f"failed/{SENDER_CALL_PREFIX}")
        }
        assert set(sync_statuses) - set(failed_by_sender) <= {"sent/None"}, sync_statuses
        assert sum(failed_by_sender.values()) == sync_answers["502/whatsapp_failed"]
        assert seen.duplicates() == {}


# --- 6. A stuck conversations service ----------------------------------------------------------------

STUCK_RPC_TIMEOUT = 2.0


async def test_accepts_waiting_behind_a_stuck_call_keep_their_own_deadline(postgres_server: str) -> None:
    """Accepts share calls to conversations, and one that waits for the call ahead of it
    must still be answered by its own deadline (503), not by the one of the call after."""
    env = {"RPC_TIMEOUT_SECONDS": str(STUCK_RPC_TIMEOUT)}
    async with start_running(postgres_server, "faults-stuck-conversations", env) as running:
        acme = running.acme
        conversations = running.stack.service("conversations")

        async def accept(to: str) -> tuple[int, str, float]:
            started = time.monotonic()
            async with running.http.post(
                f"{running.gateway}/messages/send-async",
                data=orjson.dumps({"to": to, **TEMPLATE}),
                headers={"Authorization": f"Bearer {acme.api_key}"},
            ) as response:
                body = await response.json()
                code = body["error"]["code"] if response.status >= 400 else body["status"]
                return response.status, code, time.monotonic() - started

        assert (await accept("15590000000"))[:2] == (202, "queued")  # the key is cached now
        conversations.signal(signal.SIGSTOP)
        try:
            first = asyncio.create_task(accept("15590000001"))
            await asyncio.sleep(STUCK_RPC_TIMEOUT * 0.75)  # the first call is in flight
            waiting = await accept("15590000002")
            stuck = await first
        finally:
            conversations.signal(signal.SIGCONT)
        print(f"\nstuck conversations: first={stuck} waiting={waiting}")
        for status, code, elapsed in (stuck, waiting):
            assert (status, code) == (503, "service_unavailable")
            # Its own deadline; the call after the stuck one would end 0.75 x later.
            assert STUCK_RPC_TIMEOUT - 0.1 <= elapsed < STUCK_RPC_TIMEOUT + 0.4, elapsed
        assert (await accept("15590000003"))[:2] == (202, "queued")
