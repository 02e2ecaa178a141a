"""TtlCache: hits and misses, expiry, invalidation, single-flight loading, eviction."""

import asyncio
import contextlib
import gc
import weakref
from collections.abc import Awaitable, Callable

import pytest

from services.shared import cache as cache_module
from services.shared.cache import TtlCache


class FakeClock:
    """Stands in for the `time` module inside services.shared.cache only.

    Patching time.monotonic globally would also move the event loop's clock.
    """

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(cache_module, "time", fake)
    return fake


class CountingLoader:
    """A loader that counts its calls and returns `prefix-<call number>`."""

    def __init__(self, prefix: str = "v", delay: float = 0.0) -> None:
        self.prefix = prefix
        self.delay = delay
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        call = self.calls
        if self.delay:
            await asyncio.sleep(self.delay)
        return f"{self.prefix}-{call}"


def constant(value: str) -> Callable[[], Awaitable[str]]:
    async def load() -> str:
        return value

    return load


async def test_first_get_is_a_miss_and_calls_the_loader() -> None:
    cache: TtlCache[str, str] = TtlCache(60)
    load = CountingLoader()

    assert await cache.get("k", load) == "v-1"
    assert load.calls == 1
    assert cache.stats.hits == 0
    assert cache.stats.misses == 1
    assert len(cache) == 1


async def test_value_is_served_from_cache_within_ttl() -> None:
    cache: TtlCache[str, str] = TtlCache(60)
    load = CountingLoader()

    results = [await cache.get("k", load) for _ in range(5)]

    assert results == ["v-1"] * 5
    assert load.calls == 1
    assert cache.stats.hits == 4
    assert cache.stats.misses == 1


async def test_keys_are_cached_independently() -> None:
    cache: TtlCache[str, str] = TtlCache(60)

    assert await cache.get("a", constant("A")) == "A"
    assert await cache.get("b", constant("B")) == "B"
    assert await cache.get("a", constant("other")) == "A"
    assert await cache.get("b", constant("other")) == "B"
    assert cache.stats.hits == 2
    assert cache.stats.misses == 2
    assert len(cache) == 2


async def test_entry_expires_after_ttl_real_clock() -> None:
    cache: TtlCache[str, str] = TtlCache(0.05)
    load = CountingLoader()

    assert await cache.get("k", load) == "v-1"
    assert await cache.get("k", load) == "v-1"
    await asyncio.sleep(0.08)
    assert await cache.get("k", load) == "v-2"
    assert load.calls == 2
    assert cache.stats.hits == 1
    assert cache.stats.misses == 2


async def test_entry_is_fresh_until_exactly_the_deadline(clock: FakeClock) -> None:
    cache: TtlCache[str, str] = TtlCache(10)
    load = CountingLoader()

    assert await cache.get("k", load) == "v-1"  # stored at 1000, deadline 1010
    clock.now = 1009.999
    assert await cache.get("k", load) == "v-1"
    clock.now = 1010.0  # deadline reached: no longer fresh
    assert await cache.get("k", load) == "v-2"
    clock.now = 1019.999  # reloaded at 1010, deadline 1020
    assert await cache.get("k", load) == "v-2"
    assert load.calls == 2
    assert cache.stats.hits == 2
    assert cache.stats.misses == 2


async def test_invalidate_forces_a_reload() -> None:
    cache: TtlCache[str, str] = TtlCache(60)
    load = CountingLoader()

    assert await cache.get("k", load) == "v-1"
    cache.invalidate("k")
    assert len(cache) == 0
    assert await cache.get("k", load) == "v-2"
    assert await cache.get("k", load) == "v-2"
    assert load.calls == 2
    assert cache.stats.misses == 2
    assert cache.stats.hits == 1


async def test_invalidate_of_an_unknown_key_is_a_no_op() -> None:
    cache: TtlCache[str, str] = TtlCache(60)
    await cache.get("a", constant("A"))

    cache.invalidate("missing")

    assert len(cache) == 1
    assert await cache.get("a", constant("other")) == "A"


async def test_invalidate_touches_only_its_key() -> None:
    cache: TtlCache[str, str] = TtlCache(60)
    await cache.get("a", constant("A"))
    await cache.get("b", constant("B"))

    cache.invalidate("a")

    assert await cache.get("a", constant("A2")) == "A2"
    assert await cache.get("b", constant("other")) == "B"


async def test_single_flight_concurrent_misses_call_the_loader_once() -> None:
    cache: TtlCache[str, str] = TtlCache(60)
    load = CountingLoader(delay=0.05)

    results = await asyncio.gather(*(cache.get("k", load) for _ in range(50)))

    assert results == ["v-1"] * 50
    assert load.calls == 1
    # Every one of them found no fresh entry: 50 misses, one load.
    assert cache.stats.misses == 50
    assert cache.stats.hits == 0
    assert len(cache) == 1
    assert await cache.get("k", load) == "v-1"
    assert cache.stats.hits == 1


async def test_single_flight_is_per_key() -> None:
    cache: TtlCache[str, str] = TtlCache(60)
    load_a = CountingLoader("a", delay=0.05)
    load_b = CountingLoader("b", delay=0.05)

    results = await asyncio.gather(
        *(cache.get("a", load_a) for _ in range(10)), *(cache.get("b", load_b) for _ in range(10))
    )

    assert results == ["a-1"] * 10 + ["b-1"] * 10
    assert load_a.calls == 1
    assert load_b.calls == 1


async def test_loader_exception_reaches_every_waiter_and_is_not_cached() -> None:
    cache: TtlCache[str, str] = TtlCache(60)
    calls = 0

    class Boom(Exception):
        pass

    async def failing() -> str:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.05)
        raise Boom(f"load {calls} failed")

    results = await asyncio.gather(*(cache.get("k", failing) for _ in range(20)), return_exceptions=True)

    assert calls == 1
    assert len(results) == 20
    assert all(isinstance(r, Boom) for r in results)
    assert {str(r) for r in results} == {"load 1 failed"}
    assert len(cache) == 0

    # Not cached: the next get calls a loader again, and a success is then stored.
    with pytest.raises(Boom, match="load 2 failed"):
        await cache.get("k", failing)
    assert calls == 2
    assert await cache.get("k", constant("ok")) == "ok"
    assert await cache.get("k", constant("other")) == "ok"


async def test_failed_load_without_waiters_leaves_nothing_in_flight() -> None:
    cache: TtlCache[str, str] = TtlCache(60)

    async def failing() -> str:
        raise ValueError("nope")

    with pytest.raises(ValueError, match="nope"):
        await cache.get("k", failing)
    # The next load of the key starts fresh: no leftover in-flight future.
    assert await cache.get("k", constant("fine")) == "fine"


async def test_invalidate_during_load_hands_value_to_waiters_but_does_not_store_it() -> None:
    cache: TtlCache[str, str] = TtlCache(60)
    load = CountingLoader(delay=0.05)

    tasks = [asyncio.create_task(cache.get("k", load)) for _ in range(5)]
    await asyncio.sleep(0.01)  # the load is in flight
    cache.invalidate("k")
    results = await asyncio.gather(*tasks)

    assert results == ["v-1"] * 5
    assert load.calls == 1
    assert len(cache) == 0
    # The next get reloads, and that load (not invalidated) is stored.
    assert await cache.get("k", load) == "v-2"
    assert load.calls == 2
    assert len(cache) == 1
    assert await cache.get("k", load) == "v-2"
    assert load.calls == 2


async def test_invalidate_during_failed_load_does_not_poison_the_next_load() -> None:
    cache: TtlCache[str, str] = TtlCache(60)

    async def failing() -> str:
        await asyncio.sleep(0.05)
        raise RuntimeError("db down")

    task = asyncio.create_task(cache.get("k", failing))
    await asyncio.sleep(0.01)
    cache.invalidate("k")
    with pytest.raises(RuntimeError, match="db down"):
        await task

    # The stale mark went with the failed load: the next successful load is stored.
    load = CountingLoader()
    assert await cache.get("k", load) == "v-1"
    assert len(cache) == 1
    assert await cache.get("k", load) == "v-1"
    assert load.calls == 1


async def test_get_after_invalidate_does_not_join_the_stale_in_flight_load() -> None:
    cache: TtlCache[str, str] = TtlCache(60)
    load = CountingLoader(delay=0.05)

    before = asyncio.create_task(cache.get("k", load))
    await asyncio.sleep(0.01)  # load 1 is in flight
    cache.invalidate("k")
    after = asyncio.create_task(cache.get("k", load))

    assert await before == "v-1"
    assert await after == "v-2"
    assert load.calls == 2
    # Only the load that started after the invalidate is kept.
    assert await cache.get("k", load) == "v-2"
    assert load.calls == 2


async def test_stale_load_finishing_last_does_not_overwrite_the_fresh_value() -> None:
    cache: TtlCache[str, str] = TtlCache(60)

    async def slow_old_row() -> str:
        await asyncio.sleep(0.08)
        return "old"

    async def fast_new_row() -> str:
        await asyncio.sleep(0.01)
        return "new"

    stale = asyncio.create_task(cache.get("k", slow_old_row))
    await asyncio.sleep(0.01)
    cache.invalidate("k")
    assert await cache.get("k", fast_new_row) == "new"  # stored while the stale load still runs
    assert await stale == "old"

    assert await cache.get("k", constant("reloaded")) == "new"
    assert len(cache) == 1


async def test_cancelling_the_loading_caller_does_not_cancel_the_other_waiters() -> None:
    cache: TtlCache[str, str] = TtlCache(60)
    load = CountingLoader(delay=0.05)

    loading = asyncio.create_task(cache.get("k", load))
    await asyncio.sleep(0)  # `loading` has started the in-flight load
    waiting = asyncio.create_task(cache.get("k", load))
    await asyncio.sleep(0.01)
    loading.cancel()

    with pytest.raises(asyncio.CancelledError):
        await loading
    assert await waiting == "v-1"
    assert load.calls == 1


async def test_load_outlives_its_only_cancelled_caller_and_is_stored() -> None:
    cache: TtlCache[str, str] = TtlCache(60)
    load = CountingLoader(delay=0.03)

    caller = asyncio.create_task(cache.get("k", load))
    await asyncio.sleep(0.01)
    caller.cancel()
    with pytest.raises(asyncio.CancelledError):
        await caller
    await asyncio.sleep(0.05)  # the load finishes on its own

    assert len(cache) == 1
    assert await cache.get("k", load) == "v-1"
    assert load.calls == 1
    assert cache.stats.hits == 1


class Boom(Exception):
    pass


async def failed_load_is_released(cache: TtlCache[str, str], *, invalidate: bool) -> bool:
    """Runs a load that fails, optionally invalidated mid-flight; says whether the cache
    let go of it (its exception, and so its task and traceback, can be collected)."""
    refs: list[weakref.ref[Boom]] = []

    async def failing() -> str:
        await asyncio.sleep(0.05)
        exc = Boom()
        refs.append(weakref.ref(exc))
        raise exc

    caller = asyncio.create_task(cache.get("k", failing))
    await asyncio.sleep(0.01)
    if invalidate:
        cache.invalidate("k")
    with contextlib.suppress(Boom):
        await caller
    del caller
    await asyncio.sleep(0)
    gc.collect()
    return refs[0]() is None


async def test_failed_load_is_not_retained() -> None:
    assert await failed_load_is_released(TtlCache(60), invalidate=False) is True


async def test_failed_load_invalidated_in_flight_is_not_retained() -> None:
    assert await failed_load_is_released(TtlCache(60), invalidate=True) is True


async def test_max_entries_evicts_the_oldest_entry() -> None:
    cache: TtlCache[str, str] = TtlCache(60, max_entries=3)
    for key in ("a", "b", "c", "d"):
        await cache.get(key, constant(key.upper()))

    assert len(cache) == 3
    # "a" was the oldest: it is gone, the others are still cached.
    assert await cache.get("b", constant("other")) == "B"
    assert await cache.get("c", constant("other")) == "C"
    assert await cache.get("d", constant("other")) == "D"
    assert cache.stats.hits == 3
    assert await cache.get("a", constant("A2")) == "A2"
    assert cache.stats.misses == 5
    # Storing "a" again evicted the then-oldest, "b".
    assert len(cache) == 3
    assert await cache.get("b", constant("B2")) == "B2"


async def test_eviction_drops_expired_entries_before_the_oldest_live_one(clock: FakeClock) -> None:
    cache: TtlCache[str, str] = TtlCache(10, max_entries=3)
    await cache.get("a", constant("A"))  # deadline 1010
    clock.now = 1005.0
    await cache.get("b", constant("B"))  # deadline 1015
    await cache.get("c", constant("C"))  # deadline 1015
    clock.now = 1012.0  # "a" expired
    await cache.get("d", constant("D"))

    # Only the expired "a" went; the live "b", though oldest now, stays.
    assert len(cache) == 3
    assert await cache.get("b", constant("other")) == "B"
    assert await cache.get("c", constant("other")) == "C"
    assert await cache.get("d", constant("other")) == "D"


async def test_eviction_drops_all_expired_entries_at_once(clock: FakeClock) -> None:
    cache: TtlCache[str, str] = TtlCache(10, max_entries=3)
    for key in ("a", "b", "c"):
        await cache.get(key, constant(key.upper()))
    clock.now = 1011.0  # all three expired

    await cache.get("d", constant("D"))

    assert len(cache) == 1
    assert await cache.get("d", constant("other")) == "D"


async def test_eviction_of_oldest_considers_reloaded_entries_fresh(clock: FakeClock) -> None:
    cache: TtlCache[str, str] = TtlCache(10, max_entries=3)
    await cache.get("a", constant("A1"))  # t=1000, deadline 1010, first in dict order
    clock.now = 1005.0
    await cache.get("b", constant("B"))  # deadline 1015
    clock.now = 1011.0
    await cache.get("a", constant("A2"))  # "a" expired: reloaded, deadline 1021
    await cache.get("c", constant("C"))  # deadline 1021; 3 entries, at capacity
    clock.now = 1012.0
    await cache.get("d", constant("D"))  # nothing expired: the oldest live entry ("b") must go

    assert await cache.get("a", constant("A3")) == "A2"
    assert await cache.get("b", constant("B2")) == "B2"


async def test_max_entries_of_one_keeps_only_the_latest() -> None:
    cache: TtlCache[str, str] = TtlCache(60, max_entries=1)
    await cache.get("a", constant("A"))
    await cache.get("b", constant("B"))

    assert len(cache) == 1
    assert await cache.get("b", constant("other")) == "B"
    assert await cache.get("a", constant("A2")) == "A2"
