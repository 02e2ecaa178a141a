"""What the WebSockets of one gateway may hold: how many are open per API key and per account,
and how many bytes of frames wait for each.

Both live in this process's memory, like the request rate limit: the caps are per gateway
replica (N gateways behind a load balancer let a key open up to N times as many sockets).
Keys are counted by the SHA-256 of the key, never the key itself.
"""

import asyncio
from collections import Counter, deque
from typing import TypeVar

__all__ = ["FrameQueue", "SocketCounts"]

Name = TypeVar("Name", bytes, str)


class SocketCounts:
    """Open sockets per API key hash and per account. A key or an account with none open
    takes no memory: what is counted is bounded by the sockets open."""

    def __init__(self, per_key: int, per_account: int) -> None:
        self.per_key = per_key
        self.per_account = per_account
        self._by_key: Counter[bytes] = Counter()
        self._by_account: Counter[str] = Counter()

    def open(self, key_hash: bytes, account_id: str) -> str | None:
        """Counts one more socket of the key and its account; or, when either has all it may,
        counts nothing and names the one that is full ("api_key" or "account")."""
        if self._by_key.get(key_hash, 0) >= self.per_key:
            return "api_key"
        if self._by_account.get(account_id, 0) >= self.per_account:
            return "account"
        self._by_key[key_hash] += 1
        self._by_account[account_id] += 1
        return None

    def close(self, key_hash: bytes, account_id: str) -> None:
        _release(self._by_key, key_hash)
        _release(self._by_account, account_id)

    def __len__(self) -> int:
        """The keys and accounts counted (each with a socket open)."""
        return len(self._by_key) + len(self._by_account)


def _release(counts: Counter[Name], name: Name) -> None:
    counts[name] -= 1
    if counts[name] <= 0:
        del counts[name]


class FrameQueue:
    """The frames waiting to go out on one socket, bounded by their bytes: `put` waits while
    the frame would take the queue past `max_bytes`. A frame larger than the bound still goes,
    alone, into an empty queue (it must reach the client somehow). One writer, one reader."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.bytes = 0
        self._frames: deque[bytes] = deque()
        self._room = asyncio.Event()
        self._filled = asyncio.Event()

    async def put(self, frame: bytes) -> None:
        while self._frames and self.bytes + len(frame) > self.max_bytes:
            self._room.clear()
            await self._room.wait()
        self._frames.append(frame)
        self.bytes += len(frame)
        self._filled.set()

    async def get(self) -> bytes:
        while not self._frames:
            self._filled.clear()
            await self._filled.wait()
        frame = self._frames.popleft()
        self.bytes -= len(frame)
        self._room.set()
        return frame

    def clear(self) -> None:
        """Drops every frame waiting (the client will never get them)."""
        self._frames.clear()
        self.bytes = 0
        self._room.set()
