"""The one table that says what a Graph API error code means for the caller: read by the
sender when WhatsApp answers, and by the gateway when it answers an idempotent replay of a
failed send from the code stored with the message. With it, the failure classes and kinds,
and the one map between them and the sender's contract (`sender.proto`).
"""

import enum
from dataclasses import dataclass

from pigeon.sender.v1 import sender_pb2


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


FAILURE_CLASS_TO_PROTO = {
    FailureClass.RETRYABLE: sender_pb2.FAILURE_CLASS_RETRYABLE,
    FailureClass.PERMANENT: sender_pb2.FAILURE_CLASS_PERMANENT,
    FailureClass.REENGAGEMENT_REQUIRED: sender_pb2.FAILURE_CLASS_REENGAGEMENT_REQUIRED,
    FailureClass.NEEDS_OPERATOR: sender_pb2.FAILURE_CLASS_NEEDS_OPERATOR,
}
FAILURE_KIND_TO_PROTO = {
    FailureKind.WHATSAPP_ERROR: sender_pb2.FAILURE_KIND_WHATSAPP_ERROR,
    FailureKind.TIMEOUT: sender_pb2.FAILURE_KIND_TIMEOUT,
    FailureKind.CONNECTION: sender_pb2.FAILURE_KIND_CONNECTION,
    FailureKind.BAD_RESPONSE: sender_pb2.FAILURE_KIND_BAD_RESPONSE,
    FailureKind.LATE: sender_pb2.FAILURE_KIND_LATE,
}
FAILURE_CLASS_FROM_PROTO = {proto: failure_class for failure_class, proto in FAILURE_CLASS_TO_PROTO.items()}
FAILURE_KIND_FROM_PROTO = {proto: kind for kind, proto in FAILURE_KIND_TO_PROTO.items()}
_INT32_MAX = 2**31 - 1


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


def failure_to_proto(failure: Failure) -> sender_pb2.Failure:
    return sender_pb2.Failure(
        failure_class=FAILURE_CLASS_TO_PROTO[failure.failure_class],
        kind=FAILURE_KIND_TO_PROTO[failure.kind] if failure.kind else sender_pb2.FAILURE_KIND_UNSPECIFIED,
        http_status=failure.http_status,
        code=failure.code,
        # int32 on the wire; a subcode beyond it would make protobuf raise.
        subcode=failure.subcode if abs(failure.subcode) <= _INT32_MAX else 0,
        message=failure.message,
        details=failure.details,
        fbtrace_id=failure.fbtrace_id,
        retry_after_seconds=failure.retry_after_seconds,
    )


def failure_from_proto(failure: sender_pb2.Failure) -> Failure:
    """A failure as the sender reported it; an unspecified class (a newer sender) counts as
    permanent, as an unknown code does."""
    return Failure(
        failure_class=FAILURE_CLASS_FROM_PROTO.get(failure.failure_class, FailureClass.PERMANENT),
        kind=FAILURE_KIND_FROM_PROTO.get(failure.kind),
        code=failure.code,
        message=failure.message,
        http_status=failure.http_status,
        subcode=failure.subcode,
        details=failure.details,
        fbtrace_id=failure.fbtrace_id,
        retry_after_seconds=failure.retry_after_seconds,
    )


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
