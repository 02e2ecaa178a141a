"""The template listing's loop: lists the templates of accounts whose listing is due
(`use_cases/templates.py`). Woken by the `pigeon_templates` notification (a new account, a
changed WABA id, a status-update webhook, `POST /templates/sync`), and otherwise every few
seconds for listings that fall due with time. A listing cut short is due again when its claim's
lease runs out."""

import asyncio
import contextlib
import logging

from services.conversations.use_cases.ports import NotificationsPort
from services.conversations.use_cases.templates import TEMPLATES_CHANNEL, TemplateSync

log = logging.getLogger(__name__)

POLL_SECONDS = 5.0
BATCH = 8


class TemplateSyncWorker:
    def __init__(self, sync: TemplateSync, listener: NotificationsPort) -> None:
        self.sync = sync
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        listener.subscribe(TEMPLATES_CHANNEL, lambda _: self._wake.set())
        listener.on_reconnect(self._wake.set)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="template-sync")

    async def stop(self) -> None:
        """Stops at once: a listing cut short changes nothing and is due again after its lease."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            try:
                while await self.sync.sync_due(BATCH) == BATCH:
                    pass
            except Exception as exc:
                log.warning("template listing round failed", extra={"error": repr(exc)})
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), POLL_SECONDS)
