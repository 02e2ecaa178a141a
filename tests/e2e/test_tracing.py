"""OpenTelemetry traces (services/shared/tracing.py), end to end: the services as real processes
export over OTLP/HTTP to a receiver in this test (tools/otlp_sink.py), each under its own
service.name. One sync send is one trace across gateway, conversations and sender, its context
carried over gRPC; with tracing off (the default) nothing is exported."""

import asyncio
from collections.abc import AsyncIterator, Callable

import orjson
import pytest_asyncio
from aiohttp import web
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from tests.fixtures.stack import Running, start_running
from tools.otlp_sink import OtlpSink, ReceivedSpan

SERVER, CLIENT = Span.SPAN_KIND_SERVER, Span.SPAN_KIND_CLIENT
MESSAGE_TEXT = "a traced send, its text a bound parameter"


@pytest_asyncio.fixture(loop_scope="session")
async def sink() -> AsyncIterator[tuple[OtlpSink, str]]:
    """A receiver of OTLP/HTTP, and its address for OTEL_EXPORTER_OTLP_ENDPOINT."""
    sink = OtlpSink(keep=True)
    runner = web.AppRunner(sink.app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield sink, f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def exporting_to(endpoint: str) -> dict[str, str]:
    # Batches leave every 50 ms instead of every 5 s, so the test waits little for them.
    return {"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint, "OTEL_BSP_SCHEDULE_DELAY": "50"}


async def send_sync(running: Running) -> None:
    acme = running.acme
    body = {"conversation_id": acme.conversation_ids[0], "type": "text", "text": {"body": MESSAGE_TEXT}}
    async with running.http.post(
        f"{running.gateway}/messages/send",
        data=orjson.dumps(body),
        headers={"Authorization": f"Bearer {acme.api_key}"},
    ) as response:
        assert response.status == 200, await response.text()
        assert (await response.json())["status"] == "sent"


async def eventually(
    check: Callable[[], list[ReceivedSpan] | None], patience: float = 15.0
) -> list[ReceivedSpan]:
    deadline = asyncio.get_running_loop().time() + patience
    while (found := check()) is None:
        assert asyncio.get_running_loop().time() < deadline, "the spans did not arrive"
        await asyncio.sleep(0.1)
    return found


def send_trace(sink: OtlpSink) -> list[ReceivedSpan] | None:
    """The spans of the send's trace once every part of it has arrived: the gateway's request,
    conversations' and the sender's calls, a statement, and the HTTP call to WhatsApp."""
    roots = [
        s
        for s in sink.spans
        if s.service == "gateway" and s.kind == SERVER and s.name == "POST /messages/send"
    ]
    if not roots:
        return None
    spans = [s for s in sink.spans if s.trace_id == roots[0].trace_id]
    parts = [
        any(s.service == "conversations" and s.kind == SERVER for s in spans),
        any(s.service == "sender" and s.kind == SERVER for s in spans),
        any(
            s.service == "conversations" and s.kind == CLIENT and "db.statement" in s.attributes
            for s in spans
        ),
        any(s.service == "sender" and s.kind == CLIENT and "http.url" in s.attributes for s in spans),
    ]
    return spans if all(parts) else None


async def test_one_sync_send_is_one_trace_across_the_services(
    postgres_server: str, sink: tuple[OtlpSink, str]
) -> None:
    received, endpoint = sink
    env = {"TRACING_ENABLED": "true", **exporting_to(endpoint)}
    async with start_running(postgres_server, "tracing", env) as running:
        async with running.http.get(f"{running.gateway}/healthz") as response:
            assert response.status == 200
        await send_sync(running)
        # Browsers give the API key as ?token= (no headers on a WebSocket): it must not be traced.
        async with running.http.ws_connect(f"{running.gateway}/ws?token={running.acme.api_key}") as socket:
            await socket.close()
        spans = await eventually(lambda: send_trace(received))
        socket_spans = await eventually(
            lambda: [s for s in received.spans if s.service == "gateway" and s.name == "GET /ws"] or None
        )

    by_id = {s.span_id: s for s in spans}
    [root] = [s for s in spans if not s.parent_span_id]
    assert (root.service, root.kind, root.name) == ("gateway", SERVER, "POST /messages/send")
    # One tree: every other span's parent is in this trace.
    assert all(s.parent_span_id in by_id for s in spans if s is not root)
    # Each service's gRPC server span is the child of the caller's client span, in the caller.
    conversations_calls = [s for s in spans if s.service == "conversations" and s.kind == SERVER]
    sender_calls = [s for s in spans if s.service == "sender" and s.kind == SERVER]
    assert {(by_id[s.parent_span_id].service, by_id[s.parent_span_id].kind) for s in conversations_calls} == {
        ("gateway", CLIENT)
    }
    assert {(by_id[s.parent_span_id].service, by_id[s.parent_span_id].kind) for s in sender_calls} == {
        ("conversations", CLIENT)
    }
    assert any(s.attributes.get("rpc.service") == "pigeon.sender.v1.Sender" for s in sender_calls)
    [whatsapp] = [s for s in spans if s.service == "sender" and "http.url" in s.attributes]
    assert whatsapp.attributes["http.url"] == running.simulator  # the origin alone
    assert by_id[whatsapp.parent_span_id].service == "sender"
    statements = [s for s in spans if "db.statement" in s.attributes]
    assert statements and all(s.service == "conversations" for s in statements)
    assert {s.attributes.get("db.system") for s in statements} == {"postgresql"}
    # Each named after its statement (queries.py), the send's insert among them.
    assert all(s.name.isidentifier() and s.name.islower() for s in statements)
    assert "insert_outbound" in {s.name for s in statements}

    # Probes are not traced, nor gRPC health checks (the gateway watches the sender's).
    assert not [s for s in received.spans if "healthz" in s.name or "grpc.health" in s.name]

    # No secret and no bound value in any span: the API key, the account's access token (the
    # sender's Authorization header), the message's text (a parameter of the INSERT).
    [socket_span] = socket_spans
    assert socket_span.attributes["http.target"] == "/ws"
    assert "?" not in socket_span.attributes["http.url"]
    everything = orjson.dumps([s.attributes for s in received.spans]).decode()
    for secret in (running.acme.api_key, running.acme.access_token, MESSAGE_TEXT):
        assert secret not in everything


async def test_off_by_default_nothing_is_exported(postgres_server: str, sink: tuple[OtlpSink, str]) -> None:
    received, endpoint = sink
    async with start_running(postgres_server, "tracing-off", exporting_to(endpoint)) as running:
        await send_sync(running)
        await asyncio.sleep(1.0)  # twenty export intervals
    assert received.requests == 0
