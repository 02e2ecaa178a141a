"""The gateway's gRPC clients: one channel per downstream service for the process's life."""

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from pigeon.conversations.v1 import conversations_pb2 as conversations_pb
from pigeon.conversations.v1 import conversations_pb2_grpc

from services.gateway.errors import from_grpc
from services.gateway.settings import GatewaySettings
from services.shared.batching import Batcher
from services.shared.cache import TtlCache
from services.shared.grpc_client import open_channel


@dataclass
class Backends:
    conversations: conversations_pb2_grpc.ConversationsStub
    conversations_health: health_pb2_grpc.HealthStub
    sender_health: health_pb2_grpc.HealthStub
    rpc_timeout: float
    send_timeout: float
    # API key hash -> account id. A revoked key keeps working at most this TTL.
    accounts_by_key: TtlCache[bytes, str]
    # Queued sends, concurrent ones in one call (`create_outbound`).
    outbound: "Batcher[OutboundItem, conversations_pb.CreateOutboundMessageResult]"

    async def authenticate(self, api_key: str, key_hash: bytes, metadata: tuple[tuple[str, str], ...]) -> str:
        async def load() -> str:
            try:
                response = await self.conversations.AuthenticateApiKey(
                    conversations_pb.AuthenticateApiKeyRequest(api_key=api_key),
                    timeout=self.rpc_timeout,
                    metadata=metadata,
                )
            except grpc.aio.AioRpcError as exc:
                raise from_grpc(exc, "conversations") from None
            return str(response.account_id)

        return await self.accounts_by_key.get(key_hash, load)

    async def create_outbound(
        self, request: conversations_pb.CreateOutboundMessageRequest, request_id: str
    ) -> conversations_pb.CreateOutboundMessageResult:
        """CreateOutboundMessage, through the batch calls; raises AioRpcError when the call
        that carried it failed as a whole."""
        deadline = asyncio.get_running_loop().time() + self.rpc_timeout
        return await self.outbound.submit(OutboundItem(request, request_id, deadline))

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


@dataclass(frozen=True)
class OutboundItem:
    request: conversations_pb.CreateOutboundMessageRequest
    request_id: str
    deadline: float  # event loop time by which the request must be answered


# The answer of a request whose deadline passed while it waited for the call ahead of it.
_WAITED_TOO_LONG = conversations_pb.CreateOutboundMessageResult(
    error=conversations_pb.ItemStatus(
        code=grpc.StatusCode.DEADLINE_EXCEEDED.value[0], message="no answer from conversations in time"
    )
)
# Up to this many queued sends go to conversations in one call (it takes up to 256).
OUTBOUND_BATCH = 64


def outbound_batcher(
    conversations: conversations_pb2_grpc.ConversationsStub,
) -> Batcher[OutboundItem, conversations_pb.CreateOutboundMessageResult]:
    """Group commit of queued sends over gRPC: one BatchCreateOutboundMessages call for the
    sends that arrive while one is in flight. Each answer is its own request's result; a
    failed call (conversations unavailable, the deadline) is the answer of all of them.
    A call's deadline is its oldest request's, so that waiting for the call ahead does not
    stretch any request past its own."""

    async def create(items: Sequence[OutboundItem]) -> list[conversations_pb.CreateOutboundMessageResult]:
        now = asyncio.get_running_loop().time()
        live = [n for n, item in enumerate(items) if item.deadline > now]
        results = [_WAITED_TOO_LONG] * len(items)
        if live:
            response = await conversations.BatchCreateOutboundMessages(
                conversations_pb.BatchCreateOutboundMessagesRequest(
                    requests=[items[n].request for n in live],
                    request_ids=[items[n].request_id for n in live],
                ),
                timeout=min(items[n].deadline for n in live) - now,
            )
            for n, result in zip(live, response.results, strict=True):
                results[n] = result
        return results

    return Batcher(create, max_in_flight=4, max_batch=OUTBOUND_BATCH, one_row_may_fail=lambda _: False)


async def open_backends(settings: GatewaySettings) -> AsyncIterator[Backends]:
    conversations_channel = open_channel(settings.conversations_target)
    # Sends go through conversations; the sender is watched for readiness only.
    sender_channel = open_channel(settings.sender_target)
    conversations = conversations_pb2_grpc.ConversationsStub(conversations_channel)
    outbound = outbound_batcher(conversations)
    try:
        yield Backends(
            conversations=conversations,
            conversations_health=health_pb2_grpc.HealthStub(conversations_channel),
            sender_health=health_pb2_grpc.HealthStub(sender_channel),
            rpc_timeout=settings.rpc_timeout_seconds,
            send_timeout=settings.send_timeout_seconds,
            accounts_by_key=TtlCache(settings.auth_cache_ttl_seconds),
            outbound=outbound,
        )
    finally:
        await outbound.close()
        await conversations_channel.close()
        await sender_channel.close()
