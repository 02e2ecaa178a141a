"""Synchronous sends in one call: store the message, call the sender, record the outcome.

The gateway makes one gRPC call per send instead of three; this service, which owns
the message row, holds the WhatsApp call in between (as the outbox does for queued ones).
"""

import asyncio
import functools
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Concatenate, ParamSpec

import grpc
from pigeon.messages.v1 import content_pb2
from pigeon.sender.v1 import sender_pb2

from services.conversations.domain import Content, Message, MessageStatus
from services.conversations.inbox import ADVANCED, Inbox
from services.conversations.sender_client import SENDER_REFUSED_CODE, SenderCallError, SenderClient

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DirectSendResult:
    message: Message
    replayed: bool
    # Unset when sent, or when refused before any call (the message says why).
    failure: sender_pb2.Failure | None
    store_ms: float
    whatsapp_ms: float
    record_ms: float


def sender_call_failure(error: SenderCallError) -> sender_pb2.Failure:
    """The sender itself failed: after a deadline WhatsApp may have the message anyway."""
    if error.refusal is not None:
        return sender_pb2.Failure(
            failure_class=sender_pb2.FAILURE_CLASS_PERMANENT, code=SENDER_REFUSED_CODE, message=error.refusal
        )
    if error.code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return sender_pb2.Failure(
            failure_class=sender_pb2.FAILURE_CLASS_RETRYABLE,
            kind=sender_pb2.FAILURE_KIND_TIMEOUT,
            code="timeout",
            message="the sender did not answer before the deadline",
        )
    return sender_pb2.Failure(
        failure_class=sender_pb2.FAILURE_CLASS_RETRYABLE,
        kind=sender_pb2.FAILURE_KIND_CONNECTION,
        code="sender_unavailable",
        message=f"the sender service failed: {error.code.name}",
    )


P = ParamSpec("P")


def _runs_to_the_end(
    method: Callable[Concatenate["DirectSender", P], Coroutine[Any, Any, DirectSendResult]],
) -> Callable[Concatenate["DirectSender", P], Coroutine[Any, Any, DirectSendResult]]:
    """Runs the send in a task of its own, which a caller that goes away (its deadline, a
    gateway's batch call cancelled) does not stop halfway: a row stored as `sending` is sent
    now and its outcome recorded. Stopped, it would be left for the outbox to send once its
    lease ran out, maybe a second time if WhatsApp already had it."""

    @functools.wraps(method)
    async def to_the_end(self: "DirectSender", *args: P.args, **kwargs: P.kwargs) -> DirectSendResult:
        send = asyncio.ensure_future(method(self, *args, **kwargs))
        self._sends.add(send)
        send.add_done_callback(self._finished)
        return await asyncio.shield(send)

    return to_the_end


class DirectSender:
    def __init__(self, inbox: Inbox, sender: SenderClient) -> None:
        self.inbox = inbox
        self.sender = sender
        self._sends: set[asyncio.Future[DirectSendResult]] = set()

    def _finished(self, send: asyncio.Future[DirectSendResult]) -> None:
        self._sends.discard(send)
        if not send.cancelled():
            send.exception()  # read: its caller may be gone, and `send` logged what matters

    async def drain(self, timeout_seconds: float) -> None:
        """Waits (at most `timeout_seconds`) for the sends in flight to record their outcomes:
        at shutdown, before the sender and the database go away."""
        if self._sends:
            await asyncio.wait(list(self._sends), timeout=timeout_seconds)

    @_runs_to_the_end
    async def send(
        self,
        account_id: str,
        conversation_id: str,
        to: str,
        content: Content,
        idempotency_key: str,
        request_hash: bytes,
        request_id: str = "",
    ) -> DirectSendResult:
        started = time.perf_counter()
        message, target, replayed = await self.inbox.create_outbound(
            account_id,
            conversation_id,
            to,
            content,
            idempotency_key=idempotency_key,
            request_hash=request_hash,
        )
        stored = time.perf_counter()
        store_ms = (stored - started) * 1000
        if replayed or message.status != MessageStatus.SENDING:
            # The original (WhatsApp is not called again), or refused before any call.
            return DirectSendResult(message, replayed, None, store_ms, 0.0, 0.0)
        request = sender_pb2.SendMessageRequest(
            phone_number_id=target.phone_number_id,
            access_token=target.access_token,
            to=target.to,
            content=content_pb2.Content(
                type=content.type,
                body_json=content.body_json,
                reply_to_wa_message_id=content.reply_to_wa_message_id,
            ),
            biz_opaque_callback_data=str(message.id),
        )
        try:
            recorded, failure, whatsapp_ms, record_ms = await self._deliver(
                account_id, message, request, request_id, target.send_delay_seconds
            )
        except Exception as exc:
            # Its caller may be gone: this is the only trace (the outbox takes the row over).
            log.error(
                "a sync send's outcome could not be recorded",
                extra={"message_id": str(message.id), "error": repr(exc)},
            )
            raise
        return DirectSendResult(recorded, False, failure, store_ms, whatsapp_ms, record_ms)

    async def _deliver(
        self,
        account_id: str,
        message: Message,
        request: sender_pb2.SendMessageRequest,
        request_id: str,
        send_delay_seconds: float,
    ) -> tuple[Message, sender_pb2.Failure | None, float, float]:
        """Waits for the message's pacing slot, calls WhatsApp and records the outcome: the
        message as recorded, the failure, and the milliseconds of each step."""
        started = time.perf_counter()
        if send_delay_seconds > 0:
            # The account's pacing slot: with the outbox's sends, it stays under its rate.
            await asyncio.sleep(send_delay_seconds)
        failure: sender_pb2.Failure | None
        try:
            response = await self.sender.send(request, request_id)
        except SenderCallError as exc:
            failure = sender_call_failure(exc)
        else:
            failure = response.failure if response.HasField("failure") else None
        called = time.perf_counter()
        if failure is None:
            recorded = await self.inbox.record_sent(
                account_id, str(message.id), response.accepted.wa_message_id
            )
        else:
            recorded = await self.inbox.record_failed(
                account_id, str(message.id), failure.code, failure.message
            )
            if recorded.status in ADVANCED:
                failure = None  # WhatsApp's own status came first: it has the message after all
        return recorded, failure, (called - started) * 1000, (time.perf_counter() - called) * 1000
