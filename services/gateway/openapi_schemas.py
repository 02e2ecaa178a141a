"""The schemas of the HTTP API's bodies, for its OpenAPI description (`openapi.py`): the
message content the gateway validates, messages, conversations, events, errors. The limits
come from validation.py, so the two cannot drift apart.
"""

from typing import Any

from services.gateway.openapi_interactive import INTERACTIVE
from services.gateway.validation import (
    CONTACT_LISTS,
    CONTACT_NAME_FIELDS,
    CONTACT_ORG_FIELDS,
    LANGUAGE_CODE,
    MAX_CAPTION_LENGTH,
    MAX_CONTACT_ITEMS,
    MAX_CONTACTS,
    MAX_ID_LENGTH,
    MAX_JSON_DEPTH,
    MAX_LOCATION_TEXT_LENGTH,
    MAX_TEMPLATE_COMPONENTS,
    MAX_TEMPLATE_PARAMETERS,
    MAX_TEXT_LENGTH,
    TEMPLATE_NAME,
)
from services.shared.vocabulary import (
    ARRAY_CONTENT_TYPES,
    BSUID,
    CONVERSATION_STATUSES,
    EVENT_TYPES,
    MEDIA_TYPES,
    MESSAGE_TYPES,
    RECIPIENT,
)

TIME = {
    "type": "string",
    "format": "date-time",
    "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$",
    "example": "2026-11-25T14:03:07.012000Z",
}
TIMESTAMP = {**TIME, "nullable": True}
ID = {"type": "string", "minLength": 1, "maxLength": MAX_ID_LENGTH}


def _media_schema(media_type: str) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "link": {"type": "string", "pattern": "^https?://", "maxLength": 2048},
        "id": ID,
        "media_id": {
            "type": "string",
            "format": "uuid",
            "description": "A file uploaded with POST /media; pigeon uploads it to WhatsApp as needed",
        },
    }
    if media_type in ("image", "video", "document"):
        properties["caption"] = {"type": "string", "maxLength": MAX_CAPTION_LENGTH}
    if media_type == "document":
        properties["filename"] = {"type": "string", "maxLength": 240}
    return {
        "type": "object",
        "description": "Exactly one of link, id (WhatsApp's media id) or media_id (pigeon's).",
        "properties": properties,
        "oneOf": [{"required": ["link"]}, {"required": ["id"]}, {"required": ["media_id"]}],
    }


CONTENT_SCHEMAS: dict[str, Any] = {
    "text": {
        "type": "object",
        "required": ["body"],
        "properties": {
            "body": {"type": "string", "minLength": 1, "maxLength": MAX_TEXT_LENGTH},
            "preview_url": {"type": "boolean"},
        },
    },
    "template": {
        "type": "object",
        "required": ["name", "language"],
        "properties": {
            "name": {"type": "string", "pattern": TEMPLATE_NAME.pattern},
            "language": {
                "type": "object",
                "required": ["code"],
                "properties": {"code": {"type": "string", "pattern": LANGUAGE_CODE.pattern}},
            },
            "components": {
                "type": "array",
                "description": f"At most {MAX_TEMPLATE_PARAMETERS} parameters in all components together.",
                "maxItems": MAX_TEMPLATE_COMPONENTS,
                "items": {
                    "type": "object",
                    "required": ["type"],
                    "properties": {
                        "type": {"type": "string", "minLength": 1, "maxLength": 32},
                        "parameters": {
                            "type": "array",
                            "maxItems": MAX_TEMPLATE_PARAMETERS,
                            "items": {"type": "object"},
                        },
                    },
                },
            },
        },
    },
    **{media: _media_schema(media) for media in MEDIA_TYPES},
    "reaction": {
        "type": "object",
        "required": ["message_id"],
        "properties": {
            "message_id": ID,
            "emoji": {"type": "string", "maxLength": 16, "description": "Empty removes the reaction"},
        },
    },
    "contacts": {
        "type": "array",
        "description": "Contact cards, as Meta's contacts messages take them; unknown fields are dropped.",
        "minItems": 1,
        "maxItems": MAX_CONTACTS,
        "items": {
            "type": "object",
            "required": ["name"],
            "properties": {
                "name": {
                    "type": "object",
                    "required": ["formatted_name"],
                    "properties": {key: {"type": "string"} for key in CONTACT_NAME_FIELDS},
                },
                **{
                    part: {
                        "type": "array",
                        "maxItems": MAX_CONTACT_ITEMS,
                        "items": {"type": "object", "properties": {key: {"type": "string"} for key in keys}},
                    }
                    for part, keys in CONTACT_LISTS.items()
                },
                "org": {
                    "type": "object",
                    "properties": {key: {"type": "string"} for key in CONTACT_ORG_FIELDS},
                },
                "birthday": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"},
            },
        },
    },
    "location": {
        "type": "object",
        "required": ["latitude", "longitude"],
        "properties": {
            "latitude": {"type": "number", "minimum": -90, "maximum": 90},
            "longitude": {"type": "number", "minimum": -180, "maximum": 180},
            "name": {"type": "string", "maxLength": MAX_LOCATION_TEXT_LENGTH},
            "address": {
                "type": "string",
                "maxLength": MAX_LOCATION_TEXT_LENGTH,
                "description": "Shown with a name",
            },
        },
    },
    "interactive": INTERACTIVE,
}
CONTEXT = {"type": "object", "required": ["message_id"], "properties": {"message_id": ID}}

SCHEMAS: dict[str, Any] = {
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
    "SendRequest": {
        "type": "object",
        "description": (
            "A message in the WhatsApp Cloud API's shape: `type` and the object of that name. Give "
            "exactly one of conversation_id, or to (with an optional account_id, which must be the "
            "API key's) to open a conversation with a new contact. Unknown fields are ignored (but "
            "`template.components` is stored and sent to WhatsApp as given); "
            f"JSON nested deeper than {MAX_JSON_DEPTH} levels and strings holding U+0000 are refused."
        ),
        "required": ["type"],
        "properties": {
            "conversation_id": {"type": "string", "format": "uuid"},
            "account_id": {"type": "string", "format": "uuid"},
            "to": {
                "type": "string",
                "pattern": f"^(?:{RECIPIENT.pattern}|{BSUID.pattern})$",
                "description": (
                    "A phone number (E.164 digits), or a business-scoped user id (BSUID) for a user "
                    "known only by it: the conversation with that contact, opened if new"
                ),
            },
            "type": {"type": "string", "enum": list(MESSAGE_TYPES)},
            **CONTENT_SCHEMAS,
            "context": CONTEXT,
        },
        "allOf": [
            # The object named by `type` is required: one variant per type.
            {
                "anyOf": [
                    {"required": ["type", message_type], "properties": {"type": {"enum": [message_type]}}}
                    for message_type in MESSAGE_TYPES
                ]
            },
            # Exactly one target.
            {"oneOf": [{"required": ["conversation_id"]}, {"required": ["to"]}]},
        ],
        "example": {"conversation_id": "3f0c9a52-...", "type": "text", "text": {"body": "Hello!"}},
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
                for name in CONTENT_SCHEMAS
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
