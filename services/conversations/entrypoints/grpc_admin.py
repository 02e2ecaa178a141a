"""The gRPC face of administration: protobuf in, use case call, protobuf out (errors become
statuses in grpc_errors.py's `maps_errors`)."""

import grpc
from pigeon.conversations.v1 import admin_pb2 as pb
from pigeon.conversations.v1 import admin_pb2_grpc as pb_grpc

from services.conversations.domain.admin import AccountChanges, AdminAccount, ApiKey
from services.conversations.entrypoints.grpc_errors import maps_errors
from services.conversations.entrypoints.protobuf import optional_id, parse_id
from services.conversations.use_cases.admin import Administration
from services.shared.timestamps import timestamp


def account_to_proto(account: AdminAccount) -> pb.Account:
    return pb.Account(
        id=str(account.id),
        name=account.name,
        phone_number_id=account.phone_number_id,
        display_phone_number=account.display_phone_number,
        waba_id=account.waba_id,
        messages_per_second=account.messages_per_second,
        created_at=timestamp(account.created_at),
        active_api_keys=account.active_api_keys,
    )


def api_key_to_proto(key: ApiKey) -> pb.ApiKey:
    return pb.ApiKey(
        id=str(key.id),
        account_id=str(key.account_id),
        prefix=key.prefix,
        scopes=[str(s) for s in key.scopes],
        created_at=timestamp(key.created_at),
        revoked_at=timestamp(key.revoked_at),
    )


class AdminServicer(pb_grpc.AdminServicer):
    def __init__(self, admin: Administration) -> None:
        self.admin = admin

    @maps_errors
    async def CreateAccount(
        self, request: pb.CreateAccountRequest, context: grpc.aio.ServicerContext
    ) -> pb.Account:
        account = await self.admin.create_account(
            request.name,
            request.phone_number_id,
            request.display_phone_number,
            request.waba_id,
            request.access_token,
            request.app_secret,
            request.messages_per_second or None,
        )
        return account_to_proto(account)

    @maps_errors
    async def ListAccounts(
        self, request: pb.ListAccountsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListAccountsResponse:
        return pb.ListAccountsResponse(accounts=[account_to_proto(a) for a in await self.admin.accounts()])

    @maps_errors
    async def GetAccount(self, request: pb.AccountRef, context: grpc.aio.ServicerContext) -> pb.Account:
        return account_to_proto(await self.admin.account(parse_id(request.account_id, "account")))

    @maps_errors
    async def UpdateAccount(
        self, request: pb.UpdateAccountRequest, context: grpc.aio.ServicerContext
    ) -> pb.Account:
        def given(field: str) -> str | None:
            return getattr(request, field) if request.HasField(field) else None

        changes = AccountChanges(
            name=given("name"),
            display_phone_number=given("display_phone_number"),
            waba_id=given("waba_id"),
            access_token=given("access_token"),
            app_secret=given("app_secret"),
            messages_per_second=(
                request.messages_per_second if request.HasField("messages_per_second") else None
            ),
        )
        account = await self.admin.update_account(parse_id(request.account_id, "account"), changes)
        return account_to_proto(account)

    @maps_errors
    async def CreateApiKey(
        self, request: pb.CreateApiKeyRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreatedApiKey:
        key, api_key = await self.admin.create_api_key(
            parse_id(request.account_id, "account"), list(request.scopes)
        )
        return pb.CreatedApiKey(key=api_key_to_proto(key), api_key=api_key)

    @maps_errors
    async def ListApiKeys(
        self, request: pb.ListApiKeysRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListApiKeysResponse:
        keys = await self.admin.api_keys(request.prefix, optional_id(request.account_id, "account"))
        return pb.ListApiKeysResponse(keys=[api_key_to_proto(k) for k in keys])

    @maps_errors
    async def RevokeApiKey(self, request: pb.ApiKeyRef, context: grpc.aio.ServicerContext) -> pb.ApiKey:
        return api_key_to_proto(await self.admin.revoke_api_key(parse_id(request.key_id, "API key")))
