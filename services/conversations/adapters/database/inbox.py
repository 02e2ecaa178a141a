"""The team inbox's statements (`inbox.sql`): a conversation's inbox state changed under its
row lock, with its event; the reopening of snoozes that ran out; internal notes."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from uuid import UUID

import asyncpg
import orjson

from services.conversations.adapters.database import rows
from services.conversations.adapters.database.pool import StatementPool, Transaction
from services.conversations.adapters.database.queries import Queries
from services.conversations.domain.inbox import Changes, InboxState, Note, Versioned
from services.conversations.domain.model import Page
from services.shared.vocabulary import CONVERSATION_UPDATED

SQL = Queries("inbox.sql")


def _note(row: asyncpg.Record) -> Note:
    return Note(row["id"], row["conversation_id"], row["author"], row["body"], row["created_at"])


class InboxTransaction:
    def __init__(self, transaction: Transaction) -> None:
        self.transaction = transaction

    async def lock(self, account_id: UUID, conversation_id: UUID) -> Versioned | None:
        found = await self.transaction.run(
            SQL.lock_inbox_state, account_id=account_id, conversation_id=conversation_id
        )
        if not found:
            return None
        row = found[0]
        state = InboxState(row["status"], row["snoozed_until"], row["assignee"], tuple(row["labels"]))
        return Versioned(state, row["version"])

    async def save(
        self, account_id: UUID, conversation_id: UUID, state: InboxState, changes: Changes
    ) -> None:
        await self.transaction.run(
            SQL.save_inbox_state,
            account_id=account_id,
            conversation_id=conversation_id,
            status=state.status,
            snoozed_until=state.snoozed_until,
            assignee=state.assignee,
            labels=list(state.labels),
            changes=orjson.dumps(changes).decode(),
            event_type=CONVERSATION_UPDATED,
        )


class InboxStore:
    def __init__(self, pool: StatementPool) -> None:
        self.pool = pool

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[InboxTransaction]:
        async with self.pool.transaction() as transaction:
            yield InboxTransaction(transaction)

    async def reopen_snoozed(self, limit: int) -> int:
        found = await self.pool.run(SQL.reopen_snoozed, limit=limit, event_type=CONVERSATION_UPDATED)
        return int(found[0]["reopened"])

    async def add_note(self, account_id: UUID, conversation_id: UUID, author: str, body: str) -> Note | None:
        found = await self.pool.run(
            SQL.add_note, account_id=account_id, conversation_id=conversation_id, author=author, body=body
        )
        return _note(found[0]) if found else None

    async def list_notes(
        self, account_id: UUID, conversation_id: UUID, limit: int, page: Page | None
    ) -> list[Note]:
        found = await self.pool.run(
            SQL.list_notes,
            account_id=account_id,
            conversation_id=conversation_id,
            limit=limit,
            **rows.after(page),
        )
        return [_note(row) for row in found]
