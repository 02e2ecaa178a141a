"""Queued sends (POST /messages/send-async) to conversations: concurrent ones share a call.

A gRPC call costs both processes far more than the insert it carries, so the accepts that
arrive while a BatchCreateOutboundMessages call is in flight go together in the next one
(group commit, `services/shared/batching.py`). Each request still gets the answer its own
CreateOutboundMessage call would have, by its own deadline. Large requests go alone, so
that a call and its answer stay far below gRPC's 4 MiB message limit; so does every
request when conversations does not know the batch call (an older one, during an upgrade).
"""

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import grpc
from pigeon.conversations.v1 import conversations_pb2 as pb
from pigeon.conversations.v1 import conversations_pb2_grpc

from services.shared.batching import Batcher

log = logging.getLogger(__name__)

# Up to this many requests go in one call (conversations takes up to 256), each at most
# this big: 64 of them, with their answers (which repeat the content), stay below 4 MiB.
MAX_BATCH = 64
MAX_BATCHED_REQUEST_BYTES = 16 * 1024


@dataclass(frozen=True)
class _Item:
    request: pb.CreateOutboundMessageRequest
    request_id: str
    deadline: float  # event loop time


def item_status(code: grpc.StatusCode, message: str) -> pb.CreateOutboundMessageResult:
    return pb.CreateOutboundMessageResult(error=pb.ItemStatus(code=code.value[0], message=message))


def call_status(error: grpc.aio.AioRpcError) -> pb.CreateOutboundMessageResult:
    """A failed call as the status of a request it carried."""
    return item_status(error.code(), error.details() or "")


class OutboundClient:
    def __init__(self, stub: conversations_pb2_grpc.ConversationsStub, rpc_timeout: float) -> None:
        self.stub = stub
        self.rpc_timeout = rpc_timeout
        self._batches: Batcher[_Item, pb.CreateOutboundMessageResult] = Batcher(
            "accepts",
            self._create_batch,
            max_in_flight=4,
            max_batch=MAX_BATCH,
            one_row_may_fail=lambda _: False,
        )

    async def create(
        self, request: pb.CreateOutboundMessageRequest, request_id: str
    ) -> pb.CreateOutboundMessageResult:
        """The request's result, or the status its call ended with (a failed batch call is
        the status of each of its requests; DEADLINE_EXCEEDED once its own time is up)."""
        if request.ByteSize() > MAX_BATCHED_REQUEST_BYTES:
            return await self._create_alone(request, request_id, self.rpc_timeout)
        deadline = asyncio.get_running_loop().time() + self.rpc_timeout
        try:
            # Its own deadline, whatever the call ahead of it costs: the batcher leaves a
            # request that gave up out of the next call.
            async with asyncio.timeout_at(deadline):
                return await self._batches.submit(_Item(request, request_id, deadline))
        except TimeoutError:
            return item_status(grpc.StatusCode.DEADLINE_EXCEEDED, "no answer from conversations in time")
        except grpc.aio.AioRpcError as exc:
            return call_status(exc)

    async def _create_batch(self, items: Sequence[_Item]) -> list[pb.CreateOutboundMessageResult]:
        now = asyncio.get_running_loop().time()
        try:
            response = await self.stub.BatchCreateOutboundMessages(
                pb.BatchCreateOutboundMessagesRequest(
                    requests=[item.request for item in items],
                    request_ids=[item.request_id for item in items],
                ),
                # The newest request's deadline: each older one gives up at its own.
                timeout=max(item.deadline for item in items) - now,
            )
        except grpc.aio.AioRpcError as exc:
            if exc.code() != grpc.StatusCode.UNIMPLEMENTED:
                raise
            now = asyncio.get_running_loop().time()
            return list(
                await asyncio.gather(
                    *(
                        self._create_alone(item.request, item.request_id, item.deadline - now)
                        for item in items
                    )
                )
            )
        if len(response.results) != len(items):
            log.error("a batch call answered %d results for %d requests", len(response.results), len(items))
            return [item_status(grpc.StatusCode.INTERNAL, "malformed answer")] * len(items)
        return list(response.results)

    async def _create_alone(
        self, request: pb.CreateOutboundMessageRequest, request_id: str, seconds_left: float
    ) -> pb.CreateOutboundMessageResult:
        try:
            created = await self.stub.CreateOutboundMessage(
                request, timeout=seconds_left, metadata=(("x-request-id", request_id),)
            )
        except grpc.aio.AioRpcError as exc:
            return call_status(exc)
        return pb.CreateOutboundMessageResult(created=created)

    async def close(self) -> None:
        await self._batches.close()
