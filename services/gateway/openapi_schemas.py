"""The schemas of the HTTP API's bodies, for its OpenAPI description (`openapi.py`): the
send request and the read receipt's body, made from the models they are checked against
(send_models.py, validation.py), and, written here,
messages, conversations, events, errors.
"""

from typing import Any

from services.gateway.models import openapi_schemas
from services.gateway.send_models import MAX_ID_LENGTH, SendRequest, TemplateComponent
from services.gateway.validation import ReadReceipt
from services.shared.vocabulary import (
    ARRAY_CONTENT_TYPES,
    CONVERSATION_STATUSES,
    EVENT_TYPES,
    MESSAGE_TYPES,
)

TIME = {
    "type": "string",
    "format": "date-time",
    "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$",
    "example": "2026-11-25T14:03:07.012000Z",
}
TIMESTAMP = {**TIME, "nullable": True}
ID = {"type": "string", "minLength": 1, "maxLength": MAX_ID_LENGTH}
CONTEXT = {"type": "object", "required": ["message_id"], "properties": {"message_id": ID}}
# SendRequest and its parts (SendText, TextContent, ...), and the read receipt's body;
# TemplateComponent is named by the template's components, checked against it but kept as given.
REQUEST_SCHEMAS = openapi_schemas(
    {"SendRequest": SendRequest, "TemplateComponent": TemplateComponent, "ReadReceipt": ReadReceipt}
)

SCHEMAS: dict[str, Any] = {
    **REQUEST_SCHEMAS,
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message", "details"],
                "properties": {
                    "code": {"type": "string", "example": "not_found"},
                    "message": {"type": "string"},
                    "details": {"nullable": True, "description": "An object, or null"},
                },
            }
        },
    },
    "Message": {
        "type": "object",
        "description": "Also carries the content object under the key named by `type` (e.g. `text`).",
        "required": [
            "id",
            "conversation_id",
            "direction",
            "contact_wa_id",
            "type",
            "status",
            "wa_message_id",
            "error",
            "created_at",
            "sent_at",
            "delivered_at",
            "read_at",
            "failed_at",
        ],
        "properties": {
            "id": {"type": "string", "format": "uuid"},
            "conversation_id": {"type": "string", "format": "uuid"},
            "direction": {"type": "string", "enum": ["outbound", "inbound"]},
            "contact_wa_id": {"type": "string", "nullable": True},
            "type": {"type": "string"},
            **{
                name: {"type": "array", "items": {"type": "object"}}
                if name in ARRAY_CONTENT_TYPES
                else {"type": "object"}
                for name in MESSAGE_TYPES
            },
            "status": {
                "type": "string",
                "enum": ["queued", "sending", "sent", "delivered", "read", "failed", "received"],
            },
            "wa_message_id": {"type": "string", "nullable": True},
            "error": {
                "type": "object",
                "nullable": True,
                "required": ["code", "message"],
                "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
            },
            "context": CONTEXT,
            "created_at": TIME,
            "sent_at": TIMESTAMP,
            "delivered_at": TIMESTAMP,
            "read_at": TIMESTAMP,
            "failed_at": TIMESTAMP,
            "media": {
                "$ref": "#/components/schemas/Media",
                "description": "pigeon's copy of the file of a media message (only on those)",
            },
        },
    },
    "Conversation": {
        "type": "object",
        "required": [
            "id",
            "contact",
            "created_at",
            "last_message_at",
            "last_inbound_at",
            "unread_count",
            "window_expires_at",
            "can_send_free_form",
            "status",
            "snoozed_until",
            "assignee",
            "labels",
            "version",
        ],
        "properties": {
            "id": {"type": "string", "format": "uuid"},
            "contact": {
                "type": "object",
                "required": ["wa_id", "user_id", "username", "name", "marketing_opt_out"],
                "properties": {
                    "wa_id": {
                        "type": "string",
                        "nullable": True,
                        "description": "Phone number (digits); null when only the BSUID is known.",
                    },
                    "user_id": {
                        "type": "string",
                        "nullable": True,
                        "description": "Business-scoped user id (BSUID), e.g. US.13491208655302741918.",
                    },
                    "username": {"type": "string", "nullable": True},
                    "name": {"type": "string", "nullable": True},
                    "marketing_opt_out": {
                        "type": "boolean",
                        "description": "The customer stopped marketing messages (user_preferences).",
                    },
                },
            },
            "created_at": TIME,
            "last_message_at": TIMESTAMP,
            "last_inbound_at": TIMESTAMP,
            "unread_count": {"type": "integer", "minimum": 0},
            "window_expires_at": {
                **TIMESTAMP,
                "description": "When the 24 h customer service window closes: last_inbound_at + 24 h; "
                "null when the customer never wrote. After it WhatsApp takes only templates (131047).",
            },
            "can_send_free_form": {
                "type": "boolean",
                "description": "The window is open (window_expires_at is now or later): a message other "
                "than a template may be sent. As of the read; in a conversation.updated event, as of the "
                "event.",
            },
            "read_receipt": {
                "type": "object",
                "nullable": True,
                "description": "The last read receipt sent WhatsApp (POST /conversations/{id}/read)",
                "required": ["message_id", "status", "error", "at"],
                "properties": {
                    "message_id": {"type": "string"},
                    "status": {"type": "string", "enum": ["sent", "failed"]},
                    "error": {
                        "type": "object",
                        "nullable": True,
                        "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
                    },
                    "at": TIME,
                },
            },
            "status": {
                "type": "string",
                "enum": list(CONVERSATION_STATUSES),
                "description": "Its place in the team inbox. A snooze whose time passed reads open; a "
                "message from the customer reopens a resolved or snoozed conversation.",
            },
            "snoozed_until": {**TIMESTAMP, "description": "When it opens again; null unless snoozed"},
            "assignee": {
                "type": "string",
                "nullable": True,
                "description": "The agent's or team's id, the customer's own (pigeon does not manage "
                "agents); null: unassigned",
            },
            "labels": {"type": "array", "items": {"type": "string"}, "description": "Sorted"},
            "version": {
                "type": "integer",
                "minimum": 1,
                "description": 'Moves on with every change of the conversation; its ETag is "<version>", '
                "for If-Match",
            },
        },
    },
    "Event": {
        "type": "object",
        "description": "A WebSocket frame (GET /ws).",
        "required": ["id", "type", "data"],
        "properties": {
            "id": {"type": "integer", "description": "Increasing per account; resume with ?since=<id>"},
            "type": {"type": "string", "enum": list(EVENT_TYPES)},
            "data": {
                "description": "The Message (for media.*, the message whose file was stored or failed), "
                "for conversation.updated the Conversation, for webhook_endpoint.disabled the "
                "WebhookEndpoint. A conversation.updated whose inbox state changed (status, snoozed_until, "
                "assignee, labels: PATCH, labels, a snooze that ran out, an inbound message reopening it) "
                'also has `changes`: each changed field\'s {"from", "to"}, e.g. '
                '{"status": {"from": "open", "to": "resolved"}}.'
            },
        },
    },
}


READINESS = {
    "type": "object",
    "required": ["status", "dependencies"],
    "properties": {
        "status": {"type": "string", "enum": ["ready", "unavailable"]},
        "dependencies": {
            "type": "object",
            "required": ["conversations", "sender"],
            "properties": {"conversations": {"type": "boolean"}, "sender": {"type": "boolean"}},
        },
    },
}


def page_of(key: str, item: dict[str, Any]) -> dict[str, Any]:
    """A page of `item`s under `key`, and the token of the next page."""
    return {
        "type": "object",
        "required": [key, "next_page_token"],
        "properties": {
            key: {"type": "array", "items": item},
            "next_page_token": {"type": "string", "nullable": True},
        },
    }


WINDOW_FILTER_DESCRIPTION = (
    "Filters on the 24 h customer service window keep the conversations whose `window_expires_at` "
    "is in [`window_expires_after`, `window_expires_before`) and, with `can_send_free_form`, whose "
    "window is open (true) or closed (false) now, each page as it is read. A conversation whose "
    "customer never wrote has no window and counts as closed long ago: `window_expires_before` and "
    "`can_send_free_form=false` keep it, `window_expires_after` never does."
)
TIME_PARAMETER = {"type": "string", "format": "date-time"}
WINDOW_FILTER_PARAMETERS = [
    {
        "name": "can_send_free_form",
        "in": "query",
        "description": "true: only the open windows; false: only the closed (or never opened) ones",
        "schema": {"type": "string", "enum": ["true", "false"]},
    },
    {
        "name": "window_expires_after",
        "in": "query",
        "description": "RFC 3339 time with its offset (`+` sent as `%2B`): only windows closing at or "
        "after it",
        "schema": TIME_PARAMETER,
    },
    {
        "name": "window_expires_before",
        "in": "query",
        "description": "RFC 3339 time with its offset: only windows closing before it (or never opened); "
        "it must be after `window_expires_after`",
        "schema": TIME_PARAMETER,
    },
]
