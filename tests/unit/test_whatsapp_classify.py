"""The Cloud API client's pure parts: the classification table, reading answers, and
building request bodies."""

from email.utils import formatdate

import orjson
import pytest

from services.sender.whatsapp import (
    Accepted,
    Failure,
    FailureClass,
    FailureKind,
    build_request_body,
    classify,
    parse_response,
    parse_retry_after,
)
from services.shared.whatsapp_errors import (
    KNOWN_CODES,
    NEEDS_OPERATOR_CODES,
    PERMANENT_CODES,
    REENGAGEMENT_CODES,
    RETRYABLE_CODES,
)
from tests.fixtures.error_classes import EXPECTED_CLASS
from tools.whatsapp_sim.app import DOCUMENTED_CODES


@pytest.mark.parametrize(("code", "expected"), sorted(EXPECTED_CLASS.items()))
def test_known_codes_decide_whatever_the_http_status(code: int, expected: FailureClass) -> None:
    for http_status in (0, 400, 401, 403, 404, 429, 500, 503):
        assert classify(code, http_status) is expected, http_status


def test_every_code_meta_documents_has_a_class_decided_for_it() -> None:
    # The simulator's table is Meta's list; 200-299 is one range there, sampled here.
    assert DOCUMENTED_CODES | {200, 299} == set(EXPECTED_CLASS)
    # And the classification table names no code but those and its two ranges.
    ranges = set(range(200, 300)) | set(range(132000, 132017))
    assert KNOWN_CODES - ranges == DOCUMENTED_CODES - ranges


def test_no_code_is_in_two_classes() -> None:
    tables = [RETRYABLE_CODES, REENGAGEMENT_CODES, NEEDS_OPERATOR_CODES, PERMANENT_CODES]
    assert sum(len(table) for table in tables) == len(KNOWN_CODES)


@pytest.mark.parametrize(
    ("http_status", "expected"),
    [
        (500, FailureClass.RETRYABLE),
        (502, FailureClass.RETRYABLE),
        (503, FailureClass.RETRYABLE),
        (429, FailureClass.RETRYABLE),
        (400, FailureClass.PERMANENT),
        (403, FailureClass.PERMANENT),
        (0, FailureClass.PERMANENT),
    ],
)
def test_unknown_codes_fall_back_on_the_http_status(http_status: int, expected: FailureClass) -> None:
    assert classify(999_999, http_status) is expected


def test_neighbours_of_ranges_are_not_swallowed_by_them() -> None:
    # 132017 and 300 sit just outside the template and permission ranges.
    assert classify(132017, 500) is FailureClass.RETRYABLE
    assert classify(300, 500) is FailureClass.RETRYABLE
    assert classify(199, 500) is FailureClass.RETRYABLE


# --- answers --------------------------------------------------------------------------


def test_success_answer_becomes_accepted() -> None:
    body = orjson.dumps(
        {
            "messaging_product": "whatsapp",
            "contacts": [{"input": "15551234567", "wa_id": "15551234567"}],
            "messages": [{"id": "wamid.HBgL", "message_status": "held_for_quality_assessment"}],
        }
    )
    assert parse_response(200, body) == Accepted(
        wa_message_id="wamid.HBgL", wa_id="15551234567", message_status="held_for_quality_assessment"
    )


def test_success_answer_without_optional_fields() -> None:
    body = b'{"messages": [{"id": "wamid.X"}]}'
    assert parse_response(200, body) == Accepted(wa_message_id="wamid.X", wa_id="", message_status="")


def test_graph_error_body_is_read_field_by_field() -> None:
    body = orjson.dumps(
        {
            "error": {
                "message": "(#130429) Rate limit hit",
                "type": "OAuthException",
                "code": 130429,
                "error_subcode": 2494055,
                "error_data": {"messaging_product": "whatsapp", "details": "Cloud API message throughput"},
                "fbtrace_id": "A1b2C3",
            }
        }
    )
    assert parse_response(429, body, retry_after="7") == Failure(
        failure_class=FailureClass.RETRYABLE,
        kind=FailureKind.WHATSAPP_ERROR,
        code="130429",
        message="(#130429) Rate limit hit",
        http_status=429,
        subcode=2494055,
        details="Cloud API message throughput",
        fbtrace_id="A1b2C3",
        retry_after_seconds=7.0,
    )


def test_graph_error_with_only_a_code() -> None:
    result = parse_response(401, b'{"error": {"code": 190}}')
    assert result == Failure(
        failure_class=FailureClass.NEEDS_OPERATOR,
        kind=FailureKind.WHATSAPP_ERROR,
        code="190",
        message="",
        http_status=401,
    )


def test_graph_error_code_as_a_digit_string_is_still_the_code() -> None:
    result = parse_response(400, b'{"error": {"code": "131026", "error_data": "not an object"}}')
    assert isinstance(result, Failure)
    assert (result.code, result.failure_class, result.details) == ("131026", FailureClass.PERMANENT, "")


@pytest.mark.parametrize(
    ("http_status", "body", "expected_class"),
    [
        (502, b"<html><body>502 Bad Gateway</body></html>", FailureClass.RETRYABLE),
        (400, b"Bad Request", FailureClass.PERMANENT),
        (500, b"", FailureClass.RETRYABLE),
        (400, b'["error"]', FailureClass.PERMANENT),
        (400, b'{"error": "nope"}', FailureClass.PERMANENT),
        (503, b'{"error": {"message": "no code"}}', FailureClass.RETRYABLE),
        # A 2xx that does not name the message may still have gone out: never retried.
        (200, b'{"messages": []}', FailureClass.PERMANENT),
        (200, b'{"messages": [{"id": ""}]}', FailureClass.PERMANENT),
        (200, b"OK", FailureClass.PERMANENT),
        # A proxy's "too many requests": it passes, unlike another 4xx.
        (429, b"<html>Too Many Requests</html>", FailureClass.RETRYABLE),
        (429, b'{"message": "Too Many Requests"}', FailureClass.RETRYABLE),
    ],
)
def test_answers_not_in_the_cloud_api_shape_are_bad_responses(
    http_status: int, body: bytes, expected_class: FailureClass
) -> None:
    result = parse_response(http_status, body)
    assert isinstance(result, Failure)
    assert result.kind is FailureKind.BAD_RESPONSE
    assert result.code == "bad_response"
    assert result.failure_class is expected_class
    assert result.http_status == http_status


def test_bad_response_message_quotes_a_bounded_snippet() -> None:
    result = parse_response(502, b"x" * 10_000)
    assert isinstance(result, Failure)
    assert "HTTP 502" in result.message
    assert len(result.message) < 300


@pytest.mark.parametrize(
    ("header", "expected"),
    [(None, 0.0), ("", 0.0), ("3", 3.0), ("1.5", 1.5), ("-4", 0.0), ("nan", 0.0), ("soon", 0.0)],
)
def test_retry_after_in_seconds(header: str | None, expected: float) -> None:
    assert parse_retry_after(header) == expected


def test_retry_after_as_an_http_date() -> None:
    now = 1_700_000_000.0
    assert parse_retry_after(formatdate(now + 30, usegmt=True), now=now) == 30.0
    assert parse_retry_after(formatdate(now - 30, usegmt=True), now=now) == 0.0


# --- request bodies -------------------------------------------------------------------


def test_request_body_has_the_cloud_api_envelope() -> None:
    body = build_request_body("15551234567", "text", b'{"body":"Hello","preview_url":false}')
    assert orjson.loads(body) == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "15551234567",
        "type": "text",
        "text": {"body": "Hello", "preview_url": False},
    }


def test_request_body_with_reply_context_and_callback_data() -> None:
    body = build_request_body(
        "15551234567",
        "reaction",
        {"message_id": "wamid.IN", "emoji": "👍"},
        reply_to="wamid.PREV",
        biz_opaque_callback_data="msg_01J",
    )
    decoded = orjson.loads(body)
    assert decoded["context"] == {"message_id": "wamid.PREV"}
    assert decoded["biz_opaque_callback_data"] == "msg_01J"
    assert decoded["reaction"] == {"message_id": "wamid.IN", "emoji": "👍"}


def test_request_body_leaves_out_empty_optionals() -> None:
    decoded = orjson.loads(build_request_body("1", "text", b'{"body":"x"}'))
    assert "context" not in decoded
    assert "biz_opaque_callback_data" not in decoded


def test_content_bytes_are_spliced_verbatim() -> None:
    # Spacing, key order, escapes and non-ASCII as the gateway wrote them: proof that the
    # bytes were not decoded and re-encoded.
    content = '{ "preview_url" : false,\n  "body": "h\\u00e9llo 👋 \\"quoted\\"" }'.encode()
    body = build_request_body("15551234567", "text", content, reply_to="wamid.PREV")
    assert b'"text":' + content + b"," in body
    assert orjson.loads(body)["text"] == {"preview_url": False, "body": 'héllo 👋 "quoted"'}


def test_bytes_and_mapping_bodies_mean_the_same_request() -> None:
    content = {"name": "hello_world", "language": {"code": "en_US"}}
    from_bytes = build_request_body("1", "template", orjson.dumps(content), "wamid.A", "cb")
    from_mapping = build_request_body("1", "template", content, "wamid.A", "cb")
    assert from_bytes == from_mapping


def test_a_bad_response_keeps_its_retry_hint_when_it_may_be_retried() -> None:
    throttled = parse_response(429, b"Too Many Requests", "30")
    assert isinstance(throttled, Failure)
    assert (throttled.failure_class, throttled.retry_after_seconds) == (FailureClass.RETRYABLE, 30.0)
    refused = parse_response(400, b"Bad Request", "30")
    assert isinstance(refused, Failure)
    assert refused.retry_after_seconds == 0.0
