"""The outbox's worker: delivers queued messages in the background.

The message row is the job. Each replica claims due rows (FOR UPDATE SKIP LOCKED, with a
lease) and delivers each (`use_cases/delivery.py`). It wakes on NOTIFY when work is queued;
a replica that dies leaves leases that expire and are taken over by the others.
"""

import asyncio
import contextlib
import logging

from services.conversations.domain.model import ClaimedMessage
from services.conversations.domain.pacing import NO_ACCOUNT, next_claim_cursor
from services.conversations.metrics import (
    OUTBOX_CLAIMED,
    OUTBOX_DEPTH,
    OUTBOX_IN_FLIGHT,
    OUTBOX_OLDEST,
    OUTBOX_PAUSED_ACCOUNTS,
    OUTBOX_TAKEN_OVER,
)
from services.conversations.settings import OutboxSettings
from services.conversations.use_cases.delivery import OutboxDelivery
from services.conversations.use_cases.ports import NotificationsPort, OutboxPort

log = logging.getLogger(__name__)

OUTBOX_CHANNEL = "pigeon_outbox"
MAINTENANCE_EVERY_SECONDS = 1.0
# On shutdown, how long a delivery handed to the sender gets beyond the send's deadline.
OUTCOME_WAIT_SECONDS = 5.0
# After a wake-up while deliveries are in flight, wait this long so that one claim serves
# a burst of notifications.
CLAIM_COALESCE_SECONDS = 0.003


class OutboxWorker:
    def __init__(
        self,
        outbox: OutboxPort,
        delivery: OutboxDelivery,
        listener: NotificationsPort,
        settings: OutboxSettings,
    ) -> None:
        self.outbox = outbox
        self.delivery = delivery
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

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="outbox-worker")

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
                await self.outbox.release(list(waiting.values()))
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
        while not self._stopping:
            try:
                if loop.time() >= next_maintenance:
                    next_maintenance = loop.time() + MAINTENANCE_EVERY_SECONDS
                    await self._maintain()
                if self._stopping:
                    break  # the signal came during the maintenance above
                self._wake.clear()
                free = self.settings.concurrency - len(self._in_flight)
                claimed = await self._claim(free) if free > 0 else []
                if claimed and len(claimed) == free:
                    continue  # full batch: more is probably due
                wait = await self._idle_wait(claimed_some=bool(claimed))
            except Exception:
                # The database may be restarting: keep the worker alive and try again.
                log.exception("outbox iteration failed")
                wait = 1.0
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), wait)
            if self._in_flight:
                # Busy: let a burst of notifications gather into one claim. Idle: claim at
                # once, so that a lone message starts sending within milliseconds.
                await asyncio.sleep(CLAIM_COALESCE_SECONDS)

    async def _maintain(self) -> None:
        requeued = await self.outbox.requeue_expired_leases(self.settings.reconcile_seconds)
        if requeued:
            OUTBOX_TAKEN_OVER.inc(requeued)
            log.warning("took over expired claims", extra={"count": requeued})
        depth, oldest, paused = await self.outbox.queue_depth()
        OUTBOX_DEPTH.set(depth)
        OUTBOX_OLDEST.set(oldest)
        OUTBOX_PAUSED_ACCOUNTS.set(paused)

    async def _claim(self, free: int) -> list[ClaimedMessage]:
        claimed = await self.outbox.claim(
            free,
            self.settings.lease_seconds,
            self.settings.pacing_margin_seconds,
            self.settings.pacing_horizon_seconds,
            self._claim_cursor,
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
        until_due = await self.outbox.seconds_until_next_due()
        if until_due is None:
            return MAINTENANCE_EVERY_SECONDS
        return min(MAINTENANCE_EVERY_SECONDS, max(until_due, 0.02 if claimed_some else 0.05))

    async def _deliver(self, message: ClaimedMessage, claimed_at: float) -> None:
        task = asyncio.current_task()
        assert task is not None

        def handed_over() -> None:
            self._handed_over.add(task)  # type: ignore[arg-type]  # a delivery's own task

        try:
            await self.delivery.attempt(message, claimed_at, handed_over)
        except asyncio.CancelledError:
            raise
        except Exception:
            # The outcome could not be recorded (database down): the lease expires and
            # the message is tried again. WhatsApp may then get it twice (documented).
            log.exception("delivery failed", extra={"message_id": str(message.id)})
