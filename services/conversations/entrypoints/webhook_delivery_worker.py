"""The outbound webhooks' worker loop: claims endpoints with events to deliver and runs each
(`use_cases/webhook_deliveries.py`), up to a number at once; and deletes attempts past their
retention.

Woken by `pigeon_events`, the notification every commit of events sends (its payload is the
account): it wakes the runs of that account's endpoints, and the claim loop (at most every
CLAIM_SPACING_SECONDS); so does `pigeon_webhook_endpoints`, sent with an endpoint's id when
it changed through the API (a replay, say) or was deleted, which also stops this replica's
run of it as it was. Otherwise the loop looks every POLL_SECONDS, for endpoints
whose backoff ended. A run cut short (a crash) leaves its endpoint to be claimed
again when its lease runs out; its events after the recorded cursor are then delivered
again, under the same webhook-id.
"""

import asyncio
import contextlib
import logging
from uuid import UUID

from services.conversations.domain.webhook_endpoints import ClaimedEndpoint
from services.conversations.metrics import OUTBOUND_WEBHOOK_RUNS
from services.conversations.settings import OutboundWebhookSettings
from services.conversations.use_cases.events import EVENTS_CHANNEL
from services.conversations.use_cases.ports import NotificationsPort
from services.conversations.use_cases.webhook_deliveries import EndpointDeliveries
from services.conversations.use_cases.webhook_ports import WebhookDeliveryQueuePort
from services.shared.runtime import finish_or_cancel

log = logging.getLogger(__name__)

# An endpoint changed through the API (migration 0011's trigger).
ENDPOINTS_CHANNEL = "pigeon_webhook_endpoints"
POLL_SECONDS = 1.0
CLAIM_SPACING_SECONDS = 0.05
# A run that has caught up keeps its endpoint this long, for the next events.
LINGER_SECONDS = 2.0
RETENTION_EVERY_SECONDS = 300.0
RETENTION_BATCH = 10_000


class WebhookDeliveryWorker:
    def __init__(
        self,
        queue: WebhookDeliveryQueuePort,
        deliveries: EndpointDeliveries,
        listener: NotificationsPort,
        settings: OutboundWebhookSettings,
    ) -> None:
        self.queue = queue
        self.deliveries = deliveries
        self.settings = settings
        self._wake = asyncio.Event()
        # The wake-ups of the runs waiting for an account's next events.
        self._waiting: dict[UUID, set[asyncio.Event]] = {}
        self._stopping = False
        self._runs: set[asyncio.Task[None]] = set()
        # The endpoints this replica runs, and those of them changed or deleted since claimed.
        self._running: set[UUID] = set()
        self._changed: set[UUID] = set()
        self._task: asyncio.Task[None] | None = None
        listener.subscribe(EVENTS_CHANNEL, self._on_events)
        listener.subscribe(ENDPOINTS_CHANNEL, self._on_endpoint_changed)
        listener.on_reconnect(self._wake_all)

    def _on_events(self, payload: str) -> None:
        with contextlib.suppress(ValueError):
            for wake in self._waiting.get(UUID(payload), ()):
                wake.set()
        self._wake.set()

    def _on_endpoint_changed(self, payload: str) -> None:
        with contextlib.suppress(ValueError):
            endpoint_id = UUID(payload)
            if endpoint_id in self._running:
                self._changed.add(endpoint_id)
        self._wake.set()

    def _wake_all(self) -> None:
        for waiting in self._waiting.values():
            for wake in waiting:
                wake.set()
        self._wake.set()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="webhook-delivery-worker")

    def stop_claiming(self) -> None:
        """Claims nothing more; runs start no attempt, and release their endpoints once those
        in flight end."""
        self._stopping = True
        self._wake_all()

    async def stop(self, grace_seconds: float) -> None:
        """Runs still going after the grace period are cut short (their leases bring the
        endpoints back)."""
        self.stop_claiming()
        if self._task is not None:
            await self._task
        await finish_or_cancel(self._runs, grace_seconds)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        next_retention = 0.0
        while not self._stopping:
            wait = POLL_SECONDS
            try:
                self._wake.clear()
                free = self.settings.concurrency - len(self._runs)
                if free > 0:
                    claimed = await self.queue.claim(self.deliveries.owner, free, self.settings.lease_seconds)
                    for claim in claimed:
                        task = asyncio.create_task(self._deliver(claim))
                        self._runs.add(task)
                        task.add_done_callback(self._finished)
                    OUTBOUND_WEBHOOK_RUNS.set(len(self._runs))
                if loop.time() >= next_retention:
                    next_retention = loop.time() + RETENTION_EVERY_SECONDS
                    deleted = await self.queue.delete_old_attempts(
                        self.settings.attempts_retention_seconds, RETENTION_BATCH
                    )
                    if deleted:
                        log.info("deleted webhook attempts past the retention", extra={"count": deleted})
            except Exception:
                # The database may be restarting: keep the worker alive and try again.
                log.exception("webhook delivery worker iteration failed")
            # Claims no more often than this, however many commits notify.
            await asyncio.sleep(CLAIM_SPACING_SECONDS)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), wait)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._runs.discard(task)
        OUTBOUND_WEBHOOK_RUNS.set(len(self._runs))
        self._wake.set()

    async def _deliver(self, claim: ClaimedEndpoint) -> None:
        # Registered for the whole run: events committed while it reads still wake it.
        wake = asyncio.Event()
        self._waiting.setdefault(claim.account_id, set()).add(wake)
        self._running.add(claim.id)
        self._changed.discard(claim.id)

        def stopping() -> bool:
            # Shutdown; or the endpoint changed or went: no attempt of it as it was starts.
            return self._stopping or claim.id in self._changed

        async def more_events() -> bool:
            if stopping():
                return False
            try:
                await asyncio.wait_for(wake.wait(), LINGER_SECONDS)
            except TimeoutError:
                return False
            wake.clear()
            return not stopping()

        try:
            await self.deliveries.run(claim, more_events, stopping)
        except Exception:
            # Its lease brings it back; the events after its cursor are delivered again.
            log.exception("webhook deliveries failed unexpectedly", extra={"endpoint_id": str(claim.id)})
        finally:
            self._running.discard(claim.id)
            self._changed.discard(claim.id)
            waiting = self._waiting.get(claim.account_id)
            if waiting is not None:
                waiting.discard(wake)
                if not waiting:
                    del self._waiting[claim.account_id]
