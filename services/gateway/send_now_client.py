"""Synchronous sends (POST /messages/send) to conversations: those that start together share a call.

A SendNow call lasts as long as WhatsApp does, so nothing can wait behind one. But the
requests a busy gateway starts in the same turn of its event loop go together in one
BatchSendNow call (`services/shared/one_call_per_turn.py`), whose results stream back each as
soon as its send is done: one call's CPU in both processes instead of many, and fewer calls
for conversations' grpc.aio server, which takes in calls one at a time. A request alone, or
a large one, goes as a plain SendNow; so does every request when conversations does not
know the batch call (an older one, during an upgrade).
"""

import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

import grpc
from pigeon.conversations.v1 import conversations_pb2 as pb
from pigeon.conversations.v1 import conversations_pb2_grpc

from services.gateway.batched_calls import MAX_BATCH, MAX_BATCHED_REQUEST_BYTES
from services.gateway.errors import ApiError, from_grpc, from_item_status, from_status, send_outcome_unknown
from services.shared.one_call_per_turn import OneCallPerTurn, streamed_results

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Send:
    request: pb.SendNowRequest
    request_id: str


class SendNowClient:
    def __init__(self, stub: conversations_pb2_grpc.ConversationsStub, timeout_seconds: float) -> None:
        self.stub = stub
        self.timeout_seconds = timeout_seconds
        self._calls = OneCallPerTurn(
            "sync_sends",
            self._send_one,
            self._send_many,
            max_batch=MAX_BATCH,
            alone=lambda send: send.request.ByteSize() > MAX_BATCHED_REQUEST_BYTES,
            call_failed=_call_failed,
        )

    async def send(self, request: pb.SendNowRequest, request_id: str) -> pb.SendNowResponse:
        """The send's result; raises ApiError with the status its own call would have had."""
        return await self._calls.submit(_Send(request, request_id))

    async def _send_one(self, send: _Send) -> pb.SendNowResponse:
        try:
            return await self.stub.SendNow(
                send.request, timeout=self.timeout_seconds, metadata=(("x-request-id", send.request_id),)
            )
        except grpc.aio.AioRpcError as exc:
            raise _call_error(exc) from None

    def _send_many(self, sends: Sequence[_Send]) -> AsyncIterator[tuple[int, pb.SendNowResponse | Exception]]:
        call = self.stub.BatchSendNow(
            pb.BatchSendNowRequest(
                requests=[send.request for send in sends], request_ids=[send.request_id for send in sends]
            ),
            timeout=self.timeout_seconds,
        )
        return streamed_results(call, _outcome, _call_error)

    async def close(self) -> None:
        await self._calls.close()


def _outcome(result: pb.BatchSendNowResult) -> pb.SendNowResponse | ApiError:
    if result.HasField("response"):
        return result.response
    if result.error.code == grpc.StatusCode.DEADLINE_EXCEEDED.value[0]:
        return send_outcome_unknown()  # sent, its outcome not stored in time (OutcomeUnknown)
    return from_item_status(result.error, "conversations")


def _call_error(error: grpc.aio.AioRpcError) -> ApiError:
    if error.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
        return send_outcome_unknown()
    return from_grpc(error, "conversations")


def _call_failed(error: Exception | None) -> Exception:
    """A failed call as each of its requests' HTTP error (never a bare 500)."""
    if isinstance(error, ApiError):
        return error
    if error is not None:
        log.error("a call to conversations failed", extra={"error": repr(error)})
    return from_status(grpc.StatusCode.INTERNAL, "no result", "conversations")
