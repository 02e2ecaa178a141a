"""The media worker's loop: claims due copies of inbound files and runs each
(`use_cases/media_copies.py`), up to a number at once; and, with a retention set, deletes the
files kept longer than it.

Woken by the `pigeon_media` notification that a new media row sends, and otherwise every
few seconds for retries that fall due. A copy cut short (a crash, a shutdown past the grace
period) keeps nothing and is due again when its claim's lease runs out.
"""

import asyncio
import contextlib
import logging

from services.conversations.domain.media import ClaimedCopy
from services.conversations.metrics import MEDIA_DELETED, MEDIA_PENDING
from services.conversations.settings import MediaSettings
from services.conversations.use_cases.media_copies import MediaCopies
from services.conversations.use_cases.media_files import MediaFiles
from services.conversations.use_cases.ports import MediaRepositoryPort, NotificationsPort
from services.shared.runtime import finish_or_cancel

log = logging.getLogger(__name__)

MEDIA_CHANNEL = "pigeon_media"
# Retries fall due without a notification: looked for this often.
POLL_SECONDS = 2.0
# Files past the retention are looked for this often (or twice per retention, if shorter).
RETENTION_EVERY_SECONDS = 300.0


class MediaWorker:
    def __init__(
        self,
        repository: MediaRepositoryPort,
        copies: MediaCopies,
        files: MediaFiles,
        listener: NotificationsPort,
        settings: MediaSettings,
    ) -> None:
        self.repository = repository
        self.copies = copies
        self.files = files
        self._retention_every = min(RETENTION_EVERY_SECONDS, settings.retention_seconds / 2)
        self.settings = settings
        self._wake = asyncio.Event()
        self._stopping = False
        self._in_flight: set[asyncio.Task[None]] = set()
        self._task: asyncio.Task[None] | None = None
        listener.subscribe(MEDIA_CHANNEL, lambda _: self._wake.set())
        listener.on_reconnect(self._wake.set)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="media-worker")

    def stop_claiming(self) -> None:
        self._stopping = True
        self._wake.set()

    async def stop(self, grace_seconds: float) -> None:
        """Stops claiming; copies still running after the grace period are cut short."""
        self.stop_claiming()
        if self._task is not None:
            await self._task
        await finish_or_cancel(self._in_flight, grace_seconds)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        next_count = 0.0
        next_retention = 0.0
        while not self._stopping:
            wait = POLL_SECONDS
            try:
                self._wake.clear()
                free = self.settings.concurrency - len(self._in_flight)
                if free > 0:
                    claimed = await self.repository.claim_copies(free, self.settings.lease_seconds)
                    for copy in claimed:
                        task = asyncio.create_task(self._copy(copy))
                        self._in_flight.add(task)
                        task.add_done_callback(self._finished)
                    if len(claimed) == free:
                        wait = 0.0  # a full batch: more is probably due
                if loop.time() >= next_count:
                    next_count = loop.time() + POLL_SECONDS
                    MEDIA_PENDING.set(await self.repository.pending_copies())
                if self.settings.retention_seconds and loop.time() >= next_retention:
                    next_retention = loop.time() + self._retention_every
                    deleted = await self.files.delete_expired(self.settings.retention_seconds)
                    if deleted:
                        MEDIA_DELETED.inc(deleted)
                        log.info("deleted media past the retention", extra={"count": deleted})
            except Exception:
                # The database may be restarting: keep the worker alive and try again.
                log.exception("media worker iteration failed")
                wait = 1.0
            if wait:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), wait)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._in_flight.discard(task)
        self._wake.set()

    async def _copy(self, copy: ClaimedCopy) -> None:
        try:
            await self.copies.copy(copy)
        except Exception:
            # Its lease brings it back.
            log.exception("media copy failed unexpectedly", extra={"media_id": str(copy.media_id)})
