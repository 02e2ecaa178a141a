"""PostgreSQL access: the only module that speaks SQL.

Every statement that touches tenant data is scoped by account_id in SQL. The engine
runs in autocommit mode: each write below is a single statement (CTEs where it
changes two tables), so it is one transaction and one round trip, with no BEGIN and
COMMIT round trips around it.
"""

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from services.conversations.domain import (
    Account,
    Content,
    Conversation,
    ConversationRef,
    Direction,
    Message,
    MessageStatus,
    Page,
)


def create_engine(database_url: str, pool_size: int) -> AsyncEngine:
    return create_async_engine(
        database_url,
        pool_size=pool_size,
        max_overflow=0,
        # A request waits at most this long for a free connection, then fails as unavailable.
        pool_timeout=5,
        pool_pre_ping=True,
        isolation_level="AUTOCOMMIT",
        connect_args={
            "timeout": 5,
            "command_timeout": 10,
            "server_settings": {"application_name": "pigeon-conversations"},
        },
    )


_MESSAGE_COLUMNS = """
    m.id, m.account_id, m.conversation_id, m.direction, m.contact_wa_id, m.type, m.body::text AS body,
    m.reply_to_wa_message_id, m.status, m.wa_message_id, m.error_code, m.error_message,
    m.created_at, m.sent_at, m.delivered_at, m.read_at, m.failed_at
"""

_CONVERSATION_COLUMNS = """
    c.id, c.account_id, k.wa_id AS contact_wa_id, k.profile_name AS contact_name, c.created_at,
    c.last_message_at, c.last_inbound_at, c.last_activity_at, c.unread_count
"""

_AUTHENTICATE = text("SELECT account_id FROM api_keys WHERE key_hash = :key_hash AND revoked_at IS NULL")

_LOAD_ACCOUNT = text(
    "SELECT id, phone_number_id, access_token, messages_per_second FROM accounts WHERE id = :account_id"
)

_LOAD_CONVERSATION_REF = text(
    """
    SELECT c.id, c.account_id, k.wa_id AS contact_wa_id, c.last_inbound_at
    FROM conversations c JOIN contacts k ON k.id = c.contact_id
    WHERE c.id = :conversation_id AND c.account_id = :account_id
    """
)

# Finds or opens the conversation with a contact in one statement. The no-op
# DO UPDATE makes RETURNING yield the existing row on conflict.
_OPEN_CONVERSATION = text(
    """
    WITH contact AS (
        INSERT INTO contacts (account_id, wa_id) VALUES (:account_id, :wa_id)
        ON CONFLICT (account_id, wa_id) DO UPDATE SET wa_id = EXCLUDED.wa_id
        RETURNING id, wa_id
    ), conversation AS (
        INSERT INTO conversations (account_id, contact_id)
        SELECT :account_id, contact.id FROM contact
        ON CONFLICT (account_id, contact_id) DO UPDATE SET contact_id = EXCLUDED.contact_id
        RETURNING id, account_id, contact_id, last_inbound_at
    )
    SELECT conversation.id, conversation.account_id, contact.wa_id AS contact_wa_id,
           conversation.last_inbound_at
    FROM conversation JOIN contact ON contact.id = conversation.contact_id
    """
)

# Stores the message and moves the conversation's activity in one statement: if the
# conversation is not the account's, nothing is written and no row comes back.
_INSERT_OUTBOUND = text(
    f"""
    WITH c AS (
        UPDATE conversations
        SET last_message_at = now(), last_activity_at = now()
        WHERE id = :conversation_id AND account_id = :account_id
        RETURNING id
    ), m AS (
        INSERT INTO messages (account_id, conversation_id, direction, contact_wa_id, type, body,
                              reply_to_wa_message_id, status)
        SELECT :account_id, c.id, 'outbound', :contact_wa_id, :type, CAST(:body AS jsonb),
               :reply_to, :status
        FROM c
        RETURNING *
    )
    SELECT {_MESSAGE_COLUMNS} FROM m
    """
)

_RECORD_SENT = text(
    f"""
    WITH m AS (
        UPDATE messages
        SET status = 'sent', wa_message_id = :wa_message_id, sent_at = now(), updated_at = now()
        WHERE id = :message_id AND account_id = :account_id AND status = 'sending'
        RETURNING *
    )
    SELECT {_MESSAGE_COLUMNS} FROM m
    """
)

_RECORD_FAILED = text(
    f"""
    WITH m AS (
        UPDATE messages
        SET status = 'failed', error_code = :error_code, error_message = :error_message,
            failed_at = now(), updated_at = now()
        WHERE id = :message_id AND account_id = :account_id AND status = 'sending'
        RETURNING *
    )
    SELECT {_MESSAGE_COLUMNS} FROM m
    """
)

_GET_MESSAGE = text(
    f"SELECT {_MESSAGE_COLUMNS} FROM messages m WHERE m.id = :message_id AND m.account_id = :account_id"
)

_LIST_MESSAGES = text(
    f"""
    SELECT {_MESSAGE_COLUMNS} FROM messages m
    WHERE m.conversation_id = :conversation_id AND m.account_id = :account_id
      AND (CAST(:after_time AS timestamptz) IS NULL
           OR (m.created_at, m.id) < (CAST(:after_time AS timestamptz), CAST(:after_id AS uuid)))
    ORDER BY m.created_at DESC, m.id DESC
    LIMIT :limit
    """
)

_GET_CONVERSATION = text(
    f"""
    SELECT {_CONVERSATION_COLUMNS}
    FROM conversations c JOIN contacts k ON k.id = c.contact_id
    WHERE c.id = :conversation_id AND c.account_id = :account_id
    """
)

_LIST_CONVERSATIONS = text(
    f"""
    SELECT {_CONVERSATION_COLUMNS}
    FROM conversations c JOIN contacts k ON k.id = c.contact_id
    WHERE c.account_id = :account_id
      AND (CAST(:after_time AS timestamptz) IS NULL
           OR (c.last_activity_at, c.id) < (CAST(:after_time AS timestamptz), CAST(:after_id AS uuid)))
    ORDER BY c.last_activity_at DESC, c.id DESC
    LIMIT :limit
    """
)


def _message(row: Row[Any]) -> Message:
    return Message(
        id=row.id,
        account_id=row.account_id,
        conversation_id=row.conversation_id,
        direction=Direction(row.direction),
        contact_wa_id=row.contact_wa_id,
        content=Content(row.type, row.body.encode(), row.reply_to_wa_message_id),
        status=MessageStatus(row.status),
        wa_message_id=row.wa_message_id,
        error_code=row.error_code,
        error_message=row.error_message,
        created_at=row.created_at,
        sent_at=row.sent_at,
        delivered_at=row.delivered_at,
        read_at=row.read_at,
        failed_at=row.failed_at,
    )


def _conversation(row: Row[Any]) -> Conversation:
    return Conversation(
        id=row.id,
        account_id=row.account_id,
        contact_wa_id=row.contact_wa_id,
        contact_name=row.contact_name,
        created_at=row.created_at,
        last_message_at=row.last_message_at,
        last_inbound_at=row.last_inbound_at,
        last_activity_at=row.last_activity_at,
        unread_count=row.unread_count,
    )


def _page_params(page: Page | None) -> dict[str, Any]:
    if page is None:
        return {"after_time": None, "after_id": None}
    return {"after_time": page.after_time, "after_id": page.after_id}


class Store:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def _one(self, statement: Any, **params: Any) -> Row[Any] | None:
        async with self.engine.connect() as connection:
            result = await connection.execute(statement, params)
            return result.first()

    async def _all(self, statement: Any, **params: Any) -> Sequence[Row[Any]]:
        async with self.engine.connect() as connection:
            result = await connection.execute(statement, params)
            return result.all()

    async def account_for_key_hash(self, key_hash: bytes) -> UUID | None:
        row = await self._one(_AUTHENTICATE, key_hash=key_hash)
        return None if row is None else row.account_id

    async def load_account(self, account_id: UUID) -> Account | None:
        row = await self._one(_LOAD_ACCOUNT, account_id=account_id)
        if row is None:
            return None
        return Account(row.id, row.phone_number_id, row.access_token, row.messages_per_second)

    async def load_conversation_ref(self, account_id: UUID, conversation_id: UUID) -> ConversationRef | None:
        row = await self._one(_LOAD_CONVERSATION_REF, account_id=account_id, conversation_id=conversation_id)
        return None if row is None else ConversationRef(*row)

    async def open_conversation(self, account_id: UUID, wa_id: str) -> ConversationRef:
        row = await self._one(_OPEN_CONVERSATION, account_id=account_id, wa_id=wa_id)
        assert row is not None, "an upsert with RETURNING always yields a row"
        return ConversationRef(*row)

    async def insert_outbound(
        self, conversation: ConversationRef, content: Content, status: MessageStatus
    ) -> Message | None:
        row = await self._one(
            _INSERT_OUTBOUND,
            account_id=conversation.account_id,
            conversation_id=conversation.id,
            contact_wa_id=conversation.contact_wa_id,
            type=content.type,
            body=content.body_json.decode(),
            reply_to=content.reply_to_wa_message_id,
            status=status.value,
        )
        return None if row is None else _message(row)

    async def record_sent(self, account_id: UUID, message_id: UUID, wa_message_id: str) -> Message | None:
        row = await self._one(
            _RECORD_SENT, account_id=account_id, message_id=message_id, wa_message_id=wa_message_id
        )
        return None if row is None else _message(row)

    async def record_failed(
        self, account_id: UUID, message_id: UUID, error_code: str, error_message: str
    ) -> Message | None:
        row = await self._one(
            _RECORD_FAILED,
            account_id=account_id,
            message_id=message_id,
            error_code=error_code,
            error_message=error_message,
        )
        return None if row is None else _message(row)

    async def get_message(self, account_id: UUID, message_id: UUID) -> Message | None:
        row = await self._one(_GET_MESSAGE, account_id=account_id, message_id=message_id)
        return None if row is None else _message(row)

    async def list_messages(
        self, account_id: UUID, conversation_id: UUID, limit: int, page: Page | None
    ) -> list[Message]:
        rows = await self._all(
            _LIST_MESSAGES,
            account_id=account_id,
            conversation_id=conversation_id,
            limit=limit,
            **_page_params(page),
        )
        return [_message(row) for row in rows]

    async def get_conversation(self, account_id: UUID, conversation_id: UUID) -> Conversation | None:
        row = await self._one(_GET_CONVERSATION, account_id=account_id, conversation_id=conversation_id)
        return None if row is None else _conversation(row)

    async def list_conversations(self, account_id: UUID, limit: int, page: Page | None) -> list[Conversation]:
        rows = await self._all(_LIST_CONVERSATIONS, account_id=account_id, limit=limit, **_page_params(page))
        return [_conversation(row) for row in rows]
