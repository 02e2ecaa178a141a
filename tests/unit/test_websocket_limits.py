"""What one gateway's WebSockets may hold (services/gateway/websocket_limits.py): sockets per API
key and per account, and the bytes of frames waiting for each."""

import asyncio

from services.gateway.websocket_limits import FrameQueue, SocketCounts

KEY, OTHER_KEY = b"k" * 32, b"o" * 32
ACCOUNT, OTHER_ACCOUNT = "account-1", "account-2"


def test_a_key_may_open_its_cap_then_is_refused() -> None:
    counts = SocketCounts(per_key=2, per_account=10)
    assert [counts.open(KEY, ACCOUNT) for _ in range(3)] == [None, None, "api_key"]
    # The refusal counted nothing: one closed lets exactly one more in.
    counts.close(KEY, ACCOUNT)
    assert [counts.open(KEY, ACCOUNT) for _ in range(2)] == [None, "api_key"]


def test_an_account_is_capped_across_its_keys() -> None:
    counts = SocketCounts(per_key=2, per_account=3)
    assert [counts.open(KEY, ACCOUNT) for _ in range(2)] == [None, None]
    assert [counts.open(OTHER_KEY, ACCOUNT) for _ in range(2)] == [None, "account"]
    # Another account's sockets are its own.
    assert counts.open(b"x" * 32, OTHER_ACCOUNT) is None


def test_nothing_is_kept_of_keys_and_accounts_without_sockets() -> None:
    counts = SocketCounts(per_key=5, per_account=5)
    for key in (KEY, OTHER_KEY):
        counts.open(key, ACCOUNT)
    counts.open(KEY, OTHER_ACCOUNT)
    assert len(counts) == 4
    counts.close(KEY, ACCOUNT)
    counts.close(OTHER_KEY, ACCOUNT)
    counts.close(KEY, OTHER_ACCOUNT)
    assert len(counts) == 0


async def test_frames_come_out_in_order_and_a_put_waits_for_room_in_bytes() -> None:
    queue = FrameQueue(max_bytes=10)
    await queue.put(b"aaaa")
    await queue.put(b"bbbb")
    # 4 + 4 + 4 bytes would pass 10: the third waits, however few frames there are.
    third = asyncio.ensure_future(queue.put(b"cccc"))
    await asyncio.sleep(0.01)
    assert not third.done() and queue.bytes == 8
    assert await queue.get() == b"aaaa"
    await asyncio.wait_for(third, 1)
    assert queue.bytes == 8
    assert [await queue.get(), await queue.get()] == [b"bbbb", b"cccc"]
    assert queue.bytes == 0


async def test_a_frame_larger_than_the_bound_goes_alone() -> None:
    queue = FrameQueue(max_bytes=10)
    await asyncio.wait_for(queue.put(b"x" * 50), 1)  # into the empty queue
    small = asyncio.ensure_future(queue.put(b"y"))
    await asyncio.sleep(0.01)
    assert not small.done()
    assert await queue.get() == b"x" * 50
    await asyncio.wait_for(small, 1)
    assert await queue.get() == b"y"


async def test_a_get_waits_for_a_frame() -> None:
    queue = FrameQueue(max_bytes=10)
    pending = asyncio.ensure_future(queue.get())
    await asyncio.sleep(0.01)
    assert not pending.done()
    await queue.put(b"z")
    assert await asyncio.wait_for(pending, 1) == b"z"


async def test_clear_drops_the_frames_and_lets_a_waiting_put_in() -> None:
    queue = FrameQueue(max_bytes=4)
    await queue.put(b"abcd")
    waiting = asyncio.ensure_future(queue.put(b"efgh"))
    await asyncio.sleep(0.01)
    queue.clear()
    await asyncio.wait_for(waiting, 1)
    assert queue.bytes == 4
    assert await queue.get() == b"efgh"
