"""The one map between failures (`whatsapp_errors.py`) and the sender's contract
(`sender.proto`): for the code that speaks gRPC, never for the domain."""

from pigeon.sender.v1 import sender_pb2

from services.shared.whatsapp_errors import Failure, FailureClass, FailureKind

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
    FailureKind.UNKNOWN_OUTCOME: sender_pb2.FAILURE_KIND_UNKNOWN_OUTCOME,
}
FAILURE_CLASS_FROM_PROTO = {proto: failure_class for failure_class, proto in FAILURE_CLASS_TO_PROTO.items()}
FAILURE_KIND_FROM_PROTO = {proto: kind for kind, proto in FAILURE_KIND_TO_PROTO.items()}
_INT32_MAX = 2**31 - 1


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
