"""The Admin gRPC service (entrypoints/grpc_admin.py) against real PostgreSQL: accounts and API
keys made, changed, listed and revoked without SQL; secrets stored encrypted and never
answered; a key's scopes reach AuthenticateApiKey; a revoked key stops at once here (the
pigeon_cache notification drops it from conversations' cache)."""

import asyncio
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass

import grpc
import pytest
import pytest_asyncio
from pigeon.conversations.v1 import admin_pb2 as pb
from pigeon.conversations.v1 import admin_pb2_grpc as pb_grpc
from pigeon.conversations.v1 import conversations_pb2 as conversations_pb
from pigeon.conversations.v1 import conversations_pb2_grpc
from pigeon.sender.v1.sender_pb2_grpc import SenderStub
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from services.conversations.__main__ import ADMIN_NAME, SERVICE_NAME
from services.conversations.adapters.database.database import Database
from services.conversations.adapters.listener import Listener
from services.conversations.adapters.media_store.filesystem import FilesystemMediaStore
from services.conversations.adapters.sender_client import Sender, SenderClient
from services.conversations.entrypoints.grpc_admin import AdminServicer
from services.conversations.entrypoints.grpc_api import ConversationsServicer
from services.conversations.settings import SendPolicy
from services.conversations.wiring import use_cases
from services.shared.api_keys import hash_api_key
from services.shared.grpc_server import build_server
from services.shared.secrets_at_rest import ACCESS_TOKEN, APP_SECRET, new_key, parse_keys

BOX = parse_keys(f"admin1:{new_key()}")


@dataclass
class Stubs:
    admin: pb_grpc.AdminStub
    conversations: conversations_pb2_grpc.ConversationsStub


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def stubs(database: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stubs]:
    db = Database(database, 4, BOX)
    listener = Listener(database)
    unreachable = grpc.aio.insecure_channel("127.0.0.1:9")
    sender = Sender(SenderClient(SenderStub(unreachable), timeout_seconds=1))
    store = FilesystemMediaStore(str(tmp_path_factory.mktemp("admin-media")))
    cases = use_cases(db, listener, sender, sender, store, cache_ttl_seconds=60, policy=SendPolicy())
    await listener.start()
    admin, conversations = AdminServicer(cases.admin), ConversationsServicer(cases)
    server, _, port = await build_server(
        [
            lambda s: pb_grpc.add_AdminServicer_to_server(admin, s),
            lambda s: conversations_pb2_grpc.add_ConversationsServicer_to_server(conversations, s),
        ],
        [ADMIN_NAME, SERVICE_NAME],
        "127.0.0.1:0",
    )
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    yield Stubs(pb_grpc.AdminStub(channel), conversations_pb2_grpc.ConversationsStub(channel))
    cases.events.close()
    await channel.close()
    await server.stop(None)
    await listener.stop()
    await unreachable.close()
    await db.close()


def new_account(**fields: object) -> pb.CreateAccountRequest:
    request = {
        "name": "Admin-made",
        "phone_number_id": "7" + "".join(secrets.choice("0123456789") for _ in range(14)),
        "waba_id": "8000000001",
        "display_phone_number": "+1 555 0100",
        "access_token": "EAAG-admin-" + secrets.token_hex(8),
        "app_secret": "app-secret-" + secrets.token_hex(8),
        **fields,
    }
    return pb.CreateAccountRequest(**request)  # type: ignore[arg-type]


async def expect_status(code: grpc.StatusCode, call: object) -> str:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call  # type: ignore[misc]
    assert caught.value.code() == code, caught.value.details()
    return caught.value.details() or ""


async def test_an_account_is_created_with_its_secrets_encrypted_and_never_answered(
    stubs: Stubs, engine: AsyncEngine
) -> None:
    request = new_account(messages_per_second=25)
    account = await stubs.admin.CreateAccount(request)
    assert (account.name, account.phone_number_id, account.waba_id, account.messages_per_second) == (
        "Admin-made",
        request.phone_number_id,
        "8000000001",
        25,
    )
    wire = account.SerializeToString()
    assert request.access_token.encode() not in wire and request.app_secret.encode() not in wire
    async with engine.connect() as connection:
        row = (
            await connection.execute(
                text("SELECT access_token, app_secret FROM accounts WHERE id = :id"), {"id": account.id}
            )
        ).one()
    assert request.access_token not in row.access_token  # encrypted at rest
    assert BOX.decrypt(ACCESS_TOKEN, row.access_token) == request.access_token
    assert BOX.decrypt(APP_SECRET, row.app_secret) == request.app_secret
    assert await stubs.admin.GetAccount(pb.AccountRef(account_id=account.id)) == account
    listed = await stubs.admin.ListAccounts(pb.ListAccountsRequest())
    assert account.id in [a.id for a in listed.accounts]


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"app_secret": ""}, "app_secret"),
        ({"access_token": " "}, "access_token"),
        ({"name": ""}, "name"),
        ({"phone_number_id": "12ab"}, "phone_number_id"),
        ({"waba_id": "waba"}, "waba_id"),
        ({"messages_per_second": -1}, "messages_per_second"),
    ],
)
async def test_a_bad_account_field_is_invalid_and_named(
    stubs: Stubs, fields: dict[str, object], named: str
) -> None:
    details = await expect_status(
        grpc.StatusCode.INVALID_ARGUMENT, stubs.admin.CreateAccount(new_account(**fields))
    )
    assert named in details


async def test_a_second_account_for_a_number_is_refused(stubs: Stubs) -> None:
    first = await stubs.admin.CreateAccount(new_account())
    details = await expect_status(
        grpc.StatusCode.FAILED_PRECONDITION,
        stubs.admin.CreateAccount(new_account(phone_number_id=first.phone_number_id)),
    )
    assert first.phone_number_id in details


async def test_an_update_changes_only_the_fields_given(stubs: Stubs, engine: AsyncEngine) -> None:
    account = await stubs.admin.CreateAccount(new_account())
    updated = await stubs.admin.UpdateAccount(
        pb.UpdateAccountRequest(account_id=account.id, messages_per_second=7, app_secret="rotated-secret")
    )
    assert (updated.messages_per_second, updated.name, updated.waba_id) == (7, account.name, account.waba_id)
    token = await stubs.admin.UpdateAccount(
        pb.UpdateAccountRequest(account_id=account.id, access_token="EAAG-new")
    )
    assert token.messages_per_second == 7
    async with engine.connect() as connection:
        row = (
            await connection.execute(
                text("SELECT access_token, app_secret FROM accounts WHERE id = :id"), {"id": account.id}
            )
        ).one()
    assert BOX.decrypt(APP_SECRET, row.app_secret) == "rotated-secret"
    assert BOX.decrypt(ACCESS_TOKEN, row.access_token) == "EAAG-new"
    await expect_status(
        grpc.StatusCode.INVALID_ARGUMENT,
        stubs.admin.UpdateAccount(pb.UpdateAccountRequest(account_id=account.id, app_secret="")),
    )
    await expect_status(
        grpc.StatusCode.NOT_FOUND,
        stubs.admin.UpdateAccount(
            pb.UpdateAccountRequest(account_id="7f4c1e0a-0000-4000-8000-000000000009", messages_per_second=3)
        ),
    )


async def test_a_key_is_shown_once_works_with_its_scopes_and_stops_when_revoked(stubs: Stubs) -> None:
    account = await stubs.admin.CreateAccount(new_account())
    created = await stubs.admin.CreateApiKey(pb.CreateApiKeyRequest(account_id=account.id, scopes=["read"]))
    assert created.api_key.startswith(created.key.prefix) and len(created.key.prefix) == 12
    assert list(created.key.scopes) == ["read"]
    by_hash = conversations_pb.AuthenticateApiKeyRequest(key_hash=hash_api_key(created.api_key))
    granted = await stubs.conversations.AuthenticateApiKey(by_hash)
    assert (granted.account_id, list(granted.scopes)) == (account.id, ["read"])
    listed = await stubs.admin.ListApiKeys(pb.ListApiKeysRequest(prefix=created.key.prefix))
    assert [k.id for k in listed.keys] == [created.key.id]
    assert created.api_key.encode() not in listed.SerializeToString()
    assert (await stubs.admin.GetAccount(pb.AccountRef(account_id=account.id))).active_api_keys == 1

    revoked = await stubs.admin.RevokeApiKey(pb.ApiKeyRef(key_id=created.key.id))
    assert revoked.HasField("revoked_at")
    again = await stubs.admin.RevokeApiKey(pb.ApiKeyRef(key_id=created.key.id))
    assert again.revoked_at == revoked.revoked_at  # the first revocation stays
    for _ in range(100):  # the notification reaches the cache within milliseconds
        try:
            await stubs.conversations.AuthenticateApiKey(by_hash)
        except grpc.aio.AioRpcError as exc:
            assert exc.code() == grpc.StatusCode.UNAUTHENTICATED
            break
        await asyncio.sleep(0.02)
    else:
        pytest.fail("a revoked key still authenticates")
    assert (await stubs.admin.GetAccount(pb.AccountRef(account_id=account.id))).active_api_keys == 0


async def test_keys_are_listed_by_prefix_and_account(stubs: Stubs) -> None:
    first = await stubs.admin.CreateAccount(new_account())
    second = await stubs.admin.CreateAccount(new_account())
    mine = await stubs.admin.CreateApiKey(pb.CreateApiKeyRequest(account_id=first.id))
    theirs = await stubs.admin.CreateApiKey(pb.CreateApiKeyRequest(account_id=second.id))
    assert list(mine.key.scopes) == ["send", "read", "webhooks"]  # none asked: all
    of_first = await stubs.admin.ListApiKeys(pb.ListApiKeysRequest(account_id=first.id))
    assert [k.id for k in of_first.keys] == [mine.key.id]
    everyone = await stubs.admin.ListApiKeys(pb.ListApiKeysRequest(prefix="pgn_"))
    assert {mine.key.id, theirs.key.id} <= {k.id for k in everyone.keys}
    # LIKE's wildcards are taken literally: "%" matches no key.
    assert not (await stubs.admin.ListApiKeys(pb.ListApiKeysRequest(prefix="%"))).keys


async def test_unknown_scopes_and_accounts_are_refused(stubs: Stubs) -> None:
    account = await stubs.admin.CreateAccount(new_account())
    details = await expect_status(
        grpc.StatusCode.INVALID_ARGUMENT,
        stubs.admin.CreateApiKey(pb.CreateApiKeyRequest(account_id=account.id, scopes=["admin"])),
    )
    assert "scope" in details
    await expect_status(
        grpc.StatusCode.NOT_FOUND,
        stubs.admin.CreateApiKey(pb.CreateApiKeyRequest(account_id="7f4c1e0a-0000-4000-8000-000000000009")),
    )
    await expect_status(grpc.StatusCode.NOT_FOUND, stubs.admin.RevokeApiKey(pb.ApiKeyRef(key_id="nope")))
