"""GroupCommit: a lone item goes at once, items that arrive meanwhile go together, a failed
batch answers each item on its own, a caller that gave up before its batch is skipped."""

import asyncio
from collections.abc import Sequence

import pytest

from services.shared.group_commit import GroupCommit


class Statement:
    """Stands in for a batched statement: records each batch, answers item * 10, fails
    any batch holding a negative item, and finishes only when released."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.release = asyncio.Event()
        self.release.set()
        self.started = asyncio.Condition()

    async def run(self, items: Sequence[int]) -> list[int]:
        self.batches.append(list(items))
        async with self.started:
            self.started.notify_all()
        await self.release.wait()
        if any(item < 0 for item in items):
            raise ValueError(f"bad item in {list(items)}")
        if 0 in items:
            raise ConnectionError("the database went away")
        return [item * 10 for item in items]


def row_error(exc: Exception) -> bool:
    return isinstance(exc, ValueError)


async def started(statement: Statement, batches: int) -> None:
    async with statement.started:
        await statement.started.wait_for(lambda: len(statement.batches) >= batches)


async def first_in_flight(
    max_in_flight: int, item: int = 1
) -> tuple[Statement, GroupCommit[int, int], "asyncio.Future[int]"]:
    """A batcher whose first batch (of `item`) is in flight and held until released."""
    statement = Statement()
    statement.release.clear()
    batcher = GroupCommit(
        "test", statement.run, one_row_may_fail=row_error, max_in_flight=max_in_flight, max_batch=64
    )
    first = asyncio.ensure_future(batcher.submit(item))
    await started(statement, 1)
    return statement, batcher, first


async def test_a_lone_item_runs_at_once_alone() -> None:
    statement = Statement()
    batcher = GroupCommit("test", statement.run, one_row_may_fail=row_error, max_in_flight=4, max_batch=64)
    assert await batcher.submit(3) == 30
    assert statement.batches == [[3]]


async def test_items_arriving_during_a_batch_go_together_in_the_next() -> None:
    statement, batcher, first = await first_in_flight(4)
    waiting = [asyncio.ensure_future(batcher.submit(n)) for n in (2, 3, 4)]
    await asyncio.sleep(0.01)
    assert statement.batches == [[1]]  # the others wait for the batch in flight
    statement.release.set()
    assert await first == 10
    assert await asyncio.gather(*waiting) == [20, 30, 40]
    assert statement.batches == [[1], [2, 3, 4]]


async def test_a_full_batch_waiting_starts_another_in_flight() -> None:
    statement = Statement()
    statement.release.clear()
    batcher = GroupCommit("test", statement.run, one_row_may_fail=row_error, max_in_flight=2, max_batch=3)
    calls = [asyncio.ensure_future(batcher.submit(n)) for n in range(1, 8)]
    await started(statement, 2)
    await asyncio.sleep(0.01)
    assert len(statement.batches) == 2  # never more than max_in_flight at once
    statement.release.set()
    assert await asyncio.gather(*calls) == [10, 20, 30, 40, 50, 60, 70]
    assert sorted(item for batch in statement.batches for item in batch) == list(range(1, 8))
    assert max(len(batch) for batch in statement.batches) == 3


async def test_a_failed_batch_answers_each_item_on_its_own() -> None:
    statement, batcher, first = await first_in_flight(1)
    good, bad, other = (asyncio.ensure_future(batcher.submit(n)) for n in (2, -1, 4))
    await asyncio.sleep(0)
    statement.release.set()
    assert await first == 10
    assert await good == 20
    assert await other == 40
    with pytest.raises(ValueError, match=r"\[-1\]"):
        await bad
    assert [2, -1, 4] in statement.batches  # tried together first, then alone
    assert [2] in statement.batches and [-1] in statement.batches and [4] in statement.batches


async def test_a_caller_that_gave_up_before_its_batch_is_skipped() -> None:
    statement, batcher, first = await first_in_flight(1)
    gave_up = asyncio.ensure_future(batcher.submit(2))
    kept = asyncio.ensure_future(batcher.submit(3))
    await asyncio.sleep(0)
    gave_up.cancel()
    statement.release.set()
    assert await first == 10
    assert await kept == 30
    assert statement.batches == [[1], [3]]


async def test_close_waits_for_the_batch_in_flight() -> None:
    statement, batcher, call = await first_in_flight(1, item=5)
    closing = asyncio.ensure_future(batcher.close())
    await asyncio.sleep(0.01)
    assert not closing.done()
    statement.release.set()
    await closing
    assert await call == 50


async def test_an_error_no_row_caused_is_every_items_answer() -> None:
    statement, batcher, first = await first_in_flight(1)
    calls = [asyncio.ensure_future(batcher.submit(n)) for n in (2, 0, 4)]
    await asyncio.sleep(0)
    statement.release.set()
    assert await first == 10
    for call in calls:
        with pytest.raises(ConnectionError):
            await call
    assert statement.batches == [[1], [2, 0, 4]]  # not run again one by one


async def test_lingering_items_wait_for_company_up_to_the_oldest_ones_linger() -> None:
    statement = Statement()
    batcher = GroupCommit(
        "test", statement.run, max_in_flight=2, max_batch=8, one_row_may_fail=row_error, linger_seconds=0.05
    )
    loop = asyncio.get_running_loop()
    began = loop.time()
    first = asyncio.create_task(batcher.submit(1))
    await asyncio.sleep(0.02)
    second = asyncio.create_task(batcher.submit(2))
    assert await first == 10 and await second == 20
    assert statement.batches == [[1, 2]]
    # The batch went when the oldest item had waited its linger, not later.
    assert 0.045 <= loop.time() - began < 0.2
    # Eight waiting (a full batch) go at once.
    began = loop.time()
    assert await asyncio.gather(*(batcher.submit(n) for n in range(3, 11))) == [n * 10 for n in range(3, 11)]
    assert loop.time() - began < 0.04
    await batcher.close()
