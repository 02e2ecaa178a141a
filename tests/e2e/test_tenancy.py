"""Tenancy, end to end: one account never sees nor changes another's data.

Account B's key with account A's ids answers 404 on every route (exactly as an id that
does not exist: existence is never revealed) and changes nothing, checked in SQL. B's
lists, B's WebSocket and B's gRPC event stream never carry A's data. API keys are stored
only as SHA-256 hashes, and a revoked key stops working within the documented window:
at once in conversations (PostgreSQL NOTIFY), within AUTH_CACHE_TTL_SECONDS at a gateway.
"""

import asyncio
import hashlib
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import grpc
import orjson
import pytest
import pytest_asyncio
from pigeon.conversations.v1 import conversations_pb2 as pb
from pigeon.conversations.v1 import conversations_pb2_grpc as pb_grpc
from sqlalchemy import text

from services.shared.api_keys import hash_api_key
from tests.fixtures.stack import Running, start_running
from tools.seed import SeededAccount, create_account

MATRIX_KEY = "tenancy-key-a-used"
OWN_KEY = "tenancy-key-b-reuses"
TEMPLATE = {"type": "template", "template": {"name": "order_update", "language": {"code": "en"}}}


@dataclass
class Tenants:
    a: SeededAccount
    b: SeededAccount
    a_message_id: str  # an outbound message of A's
    a_inbound_id: str  # the inbound message seeded in A's first conversation


def auth(account: SeededAccount) -> dict[str, str]:
    return {"Authorization": f"Bearer {account.api_key}"}


async def request(
    running: Running, account: SeededAccount, method: str, path: str, body: Any = None, **headers: str
) -> tuple[int, Any]:
    data = None if body is None else orjson.dumps(body)
    async with running.http.request(
        method, f"{running.gateway}{path}", data=data, headers={**auth(account), **headers}
    ) as response:
        return response.status, await response.json()


async def scalar(running: Running, sql: str, **params: Any) -> Any:
    async with running.engine.connect() as connection:
        return (await connection.execute(text(sql), params)).scalar_one()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def tenants(running: Running) -> Tenants:
    # Accounts of their own: counts and event streams see no other test's writes.
    a = await create_account(running.engine, "Tenant A")
    b = await create_account(running.engine, "Tenant B")
    for account in (a, b):
        await running.register(account)
    # Idempotency keys A has used: one for B to try on A's ids, one for B to use itself.
    for key in (MATRIX_KEY, OWN_KEY):
        status, sent = await request(
            running,
            a,
            "POST",
            "/messages/send",
            {"conversation_id": a.conversation_ids[0], "type": "text", "text": {"body": "A's secret"}},
            **{"Idempotency-Key": key},
        )
        assert status == 200, sent
    inbound = await scalar(
        running,
        "SELECT id FROM messages WHERE conversation_id = :c AND direction = 'inbound'",
        c=a.conversation_ids[0],
    )
    return Tenants(a, b, sent["id"], str(inbound))


async def snapshot(running: Running, *accounts: SeededAccount) -> dict[str, Any]:
    """Everything a request could have changed, for these accounts."""
    state: dict[str, Any] = {}
    async with running.engine.connect() as connection:
        for account in accounts:
            params = {"a": account.account_id}
            for table in ("messages", "contacts", "conversations", "events", "idempotency_keys"):
                state[f"{account.name}.{table}"] = (
                    await connection.execute(
                        text(f"SELECT count(*) FROM {table} WHERE account_id = :a"), params
                    )
                ).scalar_one()
            rows = await connection.execute(
                text(
                    "SELECT id, unread_count, last_message_at, last_activity_at FROM conversations"
                    " WHERE account_id = :a ORDER BY id"
                ),
                params,
            )
            state[f"{account.name}.conversation_rows"] = [tuple(row) for row in rows]
            statuses = await connection.execute(
                text("SELECT id, status FROM messages WHERE account_id = :a ORDER BY id"), params
            )
            state[f"{account.name}.message_rows"] = [tuple(row) for row in statuses]
    return state


ROUTES = [
    ("GET", "/conversations/{conversation}", None),
    ("GET", "/conversations/{conversation}/messages", None),
    ("GET", "/conversations/{conversation}/messages?page_size=1", None),
    ("POST", "/conversations/{conversation}/read", None),
    ("GET", "/messages/{message}", None),
    ("GET", "/messages/{inbound}", None),
    ("POST", "/messages/send", {"conversation_id": "{conversation}", "type": "text", "text": {"body": "B"}}),
    (
        "POST",
        "/messages/send-async",
        {"conversation_id": "{conversation}", "type": "text", "text": {"body": "B"}},
    ),
    ("POST", "/messages/send", {"account_id": "{account}", "to": "15550777001", **TEMPLATE}),
    ("POST", "/messages/send-async", {"account_id": "{account}", "to": "15550777002", **TEMPLATE}),
    # A reply quoting A's message, into A's conversation.
    (
        "POST",
        "/messages/send",
        {
            "conversation_id": "{conversation}",
            "type": "text",
            "text": {"body": "B"},
            "context": {"message_id": "{message}"},
        },
    ),
]


def fill(template: Any, ids: dict[str, str]) -> Any:
    if isinstance(template, str):
        return template.format(**ids)
    if isinstance(template, dict):
        return {key: fill(value, ids) for key, value in template.items()}
    return template


@pytest.mark.parametrize(("method", "path", "body"), ROUTES, ids=[f"{m} {p} {bool(b)}" for m, p, b in ROUTES])
async def test_another_accounts_ids_are_404_and_change_nothing(
    running: Running, tenants: Tenants, method: str, path: str, body: Any
) -> None:
    a, b = tenants.a, tenants.b
    ids = {
        "conversation": a.conversation_ids[0],
        "message": tenants.a_message_id,
        "inbound": tenants.a_inbound_id,
        "account": a.account_id,
    }
    before = await snapshot(running, a, b)
    # Also under an Idempotency-Key A has used: keys belong to their account.
    headers = {"Idempotency-Key": MATRIX_KEY} if method == "POST" and body else {}
    status, answer = await request(running, b, method, fill(path, ids), fill(body, ids), **headers)
    assert status == 404, answer
    assert answer["error"]["code"] == "not_found"
    # Nothing of A's leaks into the error either.
    assert "A's secret" not in orjson.dumps(answer).decode()
    # Let anything a request might have set off in the background (outbox, events) happen.
    await asyncio.sleep(0.2)
    assert await snapshot(running, a, b) == before


async def test_the_same_404_as_for_ids_that_do_not_exist(running: Running, tenants: Tenants) -> None:
    b = tenants.b
    missing = str(uuid.uuid4())
    for path in ("/conversations/{}", "/conversations/{}/messages", "/messages/{}"):
        theirs = await request(running, b, "GET", path.format(tenants.a.conversation_ids[0]))
        nobody = await request(running, b, "GET", path.format(missing))
        assert theirs[0] == nobody[0] == 404
        assert theirs[1]["error"]["code"] == nobody[1]["error"]["code"] == "not_found"


async def test_idempotency_keys_belong_to_their_account(running: Running, tenants: Tenants) -> None:
    """B using a key A used gets its own new message, not a replay of A's."""
    b = tenants.b
    body = {"conversation_id": b.conversation_ids[0], "type": "text", "text": {"body": "B's own"}}
    async with running.http.post(
        f"{running.gateway}/messages/send",
        data=orjson.dumps(body),
        headers={**auth(b), "Idempotency-Key": OWN_KEY},
    ) as response:
        assert response.status == 200
        assert "Idempotent-Replayed" not in response.headers
        sent = await response.json()
    assert sent["id"] != tenants.a_message_id
    assert sent["text"]["body"] == "B's own"


async def test_listing_conversations_shows_only_ones_own(running: Running, tenants: Tenants) -> None:
    a, b = tenants.a, tenants.b
    seen: list[str] = []
    path = "/conversations?page_size=1"
    while True:
        status, page = await request(running, b, "GET", path)
        assert status == 200
        seen += [c["id"] for c in page["conversations"]]
        if not page["next_page_token"]:
            break
        path = f"/conversations?page_size=1&page_token={page['next_page_token']}"
    assert sorted(seen) == sorted(b.conversation_ids)
    assert not set(seen) & set(a.conversation_ids)
    # A page token of A's is no use to B.
    _, a_page = await request(running, a, "GET", "/conversations?page_size=1")
    status, b_page = await request(
        running, b, "GET", f"/conversations?page_size=1&page_token={a_page['next_page_token']}"
    )
    if status == 200:
        assert not {c["id"] for c in b_page["conversations"]} & set(a.conversation_ids)
    else:
        assert status == 400


async def send_async(running: Running, account: SeededAccount, body: str) -> str:
    status, message = await request(
        running,
        account,
        "POST",
        "/messages/send-async",
        {"conversation_id": account.conversation_ids[0], "type": "text", "text": {"body": body}},
    )
    assert status == 202, message
    return str(message["id"])


async def events_of(running: Running, account: SeededAccount) -> int:
    return int(
        await scalar(running, "SELECT count(*) FROM events WHERE account_id = :a", a=account.account_id)
    )


async def a_busy_while_b_listens(running: Running, tenants: Tenants) -> str:
    """A sends (its events are stored), then B sends one message: B's listener, having seen
    B's message, has had every chance to see A's events too. Returns B's message id."""
    before = await events_of(running, tenants.a)
    for n in range(3):
        await send_async(running, tenants.a, f"A's event {n}")
    deadline = time.monotonic() + 10
    while await events_of(running, tenants.a) < before + 6:  # queued and sent, each
        assert time.monotonic() < deadline, "A's messages were not sent"
        await asyncio.sleep(0.05)
    return await send_async(running, tenants.b, "B's sentinel")


def assert_only_bs(frames: list[dict[str, Any]], tenants: Tenants, sentinel: str) -> None:
    b_conversations = set(tenants.b.conversation_ids)
    for frame in frames:
        data = frame["data"]
        conversation_id = data["conversation_id"] if "conversation_id" in data else data["id"]
        assert conversation_id in b_conversations, frame
        assert "A's" not in orjson.dumps(frame).decode(), frame
    assert sentinel in {f["data"].get("id") for f in frames}


async def test_websocket_of_b_never_delivers_as_events(running: Running, tenants: Tenants) -> None:
    frames: list[dict[str, Any]] = []
    async with running.http.ws_connect(
        f"{running.gateway}/ws", params={"since": "0"}, headers=auth(tenants.b)
    ) as socket:
        sentinel = await a_busy_while_b_listens(running, tenants)
        async with asyncio.timeout(10):
            while not any(f["type"] == "message.sent" and f["data"]["id"] == sentinel for f in frames):
                message = await socket.receive()
                assert message.type == aiohttp.WSMsgType.TEXT, message
                frames.append(orjson.loads(message.data))
    assert_only_bs(frames, tenants, sentinel)


async def test_grpc_watch_events_for_b_never_yields_as_events(running: Running, tenants: Tenants) -> None:
    frames: list[dict[str, Any]] = []
    async with grpc.aio.insecure_channel(f"127.0.0.1:{running.stack.conversations_port}") as channel:
        stub = pb_grpc.ConversationsStub(channel)
        stream = stub.WatchEvents(pb.WatchEventsRequest(account_id=tenants.b.account_id, after_id=0))
        seen_sentinel = asyncio.Event()
        sentinel = ""

        async def collect() -> None:
            async for event in stream:
                frames.append({"id": event.id, "type": event.type, "data": orjson.loads(event.data_json)})
                if sentinel and frames[-1]["type"] == "message.sent" and frames[-1]["data"]["id"] == sentinel:
                    seen_sentinel.set()

        collector = asyncio.create_task(collect())
        try:
            sentinel = await a_busy_while_b_listens(running, tenants)
            async with asyncio.timeout(10):
                while not seen_sentinel.is_set():
                    # The sentinel may have arrived before its id was known here.
                    if any(f["type"] == "message.sent" and f["data"]["id"] == sentinel for f in frames):
                        break
                    await asyncio.sleep(0.02)
        finally:
            stream.cancel()
            collector.cancel()
            await asyncio.gather(collector, return_exceptions=True)
    assert_only_bs(frames, tenants, sentinel)
    b_event_ids = await stored_event_ids(running, tenants.b)
    assert [f["id"] for f in frames] == b_event_ids[: len(frames)]


async def stored_event_ids(running: Running, account: SeededAccount) -> list[int]:
    async with running.engine.connect() as connection:
        rows = await connection.execute(
            text("SELECT id FROM events WHERE account_id = :a ORDER BY id"), {"a": account.account_id}
        )
        return [row.id for row in rows]


# --- API keys --------------------------------------------------------------------------


async def test_api_keys_are_stored_only_as_sha256_hashes(running: Running, tenants: Tenants) -> None:
    for account in (running.acme, running.globex, tenants.a, tenants.b):
        async with running.engine.connect() as connection:
            rows = (
                await connection.execute(
                    text(
                        "SELECT key_hash, row_to_json(k)::text AS everything FROM api_keys k WHERE account_id = :a"
                    ),
                    {"a": account.account_id},
                )
            ).all()
        [row] = rows
        assert bytes(row.key_hash) == hashlib.sha256(account.api_key.encode()).digest()
        # No column holds the key, in any spelling.
        for spelling in (account.api_key, account.api_key.encode().hex(), account.api_key[8:]):
            assert spelling not in row.everything
    # Nor does any other table.
    async with running.engine.connect() as connection:
        tables = (
            await connection.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'"))
        ).scalars()
        for table in list(tables):
            found = (
                await connection.execute(
                    text(f'SELECT count(*) FROM "{table}" t WHERE strpos(row_to_json(t)::text, :key) > 0'),
                    {"key": tenants.a.api_key},
                )
            ).scalar_one()
            assert found == 0, table


async def revoke(engine: Any, account: SeededAccount) -> None:
    async with engine.begin() as connection:
        await connection.execute(
            text("UPDATE api_keys SET revoked_at = now() WHERE account_id = :a"), {"a": account.account_id}
        )


async def test_a_revoked_key_is_refused_by_conversations_at_once(running: Running) -> None:
    account = await create_account(running.engine, "Revoked at once")
    async with grpc.aio.insecure_channel(f"127.0.0.1:{running.stack.conversations_port}") as channel:
        stub = pb_grpc.ConversationsStub(channel)
        request = pb.AuthenticateApiKeyRequest(key_hash=hash_api_key(account.api_key))
        assert (await stub.AuthenticateApiKey(request)).account_id == account.account_id  # now cached
        await revoke(running.engine, account)
        revoked_at = time.monotonic()
        while True:
            try:
                await stub.AuthenticateApiKey(request)
            except grpc.aio.AioRpcError as exc:
                assert exc.code() == grpc.StatusCode.UNAUTHENTICATED
                break
            # NOTIFY takes milliseconds; the cache's TTL (60 s) would take far longer.
            assert time.monotonic() - revoked_at < 1.0, "conversations still accepts a revoked key"
            await asyncio.sleep(0.01)


AUTH_CACHE_TTL_SECONDS = 1.0


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def short_auth_cache(postgres_server: str) -> AsyncIterator[Running]:
    async with start_running(
        postgres_server, "revocation", {"AUTH_CACHE_TTL_SECONDS": str(AUTH_CACHE_TTL_SECONDS)}
    ) as running:
        yield running


async def test_a_revoked_key_stops_working_at_the_gateway_within_its_cache_ttl(
    short_auth_cache: Running,
) -> None:
    running = short_auth_cache
    account = running.acme
    status, _ = await request(running, account, "GET", "/conversations")
    assert status == 200  # the gateway now caches the key
    await revoke(running.engine, account)
    revoked_at = time.monotonic()
    while True:
        status, answer = await request(running, account, "GET", "/conversations")
        if status == 401:
            assert answer["error"]["code"] == "unauthenticated"
            break
        assert status == 200
        assert time.monotonic() - revoked_at <= AUTH_CACHE_TTL_SECONDS + 1, "revoked key still works"
        await asyncio.sleep(0.05)
    # And it stays refused, on every route, the WebSocket included.
    await asyncio.sleep(AUTH_CACHE_TTL_SECONDS)
    assert (await request(running, account, "GET", "/conversations"))[0] == 401
    try:
        async with running.http.ws_connect(f"{running.gateway}/ws", headers=auth(account)):
            raise AssertionError("a revoked key opened a WebSocket")
    except aiohttp.WSServerHandshakeError as exc:
        assert exc.status == 401
    # The other account is untouched.
    assert (await request(running, running.globex, "GET", "/conversations"))[0] == 200
