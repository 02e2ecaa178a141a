"""Reading messages and conversations (`reads.sql`), by pages."""

from uuid import UUID

from services.conversations.adapters.database import rows
from services.conversations.adapters.database.pool import StatementPool
from services.conversations.adapters.database.queries import Queries
from services.conversations.domain.model import Conversation, Message, Page
from services.conversations.domain.service_window import WindowFilter

SQL = Queries("reads.sql")


class ReadStore:
    def __init__(self, pool: StatementPool) -> None:
        self.pool = pool

    async def get_message(self, account_id: UUID, message_id: UUID) -> Message | None:
        found = await self.pool.run(SQL.get_message, account_id=account_id, message_id=message_id)
        return rows.message(found[0]) if found else None

    async def list_messages(
        self, account_id: UUID, conversation_id: UUID, limit: int, page: Page | None
    ) -> list[Message]:
        found = await self.pool.run(
            SQL.list_messages,
            account_id=account_id,
            conversation_id=conversation_id,
            limit=limit,
            **rows.after(page),
        )
        return [rows.message(row) for row in found]

    async def get_conversation(self, account_id: UUID, conversation_id: UUID) -> Conversation | None:
        found = await self.pool.run(
            SQL.get_conversation, account_id=account_id, conversation_id=conversation_id
        )
        return rows.conversation(found[0]) if found else None

    async def list_conversations(
        self, account_id: UUID, limit: int, page: Page | None, window: WindowFilter
    ) -> list[Conversation]:
        parameters = {
            "account_id": account_id,
            "limit": limit,
            "can_send_free_form": window.can_send_free_form,
            "window_expires_before": window.expires_before,
            **rows.after(page),
        }
        if window.bounded_below:
            # Few conversations, found by the window index (reads.sql says why).
            found = await self.pool.run(
                SQL.list_conversations_by_window, window_expires_after=window.expires_after, **parameters
            )
        else:
            found = await self.pool.run(SQL.list_conversations, **parameters)
        return [rows.conversation(row) for row in found]
