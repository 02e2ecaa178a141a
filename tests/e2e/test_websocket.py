"""GET /ws: events in order, resume with `since` losing nothing, a resume from before what
retention kept refused (4410), isolation between accounts, and a close as going away (1001)
when the gateway shuts down."""

import asyncio
import re
import signal
import time
from typing import Any

import aiohttp
import orjson
from sqlalchemy import text

from services.conversations.adapters.database.database import Database
from services.conversations.settings import RetentionSettings
from services.conversations.use_cases.retention import Retention
from tests.fixtures.stack import Running, start_running
from tools.seed import SeededAccount, create_account

DAY = 86400.0
RETENTION = RetentionSettings(
    worker_enabled=True,
    every_seconds=300.0,
    batch_size=2,
    pause_seconds=0.0,
    events_keep_seconds=7 * DAY,
    notifications_keep_seconds=7 * DAY,
    failed_notifications_keep_seconds=30 * DAY,
    pending_statuses_keep_seconds=7 * DAY,
    idempotency_keep_seconds=DAY,
)


async def new_account(running: Running, name: str) -> SeededAccount:
    account = await create_account(running.engine, name, conversations=1)
    await running.register(account)
    return account


def connect(running: Running, account: SeededAccount, **params: str) -> Any:
    return running.http.ws_connect(
        f"{running.gateway}/ws", headers={"Authorization": f"Bearer {account.api_key}"}, params=params
    )


async def send_async(running: Running, account: SeededAccount, body: str) -> str:
    async with running.http.post(
        f"{running.gateway}/messages/send-async",
        data=orjson.dumps(
            {"conversation_id": account.conversation_ids[0], "type": "text", "text": {"body": body}}
        ),
        headers={"Authorization": f"Bearer {account.api_key}"},
    ) as response:
        assert response.status == 202
        return str((await response.json())["id"])


async def receive(
    socket: aiohttp.ClientWebSocketResponse, count: int, timeout: float = 10
) -> list[dict[str, Any]]:
    frames = []
    async with asyncio.timeout(timeout):
        while len(frames) < count:
            message = await socket.receive()
            assert message.type == aiohttp.WSMsgType.TEXT, message
            frames.append(orjson.loads(message.data))
    return frames


async def stored_event_ids(running: Running, account: SeededAccount) -> list[int]:
    async with running.engine.connect() as connection:
        rows = await connection.execute(
            text("SELECT id FROM events WHERE account_id = :a ORDER BY id"), {"a": account.account_id}
        )
        return [row.id for row in rows]


async def test_events_arrive_in_order(running: Running) -> None:
    account = await new_account(running, "Live")
    async with connect(running, account) as socket:
        message_id = await send_async(running, account, "Watch me")
        frames = await receive(socket, 2)
    assert [f["type"] for f in frames] == ["message.queued", "message.sent"]
    assert [f["data"]["id"] for f in frames] == [message_id, message_id]
    assert [f["data"]["status"] for f in frames] == ["queued", "sent"]
    assert frames[0]["id"] < frames[1]["id"]
    assert frames[1]["data"]["wa_message_id"].startswith("wamid.")
    assert frames[1]["data"]["text"] == {"body": "Watch me", "preview_url": False}
    # The event's times read exactly as the HTTP resource's: one is built by PostgreSQL, the
    # other by the gateway (test_resource_json.py checks the two writers on chosen instants).
    async with running.http.get(
        f"{running.gateway}/messages/{message_id}", headers={"Authorization": f"Bearer {account.api_key}"}
    ) as response:
        assert response.status == 200
        resource = await response.json()
    for field in ("created_at", "sent_at"):
        assert resource[field] == frames[1]["data"][field]
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", resource[field]), resource[field]


async def test_resume_with_since_loses_nothing(running: Running) -> None:
    account = await new_account(running, "Resume")
    async with connect(running, account, since="0") as socket:
        for n in range(3):
            await send_async(running, account, f"before {n}")
        before = await receive(socket, 6)
    # Disconnected: more happens meanwhile.
    for n in range(5):
        await send_async(running, account, f"while away {n}")
    await asyncio.sleep(0.5)
    async with connect(running, account, since=str(before[-1]["id"])) as socket:
        after = await receive(socket, 10)
    ids = [f["id"] for f in before + after]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    assert ids == await stored_event_ids(running, account)
    # Every message was seen queued and then sent.
    by_message: dict[str, list[str]] = {}
    for frame in before + after:
        by_message.setdefault(frame["data"]["id"], []).append(frame["type"])
    assert list(by_message.values()) == [["message.queued", "message.sent"]] * 8


async def test_a_resume_from_before_what_retention_kept_is_refused(running: Running) -> None:
    account = await new_account(running, "Retained")
    for n in range(3):
        await send_async(running, account, f"old {n}")
    async with connect(running, account, since="0") as socket:
        await receive(socket, 6)
    made = await stored_event_ids(running, account)
    # The first four events are past the retention: a round deletes them.
    async with running.engine.connect() as connection:
        await connection.execute(
            text(
                "UPDATE events SET created_at = now() - interval '8 days' WHERE account_id = :a AND id <= 4"
            ),
            {"a": account.account_id},
        )
    database = Database(running.stack.database_url, 1)
    try:
        await Retention(database.retention, RETENTION).run_round()
    finally:
        await database.close()
    kept = await stored_event_ids(running, account)
    assert kept == made[4:] and kept[0] == 5

    async with connect(running, account, since="2") as socket:
        message = await socket.receive(timeout=10)
    assert message.type == aiohttp.WSMsgType.CLOSE, message
    assert socket.close_code == 4410
    assert "before 5" in message.extra and "since=4" in message.extra, message.extra
    # Resumed where it says (or from 0: whatever is kept), nothing is missing.
    for since in ("4", "0"):
        async with connect(running, account, since=since) as socket:
            assert [f["id"] for f in await receive(socket, len(kept))] == kept


async def test_accounts_see_only_their_own_events(running: Running) -> None:
    alice = await new_account(running, "Alice")
    bob = await new_account(running, "Bob")
    async with connect(running, alice) as alice_socket, connect(running, bob, since="0") as bob_socket:
        await send_async(running, alice, "for Alice's eyes")
        alice_frames = await receive(alice_socket, 2)
        await send_async(running, bob, "Bob's own")
        bob_frames = await receive(bob_socket, 2)
        # Nothing more for Bob: Alice's events never reach him.
        try:
            async with asyncio.timeout(0.5):
                leaked = await bob_socket.receive()
        except TimeoutError:
            leaked = None
    assert leaked is None, (leaked, bob_frames)
    assert {f["data"]["conversation_id"] for f in alice_frames} == {alice.conversation_ids[0]}
    assert {f["data"]["conversation_id"] for f in bob_frames} == {bob.conversation_ids[0]}


async def test_token_query_parameter_and_bad_keys(running: Running) -> None:
    account = await new_account(running, "Browser")
    async with running.http.ws_connect(f"{running.gateway}/ws", params={"token": account.api_key}) as socket:
        await send_async(running, account, "from a browser")
        frames = await receive(socket, 1)
        assert frames[0]["type"] == "message.queued"
    for params in ({"token": "pgn_wrong"}, {}):
        try:
            async with running.http.ws_connect(f"{running.gateway}/ws", params=params):
                raise AssertionError("connected without a valid key")
        except aiohttp.WSServerHandshakeError as exc:
            assert exc.status == 401
    async with running.http.get(
        f"{running.gateway}/ws",
        params={"since": "yesterday"},
        headers={"Authorization": f"Bearer {account.api_key}"},
    ) as response:
        assert response.status == 400


async def test_a_gateway_shutdown_closes_sockets_as_going_away(postgres_server: str) -> None:
    async with start_running(postgres_server, "ws-shutdown") as running:
        gateway = running.stack.service("gateway")
        async with connect(running, running.acme) as socket:
            gateway.signal(signal.SIGTERM)
            started = time.monotonic()
            async with asyncio.timeout(5):  # well within the 10 s shutdown timeout
                message = await socket.receive()
            assert message.type == aiohttp.WSMsgType.CLOSE, message
            assert socket.close_code == aiohttp.WSCloseCode.GOING_AWAY
        assert gateway.process is not None
        assert await asyncio.to_thread(gateway.process.wait, 5) == 0
        print(f"gateway shutdown: the socket closed with 1001 in {time.monotonic() - started:.2f} s")
