"""The retention worker's loop: a round of deletions (`use_cases/retention.py`) every
RETENTION_EVERY_SECONDS, from the start. Every replica may run it: a batch skips the rows
another replica is deleting. A round cut short by a shutdown or a database away leaves the rest
to the next one.
"""

import asyncio
import contextlib
import logging
import time

from services.conversations.metrics import RETENTION_DELETED
from services.conversations.settings import RetentionSettings
from services.conversations.use_cases.ports import RetentionStorePort
from services.conversations.use_cases.retention import Retention

log = logging.getLogger(__name__)


class RetentionWorker:
    def __init__(self, store: RetentionStorePort, settings: RetentionSettings) -> None:
        self.settings = settings
        self._stop = asyncio.Event()
        self.retention = Retention(store, settings, self._pause, self._stop.is_set)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="retention-worker")

    async def stop(self) -> None:
        """Ends after the batch in flight (one short statement)."""
        self._stop.set()
        if self._task is not None:
            await self._task

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), seconds)

    async def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                result = await self.retention.run_round()
            except Exception:
                # The database may be restarting: the next round picks up where this one ended.
                log.exception("retention round failed")
            else:
                for table, count in result.deleted.items():
                    RETENTION_DELETED.labels(table).inc(count)
                if result.deleted:
                    log.info(
                        "deleted rows past their retention",
                        extra={
                            "deleted": result.deleted,
                            "batches": result.batches,
                            "seconds": round(time.monotonic() - started, 3),
                        },
                    )
            await self._pause(self.settings.every_seconds)
