"""A synchronous send in one call: store the message, wait for its pacing slot, call the
sender, record the outcome.

The gateway makes one gRPC call per send instead of three; this service, which owns the
message row, holds the WhatsApp call in between (as the outbox does for queued ones).
"""

import asyncio
import functools
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Concatenate, ParamSpec
from uuid import UUID

from services.conversations.domain.errors import OutcomeUnknown
from services.conversations.domain.model import Accepted, Content, Message, MessageStatus, OutgoingMessage
from services.conversations.use_cases.outbound import OutboundMessages
from services.conversations.use_cases.outcomes import OUTCOME_WRITE_MARGIN_SECONDS, Outcomes, retried_until
from services.conversations.use_cases.ports import SenderPort
from services.shared.whatsapp_errors import Failure

log = logging.getLogger(__name__)

# The answer goes this long before the caller's deadline, so that it arrives in time.
ANSWER_MARGIN_SECONDS = 0.1


@dataclass(frozen=True)
class SendNowResult:
    message: Message
    replayed: bool
    # Unset when sent, or when refused before any call (the message says why).
    failure: Failure | None
    store_ms: float
    whatsapp_ms: float
    record_ms: float


P = ParamSpec("P")


def _runs_to_the_end(
    method: Callable[Concatenate["SendNow", P], Coroutine[Any, Any, SendNowResult]],
) -> Callable[Concatenate["SendNow", P], Coroutine[Any, Any, SendNowResult]]:
    """Runs the send in a task of its own, which a caller that goes away (its deadline, a
    gateway's batch call cancelled) does not stop halfway: a row stored as `sending` is sent
    now and its outcome recorded. Stopped, it would be left for the outbox to send once its
    lease ran out, maybe a second time if WhatsApp already had it."""

    @functools.wraps(method)
    async def to_the_end(self: "SendNow", *args: P.args, **kwargs: P.kwargs) -> SendNowResult:
        send = asyncio.ensure_future(method(self, *args, **kwargs))
        self._track(send)
        return await asyncio.shield(send)

    return to_the_end


class SendNow:
    def __init__(self, outbound: OutboundMessages, outcomes: Outcomes, sender: SenderPort) -> None:
        self.outbound = outbound
        self.outcomes = outcomes
        self.sender = sender
        # The sends in flight, and outcome writes still retried after their send answered.
        self._sends: set[asyncio.Future[Any]] = set()

    def _track(self, work: asyncio.Future[Any]) -> None:
        self._sends.add(work)
        work.add_done_callback(self._finished)

    def _finished(self, send: asyncio.Future[Any]) -> None:
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
        account_id: UUID,
        conversation_id: UUID | None,
        to: str,
        content: Content,
        idempotency_key: str,
        request_hash: bytes,
        request_id: str = "",
        answer_within: float | None = None,
    ) -> SendNowResult:
        """`answer_within`: the caller's deadline (seconds), if it has one."""
        loop = asyncio.get_running_loop()
        # The lease starts with the insert: once it ends, the outbox may send the message.
        give_up_writing_at = (
            loop.time() + self.outbound.policy.sync_lease_seconds - OUTCOME_WRITE_MARGIN_SECONDS
        )
        answer_by = (
            give_up_writing_at
            if answer_within is None
            else loop.time() + answer_within - ANSWER_MARGIN_SECONDS
        )
        started = time.perf_counter()
        created = await self.outbound.create(
            account_id,
            conversation_id,
            to,
            content,
            idempotency_key=idempotency_key,
            request_hash=request_hash,
        )
        message, target = created.message, created.target
        store_ms = (time.perf_counter() - started) * 1000
        if created.replayed or message.status != MessageStatus.SENDING:
            # The original (WhatsApp is not called again), or refused before any call.
            return SendNowResult(message, created.replayed, None, store_ms, 0.0, 0.0)
        called = time.perf_counter()
        if target.send_delay_seconds > 0:
            # The account's pacing slot: with the outbox's sends, it stays under its rate.
            await asyncio.sleep(target.send_delay_seconds)
        answer = await self.sender.send(
            OutgoingMessage(
                target.phone_number_id,
                target.access_token,
                target.to,
                content,
                message.id,
                account_id,
                recipient_user_id=target.recipient_user_id,
            ),
            request_id,
        )
        answered = time.perf_counter()
        # Retried while the database is away, until the lease ends; the caller gets its answer
        # by its deadline meanwhile. WhatsApp may have the message: "retry later" would have
        # the client send it again, and a row left `sending` the outbox too.
        write = asyncio.ensure_future(
            retried_until(give_up_writing_at, lambda: self._record(account_id, message, answer))
        )
        self._track(write)
        done, _ = await asyncio.wait({write}, timeout=max(0.0, answer_by - loop.time()))
        if not done or write.exception() is not None:
            # Its caller may be gone: this is the only trace.
            log.error(
                "a sync send's outcome could not be recorded in time",
                extra={
                    "message_id": str(message.id),
                    "error": repr(write.exception()) if done else "still retrying",
                },
            )
            raise OutcomeUnknown(
                f"message {message.id} was sent to WhatsApp, but its outcome could not be stored"
            )
        recorded = write.result()
        if recorded is None:
            raise await self.outcomes.not_recorded(account_id, message.id)
        # WhatsApp's own status came first: it has the message after all.
        failure = None if isinstance(answer, Accepted) or recorded.status != MessageStatus.FAILED else answer
        record_ms = (time.perf_counter() - answered) * 1000
        return SendNowResult(recorded, False, failure, store_ms, (answered - called) * 1000, record_ms)

    async def _record(self, account_id: UUID, message: Message, answer: Accepted | Failure) -> Message | None:
        if isinstance(answer, Accepted):
            return await self.outcomes.record_sent(account_id, message.id, answer.wa_message_id)
        return await self.outcomes.record_failed(account_id, message.id, answer.code, answer.message)
