"""Short calls to conversations that arrive together share one batch call (group commit).

A gRPC call costs both processes far more than the insert it carries, so the calls that
arrive while a batch call is in flight go together in the next one (`services/shared/
group_commit.py`): queued sends (BatchCreateOutboundMessages) and webhook notifications
(ReceiveWebhooks). Each request still gets the answer its own call would have had, by its
own deadline. Large requests go alone, so that a call and its answer stay far below gRPC's
4 MiB message limit; so does every request when conversations does not know the batch call
(an older one, during an upgrade).
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import grpc
from pigeon.conversations.v1 import conversations_pb2 as pb

from services.shared.group_commit import GroupCommit

log = logging.getLogger(__name__)

Request = TypeVar("Request")
Result = TypeVar("Result")

# Up to this many requests go in one call (conversations takes up to 256), each at most
# this big: 64 of them, with their answers, stay below 4 MiB.
MAX_BATCH = 64
MAX_BATCHED_REQUEST_BYTES = 16 * 1024


def item_status(code: grpc.StatusCode, message: str) -> pb.ItemStatus:
    """A request's failure, as a batch call's answer carries it."""
    return pb.ItemStatus(code=code.value[0], message=message)


@dataclass(frozen=True)
class _Item(Generic[Request]):
    request: Request
    deadline: float  # event loop time


class BatchedCalls(Generic[Request, Result]):
    """`call(request)`: the request's result, or `failed(status, text)` when its call failed.

    `batch(requests, timeout)` makes one batch call (one result per request, in order);
    `alone(request, timeout)` makes the plain call; `size(request)` is its encoded size.
    """

    def __init__(
        self,
        name: str,
        *,
        batch: Callable[[list[Request], float], Awaitable[Sequence[Result]]],
        alone: Callable[[Request, float], Awaitable[Result]],
        failed: Callable[[grpc.StatusCode, str], Result],
        size: Callable[[Request], int],
        rpc_timeout: float,
        linger_seconds: float = 0.0,
        linger_until: int = 0,
    ) -> None:
        self._batch_call = batch
        self._alone_call = alone
        self.failed = failed
        self.size = size
        self.rpc_timeout = rpc_timeout
        self._batches: GroupCommit[_Item[Request], Result] = GroupCommit(
            name,
            self._run_batch,
            max_in_flight=4,
            max_batch=MAX_BATCH,
            one_row_may_fail=lambda _: False,
            linger_seconds=linger_seconds,
            linger_until=linger_until,
        )

    async def call(self, request: Request) -> Result:
        if self.size(request) > MAX_BATCHED_REQUEST_BYTES:
            return await self._alone(request, self.rpc_timeout)
        deadline = asyncio.get_running_loop().time() + self.rpc_timeout
        try:
            # Its own deadline, whatever the call ahead of it costs: the group commit leaves a
            # request that gave up out of the next call.
            async with asyncio.timeout_at(deadline):
                return await self._batches.submit(_Item(request, deadline))
        except TimeoutError:
            return self.failed(grpc.StatusCode.DEADLINE_EXCEEDED, "no answer from conversations in time")
        except grpc.aio.AioRpcError as exc:
            return self.failed(exc.code(), exc.details() or "")

    async def _run_batch(self, items: Sequence[_Item[Request]]) -> list[Result]:
        now = asyncio.get_running_loop().time()
        try:
            # The newest request's deadline: each older one gives up at its own.
            results = await self._batch_call(
                [item.request for item in items], max(i.deadline for i in items) - now
            )
        except grpc.aio.AioRpcError as exc:
            if exc.code() != grpc.StatusCode.UNIMPLEMENTED:
                raise
            now = asyncio.get_running_loop().time()
            return list(
                await asyncio.gather(*(self._alone(item.request, item.deadline - now) for item in items))
            )
        if len(results) != len(items):
            log.error("a batch call answered %d results for %d requests", len(results), len(items))
            return [self.failed(grpc.StatusCode.INTERNAL, "malformed answer")] * len(items)
        return list(results)

    async def _alone(self, request: Request, seconds_left: float) -> Result:
        try:
            return await self._alone_call(request, seconds_left)
        except grpc.aio.AioRpcError as exc:
            return self.failed(exc.code(), exc.details() or "")

    async def close(self) -> None:
        await self._batches.close()
