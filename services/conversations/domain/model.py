"""The records the conversations service works with: accounts, conversations, messages,
claims of the outbox, events, pages. Plain data, no SQL and no gRPC: the database adapter
fills them, the gRPC entry point turns them into protobuf messages."""

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from services.conversations.domain.inbox import InboxState
from services.conversations.domain.media import Media


class Direction(StrEnum):
    OUTBOUND = "outbound"
    INBOUND = "inbound"


class MessageStatus(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"
    RECEIVED = "received"


@dataclass(frozen=True, slots=True)
class Account:
    """What sending needs to know about an account. Cached; holds secrets: never log it."""

    id: UUID
    phone_number_id: str
    access_token: str
    messages_per_second: int


@dataclass(frozen=True, slots=True)
class ConversationRef:
    """What sending needs to know about a conversation. Cached."""

    id: UUID
    account_id: UUID
    # The contact's phone number, "" when only its business-scoped user id is known.
    contact_wa_id: str
    last_inbound_at: datetime | None
    # The contact's business-scoped user id (BSUID), "" when unknown: where a send goes when
    # the phone number is unknown.
    contact_user_id: str = ""


@dataclass(frozen=True, slots=True)
class ReadReceipt:
    """The last read receipt pigeon sent WhatsApp for a conversation, and what became of it."""

    message_id: str
    # "sent", or "failed" with the error.
    status: str
    error_code: str | None
    error_message: str | None
    at: datetime


@dataclass(frozen=True, slots=True)
class Conversation:
    id: UUID
    account_id: UUID
    contact_wa_id: str
    contact_name: str
    created_at: datetime
    last_message_at: datetime | None
    last_inbound_at: datetime | None
    last_activity_at: datetime
    unread_count: int
    # The 24 h service window (domain/service_window.py): when it closes (None when the
    # customer never wrote), and whether it was open when the conversation was read.
    window_expires_at: datetime | None
    can_send_free_form: bool
    read_receipt: ReadReceipt | None = None
    contact_user_id: str = ""
    contact_username: str = ""
    contact_marketing_opt_out: bool = False
    # Its place in the team inbox (domain/inbox.py), as of the read, and the version that
    # every change of the conversation moves on (If-Match).
    inbox: InboxState = field(default_factory=InboxState)
    version: int = 1


@dataclass(frozen=True, slots=True)
class Content:
    """An outbound message's content in the Cloud API's shape (see content.proto)."""

    type: str
    body_json: bytes
    reply_to_wa_message_id: str = ""


@dataclass(frozen=True, slots=True)
class Message:
    id: UUID
    account_id: UUID
    conversation_id: UUID
    direction: Direction
    contact_wa_id: str
    content: Content
    status: MessageStatus
    wa_message_id: str | None
    error_code: str | None
    error_message: str | None
    created_at: datetime
    sent_at: datetime | None
    delivered_at: datetime | None
    read_at: datetime | None
    failed_at: datetime | None
    # pigeon's copy of its file, for a media message that has one.
    media: Media | None = None


@dataclass(frozen=True, slots=True)
class SendTarget:
    phone_number_id: str
    access_token: str
    to: str
    # How long to wait for the account's pacing slot before sending.
    send_delay_seconds: float = 0.0
    # The recipient's BSUID: where the message goes when `to` (the phone number) is "".
    recipient_user_id: str = ""


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """A message for the sender to send now. Holds the account's token: never log it."""

    phone_number_id: str
    access_token: str
    to: str
    content: Content
    # pigeon's id, which WhatsApp echoes in the message's status webhooks.
    message_id: UUID
    account_id: UUID
    # The event loop time after which the sender must not call WhatsApp (too late for the
    # message's pacing slot); None for no limit.
    send_by: float | None = None
    # The recipient's BSUID: where the message goes when `to` (the phone number) is "".
    recipient_user_id: str = ""


@dataclass(frozen=True, slots=True)
class Accepted:
    """WhatsApp took the message."""

    wa_message_id: str


@dataclass(frozen=True, slots=True)
class ClaimedMessage:
    """A queued message an outbox worker claimed, to send as attempt number `attempts`, under
    claim id `claim` (every write about it names the claim: attempt numbers repeat after a
    release, claim ids never do).

    Times are relative to the claim, measured on the database's clock, so that the
    replicas' own clocks never matter.
    """

    id: UUID
    account_id: UUID
    contact_wa_id: str
    content: Content
    attempts: int
    claim: int
    # The account's pacing slot: call WhatsApp this long after the claim's answer. Counted
    # from the end of the claim (clock_timestamp()), not its start (now()): a claim that
    # took long must not push its slots onto the next claim's.
    send_delay_seconds: float
    # The message's validity period ends this long after the claim.
    expires_in_seconds: float
    # The recipient's BSUID, "" when not known; the send names it when contact_wa_id is "".
    contact_user_id: str = ""
    # The one message claimed of an account whose pause has passed: its outcome says whether
    # the pause ends (domain/pacing.py).
    probe: bool = False


@dataclass(frozen=True, slots=True)
class StoredEvent:
    id: int
    type: str
    data_json: bytes
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Page:
    """Where a page ends: the sort key of its last row. Next page starts after it."""

    after_time: datetime
    after_id: UUID
