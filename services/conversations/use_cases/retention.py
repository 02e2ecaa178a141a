"""Retention: deletes the rows that would otherwise grow without bound (events, webhook
notifications, statuses never matched, idempotency keys) once they are old enough.

A round deletes in batches of `batch_size` rows, each batch its own statement and
transaction, with a pause between two: the hot tables' writers never wait long for it, and a
large backlog (the first round after an upgrade, say) is worked through at a bounded pace,
each statement reading at most a batch. Events and notifications are read in key order (their
ids rise with time), each batch after the last, up to the first row within the retention: the
rows that stay are never read, and an account's events are cut as a prefix of its log.
"""

import asyncio
import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from services.conversations.domain.retention import (
    DONE_NOTIFICATION_STATES,
    FAILED_NOTIFICATION_STATES,
    Batch,
)
from services.conversations.settings import RetentionSettings
from services.conversations.use_cases.ports import RetentionStorePort

Sleep = Callable[[float], Awaitable[None]]


@dataclass
class RoundResult:
    """Rows deleted in one round, by table, and how many batches that took."""

    deleted: dict[str, int] = field(default_factory=dict)
    batches: int = 0


class Retention:
    def __init__(
        self,
        store: RetentionStorePort,
        settings: RetentionSettings,
        sleep: Sleep = asyncio.sleep,
        stopping: Callable[[], bool] = lambda: False,
    ) -> None:
        self.store = store
        self.settings = settings
        self._sleep = sleep
        self._stopping = stopping

    async def run_round(self) -> RoundResult:
        """One pass over every table; stops early (what is left waits for the next round)
        when `stopping` says so."""
        result = RoundResult()
        settings = self.settings
        for log in await self.store.event_logs(settings.events_keep_seconds):
            delete_events = functools.partial(
                self.store.delete_events,
                log,
                keep_seconds=settings.events_keep_seconds,
                batch_size=settings.batch_size,
            )
            await self._keyset(result, "events", log.oldest_id - 1, delete_events)
        for states, keep_seconds in (
            (DONE_NOTIFICATION_STATES, settings.notifications_keep_seconds),
            (FAILED_NOTIFICATION_STATES, settings.failed_notifications_keep_seconds),
        ):
            delete_notifications = functools.partial(
                self.store.delete_notifications,
                states,
                keep_seconds=keep_seconds,
                batch_size=settings.batch_size,
            )
            await self._keyset(result, "webhook_notifications", 0, delete_notifications)
        await self._until_short(
            result,
            "pending_statuses",
            lambda: self.store.delete_pending_statuses(
                settings.pending_statuses_keep_seconds, settings.batch_size
            ),
        )
        await self._until_short(
            result,
            "idempotency_keys",
            lambda: self.store.delete_idempotency_keys(
                settings.idempotency_keep_seconds, settings.batch_size
            ),
        )
        return result

    async def _keyset(
        self, result: RoundResult, table: str, after_id: int, batch: Callable[[int], Awaitable[Batch]]
    ) -> None:
        """Batches in key order, each after the last row the one before read, until one reaches
        the rows that stay."""
        while not self._stopping():
            ran = await batch(after_id)
            await self._count(result, table, ran.deleted)
            if ran.done:
                return
            after_id = ran.last_id

    async def _until_short(
        self, result: RoundResult, table: str, batch: Callable[[], Awaitable[int]]
    ) -> None:
        """Batches until one deletes fewer rows than a full batch."""
        while not self._stopping():
            count = await batch()
            await self._count(result, table, count)
            if count < self.settings.batch_size:
                return

    async def _count(self, result: RoundResult, table: str, count: int) -> None:
        result.batches += 1
        if count:
            result.deleted[table] = result.deleted.get(table, 0) + count
            await self._sleep(self.settings.pause_seconds)
