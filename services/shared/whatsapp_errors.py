"""The one table that says what a Graph API error code means for the caller: read by the
sender when WhatsApp answers, and by the gateway when it answers an idempotent replay of a
failed send from the code stored with the message. With it, the failure classes and kinds,
and the failure record itself. Their map to the sender's contract is `failure_proto.py`.
"""

import enum
from dataclasses import dataclass


class FailureClass(enum.Enum):
    """What the caller should do about a failure."""

    RETRYABLE = "retryable"
    PERMANENT = "permanent"
    REENGAGEMENT_REQUIRED = "reengagement_required"
    NEEDS_OPERATOR = "needs_operator"


class FailureKind(enum.Enum):
    """How the call failed."""

    WHATSAPP_ERROR = "whatsapp_error"
    TIMEOUT = "timeout"
    CONNECTION = "connection"
    BAD_RESPONSE = "bad_response"
    LATE = "late"  # not sent: too late for the caller's time limit


@dataclass(frozen=True, slots=True)
class Failure:
    """A send that WhatsApp refused or that never got its answer: a result, not an error."""

    failure_class: FailureClass
    kind: FailureKind | None  # None: not a call that failed (the request was refused before)
    # Graph error.code as text ("131026"), or one of pigeon's own (vocabulary.FailureCode).
    code: str
    message: str
    # 0 when there was no HTTP answer.
    http_status: int = 0
    subcode: int = 0
    details: str = ""
    fbtrace_id: str = ""
    retry_after_seconds: float = 0.0


# Graph API error codes by what the caller should do, from the shared Cloud API digest
# (/work/shared/whatsapp-cloud-api.md). Codes not listed fall back on the HTTP status.
# Beyond the digest, from Meta's error-code list: 131057 (account in maintenance, e.g. a
# throughput upgrade) passes; 133010 (phone number not registered) needs an operator.
RETRYABLE_CODES = frozenset({1, 2, 4, 80007, 130429, 131000, 131016, 131056, 131057})
REENGAGEMENT_CODES = frozenset({131047})
NEEDS_OPERATOR_CODES = frozenset({190, 131053, 131048, 131049, 133010})
PERMANENT_CODES = frozenset(
    {100, 131008, 131009, 131026, 131051, 131031, 368, 131042, 10}
    | set(range(132000, 132017))  # template problems
    | set(range(200, 300))  # permissions
)


def classify(code: int, http_status: int = 0) -> FailureClass:
    """The one classification table: a Graph API error code to what the caller should do.

    Known codes decide on their own (the digest says to treat the code as the truth).
    For an unknown code, a 5xx or 429 answer means trouble on Meta's side or too many
    calls, which may pass; anything else is assumed to be wrong with the request.
    """
    if code in RETRYABLE_CODES:
        return FailureClass.RETRYABLE
    if code in REENGAGEMENT_CODES:
        return FailureClass.REENGAGEMENT_REQUIRED
    if code in NEEDS_OPERATOR_CODES:
        return FailureClass.NEEDS_OPERATOR
    if code in PERMANENT_CODES:
        return FailureClass.PERMANENT
    if http_status >= 500 or http_status == 429:
        return FailureClass.RETRYABLE
    return FailureClass.PERMANENT


KNOWN_CODES = RETRYABLE_CODES | REENGAGEMENT_CODES | NEEDS_OPERATOR_CODES | PERMANENT_CODES
