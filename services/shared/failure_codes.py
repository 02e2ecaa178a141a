"""pigeon's own failure codes: a message's `error_code` when it failed without a numbered
WhatsApp error. WhatsApp's own codes are its numbers as text ("131026").

Defined once, here, for every service and the SQL that filters on them.
"""

from enum import StrEnum


class FailureCode(StrEnum):
    # The sender's own, for a WhatsApp call that gave no usable answer.
    TIMEOUT = "timeout"
    CONNECTION_ERROR = "connection_error"
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


# A failed call to the sender: "sender_" + the gRPC status name ("sender_unavailable", ...).
SENDER_CALL_PREFIX = "sender_"

# Failures pigeon concluded without WhatsApp's word: WhatsApp may have the message after all.
_CONCLUDED_BY_PIGEON = frozenset(
    {
        FailureCode.TIMEOUT,
        FailureCode.CONNECTION_ERROR,
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
