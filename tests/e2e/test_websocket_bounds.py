"""What WebSockets may cost the gateway: sockets past the cap of a key or an account are
refused (429 `too_many_sockets`) before the upgrade; sockets that read nothing of large events
hold a bounded number of bytes each, until they are let go, so the gateway's memory stays
bounded; and a `since` replay longer than a page of the event log arrives whole and in order."""

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import aiohttp
import pytest_asyncio
from sqlalchemy import text

from services.conversations.use_cases.events import PAGE_EVENTS
from services.shared.api_keys import hash_api_key, new_api_key
from tests.e2e.test_slow_client import inbound_batch, open_websockets, stalled_socket
from tests.e2e.test_websocket import receive, stored_event_ids
from tests.fixtures.stack import Running, start_running
from tools.seed import SeededAccount, create_account

PER_KEY, PER_ACCOUNT = 3, 5
QUEUED_BYTES = 256 * 1024
SEND_TIMEOUT_SECONDS = 20
# Large events: inbound texts of 60,000 characters, 40 to a webhook (2.4 MB, under its 3 MiB).
EVENT_CHARS, EVENTS_PER_WEBHOOK = 60_000, 40
MiB = 1024 * 1024


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def bounded(postgres_server: str) -> AsyncIterator[Running]:
    # Heartbeats far apart: only the slow-consumer rule may let a stalled client go. A send
    # timeout long enough that the stalled sockets are still held when the flood ends.
    env = {
        "WS_MAX_SOCKETS_PER_KEY": str(PER_KEY),
        "WS_MAX_SOCKETS_PER_ACCOUNT": str(PER_ACCOUNT),
        "WS_MAX_QUEUED_BYTES": str(QUEUED_BYTES),
        "WS_SEND_TIMEOUT_SECONDS": str(SEND_TIMEOUT_SECONDS),
        "WS_HEARTBEAT_SECONDS": "300",
    }
    async with start_running(postgres_server, "ws-bounds", env, webhooks=True) as running:
        yield running


async def second_api_key(running: Running, account: SeededAccount) -> str:
    api_key = new_api_key()
    async with running.engine.begin() as connection:
        await connection.execute(
            text("INSERT INTO api_keys (account_id, key_hash, key_prefix) VALUES (:a, :h, :p)"),
            {"a": account.account_id, "h": hash_api_key(api_key), "p": api_key[:8]},
        )
    return api_key


async def refusal(running: Running, api_key: str) -> tuple[int, dict[str, Any], str | None]:
    """What a socket more gets: the handshake's status, and the JSON error and Retry-After of
    the same request without the upgrade (the cap is checked before the upgrade)."""
    try:
        async with running.http.ws_connect(f"{running.gateway}/ws", params={"token": api_key}):
            raise AssertionError("a socket past the cap was opened")
    except aiohttp.WSServerHandshakeError as exc:
        status = exc.status
    async with running.http.get(f"{running.gateway}/ws", params={"token": api_key}) as response:
        assert response.status == status
        return status, (await response.json())["error"], response.headers.get("Retry-After")


async def test_sockets_past_the_cap_of_a_key_or_an_account_are_refused(bounded: Running) -> None:
    running = bounded
    account = await create_account(running.engine, "Many tabs", conversations=1)
    other_key = await second_api_key(running, account)
    url = f"{running.gateway}/ws"
    async with AsyncExitStack() as sockets:
        first = await sockets.enter_async_context(
            running.http.ws_connect(url, params={"token": account.api_key})
        )
        for _ in range(PER_KEY - 1):
            await sockets.enter_async_context(running.http.ws_connect(url, params={"token": account.api_key}))
        status, error, retry_after = await refusal(running, account.api_key)
        assert (status, error["code"], error["details"]) == (
            429,
            "too_many_sockets",
            {"limit": "api_key", "max_sockets": PER_KEY, "retry_after_seconds": 450},
        )
        assert retry_after == "450"  # a heartbeat and a half (300 s here)
        # The account's other key may open the rest of the account's sockets, and no more.
        for _ in range(PER_ACCOUNT - PER_KEY):
            await sockets.enter_async_context(running.http.ws_connect(url, params={"token": other_key}))
        status, error, _ = await refusal(running, other_key)
        assert (status, error["code"], error["details"]["limit"]) == (429, "too_many_sockets", "account")
        # Another account is not held back by this one.
        async with running.http.ws_connect(url, params={"token": running.globex.api_key}) as elsewhere:
            assert not elsewhere.closed
        # A socket closed frees its place (once the gateway has seen it go): exactly one more may open.
        await first.close()
        await until_open(running, PER_ACCOUNT - 1)
        await sockets.enter_async_context(running.http.ws_connect(url, params={"token": other_key}))
        status, _, _ = await refusal(running, account.api_key)
        assert status == 429


async def until_open(running: Running, count: int) -> None:
    """Until the gateway counts `count` WebSockets open."""
    deadline = time.monotonic() + 10
    while (open_now := await open_websockets(running)) != count:
        assert time.monotonic() < deadline, f"{open_now} WebSockets open, not {count}"
        await asyncio.sleep(0.05)


def memory_kib(pid: int, field: str) -> int:
    """A field of /proc/<pid>/status in KiB: VmRSS, the resident memory now; VmHWM, its peak."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} for process {pid}")


async def test_sockets_that_read_nothing_of_large_events_keep_the_gateway_small(bounded: Running) -> None:
    running = bounded
    account = await create_account(running.engine, "Stalled", conversations=1)
    keys = [account.api_key] * PER_KEY + [await second_api_key(running, account)] * (PER_ACCOUNT - PER_KEY)
    gateway = running.stack.service("gateway").process
    assert gateway is not None
    # What a webhook of the flood costs in passing (its body read, parsed and passed on) is in
    # the peak before the sockets open: the growth after it is what the sockets hold.
    for batch in range(2):
        await inbound_batch(running, 9000 + batch, account, count=EVENTS_PER_WEBHOOK, chars=EVENT_CHARS)
    baseline = memory_kib(gateway.pid, "VmHWM")
    webhooks = 15
    async with AsyncExitStack() as sockets:
        for key in keys:
            await sockets.enter_async_context(stalled_socket(running, key))
        started = time.monotonic()
        for batch in range(webhooks):
            await inbound_batch(running, 9100 + batch, account, count=EVENTS_PER_WEBHOOK, chars=EVENT_CHARS)
        flood_seconds = time.monotonic() - started
        # Every stalled socket was held through the whole flood: each was sent all of it.
        assert await open_websockets(running) == len(keys), (
            f"let go before the flood ended ({flood_seconds:.1f} s)"
        )
        await asyncio.sleep(1)  # the last webhook's events reach the sockets' queues
        peak = memory_kib(gateway.pid, "VmHWM")
        # And each is let go once its queue has stayed full for the send timeout.
        deadline = time.monotonic() + SEND_TIMEOUT_SECONDS + 30
        while await open_websockets(running):
            assert time.monotonic() < deadline, "the stalled sockets were not let go"
            await asyncio.sleep(0.5)
    flooded_mib = webhooks * EVENTS_PER_WEBHOOK * EVENT_CHARS * len(keys) / MiB
    growth_mib = (peak - baseline) / 1024
    print(
        f"{len(keys)} stalled sockets sent {flooded_mib:.0f} MiB of frames in {flood_seconds:.1f} s: "
        f"the gateway's peak RSS grew {growth_mib:.1f} MiB (from {baseline / 1024:.0f} MiB)"
    )
    # Each stalled socket holds at most its queue, the frame being written and the one waiting
    # for room, aiohttp's write buffer and its gRPC stream's window (64 KiB each): about 0.5 MiB.
    # 8 MiB more for the allocator's slack and the event streams' own connection (opened by the
    # first socket). Queues of 1000 frames (before) held the whole flood: 172 MiB.
    per_socket = QUEUED_BYTES + 2 * EVENT_CHARS + 2 * 64 * 1024
    bound_mib = len(keys) * per_socket / MiB + 8
    assert growth_mib < bound_mib, f"the gateway's peak RSS grew {growth_mib:.1f} MiB, over {bound_mib:.1f}"


async def test_a_replay_longer_than_a_page_arrives_whole_and_in_order(bounded: Running) -> None:
    running = bounded
    account = await create_account(running.engine, "Long gap", conversations=1)
    # Small events first (pages end at PAGE_EVENTS), then 4 KB ones (pages end at PAGE_BYTES).
    for batch in range(3):
        await inbound_batch(running, 9500 + batch, account, chars=100)
    for batch in range(3, 5):
        await inbound_batch(running, 9500 + batch, account)
    stored = await stored_event_ids(running, account)
    assert len(stored) > 2 * PAGE_EVENTS
    async with running.http.ws_connect(
        f"{running.gateway}/ws", params={"token": account.api_key, "since": "0"}
    ) as socket:
        frames = await receive(socket, len(stored), timeout=30)
    assert [frame["id"] for frame in frames] == stored
    assert [frame["type"] for frame in frames].count("message.received") == 500
