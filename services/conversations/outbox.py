"""The outbox dispatcher: delivers queued messages in the background.

The message row is the job. Each replica claims due rows (FOR UPDATE SKIP LOCKED, with
a lease), waits for the account's pacing slot, calls the sender over gRPC and records
the outcome: sent, failed for good, or queued again with exponential backoff. Wakes on
NOTIFY when work is queued; a replica that dies leaves leases that expire and are
taken over by the others.
"""

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar
from uuid import UUID

from pigeon.messages.v1 import content_pb2
from pigeon.sender.v1 import sender_pb2

from services.conversations.domain import ClaimedMessage
from services.conversations.inbox import Inbox
from services.conversations.metrics import (
    OUTBOX_CLAIMED,
    OUTBOX_DEPTH,
    OUTBOX_IN_FLIGHT,
    OUTBOX_LATE_FOR_SLOT,
    OUTBOX_OLDEST,
    OUTBOX_OUTCOMES,
    OUTBOX_RETRIES,
    OUTBOX_TAKEN_OVER,
)
from services.conversations.notifications import Listener
from services.conversations.sender_client import SENDER_REFUSED_CODE, SenderCallError, SenderClient
from services.conversations.store import NO_ACCOUNT, Store

log = logging.getLogger(__name__)

Written = TypeVar("Written")

OUTBOX_CHANNEL = "pigeon_outbox"
PAIR_RATE_LIMIT_CODE = "131056"
# Meta documents about one message every 6 s to one user before 131056.
PAIR_RATE_LIMIT_PAUSE_SECONDS = 6.0
MAINTENANCE_EVERY_SECONDS = 1.0
IDEMPOTENCY_SWEEP_EVERY_SECONDS = 3600.0
# An outcome write is retried until this long before the claim's lease ends.
OUTCOME_WRITE_MARGIN_SECONDS = 1.0
# On shutdown, how long a delivery handed to the sender gets beyond the send's deadline.
OUTCOME_WAIT_SECONDS = 5.0
# After a wake-up while deliveries are in flight, wait this long so that one claim serves
# a burst of notifications.
CLAIM_COALESCE_SECONDS = 0.003


@dataclass(frozen=True)
class OutboxSettings:
    concurrency: int
    max_attempts: int
    retry_base_seconds: float
    retry_max_seconds: float
    lease_seconds: float
    send_timeout_seconds: float
    # An account's mps send slots are spread over 1 s plus this margin: room for jitter
    # between a claimed slot and the moment the request reaches WhatsApp.
    pacing_margin_seconds: float
    # How far ahead slots are handed out: bounds how long a claimed message waits.
    pacing_horizon_seconds: float
    idempotency_keep_seconds: float


def backoff_seconds(attempt: int, base: float, cap: float, retry_after: float = 0.0) -> float:
    """Exponential backoff with full jitter, never sooner than WhatsApp asked."""
    ceiling = min(cap, base * 2 ** (attempt - 1))
    return max(retry_after, random.uniform(ceiling / 2, ceiling))


def next_claim_cursor(cursor: UUID, served: set[UUID]) -> UUID:
    """Where the next claim starts: after the last account this one served, in the order it
    took them (the ids after `cursor`, then wrapping around to those up to it), so that each
    account gets its turn."""
    wrapped = [account for account in served if account <= cursor]
    return max(wrapped) if wrapped else max(served)


class Dispatcher:
    def __init__(
        self,
        store: Store,
        inbox: Inbox,
        sender: SenderClient,
        listener: Listener,
        settings: OutboxSettings,
    ) -> None:
        self.store = store
        self.inbox = inbox
        self.sender = sender
        self.settings = settings
        self._wake = asyncio.Event()
        self._stopping = False
        self._in_flight: dict[asyncio.Task[None], ClaimedMessage] = {}
        # Deliveries whose request went to the sender: WhatsApp may have it, so they run
        # to their outcome even on shutdown (released, they would be sent again).
        self._handed_over: set[asyncio.Task[None]] = set()
        self._task: asyncio.Task[None] | None = None
        self._claim_cursor = NO_ACCOUNT
        listener.subscribe(OUTBOX_CHANNEL, lambda _: self._wake.set())
        listener.on_reconnect(self._wake.set)

    @property
    def in_flight(self) -> int:
        return len(self._in_flight)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="outbox-dispatcher")

    def stop_claiming(self) -> None:
        self._stopping = True
        self._wake.set()

    async def stop(self, grace_seconds: float) -> None:
        """Stops claiming and lets deliveries in flight finish. After the grace period,
        those still waiting for their pacing slot are released; those already handed to
        the sender are awaited to their outcome."""
        self.stop_claiming()
        if self._task is not None:
            await self._task
        if self._in_flight:
            await asyncio.wait(list(self._in_flight), timeout=grace_seconds)
        waiting = {task: m for task, m in self._in_flight.items() if task not in self._handed_over}
        for task in waiting:
            task.cancel()
        if waiting:
            await asyncio.wait(list(waiting))
            try:
                await self.store.release(list(waiting.values()))
                log.info("released unfinished claims", extra={"count": len(waiting)})
            except Exception:
                # Their leases put them back; the deliveries handed over must still be awaited.
                log.exception("unfinished claims not released", extra={"count": len(waiting)})
        if self._in_flight:
            # Bounded by the send's deadline and the outcome write; a database that stays
            # away longer leaves them to the lease (and to the duplicate window).
            await asyncio.wait(
                list(self._in_flight), timeout=self.settings.send_timeout_seconds + OUTCOME_WAIT_SECONDS
            )
            if self._in_flight:
                log.warning("deliveries left to their lease", extra={"count": len(self._in_flight)})

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        next_maintenance = 0.0
        next_sweep = loop.time() + IDEMPOTENCY_SWEEP_EVERY_SECONDS
        while not self._stopping:
            try:
                if loop.time() >= next_maintenance:
                    next_maintenance = loop.time() + MAINTENANCE_EVERY_SECONDS
                    requeued = await self.store.requeue_expired_leases()
                    if requeued:
                        OUTBOX_TAKEN_OVER.inc(requeued)
                        log.warning("took over expired claims", extra={"count": requeued})
                    depth, oldest = await self.store.queue_depth()
                    OUTBOX_DEPTH.set(depth)
                    OUTBOX_OLDEST.set(oldest)
                if loop.time() >= next_sweep:
                    next_sweep = loop.time() + IDEMPOTENCY_SWEEP_EVERY_SECONDS
                    await self.store.forget_idempotency_keys(self.settings.idempotency_keep_seconds)
                if self._stopping:
                    break  # the signal came during the maintenance above
                self._wake.clear()
                free = self.settings.concurrency - len(self._in_flight)
                claimed = await self._claim(free) if free > 0 else []
                if claimed and len(claimed) == free:
                    continue  # full batch: more is probably due
                wait = await self._idle_wait(claimed_some=bool(claimed))
            except Exception:
                # The database may be restarting: keep the dispatcher alive and try again.
                log.exception("dispatcher iteration failed")
                wait = 1.0
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), wait)
            if self._in_flight:
                # Busy: let a burst of notifications gather into one claim. Idle: claim at
                # once, so that a lone message starts sending within milliseconds.
                await asyncio.sleep(CLAIM_COALESCE_SECONDS)

    async def _claim(self, free: int) -> list[ClaimedMessage]:
        claimed = await self.store.claim(
            free,
            self.settings.lease_seconds,
            self.settings.pacing_margin_seconds,
            self.settings.pacing_horizon_seconds,
            after_account=self._claim_cursor,
        )
        if claimed:
            self._claim_cursor = next_claim_cursor(self._claim_cursor, {m.account_id for m in claimed})
        answered_at = asyncio.get_running_loop().time()
        for message in claimed:
            task = asyncio.create_task(self._deliver(message, answered_at))
            self._in_flight[task] = message
            task.add_done_callback(self._finished)
        OUTBOX_CLAIMED.inc(len(claimed))
        OUTBOX_IN_FLIGHT.set(len(self._in_flight))
        return claimed

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._in_flight.pop(task, None)
        self._handed_over.discard(task)
        OUTBOX_IN_FLIGHT.set(len(self._in_flight))
        self._wake.set()

    async def _idle_wait(self, claimed_some: bool) -> float:
        """How long to sleep when no notification comes: until the next retry is due
        (pacing may have held back due work: then re-check soon), at most a second."""
        until_due = await self.store.seconds_until_next_due()
        if until_due is None:
            return MAINTENANCE_EVERY_SECONDS
        return min(MAINTENANCE_EVERY_SECONDS, max(until_due, 0.02 if claimed_some else 0.05))

    async def _deliver(self, message: ClaimedMessage, claimed_at: float) -> None:
        try:
            await self._attempt(message, claimed_at)
        except asyncio.CancelledError:
            raise
        except Exception:
            # The outcome could not be recorded (database down): the lease expires and
            # the message is tried again. WhatsApp may then get it twice (documented).
            log.exception("delivery failed", extra={"message_id": str(message.id)})

    async def _attempt(self, message: ClaimedMessage, claimed_at: float) -> None:
        """One delivery; `claimed_at` is this loop's time when the claim answered."""
        loop = asyncio.get_running_loop()
        slot = claimed_at + message.send_delay_seconds
        if slot > loop.time():
            await asyncio.sleep(slot - loop.time())
        if message.expires_in_seconds <= loop.time() - claimed_at:
            await self._fail(message, "expired", "not sent within its validity period")
            return
        if loop.time() - slot > self.settings.pacing_margin_seconds / 2:
            # This process stalled past the slot: sent now, it could bunch with the next
            # slots and exceed the account's rate. Back to the queue for a new slot.
            OUTBOX_LATE_FOR_SLOT.inc()
            await self.store.release([message])
            return
        account = await self.inbox.account(message.account_id)
        # The sender checks the slot again just before the WhatsApp call: a call held up on
        # its way (a busy sender) must not go out later than the margin allows either.
        send_by = slot + self.settings.pacing_margin_seconds * 3 / 4
        request = sender_pb2.SendMessageRequest(
            phone_number_id=account.phone_number_id,
            access_token=account.access_token,
            to=message.contact_wa_id,
            content=content_pb2.Content(
                type=message.content.type,
                body_json=message.content.body_json,
                reply_to_wa_message_id=message.content.reply_to_wa_message_id,
            ),
            biz_opaque_callback_data=str(message.id),
            not_after_unix_seconds=time.time() + (send_by - loop.time()),
        )
        self._handed_over.add(asyncio.current_task())  # type: ignore[arg-type]  # a delivery's own task
        try:
            response = await self.sender.send(request)
        except SenderCallError as exc:
            if exc.refusal is not None:
                await self._fail(message, SENDER_REFUSED_CODE, exc.refusal)
            else:
                await self._retry_or_fail(
                    message, claimed_at, f"sender_{exc.code.name.lower()}", "sender call failed"
                )
            return
        if response.HasField("accepted"):
            wa_message_id = response.accepted.wa_message_id
            # WhatsApp has it now: losing this write would send it again, so keep trying
            # while the claim lasts (a database restart, say).
            recorded = await self._while_claimed(
                claimed_at,
                lambda: self.store.record_sent(
                    message.account_id, message.id, wa_message_id, attempt=message.attempts
                ),
            )
            if recorded is None:
                recorded = await self.inbox.already_sent(message.account_id, message.id, wa_message_id)
            self._count_outcome(message, "sent", "", recorded is not None)
            return
        failure = response.failure
        if failure.kind == sender_pb2.FAILURE_KIND_LATE:
            # Not sent: a retry, with a new slot. Unlike waking late, this counts as an attempt
            # and is recorded: if it kept happening (the sender's clock ahead of this host's),
            # the message would end failed with this code, not cycle silently until it expired.
            OUTBOX_LATE_FOR_SLOT.inc()
            await self._retry_or_fail(message, claimed_at, failure.code, failure.message)
        elif failure.failure_class == sender_pb2.FAILURE_CLASS_RETRYABLE:
            retry_after = failure.retry_after_seconds
            if failure.code == PAIR_RATE_LIMIT_CODE:
                retry_after = max(retry_after, PAIR_RATE_LIMIT_PAUSE_SECONDS)
            await self._retry_or_fail(message, claimed_at, failure.code, failure.message, retry_after)
            if failure.code == PAIR_RATE_LIMIT_CODE:
                # Other messages queued for the same customer wait too.
                await self.store.pause_recipient(message.account_id, message.contact_wa_id, retry_after)
        elif failure.failure_class == sender_pb2.FAILURE_CLASS_REENGAGEMENT_REQUIRED:
            await self._fail(message, "reengagement_required", failure.message)
        else:
            await self._fail(message, failure.code, failure.message)

    async def _retry_or_fail(
        self, message: ClaimedMessage, claimed_at: float, code: str, text: str, retry_after: float = 0.0
    ) -> None:
        settings = self.settings
        delay = backoff_seconds(
            message.attempts, settings.retry_base_seconds, settings.retry_max_seconds, retry_after
        )
        elapsed = asyncio.get_running_loop().time() - claimed_at
        if message.attempts >= settings.max_attempts:
            await self._fail(message, code, f"gave up after {message.attempts} attempts: {text}")
        elif elapsed + delay >= message.expires_in_seconds:
            await self._fail(
                message, "expired", f"not sent within its validity period; last error {code}: {text}"
            )
        elif await self.store.requeue(message, delay, code, text):
            OUTBOX_RETRIES.labels(code).inc()
        else:
            self._count_outcome(message, "requeued", code, recorded=False)

    async def _fail(self, message: ClaimedMessage, code: str, text: str) -> None:
        recorded = await self.store.record_failed(
            message.account_id, message.id, code, text, attempt=message.attempts
        )
        self._count_outcome(message, "failed", code, recorded is not None)

    @staticmethod
    def _count_outcome(message: ClaimedMessage, outcome: str, code: str, recorded: bool) -> None:
        if recorded:
            OUTBOX_OUTCOMES.labels(outcome, code).inc()
            return
        # The claim was lost (its lease ran out and another replica took the message over):
        # the new owner's outcome stands. After a `sent`, WhatsApp may get the message twice.
        OUTBOX_OUTCOMES.labels("superseded", "").inc()
        log.warning(
            "outcome not recorded: the claim was taken over",
            extra={"message_id": str(message.id), "outcome": outcome, "code": code},
        )

    async def _while_claimed(self, claimed_at: float, write: Callable[[], Awaitable[Written]]) -> Written:
        """Retries a write that fails (the database is away) until shortly before the
        claim's lease ends; after that another replica may own the message."""
        loop = asyncio.get_running_loop()
        give_up_at = claimed_at + self.settings.lease_seconds - OUTCOME_WRITE_MARGIN_SECONDS
        delay = 0.1
        while True:
            try:
                return await write()
            except Exception:
                if loop.time() + delay >= give_up_at:
                    raise
                log.warning("outcome not stored yet; retrying", extra={"retry_in": delay})
                await asyncio.sleep(delay)
                delay = min(delay * 2, 1.0)
