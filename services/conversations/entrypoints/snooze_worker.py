"""The reopening job: every second, snoozed conversations whose time passed are stored open,
in batches, each with its conversation.updated (`changes`: status from "snoozed"). Reads show
them open from the moment their time passes (pigeon_conversation_status); this makes it so in
the rows, the status filter and the event log. Every replica runs it: a row one is reopening
is skipped by the others."""

import asyncio
import contextlib
import logging

from services.conversations.use_cases.inbox import Inbox

log = logging.getLogger(__name__)

POLL_SECONDS = 1.0
BATCH = 200


class SnoozeWorker:
    def __init__(self, inbox: Inbox) -> None:
        self.inbox = inbox
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="snooze-reopen")

    async def stop(self) -> None:
        """Stops at once: a batch cut short is rolled back and reopened on the next turn."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            try:
                while await self.inbox.reopen_due(BATCH) == BATCH:
                    pass
            except Exception as exc:
                log.warning("reopening snoozed conversations failed", extra={"error": repr(exc)})
            await asyncio.sleep(POLL_SECONDS)
