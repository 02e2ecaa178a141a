"""OneCallPerTurn: items of one loop turn share a call, each answered as soon as it is ready;
a lone or large item goes alone; a failed call or a missing answer fails only the items not
yet answered, as the client's own error; an older callee gets one call per item, and only
for items still waited for; a call whose items are all abandoned is cancelled."""

import asyncio
import contextvars
from collections.abc import AsyncIterator, Sequence

import pytest

from services.shared import one_call_per_turn
from services.shared.one_call_per_turn import BatchCallUnknown, OneCallPerTurn, as_they_complete


class CallError(Exception):
    """The client's own error type, as SenderCallError or ApiError."""


class Callee:
    """Answers item * 10 after `item` milliseconds; an item of 999 gets no answer, -1 fails alone."""

    def __init__(self) -> None:
        self.single: list[int] = []
        self.batches: list[list[int]] = []
        self.knows_batches = True
        self.fail_after: int | None = None  # a batch call breaks after this many answers
        self.cancelled = 0
        self.seen_context: list[str] = []

    async def one(self, item: int) -> int:
        self.single.append(item)
        self.seen_context.append(WHO.get())
        await asyncio.sleep(item / 1000)
        if item < 0:
            raise CallError(f"item {item}")
        return item * 10

    async def many(self, items: Sequence[int]) -> AsyncIterator[tuple[int, int | Exception]]:
        self.seen_context.append(WHO.get())
        if not self.knows_batches:
            raise BatchCallUnknown
        self.batches.append(list(items))

        async def answer(index: int) -> tuple[int, int | Exception]:
            item = items[index]
            await asyncio.sleep(max(item, 0) / 1000)
            return index, CallError(f"item {item}") if item < 0 else item * 10

        try:
            answered = 0
            async for index, outcome in as_they_complete(
                [answer(i) for i in range(len(items)) if items[i] != 999]
            ):
                if self.fail_after is not None and answered == self.fail_after:
                    raise ConnectionError("the call broke")
                answered += 1
                yield index, outcome
        except asyncio.CancelledError:
            self.cancelled += 1
            raise


WHO: contextvars.ContextVar[str] = contextvars.ContextVar("who", default="nobody")


def call_failed(error: Exception | None) -> Exception:
    if isinstance(error, CallError):
        return error
    return CallError("no answer" if error is None else f"call failed: {error!r}")


def batcher(callee: Callee, max_batch: int = 8) -> OneCallPerTurn[int, int]:
    return OneCallPerTurn(
        "test",
        callee.one,
        callee.many,
        max_batch=max_batch,
        alone=lambda item: item >= 1000,
        call_failed=call_failed,
    )


async def test_items_of_one_turn_share_a_call_and_each_gets_its_answer_when_ready() -> None:
    callee = Callee()
    calls = batcher(callee)
    finished: list[int] = []

    async def submit(item: int) -> int:
        result = await calls.submit(item)
        finished.append(item)
        return result

    assert await asyncio.gather(submit(50), submit(1), submit(2)) == [500, 10, 20]
    assert callee.batches == [[50, 1, 2]]
    assert finished == [1, 2, 50]  # the slow one held up nobody

    assert await calls.submit(3) == 30  # alone in its turn: a plain call
    assert callee.single == [3]


async def test_a_large_item_goes_alone_and_a_full_turn_is_split() -> None:
    callee = Callee()
    calls = batcher(callee, max_batch=2)

    results = await asyncio.gather(*(calls.submit(item) for item in (1, 1000, 2, 3, 4, 5)))

    assert results == [10, 10000, 20, 30, 40, 50]
    assert callee.single == [1000, 5]
    assert callee.batches == [[1, 2], [3, 4]]


async def test_failures_are_each_items_own_and_in_the_clients_terms() -> None:
    callee = Callee()
    calls = batcher(callee)

    results = await asyncio.gather(*(calls.submit(item) for item in (1, -1, 999)), return_exceptions=True)

    assert results[0] == 10
    assert isinstance(results[1], CallError) and str(results[1]) == "item -1"
    assert isinstance(results[2], CallError) and str(results[2]) == "no answer"

    callee.fail_after = 1  # the call breaks after its first answer
    results = await asyncio.gather(*(calls.submit(item) for item in (1, 20, 30)), return_exceptions=True)

    assert results[0] == 10
    assert all(isinstance(r, CallError) and "the call broke" in str(r) for r in results[1:])


async def test_an_older_callee_gets_one_call_per_item_for_a_while(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(one_call_per_turn, "UNKNOWN_BATCH_CALL_PAUSE_SECONDS", 0.2)
    callee = Callee()
    callee.knows_batches = False
    calls = batcher(callee)

    assert await asyncio.gather(*(calls.submit(item) for item in (1, 2))) == [10, 20]
    assert await asyncio.gather(*(calls.submit(item) for item in (3, 4))) == [30, 40]
    assert callee.single == [1, 2, 3, 4]
    assert len(callee.seen_context) - len(callee.single) == 1  # the batch call was tried once

    callee.knows_batches = True  # upgraded meanwhile
    await asyncio.sleep(0.25)
    assert await asyncio.gather(*(calls.submit(item) for item in (5, 6))) == [50, 60]
    assert callee.batches == [[5, 6]]


async def test_a_call_goes_on_while_anyone_waits_and_is_cancelled_once_all_gave_up() -> None:
    callee = Callee()
    calls = batcher(callee)

    kept = asyncio.ensure_future(calls.submit(30))
    dropped = asyncio.ensure_future(calls.submit(40))
    await asyncio.sleep(0.005)
    dropped.cancel()
    assert await kept == 300
    assert callee.cancelled == 0  # a call goes on while anyone waits for it

    both = [asyncio.ensure_future(calls.submit(item)) for item in (100, 200)]
    await asyncio.sleep(0.005)
    for submitted in both:
        submitted.cancel()
    await asyncio.gather(*both, return_exceptions=True)
    await asyncio.sleep(0.01)
    assert callee.cancelled == 1


async def test_a_shared_call_runs_in_no_callers_context_a_lone_one_in_its_callers() -> None:
    callee = Callee()
    calls = batcher(callee)

    async def as_caller(name: str, item: int) -> int:
        WHO.set(name)
        return await calls.submit(item)

    await asyncio.gather(as_caller("first", 1), as_caller("second", 2))
    assert callee.seen_context == ["nobody"]
    # A call for one item is its caller's: its request id, its trace (tracing.py).
    await as_caller("third", 3)
    assert callee.seen_context == ["nobody", "third"]


async def test_close_fails_what_waits() -> None:
    callee = Callee()
    calls = batcher(callee)

    waiting = asyncio.ensure_future(calls.submit(1))
    await asyncio.sleep(0)  # queued for the end of this turn
    await calls.close()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    with pytest.raises(CallError):
        await calls.submit(1)
