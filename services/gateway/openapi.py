"""The OpenAPI 3 description of the HTTP API, served at /openapi.json.

It is also the contract the fuzz tests (tests/e2e/test_fuzz.py) hold the gateway to:
every status a route can answer is listed with its body's schema, so an undocumented
answer fails them. The bodies' schemas are in openapi_schemas.py.
"""

from typing import Any

from services.gateway.openapi_schemas import READINESS, SCHEMAS, page_of
from services.gateway.settings import GatewaySettings
from services.gateway.validation import (
    IDEMPOTENCY_KEY,
    MAX_IDEMPOTENCY_KEY_LENGTH,
    MAX_TEXT_LENGTH,
)

ERROR = {"$ref": "#/components/schemas/Error"}
MESSAGE = {"$ref": "#/components/schemas/Message"}
CONVERSATION = {"$ref": "#/components/schemas/Conversation"}

_REASONS = {
    400: (
        "Malformed JSON, an invalid field (`details.field` names it), or a body whose "
        "Content-Encoding does not decode"
    ),
    401: "Missing, malformed or unknown API key",
    403: "Webhook verification refused",
    404: "No such resource for this account (another account's ids are not found either)",
    409: (
        "The Idempotency-Key was used with another request (`idempotency_key_reused`), the sync "
        "send it names is still at WhatsApp (`send_in_progress`: retry later with the same key), or "
        "the message's state does not allow the change (`conflict`)"
    ),
    413: "Body larger than the limit",
    422: "Text too long, the 24 h window is closed, or WhatsApp refused the message (stored as failed)",
    429: (
        "Too many requests for this API key (`rate_limited`), or, on POST /messages/send, the "
        "account's next free WhatsApp send slot is too far away (`account_rate_limited`: nothing "
        "sent, the Idempotency-Key stays unused); retry after `Retry-After` seconds"
    ),
    502: (
        "WhatsApp failed in a retryable way (`whatsapp_failed`) or for a reason an operator must fix "
        "(`whatsapp_account_problem`: do not retry), the message stored as failed; or a pigeon "
        "service answered an unexpected error (`upstream_error`)"
    ),
    503: "A pigeon service or PostgreSQL is unavailable",
    504: (
        "WhatsApp did not answer in time (`whatsapp_timeout`, the message stored as failed), or the "
        "gateway's own deadline passed (`outcome_unknown`: the send may still complete; retry with "
        "the same Idempotency-Key or read GET /messages/{id})"
    ),
}
# Answered by any route that takes an API key (checking it is a call to conversations).
_AUTHENTICATED = (401, 429, 502, 503)


def _error_responses(*statuses: int) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    for status in sorted(set(statuses)):
        response: dict[str, Any] = {"description": _REASONS[status], **_json(ERROR)}
        if status == 429:
            response["headers"] = {
                "Retry-After": {
                    "description": "Whole seconds to wait, at least 1",
                    "schema": {"type": "integer", "minimum": 1},
                }
            }
        responses[str(status)] = response
    return responses


def _page_parameters() -> list[dict[str, Any]]:
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


def _id_parameter(name: str) -> dict[str, Any]:
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


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


def _header(description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"description": description, "schema": schema or {"type": "string"}}


REQUEST_ID_HEADER = _header("The caller's X-Request-ID, or one made up; also in the services' logs")


# Over HTTP and in events alike: RFC 3339, UTC, always six fractional digits.
def _send_operation(summary: str, success: dict[str, Any], *errors: int) -> dict[str, Any]:
    return {
        "summary": summary,
        "parameters": [IDEMPOTENCY_KEY_PARAMETER],
        "requestBody": {"required": True, **_json({"$ref": "#/components/schemas/SendRequest"})},
        "responses": {**success, **_error_responses(*_AUTHENTICATED, *errors)},
    }


def _paths(heartbeat: float) -> dict[str, Any]:
    public: list[dict[str, Any]] = []  # `security: []`: no API key
    return {
        "/messages/send": {
            "post": _send_operation(
                "Send a message and wait for WhatsApp's answer",
                {
                    "200": {
                        "description": "WhatsApp accepted the message (or an idempotent replay)",
                        "headers": {
                            "Server-Timing": _header("lookup, whatsapp and persist durations in ms"),
                            "Idempotent-Replayed": _header("`true` on a replay", {"type": "string"}),
                            "X-Request-ID": REQUEST_ID_HEADER,
                        },
                        **_json(MESSAGE),
                    }
                },
                400,
                404,
                409,
                413,
                422,
                502,
                504,
            )
        },
        "/messages/send-async": {
            "post": _send_operation(
                "Store a message as queued and answer at once; it is delivered in the background",
                {
                    "202": {
                        "description": "Stored as queued (or an idempotent replay, in its current status)",
                        "headers": {
                            "Location": _header("/messages/{id}"),
                            "Idempotent-Replayed": _header("`true` on a replay"),
                            "X-Request-ID": REQUEST_ID_HEADER,
                        },
                        **_json(MESSAGE),
                    }
                },
                400,
                404,
                409,
                413,
                422,
            )
        },
        "/messages/{message_id}": {
            "get": {
                "summary": "One message",
                "parameters": [_id_parameter("message_id")],
                "responses": {
                    "200": {"description": "The message", **_json(MESSAGE)},
                    **_error_responses(*_AUTHENTICATED, 404),
                },
            }
        },
        "/conversations": {
            "get": {
                "summary": "Conversations, most recent activity first",
                "parameters": _page_parameters(),
                "responses": {
                    "200": {
                        "description": "A page of conversations",
                        **_json(page_of("conversations", CONVERSATION)),
                    },
                    **_error_responses(*_AUTHENTICATED, 400),
                },
            }
        },
        "/conversations/{conversation_id}": {
            "get": {
                "summary": "One conversation",
                "parameters": [_id_parameter("conversation_id")],
                "responses": {
                    "200": {"description": "The conversation", **_json(CONVERSATION)},
                    **_error_responses(*_AUTHENTICATED, 404),
                },
            }
        },
        "/conversations/{conversation_id}/messages": {
            "get": {
                "summary": "Messages of a conversation, newest first",
                "parameters": [_id_parameter("conversation_id"), *_page_parameters()],
                "responses": {
                    "200": {"description": "A page of messages", **_json(page_of("messages", MESSAGE))},
                    **_error_responses(*_AUTHENTICATED, 400, 404),
                },
            }
        },
        "/conversations/{conversation_id}/read": {
            "post": {
                "summary": "Mark a conversation read: unread_count back to 0 (a conversation.updated event)",
                "parameters": [_id_parameter("conversation_id")],
                "responses": {
                    "200": {"description": "The conversation", **_json(CONVERSATION)},
                    **_error_responses(*_AUTHENTICATED, 404),
                },
            }
        },
        "/ws": {
            "get": {
                "summary": "The account's events, live, over a WebSocket",
                "description": (
                    "Frames are JSON `Event`s. Without `since` the stream starts from now; with it, "
                    f"after that event id, losing nothing. The server pings every {heartbeat:g} s. Close "
                    "codes: 4008, a client too slow to read (or its connection dropped if not even the "
                    "close frame goes out); 4503, conversations' event stream ended (say, it restarted); "
                    "1001, the gateway is shutting down: each resumes with `since`. 4401: the API key "
                    "was revoked (up to about twice the API key cache's lifetime after it)."
                ),
                "security": [{"apiKey": []}, {"token": []}],
                "parameters": [
                    {
                        "name": "since",
                        "in": "query",
                        "description": "Resume after this event id (0: from the oldest kept)",
                        "schema": {"type": "integer", "minimum": 0, "maximum": 10**18 - 1},
                    }
                ],
                "responses": {
                    "101": {"description": "Switching to the WebSocket protocol"},
                    **_error_responses(*_AUTHENTICATED, 400),
                },
            }
        },
        "/webhooks/whatsapp": {
            "get": {
                "summary": "Meta's webhook verification handshake",
                "security": public,
                "parameters": [
                    {"name": name, "in": "query", "schema": {"type": "string"}}
                    for name in ("hub.mode", "hub.verify_token", "hub.challenge")
                ],
                "responses": {
                    "200": {
                        "description": "hub.challenge, echoed",
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    },
                    **_error_responses(403),
                },
            },
            "post": {
                "summary": "A WhatsApp notification (statuses, inbound messages), signed by Meta",
                "security": public,
                "parameters": [
                    {
                        "name": "X-Hub-Signature-256",
                        "in": "header",
                        "required": True,
                        "description": "sha256=<hex HMAC-SHA256 of the raw body with the app secret>",
                        "schema": {"type": "string", "pattern": "^sha256=[0-9a-f]{64}$"},
                    }
                ],
                "requestBody": {"required": True, **_json({"type": "object"})},
                "responses": {
                    "200": {
                        "description": "Verified, stored and applied (`received`); or, when the body names "
                        "no phone number of an account, acknowledged and neither stored nor applied "
                        "(`ignored`, with the reason)",
                        **_json(
                            {
                                "type": "object",
                                "required": ["status"],
                                "properties": {
                                    "status": {"type": "string", "enum": ["received", "ignored"]},
                                    "reason": {"type": "string"},
                                },
                            }
                        ),
                    },
                    **_error_responses(400, 401, 413, 429, 502, 503),
                },
            },
        },
        "/healthz": {
            "get": {
                "summary": "The process is alive",
                "security": public,
                "responses": {
                    "200": {
                        "description": "Alive",
                        **_json(
                            {
                                "type": "object",
                                "required": ["status"],
                                "properties": {"status": {"type": "string", "enum": ["ok"]}},
                            }
                        ),
                    }
                },
            }
        },
        "/readyz": {
            "get": {
                "summary": "The services this gateway needs are serving",
                "security": public,
                "responses": {
                    status: {"description": description, **_json({"$ref": "#/components/schemas/Readiness"})}
                    for status, description in (("200", "Ready"), ("503", "A dependency is down"))
                },
            }
        },
        "/metrics": {
            "get": {
                "summary": "Prometheus metrics of this gateway",
                "security": public,
                "responses": {
                    "200": {
                        "description": "Prometheus text format",
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    }
                },
            }
        },
        "/openapi.json": {
            "get": {
                "summary": "This document",
                "security": public,
                "responses": {"200": {"description": "OpenAPI 3", **_json({"type": "object"})}},
            }
        },
    }


def openapi_document(settings: GatewaySettings) -> dict[str, Any]:
    limit = (
        f"{settings.rate_limit_per_second:g} requests per second (bursts of {settings.rate_limit_burst}) "
        "per API key and gateway replica"
        if settings.rate_limit_per_second and settings.rate_limit_burst
        else "no request rate limit"
    )
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "pigeon",
            "version": "1.0.0",
            "description": (
                "WhatsApp Business messaging. Authenticate with `Authorization: Bearer <api key>`. "
                'Every error is `{"error": {"code", "message", "details"}}`. '
                f"Bodies are limited to {settings.max_body_bytes} bytes (webhooks: "
                f"{settings.webhook_max_body_bytes}), text to {MAX_TEXT_LENGTH} "
                f"characters; {limit}. Bodies are read as JSON whatever their Content-Type."
            ),
        },
        "components": {
            "schemas": {**SCHEMAS, "Readiness": READINESS},
            "securitySchemes": {
                "apiKey": {"type": "http", "scheme": "bearer"},
                # Browsers cannot set headers on a WebSocket: /ws also takes ?token=.
                "token": {"type": "apiKey", "in": "query", "name": "token"},
            },
        },
        "security": [{"apiKey": []}],
        "paths": _paths(settings.ws_heartbeat_seconds),
    }
