"""The per-API-key token bucket: burst, refill, Retry-After, keys apart, bounded memory."""

import pytest

from services.gateway.ratelimit import RateLimiter, rate_limiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def limiter(rate: float = 5, burst: int = 5, **kwargs: int) -> tuple[RateLimiter, Clock]:
    clock = Clock()
    return RateLimiter(rate, burst, clock=clock, **kwargs), clock


def test_a_burst_passes_then_the_next_waits() -> None:
    limit, _ = limiter(rate=5, burst=5)
    assert [limit.acquire(b"k") for _ in range(5)] == [0] * 5
    assert limit.acquire(b"k") == 1


def test_tokens_come_back_at_the_rate() -> None:
    limit, clock = limiter(rate=5, burst=5)
    for _ in range(5):
        limit.acquire(b"k")
    clock.now += 0.2  # one token
    assert limit.acquire(b"k") == 0
    assert limit.acquire(b"k") == 1
    clock.now += 10  # never more than the burst
    assert [limit.acquire(b"k") for _ in range(6)] == [0] * 5 + [1]


def test_retry_after_is_whole_seconds_until_a_token() -> None:
    limit, clock = limiter(rate=0.25, burst=1)  # a token every 4 s
    assert limit.acquire(b"k") == 0
    assert limit.acquire(b"k") == 4
    clock.now += 1.5
    assert limit.acquire(b"k") == 3  # 2.5 s left, rounded up
    clock.now += 2.5
    assert limit.acquire(b"k") == 0


def test_refused_requests_do_not_spend_tokens() -> None:
    limit, clock = limiter(rate=1, burst=1)
    limit.acquire(b"k")
    for _ in range(100):
        assert limit.acquire(b"k") == 1
    clock.now += 1
    assert limit.acquire(b"k") == 0


def test_keys_have_their_own_buckets() -> None:
    limit, _ = limiter(rate=1, burst=2)
    assert [limit.acquire(b"a") for _ in range(3)] == [0, 0, 1]
    assert [limit.acquire(b"b") for _ in range(2)] == [0, 0]


def test_idle_buckets_are_dropped() -> None:
    limit, clock = limiter(rate=10, burst=10)  # full again after 1 s
    for n in range(100):
        limit.acquire(b"key%d" % n)
    assert len(limit) == 100
    clock.now += 1.01
    limit.acquire(b"new")  # a new key triggers the sweep
    assert len(limit) == 1


def test_memory_is_capped_even_with_active_keys() -> None:
    limit, _ = limiter(rate=1, burst=5, max_buckets=10)
    for n in range(50):
        limit.acquire(b"key%d" % n)
    assert len(limit) <= 10


@pytest.mark.parametrize(("rate", "burst"), [(0, 400), (200, 0), (0, 0)])
def test_zero_turns_the_limit_off(rate: float, burst: int) -> None:
    assert rate_limiter(rate, burst) is None


def test_settings_make_a_limiter() -> None:
    made = rate_limiter(200, 400)
    assert made is not None
    assert (made.rate, made.burst) == (200, 400)


def test_wait_for_looks_without_taking_a_token() -> None:
    limit, clock = limiter(rate=1, burst=2)
    assert limit.wait_for(b"k") == 0  # a key never seen has its whole burst
    limit.acquire(b"k")
    assert limit.wait_for(b"k") == 0
    limit.acquire(b"k")
    assert [limit.wait_for(b"k") for _ in range(3)] == [1, 1, 1]  # looking takes nothing
    clock.now += 1
    assert limit.wait_for(b"k") == 0


def test_drawn_on_until_every_token_has_grown_back() -> None:
    limit, clock = limiter(rate=1, burst=2)
    assert not limit.drawn_on(b"k")
    limit.acquire(b"k")
    assert limit.drawn_on(b"k") and not limit.drawn_on(b"other")
    clock.now += 0.9
    assert limit.drawn_on(b"k")
    clock.now += 0.2
    assert not limit.drawn_on(b"k")
