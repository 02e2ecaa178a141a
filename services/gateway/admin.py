"""Administration over HTTP: `/admin/`, accounts and their API keys, for operators. Behind the
admin token (ADMIN_TOKEN, checked by the authenticate middleware); without one these routes
are not registered. Each calls conversations' Admin service, which checks the values (a 400
naming the field); here only the shape of a request is checked.

Tokens and secrets are taken, never answered; a new API key is answered once, at its creation.
"""

from typing import Annotated, Any, Literal, get_args

import msgspec
from aiohttp import web
from msgspec import UNSET, Meta, Struct, UnsetType
from pigeon.conversations.v1 import admin_pb2 as pb

from services.gateway.context import CLIENTS
from services.gateway.fields import invalid
from services.gateway.handlers import ask_conversations, json_response
from services.gateway.interactive import NOT_TAKEN
from services.gateway.models import WITHOUT_NUL
from services.gateway.resources import account_json, api_key_json
from services.gateway.validation import decode_body
from services.shared.vocabulary import API_KEY_SCOPES

routes = web.RouteTableDef()

# Generous bounds on the shape; conversations checks the values.
MAX_TEXT_CHARACTERS = 4096
MAX_MESSAGES_PER_SECOND = 100_000
MAX_SCOPES = 8


Name = Annotated[str, WITHOUT_NUL, Meta(max_length=MAX_TEXT_CHARACTERS)]
PhoneNumberId = Annotated[
    str, WITHOUT_NUL, Meta(max_length=MAX_TEXT_CHARACTERS, description="Meta's Phone Number ID (digits)")
]
WabaId = Annotated[
    str,
    WITHOUT_NUL,
    Meta(
        max_length=MAX_TEXT_CHARACTERS,
        description="The WhatsApp Business Account ID (digits): templates come from it",
    ),
]
AccessToken = Annotated[
    str,
    WITHOUT_NUL,
    Meta(max_length=MAX_TEXT_CHARACTERS, description="The Cloud API token; stored encrypted, never answered"),
]
AppSecret = Annotated[
    str,
    WITHOUT_NUL,
    Meta(
        max_length=MAX_TEXT_CHARACTERS,
        description="The Meta app's secret (signs webhooks); not empty; never answered",
    ),
]
Rate = Annotated[int, Meta(ge=1, le=MAX_MESSAGES_PER_SECOND)]
Scope = Literal["send", "read", "webhooks"]
assert get_args(Scope) == API_KEY_SCOPES


class NewAccount(Struct, forbid_unknown_fields=True, kw_only=True):
    name: Name
    phone_number_id: PhoneNumberId
    access_token: AccessToken
    app_secret: AppSecret
    display_phone_number: Name | None = None
    waba_id: WabaId | None = None
    messages_per_second: Rate | None = None


class AccountChange(Struct, forbid_unknown_fields=True, kw_only=True):
    """The fields given change; absent or null, they stay. The phone number cannot change."""

    name: Name | None = None
    display_phone_number: Name | None = None
    waba_id: WabaId | None = None
    access_token: AccessToken | None = None
    app_secret: AppSecret | None = None
    messages_per_second: Rate | None = None
    phone_number_id: Annotated[Any, NOT_TAKEN] | UnsetType = UNSET


class NewApiKey(Struct, forbid_unknown_fields=True):
    scopes: Annotated[
        list[Scope], Meta(max_length=MAX_SCOPES, description="Empty or absent: all of them")
    ] = []


SCOPE_CHOICES = {"scopes[]": API_KEY_SCOPES}


def _given(fields: Struct) -> dict[str, Any]:
    """The fields a request gave (not null), for the service's request."""
    return {key: value for key, value in msgspec.structs.asdict(fields).items() if value not in (None, UNSET)}


@routes.post("/admin/accounts")
async def create_account(request: web.Request) -> web.Response:
    new = decode_body(NewAccount, await request.read(), {})
    account = await ask_conversations(
        request, request.app[CLIENTS].admin.CreateAccount, pb.CreateAccountRequest(**_given(new))
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
    change = decode_body(AccountChange, await request.read(), {})
    if change.phone_number_id not in (UNSET, None):
        raise invalid(
            "phone_number_id cannot change: create an account for the new number", "phone_number_id"
        )
    account = await ask_conversations(
        request,
        request.app[CLIENTS].admin.UpdateAccount,
        pb.UpdateAccountRequest(account_id=request.match_info["account_id"], **_given(change)),
    )
    return json_response(account_json(account))


@routes.post("/admin/accounts/{account_id}/api-keys")
async def create_api_key(request: web.Request) -> web.Response:
    raw = await request.read()
    scopes = decode_body(NewApiKey, raw, SCOPE_CHOICES).scopes if raw.strip() else []
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
