"""Concurrent calls of one operation, run together as one (group commit).

A batched operation costs about as much as a single one plus a little per item. In
conversations, a statement on arrays shares PostgreSQL's commit, its WAL flush and the
NOTIFY lock; in the gateway, one BatchCreateOutboundMessages call shares gRPC's per-call
cost. Items that arrive while a batch is in flight wait for it and then go together; a
second batch starts at once only when a full one is waiting (up to `max_in_flight`). At
low load each item goes alone at once, so batching adds no latency where there is
nothing to share.
"""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

from services.shared.metrics import BATCH_ITEMS

Item = TypeVar("Item")
Result = TypeVar("Result")

log = logging.getLogger(__name__)


class GroupCommit(Generic[Item, Result]):
    def __init__(
        self,
        name: str,
        run: Callable[[Sequence[Item]], Awaitable[Sequence[Result]]],
        *,
        max_in_flight: int,
        max_batch: int,
        one_row_may_fail: Callable[[Exception], bool],
        linger_seconds: float = 0.0,
        linger_until: int = 0,
    ) -> None:
        # `run` answers one result per item, in order. When a batch fails with an error
        # that one row may have caused (`one_row_may_fail`), each item runs again alone;
        # any other error (the database is away, say) is every item's answer.
        self.run = run
        self._sizes = BATCH_ITEMS.labels(name)  # the metric, under this name
        self.one_row_may_fail = one_row_may_fail
        self.max_in_flight = max_in_flight
        self.max_batch = max_batch
        # A batch waits until its oldest item has waited this long, or `linger_until` items
        # (by default a full batch) are there: company for work whose latency matters less
        # than its cost. 0: a batch goes as soon as the one before it is done.
        self.linger_seconds = linger_seconds
        self.linger_until = linger_until or max_batch
        self._enough = asyncio.Event()  # set when linger_until items wait
        # Each waiting item, its future, and the loop time it arrived.
        self._waiting: list[tuple[Item, asyncio.Future[Result], float]] = []
        self._in_flight = 0
        self._tasks: set[asyncio.Task[None]] = set()

    async def submit(self, item: Item) -> Result:
        """The item's result. A caller cancelled once its batch has started does not stop
        the batch: its row may be written all the same (as with a statement whose answer
        was lost), which idempotency keys make safe to retry."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Result] = loop.create_future()
        self._waiting.append((item, future, loop.time()))
        if len(self._waiting) >= self.linger_until:
            self._enough.set()
        # Group commit: the next batch waits for the one in flight (and grows meanwhile),
        # unless a full batch is already waiting.
        if self._in_flight == 0 or (
            self._in_flight < self.max_in_flight and len(self._waiting) >= self.max_batch
        ):
            self._start_drain()
        return await future

    def _start_drain(self) -> None:
        self._in_flight += 1
        # A task of its own: one caller's cancellation must not cancel the others' rows.
        task = asyncio.get_running_loop().create_task(self._drain(), name="group-commit")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _drain(self) -> None:
        try:
            while self._waiting:
                if self.linger_seconds and len(self._waiting) < self.linger_until:
                    self._enough.clear()
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout_at(self._waiting[0][2] + self.linger_seconds):
                            await self._enough.wait()
                taken, self._waiting = self._waiting[: self.max_batch], self._waiting[self.max_batch :]
                batch = [(item, future) for item, future, _ in taken if not future.done()]
                if batch:
                    self._sizes.observe(len(batch))
                    await self._run_batch(batch)
        finally:
            self._in_flight -= 1
            if self._waiting and self._in_flight == 0:
                self._start_drain()  # this one was cancelled: nobody must be left waiting

    async def _run_batch(self, batch: list[tuple[Item, asyncio.Future[Result]]]) -> None:
        try:
            results = await self.run([item for item, _ in batch])
        except asyncio.CancelledError:
            for _, future in batch:
                future.cancel()
            raise
        except Exception as exc:
            if len(batch) > 1 and self.one_row_may_fail(exc):
                # Which item failed the batch is unknown: each runs alone and gets its own answer.
                log.debug("a batch of %d failed (%s); running its items one by one", len(batch), exc)
                await asyncio.gather(*(self._run_batch([pair]) for pair in batch))
                return
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        for (_, future), result in zip(batch, results, strict=True):
            if not future.done():  # unless its caller gave up
                future.set_result(result)

    async def close(self) -> None:
        """Waits for the batches in flight (their rows are being written)."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
