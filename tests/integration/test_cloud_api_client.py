"""The Cloud API client against real sockets that misbehave: a connection never made, and
an answer too large to be the Cloud API's."""

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Iterator

import pytest
from aiohttp import web

from services.sender.whatsapp import MAX_ANSWER_BYTES, CloudApiClient, Failure, FailureClass, FailureKind

TOKEN = "EAAG" + "t" * 40


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

    app = web.Application()
    app.router.add_post("/v21.0/{how}/messages", answer)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


@pytest.mark.parametrize("how", ["sized", "chunked"])
async def test_an_answer_too_large_is_a_bad_response(huge_answers: str, how: str) -> None:
    async with CloudApiClient(base_url=huge_answers, timeout_seconds=5) as client:
        result = await asyncio.wait_for(client.send(how, TOKEN, "15551234567", "text", b'{"body": "hi"}'), 5)
    assert isinstance(result, Failure)
    assert (result.kind, result.code) == (FailureKind.BAD_RESPONSE, "bad_response")
    assert f"over {MAX_ANSWER_BYTES} bytes" in result.message
