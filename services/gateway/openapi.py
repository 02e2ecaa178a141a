"""The OpenAPI 3 description of the HTTP API, served at /openapi.json.

It is also the contract the fuzz tests (tests/e2e/test_fuzz.py) hold the gateway to:
every status a route can answer is listed with its body's schema, so an undocumented
answer fails them. The bodies' schemas are in openapi_schemas.py.
"""

from typing import Any

from services.gateway.models import REF_PREFIX
from services.gateway.openapi_admin import SCHEMAS as ADMIN_SCHEMAS
from services.gateway.openapi_admin import admin_paths
from services.gateway.openapi_inbox import INBOX_FILTER_PARAMETERS, PATCH_CONVERSATION, inbox_paths
from services.gateway.openapi_inbox import SCHEMAS as INBOX_SCHEMAS
from services.gateway.openapi_media import MEDIA_SCHEMA, media_paths
from services.gateway.openapi_operations import tags_used, with_operation_ids
from services.gateway.openapi_parts import (
    AUTHENTICATED,
    CONVERSATION,
    IDEMPOTENCY_KEY_PARAMETER,
    MESSAGE,
    REQUEST_ID_HEADER,
    error_responses,
    header,
    id_parameter,
    json_body,
    page_parameters,
)
from services.gateway.openapi_schemas import (
    READINESS,
    SCHEMAS,
    WINDOW_FILTER_DESCRIPTION,
    WINDOW_FILTER_PARAMETERS,
    page_of,
)
from services.gateway.openapi_templates import SCHEMAS as TEMPLATE_SCHEMAS
from services.gateway.openapi_templates import template_paths
from services.gateway.openapi_webhook_endpoints import SCHEMAS as WEBHOOK_ENDPOINT_SCHEMAS
from services.gateway.openapi_webhook_endpoints import webhook_endpoint_paths
from services.gateway.send_models import MAX_TEXT_LENGTH
from services.gateway.settings import GatewaySettings
from services.shared.version import VERSION


# Over HTTP and in events alike: RFC 3339, UTC, always six fractional digits.
def _send_operation(summary: str, success: dict[str, Any], *errors: int) -> dict[str, Any]:
    return {
        "summary": summary,
        "parameters": [IDEMPOTENCY_KEY_PARAMETER],
        "requestBody": {"required": True, **json_body({"$ref": "#/components/schemas/SendRequest"})},
        "responses": {**success, **error_responses(*AUTHENTICATED, *errors)},
    }


READINESS_REF = {"$ref": "#/components/schemas/Readiness"}


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
                            "Server-Timing": header("lookup, whatsapp and persist durations in ms"),
                            "Idempotent-Replayed": header("`true` on a replay", {"type": "string"}),
                            "X-Request-ID": REQUEST_ID_HEADER,
                        },
                        **json_body(MESSAGE),
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
                            "Location": header("/messages/{id}"),
                            "Idempotent-Replayed": header("`true` on a replay"),
                            "X-Request-ID": REQUEST_ID_HEADER,
                        },
                        **json_body(MESSAGE),
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
                "parameters": [id_parameter("message_id")],
                "responses": {
                    "200": {"description": "The message", **json_body(MESSAGE)},
                    **error_responses(*AUTHENTICATED, 404),
                },
            }
        },
        "/conversations": {
            "get": {
                "summary": "Conversations, most recent activity first",
                "description": WINDOW_FILTER_DESCRIPTION,
                "parameters": [*WINDOW_FILTER_PARAMETERS, *INBOX_FILTER_PARAMETERS, *page_parameters()],
                "responses": {
                    "200": {
                        "description": "A page of conversations",
                        **json_body(page_of("conversations", CONVERSATION)),
                    },
                    **error_responses(*AUTHENTICATED, 400),
                },
            }
        },
        "/conversations/{conversation_id}": {
            "get": {
                "summary": "One conversation",
                "parameters": [id_parameter("conversation_id")],
                "responses": {
                    "200": {
                        "description": "The conversation",
                        "headers": {"ETag": header('Its version, quoted: "<version>" (for If-Match)')},
                        **json_body(CONVERSATION),
                    },
                    **error_responses(*AUTHENTICATED, 404),
                },
            },
            "patch": PATCH_CONVERSATION,
        },
        "/conversations/{conversation_id}/messages": {
            "get": {
                "summary": "Messages of a conversation, newest first",
                "parameters": [id_parameter("conversation_id"), *page_parameters()],
                "responses": {
                    "200": {"description": "A page of messages", **json_body(page_of("messages", MESSAGE))},
                    **error_responses(*AUTHENTICATED, 400, 404),
                },
            }
        },
        "/conversations/{conversation_id}/read": {
            "post": {
                "summary": "Mark a conversation read: unread_count back to 0 (a conversation.updated event)",
                "description": (
                    "Then the customer's last message is marked read on WhatsApp (blue ticks), with "
                    "the typing indicator when `typing` is true. That call failing does not undo the "
                    "read: `read_receipt` says what became of it."
                ),
                "parameters": [id_parameter("conversation_id")],
                "requestBody": {"required": False, **json_body({"$ref": f"{REF_PREFIX}ReadReceipt"})},
                "responses": {
                    "200": {"description": "The conversation", **json_body(CONVERSATION)},
                    **error_responses(*AUTHENTICATED, 400, 404),
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
                    "was revoked (up to about twice the API key cache's lifetime after it). An API key "
                    "and an account may have only so many sockets open on a gateway: one more is 429 "
                    "`too_many_sockets` before the upgrade. 4410: `since` "
                    "(other than 0, which starts from the oldest event kept) is older than the oldest "
                    "event kept (retention: `EVENTS_RETENTION_DAYS`); the close reason names it: reload "
                    "over HTTP, then resume with the `since` it gives."
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
                    **error_responses(*AUTHENTICATED, 400),
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
                    **error_responses(403),
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
                "requestBody": {"required": True, **json_body({"type": "object"})},
                "responses": {
                    "200": {
                        "description": "Verified, stored and applied (`received`); or, when the body names "
                        "no phone number of an account, acknowledged and neither stored nor applied "
                        "(`ignored`, with the reason)",
                        **json_body(
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
                    **error_responses(400, 401, 413, 429, 502, 503),
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
                        **json_body(
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
                    status: {
                        "description": description,
                        **json_body({"$ref": "#/components/schemas/Readiness"}),
                    }
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
                "responses": {"200": {"description": "OpenAPI 3", **json_body({"type": "object"})}},
            }
        },
        "/docs": {
            "get": {
                "summary": "This document for people: an API reference (Swagger UI) to read and try",
                "security": public,
                "responses": {
                    "200": {
                        "description": "An HTML page; its scripts and styles are under /docs/",
                        "content": {"text/html": {"schema": {"type": "string"}}},
                    }
                },
            }
        },
        **media_paths(),
        **webhook_endpoint_paths(),
        **template_paths(),
        **inbox_paths(),
    }


def openapi_document(settings: GatewaySettings) -> dict[str, Any]:
    limit = (
        f"{settings.rate_limit_per_second:g} requests per second (bursts of {settings.rate_limit_burst}) "
        "per API key and gateway replica"
        if settings.rate_limit_per_second and settings.rate_limit_burst
        else "no request rate limit"
    )
    admin = bool(settings.admin_token)
    paths = with_operation_ids({**_paths(settings.ws_heartbeat_seconds), **(admin_paths() if admin else {})})
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "pigeon",
            "version": VERSION,
            "description": (
                "WhatsApp Business messaging. Authenticate with `Authorization: Bearer <api key>`. "
                'Every error is `{"error": {"code", "message", "details"}}`. '
                f"Bodies are limited to {settings.max_body_bytes} bytes (webhooks: "
                f"{settings.webhook_max_body_bytes}), text to {MAX_TEXT_LENGTH} "
                f"characters; {limit}. Bodies are read as JSON whatever their Content-Type."
            ),
        },
        "components": {
            "schemas": {
                **SCHEMAS,
                **WEBHOOK_ENDPOINT_SCHEMAS,
                **TEMPLATE_SCHEMAS,
                **INBOX_SCHEMAS,
                "Readiness": READINESS,
                "Media": MEDIA_SCHEMA,
                **(ADMIN_SCHEMAS if admin else {}),
            },
            "securitySchemes": {
                "apiKey": {"type": "http", "scheme": "bearer"},
                # Browsers cannot set headers on a WebSocket: /ws also takes ?token=.
                "token": {"type": "apiKey", "in": "query", "name": "token"},
                # The /admin/ routes' (ADMIN_TOKEN), there only when it is set.
                **({"adminToken": {"type": "http", "scheme": "bearer"}} if admin else {}),
            },
        },
        # Relative: the host (or proxy) that served this document.
        "servers": [{"url": "/", "description": "This gateway, or the proxy in front of it"}],
        "tags": tags_used(paths),
        "security": [{"apiKey": []}],
        "paths": paths,
    }
