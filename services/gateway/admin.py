"""Administration over HTTP: `/admin/`, accounts and their API keys, for operators. Behind the
admin token (ADMIN_TOKEN, checked by the authenticate middleware); without one these routes
are not registered. Each calls conversations' Admin service, which checks the values (a 400
naming the field); here only the shape of a request is checked.

Tokens and secrets are taken, never answered; a new API key is answered once, at its creation.
"""

from typing import Any

from aiohttp import web
from pigeon.conversations.v1 import admin_pb2 as pb

from services.gateway.context import CLIENTS
from services.gateway.fields import invalid
from services.gateway.handlers import ask_conversations, json_response
from services.gateway.resources import account_json, api_key_json
from services.gateway.validation import parse_json_object
from services.shared.vocabulary import API_KEY_SCOPES

routes = web.RouteTableDef()

# Generous bounds on the shape; conversations checks the values.
MAX_TEXT_CHARACTERS = 4096
MAX_MESSAGES_PER_SECOND = 100_000
ACCOUNT_TEXT_FIELDS = ("name", "phone_number_id", "display_phone_number", "waba_id")
SECRET_FIELDS = ("access_token", "app_secret")
ACCOUNT_FIELDS = (*ACCOUNT_TEXT_FIELDS, *SECRET_FIELDS, "messages_per_second")


def _account_fields(body: dict[str, Any]) -> dict[str, Any]:
    """The body's account fields, each of its type; unknown fields refused."""
    for key in body:
        if key not in ACCOUNT_FIELDS:
            raise invalid(f"unknown field {key[:64]!r}; allowed: {', '.join(ACCOUNT_FIELDS)}", key[:64])
    fields: dict[str, Any] = {}
    for key in (*ACCOUNT_TEXT_FIELDS, *SECRET_FIELDS):
        value = body.get(key)
        if value is None:
            continue
        if not isinstance(value, str) or len(value) > MAX_TEXT_CHARACTERS or "\x00" in value:
            raise invalid(f"{key} must be a string of at most {MAX_TEXT_CHARACTERS} characters", key)
        fields[key] = value
    rate = body.get("messages_per_second")
    if rate is not None:
        if isinstance(rate, bool) or not isinstance(rate, int) or not 1 <= rate <= MAX_MESSAGES_PER_SECOND:
            raise invalid(
                f"messages_per_second must be an integer, 1 to {MAX_MESSAGES_PER_SECOND}",
                "messages_per_second",
            )
        fields["messages_per_second"] = rate
    return fields


@routes.post("/admin/accounts")
async def create_account(request: web.Request) -> web.Response:
    fields = _account_fields(parse_json_object(await request.read()))
    for key in ("name", "phone_number_id", *SECRET_FIELDS):
        if key not in fields:
            raise invalid(f"{key} is required", key)
    account = await ask_conversations(
        request, request.app[CLIENTS].admin.CreateAccount, pb.CreateAccountRequest(**fields)
    )
    return json_response(
        account_json(account), status=201, headers={"Location": f"/admin/accounts/{account.id}"}
    )


@routes.get("/admin/accounts")
async def list_accounts(request: web.Request) -> web.Response:
    found = await ask_conversations(
        request, request.app[CLIENTS].admin.ListAccounts, pb.ListAccountsRequest()
    )
    return json_response({"accounts": [account_json(a) for a in found.accounts]})


@routes.get("/admin/accounts/{account_id}")
async def get_account(request: web.Request) -> web.Response:
    account = await ask_conversations(
        request,
        request.app[CLIENTS].admin.GetAccount,
        pb.AccountRef(account_id=request.match_info["account_id"]),
    )
    return json_response(account_json(account))


@routes.patch("/admin/accounts/{account_id}")
async def update_account(request: web.Request) -> web.Response:
    fields = _account_fields(parse_json_object(await request.read()))
    if "phone_number_id" in fields:
        raise invalid(
            "phone_number_id cannot change: create an account for the new number", "phone_number_id"
        )
    account = await ask_conversations(
        request,
        request.app[CLIENTS].admin.UpdateAccount,
        pb.UpdateAccountRequest(account_id=request.match_info["account_id"], **fields),
    )
    return json_response(account_json(account))


@routes.post("/admin/accounts/{account_id}/api-keys")
async def create_api_key(request: web.Request) -> web.Response:
    raw = await request.read()
    body = parse_json_object(raw) if raw.strip() else {}
    for key in body:
        if key != "scopes":
            raise invalid(f"unknown field {key[:64]!r}; allowed: scopes", key[:64])
    scopes = body.get("scopes", [])
    if not isinstance(scopes, list) or not all(s in API_KEY_SCOPES for s in scopes) or len(scopes) > 8:
        raise invalid(f"scopes must be an array of {', '.join(API_KEY_SCOPES)}", "scopes")
    created = await ask_conversations(
        request,
        request.app[CLIENTS].admin.CreateApiKey,
        pb.CreateApiKeyRequest(account_id=request.match_info["account_id"], scopes=scopes),
    )
    return json_response({**api_key_json(created.key), "api_key": created.api_key}, status=201)


@routes.get("/admin/api-keys")
async def list_api_keys(request: web.Request) -> web.Response:
    prefix = request.query.get("prefix", "")
    if len(prefix) > 64:
        raise invalid("prefix must be at most 64 characters", "prefix")
    found = await ask_conversations(
        request,
        request.app[CLIENTS].admin.ListApiKeys,
        pb.ListApiKeysRequest(prefix=prefix, account_id=request.query.get("account_id", "")),
    )
    return json_response({"api_keys": [api_key_json(k) for k in found.keys]})


@routes.post("/admin/api-keys/{key_id}/revoke")
async def revoke_api_key(request: web.Request) -> web.Response:
    key = await ask_conversations(
        request, request.app[CLIENTS].admin.RevokeApiKey, pb.ApiKeyRef(key_id=request.match_info["key_id"])
    )
    return json_response(api_key_json(key))
