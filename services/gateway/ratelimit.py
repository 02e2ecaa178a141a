"""A request rate limit per API key: a token bucket for each key, in this process's memory.

Each gateway replica keeps its own buckets (nothing is shared between replicas), so the
effective limit of a key is `RATE_LIMIT_PER_SECOND` times the number of gateways its
requests are spread over. That is deliberate: the limit protects the gateway and the
services behind it from one runaway client at the cost of a dict lookup, without a
round trip to a shared store on every request. (WhatsApp's own per-account limit is
enforced elsewhere, across replicas, by the outbox's pacing.)

Buckets are keyed by the SHA-256 of the key, never the key itself, so that no secret sits
in this process's memory longer than the request carrying it.
"""

import math
import time
from collections.abc import Callable

from aiohttp import web

__all__ = ["RATE_LIMITER", "RateLimiter", "rate_limiter"]


class _Bucket:
    """Tokens left at `updated` (a monotonic time). Updated in place: a request for a known
    key costs a dict lookup and some float arithmetic, no new bucket."""

    __slots__ = ("tokens", "updated")

    def __init__(self, tokens: float, updated: float) -> None:
        self.tokens = tokens
        self.updated = updated


class RateLimiter:
    """`rate` requests per second on average, `burst` at once, per key.

    A bucket left alone for `burst / rate` seconds is full again, exactly like a new one,
    so such idle buckets are dropped: memory is bounded by the keys active in that
    window, not by every key ever seen. `max_buckets` caps it even so; past it the oldest
    buckets go first (their keys get a full bucket: lenient, never wrongly refused).
    """

    def __init__(
        self,
        rate: float,
        burst: int,
        *,
        max_buckets: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("a rate limit needs rate > 0 and burst >= 1")
        self._clock = clock
        self.rate = rate
        self.burst = float(burst)
        self.max_buckets = max_buckets
        # Time for an empty bucket to fill up: after that, a bucket carries no state.
        self._idle_after = self.burst / rate
        self._buckets: dict[bytes, _Bucket] = {}
        self._next_sweep = clock() + self._idle_after

    def acquire(self, key: bytes) -> int:
        """Takes one token for `key`. Returns 0 when the request may go on, otherwise the
        whole seconds (at least 1) to wait before a token is there: the Retry-After."""
        now = self._clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            if now >= self._next_sweep:
                self._sweep(now)
            # Full of active keys: make room, oldest first (dicts keep insertion order).
            while len(self._buckets) >= self.max_buckets:
                del self._buckets[next(iter(self._buckets))]
            self._buckets[key] = _Bucket(self.burst - 1.0, now)
            return 0
        tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
        bucket.updated = now
        if tokens >= 1.0:
            bucket.tokens = tokens - 1.0
            return 0
        bucket.tokens = tokens
        return max(1, math.ceil((1.0 - tokens) / self.rate))

    def wait_for(self, key: bytes) -> int:
        """As `acquire`, without taking the token: 0 when one is there, otherwise the seconds
        until one is."""
        bucket = self._buckets.get(key)
        if bucket is None:
            return 0
        tokens = min(self.burst, bucket.tokens + (self._clock() - bucket.updated) * self.rate)
        return 0 if tokens >= 1.0 else max(1, math.ceil((1.0 - tokens) / self.rate))

    def drawn_on(self, key: bytes) -> bool:
        """Whether `key` took a token that has not grown back yet."""
        bucket = self._buckets.get(key)
        return (
            bucket is not None and bucket.tokens + (self._clock() - bucket.updated) * self.rate < self.burst
        )

    def _sweep(self, now: float) -> None:
        """Drops the buckets that are full again; runs at most once per refill period
        (when a new key arrives), so its cost is spread over many requests."""
        idle_since = now - self._idle_after
        for key in [k for k, b in self._buckets.items() if b.updated <= idle_since]:
            del self._buckets[key]
        self._next_sweep = now + self._idle_after

    def __len__(self) -> int:
        return len(self._buckets)


def rate_limiter(per_second: float, burst: int) -> RateLimiter | None:
    """The limiter the settings ask for; None when either is 0 (no limit)."""
    if per_second == 0 or burst == 0:
        return None
    return RateLimiter(per_second, burst)


# Set on the app only when a limit is configured.
RATE_LIMITER = web.AppKey("rate_limiter", RateLimiter)
