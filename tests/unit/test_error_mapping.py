"""The gateway's error map: WhatsApp failures and gRPC statuses to HTTP, and the JSON shape."""

from typing import Any

import grpc
import orjson
import pytest
from pigeon.conversations.v1 import conversations_pb2 as conversations_pb
from pigeon.sender.v1 import sender_pb2

from services.gateway.errors import ApiError, from_grpc, from_item_status, from_whatsapp_failure, json_error

MESSAGE_ID = "4c3a1d2e-9f8b-4a7c-8e6d-5b4a3c2d1e0f"


def failure(failure_class: int, kind: int, **fields: Any) -> sender_pb2.Failure:
    values: dict[str, Any] = {
        "code": "131026",
        "message": "Message undeliverable",
        "details": "Receiver is incapable of receiving this message",
        "fbtrace_id": "AbCdEf123",
        "http_status": 400,
    }
    values.update(fields)
    return sender_pb2.Failure(failure_class=failure_class, kind=kind, **values)


def expected_details(
    code: str, message: str, details: str, fbtrace_id: str, retryable: bool
) -> dict[str, Any]:
    return {
        "message_id": MESSAGE_ID,
        "whatsapp_code": code,
        "whatsapp_message": message,
        "whatsapp_details": details,
        "fbtrace_id": fbtrace_id,
        "retryable": retryable,
    }


# --- from_whatsapp_failure -------------------------------------------------------------


def test_reengagement_required() -> None:
    error = from_whatsapp_failure(
        failure(
            sender_pb2.FAILURE_CLASS_REENGAGEMENT_REQUIRED,
            sender_pb2.FAILURE_KIND_WHATSAPP_ERROR,
            code="131047",
            message="Re-engagement message",
            details="More than 24 hours have passed",
        ),
        MESSAGE_ID,
    )

    assert isinstance(error, ApiError)
    assert (error.status, error.code) == (422, "reengagement_required")
    assert error.message == "more than 24 hours since the customer's last message: send a template"
    assert error.details == expected_details(
        "131047", "Re-engagement message", "More than 24 hours have passed", "AbCdEf123", False
    )


def test_permanent_failure_is_whatsapp_rejected() -> None:
    error = from_whatsapp_failure(
        failure(sender_pb2.FAILURE_CLASS_PERMANENT, sender_pb2.FAILURE_KIND_WHATSAPP_ERROR), MESSAGE_ID
    )

    assert (error.status, error.code) == (422, "whatsapp_rejected")
    assert error.message == "WhatsApp refused the message: Message undeliverable"
    assert error.details == expected_details(
        "131026",
        "Message undeliverable",
        "Receiver is incapable of receiving this message",
        "AbCdEf123",
        False,
    )


def test_permanent_bad_response_is_whatsapp_rejected() -> None:
    error = from_whatsapp_failure(
        failure(
            sender_pb2.FAILURE_CLASS_PERMANENT,
            sender_pb2.FAILURE_KIND_BAD_RESPONSE,
            code="bad_response",
            message="not JSON (HTTP 200): 'oops'",
            details="",
            fbtrace_id="",
        ),
        MESSAGE_ID,
    )

    assert (error.status, error.code) == (422, "whatsapp_rejected")
    assert error.message == "WhatsApp refused the message: not JSON (HTTP 200): 'oops'"
    assert error.details == expected_details("bad_response", "not JSON (HTTP 200): 'oops'", "", "", False)


def test_timeout_is_whatsapp_timeout() -> None:
    error = from_whatsapp_failure(
        failure(
            sender_pb2.FAILURE_CLASS_RETRYABLE,
            sender_pb2.FAILURE_KIND_TIMEOUT,
            code="timeout",
            message="no answer from WhatsApp within 10 s; it may still deliver",
            details="",
            fbtrace_id="",
            http_status=0,
        ),
        MESSAGE_ID,
    )

    assert (error.status, error.code) == (504, "whatsapp_timeout")
    assert error.message == "WhatsApp did not answer in time"
    assert error.details == expected_details(
        "timeout", "no answer from WhatsApp within 10 s; it may still deliver", "", "", True
    )


def test_retryable_whatsapp_error_is_whatsapp_failed() -> None:
    error = from_whatsapp_failure(
        failure(
            sender_pb2.FAILURE_CLASS_RETRYABLE,
            sender_pb2.FAILURE_KIND_WHATSAPP_ERROR,
            code="130429",
            message="Rate limit hit",
            details="Cloud API message throughput has been reached.",
            http_status=429,
        ),
        MESSAGE_ID,
    )

    assert (error.status, error.code) == (502, "whatsapp_failed")
    assert error.message == "WhatsApp failed: Rate limit hit"
    assert error.details == expected_details(
        "130429", "Rate limit hit", "Cloud API message throughput has been reached.", "AbCdEf123", True
    )


def test_connection_failure_is_whatsapp_failed() -> None:
    error = from_whatsapp_failure(
        failure(
            sender_pb2.FAILURE_CLASS_RETRYABLE,
            sender_pb2.FAILURE_KIND_CONNECTION,
            code="connection_error",
            message="ClientConnectorError: refused",
            details="",
            fbtrace_id="",
            http_status=0,
        ),
        MESSAGE_ID,
    )

    assert (error.status, error.code) == (502, "whatsapp_failed")
    assert error.message == "WhatsApp failed: ClientConnectorError: refused"
    assert error.details == expected_details(
        "connection_error", "ClientConnectorError: refused", "", "", True
    )


def test_whatsapp_failed_without_a_message_names_the_code() -> None:
    error = from_whatsapp_failure(
        failure(
            sender_pb2.FAILURE_CLASS_RETRYABLE,
            sender_pb2.FAILURE_KIND_BAD_RESPONSE,
            code="bad_response",
            message="",
            details="",
            fbtrace_id="",
        ),
        MESSAGE_ID,
    )

    assert (error.status, error.code) == (502, "whatsapp_failed")
    assert error.message == "WhatsApp failed: bad_response"
    assert error.details["retryable"] is True


def test_needs_operator_is_an_account_problem_and_not_retryable() -> None:
    error = from_whatsapp_failure(
        failure(
            sender_pb2.FAILURE_CLASS_NEEDS_OPERATOR,
            sender_pb2.FAILURE_KIND_WHATSAPP_ERROR,
            code="190",
            message="Error validating access token",
            details="",
            http_status=401,
        ),
        MESSAGE_ID,
    )

    assert (error.status, error.code) == (502, "whatsapp_account_problem")
    assert error.message.endswith(": Error validating access token")
    assert error.details == expected_details("190", "Error validating access token", "", "AbCdEf123", False)


def test_unspecified_class_is_whatsapp_failed_and_not_retryable() -> None:
    error = from_whatsapp_failure(sender_pb2.Failure(), MESSAGE_ID)

    assert (error.status, error.code) == (502, "whatsapp_failed")
    assert error.message == "WhatsApp failed: "
    assert error.details == expected_details("", "", "", "", False)


@pytest.mark.parametrize(
    ("failure_class", "kind", "status", "code"),
    [
        # The class decides first; the kind only separates timeouts from other failures.
        (
            sender_pb2.FAILURE_CLASS_REENGAGEMENT_REQUIRED,
            sender_pb2.FAILURE_KIND_TIMEOUT,
            422,
            "reengagement_required",
        ),
        (sender_pb2.FAILURE_CLASS_PERMANENT, sender_pb2.FAILURE_KIND_TIMEOUT, 422, "whatsapp_rejected"),
        (sender_pb2.FAILURE_CLASS_PERMANENT, sender_pb2.FAILURE_KIND_CONNECTION, 422, "whatsapp_rejected"),
        (
            sender_pb2.FAILURE_CLASS_NEEDS_OPERATOR,
            sender_pb2.FAILURE_KIND_TIMEOUT,
            502,
            "whatsapp_account_problem",
        ),
        (sender_pb2.FAILURE_CLASS_UNSPECIFIED, sender_pb2.FAILURE_KIND_TIMEOUT, 504, "whatsapp_timeout"),
        (sender_pb2.FAILURE_CLASS_RETRYABLE, sender_pb2.FAILURE_KIND_UNSPECIFIED, 502, "whatsapp_failed"),
        (sender_pb2.FAILURE_CLASS_RETRYABLE, sender_pb2.FAILURE_KIND_BAD_RESPONSE, 502, "whatsapp_failed"),
        # WhatsApp may have it: a gateway error, not "WhatsApp failed".
        (
            sender_pb2.FAILURE_CLASS_RETRYABLE,
            sender_pb2.FAILURE_KIND_UNKNOWN_OUTCOME,
            504,
            "whatsapp_outcome_unknown",
        ),
        (sender_pb2.FAILURE_CLASS_RETRYABLE, sender_pb2.FAILURE_KIND_CONNECTION, 502, "whatsapp_failed"),
    ],
)
def test_class_and_kind_precedence(failure_class: int, kind: int, status: int, code: str) -> None:
    error = from_whatsapp_failure(failure(failure_class, kind), MESSAGE_ID)

    assert (error.status, error.code) == (status, code)
    assert error.details["message_id"] == MESSAGE_ID
    assert error.details["whatsapp_code"] == "131026"


def test_retryable_flag_follows_the_class_only() -> None:
    flags = {
        name: from_whatsapp_failure(
            failure(value, sender_pb2.FAILURE_KIND_WHATSAPP_ERROR), MESSAGE_ID
        ).details["retryable"]
        for name, value in sender_pb2.FailureClass.items()
    }

    assert flags == {
        "FAILURE_CLASS_UNSPECIFIED": False,
        "FAILURE_CLASS_RETRYABLE": True,
        "FAILURE_CLASS_PERMANENT": False,
        "FAILURE_CLASS_REENGAGEMENT_REQUIRED": False,
        "FAILURE_CLASS_NEEDS_OPERATOR": False,
    }


# --- json_error / ApiError.response ----------------------------------------------------


def test_json_error_body_shape() -> None:
    response = json_error(409, "conflict", "already sent", {"message_id": MESSAGE_ID})

    assert response.status == 409
    assert response.content_type == "application/json"
    assert orjson.loads(response.body) == {
        "error": {"code": "conflict", "message": "already sent", "details": {"message_id": MESSAGE_ID}}
    }


def test_json_error_without_details_has_null_details() -> None:
    response = json_error(404, "not_found", "no such message")

    assert response.status == 404
    assert orjson.loads(response.body) == {
        "error": {"code": "not_found", "message": "no such message", "details": None}
    }


def test_json_error_carries_extra_headers() -> None:
    response = json_error(405, "method_not_allowed", "Method Not Allowed", None, {"Allow": "GET, POST"})

    assert response.headers["Allow"] == "GET, POST"
    assert response.content_type == "application/json"


def test_api_error_response_uses_its_own_fields() -> None:
    error = ApiError(422, "text_too_long", "too long", {"field": "text.body", "max_length": 4096})

    error.headers = {"Retry-After": "1"}
    response = error.response()

    assert str(error) == "too long"
    assert response.status == 422
    assert response.headers["Retry-After"] == "1"
    assert orjson.loads(response.body) == {
        "error": {
            "code": "text_too_long",
            "message": "too long",
            "details": {"field": "text.body", "max_length": 4096},
        }
    }


def test_whatsapp_failure_renders_as_json() -> None:
    error = from_whatsapp_failure(
        failure(sender_pb2.FAILURE_CLASS_RETRYABLE, sender_pb2.FAILURE_KIND_TIMEOUT, message="slow"),
        MESSAGE_ID,
    )

    response = error.response()

    assert response.status == 504
    body = orjson.loads(response.body)
    assert body["error"]["code"] == "whatsapp_timeout"
    assert body["error"]["details"]["message_id"] == MESSAGE_ID
    assert body["error"]["details"]["whatsapp_code"] == "131026"


# --- from_grpc -------------------------------------------------------------------------


def rpc_error(code: grpc.StatusCode, details: str | None) -> grpc.aio.AioRpcError:
    return grpc.aio.AioRpcError(code, grpc.aio.Metadata(), grpc.aio.Metadata(), details=details)


@pytest.mark.parametrize(
    ("grpc_code", "status", "code"),
    [
        (grpc.StatusCode.NOT_FOUND, 404, "not_found"),
        (grpc.StatusCode.INVALID_ARGUMENT, 400, "invalid_request"),
        (grpc.StatusCode.UNAUTHENTICATED, 401, "unauthenticated"),
        (grpc.StatusCode.FAILED_PRECONDITION, 409, "conflict"),
        (grpc.StatusCode.ALREADY_EXISTS, 409, "idempotency_key_reused"),
    ],
)
def test_grpc_client_errors_keep_the_downstream_text(
    grpc_code: grpc.StatusCode, status: int, code: str
) -> None:
    error = from_grpc(rpc_error(grpc_code, "message 42 is sent, not sending"), "conversations")

    assert (error.status, error.code) == (status, code)
    assert error.message == "message 42 is sent, not sending"
    assert error.details is None


def test_grpc_client_error_without_text_uses_the_code() -> None:
    error = from_grpc(rpc_error(grpc.StatusCode.NOT_FOUND, ""), "conversations")

    assert error.message == "not_found"


@pytest.mark.parametrize(
    ("grpc_code", "status", "code"),
    [
        (grpc.StatusCode.UNAVAILABLE, 503, "service_unavailable"),
        (grpc.StatusCode.DEADLINE_EXCEEDED, 503, "service_unavailable"),
        (grpc.StatusCode.INTERNAL, 502, "upstream_error"),
        (grpc.StatusCode.UNKNOWN, 502, "upstream_error"),
        (grpc.StatusCode.PERMISSION_DENIED, 502, "upstream_error"),
        # No pigeon service limits rates over gRPC: this is a message over gRPC's size limit.
        (grpc.StatusCode.RESOURCE_EXHAUSTED, 502, "upstream_error"),
    ],
)
def test_grpc_server_errors_hide_the_downstream_text(
    grpc_code: grpc.StatusCode, status: int, code: str
) -> None:
    error = from_grpc(rpc_error(grpc_code, "connection to 10.0.0.7:5432 refused"), "sender")

    assert (error.status, error.code) == (status, code)
    assert error.message == "the sender service is unavailable, retry later"
    assert error.details == {"service": "sender"}


# --- from_item_status: one request's failure within a batch call ------------------------

HIDDEN = "the conversations service is unavailable, retry later"


@pytest.mark.parametrize(
    ("grpc_code", "text", "status", "code", "message"),
    [
        (grpc.StatusCode.NOT_FOUND, "conversation 7 not found", 404, "not_found", "conversation 7 not found"),
        (
            grpc.StatusCode.INVALID_ARGUMENT,
            "content.type is required",
            400,
            "invalid_request",
            "content.type is required",
        ),
        (
            grpc.StatusCode.ALREADY_EXISTS,
            "key used with another body",
            409,
            "idempotency_key_reused",
            "key used with another body",
        ),
        (grpc.StatusCode.UNAVAILABLE, "database unavailable", 503, "service_unavailable", HIDDEN),
        (grpc.StatusCode.DEADLINE_EXCEEDED, "no answer in time", 503, "service_unavailable", HIDDEN),
        (grpc.StatusCode.INTERNAL, "internal error", 502, "upstream_error", HIDDEN),
    ],
)
def test_an_item_status_maps_as_the_same_status_of_a_whole_call(
    grpc_code: grpc.StatusCode, text: str, status: int, code: str, message: str
) -> None:
    error = from_item_status(
        conversations_pb.ItemStatus(code=grpc_code.value[0], message=text), "conversations"
    )
    whole_call = from_grpc(rpc_error(grpc_code, text), "conversations")

    assert (error.status, error.code, error.message) == (status, code, message)
    assert (whole_call.status, whole_call.code, whole_call.message) == (status, code, message)


def test_an_item_status_with_an_unknown_code_is_an_upstream_error() -> None:
    error = from_item_status(conversations_pb.ItemStatus(code=99, message="?"), "conversations")

    assert (error.status, error.code) == (502, "upstream_error")
