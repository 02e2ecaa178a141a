"""The one map from failures to HTTP responses.

Every error leaves the gateway as `{"error": {"code", "message", "details"}}` with the
status chosen here: from a validation problem, a gRPC status of a downstream service,
or WhatsApp's answer to a send.
"""

import re
from collections.abc import Mapping, Sequence
from typing import Any

import grpc
import msgspec
import orjson
from aiohttp import web
from pigeon.conversations.v1 import conversations_pb2 as conversations_pb
from pigeon.sender.v1 import sender_pb2

from services.gateway.models import PATTERN_DESCRIPTIONS
from services.shared.failure_proto import FAILURE_CLASS_TO_PROTO, FAILURE_KIND_TO_PROTO
from services.shared.vocabulary import FailureCode, failure_of_code, refusal_in
from services.shared.whatsapp_errors import classify


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers

    def response(self) -> web.Response:
        return json_error(self.status, self.code, self.message, self.details, self.headers)


def json_error(
    status: int, code: str, message: str, details: Any = None, headers: dict[str, str] | None = None
) -> web.Response:
    body = orjson.dumps({"error": {"code": code, "message": message, "details": details}})
    return web.Response(status=status, body=body, content_type="application/json", headers=headers)


# msgspec's words for JSON's types, and pigeon's.
_NOUNS = {
    "str": "a string",
    "object": "an object",
    "array": "an array",
    "bool": "a boolean",
    "int": "an integer",
    "float": "a number",
    "null": "null",
}
_BOUNDS = {">=": "at least", "<=": "at most", ">": "more than", "<": "less than"}
_PROBLEMS: list[tuple[re.Pattern[str], Any]] = [
    (re.compile(r"Expected `(\w+)`(?:, got `\w+`)?"), lambda m: f"must be {_NOUNS.get(m[1], m[1])}"),
    (re.compile(r"Expected `str` of length >= 1"), lambda m: "must not be empty"),
    (
        re.compile(r"Expected `str` of length ([<>]=) (\d+)"),
        lambda m: f"must be {_BOUNDS[m[1]]} {m[2]} characters",
    ),
    (
        re.compile(r"Expected `(?:array|object)` of length ([<>]=) (\d+)"),
        lambda m: f"must have {_BOUNDS[m[1]]} {m[2]} items",
    ),
    # The regex as repr() writes it: its backslashes doubled.
    (re.compile(r"Expected `str` matching regex '(.*)'"), lambda m: _matching(m[1].replace("\\\\", "\\"))),
    (
        re.compile(r"Expected `(?:int|float)` ([<>]=?) (\S+)"),
        lambda m: f"must be {_BOUNDS[m[1]]} {float(m[2]):g}",
    ),
]


def _matching(pattern: str) -> str:
    return (
        f"must be {PATTERN_DESCRIPTIONS[pattern]}"
        if pattern in PATTERN_DESCRIPTIONS
        else f"must match {pattern}"
    )


_INVALID_VALUE = re.compile(r"Invalid (?:enum )?value (.+)")
_MISSING = re.compile(r"Object missing required field `(.+)`")
_UNKNOWN = re.compile(r"Object contains unknown field `(.+)`", re.DOTALL)


def from_invalid_body(
    error: msgspec.ValidationError, choices: Mapping[str, Sequence[str]], prefix: str = ""
) -> ApiError:
    """A request body of the right JSON but the wrong shape, as msgspec found it ("Expected `str`,
    got `int` - at `$.text.body`"): a 400 naming the field the way the API spells it
    (`text.body`, `contacts[0].name`), with the problem in words. `choices` lists the values
    of a field that takes only some ("type", "scopes[]" for each item); `prefix` is where a
    part checked apart is."""
    problem, _, at = str(error).partition(" - at `$")
    field = f"{prefix}{at.rstrip('`')}".removeprefix(".")
    if (missing := _MISSING.fullmatch(problem)) is not None:
        field = f"{field}.{missing[1]}" if field else missing[1]
        return ApiError(400, "invalid_request", f"{field} is required", {"field": field})
    if (unknown := _UNKNOWN.fullmatch(problem)) is not None:
        field = f"{field}.{unknown[1][:64]}" if field else unknown[1][:64]
        return ApiError(400, "invalid_request", f"{field} is not a field of this request", {"field": field})
    if not field and problem.startswith("Expected `object`"):
        return ApiError(400, "malformed_json", "request body must be a JSON object")
    if (value := _INVALID_VALUE.fullmatch(problem)) is not None:
        allowed = choices.get(re.sub(r"\[[0-9]+\]", "[]", field))
        words = f"must be one of {', '.join(allowed)}" if allowed else f"must not be {value[1]}"
        return ApiError(400, "invalid_request", f"{field} {words}", {"field": field})
    for pattern, words in _PROBLEMS:
        if (found := pattern.fullmatch(problem)) is not None:
            return ApiError(400, "invalid_request", f"{field} {words(found)}", {"field": field})
    return ApiError(400, "invalid_request", f"{field}: {problem}", {"field": field})


# Statuses of downstream gRPC calls. NOT_FOUND stays 404 whether the id does not exist
# or belongs to another account: existence is never revealed.
_GRPC_TO_HTTP: dict[grpc.StatusCode, tuple[int, str]] = {
    grpc.StatusCode.NOT_FOUND: (404, "not_found"),
    grpc.StatusCode.INVALID_ARGUMENT: (400, "invalid_request"),
    grpc.StatusCode.UNAUTHENTICATED: (401, "unauthenticated"),
    grpc.StatusCode.FAILED_PRECONDITION: (409, "conflict"),
    # The one ALREADY_EXISTS the services answer: an idempotency key reused with another body.
    grpc.StatusCode.ALREADY_EXISTS: (409, "idempotency_key_reused"),
    # The one ABORTED the services answer: a conditional write (If-Match) on a stale version.
    grpc.StatusCode.ABORTED: (412, "precondition_failed"),
    grpc.StatusCode.UNAVAILABLE: (503, "service_unavailable"),
    grpc.StatusCode.DEADLINE_EXCEEDED: (503, "service_unavailable"),
}


_STATUS_CODES = {code.value[0]: code for code in grpc.StatusCode}


def from_grpc(error: grpc.aio.AioRpcError, service: str) -> ApiError:
    return from_status(error.code(), error.details() or "", service)


def from_item_status(status: conversations_pb.ItemStatus, service: str) -> ApiError:
    """One request's failure within a batch call, as if its own call had failed so."""
    return from_status(_STATUS_CODES.get(status.code, grpc.StatusCode.UNKNOWN), status.message, service)


def from_status(code: grpc.StatusCode, details: str, service: str) -> ApiError:
    if code == grpc.StatusCode.FAILED_PRECONDITION and (refusal := refusal_in(details)) is not None:
        # A send refused before any WhatsApp call (an unknown template, say): nothing stored.
        return ApiError(422, refusal[0], refusal[1])
    status, error_code = _GRPC_TO_HTTP.get(code, (502, "upstream_error"))
    if status >= 500:
        # The downstream's own text may describe internals; say which dependency failed.
        return ApiError(
            status, error_code, f"the {service} service is unavailable, retry later", {"service": service}
        )
    return ApiError(status, error_code, details or error_code)


def send_outcome_unknown() -> ApiError:
    """The gateway's own deadline for a sync send passed, or conversations could not store the
    outcome of a send WhatsApp may have (the database away). Conversations goes on with it, so
    the message may well be sent: a retry without the same key could send it twice."""
    return ApiError(
        504,
        "outcome_unknown",
        "no answer in time; the send may still complete: retry with the same Idempotency-Key, "
        "or read the message with GET /messages/{id}",
    )


def from_whatsapp_failure(
    failure: sender_pb2.Failure, message_id: str, headers: dict[str, str] | None = None
) -> ApiError:
    """A send WhatsApp refused or that never got an answer; the message is stored as failed."""
    details = {
        "message_id": message_id,
        "whatsapp_code": failure.code,
        "whatsapp_message": failure.message,
        "whatsapp_details": failure.details,
        "fbtrace_id": failure.fbtrace_id,
        "retryable": failure.failure_class == sender_pb2.FAILURE_CLASS_RETRYABLE,
    }
    if failure.code == FailureCode.MEDIA_NOT_USABLE:
        # Refused by pigeon before any WhatsApp call: the message's media_id.
        error = ApiError(422, FailureCode.MEDIA_NOT_USABLE, failure.message, details)
    elif failure.code == FailureCode.MEDIA_UNAVAILABLE:
        error = ApiError(503, FailureCode.MEDIA_UNAVAILABLE, failure.message, details)
    elif failure.failure_class == sender_pb2.FAILURE_CLASS_REENGAGEMENT_REQUIRED:
        error = ApiError(
            422,
            FailureCode.REENGAGEMENT_REQUIRED,
            "more than 24 hours since the customer's last message: send a template",
            details,
        )
    elif failure.failure_class == sender_pb2.FAILURE_CLASS_PERMANENT:
        error = ApiError(
            422, "whatsapp_rejected", f"WhatsApp refused the message: {failure.message}", details
        )
    elif failure.failure_class == sender_pb2.FAILURE_CLASS_NEEDS_OPERATOR:
        # Not the message's fault, and no retry helps until someone fixes the account.
        error = ApiError(
            502,
            "whatsapp_account_problem",
            "WhatsApp failed for a reason an operator must fix on the business account (e.g. an "
            f"expired access token): {failure.message or failure.code}",
            details,
        )
    elif failure.kind == sender_pb2.FAILURE_KIND_TIMEOUT:
        error = ApiError(504, "whatsapp_timeout", "WhatsApp did not answer in time", details)
    elif failure.kind == sender_pb2.FAILURE_KIND_UNKNOWN_OUTCOME:
        error = ApiError(
            504,
            "whatsapp_outcome_unknown",
            "the connection to WhatsApp broke after the message was sent: WhatsApp may have it "
            "(its status webhook settles it; read GET /messages/{id})",
            details,
        )
    else:
        error = ApiError(
            502, "whatsapp_failed", f"WhatsApp failed: {failure.message or failure.code}", details
        )
    error.headers = headers
    return error


def from_stored_failure(message: conversations_pb.Message) -> ApiError:
    """A failed send's error from the code stored with its message: a send refused before any
    WhatsApp call, or an idempotent replay of one that failed (the first answer's error again).
    WhatsApp's HTTP status, details and fbtrace_id are not stored: a numbered code the table
    does not know counts as permanent, and those details come back empty."""
    code = message.error_code
    if code == FailureCode.REENGAGEMENT_REQUIRED:
        # Refused by conversations before any WhatsApp call: the 24 h window is closed.
        return ApiError(
            422, FailureCode.REENGAGEMENT_REQUIRED, message.error_message, {"message_id": message.id}
        )
    if code == FailureCode.ACCOUNT_RATE_LIMITED:
        # Refused by conversations before any WhatsApp call: the account's next free send slot
        # (its messages per second, shared with the outbox) was too far away.
        return ApiError(
            429,
            FailureCode.ACCOUNT_RATE_LIMITED,
            message.error_message,
            {"message_id": message.id},
            {"Retry-After": "1"},
        )
    pigeons = failure_of_code(code)
    if pigeons is not None:
        of_class, of_kind = pigeons
        failure_class = FAILURE_CLASS_TO_PROTO[of_class]
        kind = FAILURE_KIND_TO_PROTO[of_kind] if of_kind else sender_pb2.FAILURE_KIND_UNSPECIFIED
    elif code.isascii() and code.isdigit():
        failure_class, kind = (
            FAILURE_CLASS_TO_PROTO[classify(int(code))],
            sender_pb2.FAILURE_KIND_WHATSAPP_ERROR,
        )
    else:
        failure_class, kind = sender_pb2.FAILURE_CLASS_UNSPECIFIED, sender_pb2.FAILURE_KIND_UNSPECIFIED
    failure = sender_pb2.Failure(
        failure_class=failure_class, kind=kind, code=code, message=message.error_message
    )
    return from_whatsapp_failure(failure, message.id)
