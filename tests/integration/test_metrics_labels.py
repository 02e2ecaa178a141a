"""What the metrics record, through real interfaces: the gateway's HTTP requests by route
template and a bounded method, read from its GET /metrics; and a gRPC server's calls under
go-grpc-prometheus's names and labels, for each kind of call pigeon serves, against a
conversations stand-in built by the services' own build_server."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import grpc
import pytest
import pytest_asyncio
from aiohttp.test_utils import TestClient, TestServer
from pigeon.conversations.v1 import conversations_pb2 as pb
from pigeon.conversations.v1 import conversations_pb2_grpc as pb_grpc
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from services.conversations.__main__ import SERVICE_NAME
from services.gateway.app import create_app
from services.gateway.settings import GatewaySettings
from services.shared.api_keys import hash_api_key
from services.shared.grpc_server import build_server

KEY = "pgn_" + "Metrics-Key_0123456789" * 2
ACCOUNT = "7f4c1e0a-0000-4000-8000-00000000000b"


class Conversations(pb_grpc.ConversationsServicer):
    """Knows one key and no conversation; answers a batch of sends with one result each, takes
    uploads chunk by chunk, and watches forever."""

    async def AuthenticateApiKey(
        self, request: pb.AuthenticateApiKeyRequest, context: grpc.aio.ServicerContext
    ) -> pb.AuthenticateApiKeyResponse:
        if request.key_hash != hash_api_key(KEY):
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, "unknown or revoked API key")
        return pb.AuthenticateApiKeyResponse(account_id=ACCOUNT)

    async def GetConversation(
        self, request: pb.GetConversationRequest, context: grpc.aio.ServicerContext
    ) -> pb.Conversation:
        await context.abort(grpc.StatusCode.NOT_FOUND, "no such conversation")
        raise AssertionError("abort raises")

    async def BatchSendNow(
        self, request: pb.BatchSendNowRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.BatchSendNowResult]:
        for index in range(len(request.requests)):
            yield pb.BatchSendNowResult(index=index)

    async def UploadMedia(
        self, requests: AsyncIterator[pb.UploadMediaRequest], context: grpc.aio.ServicerContext
    ) -> pb.Media:
        size = 0
        async for request in requests:
            size += len(request.data)
        return pb.Media(size=size)

    async def WatchEvents(
        self, request: pb.WatchEventsRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.Event]:
        yield pb.Event(id=1)
        await asyncio.Event().wait()  # until the watcher goes away


@dataclass
class Running:
    stub: pb_grpc.ConversationsStub
    gateway: TestClient  # type: ignore[type-arg]


@pytest_asyncio.fixture
async def running(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Running]:
    servicer = Conversations()
    server, _, port = await build_server(
        [lambda server: pb_grpc.add_ConversationsServicer_to_server(servicer, server)],
        [SERVICE_NAME],
        "127.0.0.1:0",
    )
    try:
        monkeypatch.setenv("CONVERSATIONS_TARGET", f"127.0.0.1:{port}")
        async with (
            grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel,
            TestClient(TestServer(create_app(GatewaySettings.from_env()))) as gateway,
        ):
            yield Running(pb_grpc.ConversationsStub(channel), gateway)
    finally:
        await server.stop(None)


def grpc_sample(name: str, grpc_type: str, method: str, **labels: str) -> float:
    every = {"grpc_type": grpc_type, "grpc_service": SERVICE_NAME, "grpc_method": method, **labels}
    return REGISTRY.get_sample_value(name, every) or 0.0


async def http_samples(gateway: TestClient) -> list[dict[str, str]]:  # type: ignore[type-arg]
    """The labels of every pigeon_http_requests_total sample, from GET /metrics."""
    answer = await gateway.get("/metrics")
    assert answer.status == 200
    families = text_string_to_metric_families(await answer.text())
    family = next(f for f in families if f.name == "pigeon_http_requests")
    return [sample.labels for sample in family.samples]


async def test_http_requests_are_counted_by_route_template_and_a_bounded_method(running: Running) -> None:
    conversation_id = str(uuid.uuid4())
    auth = {"Authorization": f"Bearer {KEY}"}
    assert (await running.gateway.get(f"/conversations/{conversation_id}", headers=auth)).status == 404
    assert (await running.gateway.request("PROPFIND", "/conversations", headers=auth)).status == 405
    assert (await running.gateway.get(f"/no/such/{conversation_id}", headers=auth)).status == 404

    samples = await http_samples(running.gateway)
    labels = {(s["route"], s["method"], s["status"]) for s in samples}
    assert ("/conversations/{conversation_id}", "GET", "404") in labels
    assert ("unmatched", "other", "405") in labels
    assert ("unmatched", "GET", "404") in labels
    routes = {r.canonical for r in running.gateway.app.router.resources()} | {"unmatched"}
    assert {s["route"] for s in samples} <= routes  # no path of its own: no id, no made-up path
    assert {s["method"] for s in samples} <= {
        "GET",
        "POST",
        "PUT",
        "PATCH",
        "DELETE",
        "HEAD",
        "OPTIONS",
        "other",
    }


async def test_grpc_calls_are_counted_under_the_standard_names(running: Running) -> None:
    def handled(method: str, code: str, grpc_type: str = "unary") -> float:
        return grpc_sample("grpc_server_handled_total", grpc_type, method, grpc_code=code)

    started = grpc_sample("grpc_server_started_total", "unary", "GetConversation")
    timed = grpc_sample("grpc_server_handling_seconds_count", "unary", "GetConversation")
    not_found, accepted = handled("GetConversation", "NotFound"), handled("AuthenticateApiKey", "OK")
    refused = handled("AuthenticateApiKey", "Unauthenticated")

    # Through the gateway: its key check, then the conversation it asks for.
    answer = await running.gateway.get(
        f"/conversations/{uuid.uuid4()}", headers={"Authorization": f"Bearer {KEY}"}
    )
    assert answer.status == 404
    answer = await running.gateway.get("/conversations", headers={"Authorization": f"Bearer {KEY}x"})
    assert answer.status == 401

    assert grpc_sample("grpc_server_started_total", "unary", "GetConversation") == started + 1
    assert grpc_sample("grpc_server_handling_seconds_count", "unary", "GetConversation") == timed + 1
    assert handled("GetConversation", "NotFound") == not_found + 1
    assert handled("AuthenticateApiKey", "OK") == accepted + 1
    assert handled("AuthenticateApiKey", "Unauthenticated") == refused + 1


async def test_streams_count_their_messages(running: Running) -> None:
    def count(name: str, grpc_type: str, method: str) -> float:
        return grpc_sample(name, grpc_type, method)

    sent = count("grpc_server_msg_sent_total", "server_stream", "BatchSendNow")
    batches = grpc_sample("grpc_server_handled_total", "server_stream", "BatchSendNow", grpc_code="OK")
    received = count("grpc_server_msg_received_total", "client_stream", "UploadMedia")
    uploads = grpc_sample("grpc_server_handled_total", "client_stream", "UploadMedia", grpc_code="OK")
    watches = grpc_sample("grpc_server_handled_total", "server_stream", "WatchEvents", grpc_code="Canceled")

    request = pb.BatchSendNowRequest(requests=[pb.SendNowRequest()] * 3)
    assert len([result async for result in running.stub.BatchSendNow(request)]) == 3

    async def chunks() -> AsyncIterator[pb.UploadMediaRequest]:
        yield pb.UploadMediaRequest(header=pb.UploadMediaHeader())
        for _ in range(4):
            yield pb.UploadMediaRequest(data=b"x" * 10)

    assert (await running.stub.UploadMedia(chunks())).size == 40

    watch = running.stub.WatchEvents(pb.WatchEventsRequest(account_id=ACCOUNT))
    assert (await watch.read()).id == 1
    watch.cancel()

    assert count("grpc_server_msg_sent_total", "server_stream", "BatchSendNow") == sent + 3
    assert (
        grpc_sample("grpc_server_handled_total", "server_stream", "BatchSendNow", grpc_code="OK")
        == batches + 1
    )
    assert count("grpc_server_msg_received_total", "client_stream", "UploadMedia") == received + 5
    assert (
        grpc_sample("grpc_server_handled_total", "client_stream", "UploadMedia", grpc_code="OK")
        == uploads + 1
    )
    # The server sees the cancellation a moment later.
    deadline = asyncio.get_running_loop().time() + 5
    while (
        grpc_sample("grpc_server_handled_total", "server_stream", "WatchEvents", grpc_code="Canceled")
        == watches
    ):
        assert asyncio.get_running_loop().time() < deadline, "the cancelled watch was not counted"
        await asyncio.sleep(0.01)
