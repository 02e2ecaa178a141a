"""The request models' two products: the OpenAPI 3.0 schemas made from them, and the 400s made
from their decoders' errors (each naming its field the way the API spells it)."""

from typing import Any

import pytest

from services.gateway.admin import SCOPE_CHOICES, NewApiKey
from services.gateway.errors import ApiError
from services.gateway.list_params import parse_inbox_patch, parse_note
from services.gateway.openapi_admin import SCHEMAS as ADMIN_SCHEMAS
from services.gateway.openapi_inbox import SCHEMAS as INBOX_SCHEMAS
from services.gateway.openapi_schemas import SCHEMAS
from services.gateway.openapi_webhook_endpoints import SCHEMAS as WEBHOOK_ENDPOINT_SCHEMAS
from services.gateway.validation import decode_body, parse_read

COMPONENTS = {**SCHEMAS, **INBOX_SCHEMAS, **WEBHOOK_ENDPOINT_SCHEMAS, **ADMIN_SCHEMAS}


def walk(schema: Any) -> list[dict[str, Any]]:
    """Every object within a schema, itself included."""
    found, stack = [], [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            found.append(node)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


REQUEST_BODIES = (
    "SendRequest",
    "ReadReceipt",
    "ConversationChange",
    "NewNote",
    "NewWebhookEndpoint",
    "WebhookEndpointChange",
    "WebhookReplay",
    "NewAccount",
    "AccountChange",
    "NewApiKey",
)


def generated() -> set[str]:
    """The request bodies' schemas and every schema they refer to, all made from models."""
    names, todo = set(), list(REQUEST_BODIES)
    while todo:
        name = todo.pop()
        if name not in names:
            names.add(name)
            for node in walk(COMPONENTS[name]):
                if isinstance(ref := node.get("$ref"), str):
                    todo.append(ref.removeprefix("#/components/schemas/"))
    return names


def test_the_generated_schemas_are_openapi_3_0() -> None:
    names = generated()
    assert {"SendText", "InteractiveList", "TemplateComponent", "InboxFields"} <= names
    for name in names:
        for node in walk(COMPONENTS[name]):
            assert node.get("type") != "null", name
            assert "$ref" not in node or len(node) == 1, (name, node)
            assert node.get("required") != [], name
            assert "examples" not in node and "$defs" not in node, name


def invalid(call: Any) -> ApiError:
    with pytest.raises(ApiError) as raised:
        call()
    assert (raised.value.status, raised.value.code) == (400, "invalid_request")
    return raised.value


def test_an_unknown_field_is_named_where_fields_are_closed() -> None:
    error = invalid(lambda: parse_inbox_patch(b'{"status": "open", "unread_count": 0}'))
    assert (error.message, error.details) == (
        "unread_count is not a field of this request",
        {"field": "unread_count"},
    )


def test_a_pattern_is_said_in_words() -> None:
    error = invalid(lambda: parse_note(b'{"body": "a\\u0000b"}'))
    assert error.message == "body must be text without the character U+0000"


def test_a_value_outside_a_list_names_the_item_and_the_list() -> None:
    error = invalid(lambda: decode_body(NewApiKey, b'{"scopes": ["read", "admin"]}', SCOPE_CHOICES))
    assert error.details == {"field": "scopes[1]"}
    assert error.message == "scopes[1] must be one of send, read, webhooks"


@pytest.mark.parametrize(
    ("raw", "field", "message"),
    [
        (b'{"typing": "yes"}', "typing", "typing must be a boolean"),
        (b'{"typing": null}', "typing", "typing must be a boolean"),
    ],
)
def test_a_read_receipt_body(raw: bytes, field: str, message: str) -> None:
    error = invalid(lambda: parse_read(raw))
    assert (error.details, error.message) == ({"field": field}, message)
    assert parse_read(b"") is False and parse_read(b'{"typing": true}') is True
