"""Reading messages and conversations (`reads.sql`), by pages."""

from datetime import datetime
from typing import Any
from uuid import UUID

from services.conversations.adapters.database import rows
from services.conversations.adapters.database.pool import StatementPool
from services.conversations.adapters.database.queries import Queries
from services.conversations.domain.inbox import NO_INBOX_FILTER, InboxFilter
from services.conversations.domain.model import Conversation, Message, Page
from services.conversations.domain.search import MessageSearch
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

    async def search_messages(
        self, account_id: UUID, search: MessageSearch, limit: int, page: Page | None
    ) -> list[Message]:
        parameters = {
            "account_id": account_id,
            "q": search.q,
            "since": search.since,
            "limit": limit,
            **_search_before(search.until, page),
        }
        if search.conversation_id is not None:
            found = await self.pool.run(
                SQL.search_conversation_messages, conversation_id=search.conversation_id, **parameters
            )
        else:
            # A word in one message of _WALKED_PER_ROW or more fills the page from a short walk;
            # a rarer one is found by the words index (reads.sql says why).
            scan = limit * _WALKED_PER_ROW
            found = await self.pool.run(SQL.search_recent_messages, scan=scan, **parameters)
            if 0 < len(found) < limit:
                # The share of matches the walk saw says how far one would fill the page: walk
                # that far (twice, for luck) when it is near, rather than find and sort them all.
                needed = 2 * limit * scan // len(found)
                if needed <= _LONGER_WALK * scan:
                    found = await self.pool.run(SQL.search_recent_messages, scan=needed, **parameters)
            if len(found) < limit:
                found = await self.pool.run(SQL.search_messages, **parameters)
        return [rows.message(row) for row in found]

    async def get_conversation(self, account_id: UUID, conversation_id: UUID) -> Conversation | None:
        found = await self.pool.run(
            SQL.get_conversation, account_id=account_id, conversation_id=conversation_id
        )
        return rows.conversation(found[0]) if found else None

    async def list_conversations(
        self, account_id: UUID, limit: int, page: Page | None, window: WindowFilter, inbox: InboxFilter
    ) -> list[Conversation]:
        parameters = {
            "account_id": account_id,
            "limit": limit,
            "can_send_free_form": window.can_send_free_form,
            "window_expires_before": window.expires_before,
            **rows.after(page),
        }
        if inbox == NO_INBOX_FILTER and not window.bounded_below:
            found = await self.pool.run(SQL.list_conversations, **parameters)
            return [rows.conversation(row) for row in found]
        # The filter likely to keep the fewest leads, by its index (reads.sql says why).
        parameters |= {
            "status": inbox.status,
            "assignee": inbox.assignee,
            "label": inbox.label,
            "unread": inbox.unread,
        }
        lower_bound = {"window_expires_after": window.expires_after}
        if inbox.q is not None:
            query = inbox.q
            found = await self.pool.run(
                SQL.list_conversations_by_contact,
                q=query.text,
                q_wa_id=query.wa_id,
                q_user_id=query.user_id,
                **lower_bound,
                **parameters,
            )
        elif inbox.label is not None:
            found = await self.pool.run(SQL.list_conversations_by_label, **lower_bound, **parameters)
        elif window.bounded_below:
            # Many open windows fill the page from a short walk by activity; few are found by
            # their range of the window index (reads.sql says why).
            found = await self.pool.run(
                SQL.list_recent_conversations_by_window,
                scan=limit * _WALKED_PER_ROW,
                **lower_bound,
                **parameters,
            )
            if len(found) < limit:
                found = await self.pool.run(SQL.list_conversations_by_window, **lower_bound, **parameters)
        else:
            found = await self.pool.run(_ORDERED_WALK[inbox.ordered_lead], **parameters)
        return [rows.conversation(row) for row in found]


# A list that first walks an index in its own order reads at most this many rows for each one
# it returns, then asks the index that finds every match.
_WALKED_PER_ROW = 10
# A search's second walk is at most this many times its first.
_LONGER_WALK = 5
_LOWEST_UUID = UUID(int=0)


def _search_before(until: datetime | None, page: Page | None) -> dict[str, Any]:
    """A search's upper bound as a sort key (created_at, id): the page's last message or
    `until` (before any message of that time), whichever comes first."""
    bounds = [(page.after_time, page.after_id)] if page is not None else []
    if until is not None:
        bounds.append((until, _LOWEST_UUID))
    before_time, before_id = min(bounds) if bounds else (None, None)
    return {"before_time": before_time, "before_id": before_id}


# The statements that walk an index in the list's order, by the inbox filter that leads.
_ORDERED_WALK = {
    "assignee": SQL.list_conversations_by_assignee,
    "status": SQL.list_conversations_by_status,
    "unread": SQL.list_conversations_unread,
}
