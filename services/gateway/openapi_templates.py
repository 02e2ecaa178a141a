"""The templates' routes of the OpenAPI document (openapi.py)."""

from typing import Any

from services.gateway.openapi_parts import AUTHENTICATED, error_responses, json_body, page_parameters
from services.gateway.openapi_schemas import TIME, page_of
from services.gateway.templates import MAX_NAME_CHARACTERS
from services.shared.vocabulary import TEMPLATE_CATEGORIES as CATEGORIES
from services.shared.vocabulary import TEMPLATE_STATUSES as STATUSES

TEMPLATE = {"$ref": "#/components/schemas/Template"}

SCHEMAS: dict[str, Any] = {
    "Template": {
        "type": "object",
        "description": "A template of the account's WhatsApp Business Account, as WhatsApp listed it.",
        "required": [
            "name",
            "language",
            "whatsapp_id",
            "category",
            "status",
            "parameter_format",
            "components",
            "parameter_counts",
            "updated_at",
        ],
        "properties": {
            "name": {"type": "string"},
            "language": {"type": "string", "description": "Language code, e.g. en_US"},
            "whatsapp_id": {"type": "string"},
            "category": {"type": "string", "enum": list(CATEGORIES)},
            "status": {"type": "string", "enum": list(STATUSES)},
            "parameter_format": {"type": "string", "enum": ["POSITIONAL", "NAMED"]},
            "components": {
                "type": "array",
                "items": {"type": "object"},
                "description": "WhatsApp's components (HEADER, BODY, FOOTER, BUTTONS) as it listed them",
            },
            "parameter_counts": {
                "type": "object",
                "additionalProperties": {"type": "integer"},
                "description": (
                    'Parameters a send gives each component that takes any: "header", "body", '
                    '"button:<index>" (a URL button with a variable suffix, a copy-code button)'
                ),
            },
            "updated_at": TIME,
        },
    },
}
_PAGE = page_of("templates", TEMPLATE)
_PAGE["required"] = [*_PAGE["required"], "synced_at", "sync_failure"]
_PAGE["properties"] |= {
    "synced_at": {
        **TIME,
        "nullable": True,
        "description": "When they were last listed from WhatsApp; null: never (sends are not checked)",
    },
    "sync_failure": {"type": "string", "nullable": True, "description": "Why the last listing failed"},
}


def _filter(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "description": description, "schema": schema}


def template_paths() -> dict[str, Any]:
    return {
        "/templates": {
            "get": {
                "summary": "The account's message templates, by name and language",
                "description": (
                    "Listed from WhatsApp at start, every TEMPLATE_SYNC_EVERY_SECONDS and at once on a "
                    "status-update webhook. Template sends are checked against them before any "
                    "WhatsApp call (422)."
                ),
                "parameters": [
                    *page_parameters(),
                    _filter("status", {"type": "string", "enum": list(STATUSES)}, "Only this status"),
                    _filter("category", {"type": "string", "enum": list(CATEGORIES)}, "Only this category"),
                    _filter("name", {"type": "string", "maxLength": MAX_NAME_CHARACTERS}, "Only this name"),
                ],
                "responses": {
                    "200": {"description": "A page of templates", **json_body(_PAGE)},
                    **error_responses(*AUTHENTICATED, 400),
                },
            }
        },
        "/templates/sync": {
            "post": {
                "summary": "List the account's templates from WhatsApp again, soon",
                "responses": {
                    "202": {
                        "description": "Scheduled; GET /templates' synced_at says when it ran",
                        **json_body(
                            {
                                "type": "object",
                                "required": ["status"],
                                "properties": {"status": {"type": "string", "enum": ["scheduled"]}},
                            }
                        ),
                    },
                    **error_responses(*AUTHENTICATED),
                },
            }
        },
    }
