"""This service's client of the sender: sends that start together share one gRPC call.

A unary call costs the caller and the sender about as much CPU as the WhatsApp request it
carries. Sends that start in the same turn of the event loop (a group-committed insert
wakes all its callers at once; the outbox's paced slots fall due together) go in one
`SendMessages` call, whose results stream back each as soon as WhatsApp answers it, so a
slow message holds up no other. A send alone goes as a plain `SendMessage`. Nothing waits
for a batch to form: the call starts at the end of the turn in which its sends arrived.
"""

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import grpc
from pigeon.sender.v1 import sender_pb2, sender_pb2_grpc

from services.shared.metrics import BATCH_SIZE

log = logging.getLogger(__name__)

# Below the sender's limit of 256 per call; more go in further calls of the same turn.
MAX_MESSAGES_PER_CALL = 64


class SenderCallError(Exception):
    """The sender gave no result for a message (the call failed, or the message was
    invalid): not a WhatsApp failure, which is a result."""

    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        super().__init__(f"{code.name}: {details}")
        self.code = code
        self.details = details


@dataclass
class _Send:
    request: sender_pb2.SendMessageRequest
    request_id: str
    answer: asyncio.Future[sender_pb2.SendMessageResponse]


class SenderClient:
    def __init__(self, stub: sender_pb2_grpc.SenderStub, timeout_seconds: float) -> None:
        self.stub = stub
        self.timeout_seconds = timeout_seconds
        # False once a sender answered UNIMPLEMENTED (an older one, mid-upgrade).
        self.streaming = True
        self._turn: list[_Send] = []
        self._calls: set[asyncio.Task[None]] = set()
        self._sizes = BATCH_SIZE.labels("sender_calls")

    async def send(
        self, request: sender_pb2.SendMessageRequest, request_id: str = ""
    ) -> sender_pb2.SendMessageResponse:
        """WhatsApp's answer through the sender; raises SenderCallError when there is none.
        Cancelling it abandons this send: once every send of a call is abandoned, the call
        is cancelled (as a unary call would be)."""
        loop = asyncio.get_running_loop()
        if not self._turn:
            loop.call_soon(self._start_calls)
        send = _Send(request, request_id, loop.create_future())
        self._turn.append(send)
        return await send.answer

    def _start_calls(self) -> None:
        sends = [send for send in self._turn if not send.answer.done()]
        self._turn = []
        for start in range(0, len(sends), MAX_MESSAGES_PER_CALL):
            batch = sends[start : start + MAX_MESSAGES_PER_CALL]
            self._sizes.observe(len(batch))
            call = asyncio.get_running_loop().create_task(self._call(batch), name="sender-call")
            self._calls.add(call)
            call.add_done_callback(self._calls.discard)
            _cancel_when_abandoned(call, batch)

    async def _call(self, batch: Sequence[_Send]) -> None:
        try:
            if len(batch) == 1 or not self.streaming:
                await asyncio.gather(*(self._unary(send) for send in batch))
            else:
                await self._stream(batch)
            return
        except grpc.aio.AioRpcError as exc:
            error = SenderCallError(exc.code(), exc.details() or "")
        except asyncio.CancelledError:
            _fail(batch, SenderCallError(grpc.StatusCode.CANCELLED, "the call to the sender was cancelled"))
            raise
        except Exception as exc:  # a bug: its sends must not wait forever all the same
            log.exception("call to the sender failed")
            error = SenderCallError(grpc.StatusCode.UNKNOWN, repr(exc))
        _fail(batch, error)

    async def _unary(self, send: _Send) -> None:
        metadata = (("x-request-id", send.request_id),) if send.request_id else ()
        try:
            response = await self.stub.SendMessage(
                send.request, timeout=self.timeout_seconds, metadata=metadata
            )
        except grpc.aio.AioRpcError as exc:
            _fail([send], SenderCallError(exc.code(), exc.details() or ""))
            return
        if not send.answer.done():
            send.answer.set_result(response)

    async def _stream(self, batch: Sequence[_Send]) -> None:
        call = self.stub.SendMessages(
            sender_pb2.SendMessagesRequest(
                messages=[send.request for send in batch],
                request_ids=[send.request_id for send in batch],
            ),
            timeout=self.timeout_seconds,
        )
        answered = 0
        try:
            async for result in call:
                answered += 1
                if result.index >= len(batch):
                    continue  # not one of ours: the sender is confused, the rest still counts
                answer = batch[result.index].answer
                if answer.done():
                    continue
                if result.HasField("response"):
                    answer.set_result(result.response)
                else:
                    answer.set_exception(
                        SenderCallError(grpc.StatusCode.INVALID_ARGUMENT, result.invalid_argument)
                    )
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.UNIMPLEMENTED and answered == 0:
                self.streaming = False  # an older sender: one call per send from now on
                await asyncio.gather(*(self._unary(send) for send in batch))
                return
            raise
        _fail(batch, SenderCallError(grpc.StatusCode.INTERNAL, "the sender's stream ended without a result"))

    async def close(self) -> None:
        """Cancels the calls in flight (their senders are gone)."""
        for call in self._calls:
            call.cancel()
        await asyncio.gather(*self._calls, return_exceptions=True)


def _cancel_when_abandoned(call: asyncio.Task[None], batch: Sequence[_Send]) -> None:
    """Once nobody waits for any send of the call, the call goes too."""
    waiting = len(batch)

    def abandoned(_: asyncio.Future[sender_pb2.SendMessageResponse]) -> None:
        nonlocal waiting
        waiting -= 1
        if waiting == 0:
            call.cancel()

    for send in batch:
        send.answer.add_done_callback(abandoned)


def _fail(sends: Sequence[_Send], error: SenderCallError) -> None:
    for send in sends:
        if not send.answer.done():
            send.answer.set_exception(error)
