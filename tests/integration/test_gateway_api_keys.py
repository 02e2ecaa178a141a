"""The gateway's API key check (services/gateway/middlewares.py, service_clients.py), through
HTTP, against a conversations stand-in over real gRPC that records what it is asked: only the
key's SHA-256 crosses the network to conversations, never the key itself."""

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import grpc
import pytest
import pytest_asyncio
from aiohttp.test_utils import TestClient, TestServer
from pigeon.conversations.v1 import conversations_pb2 as pb
from pigeon.conversations.v1 import conversations_pb2_grpc as pb_grpc

from services.gateway.app import create_app
from services.gateway.settings import GatewaySettings
from services.shared.api_keys import hash_api_key
from tests.fixtures.conversations_standin import listening

KEY = "pgn_" + "Secret-Key_0123456789" * 2
ACCOUNT = "7f4c1e0a-0000-4000-8000-000000000001"


@dataclass
class Conversations(pb_grpc.ConversationsServicer):
    """Knows one key, by its hash. Keeps every AuthenticateApiKey request as it came over the
    wire (its bytes, its metadata), and the accounts ListConversations was asked for."""

    wire: list[bytes] = field(default_factory=list)
    metadata: list[tuple[tuple[str, str | bytes], ...]] = field(default_factory=list)
    listed_for: list[str] = field(default_factory=list)

    async def AuthenticateApiKey(
        self, request: pb.AuthenticateApiKeyRequest, context: grpc.aio.ServicerContext
    ) -> pb.AuthenticateApiKeyResponse:
        self.wire.append(request.SerializeToString())
        self.metadata.append(tuple(context.invocation_metadata() or ()))
        if request.key_hash != hash_api_key(KEY):
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, "unknown or revoked API key")
        return pb.AuthenticateApiKeyResponse(account_id=ACCOUNT)

    async def ListConversations(
        self, request: pb.ListConversationsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListConversationsResponse:
        self.listed_for.append(request.account_id)
        return pb.ListConversationsResponse()


@dataclass
class Gateway:
    conversations: Conversations
    client: TestClient  # type: ignore[type-arg]


@pytest_asyncio.fixture
async def gateway(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Gateway]:
    conversations = Conversations()
    async with listening(conversations) as target:
        monkeypatch.setenv("CONVERSATIONS_TARGET", target)
        async with TestClient(TestServer(create_app(GatewaySettings.from_env()))) as client:
            yield Gateway(conversations, client)


def carries(wire: bytes, key: str) -> bool:
    return key.encode() in wire


async def test_conversations_gets_the_keys_hash_never_the_key(gateway: Gateway) -> None:
    answer = await gateway.client.get("/conversations", headers={"Authorization": f"Bearer {KEY}"})
    assert answer.status == 200, await answer.text()
    assert gateway.conversations.listed_for == [ACCOUNT]
    (wire,) = gateway.conversations.wire
    request = pb.AuthenticateApiKeyRequest.FromString(wire)
    assert request.key_hash == hash_api_key(KEY)
    assert not carries(wire, KEY) and not carries(wire, KEY[8:])  # nor a part of it
    (metadata,) = gateway.conversations.metadata
    assert not any(carries(str(value).encode(), KEY[8:]) for _, value in metadata)


async def test_a_wrong_key_is_refused_and_not_sent_either(gateway: Gateway) -> None:
    wrong = KEY[:-1] + "x"
    answer = await gateway.client.get("/conversations", headers={"Authorization": f"Bearer {wrong}"})
    assert answer.status == 401
    assert (await answer.json())["error"]["code"] == "unauthenticated"
    (wire,) = gateway.conversations.wire
    assert pb.AuthenticateApiKeyRequest.FromString(wire).key_hash == hash_api_key(wrong)
    assert not carries(wire, wrong[8:])
    assert gateway.conversations.listed_for == []
