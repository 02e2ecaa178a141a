"""The sender's real grpc.aio server, in process, with a real CloudApiClient talking to
the WhatsApp simulator, called over a real gRPC channel."""

import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import grpc
import orjson
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from pigeon.messages.v1 import content_pb2
from pigeon.sender.v1 import sender_pb2, sender_pb2_grpc

from services.sender.grpc_api import SERVICE_NAME, SenderServicer
from services.sender.whatsapp import CloudApiClient
from services.shared.grpc_server import build_server
from tests.fixtures.simulator import Simulator
from tools.stack import free_port

TOKEN = "EAAG-test-token"
# Recipients that make the simulator answer a Graph error ("1999" + code) or wait ("1998" + ms).
DELAY_2S = "19982000"

_phone_number_ids = itertools.count(1)


@asynccontextmanager
async def running_sender(base_url: str, timeout_seconds: float = 5.0) -> AsyncIterator[grpc.aio.Channel]:
    """The sender as `python -m services.sender` builds it, on a free port; yields a channel to it."""
    async with CloudApiClient(base_url=base_url, timeout_seconds=timeout_seconds) as client:
        servicer = SenderServicer(client)
        server, _, port = await build_server(
            [lambda server: sender_pb2_grpc.add_SenderServicer_to_server(servicer, server)],
            [SERVICE_NAME],
            "127.0.0.1:0",
        )
        try:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
                yield channel
        finally:
            await server.stop(None)


@pytest.fixture
async def sender(simulator: Simulator) -> AsyncIterator[sender_pb2_grpc.SenderStub]:
    async with running_sender(simulator.url) as channel:
        yield sender_pb2_grpc.SenderStub(channel)


@pytest.fixture
async def phone_number_id(simulator: Simulator) -> str:
    """A phone number registered for this test alone, so its records are its own."""
    phone_number_id = f"10{next(_phone_number_ids):08d}"
    await simulator.register(phone_number_id, TOKEN)
    return phone_number_id


def send_request(phone_number_id: str, /, **overrides: Any) -> sender_pb2.SendMessageRequest:
    fields: dict[str, Any] = {
        "phone_number_id": phone_number_id,
        "access_token": TOKEN,
        "to": "15551234567",
        "content": content_pb2.Content(type="text", body_json=b'{"body": "Hello", "preview_url": false}'),
    }
    fields.update(overrides)
    return sender_pb2.SendMessageRequest(**fields)


async def test_success_reaches_whatsapp_with_the_exact_body(
    sender: sender_pb2_grpc.SenderStub, simulator: Simulator, phone_number_id: str
) -> None:
    request = send_request(
        phone_number_id,
        to="+15551234567",
        content=content_pb2.Content(
            type="text",
            body_json='{"body": "Olá 👋", "preview_url": false}'.encode(),
            reply_to_wa_message_id="wamid.PREVIOUS",
        ),
        biz_opaque_callback_data="msg_01J0000000000000000000000",
    )

    response = await sender.SendMessage(request)

    assert response.WhichOneof("result") == "accepted", response
    assert response.accepted.wa_message_id.startswith("wamid.")
    assert response.accepted.wa_id == "15551234567"
    assert response.accepted.message_status == "accepted"
    [record] = await simulator.requests(phone_number_id=phone_number_id)
    # A 200 means the simulator accepted the bearer token registered for this number.
    assert record["status"] == 200
    assert record["wa_message_id"] == response.accepted.wa_message_id
    assert record["body"] == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "15551234567",
        "type": "text",
        "text": {"body": "Olá 👋", "preview_url": False},
        "context": {"message_id": "wamid.PREVIOUS"},
        "biz_opaque_callback_data": "msg_01J0000000000000000000000",
    }


async def test_template_without_optionals_leaves_them_out(
    sender: sender_pb2_grpc.SenderStub, simulator: Simulator, phone_number_id: str
) -> None:
    template = {"name": "hello_world", "language": {"code": "en_US"}}
    request = send_request(
        phone_number_id, content=content_pb2.Content(type="template", body_json=orjson.dumps(template))
    )

    response = await sender.SendMessage(request)

    assert response.WhichOneof("result") == "accepted", response
    [record] = await simulator.requests(phone_number_id=phone_number_id)
    assert record["body"]["template"] == template
    assert "context" not in record["body"]
    assert "biz_opaque_callback_data" not in record["body"]


async def test_wrong_token_needs_an_operator(
    sender: sender_pb2_grpc.SenderStub, phone_number_id: str
) -> None:
    response = await sender.SendMessage(send_request(phone_number_id, access_token="EAAG-someone-else"))

    failure = response.failure
    assert response.WhichOneof("result") == "failure"
    assert failure.failure_class == sender_pb2.FAILURE_CLASS_NEEDS_OPERATOR
    assert failure.kind == sender_pb2.FAILURE_KIND_WHATSAPP_ERROR
    assert failure.code == "190"
    assert failure.http_status == 401
    assert failure.fbtrace_id
    assert "EAAG-someone-else" not in str(response)


@pytest.mark.parametrize(
    ("code", "failure_class"),
    [
        (131026, sender_pb2.FAILURE_CLASS_PERMANENT),
        (130429, sender_pb2.FAILURE_CLASS_RETRYABLE),
        (131000, sender_pb2.FAILURE_CLASS_RETRYABLE),
        (131047, sender_pb2.FAILURE_CLASS_REENGAGEMENT_REQUIRED),
    ],
)
async def test_graph_errors_are_classified_results(
    sender: sender_pb2_grpc.SenderStub, phone_number_id: str, code: int, failure_class: int
) -> None:
    response = await sender.SendMessage(send_request(phone_number_id, to=f"1999{code}"))

    failure = response.failure
    assert response.WhichOneof("result") == "failure"
    assert failure.failure_class == failure_class
    assert failure.kind == sender_pb2.FAILURE_KIND_WHATSAPP_ERROR
    assert failure.code == str(code)
    assert failure.http_status >= 400
    assert failure.message
    assert failure.details
    assert failure.fbtrace_id


async def test_no_answer_within_the_timeout(simulator: Simulator, phone_number_id: str) -> None:
    async with running_sender(simulator.url, timeout_seconds=0.3) as channel:
        response = await sender_pb2_grpc.SenderStub(channel).SendMessage(
            send_request(phone_number_id, to=DELAY_2S)
        )

    failure = response.failure
    assert response.WhichOneof("result") == "failure"
    assert failure.kind == sender_pb2.FAILURE_KIND_TIMEOUT
    assert failure.code == "timeout"
    assert failure.failure_class == sender_pb2.FAILURE_CLASS_RETRYABLE
    assert failure.http_status == 0


async def test_connection_refused() -> None:
    # A port nothing listens on.
    closed_port = free_port()

    async with running_sender(f"http://127.0.0.1:{closed_port}") as channel:
        response = await sender_pb2_grpc.SenderStub(channel).SendMessage(send_request("1000"))

    failure = response.failure
    assert response.WhichOneof("result") == "failure"
    assert failure.kind == sender_pb2.FAILURE_KIND_CONNECTION
    assert failure.code == "connection_error"
    assert failure.failure_class == sender_pb2.FAILURE_CLASS_RETRYABLE
    assert TOKEN not in failure.message


_TEXT = content_pb2.Content(type="text", body_json=b'{"body": "Hello"}')


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"phone_number_id": ""}, "phone_number_id"),
        ({"phone_number_id": "../../other"}, "phone_number_id"),
        ({"access_token": ""}, "access_token"),
        ({"access_token": "EAAG\r\nX-Injected: 1"}, "access_token"),
        ({"to": ""}, "to"),
        ({"to": "555-1234"}, "to"),
        ({"to": "1234567890123456"}, "to"),
        ({"content": content_pb2.Content(type="location", body_json=b"{}")}, "content.type"),
        ({"content": content_pb2.Content(type="", body_json=b"{}")}, "content.type"),
        ({"content": content_pb2.Content(type="text")}, "content.body_json"),
        ({"content": content_pb2.Content(type="text", body_json=b"Hello")}, "content.body_json"),
        ({"content": content_pb2.Content(type="text", body_json=b'["Hello"]')}, "content.body_json"),
        # Valid-looking bytes that would add a second "to" if spliced unchecked.
        (
            {"content": content_pb2.Content(type="text", body_json=b'{"body":"x"},"to":"1"')},
            "content.body_json",
        ),
        (
            {"content": content_pb2.Content(type="text", body_json=b"{}", reply_to_wa_message_id="w" * 300)},
            "reply",
        ),
        ({"content": _TEXT, "biz_opaque_callback_data": "é" * 257}, "biz_opaque_callback_data"),
    ],
)
async def test_invalid_requests_never_reach_whatsapp(
    sender: sender_pb2_grpc.SenderStub,
    simulator: Simulator,
    phone_number_id: str,
    overrides: dict[str, Any],
    field: str,
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await sender.SendMessage(send_request(phone_number_id, **overrides))

    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in (raised.value.details() or "")
    assert await simulator.requests(phone_number_id=phone_number_id) == []


async def test_health_and_reflection(simulator: Simulator) -> None:
    async with running_sender(simulator.url) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        for service in ("", SERVICE_NAME):
            answer = await health.Check(health_pb2.HealthCheckRequest(service=service))
            assert answer.status == health_pb2.HealthCheckResponse.SERVING

        reflection = reflection_pb2_grpc.ServerReflectionStub(channel)
        call = reflection.ServerReflectionInfo(
            iter([reflection_pb2.ServerReflectionRequest(list_services="")])
        )
        names = {service.name async for answer in call for service in answer.list_services_response.service}

    assert SERVICE_NAME == "pigeon.sender.v1.Sender"
    assert SERVICE_NAME in names
