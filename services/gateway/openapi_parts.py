"""The parts the OpenAPI document (openapi.py, openapi_media.py) is made of: references to its
schemas, the error responses and why each status comes, common parameters."""

from typing import Any

from services.gateway.validation import IDEMPOTENCY_KEY, MAX_IDEMPOTENCY_KEY_LENGTH

ERROR = {"$ref": "#/components/schemas/Error"}
MESSAGE = {"$ref": "#/components/schemas/Message"}
CONVERSATION = {"$ref": "#/components/schemas/Conversation"}

REASONS = {
    400: (
        "Malformed JSON, an invalid field (`details.field` names it), or a body whose "
        "Content-Encoding does not decode"
    ),
    401: "Missing, malformed or unknown API key",
    403: (
        "The API key lacks the scope the route needs (`insufficient_scope`; `details.required_scope` "
        "names it: `send`, `read` or `webhooks`); or a webhook verification refused"
    ),
    404: "No such resource for this account (another account's ids are not found either)",
    409: (
        "The Idempotency-Key was used with another request (`idempotency_key_reused`), the sync "
        "send it names is still at WhatsApp (`send_in_progress`: retry later with the same key), or "
        "the message's state does not allow the change, or the account has as many webhook endpoints "
        "as it may, or the conversation as many labels (`conflict`); or the media file is not copied "
        "yet (`media_pending`: retry after "
        "`Retry-After` seconds)"
    ),
    412: "`If-Match` names a version the conversation is no longer at (`precondition_failed`): read it again",
    408: "An upload that stalled: no bytes for MEDIA_TIMEOUT_SECONDS (`upload_stalled`); nothing is kept",
    410: (
        "The media file could not be kept (`media_failed`; `details.failure_reason` says why), or was "
        "deleted after the retention period (`media_deleted`)"
    ),
    413: "Body larger than the limit (`file_too_large`: a file over its type's limit)",
    415: "A file of a type WhatsApp takes for no message (`unsupported_media_type`)",
    416: "A Range past the end of the file (`range_not_satisfiable`)",
    422: (
        "Text too long, the 24 h window is closed, WhatsApp refused the message, or its media_id names "
        "no stored file of the account of a type the message takes (`media_not_usable`); stored as failed. "
        "Or a template send WhatsApp would refuse, refused before anything is stored: no template of "
        "that name (`template_not_found`) or not in that language (`template_language_not_found`), "
        "a template not APPROVED (`template_not_approved`), another number of parameters than a "
        "component takes (`template_parameter_mismatch`), or a MARKETING template to a contact who "
        "opted out of marketing messages (`marketing_opted_out`)"
    ),
    429: (
        "Too many requests for this API key (`rate_limited`), or, on POST /messages/send, the "
        "account's next free WhatsApp send slot is too far away (`account_rate_limited`: nothing "
        "sent, the Idempotency-Key stays unused), or, on GET /ws, as many WebSockets open as the API "
        "key or its account may have (`too_many_sockets`); retry after `Retry-After` seconds"
    ),
    502: (
        "WhatsApp failed in a retryable way (`whatsapp_failed`) or for a reason an operator must fix "
        "(`whatsapp_account_problem`: do not retry), the message stored as failed; or a pigeon "
        "service answered an unexpected error (`upstream_error`)"
    ),
    503: (
        "A pigeon service, PostgreSQL or the object store is unavailable (`media_unavailable`: the "
        "file a send names could not be read)"
    ),
    504: (
        "WhatsApp did not answer in time (`whatsapp_timeout`, the message stored as failed), the "
        "connection to WhatsApp broke after the request was written (`whatsapp_outcome_unknown`: "
        "WhatsApp may have it; its status webhook settles the stored failure), or the "
        "gateway's own deadline passed (`outcome_unknown`: the send may still complete; retry with "
        "the same Idempotency-Key or read GET /messages/{id})"
    ),
}
# Answered by any route that takes an API key (checking it is a call to conversations; then
# the key's scope).
AUTHENTICATED = (401, 403, 429, 502, 503)


def error_responses(*statuses: int) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    for status in sorted(set(statuses)):
        response: dict[str, Any] = {"description": REASONS[status], **json_body(ERROR)}
        if status == 429:
            response["headers"] = {
                "Retry-After": {
                    "description": "Whole seconds to wait, at least 1",
                    "schema": {"type": "integer", "minimum": 1},
                }
            }
        responses[str(status)] = response
    return responses


def page_parameters() -> list[dict[str, Any]]:
    return [
        {
            "name": "page_size",
            "in": "query",
            "description": "Items per page, 1 to 100 (anything else is a 400)",
            "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20},
        },
        {
            "name": "page_token",
            "in": "query",
            "description": "`next_page_token` of the previous page (anything else is a 400)",
            "schema": {"type": "string", "maxLength": 512},
        },
    ]


def id_parameter(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": "A UUID; any other string is simply not found (404)",
        "schema": {"type": "string", "format": "uuid"},
    }


IDEMPOTENCY_KEY_PARAMETER = {
    "name": "Idempotency-Key",
    "in": "header",
    "description": (
        "A retry with the same key and body answers what the original answered, from its message "
        "as it is now (header `Idempotent-Replayed: true`), and never calls WhatsApp again: on "
        "send-async 202 with the message; on send 200 once sent, the first answer's error if it "
        "failed, 409 `send_in_progress` while it is still at WhatsApp. The same key with another "
        "body or route answers 409 `idempotency_key_reused`. Kept at least 24 hours."
    ),
    "schema": {
        "type": "string",
        "minLength": 1,
        "maxLength": MAX_IDEMPOTENCY_KEY_LENGTH,
        "pattern": IDEMPOTENCY_KEY.pattern,
    },
}


def json_body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


def header(description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"description": description, "schema": schema or {"type": "string"}}


REQUEST_ID_HEADER = header("The caller's X-Request-ID, or one made up; also in the services' logs")
