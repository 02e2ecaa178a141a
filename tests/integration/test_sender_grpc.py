"""The sender's real grpc.aio server, in process, with a real CloudApiClient talking to
the WhatsApp simulator, called over a real gRPC channel."""

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import grpc
import orjson
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from pigeon.messages.v1 import content_pb2
from pigeon.sender.v1 import sender_pb2, sender_pb2_grpc
from prometheus_client import REGISTRY

from services.conversations.adapters.sender_client import SenderCallError, SenderClient
from services.sender.grpc_api import SERVICE_NAME, SenderServicer
from services.sender.whatsapp import CloudApiClient
from services.shared.failure_proto import FAILURE_CLASS_TO_PROTO
from services.shared.grpc_server import build_server
from services.shared.whatsapp_errors import FailureClass
from tests.fixtures.error_classes import EXPECTED_CLASS
from tests.fixtures.simulator import Simulator
from tools.stack import free_port
from tools.whatsapp_sim.app import error_info, http_status

TOKEN = "EAAG-test-token"
# Recipients that make the simulator answer a Graph error ("1999" + code) or wait ("1998" + ms).
DELAY_2S = "19982000"

_phone_number_ids = itertools.count(1)


@asynccontextmanager
async def running_sender(
    base_url: str,
    timeout_seconds: float = 5.0,
    *,
    before_send_messages: bool = False,
    interceptors: Sequence[grpc.aio.ClientInterceptor] = (),
) -> AsyncIterator[grpc.aio.Channel]:
    """The sender as `python -m services.sender` builds it, on a free port; yields a channel to
    it. `before_send_messages`: as the version before SendMessages existed (an upgrade)."""
    async with CloudApiClient(base_url=base_url, timeout_seconds=timeout_seconds) as client:
        servicer = SenderServicer(client)

        def register(server: grpc.aio.Server) -> None:
            if not before_send_messages:
                sender_pb2_grpc.add_SenderServicer_to_server(servicer, server)
                return
            handler = grpc.unary_unary_rpc_method_handler(
                servicer.SendMessage,
                request_deserializer=sender_pb2.SendMessageRequest.FromString,
                response_serializer=sender_pb2.SendMessageResponse.SerializeToString,
            )
            server.add_generic_rpc_handlers(
                (grpc.method_handlers_generic_handler(SERVICE_NAME, {"SendMessage": handler}),)
            )

        server, _, port = await build_server([register], [SERVICE_NAME], "127.0.0.1:0")
        try:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{port}", interceptors=interceptors) as channel:
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


@pytest.mark.parametrize(("code", "expected"), sorted(EXPECTED_CLASS.items()))
async def test_every_graph_error_is_a_result_of_its_class(
    sender: sender_pb2_grpc.SenderStub, phone_number_id: str, code: int, expected: FailureClass
) -> None:
    response = await sender.SendMessage(send_request(phone_number_id, to=f"1999{code}"))

    failure = response.failure
    assert response.WhichOneof("result") == "failure"
    assert failure.failure_class == FAILURE_CLASS_TO_PROTO[expected]
    assert failure.kind == sender_pb2.FAILURE_KIND_WHATSAPP_ERROR
    assert failure.code == str(code)
    assert failure.http_status == http_status(code)
    assert (failure.message, failure.details) == error_info(code)[:2]
    assert failure.fbtrace_id


async def test_a_request_past_its_not_after_time_is_not_sent(
    sender: sender_pb2_grpc.SenderStub, simulator: Simulator, phone_number_id: str
) -> None:
    late = await sender.SendMessage(send_request(phone_number_id, not_after_unix_seconds=time.time() - 0.01))
    in_time = await sender.SendMessage(send_request(phone_number_id, not_after_unix_seconds=time.time() + 5))

    [late_in_a_call] = [
        result
        async for result in sender.SendMessages(
            sender_pb2.SendMessagesRequest(
                messages=[send_request(phone_number_id, not_after_unix_seconds=time.time() - 0.01)]
            )
        )
    ]

    assert late_in_a_call.response.failure.kind == sender_pb2.FAILURE_KIND_LATE
    assert late.failure.kind == sender_pb2.FAILURE_KIND_LATE
    assert late.failure.code == "late_for_slot"
    assert late.failure.failure_class == sender_pb2.FAILURE_CLASS_RETRYABLE
    assert in_time.HasField("accepted")
    [record] = await simulator.requests(phone_number_id=phone_number_id)
    assert record["wa_message_id"] == in_time.accepted.wa_message_id


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
        ({"content": content_pb2.Content(type="carousel", body_json=b"{}")}, "content.type"),
        ({"content": content_pb2.Content(type="contacts", body_json=b"{}")}, "content.body_json"),
        ({"content": content_pb2.Content(type="text", body_json=b"[]")}, "content.body_json"),
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


async def test_health_watch_through_the_metrics_interceptor(simulator: Simulator) -> None:
    async with running_sender(simulator.url) as channel:
        watch = health_pb2_grpc.HealthStub(channel).Watch(health_pb2.HealthCheckRequest(service=SERVICE_NAME))
        first = await watch.read()
        watch.cancel()

    assert first.status == health_pb2.HealthCheckResponse.SERVING


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


# SendMessages: several messages in one call, each result as soon as WhatsApp answers it.


async def test_send_messages_streams_each_result_as_whatsapp_answers_it(
    sender: sender_pb2_grpc.SenderStub, simulator: Simulator, phone_number_id: str
) -> None:
    request = sender_pb2.SendMessagesRequest(
        messages=[
            send_request(phone_number_id, to="1998800"),  # WhatsApp answers after 800 ms
            send_request(phone_number_id, to="15550000001"),
            send_request(phone_number_id, to="555-1234"),  # invalid: never sent
            send_request(phone_number_id, to="1999131026"),  # undeliverable
        ],
        request_ids=["first", "second", "third", "fourth"],
    )

    results = [result async for result in sender.SendMessages(request)]

    assert sorted(result.index for result in results) == [0, 1, 2, 3]
    assert results[-1].index == 0, "the slow message came last; the others did not wait for it"
    by_index = {result.index: result for result in results}
    assert by_index[0].response.accepted.wa_id == "1998800"
    assert by_index[1].response.accepted.wa_id == "15550000001"
    assert "to" in by_index[2].invalid_argument
    assert by_index[3].response.failure.code == "131026"
    records = await simulator.requests(phone_number_id=phone_number_id)
    assert sorted(record["body"]["to"] for record in records) == ["15550000001", "1998800", "1999131026"]
    accepted = {by_index[i].response.accepted.wa_message_id for i in (0, 1)}
    assert accepted == {record["wa_message_id"] for record in records if record["status"] == 200}


async def test_send_messages_refuses_more_than_its_limit(
    sender: sender_pb2_grpc.SenderStub, simulator: Simulator, phone_number_id: str
) -> None:
    request = sender_pb2.SendMessagesRequest(messages=[send_request(phone_number_id)] * 257)

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        [result async for result in sender.SendMessages(request)]

    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "256" in (raised.value.details() or "")
    assert await simulator.requests(phone_number_id=phone_number_id) == []


# The conversations service's client of the sender (services/conversations/adapters/sender_client.py):
# sends that start in the same turn of the event loop share one call.


def calls_served(method: str, code: str = "OK") -> float:
    labels = {"grpc_service": SERVICE_NAME, "grpc_method": method, "grpc_code": code}
    return sum(
        REGISTRY.get_sample_value("grpc_server_handled_total", {"grpc_type": grpc_type, **labels}) or 0.0
        for grpc_type in ("unary", "server_stream")
    )


async def test_client_sends_of_one_turn_share_one_call(simulator: Simulator, phone_number_id: str) -> None:
    async with running_sender(simulator.url) as channel:
        client = SenderClient(sender_pb2_grpc.SenderStub(channel), timeout_seconds=5)
        streams, unary = calls_served("SendMessages"), calls_served("SendMessage")
        recipients = [f"1555000{n:04d}" for n in range(5)]

        responses = await asyncio.gather(
            *(client.send(send_request(phone_number_id, to=to)) for to in recipients)
        )
        alone = await client.send(send_request(phone_number_id, to="15559999999"))

        assert calls_served("SendMessages") == streams + 1
        assert calls_served("SendMessage") == unary + 1
    # Each caller got its own message's answer.
    assert [response.accepted.wa_id for response in responses] == recipients
    assert alone.accepted.wa_id == "15559999999"
    records = await simulator.requests(phone_number_id=phone_number_id)
    wamids = {record["body"]["to"]: record["wa_message_id"] for record in records}
    assert len(records) == 6
    for to, response in zip(recipients, responses, strict=True):
        assert response.accepted.wa_message_id == wamids[to]


async def test_client_a_failed_message_fails_alone(simulator: Simulator, phone_number_id: str) -> None:
    async with running_sender(simulator.url) as channel:
        client = SenderClient(sender_pb2_grpc.SenderStub(channel), timeout_seconds=5)
        streams = calls_served("SendMessages")

        good, invalid, undeliverable = await asyncio.gather(
            client.send(send_request(phone_number_id, to="15550000001")),
            client.send(send_request(phone_number_id, to="555-1234")),
            client.send(send_request(phone_number_id, to="1999131026")),
            return_exceptions=True,
        )

    assert isinstance(good, sender_pb2.SendMessageResponse) and good.HasField("accepted")
    assert isinstance(invalid, SenderCallError) and invalid.code == grpc.StatusCode.INVALID_ARGUMENT
    assert isinstance(undeliverable, sender_pb2.SendMessageResponse)
    assert undeliverable.failure.code == "131026"
    assert calls_served("SendMessages") == streams + 1


async def test_client_deadline_fails_only_the_unanswered(simulator: Simulator, phone_number_id: str) -> None:
    async with running_sender(simulator.url) as channel:
        client = SenderClient(sender_pb2_grpc.SenderStub(channel), timeout_seconds=1.0)
        timed_out = calls_served("SendMessages", "Canceled")

        quick, slow = await asyncio.gather(
            client.send(send_request(phone_number_id, to="15550000001")),
            client.send(send_request(phone_number_id, to=DELAY_2S)),
            return_exceptions=True,
        )

    assert isinstance(quick, sender_pb2.SendMessageResponse) and quick.HasField("accepted")
    assert isinstance(slow, SenderCallError) and slow.code == grpc.StatusCode.DEADLINE_EXCEEDED
    # One call carried both, and its deadline ended it at the sender too.
    for _ in range(100):
        if calls_served("SendMessages", "Canceled") > timed_out:
            break
        await asyncio.sleep(0.01)
    assert calls_served("SendMessages", "Canceled") == timed_out + 1


async def test_client_abandoned_sends_cancel_their_call_but_not_the_others(
    simulator: Simulator, phone_number_id: str
) -> None:
    async with running_sender(simulator.url) as channel:
        client = SenderClient(sender_pb2_grpc.SenderStub(channel), timeout_seconds=5)
        kept = asyncio.ensure_future(client.send(send_request(phone_number_id, to="1998300")))
        dropped = asyncio.ensure_future(client.send(send_request(phone_number_id, to="1998301")))
        await asyncio.sleep(0.1)  # the shared call is in flight
        dropped.cancel()

        response = await kept
        assert response.accepted.wa_id == "1998300"
        with pytest.raises(asyncio.CancelledError):
            await dropped

        # Both of a call abandoned: the call itself is cancelled, at the sender too.
        cancelled_before = calls_served("SendMessages", "Canceled")
        both = [
            asyncio.ensure_future(client.send(send_request(phone_number_id, to=f"199830{n}"))) for n in (2, 3)
        ]
        await asyncio.sleep(0.1)
        for send in both:
            send.cancel()
        await asyncio.gather(*both, return_exceptions=True)
        for _ in range(100):
            if calls_served("SendMessages", "Canceled") > cancelled_before:
                break
            await asyncio.sleep(0.01)
        assert calls_served("SendMessages", "Canceled") == cancelled_before + 1


class UnaryCallsMade(grpc.aio.UnaryUnaryClientInterceptor):
    """Notes the unary methods a channel called, whatever the server answered."""

    def __init__(self, methods: list[str]) -> None:
        self.methods = methods

    async def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        self.methods.append(details.method.decode().rpartition("/")[2])
        return await continuation(details, request)


class StreamCallsMade(grpc.aio.UnaryStreamClientInterceptor):
    """Notes the server-streaming methods a channel called (grpc takes one kind per object)."""

    def __init__(self, methods: list[str]) -> None:
        self.methods = methods

    async def intercept_unary_stream(self, continuation: Any, details: Any, request: Any) -> Any:
        self.methods.append(details.method.decode().rpartition("/")[2])
        return await continuation(details, request)


async def test_client_falls_back_to_one_call_per_send_on_an_older_sender(
    simulator: Simulator, phone_number_id: str
) -> None:
    methods: list[str] = []
    interceptors = [UnaryCallsMade(methods), StreamCallsMade(methods)]
    async with running_sender(simulator.url, before_send_messages=True, interceptors=interceptors) as channel:
        client = SenderClient(sender_pb2_grpc.SenderStub(channel), timeout_seconds=5)

        first = await asyncio.gather(
            *(client.send(send_request(phone_number_id, to=f"1555000000{n}")) for n in range(3))
        )
        again = await asyncio.gather(
            *(client.send(send_request(phone_number_id, to=f"1555000001{n}")) for n in range(3))
        )

    # Tried once, refused (UNIMPLEMENTED), then one call per send, never the batch call again.
    assert methods == ["SendMessages"] + ["SendMessage"] * 6
    assert [r.accepted.wa_id for r in first + again] == [f"1555000000{n}" for n in range(3)] + [
        f"1555000001{n}" for n in range(3)
    ]
    assert len(await simulator.requests(phone_number_id=phone_number_id)) == 6


async def test_client_sender_unreachable_fails_every_send() -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{free_port()}") as channel:
        client = SenderClient(sender_pb2_grpc.SenderStub(channel), timeout_seconds=2)

        results = await asyncio.gather(
            *(client.send(send_request("1000", to=f"155500000{n}")) for n in range(3)), return_exceptions=True
        )

    assert all(isinstance(r, SenderCallError) and r.code == grpc.StatusCode.UNAVAILABLE for r in results)
