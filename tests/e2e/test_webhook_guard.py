"""What forged webhooks may cost, end to end: a request without a signature is refused
before its body is read; an address past its budget of failed verifications is answered 429
after a hold, before its body is read; an address with failures has a small body limit; and
none of it touches another address. Other client hosts are other loopback addresses."""

import asyncio
import socket
import time
from collections.abc import AsyncIterator

import aiohttp
import orjson
import pytest_asyncio

from tests.e2e.test_webhooks import envelope, inbound_value, sign
from tests.fixtures.stack import Running, start_running

BURST = 3
UNVERIFIED_LIMIT = 4096


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def guarded(postgres_server: str) -> AsyncIterator[Running]:
    env = {
        "WEBHOOK_FAILURES_PER_SECOND": "0.2",
        "WEBHOOK_FAILURES_BURST": str(BURST),
        "WEBHOOK_UNVERIFIED_MAX_BODY_BYTES": str(UNVERIFIED_LIMIT),
    }
    async with start_running(postgres_server, "webhook-guard", env) as running:
        yield running


def notification(running: Running, pad: int = 0) -> bytes:
    payload = envelope(
        running.acme, inbound_value("15550808080", "Guard", {"type": "text", "text": {"body": "hi"}})
    )
    if pad:
        payload["padding"] = "x" * pad
    return orjson.dumps(payload)


async def post(running: Running, body: bytes, signature: str | None, host: str) -> tuple[int, str, float]:
    """(status, error code, seconds) of one POST from `host`, on a connection of its own."""
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["X-Hub-Signature-256"] = signature
    connector = aiohttp.TCPConnector(local_addr=(host, 0), force_close=True)
    started = time.monotonic()
    async with (
        aiohttp.ClientSession(connector=connector) as session,
        session.post(f"{running.gateway}/webhooks/whatsapp", data=body, headers=headers) as response,
    ):
        answer = await response.json()
        code = answer["error"]["code"] if "error" in answer else answer["status"]
        return response.status, code, time.monotonic() - started


async def test_past_its_budget_an_address_waits_and_is_refused_and_others_are_not(guarded: Running) -> None:
    body = notification(guarded)
    forged = "sha256=" + "0" * 64
    for _ in range(BURST):
        assert (await post(guarded, body, forged, "127.0.0.2"))[:2] == (401, "unauthenticated")
    status, code, took = await post(guarded, body, sign(body, guarded.acme.app_secret), "127.0.0.2")
    # Even a good signature: the address is refused before its body is read.
    assert (status, code) == (429, "too_many_failed_signatures")
    assert took >= 0.9  # held: a client that waits for answers sends one a second
    # Another address is not touched by it.
    status, code, took = await post(guarded, body, sign(body, guarded.acme.app_secret), "127.0.0.1")
    assert (status, code) == (200, "received")
    assert took < 0.9


async def test_an_address_with_failures_gets_the_small_body_limit(guarded: Running) -> None:
    big = notification(guarded, pad=2 * UNVERIFIED_LIMIT)
    assert (await post(guarded, big, sign(big, guarded.acme.app_secret), "127.0.0.3"))[:2] == (
        200,
        "received",
    )
    assert (await post(guarded, big, "sha256=" + "1" * 64, "127.0.0.3"))[:2] == (401, "unauthenticated")
    status, code, _ = await post(guarded, big, sign(big, guarded.acme.app_secret), "127.0.0.3")
    assert (status, code) == (413, "body_too_large")
    small = notification(guarded)
    assert (await post(guarded, small, sign(small, guarded.acme.app_secret), "127.0.0.3"))[:2] == (
        200,
        "received",
    )


async def test_without_a_signature_the_body_is_not_read(guarded: Running) -> None:
    """The headers promise 10 MB that never come: the answer does not wait for them."""

    def ask() -> bytes:
        address = ("127.0.0.1", guarded.stack.gateway_port)
        with socket.create_connection(address, timeout=5, source_address=("127.0.0.4", 0)) as sock:
            sock.sendall(
                b"POST /webhooks/whatsapp HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Content-Length: 10000000\r\n\r\n{"
            )
            answer = b""
            while b"\r\n\r\n" not in answer or not answer.endswith(b"}}"):  # the whole JSON answer
                chunk = sock.recv(4096)
                if not chunk:
                    break
                answer += chunk
            return answer

    started = time.monotonic()
    answer = await asyncio.to_thread(ask)
    assert answer.startswith(b"HTTP/1.1 401"), answer[:200]
    # Answered without waiting for the body (which never comes).
    assert time.monotonic() - started < 2
