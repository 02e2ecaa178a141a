"""Queued sends (POST /messages/send-async) to conversations: concurrent ones share a call
(BatchCreateOutboundMessages, see `batched_calls.py`)."""

from dataclasses import dataclass

import grpc
from pigeon.conversations.v1 import conversations_pb2 as pb
from pigeon.conversations.v1 import conversations_pb2_grpc

from services.gateway.batched_calls import BatchedCalls, item_status


@dataclass(frozen=True)
class _Accept:
    request: pb.CreateOutboundMessageRequest
    request_id: str


def failed(code: grpc.StatusCode, message: str) -> pb.CreateOutboundMessageResult:
    return pb.CreateOutboundMessageResult(error=item_status(code, message))


class QueuedSendClient:
    def __init__(self, stub: conversations_pb2_grpc.ConversationsStub, rpc_timeout: float) -> None:
        self.stub = stub
        self._calls: BatchedCalls[_Accept, pb.CreateOutboundMessageResult] = BatchedCalls(
            "accepts",
            batch=self._batch,
            alone=self._alone,
            failed=failed,
            size=lambda accept: accept.request.ByteSize(),
            rpc_timeout=rpc_timeout,
        )

    async def create(
        self, request: pb.CreateOutboundMessageRequest, request_id: str
    ) -> pb.CreateOutboundMessageResult:
        """The request's result, or the status its call ended with (a failed batch call is
        the status of each of its requests; DEADLINE_EXCEEDED once its own time is up)."""
        return await self._calls.call(_Accept(request, request_id))

    async def _batch(
        self, accepts: list[_Accept], seconds_left: float
    ) -> list[pb.CreateOutboundMessageResult]:
        response = await self.stub.BatchCreateOutboundMessages(
            pb.BatchCreateOutboundMessagesRequest(
                requests=[accept.request for accept in accepts],
                request_ids=[accept.request_id for accept in accepts],
            ),
            timeout=seconds_left,
        )
        return list(response.results)

    async def _alone(self, accept: _Accept, seconds_left: float) -> pb.CreateOutboundMessageResult:
        created = await self.stub.CreateOutboundMessage(
            accept.request, timeout=seconds_left, metadata=(("x-request-id", accept.request_id),)
        )
        return pb.CreateOutboundMessageResult(created=created)

    async def close(self) -> None:
        await self._calls.close()
