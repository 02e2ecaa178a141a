"""The OpenAPI 3 description of the HTTP API, served at /openapi.json."""

from typing import Any

from services.gateway.settings import GatewaySettings
from services.gateway.validation import MAX_TEXT_LENGTH, MESSAGE_TYPES

ERROR = {"$ref": "#/components/schemas/Error"}


def _error_responses(*statuses: int) -> dict[str, Any]:
    reasons = {
        400: "Malformed JSON or an invalid field",
        401: "Missing or unknown API key",
        404: "No such resource for this account",
        409: "Conflict with the resource's state",
        413: "Body larger than the limit",
        422: "Text too long, or WhatsApp refused the message (it is stored as failed)",
        502: "WhatsApp failed (the message is stored as failed)",
        503: "A dependency is unavailable",
        504: "WhatsApp did not answer in time (the message is stored as failed)",
    }
    return {
        str(status): {"description": reasons[status], "content": {"application/json": {"schema": ERROR}}}
        for status in statuses
    }


def _page_parameters() -> list[dict[str, Any]]:
    return [
        {
            "name": "page_size",
            "in": "query",
            "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20},
        },
        {"name": "page_token", "in": "query", "schema": {"type": "string", "maxLength": 512}},
    ]


def _id_parameter(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


TIMESTAMP = {"type": "string", "format": "date-time", "nullable": True}

SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {"type": "string", "example": "not_found"},
                    "message": {"type": "string"},
                    "details": {"nullable": True},
                },
            }
        },
    },
    "SendRequest": {
        "type": "object",
        "description": (
            "A message in the WhatsApp Cloud API's shape. Give conversation_id, or to (with an optional "
            "account_id, which must be the API key's) to open a conversation with a new contact. "
            "Unknown fields are ignored."
        ),
        "required": ["type"],
        "properties": {
            "conversation_id": {"type": "string"},
            "account_id": {"type": "string"},
            "to": {"type": "string", "pattern": "^\\+?[0-9]{5,20}$"},
            "type": {"type": "string", "enum": list(MESSAGE_TYPES)},
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
                    "name": {"type": "string"},
                    "language": {"type": "object", "properties": {"code": {"type": "string"}}},
                    "components": {"type": "array", "maxItems": 10, "items": {"type": "object"}},
                },
            },
            **{
                media: {
                    "type": "object",
                    "description": "Exactly one of link or id.",
                    "properties": {
                        "link": {"type": "string"},
                        "id": {"type": "string"},
                        "caption": {"type": "string"},
                        "filename": {"type": "string"},
                    },
                }
                for media in ("image", "document", "audio", "video", "sticker")
            },
            "reaction": {
                "type": "object",
                "required": ["message_id"],
                "properties": {"message_id": {"type": "string"}, "emoji": {"type": "string"}},
            },
            "context": {"type": "object", "properties": {"message_id": {"type": "string"}}},
        },
        "example": {"conversation_id": "3f0c...", "type": "text", "text": {"body": "Hello!"}},
    },
    "Message": {
        "type": "object",
        "description": "Also carries the content object under the key named by `type` (e.g. `text`).",
        "required": ["id", "conversation_id", "direction", "type", "status", "created_at"],
        "properties": {
            "id": {"type": "string"},
            "conversation_id": {"type": "string"},
            "direction": {"type": "string", "enum": ["outbound", "inbound"]},
            "contact_wa_id": {"type": "string"},
            "type": {"type": "string"},
            "status": {
                "type": "string",
                "enum": ["queued", "sending", "sent", "delivered", "read", "failed", "received"],
            },
            "wa_message_id": {"type": "string", "nullable": True},
            "error": {
                "type": "object",
                "nullable": True,
                "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
            },
            "context": {"type": "object", "properties": {"message_id": {"type": "string"}}},
            "created_at": {"type": "string", "format": "date-time"},
            "sent_at": TIMESTAMP,
            "delivered_at": TIMESTAMP,
            "read_at": TIMESTAMP,
            "failed_at": TIMESTAMP,
        },
    },
    "Conversation": {
        "type": "object",
        "required": ["id", "contact", "created_at", "unread_count"],
        "properties": {
            "id": {"type": "string"},
            "contact": {
                "type": "object",
                "properties": {"wa_id": {"type": "string"}, "name": {"type": "string", "nullable": True}},
            },
            "created_at": {"type": "string", "format": "date-time"},
            "last_message_at": TIMESTAMP,
            "last_inbound_at": TIMESTAMP,
            "unread_count": {"type": "integer"},
        },
    },
}


def openapi_document(settings: GatewaySettings) -> dict[str, Any]:
    message = {"$ref": "#/components/schemas/Message"}
    conversation = {"$ref": "#/components/schemas/Conversation"}
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "pigeon",
            "version": "1.0.0",
            "description": (
                "WhatsApp Business messaging. Authenticate with `Authorization: Bearer <api key>`. "
                f"Bodies are limited to {settings.max_body_bytes} bytes, "
                f"text to {MAX_TEXT_LENGTH} characters."
            ),
        },
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"apiKey": []}],
        "paths": {
            "/messages/send": {
                "post": {
                    "summary": "Send a message and wait for WhatsApp's answer",
                    "requestBody": {"required": True, **_json({"$ref": "#/components/schemas/SendRequest"})},
                    "responses": {
                        "200": {"description": "WhatsApp accepted the message", **_json(message)},
                        **_error_responses(400, 401, 404, 413, 422, 502, 503, 504),
                    },
                }
            },
            "/messages/{message_id}": {
                "get": {
                    "summary": "One message",
                    "parameters": [_id_parameter("message_id")],
                    "responses": {
                        "200": {"description": "The message", **_json(message)},
                        **_error_responses(401, 404, 503),
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
                            **_json(
                                {
                                    "type": "object",
                                    "properties": {
                                        "conversations": {"type": "array", "items": conversation},
                                        "next_page_token": {"type": "string", "nullable": True},
                                    },
                                }
                            ),
                        },
                        **_error_responses(400, 401, 503),
                    },
                }
            },
            "/conversations/{conversation_id}": {
                "get": {
                    "summary": "One conversation",
                    "parameters": [_id_parameter("conversation_id")],
                    "responses": {
                        "200": {"description": "The conversation", **_json(conversation)},
                        **_error_responses(401, 404, 503),
                    },
                }
            },
            "/conversations/{conversation_id}/messages": {
                "get": {
                    "summary": "Messages of a conversation, newest first",
                    "parameters": [_id_parameter("conversation_id"), *_page_parameters()],
                    "responses": {
                        "200": {
                            "description": "A page of messages",
                            **_json(
                                {
                                    "type": "object",
                                    "properties": {
                                        "messages": {"type": "array", "items": message},
                                        "next_page_token": {"type": "string", "nullable": True},
                                    },
                                }
                            ),
                        },
                        **_error_responses(400, 401, 404, 503),
                    },
                }
            },
            "/healthz": {
                "get": {
                    "summary": "The process is alive",
                    "security": [],
                    "responses": {"200": {"description": "Alive"}},
                }
            },
            "/readyz": {
                "get": {
                    "summary": "The services this gateway needs are serving",
                    "security": [],
                    "responses": {
                        "200": {"description": "Ready"},
                        "503": {"description": "A dependency is down"},
                    },
                }
            },
            "/openapi.json": {
                "get": {
                    "summary": "This document",
                    "security": [],
                    "responses": {"200": {"description": "OpenAPI 3"}},
                }
            },
        },
    }
