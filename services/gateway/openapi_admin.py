"""Administration's routes of the OpenAPI document (openapi.py), there only when ADMIN_TOKEN is
set: accounts and their API keys, behind the admin token."""

from typing import Any

from services.gateway.admin import AccountChange, NewAccount, NewApiKey
from services.gateway.models import REF_PREFIX, openapi_schemas
from services.gateway.openapi_parts import error_responses, id_parameter, json_body
from services.gateway.openapi_schemas import TIME
from services.shared.vocabulary import API_KEY_SCOPES

ACCOUNT = {"$ref": "#/components/schemas/AdminAccount"}
API_KEY = {"$ref": "#/components/schemas/AdminApiKey"}
# Checking the token is the gateway's; the rest is a call to conversations.
ADMIN_ERRORS = (401, 502, 503)
ADMIN_SECURITY: list[dict[str, list[str]]] = [{"adminToken": []}]
_SCOPES = {"type": "array", "items": {"type": "string", "enum": list(API_KEY_SCOPES)}}

SCHEMAS: dict[str, Any] = {
    # The request bodies, from the models that decode them.
    **openapi_schemas({"NewAccount": NewAccount, "AccountChange": AccountChange, "NewApiKey": NewApiKey}),
    "AdminAccount": {
        "type": "object",
        "description": "An account as administration shows it: no access token, no app secret.",
        "required": [
            "id",
            "name",
            "phone_number_id",
            "display_phone_number",
            "waba_id",
            "messages_per_second",
            "active_api_keys",
            "created_at",
        ],
        "properties": {
            "id": {"type": "string", "format": "uuid"},
            "name": {"type": "string"},
            "phone_number_id": {"type": "string"},
            "display_phone_number": {"type": "string"},
            "waba_id": {"type": "string", "nullable": True},
            "messages_per_second": {"type": "integer"},
            "active_api_keys": {"type": "integer", "description": "Its keys that are not revoked"},
            "created_at": TIME,
        },
    },
    "AdminApiKey": {
        "type": "object",
        "description": "An API key: its first characters (`prefix`), never the key.",
        "required": ["id", "account_id", "prefix", "scopes", "created_at", "revoked_at"],
        "properties": {
            "id": {"type": "string", "format": "uuid"},
            "account_id": {"type": "string", "format": "uuid"},
            "prefix": {"type": "string"},
            "scopes": _SCOPES,
            "created_at": TIME,
            "revoked_at": {**TIME, "nullable": True},
            "api_key": {
                "type": "string",
                "description": "The key itself: only in the answer of its creation",
            },
        },
    },
}


def _operation(
    summary: str, success: str, schema: dict[str, Any], *errors: int, **extra: Any
) -> dict[str, Any]:
    return {
        "summary": summary,
        "security": ADMIN_SECURITY,
        **extra,
        "responses": {
            success: {"description": summary, **json_body(schema)},
            **error_responses(*ADMIN_ERRORS, *errors),
        },
    }


def _body(model: type, *, optional: bool = False) -> dict[str, Any]:
    schema = {"$ref": f"{REF_PREFIX}{model.__name__}"}
    return {"requestBody": {"required": not optional, **json_body(schema)}}


def _list(key: str, item: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "required": [key], "properties": {key: {"type": "array", "items": item}}}


def admin_paths() -> dict[str, Any]:
    account_id = [id_parameter("account_id")]
    return {
        "/admin/accounts": {
            "post": _operation(
                "Create an account for a WhatsApp business number",
                "201",
                ACCOUNT,
                400,
                409,
                **_body(NewAccount),
            ),
            "get": _operation("Every account, oldest first", "200", _list("accounts", ACCOUNT)),
        },
        "/admin/accounts/{account_id}": {
            "get": _operation("One account", "200", ACCOUNT, 404, parameters=account_id),
            "patch": _operation(
                "Change an account: a new access token or app secret, its rate, WABA, name",
                "200",
                ACCOUNT,
                400,
                404,
                parameters=account_id,
                **_body(AccountChange),
            ),
        },
        "/admin/accounts/{account_id}/api-keys": {
            "post": _operation(
                "A new API key (`api_key` in the answer, shown only here); no scopes: all of them",
                "201",
                API_KEY,
                400,
                404,
                parameters=account_id,
                **_body(NewApiKey, optional=True),
            )
        },
        "/admin/api-keys": {
            "get": _operation(
                "API keys whose prefix starts with `prefix`, of one account or all, newest first",
                "200",
                _list("api_keys", API_KEY),
                400,
                404,
                parameters=[
                    {"name": "prefix", "in": "query", "schema": {"type": "string", "maxLength": 64}},
                    {"name": "account_id", "in": "query", "schema": {"type": "string", "format": "uuid"}},
                ],
            )
        },
        "/admin/api-keys/{key_id}/revoke": {
            "post": _operation(
                "Revoke a key: refused everywhere within AUTH_CACHE_TTL_SECONDS",
                "200",
                API_KEY,
                404,
                parameters=[id_parameter("key_id")],
            )
        },
    }
