"""Reading messages and conversations, one account's only, by pages."""

from uuid import UUID

from services.conversations.domain.errors import NotFound
from services.conversations.domain.inbox import NO_INBOX_FILTER, InboxFilter
from services.conversations.domain.model import Conversation, Message, Page
from services.conversations.domain.pages import decode_page_token, one_page, page_limit
from services.conversations.domain.search import MessageSearch
from services.conversations.domain.service_window import WindowFilter
from services.conversations.use_cases.directory import Directory
from services.conversations.use_cases.ports import ReadsPort


class Reading:
    def __init__(self, directory: Directory, reads: ReadsPort) -> None:
        self.directory = directory
        self.reads = reads

    async def message(self, account_id: UUID, message_id: UUID) -> Message:
        message = await self.reads.get_message(account_id, message_id)
        if message is None:
            raise NotFound(f"message {message_id} not found")
        return message

    async def messages(
        self, account_id: UUID, conversation_id: UUID, page_size: int, page_token: str
    ) -> tuple[list[Message], str]:
        limit = page_limit(page_size)
        page = decode_page_token(page_token)
        # The conversation must be the account's even when it has no messages.
        await self.directory.conversation(account_id, conversation_id)
        messages = await self.reads.list_messages(account_id, conversation_id, limit + 1, page)
        return one_page(messages, limit, lambda m: Page(m.created_at, m.id))

    async def search(
        self, account_id: UUID, search: MessageSearch, page_size: int, page_token: str
    ) -> tuple[list[Message], str]:
        """A page of the account's messages that `search` finds, newest first. A conversation of
        another account finds nothing, as one without matches does."""
        limit = page_limit(page_size)
        page = decode_page_token(page_token)
        messages = await self.reads.search_messages(account_id, search, limit + 1, page)
        return one_page(messages, limit, lambda m: Page(m.created_at, m.id))

    async def conversation(self, account_id: UUID, conversation_id: UUID) -> Conversation:
        conversation = await self.reads.get_conversation(account_id, conversation_id)
        if conversation is None:
            raise NotFound(f"conversation {conversation_id} not found")
        return conversation

    async def conversations(
        self,
        account_id: UUID,
        page_size: int,
        page_token: str,
        window: WindowFilter,
        inbox: InboxFilter = NO_INBOX_FILTER,
    ) -> tuple[list[Conversation], str]:
        """A page of the account's conversations that `window` and `inbox` keep. The filters
        are applied to each page as it is read: the token says where in the order the next page
        starts, whatever the filters, so a conversation that stopped matching in between (a
        window that closed, a status changed) drops out of the later pages, and none is listed
        twice."""
        limit = page_limit(page_size)
        page = decode_page_token(page_token)
        conversations = await self.reads.list_conversations(account_id, limit + 1, page, window, inbox)
        return one_page(conversations, limit, lambda c: Page(c.last_activity_at, c.id))
