"""The `interactive` content of the OpenAPI document (openapi_schemas.py): Meta's reply
buttons, list, CTA URL and location request messages, with the limits interactive.py checks."""

from typing import Any

from services.gateway.interactive import (
    HEADER_MEDIA,
    INTERACTIVE_TYPES,
    MAX_BODY_TEXT,
    MAX_BUTTON_ID,
    MAX_BUTTON_TITLE,
    MAX_BUTTONS,
    MAX_DISPLAY_TEXT,
    MAX_FOOTER_TEXT,
    MAX_HEADER_TEXT,
    MAX_LIST_BUTTON,
    MAX_ROW_DESCRIPTION,
    MAX_ROW_ID,
    MAX_ROW_TITLE,
    MAX_ROWS,
    MAX_SECTION_TITLE,
    MAX_SECTIONS,
    MAX_URL,
)


def _text(most: int) -> dict[str, Any]:
    return {"type": "string", "minLength": 1, "maxLength": most}


def _text_object(most: int) -> dict[str, Any]:
    return {"type": "object", "required": ["text"], "properties": {"text": _text(most)}}


_MEDIA = {
    "type": "object",
    "description": "One of link (http or https) or id",
    "properties": {"link": _text(MAX_URL), "id": _text(MAX_URL), "filename": {"type": "string"}},
}

INTERACTIVE: dict[str, Any] = {
    "type": "object",
    "description": (
        "Meta's interactive messages: `button` (1 to 3 reply buttons, ids and titles unique), `list` "
        f"(1 to {MAX_SECTIONS} sections, at most {MAX_ROWS} rows in all, row ids unique; a section "
        "title is required when there are several; a text header only), `cta_url`, "
        "`location_request_message` (a body only). Unknown fields are dropped."
    ),
    "required": ["type", "body", "action"],
    "properties": {
        "type": {"type": "string", "enum": list(INTERACTIVE_TYPES)},
        "header": {
            "type": "object",
            "required": ["type"],
            "properties": {
                "type": {"type": "string", "enum": ["text", *HEADER_MEDIA]},
                "text": _text(MAX_HEADER_TEXT),
                **dict.fromkeys(HEADER_MEDIA, _MEDIA),
            },
        },
        "body": _text_object(MAX_BODY_TEXT),
        "footer": _text_object(MAX_FOOTER_TEXT),
        "action": {
            "type": "object",
            "description": (
                "By type: buttons; button and sections; name cta_url and parameters; name send_location"
            ),
            "properties": {
                "buttons": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": MAX_BUTTONS,
                    "items": {
                        "type": "object",
                        "required": ["reply"],
                        "properties": {
                            "type": {"type": "string", "enum": ["reply"]},
                            "reply": {
                                "type": "object",
                                "required": ["id", "title"],
                                "properties": {"id": _text(MAX_BUTTON_ID), "title": _text(MAX_BUTTON_TITLE)},
                            },
                        },
                    },
                },
                "button": _text(MAX_LIST_BUTTON),
                "sections": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": MAX_SECTIONS,
                    "items": {
                        "type": "object",
                        "required": ["rows"],
                        "properties": {
                            "title": _text(MAX_SECTION_TITLE),
                            "rows": {
                                "type": "array",
                                "minItems": 1,
                                "maxItems": MAX_ROWS,
                                "items": {
                                    "type": "object",
                                    "required": ["id", "title"],
                                    "properties": {
                                        "id": _text(MAX_ROW_ID),
                                        "title": _text(MAX_ROW_TITLE),
                                        "description": {"type": "string", "maxLength": MAX_ROW_DESCRIPTION},
                                    },
                                },
                            },
                        },
                    },
                },
                "name": {"type": "string", "enum": ["cta_url", "send_location"]},
                "parameters": {
                    "type": "object",
                    "required": ["display_text", "url"],
                    "properties": {"display_text": _text(MAX_DISPLAY_TEXT), "url": _text(MAX_URL)},
                },
            },
        },
    },
}
