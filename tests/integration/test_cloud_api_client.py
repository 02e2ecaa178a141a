"""The Cloud API client against real sockets that misbehave: a connection never made or
refused, one reset after the request was written, and an answer too large to be the Cloud
API's."""

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import pytest
from aiohttp import web
from aiohttp.typedefs import Handler
from prometheus_client import REGISTRY

from services.sender.whatsapp import MAX_ANSWER_BYTES, CloudApiClient, Failure, FailureClass, FailureKind
from tests.fixtures.simulator import Simulator

TOKEN = "EAAG" + "t" * 40


@asynccontextmanager
async def serving(handler: Handler, path_part: str) -> AsyncIterator[str]:
    """A stand-in for the Cloud API on a free port: `handler` answers POST /v21.0/{path_part}/messages."""
    app = web.Application()
    app.router.add_post(f"/v21.0/{{{path_part}}}/messages", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
    finally:
        await runner.cleanup()


@pytest.fixture
def full_backlog() -> Iterator[int]:
    """A port whose listen queue is full: the kernel drops the next SYN, so a connect hangs."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    waiting = []
    for _ in range(4):  # never accepted: they fill the queue
        client = socket.socket()
        client.setblocking(False)
        client.connect_ex(server.getsockname())
        waiting.append(client)
    yield server.getsockname()[1]
    for client in waiting:
        client.close()
    server.close()


async def test_a_connection_never_made_is_a_connection_error_not_a_timeout(full_backlog: int) -> None:
    base_url = f"http://127.0.0.1:{full_backlog}"
    async with CloudApiClient(base_url=base_url, timeout_seconds=5, connect_timeout_seconds=0.5) as client:
        started = time.monotonic()
        result = await client.send("123", TOKEN, "15551234567", "text", b'{"body": "hi"}')
        elapsed = time.monotonic() - started
    assert isinstance(result, Failure)
    # Nothing was sent: retried as a connection error, not "it may still deliver".
    assert (result.kind, result.code, result.failure_class) == (
        FailureKind.CONNECTION,
        "connection_error",
        FailureClass.RETRYABLE,
    )
    assert elapsed < 4


@pytest.fixture
async def huge_answers() -> AsyncIterator[str]:
    async def answer(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        if request.match_info["how"] == "chunked":
            response.enable_chunked_encoding()
        else:
            response.content_length = 2 * MAX_ANSWER_BYTES
        await response.prepare(request)
        for _ in range(2 * MAX_ANSWER_BYTES // 8192):
            await response.write(b"x" * 8192)
        return response

    async with serving(answer, "how") as base_url:
        yield base_url


@pytest.mark.parametrize("how", ["sized", "chunked"])
async def test_an_answer_too_large_is_a_bad_response(huge_answers: str, how: str) -> None:
    async with CloudApiClient(base_url=huge_answers, timeout_seconds=5) as client:
        result = await asyncio.wait_for(client.send(how, TOKEN, "15551234567", "text", b'{"body": "hi"}'), 5)
    assert isinstance(result, Failure)
    assert (result.kind, result.code) == (FailureKind.BAD_RESPONSE, "bad_response")
    assert f"over {MAX_ANSWER_BYTES} bytes" in result.message


async def test_an_unknown_error_code_is_one_metric_label() -> None:
    async def invented(request: web.Request) -> web.Response:
        code = request.match_info["code"]
        return web.json_response({"error": {"code": int(code), "message": "invented"}}, status=400)

    def count(code: str) -> float:
        labels = {"outcome": "failure", "code": code}
        return REGISTRY.get_sample_value("pigeon_whatsapp_call_duration_seconds_count", labels) or 0.0

    before = count("other")
    async with serving(invented, "code") as base_url, CloudApiClient(base_url=base_url) as client:
        for code in ("987654", "987655", "131026"):
            result = await client.send(code, TOKEN, "15551234567", "text", b'{"body": "hi"}')
            assert isinstance(result, Failure) and result.code == code  # the result keeps it
    assert count("other") == before + 2
    assert count("987654") == 0 and count("131026") >= 1


async def test_a_reset_after_the_request_was_written_is_an_unknown_outcome(simulator: Simulator) -> None:
    # The simulator takes a "1996..." send, then closes the connection without answering.
    await simulator.register("106540352242922", TOKEN)
    async with CloudApiClient(base_url=simulator.url, timeout_seconds=5) as client:
        result = await client.send(
            "106540352242922", TOKEN, "19961234567", "text", b'{"body": "hi"}', biz_opaque_callback_data="m-1"
        )
    assert isinstance(result, Failure)
    # WhatsApp may have it: not a connection error, which is retried at once.
    assert (result.kind, result.code, result.failure_class) == (
        FailureKind.UNKNOWN_OUTCOME,
        "unknown_outcome",
        FailureClass.RETRYABLE,
    )
    [received] = await simulator.requests()
    assert received["to"] == "19961234567" and received["wa_message_id"]


async def test_a_refused_connection_is_a_connection_error() -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))  # bound, never listening: the connect is refused
        async with CloudApiClient(base_url=f"http://127.0.0.1:{closed.getsockname()[1]}") as client:
            result = await client.send("123", TOKEN, "15551234567", "text", b'{"body": "hi"}')
    assert isinstance(result, Failure)
    assert (result.kind, result.code) == (FailureKind.CONNECTION, "connection_error")
