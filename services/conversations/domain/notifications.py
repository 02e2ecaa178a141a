"""Webhook notifications, and the records that applying them reads and writes. Plain data:
the database adapter fills them, the webhook use cases decide with them."""

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from services.conversations.domain.statuses import Delivery


@dataclass(frozen=True, slots=True)
class Notification:
    """A notification whose signature checked: `id` 0 until it is stored; `payload` None
    when its body is not a JSON object (only stored ones, from older versions)."""

    id: int
    body: bytes
    payload: dict[str, Any] | None
    signed_for: frozenset[UUID]


@dataclass(frozen=True, slots=True)
class AppSecret:
    """The secret of the Meta app that signs an account's webhooks. Never log it."""

    account_id: UUID
    phone_number_id: str
    app_secret: str
    # Its WhatsApp Business Account, which names it in template webhooks ("" when unknown).
    waba_id: str = ""


@dataclass(frozen=True, slots=True)
class StoredNotification:
    id: int
    body: bytes
    signed_for: list[UUID]


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event to append to an account's log, with the resource it is about as JSON."""

    account_id: UUID
    type: str
    message_id: UUID | None
    conversation_id: UUID | None
    data_json: str


@dataclass(frozen=True, slots=True)
class Sender:
    """A user as an inbound message names them: a phone number, a BSUID or both ("" for the
    one not given); a profile name and username when the webhook gives them."""

    account_id: UUID
    wa_id: str
    user_id: str
    profile_name: str = ""
    username: str = ""


@dataclass(frozen=True, slots=True)
class ChangedContact:
    """A contact an identity change moved to new identifiers, and its conversation if it has one."""

    account_id: UUID
    old_wa_id: str
    conversation_id: UUID | None
    resource: str | None


@dataclass(frozen=True, slots=True)
class StoredInbound:
    account_id: UUID
    wa_message_id: str
    message_id: UUID
    conversation_id: UUID
    resource: str


@dataclass(frozen=True, slots=True)
class TouchedConversation:
    id: UUID
    account_id: UUID
    resource: str


@dataclass(frozen=True, slots=True)
class StatusTarget:
    """A message a status is about, as it is now (locked until the transaction ends)."""

    update_index: int  # which of the updates asked for it
    message_id: UUID
    account_id: UUID
    direction: str
    delivery: Delivery


@dataclass(frozen=True, slots=True)
class UpdatedMessage:
    message_id: UUID
    account_id: UUID
    conversation_id: UUID
    status: str
    resource: str
