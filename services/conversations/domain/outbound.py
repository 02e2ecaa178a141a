"""The rules an outbound message is stored under, whichever way it is sent.

A free-form message is refused outside the 24 h service window (after the customer's last
message; a template may be sent any time). A synchronous send is refused when its account's
next pacing slot is too far away. Both are decided by the statement that stores the message,
atomically with the conversation's and the pacing row's locks; these are its terms.
"""

import uuid
from dataclasses import dataclass
from uuid import UUID

from services.conversations.domain.model import Content, ConversationRef, Message, MessageStatus

SERVICE_WINDOW_SECONDS = 24 * 3600.0
# The one type that may be sent outside the window.
TYPE_SENT_ANY_TIME = "template"

REENGAGEMENT_MESSAGE = "More than 24 hours since the customer's last message: only a template can be sent"
RATE_LIMITED_MESSAGE = (
    "The account's messages-per-second limit is reached (its next free send slot is too far away):"
    " retry later"
)

# A message stored `sending` (a sync send) is its first attempt, under claim 0. The outbox
# takes a stalled one over under a claim from the `message_claims` sequence (1 and up, never
# repeated), so the late sync outcome, written under claim 0, cannot overwrite it.
SYNC_SEND_ATTEMPT = 1
SYNC_SEND_CLAIM = 0


NOT_STORED_YET = uuid.UUID(int=0)


@dataclass(frozen=True, slots=True)
class StoredOutbound:
    message: Message
    # How long until the message's pacing slot (sync sends; 0 for the others).
    send_delay_seconds: float


@dataclass(frozen=True, slots=True)
class NewOutbound:
    conversation: ConversationRef
    content: Content
    status: MessageStatus
    idempotency_key: str | None
    request_hash: bytes
    lease_seconds: float
    max_age_seconds: float
    slot_seconds: float
    max_pacing_wait_seconds: float
    message_id: UUID = NOT_STORED_YET  # given when it is stored


@dataclass(frozen=True, slots=True)
class SendOutcome:
    message_id: UUID
    account_id: UUID
    # The claim it was sent under: recorded only while the message is still under it.
    claim: int
    status: MessageStatus
    wa_message_id: str | None = None
    error_code: str | None = None
    error_message: str | None = None
