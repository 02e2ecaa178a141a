"""An in-process TTL cache with single-flight loading.

Lookups on the send path (conversation, account, API key) hit it first. When N
coroutines miss the same key at once, one load runs and the others await its
result, so a burst of sends to a cold conversation costs one query, not N.
"""

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0


class TtlCache(Generic[K, V]):
    def __init__(self, ttl_seconds: float, max_entries: int = 100_000) -> None:
        self.ttl_seconds = ttl_seconds
        self.max_entries = max_entries
        self.stats = CacheStats()
        self._entries: dict[K, tuple[float, V]] = {}
        self._loading: dict[K, asyncio.Task[V]] = {}
        # Loads that were in flight when their key was invalidated: they may have read
        # the old row, so their waiters get the result but the cache does not keep it.
        self._stale_loads: set[asyncio.Task[V]] = set()

    async def get(self, key: K, load: Callable[[], Awaitable[V]]) -> V:
        entry = self._entries.get(key)
        if entry is not None and entry[0] > time.monotonic():
            self.stats.hits += 1
            return entry[1]
        self.stats.misses += 1
        task = self._loading.get(key)
        if task is None:
            # A task of its own, so that a cancelled caller does not cancel the load
            # that other callers are waiting for.
            task = asyncio.get_running_loop().create_task(self._load(key, load))
            self._loading[key] = task
        return await asyncio.shield(task)

    async def _load(self, key: K, load: Callable[[], Awaitable[V]]) -> V:
        task = asyncio.current_task()
        stale = False
        try:
            value = await load()
        finally:
            if self._loading.get(key) is task:
                del self._loading[key]
            stale = task in self._stale_loads
            self._stale_loads.discard(task)  # type: ignore[arg-type]
        if not stale:
            self._store(key, value)
        return value

    def _store(self, key: K, value: V) -> None:
        # Re-inserted, so that dict order stays oldest first.
        self._entries.pop(key, None)
        if len(self._entries) >= self.max_entries:
            self._evict_expired_or_oldest()
        self._entries[key] = (time.monotonic() + self.ttl_seconds, value)

    def _evict_expired_or_oldest(self) -> None:
        now = time.monotonic()
        expired = [k for k, (deadline, _) in self._entries.items() if deadline <= now]
        for k in expired:
            del self._entries[k]
        if len(self._entries) >= self.max_entries:
            del self._entries[next(iter(self._entries))]

    def peek(self, key: K) -> V | None:
        """The cached value, or None when absent or expired; never loads."""
        entry = self._entries.get(key)
        if entry is not None and entry[0] > time.monotonic():
            return entry[1]
        return None

    def put(self, key: K, value: V) -> None:
        self._store(key, value)

    def invalidate(self, key: K) -> None:
        self._entries.pop(key, None)
        task = self._loading.pop(key, None)
        if task is not None:
            # Callers from now on start a fresh load instead of joining this one.
            self._stale_loads.add(task)

    def clear(self) -> None:
        for key in list(self._entries):
            self.invalidate(key)
        for key in list(self._loading):
            self.invalidate(key)

    def __len__(self) -> int:
        return len(self._entries)
