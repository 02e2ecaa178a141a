"""A replay of a failed sync send is answered from the code stored with the message
(services/gateway/errors.py from_stored_failure, services/shared/vocabulary.py
failure_of_code): as the first answer was, whichever failed call to the sender it was."""

import pytest
from pigeon.conversations.v1 import conversations_pb2 as conversations_pb

from services.gateway.errors import from_stored_failure
from services.shared.vocabulary import FailureCode, failure_of_code, sender_call_failed
from services.shared.whatsapp_errors import FailureClass, FailureKind


def stored(code: str) -> conversations_pb.Message:
    return conversations_pb.Message(
        id="m1", status=conversations_pb.MESSAGE_STATUS_FAILED, error_code=code, error_message="why"
    )


@pytest.mark.parametrize("status", ["UNAVAILABLE", "INTERNAL", "UNKNOWN", "CANCELLED"])
def test_any_failed_call_to_the_sender_is_retryable(status: str) -> None:
    code = sender_call_failed(status)
    assert failure_of_code(code) == (FailureClass.RETRYABLE, FailureKind.CONNECTION)
    error = from_stored_failure(stored(code))
    assert (error.status, error.code, error.details["retryable"]) == (502, "whatsapp_failed", True)


def test_a_refusal_by_the_sender_stays_permanent() -> None:
    assert failure_of_code(FailureCode.SENDER_REFUSED) == (FailureClass.PERMANENT, None)
    assert from_stored_failure(stored(FailureCode.SENDER_REFUSED)).details["retryable"] is False


def test_a_deadline_is_a_timeout() -> None:
    assert failure_of_code(FailureCode.TIMEOUT) == (FailureClass.RETRYABLE, FailureKind.TIMEOUT)
    assert from_stored_failure(stored(FailureCode.TIMEOUT)).status == 504


def test_whatsapps_own_codes_are_not_pigeons() -> None:
    assert failure_of_code("131026") is None
    assert failure_of_code("sender") is None
