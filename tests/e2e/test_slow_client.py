"""WebSocket clients the gateway lets go: one that stops reading is closed (4008) without
slowing the others; one whose API key is revoked is closed (4401)."""

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import orjson
import pytest_asyncio
from sqlalchemy import text

from tests.e2e.test_webhooks import envelope, inbound_value, sign
from tests.fixtures.stack import Running, start_running
from tools.seed import SeededAccount, create_account

# 100 inbound messages from one contact: a message.received each, then one conversation.updated.
EVENTS_PER_BATCH = 101


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def small_queues(postgres_server: str) -> AsyncIterator[Running]:
    # A small per-client queue and send timeout, so that a stalled client is found quickly.
    # Heartbeats far apart: only the slow-consumer rule may close the stalled client here.
    # API key checks kept 1 s, so that a revoked key is found quickly.
    env = {
        "WS_MAX_QUEUED_BYTES": str(20 * 4200),  # about 20 of its events
        "WS_SEND_TIMEOUT_SECONDS": "1",
        "WS_HEARTBEAT_SECONDS": "300",
        "AUTH_CACHE_TTL_SECONDS": "1",
    }
    async with start_running(postgres_server, "slow-client", env, webhooks=True) as running:
        yield running


async def inbound_batch(
    running: Running, batch: int, account: SeededAccount | None = None, *, count: int = 100, chars: int = 4000
) -> None:
    """`count` inbound messages of about `chars` characters each from one contact, in one
    webhook: a message.received event each, then one conversation.updated."""
    account = account or running.acme
    messages = [{"type": "text", "text": {"body": "x" * chars + f" {batch}.{n}"}} for n in range(count)]
    value = inbound_value(f"1555060{batch:04d}", "Flood", *messages)
    body = orjson.dumps(envelope(account, value))
    async with running.http.post(
        f"{running.gateway}/webhooks/whatsapp",
        data=body,
        headers={"X-Hub-Signature-256": sign(body, account.app_secret), "Content-Type": "application/json"},
    ) as response:
        assert response.status == 200


def gateway_side_established(gateway_port: int, client_port: int) -> bool:
    """Whether the gateway's end of this loopback connection is still ESTABLISHED, read from
    the kernel (Linux): the gateway's own view, whatever the client has not read."""
    established = "01"
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, remote, state = line.split()[1:4]
        if int(local.split(":")[1], 16) == gateway_port and int(remote.split(":")[1], 16) == client_port:
            return state == established
    return False


@asynccontextmanager
async def stalled_socket(running: Running, api_key: str) -> AsyncIterator[int]:
    """A WebSocket whose client never reads a byte: a tiny receive buffer, reading paused.
    Yields its local port."""
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1))
    try:
        stalled = await session.ws_connect(
            f"{running.gateway}/ws",
            params={"token": api_key},
            max_msg_size=0,
            autoping=False,
            timeout=aiohttp.ClientWSTimeout(ws_close=1),
        )
        transport = stalled._response.connection.transport  # type: ignore[union-attr]
        assert transport is not None
        # Its kernel buffer kept small too, so that the gateway's side fills up soon.
        transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        transport.pause_reading()
        try:
            yield transport.get_extra_info("sockname")[1]
        finally:
            await stalled.close()
    finally:
        await session.close()


async def open_websockets(running: Running) -> float:
    """The gateway's own count of its open WebSockets (its metrics)."""
    async with running.http.get(f"{running.gateway}/metrics") as response:
        metrics = await response.text()
    return float(
        next(
            line for line in metrics.splitlines() if line.startswith("pigeon_websocket_connections ")
        ).split()[1]
    )


async def test_a_client_that_stops_reading_is_closed_and_the_others_keep_up(small_queues: Running) -> None:
    running = small_queues
    url = f"{running.gateway}/ws"
    received = 0
    batches = 30
    async with stalled_socket(running, running.acme.api_key) as client_port:
        assert gateway_side_established(running.stack.gateway_port, client_port)
        async with running.http.ws_connect(url, params={"token": running.acme.api_key}) as healthy:

            async def read_all() -> None:
                # A healthy client reads all along, while the events are being made.
                nonlocal received
                while received < batches * EVENTS_PER_BATCH:
                    message = await healthy.receive()
                    assert message.type == aiohttp.WSMsgType.TEXT, message
                    received += 1

            started = time.monotonic()
            reader = asyncio.create_task(read_all())
            for batch in range(batches):
                await inbound_batch(running, batch)
            try:
                async with asyncio.timeout(60):
                    await reader
            except TimeoutError:
                raise AssertionError(f"the healthy client got only {received} events") from None
            elapsed = time.monotonic() - started
        # The gateway has let go of the stalled client: no WebSocket is open any more
        # (the healthy one closed itself above), and its TCP connection is closed on the
        # gateway's side, though the stalled one never read a byte.
        deadline = time.monotonic() + 30
        while True:
            open_sockets = await open_websockets(running)
            # The gateway closed its end of the connection, though the client still reads nothing:
            # the close frame could not go out, so the connection was dropped.
            if open_sockets == 0 and not gateway_side_established(running.stack.gateway_port, client_port):
                break
            assert time.monotonic() < deadline, f"{open_sockets} WebSocket(s) open, or the connection held"
            await asyncio.sleep(0.2)
    print(f"slow client: healthy client got {received} events in {elapsed:.1f} s; the stalled one was let go")
    assert elapsed < 30


async def test_a_socket_whose_key_is_revoked_is_closed(small_queues: Running) -> None:
    account = await create_account(small_queues.engine, "Revoked", conversations=1)
    headers = {"Authorization": f"Bearer {account.api_key}"}
    async with small_queues.http.ws_connect(f"{small_queues.gateway}/ws", headers=headers) as client:
        await asyncio.sleep(1.5)  # checked again at least once: still valid, still open
        assert not client.closed
        async with small_queues.engine.begin() as connection:
            await connection.execute(
                text("UPDATE api_keys SET revoked_at = now() WHERE account_id = :a"),
                {"a": account.account_id},
            )
        async with asyncio.timeout(10):
            message = await client.receive()
        assert message.type == aiohttp.WSMsgType.CLOSE
        assert client.close_code == 4401
