"""Live events of an account: the stored backlog, then new ones as they commit.

Event ids are per account and taken under a lock held until commit (pigeon_append_events),
so they become visible in id order: reading `id > last seen` after every wake-up
never skips one and never repeats one.

The backlog after a `since` and each wake-up's news are read a page at a time, bounded in
events and in bytes: a watch holds one page while its client takes it (gRPC flow control
holds the watch back meanwhile), however long the gap and however large the events.
Retention deletes an account's oldest events (a prefix of its log); a watch from before the
oldest one kept is refused rather than silently skipping.
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from uuid import UUID

from services.conversations.domain.errors import EventsGone
from services.conversations.domain.model import StoredEvent
from services.conversations.use_cases.ports import EventLogPort, NotificationsPort

EVENTS_CHANNEL = "pigeon_events"
# A page: at most this many events, and no more after their data reaches PAGE_BYTES.
PAGE_EVENTS = 200
PAGE_BYTES = 256 * 1024
# Re-read even without a notification, in case one was lost.
IDLE_RECHECK_SECONDS = 15.0


class EventHub:
    def __init__(self, store: EventLogPort, listener: NotificationsPort) -> None:
        self.store = store
        self._watchers: dict[UUID, set[asyncio.Event]] = {}
        self._closed = False
        listener.subscribe(EVENTS_CHANNEL, self._on_notify)
        listener.on_reconnect(self._wake_all)

    def _on_notify(self, payload: str) -> None:
        with contextlib.suppress(ValueError):
            for wake in self._watchers.get(UUID(payload), ()):
                wake.set()

    def _wake_all(self) -> None:
        for watchers in self._watchers.values():
            for wake in watchers:
                wake.set()

    def close(self) -> None:
        """Ends every watch (at shutdown); clients resume elsewhere from their last id."""
        self._closed = True
        self._wake_all()

    async def watch(self, account_id: UUID, after_id: int) -> AsyncIterator[StoredEvent]:
        wake = asyncio.Event()
        # Registered before the first read: a commit during the read still wakes us.
        self._watchers.setdefault(account_id, set()).add(wake)
        try:
            # A negative id means "from now on": only events committed after this point; 0,
            # from the oldest kept.
            last_id = after_id if after_id >= 0 else await self.store.last_event_id(account_id)
            if after_id > 0:
                # Retention deleted what a resume asked for: a stream that skipped it would look whole.
                first_kept_id = await self.store.first_kept_event_id(account_id)
                if after_id < first_kept_id - 1:
                    raise EventsGone(first_kept_id)
            while not self._closed:
                wake.clear()
                events = await self.store.events_after(account_id, last_id, PAGE_EVENTS, PAGE_BYTES)
                full = len(events) == PAGE_EVENTS or sum(len(e.data_json) for e in events) >= PAGE_BYTES
                for event in events:
                    if self._closed:
                        return
                    yield event
                    last_id = event.id
                del events  # not held while the next read waits
                if full:
                    continue
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), IDLE_RECHECK_SECONDS)
        finally:
            watchers = self._watchers.get(account_id)
            if watchers is not None:
                watchers.discard(wake)
                if not watchers:
                    del self._watchers[account_id]
