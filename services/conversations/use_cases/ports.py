"""The interfaces the use cases work through: implemented by the adapters (PostgreSQL, the
sender's client), faked in unit tests."""

from collections.abc import Sequence
from typing import Protocol
from uuid import UUID

from services.conversations.domain.model import (
    Accepted,
    Account,
    ClaimedMessage,
    Conversation,
    ConversationRef,
    Message,
    OutgoingMessage,
    Page,
    StoredEvent,
)
from services.conversations.domain.outbound import NewOutbound, SendOutcome, StoredOutbound
from services.shared.whatsapp_errors import Failure


class DirectoryPort(Protocol):
    async def account_for_key_hash(self, key_hash: bytes) -> UUID | None: ...
    async def load_account(self, account_id: UUID) -> Account | None: ...
    async def load_conversation_ref(
        self, account_id: UUID, conversation_id: UUID
    ) -> ConversationRef | None: ...
    async def open_conversation(self, account_id: UUID, wa_id: str) -> ConversationRef: ...


class MessagesPort(Protocol):
    async def insert_outbound(self, row: NewOutbound) -> StoredOutbound | None: ...
    async def idempotent_original(
        self, account_id: UUID, idempotency_key: str
    ) -> tuple[bytes, Message] | None: ...
    async def record(self, outcome: SendOutcome) -> Message | None: ...


class ReadsPort(Protocol):
    async def get_message(self, account_id: UUID, message_id: UUID) -> Message | None: ...
    async def list_messages(
        self, account_id: UUID, conversation_id: UUID, limit: int, page: Page | None
    ) -> list[Message]: ...
    async def get_conversation(self, account_id: UUID, conversation_id: UUID) -> Conversation | None: ...
    async def list_conversations(
        self, account_id: UUID, limit: int, page: Page | None
    ) -> list[Conversation]: ...


class OutboxPort(Protocol):
    async def claim(
        self,
        workers: int,
        lease_seconds: float,
        margin_seconds: float,
        horizon_seconds: float,
        after_account: UUID,
    ) -> list[ClaimedMessage]: ...
    async def requeue(
        self, message: ClaimedMessage, delay_seconds: float, error_code: str, error_message: str
    ) -> bool: ...
    async def pause_recipient(self, account_id: UUID, contact_wa_id: str, delay_seconds: float) -> None: ...
    async def requeue_expired_leases(self) -> int: ...
    async def release(self, claims: Sequence[ClaimedMessage]) -> None: ...
    async def queue_depth(self) -> tuple[int, float]: ...
    async def seconds_until_next_due(self) -> float | None: ...
    async def forget_idempotency_keys(self, keep_seconds: float) -> int: ...


class EventLogPort(Protocol):
    async def last_event_id(self, account_id: UUID) -> int: ...
    async def events_after(self, account_id: UUID, after_id: int, limit: int) -> list[StoredEvent]: ...


class SenderPort(Protocol):
    async def send(self, message: OutgoingMessage, request_id: str = "") -> Accepted | Failure: ...
