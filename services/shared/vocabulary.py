"""pigeon's vocabulary, defined once for every service and the SQL that filters on it: the
message types it sends, the recipients it sends them to, the events it tells of, the states of
a conversation in the inbox, and its own failure codes."""

import re
from enum import StrEnum

from services.shared.whatsapp_errors import FailureClass, FailureKind

# The Cloud API's `type` values of the messages pigeon sends.
MEDIA_TYPES = ("image", "document", "audio", "video", "sticker")
MESSAGE_TYPES = ("text", "template", *MEDIA_TYPES, "reaction", "location", "contacts", "interactive")
# The one type whose content is a JSON array (of contacts), not an object.
ARRAY_CONTENT_TYPES = frozenset({"contacts"})

# A recipient: an E.164 number, 5 to 15 digits, optionally after "+"; group 1 is the digits
# the Cloud API wants. WhatsApp would refuse a longer one.
RECIPIENT = re.compile(r"\+?([0-9]{5,15})")

# A business-scoped user id (BSUID): an ISO 3166 alpha-2 country code, a period, up to 128
# alphanumerics; a parent BSUID has "ENT." after the period (Meta, "Business-scoped user IDs":
# US.13491208655302741918, US.ENT.11815799212886844830).
BSUID = re.compile(r"[A-Z]{2}\.(?:ENT\.)?[A-Za-z0-9]{1,128}")

# A message template's statuses and categories (Meta's "Template management").
TEMPLATE_STATUSES = (
    "APPROVED",
    "PENDING",
    "REJECTED",
    "PAUSED",
    "DISABLED",
    "IN_APPEAL",
    "LIMIT_EXCEEDED",
    "ARCHIVED",
    "PENDING_DELETION",
    "DELETED",
)
TEMPLATE_CATEGORIES = ("MARKETING", "UTILITY", "AUTHENTICATION")

# A conversation's place in the team inbox (`status`). "snoozed" lasts until its
# `snoozed_until`, then reads "open" again; an inbound message reopens "resolved" and "snoozed".
CONVERSATION_STATUSES = ("open", "pending", "resolved", "snoozed")

# A conversation's label: letters, digits or "_", then also ".", ":" or "-"; at most 64, and
# one URL path segment as it is (PUT /conversations/{id}/labels/{label}).
LABEL = re.compile(r"\w[\w.:-]{0,63}")

# The longest `q` of a message search (GET /messages/search), in characters.
MAX_SEARCH_CHARS = 200

# The event of a conversation that changed (its messages, its window, its inbox state).
CONVERSATION_UPDATED = "conversation.updated"

# The types of the events in an account's log (GET /ws, outbound webhooks). The statements
# that append them spell them too: `'message.' || status`, `'media.' || status`.
EVENT_TYPES = (
    "message.queued",
    "message.sent",
    "message.failed",
    "message.delivered",
    "message.read",
    "message.received",
    CONVERSATION_UPDATED,
    "media.stored",
    "media.failed",
    "webhook_endpoint.disabled",
)
# The event an endpoint's test sends (POST /webhook-endpoints/{id}/test); never in the log.
PING_EVENT_TYPE = "ping"


class ApiKeyScope(StrEnum):
    """What an API key may do (api_keys.scopes, migration 0020): the gateway checks each route's
    scope (services/gateway/scopes.py) and answers 403 insufficient_scope without it."""

    # Sending: the send routes, media uploads, read receipts, template syncs.
    SEND = "send"
    # Reading: conversations, messages, media files, templates, GET /ws.
    READ = "read"
    # Configuring outbound webhooks: /webhook-endpoints.
    WEBHOOKS = "webhooks"


API_KEY_SCOPES = tuple(ApiKeyScope)

# pigeon's own failure codes: a message's `error_code` when it failed without a numbered
# WhatsApp error. WhatsApp's own codes are its numbers as text ("131026").


class FailureCode(StrEnum):
    # The sender's own, for a WhatsApp call that gave no usable answer.
    TIMEOUT = "timeout"
    CONNECTION_ERROR = "connection_error"
    # The connection broke after the request was written: WhatsApp may have the message.
    UNKNOWN_OUTCOME = "unknown_outcome"
    BAD_RESPONSE = "bad_response"
    # The sender got the request after its pacing slot had passed; it did not call WhatsApp.
    LATE_FOR_SLOT = "late_for_slot"
    # Not sent within its validity period.
    EXPIRED = "expired"
    # Free-form message outside the 24 h window (WhatsApp's 131047, or pigeon's own check).
    REENGAGEMENT_REQUIRED = "reengagement_required"
    # Refused before any WhatsApp call: the account's next pacing slot is too far away.
    ACCOUNT_RATE_LIMITED = "account_rate_limited"
    # The call to the sender failed (unreachable, or it refused the request).
    SENDER_UNAVAILABLE = "sender_unavailable"
    SENDER_REFUSED = "sender_refused"
    # A send naming a file of pigeon's (media_id): none of the account's is stored under that
    # id, or it is not of a type the message takes; or its bytes could not be read or uploaded.
    MEDIA_NOT_USABLE = "media_not_usable"
    MEDIA_UNAVAILABLE = "media_unavailable"
    # A media id WhatsApp no longer knows (expired, deleted, never there), or its download URL gone.
    MEDIA_NOT_FOUND = "media_not_found"
    # A media file larger than pigeon takes: not downloaded.
    MEDIA_TOO_LARGE = "media_too_large"


class RefusalCode(StrEnum):
    """Why pigeon refused a send before storing it or calling WhatsApp (HTTP 422): what WhatsApp
    would refuse after the round trip (`domain/templates.py`)."""

    TEMPLATE_NOT_FOUND = "template_not_found"
    TEMPLATE_LANGUAGE_NOT_FOUND = "template_language_not_found"
    TEMPLATE_NOT_APPROVED = "template_not_approved"
    TEMPLATE_PARAMETER_MISMATCH = "template_parameter_mismatch"
    MARKETING_OPTED_OUT = "marketing_opted_out"


def refusal_text(code: RefusalCode, message: str) -> str:
    """A refusal as conversations words it in a FAILED_PRECONDITION status: "<code>: <message>"."""
    return f"{code}: {message}"


def refusal_in(text: str) -> tuple[RefusalCode, str] | None:
    """The refusal a FAILED_PRECONDITION status's text carries, if it is one."""
    code, _, message = text.partition(": ")
    try:
        return RefusalCode(code), message
    except ValueError:
        return None


_FAILURE_OF_CODE: dict[str, tuple[FailureClass, FailureKind | None]] = {
    FailureCode.TIMEOUT: (FailureClass.RETRYABLE, FailureKind.TIMEOUT),
    FailureCode.CONNECTION_ERROR: (FailureClass.RETRYABLE, FailureKind.CONNECTION),
    FailureCode.UNKNOWN_OUTCOME: (FailureClass.RETRYABLE, FailureKind.UNKNOWN_OUTCOME),
    FailureCode.BAD_RESPONSE: (FailureClass.RETRYABLE, FailureKind.BAD_RESPONSE),
    FailureCode.LATE_FOR_SLOT: (FailureClass.RETRYABLE, FailureKind.LATE),
    FailureCode.SENDER_UNAVAILABLE: (FailureClass.RETRYABLE, FailureKind.CONNECTION),
    FailureCode.SENDER_REFUSED: (FailureClass.PERMANENT, None),
    FailureCode.MEDIA_NOT_USABLE: (FailureClass.PERMANENT, None),
    FailureCode.MEDIA_UNAVAILABLE: (FailureClass.RETRYABLE, None),
}

# A failed call to the sender: "sender_" + the gRPC status name ("sender_unavailable", ...).
SENDER_CALL_PREFIX = "sender_"


def failure_of_code(code: str) -> tuple[FailureClass, FailureKind | None] | None:
    """What a failure with one of pigeon's codes was when it happened (the gateway answers a
    replay of a failed send from the stored code); None for WhatsApp's own codes."""
    if code in _FAILURE_OF_CODE:
        return _FAILURE_OF_CODE[code]
    if code.startswith(SENDER_CALL_PREFIX):
        # Any other failed call to the sender ("sender_internal", ...): it may pass.
        return FailureClass.RETRYABLE, FailureKind.CONNECTION
    return None


# Failures pigeon concluded without WhatsApp's word: WhatsApp may have the message after all.
_CONCLUDED_BY_PIGEON = frozenset(
    {
        FailureCode.TIMEOUT,
        FailureCode.CONNECTION_ERROR,
        FailureCode.UNKNOWN_OUTCOME,
        FailureCode.BAD_RESPONSE,
        FailureCode.LATE_FOR_SLOT,
        FailureCode.EXPIRED,
        FailureCode.REENGAGEMENT_REQUIRED,
    }
)


def sender_call_failed(grpc_status_name: str) -> str:
    """The code of a failed call to the sender, from its gRPC status name ("UNAVAILABLE")."""
    return SENDER_CALL_PREFIX + grpc_status_name.lower()


def concluded_by_pigeon(code: str | None) -> bool:
    """Whether a failure with this code was pigeon's conclusion rather than WhatsApp's word,
    so that a later sent, delivered or read from WhatsApp overrides it."""
    return code is not None and (code in _CONCLUDED_BY_PIGEON or code.startswith(SENDER_CALL_PREFIX))
