"""The team inbox's part of the OpenAPI document (openapi.py): GET /conversations' inbox
filters, PATCH /conversations/{id}, labels, notes and GET /messages/search."""

from typing import Any

from services.gateway.list_params import MAX_QUERY_CHARS, ConversationChange, NewNote
from services.gateway.models import REF_PREFIX, openapi_schemas
from services.gateway.openapi_parts import (
    AUTHENTICATED,
    CONVERSATION,
    MESSAGE,
    error_responses,
    header,
    id_parameter,
    json_body,
    page_parameters,
)
from services.gateway.openapi_schemas import TIME, TIME_PARAMETER, page_of
from services.shared.vocabulary import CONVERSATION_STATUSES, LABEL, MAX_SEARCH_CHARS

NOTE = {"$ref": "#/components/schemas/ConversationNote"}

SCHEMAS: dict[str, Any] = {
    # The request bodies, from the models that decode them.
    **openapi_schemas({"ConversationChange": ConversationChange, "NewNote": NewNote}),
    "ConversationNote": {
        "type": "object",
        "description": "An agent's internal note: kept by pigeon, never sent to WhatsApp.",
        "required": ["id", "conversation_id", "author", "body", "created_at"],
        "properties": {
            "id": {"type": "string", "format": "uuid"},
            "conversation_id": {"type": "string", "format": "uuid"},
            "author": {
                "type": "string",
                "nullable": True,
                "description": "The agent's id, the customer's own",
            },
            "body": {"type": "string"},
            "created_at": TIME,
        },
    },
}

_LABEL_SCHEMA = {"type": "string", "pattern": f"^{LABEL.pattern}$", "maxLength": 64}


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "description": description, "schema": schema}


INBOX_FILTER_PARAMETERS = [
    _query(
        "status",
        {"type": "string", "enum": list(CONVERSATION_STATUSES)},
        "Only this status. A snooze whose time passed leaves `snoozed` at once and joins `open` when "
        "the reopening job stores it so (within about a second)",
    ),
    _query("assignee", {"type": "string", "minLength": 1}, "Only those assigned to this agent or team"),
    _query("unassigned", {"type": "boolean"}, "true: only the unassigned (not with `assignee`)"),
    _query("label", _LABEL_SCHEMA, "Only those with this label"),
    _query("unread", {"type": "boolean"}, "true: only those with unread messages"),
    _query(
        "q",
        {"type": "string", "minLength": 1, "maxLength": MAX_QUERY_CHARS},
        "Only those whose contact's phone number (digits, with or without +) or BSUID is this, "
        "or whose name starts with it (any case)",
    ),
]

_IF_MATCH = {
    "name": "If-Match",
    "in": "header",
    "description": 'The conversation\'s ETag as read ("<version>"): the change is made only if it is '
    "still at that version, else 412. Absent or *: whatever its version.",
    "schema": {"type": "string"},
}
_ETAG = {"ETag": header('The conversation\'s version, quoted: "<version>"')}
_CHANGED = {"description": "The conversation as changed", "headers": _ETAG, **json_body(CONVERSATION)}
_LABEL_PARAMETER = {
    "name": "label",
    "in": "path",
    "required": True,
    "description": "1 to 64 letters, digits or _, then also . : -",
    "schema": _LABEL_SCHEMA,
}


def _label_operation(summary: str) -> dict[str, Any]:
    return {
        "summary": summary,
        "parameters": [id_parameter("conversation_id"), _LABEL_PARAMETER, _IF_MATCH],
        "responses": {"200": _CHANGED, **error_responses(*AUTHENTICATED, 400, 404, 409, 412)},
    }


PATCH_CONVERSATION = {
    "summary": "Change a conversation's status, snooze or assignee (a conversation.updated event)",
    "description": (
        "Only the fields given change. `snoozed` needs `snoozed_until` in the future (or keeps the "
        "one it has); `snoozed_until` goes only with `snoozed`, and another status clears it. "
        "`assignee` null unassigns. The event's data has `changes`: each changed field's "
        '{"from", "to"}. Nothing changed: no event.'
    ),
    "parameters": [id_parameter("conversation_id"), _IF_MATCH],
    "requestBody": {"required": True, **json_body({"$ref": f"{REF_PREFIX}ConversationChange"})},
    "responses": {"200": _CHANGED, **error_responses(*AUTHENTICATED, 400, 404, 412)},
}


SEARCH_PARAMETERS = [
    {
        **_query(
            "q",
            {"type": "string", "minLength": 1, "maxLength": MAX_SEARCH_CHARS},
            "Words to find in text bodies and media captions, in PostgreSQL's websearch syntax: all "
            'the words, "a phrase", `or`, `-word` (without it); compared word by word, any case, '
            "without stemming",
        ),
        "required": True,
    },
    _query("conversation_id", {"type": "string", "format": "uuid"}, "Only this conversation's messages"),
    _query("since", TIME_PARAMETER, "RFC 3339 time with its offset: only messages created at or after it"),
    _query(
        "until",
        TIME_PARAMETER,
        "RFC 3339 time with its offset: only messages created before it; after `since`",
    ),
]


def inbox_paths() -> dict[str, Any]:
    return {
        "/messages/search": {
            "get": {
                "summary": "Full-text search of the account's messages, newest first",
                "parameters": [*SEARCH_PARAMETERS, *page_parameters()],
                "responses": {
                    "200": {"description": "A page of messages", **json_body(page_of("messages", MESSAGE))},
                    **error_responses(*AUTHENTICATED, 400),
                },
            }
        },
        "/conversations/{conversation_id}/labels/{label}": {
            "put": _label_operation("Put a label on a conversation (already there: no change)"),
            "delete": _label_operation("Take a label off a conversation (not there: no change)"),
        },
        "/conversations/{conversation_id}/notes": {
            "post": {
                "summary": "Add an internal note (never sent to WhatsApp)",
                "parameters": [id_parameter("conversation_id")],
                "requestBody": {"required": True, **json_body({"$ref": f"{REF_PREFIX}NewNote"})},
                "responses": {
                    "201": {"description": "The note", **json_body(NOTE)},
                    **error_responses(*AUTHENTICATED, 400, 404),
                },
            },
            "get": {
                "summary": "A conversation's notes, newest first",
                "parameters": [id_parameter("conversation_id"), *page_parameters()],
                "responses": {
                    "200": {"description": "A page of notes", **json_body(page_of("notes", NOTE))},
                    **error_responses(*AUTHENTICATED, 400, 404),
                },
            },
        },
    }
