"""The team inbox: changing a conversation's status, snooze, assignee and labels (each change
under its row lock, with a conversation.updated that says what changed), internal notes, and
reopening snoozes that ran out. The rules are domain/inbox.py's."""

from collections.abc import Callable
from datetime import UTC, datetime
from uuid import UUID

from services.conversations.domain.errors import NotFound
from services.conversations.domain.inbox import (
    Changes,
    InboxPatch,
    InboxState,
    Note,
    check_note,
    check_version,
    labelled,
    patched,
    unlabelled,
)
from services.conversations.domain.model import Page
from services.conversations.domain.pages import decode_page_token, one_page, page_limit
from services.conversations.use_cases.directory import Directory
from services.conversations.use_cases.ports import InboxStorePort

Decision = Callable[[InboxState, datetime], tuple[InboxState, Changes]]


def _now() -> datetime:
    return datetime.now(UTC)


class Inbox:
    def __init__(
        self, store: InboxStorePort, directory: Directory, clock: Callable[[], datetime] = _now
    ) -> None:
        self.store = store
        self.directory = directory
        self.clock = clock

    async def update(
        self, account_id: UUID, conversation_id: UUID, patch: InboxPatch, expected_version: int | None
    ) -> None:
        await self._change(
            account_id, conversation_id, expected_version, lambda state, now: patched(state, patch, now)
        )

    async def label(
        self, account_id: UUID, conversation_id: UUID, label: str, expected_version: int | None
    ) -> None:
        await self._change(
            account_id, conversation_id, expected_version, lambda state, _: labelled(state, label)
        )

    async def unlabel(
        self, account_id: UUID, conversation_id: UUID, label: str, expected_version: int | None
    ) -> None:
        await self._change(
            account_id, conversation_id, expected_version, lambda state, _: unlabelled(state, label)
        )

    async def _change(
        self, account_id: UUID, conversation_id: UUID, expected_version: int | None, decide: Decision
    ) -> None:
        """Decides the change on the state as locked (as of now: a snooze that ran out is open),
        refused when the conversation is no longer at `expected_version`; a change that changes
        nothing writes nothing."""
        async with self.store.transaction() as transaction:
            locked = await transaction.lock(account_id, conversation_id)
            if locked is None:
                raise NotFound(f"conversation {conversation_id} not found")
            check_version(locked.version, expected_version)
            now = self.clock()
            new, changes = decide(locked.state.as_of(now), now)
            if changes:
                await transaction.save(account_id, conversation_id, new, changes)

    async def add_note(self, account_id: UUID, conversation_id: UUID, author: str, body: str) -> Note:
        check_note(body, author)
        note = await self.store.add_note(account_id, conversation_id, author, body)
        if note is None:
            raise NotFound(f"conversation {conversation_id} not found")
        return note

    async def notes(
        self, account_id: UUID, conversation_id: UUID, page_size: int, page_token: str
    ) -> tuple[list[Note], str]:
        """A page of a conversation's notes, newest first."""
        limit = page_limit(page_size)
        page = decode_page_token(page_token)
        # The conversation must be the account's even when it has no notes.
        await self.directory.conversation(account_id, conversation_id)
        notes = await self.store.list_notes(account_id, conversation_id, limit + 1, page)
        return one_page(notes, limit, lambda n: Page(n.created_at, n.id))

    async def reopen_due(self, batch: int) -> int:
        """Reopens up to `batch` snoozed conversations whose time passed; how many."""
        return await self.store.reopen_snoozed(batch)
