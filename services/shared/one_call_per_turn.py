"""Long calls that start in the same turn of the event loop, made as one streaming call.

`group_commit.GroupCommit` suits short operations: what arrives while one is in flight waits for it.
A send to WhatsApp lasts 500-800 ms, far too long to wait behind, yet its gRPC call costs
both processes as much CPU as the work it carries, and a grpc.aio server takes in new calls
one at a time. So here nothing waits: the items submitted during one turn of the loop (a
group-committed insert wakes all its callers at once; a busy HTTP server starts many
requests per turn) go at the end of that turn in one call whose results stream back, each
as soon as it is ready. An item alone goes by itself (`run_one`), as a plain call.
"""

import asyncio
import contextvars
import logging
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Sequence
from typing import Generic, Protocol, TypeVar

import grpc

from services.shared.metrics import BATCH_ITEMS

Item = TypeVar("Item")
Streamed = TypeVar("Streamed", bound="_Indexed")
Result = TypeVar("Result")


log = logging.getLogger(__name__)

# How long items go one by one after a callee did not know the batch call.
UNKNOWN_BATCH_CALL_PAUSE_SECONDS = 60.0


class BatchCallUnknown(Exception):
    """The callee does not know the batch call (gRPC's UNIMPLEMENTED: an older version)."""


class OneCallPerTurn(Generic[Item, Result]):
    def __init__(
        self,
        name: str,
        run_one: Callable[[Item], Awaitable[Result]],
        run_many: Callable[[Sequence[Item]], AsyncIterator[tuple[int, Result | Exception]]],
        *,
        max_batch: int,
        alone: Callable[[Item], bool],
        call_failed: Callable[[Exception | None], Exception],
    ) -> None:
        # `run_many` yields (index, result or exception) for each item, as each is ready.
        # An exception it raises is the answer of every item it had not answered yet, but
        # for BatchCallUnknown, raised before any answer: then each item goes by itself,
        # and so do all others for a while (`UNKNOWN_BATCH_CALL_PAUSE_SECONDS`).
        # An item for which `alone` holds (a large one, say) always goes by itself.
        # `call_failed` turns what a call raised into the caller's error (passing the
        # client's own errors through), and None into the error of an item the callee
        # never answered (its bug).
        self.run_one = run_one
        self.run_many = run_many
        self.max_batch = max_batch
        self.alone = alone
        self.call_failed = call_failed
        # Loop time until which items go one by one: a callee did not know the batch call.
        self._one_by_one_until = float("-inf")
        self._sizes = BATCH_ITEMS.labels(name)  # the metric, under this name
        # Each item of this turn, its future and its caller's context.
        self._turn: list[tuple[Item, asyncio.Future[Result], contextvars.Context]] = []
        self._calls: set[asyncio.Task[None]] = set()
        self._closed = False

    async def submit(self, item: Item) -> Result:
        """The item's result. Cancelling the caller abandons the item: once every item of
        a call is abandoned, the call is cancelled (as a plain call would be)."""
        if self._closed:
            raise self.call_failed(RuntimeError("the client is closed"))
        if self.alone(item):
            return await self.run_one(item)
        loop = asyncio.get_running_loop()
        if not self._turn:
            # In a context of its own: the calls serve many callers, not this one.
            loop.call_soon(self._start_calls, context=contextvars.Context())
        future: asyncio.Future[Result] = loop.create_future()
        self._turn.append((item, future, contextvars.copy_context()))
        return await future

    def _start_calls(self) -> None:
        waiting = [(item, future, caller) for item, future, caller in self._turn if not future.done()]
        self._turn = []
        for start in range(0, len(waiting), self.max_batch):
            batch = [(item, future) for item, future, _ in waiting[start : start + self.max_batch]]
            self._sizes.observe(len(batch))
            # A call that carries one caller's item is that caller's (its request id, its
            # trace); a call for many callers keeps the context of its own.
            call_context = waiting[start][2] if len(batch) == 1 else None
            call = asyncio.get_running_loop().create_task(
                self._call(batch), name="turn-batch", context=call_context
            )
            self._calls.add(call)
            call.add_done_callback(self._calls.discard)
            _cancel_when_abandoned(call, [future for _, future in batch])

    async def _call(self, batch: Sequence[tuple[Item, asyncio.Future[Result]]]) -> None:
        futures = [future for _, future in batch]
        try:
            if len(batch) == 1:
                _answer(futures[0], await self.run_one(batch[0][0]))
                return
            loop = asyncio.get_running_loop()
            if loop.time() >= self._one_by_one_until:
                try:
                    await self._answer_all(futures, self.run_many([item for item, _ in batch]))
                    return
                except BatchCallUnknown:
                    # An older callee, mid-upgrade: one plain call per item for a while, then
                    # the batch call again (the callee, or the replica asked, may be newer).
                    self._one_by_one_until = loop.time() + UNKNOWN_BATCH_CALL_PAUSE_SECONDS
            waiting = [(index, item) for index, (item, future) in enumerate(batch) if not future.done()]
            outcomes = one_by_one(self.run_one, [item for _, item in waiting])
            await self._answer_all([futures[index] for index, _ in waiting], outcomes)
        except asyncio.CancelledError:
            for future in futures:
                future.cancel()
            raise
        except Exception as exc:
            _fail(futures, self.call_failed(exc))

    async def _answer_all(
        self,
        futures: Sequence[asyncio.Future[Result]],
        outcomes: AsyncIterator[tuple[int, Result | Exception]],
    ) -> None:
        async for index, outcome in outcomes:
            if 0 <= index < len(futures):  # else not one of ours: a confused callee
                _answer(futures[index], outcome)
        _fail(futures, self.call_failed(None))

    async def close(self) -> None:
        """Cancels the calls in flight and those not started yet (what they wait for is
        going away); later submits fail."""
        self._closed = True
        for _, future, _ in self._turn:
            future.cancel()
        for call in self._calls:
            call.cancel()
        await asyncio.gather(*self._calls, return_exceptions=True)


def _answer(future: asyncio.Future[Result], outcome: Result | Exception) -> None:
    if future.done():  # its caller gave up
        return
    if isinstance(outcome, Exception):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)


def _fail(futures: Sequence[asyncio.Future[Result]], error: Exception) -> None:
    for future in futures:
        if not future.done():
            future.set_exception(error)


def _cancel_when_abandoned(call: asyncio.Task[None], futures: Sequence[asyncio.Future[Result]]) -> None:
    def abandoned(future: asyncio.Future[Result]) -> None:
        if future.cancelled() and all(other.done() for other in futures):
            call.cancel()  # nobody waits for anything of it any more

    for future in futures:
        future.add_done_callback(abandoned)


async def one_by_one(
    run_one: Callable[[Item], Awaitable[Result]], items: Sequence[Item]
) -> AsyncIterator[tuple[int, Result | Exception]]:
    """What a `run_many` yields, from one plain call per item, concurrently (for a callee
    that does not know the batch call)."""

    async def indexed(index: int) -> tuple[int, Result | Exception]:
        try:
            return index, await run_one(items[index])
        except Exception as exc:
            return index, exc

    async for outcome in as_they_complete([indexed(index) for index in range(len(items))]):
        yield outcome


class _Indexed(Protocol):
    index: int


async def streamed_results(
    call: AsyncIterable[Streamed],
    outcome: Callable[[Streamed], Result | Exception],
    call_error: Callable[[grpc.aio.AioRpcError], Exception],
) -> AsyncIterator[tuple[int, Result | Exception]]:
    """What a `run_many` yields from a batch call whose results stream back, each tagged with
    its request's index: `outcome` maps one, `call_error` a failed call. UNIMPLEMENTED before
    any result means the callee does not know the call (BatchCallUnknown)."""
    answered = False
    try:
        async for result in call:
            answered = True
            yield result.index, outcome(result)
    except grpc.aio.AioRpcError as exc:
        if exc.code() == grpc.StatusCode.UNIMPLEMENTED and not answered:
            log.warning("a callee does not know a batch call: one call per request for a minute")
            raise BatchCallUnknown from None
        raise call_error(exc) from None


async def as_they_complete(runs: Sequence[Awaitable[Result]]) -> AsyncIterator[Result]:
    """Runs them concurrently and yields each result as soon as it is ready (how a batch
    call's callee streams its answers). Those still running when the consumer stops (its
    caller went away) are cancelled."""
    tasks = [asyncio.ensure_future(run) for run in runs]
    try:
        for next_done in asyncio.as_completed(tasks):
            yield await next_done
    finally:
        for task in tasks:
            task.cancel()
            if task.done() and not task.cancelled():
                task.exception()  # read, so that an unawaited failure is not reported as lost
