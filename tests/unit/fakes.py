"""In-memory fakes of the conversations service's ports (services/conversations/use_cases/ports.py)
for the unit tests of its use cases: dicts in place of PostgreSQL, a scripted sender, a
listener whose notifications the test sends. Each keeps what it was asked, to assert on.

They keep the rules their adapters' SQL keeps and the use cases rely on (an outcome is
recorded only while its message is sending under its claim; a webhook transaction's
writes and events are all kept on commit or all dropped), and nothing more.
"""

import asyncio
import copy
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from uuid import UUID, uuid4

import orjson

from services.conversations.domain.admin import KeyGrant
from services.conversations.domain.inbox import InboxFilter
from services.conversations.domain.model import (
    Accepted,
    Account,
    ClaimedMessage,
    Content,
    Conversation,
    ConversationRef,
    Direction,
    Message,
    MessageStatus,
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
from services.conversations.domain.outbound import (
    SERVICE_WINDOW_SECONDS,
    SYNC_SEND_CLAIM,
    NewOutbound,
    SendOutcome,
    StoredOutbound,
)
from services.conversations.domain.service_window import WindowFilter
from services.conversations.domain.statuses import Delivery
from services.conversations.domain.templates import Catalog, DueListing, ListedTemplate, Template
from services.conversations.domain.webhook_changes import (
    IdentityChange,
    Inbound,
    MarketingPreference,
    StatusUpdate,
)
from services.shared.api_keys import hash_api_key
from services.shared.vocabulary import API_KEY_SCOPES
from services.shared.whatsapp_errors import Failure

T0 = datetime(2026, 12, 1, 12, tzinfo=UTC)
TEXT = Content("text", b'{"body": "hello"}')


# --- records ---------------------------------------------------------------------------


def new_account(messages_per_second: int = 80, phone_number_id: str = "1000001") -> Account:
    return Account(uuid4(), phone_number_id, f"token-{phone_number_id}", messages_per_second)


def new_message(
    account_id: UUID,
    conversation_id: UUID,
    status: MessageStatus = MessageStatus.SENDING,
    created_at: datetime = T0,
    wa_message_id: str | None = None,
    contact_wa_id: str = "15550001111",
) -> Message:
    return Message(
        id=uuid4(),
        account_id=account_id,
        conversation_id=conversation_id,
        direction=Direction.OUTBOUND,
        contact_wa_id=contact_wa_id,
        content=TEXT,
        status=status,
        wa_message_id=wa_message_id,
        error_code=None,
        error_message=None,
        created_at=created_at,
        sent_at=None,
        delivered_at=None,
        read_at=None,
        failed_at=None,
    )


def new_conversation(
    account_id: UUID,
    last_activity_at: datetime = T0,
    wa_id: str = "15550001111",
    last_inbound_at: datetime | None = None,
) -> Conversation:
    """A conversation as read at T0."""
    window = timedelta(seconds=SERVICE_WINDOW_SECONDS)
    window_expires_at = last_inbound_at + window if last_inbound_at else None
    return Conversation(
        id=uuid4(),
        account_id=account_id,
        contact_wa_id=wa_id,
        contact_name="",
        created_at=T0,
        last_message_at=last_inbound_at,
        last_inbound_at=last_inbound_at,
        last_activity_at=last_activity_at,
        unread_count=0,
        window_expires_at=window_expires_at,
        can_send_free_form=window_expires_at is not None and window_expires_at >= T0,
    )


# --- DirectoryPort ---------------------------------------------------------------------


class FakeDirectoryStore:
    """API keys (by hash), accounts and conversations; `calls` counts each method's calls."""

    def __init__(self) -> None:
        self.key_hashes: dict[bytes, UUID] = {}
        self.accounts: dict[UUID, Account] = {}
        self.conversations: dict[tuple[UUID, UUID], ConversationRef] = {}
        self.calls: Counter[str] = Counter()

    def add_account(self, account: Account, api_key: str = "") -> Account:
        self.accounts[account.id] = account
        if api_key:
            self.key_hashes[hash_api_key(api_key)] = account.id
        return account

    def add_conversation(self, account_id: UUID, wa_id: str = "15550001111") -> ConversationRef:
        ref = ConversationRef(uuid4(), account_id, wa_id, None)
        self.conversations[(account_id, ref.id)] = ref
        return ref

    async def grant_for_key_hash(self, key_hash: bytes) -> KeyGrant | None:
        self.calls["grant_for_key_hash"] += 1
        account_id = self.key_hashes.get(key_hash)
        return None if account_id is None else KeyGrant(account_id, API_KEY_SCOPES)

    async def load_account(self, account_id: UUID) -> Account | None:
        self.calls["load_account"] += 1
        return self.accounts.get(account_id)

    async def load_conversation_ref(self, account_id: UUID, conversation_id: UUID) -> ConversationRef | None:
        self.calls["load_conversation_ref"] += 1
        return self.conversations.get((account_id, conversation_id))

    async def open_conversation(self, account_id: UUID, wa_id: str) -> ConversationRef:
        self.calls["open_conversation"] += 1
        for ref in self.conversations.values():
            if ref.account_id == account_id and ref.contact_wa_id == wa_id:
                return ref
        return self.add_conversation(account_id, wa_id)

    async def open_conversation_with_user(self, account_id: UUID, user_id: str) -> ConversationRef:
        self.calls["open_conversation_with_user"] += 1
        for ref in self.conversations.values():
            if ref.account_id == account_id and ref.contact_user_id == user_id:
                return ref
        ref = ConversationRef(uuid4(), account_id, "", None, user_id)
        self.conversations[(account_id, ref.id)] = ref
        return ref


# --- MessagesPort and ReadsPort --------------------------------------------------------


class FakeMessageStore:
    """Messages by id, with their claim ids, and conversations: the send path's writes
    (MessagesPort) and the reads (ReadsPort) over the same rows."""

    def __init__(self) -> None:
        self.messages: dict[UUID, Message] = {}
        self.claims: dict[UUID, int | None] = {}
        self.conversations: dict[UUID, Conversation] = {}
        self.idempotency_keys: dict[tuple[UUID, str], tuple[bytes, UUID]] = {}
        self.inserted: list[NewOutbound] = []
        self.outcomes: list[SendOutcome] = []
        # Conversations deleted since a cache saw them: nothing is stored for them.
        self.deleted_conversations: set[UUID] = set()
        # When set, sends are stored failed with (code, text), as the window's and the
        # pacing's rules store them.
        self.refusal: tuple[str, str] | None = None
        # How far away the pacing slot of a stored `sending` message is.
        self.send_delay_seconds = 0.0
        # Raised by `record`, one per call, before it writes (the database away).
        self.record_faults: list[Exception] = []
        self._clock = T0
        # The time the reads see (PostgreSQL's now()), and the window filters they were given.
        self.now = T0
        self.window_filters: list[WindowFilter] = []
        self.inbox_filters: list[InboxFilter] = []

    def add(self, message: Message, claim: int | None = SYNC_SEND_CLAIM) -> Message:
        self.messages[message.id] = message
        self.claims[message.id] = claim
        return message

    def change(self, message_id: UUID, **fields: Any) -> Message:
        """A write by someone else (a status webhook, the outbox taking a message over)."""
        self.messages[message_id] = replace(self.messages[message_id], **fields)
        return self.messages[message_id]

    async def insert_outbound(self, row: NewOutbound) -> StoredOutbound | None:
        self.inserted.append(row)
        conversation = row.conversation
        key = (conversation.account_id, row.idempotency_key) if row.idempotency_key else None
        if conversation.id in self.deleted_conversations or (
            key is not None and key in self.idempotency_keys
        ):
            return None
        self._clock += timedelta(seconds=1)
        message = replace(
            new_message(conversation.account_id, conversation.id, row.status, self._clock),
            contact_wa_id=conversation.contact_wa_id,
            content=row.content,
        )
        if self.refusal is not None:
            code, text = self.refusal
            message = replace(
                message,
                status=MessageStatus.FAILED,
                error_code=code,
                error_message=text,
                failed_at=self._clock,
            )
        self.add(message, SYNC_SEND_CLAIM if message.status == MessageStatus.SENDING else None)
        if key is not None:
            self.idempotency_keys[key] = (row.request_hash, message.id)
        delay = self.send_delay_seconds if message.status == MessageStatus.SENDING else 0.0
        return StoredOutbound(message, delay)

    async def idempotent_original(
        self, account_id: UUID, idempotency_key: str
    ) -> tuple[bytes, Message] | None:
        found = self.idempotency_keys.get((account_id, idempotency_key))
        return None if found is None else (found[0], self.messages[found[1]])

    async def record(self, outcome: SendOutcome) -> Message | None:
        self.outcomes.append(outcome)
        if self.record_faults:
            raise self.record_faults.pop(0)
        current = self.messages.get(outcome.message_id)
        if (
            current is None
            or current.account_id != outcome.account_id
            or current.status != MessageStatus.SENDING
        ):
            return None
        if self.claims[current.id] != outcome.claim:
            return None
        if outcome.status == MessageStatus.SENT:
            fields: dict[str, Any] = {"wa_message_id": outcome.wa_message_id, "sent_at": T0}
        else:
            fields = {
                "error_code": outcome.error_code,
                "error_message": outcome.error_message,
                "failed_at": T0,
            }
        return self.change(current.id, status=outcome.status, **fields)

    async def get_message(self, account_id: UUID, message_id: UUID) -> Message | None:
        message = self.messages.get(message_id)
        return message if message is not None and message.account_id == account_id else None

    async def list_messages(
        self, account_id: UUID, conversation_id: UUID, limit: int, page: Page | None
    ) -> list[Message]:
        """Newest first, after the page's last (created_at, id)."""
        rows = [
            m
            for m in self.messages.values()
            if m.account_id == account_id
            and m.conversation_id == conversation_id
            and (page is None or (m.created_at, m.id) < (page.after_time, page.after_id))
        ]
        return sorted(rows, key=lambda m: (m.created_at, m.id), reverse=True)[:limit]

    async def get_conversation(self, account_id: UUID, conversation_id: UUID) -> Conversation | None:
        conversation = self.conversations.get(conversation_id)
        return conversation if conversation is not None and conversation.account_id == account_id else None

    async def list_conversations(
        self, account_id: UUID, limit: int, page: Page | None, window: WindowFilter, inbox: InboxFilter
    ) -> list[Conversation]:
        """Most recent activity first, after the page's last (last_activity_at, id), those the
        window filter keeps at `now` (the inbox filter is the SQL's, tested there)."""
        self.window_filters.append(window)
        self.inbox_filters.append(inbox)
        rows = [
            c
            for c in self.conversations.values()
            if c.account_id == account_id
            and (page is None or (c.last_activity_at, c.id) < (page.after_time, page.after_id))
            and window.keeps(c.window_expires_at, self.now)
        ]
        return sorted(rows, key=lambda c: (c.last_activity_at, c.id), reverse=True)[:limit]


# --- OutboxPort ------------------------------------------------------------------------


class FakeOutbox:
    """Keeps what delivery asked of the queue: requeues, recipient and account pauses, releases."""

    def __init__(self) -> None:
        self.queued: list[ClaimedMessage] = []
        self.requeued: list[tuple[UUID, float, str, str]] = []
        self.paused: list[tuple[UUID, str, float]] = []
        self.accounts_paused: list[tuple[UUID, float]] = []
        self.pauses_ended: list[UUID] = []
        self.attempts_given_back: list[UUID] = []
        self.probes_passed: list[UUID] = []
        # What the pause's statements meet: the database away.
        self.database_down = False
        self.released: list[UUID] = []
        # What `requeue` answers: False when the claim was taken over.
        self.still_claimed = True

    async def claim(
        self,
        workers: int,
        lease_seconds: float,
        margin_seconds: float,
        horizon_seconds: float,
        after_account: UUID,
    ) -> list[ClaimedMessage]:
        claimed, self.queued = self.queued[:workers], self.queued[workers:]
        return claimed

    async def requeue(
        self,
        message: ClaimedMessage,
        delay_seconds: float,
        error_code: str,
        error_message: str,
        attempt_given_back: bool = False,
    ) -> bool:
        self.requeued.append((message.id, delay_seconds, error_code, error_message))
        if attempt_given_back:
            self.attempts_given_back.append(message.id)
        return self.still_claimed

    async def pause_recipient(self, message: ClaimedMessage, delay_seconds: float) -> None:
        self.paused.append((message.account_id, message.contact_wa_id, delay_seconds))

    async def pause_account(self, account_id: UUID, delay_seconds: float) -> None:
        self.accounts_paused.append((account_id, delay_seconds))

    async def end_account_pause(self, account_id: UUID) -> bool:
        if self.database_down:
            raise ConnectionError("the database is away")
        self.pauses_ended.append(account_id)
        return True

    async def pass_probe(self, account_id: UUID, lease_seconds: float) -> None:
        self.probes_passed.append(account_id)

    async def requeue_expired_leases(self, delay_seconds: float) -> int:
        return 0

    async def release(self, claims: Sequence[ClaimedMessage]) -> None:
        self.released.extend(claim.id for claim in claims)

    async def queue_depth(self) -> tuple[int, float, int]:
        return len(self.queued), 0.0, 0

    async def seconds_until_next_due(self) -> float | None:
        return 0.0 if self.queued else None


# --- SenderPort ------------------------------------------------------------------------


class FakeSender:
    """Answers each send with the next of `answers` (then Accepted, with a wamid of its own).
    Keeps each message and the loop time it came (`called` is set at the first); `gate`, when
    given, holds every send until set; `meanwhile` runs while WhatsApp "has" the message,
    before the answer."""

    def __init__(self, *answers: Accepted | Failure) -> None:
        self.answers = list(answers)
        self.sent: list[OutgoingMessage] = []
        self.sent_at: list[float] = []
        self.request_ids: list[str] = []
        self.called = asyncio.Event()
        self.gate: asyncio.Event | None = None
        self.meanwhile: Callable[[OutgoingMessage], None] | None = None

    async def send(self, message: OutgoingMessage, request_id: str = "") -> Accepted | Failure:
        self.sent.append(message)
        self.sent_at.append(asyncio.get_running_loop().time())
        self.request_ids.append(request_id)
        self.called.set()
        if self.gate is not None:
            await self.gate.wait()
        if self.meanwhile is not None:
            self.meanwhile(message)
        return self.answers.pop(0) if self.answers else Accepted(f"wamid.{message.message_id}")


# --- TemplateStorePort and TemplateSenderPort ------------------------------------------


class FakeTemplateStore:
    """Each account's templates and listing state; `due` the accounts whose listing is due."""

    def __init__(self) -> None:
        self.catalogs: dict[UUID, Catalog] = {}
        self.wabas: dict[UUID, tuple[str, str]] = {}
        self.due: list[UUID] = []
        self.failures: dict[UUID, str] = {}
        self.synced_at: dict[UUID, datetime] = {}
        # Conversations whose contact opted out of marketing messages.
        self.opted_out: set[UUID] = set()

    def add_account(self, account_id: UUID, waba_id: str, access_token: str = "token") -> None:
        self.wabas[account_id] = (waba_id, access_token)
        self.catalogs[account_id] = Catalog(False, {})
        self.due.append(account_id)

    async def claim_due(self, limit: int, lease_seconds: float) -> list[DueListing]:
        claimed, self.due = self.due[:limit], self.due[limit:]
        return [DueListing(a, *self.wabas[a]) for a in claimed]

    async def replace(
        self, account_id: UUID, templates: Sequence[Template], sync_every_seconds: float
    ) -> None:
        self.catalogs[account_id] = Catalog(True, {(t.name, t.language): t for t in templates})
        self.synced_at[account_id] = datetime.now(UTC)
        self.failures[account_id] = ""

    async def failed(self, account_id: UUID, failure: str, retry_seconds: float) -> None:
        self.failures[account_id] = failure

    async def sync_now(self, account_id: UUID) -> None:
        self.due.append(account_id)

    async def catalog(self, account_id: UUID) -> Catalog:
        return self.catalogs.get(account_id, Catalog(False, {}))

    async def list_page(
        self,
        account_id: UUID,
        limit: int,
        after: tuple[str, str] | None,
        status: str | None,
        category: str | None,
        name: str | None,
    ) -> list[ListedTemplate]:
        found = sorted(self.catalogs[account_id].templates.values(), key=lambda t: (t.name, t.language))
        return [
            ListedTemplate(t, self.synced_at[account_id])
            for t in found
            if (after is None or (t.name, t.language) > after)
            and status in (None, t.status)
            and category in (None, t.category)
            and name in (None, t.name)
        ][:limit]

    async def marketing_opt_out(self, account_id: UUID, conversation_id: UUID) -> bool:
        return conversation_id in self.opted_out

    async def sync_state(self, account_id: UUID) -> tuple[datetime | None, str]:
        return self.synced_at.get(account_id), self.failures.get(account_id, "")


class FakeTemplateSender:
    """Answers each WABA's listing from `listings` (a Failure, or the templates)."""

    def __init__(self) -> None:
        self.listings: dict[str, list[Template] | Failure] = {}
        self.asked: list[str] = []

    async def list_templates(self, waba_id: str, access_token: str) -> list[Template] | Failure:
        self.asked.append(waba_id)
        return self.listings[waba_id]


# --- NotificationsPort and EventLogPort ------------------------------------------------


class FakeListener:
    """LISTEN/NOTIFY: the test sends the notifications and the reconnects."""

    def __init__(self) -> None:
        self.callbacks: dict[str, list[Callable[[str], None]]] = {}
        self.reconnect_callbacks: list[Callable[[], None]] = []

    def subscribe(self, channel: str, callback: Callable[[str], None]) -> None:
        self.callbacks.setdefault(channel, []).append(callback)

    def on_reconnect(self, callback: Callable[[], None]) -> None:
        self.reconnect_callbacks.append(callback)

    def notify(self, channel: str, payload: str) -> None:
        for callback in self.callbacks.get(channel, []):
            callback(payload)

    def reconnect(self) -> None:
        for callback in self.reconnect_callbacks:
            callback()


class FakeEventLog:
    """Each account's events, ids from 1; `pages` holds the ids of each events_after answer.
    `forget` deletes the oldest, as retention does."""

    def __init__(self) -> None:
        self.events: dict[UUID, list[StoredEvent]] = {}
        self.last_ids: dict[UUID, int] = {}
        self.pages: list[list[int]] = []

    @property
    def reads(self) -> int:
        return len(self.pages)

    def append(self, account_id: UUID, type: str = "message.sent", data_json: bytes = b"{}") -> StoredEvent:
        event_id = self.last_ids.get(account_id, 0) + 1
        self.last_ids[account_id] = event_id
        log = self.events.setdefault(account_id, [])
        event = StoredEvent(event_id, type, data_json, T0)
        log.append(event)
        return event

    def forget(self, account_id: UUID, before_id: int) -> None:
        self.events[account_id] = [e for e in self.events.get(account_id, []) if e.id >= before_id]

    async def last_event_id(self, account_id: UUID) -> int:
        return self.last_ids.get(account_id, 0)

    async def first_kept_event_id(self, account_id: UUID) -> int:
        log = self.events.get(account_id, [])
        return log[0].id if log else self.last_ids.get(account_id, 0) + 1

    async def events_after(
        self, account_id: UUID, after_id: int, limit: int, max_bytes: int
    ) -> list[StoredEvent]:
        page: list[StoredEvent] = []
        size = 0
        for event in [e for e in self.events.get(account_id, []) if e.id > after_id][:limit]:
            if size >= max_bytes:
                break
            page.append(event)
            size += len(event.data_json)
        self.pages.append([e.id for e in page])
        return page


# --- WebhookStorePort and WebhookTransactionPort ---------------------------------------


@dataclass
class MessageRow:
    """A message as the status side sees it."""

    account_id: UUID
    conversation_id: UUID
    direction: str
    delivery: Delivery


@dataclass
class NotificationRow:
    body: bytes
    signed_for: list[UUID]
    state: str  # received, applied, malformed, failed
    outcome: dict[str, Any]
    apply_failures: int = 0
    last_error: str = ""


@dataclass
class WebhookTables:
    """What a webhook transaction reads and writes; a transaction works on a copy, kept on commit."""

    accounts_by_number: dict[str, UUID] = field(default_factory=dict)
    # Each contact's conversation, by (account, phone number) and by (account, BSUID).
    conversations: dict[tuple[UUID, str], UUID] = field(default_factory=dict)
    profile_names: dict[UUID, str] = field(default_factory=dict)
    usernames: dict[UUID, str] = field(default_factory=dict)
    # A conversation's contact's marketing preference: (opted out, as of).
    preferences: dict[UUID, tuple[bool, datetime]] = field(default_factory=dict)
    unread: dict[UUID, int] = field(default_factory=dict)
    inbound: dict[tuple[UUID, str], StoredInbound] = field(default_factory=dict)
    messages: dict[UUID, MessageRow] = field(default_factory=dict)
    pending: dict[tuple[UUID, str, str], StatusUpdate] = field(default_factory=dict)
    notifications: dict[int, NotificationRow] = field(default_factory=dict)
    events: list[NewEvent] = field(default_factory=list)


def _resource(**fields: Any) -> str:
    return orjson.dumps({key: str(value) for key, value in fields.items()}).decode()


class FakeWebhookTransaction:
    def __init__(self, store: "FakeWebhookStore", tables: WebhookTables) -> None:
        self.store = store
        self.tables = tables
        self.events: list[NewEvent] = []

    async def lock_notifications(self, ids: Sequence[int]) -> set[int]:
        rows = self.tables.notifications
        return {
            i
            for i in ids
            if i in rows and rows[i].state == "received" and i not in self.store.locked_elsewhere
        }

    async def accounts_by_phone_number(self, numbers: Sequence[str]) -> dict[str, UUID]:
        return {n: self.tables.accounts_by_number[n] for n in numbers if n in self.tables.accounts_by_number}

    def _known(self, account_id: UUID, wa_id: str, user_id: str) -> UUID | None:
        """A user's conversation: by BSUID first, then phone."""
        found = self.tables.conversations
        return (found.get((account_id, user_id)) if user_id else None) or (
            found.get((account_id, wa_id)) if wa_id else None
        )

    def _phone_of(self, conversation_id: UUID) -> str:
        return next(
            (
                key
                for (_, key), c in self.tables.conversations.items()
                if c == conversation_id and "." not in key
            ),
            "",
        )

    async def change_identities(self, changes: Sequence[IdentityChange]) -> list[ChangedContact]:
        changed = []
        for change in changes:
            conversation_id = self._known(change.account_id, change.old_wa_id, change.old_user_id)
            if conversation_id is None:
                continue
            for old, new in ((change.old_wa_id, change.new_wa_id), (change.old_user_id, change.new_user_id)):
                if new:
                    self.tables.conversations.pop((change.account_id, old), None)
                    self.tables.conversations[(change.account_id, new)] = conversation_id
            changed.append(
                ChangedContact(
                    change.account_id, change.old_wa_id, conversation_id, _resource(id=conversation_id)
                )
            )
        return changed

    async def identify_contacts(self, users: Sequence[tuple[UUID, str, str]]) -> None:
        for account_id, wa_id, user_id in users:
            conversation_id = self._known(account_id, wa_id, user_id) or uuid4()
            for key in (wa_id, user_id):
                if key:
                    self.tables.conversations.setdefault((account_id, key), conversation_id)

    async def open_conversations(self, senders: Sequence[Sender]) -> list[tuple[UUID, str]]:
        opened = []
        for sender in senders:
            conversation_id = self._known(sender.account_id, sender.wa_id, sender.user_id)
            assert conversation_id is not None, "identify_contacts first"
            if sender.profile_name or conversation_id not in self.tables.profile_names:
                self.tables.profile_names[conversation_id] = sender.profile_name
            if sender.username:
                self.tables.usernames[conversation_id] = sender.username
            opened.append((conversation_id, self._phone_of(conversation_id)))
        return opened

    async def record_preferences(
        self, preferences: Sequence[MarketingPreference]
    ) -> list[TouchedConversation]:
        touched = []
        for preference in preferences:
            conversation_id = self._known(preference.account_id, preference.wa_id, preference.user_id)
            assert conversation_id is not None, "identify_contacts first"
            known = self.tables.preferences.get(conversation_id)
            if known is None or known[1] < preference.at:
                self.tables.preferences[conversation_id] = (preference.opted_out, preference.at)
                touched.append(
                    TouchedConversation(conversation_id, preference.account_id, _resource(id=conversation_id))
                )
        return touched

    async def insert_inbound(
        self, messages: Sequence[Inbound], conversation_ids: Sequence[UUID]
    ) -> list[StoredInbound]:
        if any(m.wa_message_id in self.store.refused_wamids for m in messages):
            raise ValueError("invalid input value")  # the statement fails, whichever row caused it
        stored = []
        for message, conversation_id in zip(messages, conversation_ids, strict=True):
            key = (message.account_id, message.wa_message_id)
            if key in self.tables.inbound:
                continue
            message_id = uuid4()
            row = StoredInbound(
                message.account_id,
                message.wa_message_id,
                message_id,
                conversation_id,
                _resource(id=message_id, wa_message_id=message.wa_message_id),
            )
            self.tables.inbound[key] = row
            stored.append(row)
        return stored

    async def touch_conversations(
        self, ids: Sequence[UUID], newest: Sequence[datetime], counts: Sequence[int]
    ) -> list[TouchedConversation]:
        owners = {
            conversation_id: account_id
            for (account_id, _), conversation_id in self.tables.conversations.items()
        }
        touched = []
        for conversation_id, _, count in zip(ids, newest, counts, strict=True):
            unread = self.tables.unread[conversation_id] = self.tables.unread.get(conversation_id, 0) + count
            touched.append(
                TouchedConversation(
                    conversation_id, owners[conversation_id], _resource(id=conversation_id, unread=unread)
                )
            )
        return touched

    async def lock_status_targets(self, updates: Sequence[StatusUpdate]) -> list[StatusTarget]:
        """Matched by WhatsApp id, or by pigeon's id (the callback id)."""
        return [
            StatusTarget(index, message_id, row.account_id, row.direction, row.delivery)
            for index, update in enumerate(updates)
            for message_id, row in self.tables.messages.items()
            if row.account_id == update.account_id
            and (
                row.delivery.wa_message_id == update.report.wa_message_id or message_id == update.callback_id
            )
        ]

    async def update_deliveries(self, changes: Sequence[tuple[UUID, Delivery]]) -> list[UpdatedMessage]:
        updated = []
        for message_id, delivery in changes:
            row = self.tables.messages[message_id]
            row.delivery = delivery
            updated.append(
                UpdatedMessage(
                    message_id,
                    row.account_id,
                    row.conversation_id,
                    delivery.status,
                    _resource(id=message_id, status=delivery.status),
                )
            )
        return updated

    async def keep_pending(self, updates: Sequence[StatusUpdate]) -> None:
        for update in updates:
            key = (update.account_id, update.report.wa_message_id, update.report.status)
            self.tables.pending.setdefault(key, replace(update, callback_id=None))

    async def matchable_pending(self, limit: int) -> list[StatusUpdate]:
        known = {(row.account_id, row.delivery.wa_message_id) for row in self.tables.messages.values()}
        return [
            u
            for (a, w, _), u in sorted(self.tables.pending.items(), key=lambda i: str(i[0]))
            if (a, w) in known
        ][:limit]

    async def forget_pending(self, updates: Sequence[StatusUpdate]) -> None:
        for update in updates:
            self.tables.pending.pop(
                (update.account_id, update.report.wa_message_id, update.report.status), None
            )

    async def mark_read(self, account_id: UUID, conversation_id: UUID) -> str | None:
        if (account_id, conversation_id) not in {(a, c) for (a, _), c in self.tables.conversations.items()}:
            return None
        self.tables.unread[conversation_id] = 0
        return _resource(id=conversation_id, unread=0)

    async def store_applied(
        self,
        bodies: Sequence[bytes],
        signed_for: Sequence[Sequence[UUID]],
        outcomes: Sequence[dict[str, Any]],
    ) -> list[int]:
        ids = []
        for body, accounts, outcome in zip(bodies, signed_for, outcomes, strict=True):
            notification_id = self.store.next_id()
            self.tables.notifications[notification_id] = NotificationRow(
                body, list(accounts), "applied", outcome
            )
            ids.append(notification_id)
        return ids

    async def finish_notifications(
        self, ids: Sequence[int], states: Sequence[str], outcomes: Sequence[dict[str, Any]]
    ) -> None:
        for notification_id, state, outcome in zip(ids, states, outcomes, strict=True):
            row = self.tables.notifications[notification_id]
            row.state, row.outcome = state, outcome


class FakeWebhookStore:
    """The webhook side's tables. A transaction works on a copy of them, which replaces them
    when it commits: an exception inside it, or one raised as it commits (the next of
    `commit_faults`, one per commit, None to commit: a lost deadlock, the database gone),
    leaves them as they were."""

    def __init__(self) -> None:
        self.tables = WebhookTables()
        self.secrets: list[AppSecret] = []
        self.secret_reads = 0
        # Runs during a read of the secrets (an account changed meanwhile, say).
        self.while_reading_secrets: Callable[[], None] | None = None
        self.commit_faults: list[Exception | None] = []
        # Inbound WhatsApp ids the database refuses: the statement fails for the whole batch.
        self.refused_wamids: set[str] = set()
        # Notifications another replica is applying (not lockable).
        self.locked_elsewhere: set[int] = set()
        self.transactions = 0
        self.commits = 0
        self._last_id = 0

    def next_id(self) -> int:
        # Like a sequence: not given back by a rollback.
        self._last_id += 1
        return self._last_id

    def add_account(self, phone_number_id: str, app_secret: str, account_id: UUID | None = None) -> UUID:
        account_id = account_id or uuid4()
        self.tables.accounts_by_number[phone_number_id] = account_id
        self.secrets.append(AppSecret(account_id, phone_number_id, app_secret))
        return account_id

    def add_message(
        self,
        account_id: UUID,
        status: str = "sent",
        wa_message_id: str | None = None,
        direction: str = "outbound",
    ) -> UUID:
        message_id = uuid4()
        delivery = Delivery(
            status, wa_message_id, T0 if status == "sent" else None, None, None, None, None, None
        )
        self.tables.messages[message_id] = MessageRow(account_id, uuid4(), direction, delivery)
        return message_id

    def delivery(self, message_id: UUID) -> Delivery:
        return self.tables.messages[message_id].delivery

    def notification(self, notification_id: int) -> NotificationRow:
        return self.tables.notifications[notification_id]

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[FakeWebhookTransaction]:
        self.transactions += 1
        working = copy.deepcopy(self.tables)
        transaction = FakeWebhookTransaction(self, working)
        yield transaction
        fault = self.commit_faults.pop(0) if self.commit_faults else None
        if fault is not None:
            raise fault
        working.events.extend(transaction.events)
        self.tables = working
        self.commits += 1

    async def store_unapplied(self, body: bytes, signed_for: Sequence[UUID], error: str) -> int:
        notification_id = self.next_id()
        self.tables.notifications[notification_id] = NotificationRow(
            body, list(signed_for), "received", {}, apply_failures=1, last_error=error
        )
        return notification_id

    async def count_failed_apply(self, notification_id: int, max_attempts: int, error: str) -> bool:
        row = self.tables.notifications[notification_id]
        if row.state != "received":
            return False
        row.apply_failures += 1
        row.last_error = error
        if row.apply_failures >= max_attempts:
            row.state = "failed"
        return row.state == "failed"

    async def app_secrets(self) -> list[AppSecret]:
        self.secret_reads += 1
        await asyncio.sleep(0)  # a query: other callers run meanwhile
        if self.while_reading_secrets is not None:
            self.while_reading_secrets()
        return list(self.secrets)

    async def unapplied(self, older_than_seconds: float, limit: int) -> list[StoredNotification]:
        return [
            StoredNotification(i, row.body, row.signed_for)
            for i, row in sorted(self.tables.notifications.items())
            if row.state == "received"
        ][:limit]


# --- ConversationCache -----------------------------------------------------------------


class FakeConversationCache:
    def __init__(self) -> None:
        self.forgotten: list[tuple[UUID, UUID, str]] = []

    def forget_conversation_with(self, account_id: UUID, conversation_id: UUID, wa_id: str) -> None:
        self.forgotten.append((account_id, conversation_id, wa_id))


if TYPE_CHECKING:
    # mypy: each fake is what its port asks for.
    from services.conversations.use_cases import ports

    _directory: ports.DirectoryPort = FakeDirectoryStore()
    _messages: ports.MessagesPort = FakeMessageStore()
    _reads: ports.ReadsPort = FakeMessageStore()
    _outbox: ports.OutboxPort = FakeOutbox()
    _sender: ports.SenderPort = FakeSender()
    _listener: ports.NotificationsPort = FakeListener()
    _events: ports.EventLogPort = FakeEventLog()
    _webhooks: ports.WebhookStorePort = FakeWebhookStore()
    _transaction: ports.WebhookTransactionPort = FakeWebhookTransaction(FakeWebhookStore(), WebhookTables())
    _cache: ports.ConversationCache = FakeConversationCache()
