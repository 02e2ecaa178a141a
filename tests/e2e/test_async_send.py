"""POST /messages/send-async and the outbox, end to end: idempotency, the 24 h window,
every retry and permanent path against the simulator's triggers, and rate limits."""

import asyncio
import itertools
import time
from typing import Any

import aiohttp
import orjson
from sqlalchemy import text

from tests.fixtures.stack import Running
from tools.seed import SeededAccount, create_account

TERMINAL = {"sent", "failed", "delivered", "read"}
TEMPLATE = {"type": "template", "template": {"name": "order_update", "language": {"code": "en"}}}


def auth(account: SeededAccount, **headers: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {account.api_key}", **headers}


async def send(
    running: Running, account: SeededAccount, body: dict[str, Any], route: str = "send-async", **headers: str
) -> tuple[int, Any, Any]:
    async with running.http.post(
        f"{running.gateway}/messages/{route}", data=orjson.dumps(body), headers=auth(account, **headers)
    ) as response:
        return response.status, await response.json(), response.headers


async def message(running: Running, account: SeededAccount, message_id: str) -> dict[str, Any]:
    async with running.http.get(
        f"{running.gateway}/messages/{message_id}", headers=auth(account)
    ) as response:
        assert response.status == 200
        return dict(await response.json())


async def until_terminal(
    running: Running, account: SeededAccount, message_id: str, timeout: float = 15
) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        current = await message(running, account, message_id)
        if current["status"] in TERMINAL:
            return current
        await asyncio.sleep(0.05)
    raise AssertionError(f"message {message_id} still {current['status']} after {timeout} s")


async def sent_for(running: Running, message_id: str) -> list[dict[str, Any]]:
    """The simulator's record of every request that carried this pigeon message."""
    return [
        r
        for r in await running.simulator_requests()
        if isinstance(r["body"], dict) and r["body"].get("biz_opaque_callback_data") == message_id
    ]


async def test_accepted_as_queued_then_sent(running: Running) -> None:
    acme = running.acme
    status, accepted, headers = await send(
        running,
        acme,
        {"conversation_id": acme.conversation_ids[0], "type": "text", "text": {"body": "Later"}},
    )
    assert status == 202
    assert accepted["status"] == "queued"
    assert headers["Location"] == f"/messages/{accepted['id']}"
    done = await until_terminal(running, acme, accepted["id"])
    assert done["status"] == "sent"
    assert done["wa_message_id"].startswith("wamid.")
    [request] = await sent_for(running, accepted["id"])
    assert request["wa_message_id"] == done["wa_message_id"]
    assert request["body"]["text"] == {"body": "Later", "preview_url": False}


async def test_idempotency_key_replays_the_original(running: Running) -> None:
    acme = running.acme
    body = {"conversation_id": acme.conversation_ids[1], "type": "text", "text": {"body": "Once"}}
    _, first, _ = await send(running, acme, body, **{"Idempotency-Key": "order-42-shipped"})
    await until_terminal(running, acme, first["id"])
    status, again, headers = await send(running, acme, body, **{"Idempotency-Key": "order-42-shipped"})
    assert status == 202
    assert again["id"] == first["id"]
    assert again["status"] == "sent"  # the current status
    assert headers["Idempotent-Replayed"] == "true"
    assert len(await sent_for(running, first["id"])) == 1

    other = {**body, "text": {"body": "Twice?"}}
    status, error, _ = await send(running, acme, other, **{"Idempotency-Key": "order-42-shipped"})
    assert (status, error["error"]["code"]) == (409, "idempotency_key_reused")
    # Keys belong to the account: another account may use the same one.
    globex = running.globex
    status, theirs, _ = await send(
        running,
        globex,
        {"conversation_id": globex.conversation_ids[0], "type": "text", "text": {"body": "Once"}},
        **{"Idempotency-Key": "order-42-shipped"},
    )
    assert status == 202
    assert theirs["id"] != first["id"]


async def test_concurrent_requests_with_one_key_make_one_message(running: Running) -> None:
    acme = running.acme
    body = {"conversation_id": acme.conversation_ids[2], "type": "text", "text": {"body": "Burst"}}
    results = await asyncio.gather(
        *(send(running, acme, body, **{"Idempotency-Key": "burst-1"}) for _ in range(20))
    )
    assert {status for status, _, _ in results} == {202}
    ids = {accepted["id"] for _, accepted, _ in results}
    assert len(ids) == 1
    [message_id] = ids
    await until_terminal(running, acme, message_id)
    assert len(await sent_for(running, message_id)) == 1


async def metric(http: aiohttp.ClientSession, url: str, name: str, label: str) -> float:
    """The sum of a Prometheus metric's samples that carry `label` (e.g. 'batch="accepts"')."""
    async with http.get(url) as response:
        lines = (await response.text()).splitlines()
    return sum(
        float(line.rpartition(" ")[2]) for line in lines if line.startswith(name + "{") and label in line
    )


async def batch_calls(running: Running) -> tuple[float, float, float]:
    """BatchCreateOutboundMessages calls served by conversations; the gateway's batches of
    accepts, and the accepts in them."""
    conversations = f"http://127.0.0.1:{running.stack.conversations_metrics_port}/metrics"
    gateway = f"{running.gateway}/metrics"
    return (
        await metric(
            running.http,
            conversations,
            "grpc_server_handled_total",
            'grpc_method="BatchCreateOutboundMessages"',
        ),
        await metric(running.http, gateway, "pigeon_batch_items_count", 'batch="accepts"'),
        await metric(running.http, gateway, "pigeon_batch_items_sum", 'batch="accepts"'),
    )


async def test_concurrent_accepts_of_two_accounts_each_get_their_own_answer(running: Running) -> None:
    """The gateway sends concurrent accepts to conversations together (one batch call):
    each request still gets its own answer, and one account's never touch another's."""
    acme, globex = running.acme, running.globex

    def text_to(conversation_id: str, body: str) -> dict[str, Any]:
        return {"conversation_id": conversation_id, "type": "text", "text": {"body": body}}

    calls = []
    for n in range(30):
        calls.append(send(running, acme, text_to(acme.conversation_ids[n % 3], f"acme {n}")))
        calls.append(send(running, globex, text_to(globex.conversation_ids[n % 3], f"globex {n}")))
    # Acme addressing Globex's conversation, and one key with two bodies.
    calls.append(send(running, acme, text_to(globex.conversation_ids[0], "not yours")))
    for body in ("mixed one", "mixed two"):
        calls.append(
            send(running, acme, text_to(acme.conversation_ids[0], body), **{"Idempotency-Key": "mixed"})
        )
    before = await batch_calls(running)
    results = await asyncio.gather(*calls)
    calls_served, batches, batched = (b - a for a, b in zip(before, await batch_calls(running), strict=True))

    # They did share calls: as many as the gateway made, fewer than the requests they carried.
    assert 1 <= calls_served == batches < len(calls), (calls_served, batches)
    assert batched == len(calls)
    *ordinary, foreign, (first_status, *_), (second_status, *_) = results
    assert [status for status, _, _ in ordinary] == [202] * 60
    assert (foreign[0], foreign[1]["error"]["code"]) == (404, "not_found")
    assert sorted([first_status, second_status]) == [202, 409]
    accepted = {body["id"]: n for n, (_, body, _) in enumerate(ordinary)}
    assert len(accepted) == 60
    async with running.engine.connect() as connection:
        rows = (
            await connection.execute(
                text(
                    "SELECT m.id::text AS id, c.account_id::text AS account_id, m.body->>'body' AS body "
                    "FROM messages m JOIN conversations c ON c.id = m.conversation_id "
                    "WHERE m.id = ANY(CAST(:ids AS uuid[]))"
                ),
                {"ids": list(accepted)},
            )
        ).all()
    assert len(rows) == 60
    for row in rows:
        n = accepted[row.id]
        owner = acme if n % 2 == 0 else globex
        assert (row.account_id, row.body) == (
            owner.account_id,
            f"{'acme' if n % 2 == 0 else 'globex'} {n // 2}",
        )


async def test_idempotent_sync_send_calls_whatsapp_once(running: Running) -> None:
    acme = running.acme
    body = {"conversation_id": acme.conversation_ids[0], "type": "text", "text": {"body": "Sync once"}}
    status, first, _ = await send(running, acme, body, route="send", **{"Idempotency-Key": "sync-1"})
    assert status == 200
    status, again, headers = await send(running, acme, body, route="send", **{"Idempotency-Key": "sync-1"})
    assert (status, again["id"], again["status"]) == (200, first["id"], "sent")
    assert headers["Idempotent-Replayed"] == "true"
    assert len(await sent_for(running, first["id"])) == 1
    # The same key on the other route is another request.
    status, error, _ = await send(running, acme, body, **{"Idempotency-Key": "sync-1"})
    assert (status, error["error"]["code"]) == (409, "idempotency_key_reused")


async def test_idempotency_key_limits(running: Running) -> None:
    acme = running.acme
    body = {"conversation_id": acme.conversation_ids[0], "type": "text", "text": {"body": "x"}}
    status, _, _ = await send(running, acme, body, **{"Idempotency-Key": "k" * 255})
    assert status == 202
    status, error, _ = await send(running, acme, body, **{"Idempotency-Key": "k" * 256})
    assert (status, error["error"]["details"]["field"]) == (400, "Idempotency-Key")


async def test_24_hour_window(running: Running) -> None:
    stale = await create_account(running.engine, "Stale", conversations=1, minutes_ago=25 * 60)
    await running.register(stale)
    conversation_id = stale.conversation_ids[0]
    text_body = {"conversation_id": conversation_id, "type": "text", "text": {"body": "Are you there?"}}

    status, error, _ = await send(running, stale, text_body, route="send")
    assert (status, error["error"]["code"]) == (422, "reengagement_required")
    status, accepted, _ = await send(running, stale, text_body)
    assert status == 202
    assert accepted["status"] == "failed"
    assert accepted["error"]["code"] == "reengagement_required"
    # Nothing reached WhatsApp for either.
    assert await running.simulator_requests(phone_number_id=stale.phone_number_id) == []

    status, sent, _ = await send(
        running, stale, {"conversation_id": conversation_id, **TEMPLATE}, route="send"
    )
    assert (status, sent["status"]) == (200, "sent")


async def test_permanent_failure_is_not_retried(running: Running) -> None:
    acme = running.acme
    _, accepted, _ = await send(running, acme, {"to": "1999131026", **TEMPLATE})
    done = await until_terminal(running, acme, accepted["id"])
    assert (done["status"], done["error"]["code"]) == ("failed", "131026")
    assert len(await sent_for(running, accepted["id"])) == 1


async def test_retryable_failures_are_retried_then_fail(running: Running) -> None:
    acme = running.acme
    for code in ("131000", "130429", "131016"):
        _, accepted, _ = await send(running, acme, {"to": f"1999{code}", **TEMPLATE})
        done = await until_terminal(running, acme, accepted["id"])
        assert (done["status"], done["error"]["code"]) == ("failed", code)
        assert "gave up after 3 attempts" in done["error"]["message"]
        requests = await sent_for(running, accepted["id"])
        assert len(requests) == 3  # MAX_ATTEMPTS in the test stack
        gaps = [b["received_at"] - a["received_at"] for a, b in itertools.pairwise(requests)]
        assert all(gap >= 0.05 for gap in gaps), gaps  # backoff (base 0.1 s, jittered down to half)


async def test_timeouts_are_retried(running: Running) -> None:
    acme = running.acme
    _, accepted, _ = await send(running, acme, {"to": "19982000", **TEMPLATE})  # answers after 2 s > 1.5 s
    done = await until_terminal(running, acme, accepted["id"], timeout=20)
    assert (done["status"], done["error"]["code"]) == ("failed", "timeout")
    assert len(await sent_for(running, accepted["id"])) == 3


async def test_operator_and_reengagement_codes_fail_at_once(running: Running) -> None:
    # Those of the whole account (190, ...) pause it instead: tests/e2e/test_account_pause.py.
    acme = running.acme
    for code, expected in (("131047", "reengagement_required"), ("131053", "131053"), ("131049", "131049")):
        _, accepted, _ = await send(running, acme, {"to": f"1999{code}", **TEMPLATE})
        done = await until_terminal(running, acme, accepted["id"])
        assert (done["status"], done["error"]["code"]) == ("failed", expected)
        assert len(await sent_for(running, accepted["id"])) == 1


async def test_pair_rate_limit_pauses_the_recipient(running: Running) -> None:
    acme = running.acme
    _, accepted, _ = await send(running, acme, {"to": "1999131056", **TEMPLATE})
    done = await until_terminal(running, acme, accepted["id"], timeout=30)
    requests = await sent_for(running, accepted["id"])
    assert (done["status"], done["error"]["code"]) == ("failed", "131056")
    gaps = [b["received_at"] - a["received_at"] for a, b in itertools.pairwise(requests)]
    assert all(gap >= 5.5 for gap in gaps), gaps  # ~6 s per recipient after 131056


async def test_rate_limit_is_never_exceeded(running: Running) -> None:
    slow = await create_account(running.engine, "Slow", conversations=0, messages_per_second=5)
    await running.register(slow, mps=5)
    accepted = [(await send(running, slow, {"to": f"155500{n:05d}", **TEMPLATE}))[1]["id"] for n in range(20)]
    for message_id in accepted:
        assert (await until_terminal(running, slow, message_id, timeout=30))["status"] == "sent"
    requests = await running.simulator_requests(phone_number_id=slow.phone_number_id)
    assert len(requests) == 20
    assert {r["status"] for r in requests} == {200}  # never a 130429
    arrivals = sorted(float(r["received_at"]) for r in requests)
    assert most_within_one_second(arrivals) <= 5
    # And the pacing keeps it near the limit rather than far below it.
    assert arrivals[-1] - arrivals[0] < 20 / 5 * 1.6


def most_within_one_second(arrivals: list[float]) -> int:
    arrivals = sorted(arrivals)
    return max(len([t for t in arrivals[i:] if t < start + 1.0]) for i, start in enumerate(arrivals))


async def test_sync_and_async_sends_together_keep_the_rate(running: Running) -> None:
    shared = await create_account(running.engine, "Shared", conversations=0, messages_per_second=5)
    await running.register(shared, mps=5)
    queued = [(await send(running, shared, {"to": f"155510{n:05d}", **TEMPLATE}))[1]["id"] for n in range(8)]
    # Sync sends meanwhile take the account's next slots too: each waits for its own, or is
    # refused when the next free one is beyond the horizon (the outbox holds the others).
    answers = []
    for n in range(12):
        status, body, _ = await send(running, shared, {"to": f"155520{n:05d}", **TEMPLATE}, route="send")
        answers.append((status, body.get("status") or body["error"]["code"]))
        await asyncio.sleep(0.1)
    assert set(answers) <= {(200, "sent"), (429, "account_rate_limited")}, answers
    sync_sent = answers.count((200, "sent"))
    assert sync_sent >= 1, answers
    for message_id in queued:
        assert (await until_terminal(running, shared, message_id, timeout=30))["status"] == "sent"
    requests = await running.simulator_requests(phone_number_id=shared.phone_number_id)
    assert len(requests) == 8 + sync_sent  # a refused send never reached WhatsApp
    assert {r["status"] for r in requests} == {200}  # never a 130429
    assert most_within_one_second([float(r["received_at"]) for r in requests]) <= 5


async def test_a_burst_of_sync_sends_gets_the_slots_within_the_horizon(running: Running) -> None:
    burst = await create_account(running.engine, "Burst", conversations=0, messages_per_second=10)
    await running.register(burst, mps=10)
    answers = await asyncio.gather(
        *(send(running, burst, {"to": f"155530{n:05d}", **TEMPLATE}, route="send") for n in range(12))
    )
    statuses = sorted(status for status, _, _ in answers)
    # Slots 0.13 s apart: the eight within the 1 s horizon are sent, each later one refused.
    assert 7 <= statuses.count(200) <= 9 and statuses.count(429) == 12 - statuses.count(200), statuses
    requests = await running.simulator_requests(phone_number_id=burst.phone_number_id)
    assert len(requests) == statuses.count(200)


async def test_a_sync_send_whose_slot_is_too_far_away_is_refused_with_429(running: Running) -> None:
    busy = await create_account(running.engine, "Busy", conversations=0, messages_per_second=5)
    await running.register(busy, mps=5)
    async with running.engine.begin() as connection:
        # Its slots are handed out for the next 30 s (a backlog at its rate).
        await connection.execute(
            text("UPDATE send_pacing SET next_slot_at = now() + interval '30 s' WHERE account_id = :a"),
            {"a": busy.account_id},
        )
    wanted = {"to": "15553000001", **TEMPLATE}
    status, body, headers = await send(running, busy, wanted, route="send", **{"Idempotency-Key": "busy-1"})
    assert status == 429, body
    assert body["error"]["code"] == "account_rate_limited"
    assert int(headers["Retry-After"]) >= 1
    message_id = body["error"]["details"]["message_id"]
    refused = await message(running, busy, message_id)
    assert (refused["status"], refused["error"]["code"]) == ("failed", "account_rate_limited")
    assert await running.simulator_requests(phone_number_id=busy.phone_number_id) == []
    async with running.engine.connect() as connection:
        next_slot_in = await connection.scalar(
            text("SELECT extract(epoch FROM next_slot_at - now()) FROM send_pacing WHERE account_id = :a"),
            {"a": busy.account_id},
        )
    assert 25 < next_slot_in <= 30  # a refused send takes no slot
    # Nor its idempotency key: once the account has slots again, the retry sends it.
    async with running.engine.begin() as connection:
        await connection.execute(
            text("UPDATE send_pacing SET next_slot_at = now() WHERE account_id = :a"), {"a": busy.account_id}
        )
    status, body, _ = await send(running, busy, wanted, route="send", **{"Idempotency-Key": "busy-1"})
    assert (status, body["status"]) == (200, "sent")
    assert body["id"] != message_id
    status, replayed, headers = await send(
        running, busy, wanted, route="send", **{"Idempotency-Key": "busy-1"}
    )
    assert (status, replayed["id"], headers["Idempotent-Replayed"]) == (200, body["id"], "true")


async def test_expired_message_fails_with_expired(postgres_server: str) -> None:
    from tests.fixtures.stack import start_running

    async with start_running(
        postgres_server, "expiry", {"MESSAGE_TTL_SECONDS": "2", "MAX_ATTEMPTS": "10"}
    ) as short:
        acme = short.acme
        _, accepted, _ = await send(short, acme, {"to": "19982500", **TEMPLATE})
        done = await until_terminal(short, acme, accepted["id"], timeout=20)
        assert (done["status"], done["error"]["code"]) == ("failed", "expired")
        async with short.engine.connect() as connection:
            attempts = (
                await connection.execute(
                    text("SELECT attempts FROM messages WHERE id = :id"), {"id": accepted["id"]}
                )
            ).scalar_one()
        assert attempts < 10
