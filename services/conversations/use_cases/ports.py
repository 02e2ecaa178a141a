"""The interfaces the use cases work through: implemented by the adapters (PostgreSQL, the
sender's client), faked in unit tests."""

from collections.abc import AsyncGenerator, AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from services.conversations.domain.admin import AccountChanges, AdminAccount, ApiKey, KeyGrant, NewAccount
from services.conversations.domain.inbox import Changes, InboxFilter, InboxState, Note, Versioned
from services.conversations.domain.media import ClaimedCopy, Media, MediaFile
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
from services.conversations.domain.notifications import (
    AppSecret,
    ChangedContact,
    NewEvent,
    Sender,
    StatusTarget,
    StoredInbound,
    StoredNotification,
    TouchedConversation,
    UpdatedMessage,
)
from services.conversations.domain.outbound import NewOutbound, SendOutcome, StoredOutbound
from services.conversations.domain.retention import Batch, EventLog
from services.conversations.domain.search import MessageSearch
from services.conversations.domain.service_window import WindowFilter
from services.conversations.domain.statuses import Delivery
from services.conversations.domain.templates import (
    Catalog,
    DueListing,
    ListedTemplate,
    Template,
    TemplateStatusChange,
)
from services.conversations.domain.webhook_changes import (
    IdentityChange,
    Inbound,
    MarketingPreference,
    StatusUpdate,
)
from services.shared.vocabulary import ApiKeyScope
from services.shared.whatsapp_errors import Failure


class LostDeadlock(Exception):
    """A transaction lost a deadlock to another and was rolled back: it may run again."""


class MediaStoreUnavailable(Exception):
    """The object store could not be reached, or refused for a reason that may pass (a
    timeout, a 5xx, a full disk): retry later, answer 503."""


class MediaObjectMissing(Exception):
    """No object under that key."""


class MediaWriter(Protocol):
    async def write(self, chunk: bytes) -> None: ...
    async def commit(self) -> None:
        """After the last chunk: the object appears under its key, whole or not at all."""
        ...


class MediaStore(Protocol):
    """Where files' bytes are kept: the filesystem, or an S3-compatible object store."""

    def writer(self, key: str, content_type: str) -> AbstractAsyncContextManager[MediaWriter]:
        """Writes an object in chunks; one left without `commit()` (an exception, a mismatch
        the caller found) leaves nothing behind."""
        ...

    def read(
        self, key: str, start: int = 0, end: int | None = None, chunk_size: int = 256 * 1024
    ) -> AsyncIterator[bytes]:
        """The bytes of [start, end) in chunks; MediaObjectMissing when there is no object."""
        ...

    async def delete(self, key: str) -> None: ...
    async def presigned_url(
        self, key: str, *, expires_seconds: int, filename: str, content_type: str
    ) -> str | None:
        """A short-lived URL to GET the object from directly; None when the store has none."""
        ...

    async def close(self) -> None: ...


class MediaRepositoryPort(Protocol):
    async def claim_copies(self, limit: int, lease_seconds: float) -> list[ClaimedCopy]: ...
    async def retry_copy(self, copy: ClaimedCopy, delay_seconds: float) -> bool: ...
    async def store_copy(self, copy: ClaimedCopy, mime_type: str, size: int, sha256: str) -> bool: ...
    async def fail_copy(self, copy: ClaimedCopy, reason: str) -> bool: ...
    async def get(self, account_id: UUID, media_id: UUID) -> Media | None: ...
    async def insert_upload(
        self, account_id: UUID, media_id: UUID, mime_type: str, size: int, sha256: str, filename: str
    ) -> Media: ...
    async def pending_copies(self) -> int: ...
    async def upload_of(
        self, account_id: UUID, media_id: UUID, margin_seconds: float
    ) -> tuple[Media, str | None] | None:
        """A file of the account, and its WhatsApp id while WhatsApp keeps it longer than the margin."""
        ...

    async def remember_upload(self, media_id: UUID, wa_upload_id: str, lifetime_seconds: float) -> None: ...
    async def show_on_message(self, account_id: UUID, message_id: UUID, media_id: UUID) -> None:
        """The message points at the file and shows it (its `media`)."""
        ...

    async def expired_files(self, retention_seconds: float, limit: int) -> list[tuple[UUID, UUID]]: ...
    async def mark_deleted(self, ids: list[UUID]) -> list[tuple[UUID, UUID]]: ...


class DirectoryPort(Protocol):
    async def grant_for_key_hash(self, key_hash: bytes) -> KeyGrant | None: ...
    async def load_account(self, account_id: UUID) -> Account | None: ...
    async def load_conversation_ref(
        self, account_id: UUID, conversation_id: UUID
    ) -> ConversationRef | None: ...
    async def open_conversation(self, account_id: UUID, wa_id: str) -> ConversationRef: ...
    async def open_conversation_with_user(self, account_id: UUID, user_id: str) -> ConversationRef: ...


class AdminPort(Protocol):
    async def insert_account(self, account: NewAccount) -> AdminAccount | None: ...
    async def accounts(self) -> list[AdminAccount]: ...
    async def account(self, account_id: UUID) -> AdminAccount | None: ...
    async def update_account(self, account_id: UUID, changes: AccountChanges) -> AdminAccount | None: ...
    async def insert_api_key(
        self, account_id: UUID, key_hash: bytes, prefix: str, scopes: Sequence[ApiKeyScope]
    ) -> ApiKey | None: ...
    async def api_keys(self, prefix: str, account_id: UUID | None, limit: int) -> list[ApiKey]: ...
    async def revoke_api_key(self, key_id: UUID) -> ApiKey | None: ...


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
    async def search_messages(
        self, account_id: UUID, search: MessageSearch, limit: int, page: Page | None
    ) -> list[Message]: ...
    async def get_conversation(self, account_id: UUID, conversation_id: UUID) -> Conversation | None: ...
    async def list_conversations(
        self, account_id: UUID, limit: int, page: Page | None, window: WindowFilter, inbox: InboxFilter
    ) -> list[Conversation]: ...


class InboxTransactionPort(Protocol):
    async def lock(self, account_id: UUID, conversation_id: UUID) -> Versioned | None: ...
    async def save(
        self, account_id: UUID, conversation_id: UUID, state: InboxState, changes: Changes
    ) -> None: ...


class InboxStorePort(Protocol):
    def transaction(self) -> AbstractAsyncContextManager[InboxTransactionPort]: ...
    async def reopen_snoozed(self, limit: int) -> int: ...
    async def add_note(
        self, account_id: UUID, conversation_id: UUID, author: str, body: str
    ) -> Note | None: ...
    async def list_notes(
        self, account_id: UUID, conversation_id: UUID, limit: int, page: Page | None
    ) -> list[Note]: ...


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
        self,
        message: ClaimedMessage,
        delay_seconds: float,
        error_code: str,
        error_message: str,
        attempt_given_back: bool = False,
    ) -> bool: ...
    async def pause_recipient(self, message: ClaimedMessage, delay_seconds: float) -> None: ...
    async def pause_account(self, account_id: UUID, delay_seconds: float) -> None: ...
    async def end_account_pause(self, account_id: UUID) -> bool: ...
    async def pass_probe(self, account_id: UUID, lease_seconds: float) -> None: ...
    async def requeue_expired_leases(self, delay_seconds: float) -> int: ...
    async def release(self, claims: Sequence[ClaimedMessage]) -> None: ...
    async def queue_depth(self) -> tuple[int, float, int]: ...
    async def seconds_until_next_due(self) -> float | None: ...


class EventLogPort(Protocol):
    async def last_event_id(self, account_id: UUID) -> int: ...
    async def first_kept_event_id(self, account_id: UUID) -> int: ...
    async def events_after(
        self, account_id: UUID, after_id: int, limit: int, max_bytes: int
    ) -> list[StoredEvent]:
        """At most `limit` events after `after_id`, in id order, ending with the one whose data
        (with those before it) reaches `max_bytes`: the first comes however large it is."""
        ...


class RetentionStorePort(Protocol):
    """Deletions in batches (`adapters/database/retention.py`); each returns what one batch deleted."""

    async def event_logs(self, keep_seconds: float) -> list[EventLog]: ...
    async def delete_events(
        self, log: EventLog, after_id: int, *, keep_seconds: float, batch_size: int
    ) -> Batch: ...
    async def delete_notifications(
        self, states: Sequence[str], after_id: int, *, keep_seconds: float, batch_size: int
    ) -> Batch: ...
    async def delete_pending_statuses(self, keep_seconds: float, batch_size: int) -> int: ...
    async def delete_idempotency_keys(self, keep_seconds: float, batch_size: int) -> int: ...


class NotificationsPort(Protocol):
    """PostgreSQL's LISTEN/NOTIFY: callbacks per channel, and one for a reconnect (when
    notifications may have been missed)."""

    def subscribe(self, channel: str, callback: Callable[[str], None]) -> None: ...
    def on_reconnect(self, callback: Callable[[], None]) -> None: ...


class SenderPort(Protocol):
    async def send(self, message: OutgoingMessage, request_id: str = "") -> Accepted | Failure: ...


class MediaSenderPort(Protocol):
    def download_media(
        self, phone_number_id: str, access_token: str, wa_media_id: str, max_bytes: int
    ) -> AsyncGenerator[MediaFile | bytes | Failure, None]:
        """What WhatsApp says of the file, then its bytes; or a failure, first or after some
        bytes (which are then to be dropped)."""
        ...

    async def upload_media(
        self,
        phone_number_id: str,
        access_token: str,
        media: Media,
        chunks: AsyncIterator[bytes],
    ) -> str | Failure:
        """WhatsApp's id for the file, uploaded from `chunks`, or why not."""
        ...


class SenderWithMediaPort(SenderPort, MediaSenderPort, Protocol):
    """The sender's client itself: messages and files."""


class ReadReceiptSenderPort(Protocol):
    async def mark_read(
        self, phone_number_id: str, access_token: str, message_id: str, typing: bool
    ) -> Failure | None:
        """None once WhatsApp marked the message read, else why not."""
        ...


class TemplateSenderPort(Protocol):
    async def list_templates(self, waba_id: str, access_token: str) -> list[Template] | Failure:
        """Every template of the WhatsApp Business Account, or why they could not be listed."""
        ...


class TemplateStorePort(Protocol):
    async def claim_due(self, limit: int, lease_seconds: float) -> list[DueListing]: ...
    async def replace(
        self, account_id: UUID, templates: Sequence[Template], sync_every_seconds: float
    ) -> None: ...
    async def failed(self, account_id: UUID, failure: str, retry_seconds: float) -> None: ...
    async def sync_now(self, account_id: UUID) -> None: ...
    async def catalog(self, account_id: UUID) -> Catalog: ...
    async def list_page(
        self,
        account_id: UUID,
        limit: int,
        after: tuple[str, str] | None,
        status: str | None,
        category: str | None,
        name: str | None,
    ) -> list[ListedTemplate]: ...
    async def marketing_opt_out(self, account_id: UUID, conversation_id: UUID) -> bool: ...
    async def sync_state(self, account_id: UUID) -> tuple[datetime | None, str]: ...


class ReadReceiptsPort(Protocol):
    async def last_inbound(self, account_id: UUID, conversation_id: UUID) -> str | None: ...
    async def record_read_receipt(
        self,
        account_id: UUID,
        conversation_id: UUID,
        message_id: str,
        error_code: str | None,
        error_message: str | None,
    ) -> None: ...


class WebhookTransactionPort(Protocol):
    """Statements of one webhook transaction; `events` are appended when it commits."""

    events: list[NewEvent]

    async def lock_notifications(self, ids: Sequence[int]) -> set[int]: ...
    async def accounts_by_phone_number(self, numbers: Sequence[str]) -> dict[str, UUID]: ...
    async def apply_template_statuses(
        self, changes: Sequence[TemplateStatusChange], signed_for: Sequence[UUID]
    ) -> int: ...
    async def change_identities(self, changes: Sequence[IdentityChange]) -> list[ChangedContact]: ...
    async def identify_contacts(self, users: Sequence[tuple[UUID, str, str]]) -> None: ...
    async def open_conversations(self, senders: Sequence[Sender]) -> list[tuple[UUID, str]]: ...
    async def record_preferences(
        self, preferences: Sequence[MarketingPreference]
    ) -> list[TouchedConversation]: ...
    async def insert_inbound(
        self, messages: Sequence[Inbound], conversation_ids: Sequence[UUID]
    ) -> list[StoredInbound]: ...
    async def touch_conversations(
        self, ids: Sequence[UUID], newest: Sequence[datetime], counts: Sequence[int]
    ) -> list[TouchedConversation]: ...
    async def lock_status_targets(self, updates: Sequence[StatusUpdate]) -> list[StatusTarget]: ...
    async def update_deliveries(self, changes: Sequence[tuple[UUID, Delivery]]) -> list[UpdatedMessage]: ...
    async def keep_pending(self, updates: Sequence[StatusUpdate]) -> None: ...
    async def matchable_pending(self, limit: int) -> list[StatusUpdate]: ...
    async def forget_pending(self, updates: Sequence[StatusUpdate]) -> None: ...
    async def mark_read(self, account_id: UUID, conversation_id: UUID) -> str | None: ...
    async def store_applied(
        self,
        bodies: Sequence[bytes],
        signed_for: Sequence[Sequence[UUID]],
        outcomes: Sequence[dict[str, Any]],
    ) -> list[int]: ...
    async def finish_notifications(
        self, ids: Sequence[int], states: Sequence[str], outcomes: Sequence[dict[str, Any]]
    ) -> None: ...


class WebhookStorePort(Protocol):
    """Where notifications are kept. `transaction` raises Unavailable when the database is
    away and LostDeadlock when it lost a deadlock."""

    def transaction(self) -> AbstractAsyncContextManager[WebhookTransactionPort]: ...
    async def store_unapplied(self, body: bytes, signed_for: Sequence[UUID], error: str) -> int: ...
    async def count_failed_apply(self, notification_id: int, max_attempts: int, error: str) -> bool: ...
    async def app_secrets(self) -> list[AppSecret]: ...
    async def unapplied(self, older_than_seconds: float, limit: int) -> list[StoredNotification]: ...


class ConversationCache(Protocol):
    """The send path's cache of conversations, told when an inbound message moved a window."""

    def forget_conversation_with(self, account_id: UUID, conversation_id: UUID, wa_id: str) -> None: ...
