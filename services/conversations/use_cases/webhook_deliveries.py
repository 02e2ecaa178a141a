"""One claimed endpoint's deliveries: its events after the cursor, in rounds, until it has
caught up (and no new event came for a moment), an attempt failed, or the worker stops.

A round reads up to ROUND_EVENTS events, skips those the endpoint does not take, and
delivers the others in lanes, one per conversation: lanes run side by side (at most
`parallelism` requests in flight), a lane's events one after another, so a conversation's
events arrive in order. The first failure stops every lane from starting another event;
what was delivered is recorded (the cursor, and the ids done beyond it), and the endpoint is
due again after a backoff. The next run starts again from the cursor: the failed event is
tried again before anything after it in its conversation. While a round runs, its lease is
renewed; a run whose claim no longer holds (the endpoint changed, or was taken over) stops.
A round's progress and attempts are recorded by one statement; under a steady flow a run
waits ROUND_LINGER_SECONDS after a round that was not full, so that rounds hold more events
(docs/benchmarks.md, "Outbound webhooks").
"""

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from uuid import UUID

from services.conversations.domain.webhook_endpoints import (
    Attempt,
    AttemptResult,
    ClaimedEndpoint,
    DisabledReason,
    PendingEvent,
    Progress,
    RetrySchedule,
    Verdict,
    delivery_body,
    lanes,
    signed_headers,
    takes,
    webhook_id,
)
from services.conversations.metrics import OUTBOUND_WEBHOOK_ATTEMPTS, OUTBOUND_WEBHOOK_DISABLED
from services.conversations.settings import OutboundWebhookSettings
from services.conversations.use_cases.webhook_ports import WebhookDeliveryQueuePort, WebhookHttpPort

log = logging.getLogger(__name__)

ROUND_EVENTS = 256
RELEASE_ON_CANCEL_SECONDS = 1.0
# After a round that was not full, this long before reading the next (see `deliver`).
ROUND_LINGER_SECONDS = 0.025


class ClaimLost(Exception):
    """The endpoint changed through the API, or another worker took it over."""


@dataclass
class Round:
    attempts: list[Attempt] = field(default_factory=list)
    # The first failed attempt's result (a 410 over any other).
    failure: AttemptResult | None = None


class EndpointDeliveries:
    def __init__(
        self,
        queue: WebhookDeliveryQueuePort,
        http: WebhookHttpPort,
        settings: OutboundWebhookSettings,
        owner: UUID,
        rng: random.Random | None = None,
    ) -> None:
        self.queue = queue
        self.http = http
        self.settings = settings
        self.owner = owner
        self.schedule = RetrySchedule(
            settings.retry_base_seconds, settings.retry_max_seconds, settings.retry_window_seconds
        )
        self.rng = rng or random.Random()

    async def run(
        self,
        claim: ClaimedEndpoint,
        more_events: Callable[[], Awaitable[bool]],
        stopping: Callable[[], bool] = lambda: False,
    ) -> None:
        """Delivers until done; `more_events` waits a moment for new events of the account and
        says whether to look again (False: release the endpoint). Once `stopping` (shutdown),
        no attempt starts: those in flight end, then the progress is recorded and the endpoint
        released, for another replica to go on at once."""
        run = _Run(self, claim, stopping)
        heartbeat = asyncio.create_task(run.keep_lease())
        try:
            await run.deliver(more_events)
        except ClaimLost:
            pass
        except asyncio.CancelledError:
            # Cut short past the grace period: keep what was delivered and let the endpoint go,
            # if the database answers at once (else its lease brings it back).
            with contextlib.suppress(Exception):
                await asyncio.wait_for(run.record(release=True), RELEASE_ON_CANCEL_SECONDS)
            raise
        finally:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat

    async def attempt(self, claim: ClaimedEndpoint, event: PendingEvent) -> tuple[Attempt, AttemptResult]:
        body = delivery_body(event.type, event.created_at, event.data_json)
        message_id = webhook_id(claim.id, event.id)
        attempted_at = datetime.now(UTC)
        result = await self.http.post(
            claim.url, body, signed_headers(claim.secrets, message_id, int(time.time()), body)
        )
        verdict = result.verdict
        OUTBOUND_WEBHOOK_ATTEMPTS.labels(verdict.value).inc()
        attempt = Attempt(
            event.id,
            event.type,
            message_id,
            attempted_at,
            result.http_status,
            result.latency_ms,
            result.error,
            verdict == Verdict.DELIVERED,
        )
        return attempt, result


class _Run:
    """The state of one run: the claim, the progress, the failures in a row."""

    def __init__(
        self, deliveries: EndpointDeliveries, claim: ClaimedEndpoint, stopping: Callable[[], bool]
    ) -> None:
        self.d = deliveries
        self.claim = claim
        self.stopping = stopping
        self.progress = Progress(claim.last_event_id, set(claim.done_ids))
        self.failures = claim.failures
        # When the failures in a row began, on this clock; None while there are none.
        self.failing_since = time.monotonic() - claim.failing_for_seconds if claim.failures else None
        # Set when a lease renewal found the claim gone: no new attempt starts.
        self.lost = False

    async def deliver(self, more_events: Callable[[], Awaitable[bool]]) -> None:
        while not self.lost:
            if self.stopping():
                await self.record(release=True)
                return
            events = await self.d.queue.events_after(
                self.claim.account_id, self.progress.cursor, ROUND_EVENTS
            )
            if not events:
                if await more_events():
                    continue
                await self.record(release=True)
                return
            round_ = await self.deliver_round(events)
            if round_.failure is None:
                self.failures, self.failing_since = 0, None
                await self.record(release=False, attempts=round_.attempts)
                if len(events) < ROUND_EVENTS:
                    # Under a steady flow, each commit wakes the run: a moment's wait makes
                    # the next round fuller, and its statements are shared by more events.
                    await asyncio.sleep(ROUND_LINGER_SECONDS)
                continue
            await self.failed(round_.failure, round_.attempts)
            return

    async def deliver_round(self, events: Sequence[PendingEvent]) -> Round:
        progress, claim = self.progress, self.claim
        wanted: list[PendingEvent] = []
        for event in events:
            if progress.is_done(event.id):
                continue
            if takes(claim.event_types, event.type):
                wanted.append(event)
            else:
                progress.mark_done(event.id)
        round_ = Round()
        in_flight = asyncio.Semaphore(self.d.settings.parallelism)

        async def lane(lane_events: list[PendingEvent]) -> None:
            for event in lane_events:
                async with in_flight:
                    if round_.failure is not None or self.lost or self.stopping():
                        return
                    attempt, result = await self.d.attempt(claim, event)
                round_.attempts.append(attempt)
                if attempt.succeeded:
                    progress.mark_done(event.id)
                    continue
                if round_.failure is None or result.verdict == Verdict.GONE:
                    round_.failure = result
                return

        await asyncio.gather(*(lane(events) for events in lanes(wanted)))
        progress.advance([event.id for event in events])
        return round_

    async def failed(self, failure: AttemptResult, attempts: Sequence[Attempt]) -> None:
        self.failures += 1
        if self.failing_since is None:
            self.failing_since = time.monotonic()
        failing_for = time.monotonic() - self.failing_since
        delay = self.d.schedule.delay(self.failures, failure.retry_after_seconds, self.d.rng)
        await self.record(release=True, delay_seconds=delay, attempts=attempts)
        reason = None
        if failure.verdict == Verdict.GONE:
            reason = DisabledReason.GONE
        elif self.d.schedule.gives_up(failing_for):
            reason = DisabledReason.FAILING
        if reason is not None and await self.d.queue.disable(self.claim, reason.value):
            OUTBOUND_WEBHOOK_DISABLED.labels(reason.value).inc()

    async def record(
        self, release: bool, delay_seconds: float = 0.0, attempts: Sequence[Attempt] = ()
    ) -> None:
        """Records the progress (and the round's attempts); raises ClaimLost if the claim no
        longer holds."""
        held = await self.d.queue.record_progress(
            self.claim,
            self.d.owner,
            self.progress.cursor,
            self.progress.done_ids(),
            self.failures,
            delay_seconds,
            self.d.settings.lease_seconds,
            release,
            attempts,
        )
        if not held:
            raise ClaimLost

    async def keep_lease(self) -> None:
        """Renews the lease (with the progress so far) while a long round runs."""
        while True:
            await asyncio.sleep(self.d.settings.lease_seconds / 3)
            try:
                await self.record(release=False)
            except ClaimLost:
                self.lost = True
                return
            except Exception:
                # The database may be restarting: the round goes on, the next renewal may pass.
                log.warning("renewing a webhook endpoint's lease failed", exc_info=True)
