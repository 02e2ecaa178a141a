"""The gateway's gRPC clients: one channel per downstream service for the process's life."""

from collections.abc import AsyncIterator
from dataclasses import dataclass

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from pigeon.conversations.v1 import (
    admin_pb2_grpc,
    conversations_pb2_grpc,
    templates_pb2_grpc,
    webhook_endpoints_pb2_grpc,
)
from pigeon.conversations.v1 import conversations_pb2 as conversations_pb

from services.gateway.errors import ApiError, from_grpc
from services.gateway.queued_sends_client import QueuedSendClient
from services.gateway.scopes import KeyGrant, grant_of
from services.gateway.send_now_client import SendNowClient
from services.gateway.settings import GatewaySettings
from services.gateway.webhook_client import WebhookClient
from services.shared.cache import TtlCache
from services.shared.grpc_client import open_channel

# How long an unknown key's refusal is reused (at most AUTH_CACHE_TTL_SECONDS), and how many
# are kept: a few hundred bytes each, so random keys cannot grow memory past a few MB.
REFUSED_KEY_TTL_SECONDS = 5.0
REFUSED_KEYS_MAX = 10_000


@dataclass
class ServiceClients:
    conversations: conversations_pb2_grpc.ConversationsStub
    # WatchEvents streams (GET /ws), on a connection of their own whose windows do not grow: a
    # socket whose client stops reading holds at most 64 KiB of its stream in gRPC's buffers.
    events: conversations_pb2_grpc.ConversationsStub
    # Outbound webhooks' endpoints, served by conversations too.
    webhook_endpoints: webhook_endpoints_pb2_grpc.WebhookEndpointsStub
    # Message templates, served by conversations too.
    templates: templates_pb2_grpc.TemplatesStub
    # Administration (the /admin/ routes), served by conversations too.
    admin: admin_pb2_grpc.AdminStub
    conversations_health: health_pb2_grpc.HealthStub
    sender_health: health_pb2_grpc.HealthStub
    rpc_timeout: float
    # Calls that wait for WhatsApp (a sync send, a read receipt).
    send_timeout: float
    # API key hash -> its account and scopes. A revoked key keeps working at most this TTL.
    accounts_by_key: TtlCache[bytes, KeyGrant]
    # API key hash -> why conversations refused it, for a few seconds: bad keys cost it one
    # call per key and interval, not one per request. A key created meanwhile waits as long.
    refused_keys: TtlCache[bytes, str]
    # Queued sends, concurrent ones in one call.
    queued_sends: QueuedSendClient
    # Synchronous sends, those that start together in one call.
    send_now: SendNowClient
    # Webhook notifications, concurrent ones in one call.
    webhooks: WebhookClient

    async def authenticate(self, key_hash: bytes, metadata: tuple[tuple[str, str], ...]) -> KeyGrant:
        """The account and scopes of the API key whose SHA-256 is `key_hash`: only the hash goes
        to conversations, so the raw key never leaves the gateway."""

        async def load() -> KeyGrant:
            try:
                response = await self.conversations.AuthenticateApiKey(
                    conversations_pb.AuthenticateApiKeyRequest(key_hash=key_hash),
                    timeout=self.rpc_timeout,
                    metadata=metadata,
                )
            except grpc.aio.AioRpcError as exc:
                raise from_grpc(exc, "conversations") from None
            return grant_of(response.account_id, response.scopes)

        refusal = self.refused_keys.peek(key_hash)
        if refusal is not None:
            raise ApiError(401, "unauthenticated", refusal)
        try:
            return await self.accounts_by_key.get(key_hash, load)
        except ApiError as exc:
            if exc.status == 401:
                self.refused_keys.put(key_hash, exc.message)
            raise

    async def ready(self) -> dict[str, bool]:
        async def serving(stub: health_pb2_grpc.HealthStub) -> bool:
            try:
                response = await stub.Check(health_pb2.HealthCheckRequest(), timeout=1.0)
            except grpc.aio.AioRpcError:
                return False
            return bool(response.status == health_pb2.HealthCheckResponse.SERVING)

        return {
            "conversations": await serving(self.conversations_health),
            "sender": await serving(self.sender_health),
        }


async def open_service_clients(settings: GatewaySettings) -> AsyncIterator[ServiceClients]:
    conversations_channel = open_channel(settings.conversations_target, settings.grpc_tls)
    events_channel = open_channel(settings.conversations_target, settings.grpc_tls, bdp_probe=False)
    # Sends go through conversations; the sender is watched for readiness only.
    sender_channel = open_channel(settings.sender_target, settings.grpc_tls)
    conversations = conversations_pb2_grpc.ConversationsStub(conversations_channel)
    queued_sends = QueuedSendClient(conversations, settings.rpc_timeout_seconds)
    # Above conversations' own deadline for the WhatsApp call, which so answers first.
    send_timeout = settings.send_timeout_seconds + settings.rpc_timeout_seconds
    send_now = SendNowClient(conversations, send_timeout)
    webhooks = WebhookClient(
        conversations, settings.rpc_timeout_seconds, settings.webhook_batch_linger_ms / 1000.0
    )
    try:
        yield ServiceClients(
            conversations=conversations,
            events=conversations_pb2_grpc.ConversationsStub(events_channel),
            webhook_endpoints=webhook_endpoints_pb2_grpc.WebhookEndpointsStub(conversations_channel),
            templates=templates_pb2_grpc.TemplatesStub(conversations_channel),
            admin=admin_pb2_grpc.AdminStub(conversations_channel),
            conversations_health=health_pb2_grpc.HealthStub(conversations_channel),
            sender_health=health_pb2_grpc.HealthStub(sender_channel),
            rpc_timeout=settings.rpc_timeout_seconds,
            send_timeout=send_timeout,
            accounts_by_key=TtlCache(settings.auth_cache_ttl_seconds),
            refused_keys=TtlCache(
                min(REFUSED_KEY_TTL_SECONDS, settings.auth_cache_ttl_seconds), REFUSED_KEYS_MAX
            ),
            queued_sends=queued_sends,
            send_now=send_now,
            webhooks=webhooks,
        )
    finally:
        await webhooks.close()
        await send_now.close()
        await queued_sends.close()
        await conversations_channel.close()
        await events_channel.close()
        await sender_channel.close()
