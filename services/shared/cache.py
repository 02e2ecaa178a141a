"""An in-process TTL cache with single-flight loading.

Lookups on the send path (conversation, account, API key) hit it first. When N
coroutines miss the same key at once, one loader runs and the others await its
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
        self._loading: dict[K, asyncio.Future[V]] = {}
        # Keys invalidated while their load was in flight: that load may have read the
        # old row, so its result is handed to its waiters but not stored.
        self._stale_loads: set[K] = set()

    async def get(self, key: K, load: Callable[[], Awaitable[V]]) -> V:
        entry = self._entries.get(key)
        if entry is not None and entry[0] > time.monotonic():
            self.stats.hits += 1
            return entry[1]
        self.stats.misses += 1
        pending = self._loading.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        return await self._load(key, load)

    async def _load(self, key: K, load: Callable[[], Awaitable[V]]) -> V:
        future: asyncio.Future[V] = asyncio.get_running_loop().create_future()
        self._loading[key] = future
        try:
            value = await load()
        except BaseException as exc:
            future.set_exception(exc)
            # Waiters get the exception; mark it retrieved in case there were none.
            future.exception()
            raise
        finally:
            del self._loading[key]
            stale = key in self._stale_loads
            self._stale_loads.discard(key)
        if not stale:
            self._store(key, value)
        future.set_result(value)
        return value

    def _store(self, key: K, value: V) -> None:
        if len(self._entries) >= self.max_entries:
            self._evict_expired_or_oldest()
        self._entries[key] = (time.monotonic() + self.ttl_seconds, value)

    def _evict_expired_or_oldest(self) -> None:
        now = time.monotonic()
        expired = [k for k, (deadline, _) in self._entries.items() if deadline <= now]
        for k in expired:
            del self._entries[k]
        if len(self._entries) >= self.max_entries:
            # dicts keep insertion order: the first key is the oldest entry.
            del self._entries[next(iter(self._entries))]

    def invalidate(self, key: K) -> None:
        self._entries.pop(key, None)
        if key in self._loading:
            self._stale_loads.add(key)

    def __len__(self) -> int:
        return len(self._entries)
