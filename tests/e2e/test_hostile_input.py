"""Hostile and malformed input at the gateway, end to end.

Every limit answers its documented error in the one JSON shape `{"error": {"code",
"message", "details"}}`, never a 5xx, and stores nothing (SQL counts of the account's
messages, contacts, conversations, events and idempotency keys before and after). The
gateway stays healthy after each abuse. Also: the per-API-key request rate limit, on a
stack of its own with a small limit.

Behaviours documented here (and in the README's "Errors and limits"):
- a request line or header over 8190 bytes, more than 128 headers, or a control character
  in a header is refused by aiohttp's HTTP parser itself, before any pigeon code runs: a
  plain-text `400 Bad Request`, not the JSON shape;
- unknown JSON fields are ignored (and not stored);
- the Content-Type is not checked: a body is read as JSON whatever it says (`curl -d`
  sends `application/x-www-form-urlencoded`); a body that is not JSON is a 400.
"""

import asyncio
import gzip
import time
import uuid
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import orjson
import pytest
import pytest_asyncio
from multidict import CIMultiDictProxy
from sqlalchemy import text

from tests.fixtures.stack import Running, start_running
from tests.fixtures.templates import add_template, synced
from tools.seed import SeededAccount, create_account

MAX_BODY_BYTES = 1024 * 1024
SEND_ROUTES = ("/messages/send", "/messages/send-async")
TEMPLATE = {"name": "order_update", "language": {"code": "en"}}


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def victim(running: Running) -> SeededAccount:
    """An account of its own, so that the counts below see no other test's writes."""
    account = await create_account(running.engine, "Hostile")
    await running.register(account)
    # Takes the most parameters the gateway lets through, over two components.
    placeholders = " ".join(f"{{{{{n}}}}}" for n in range(1, 51))
    components = [
        {"type": "HEADER", "format": "TEXT", "text": placeholders},
        {"type": "BODY", "text": placeholders},
    ]
    await add_template(
        running,
        account,
        {"name": "many_parameters", "language": "en", "category": "UTILITY", "components": components},
    )
    await synced(running, account)
    return account


@dataclass
class Answer:
    status: int
    headers: CIMultiDictProxy[str]
    body: bytes

    def json(self) -> Any:
        return orjson.loads(self.body)


async def call(
    running: Running,
    method: str,
    path: str,
    account: SeededAccount | None = None,
    data: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> Answer:
    all_headers = {**({"Authorization": f"Bearer {account.api_key}"} if account else {}), **(headers or {})}
    async with running.http.request(
        method, f"{running.gateway}{path}", data=data, headers=all_headers
    ) as response:
        return Answer(response.status, response.headers, await response.read())


async def send(
    running: Running, account: SeededAccount, body: Any, route: str = "/messages/send", **headers: str
) -> Answer:
    data = body if isinstance(body, bytes) else orjson.dumps(body)
    return await call(running, "POST", route, account, data, headers)


def assert_error(answer: Answer, status: int, code: str, field: str | None = None) -> dict[str, Any]:
    """The one error shape, with this status and code (and `details.field` when given)."""
    assert answer.status == status, (answer.status, answer.body[:500])
    assert answer.headers["Content-Type"].startswith("application/json")
    body = answer.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert set(error) == {"code", "message", "details"}, error
    assert error["code"] == code, error
    assert isinstance(error["message"], str) and error["message"]
    if field is not None:
        assert error["details"]["field"] == field, error
    return dict(error)


async def footprint(running: Running, account: SeededAccount) -> dict[str, int]:
    counts = {}
    async with running.engine.connect() as connection:
        for table in ("messages", "contacts", "conversations", "events", "idempotency_keys"):
            counts[table] = (
                await connection.execute(
                    text(f"SELECT count(*) FROM {table} WHERE account_id = :a"), {"a": account.account_id}
                )
            ).scalar_one()
        counts["webhook_notifications"] = (
            await connection.execute(text("SELECT count(*) FROM webhook_notifications"))
        ).scalar_one()
    return counts


@asynccontextmanager
async def stores_nothing(running: Running, account: SeededAccount) -> AsyncIterator[None]:
    before = await footprint(running, account)
    yield
    assert await footprint(running, account) == before


async def assert_healthy(running: Running) -> None:
    answer = await call(running, "GET", "/healthz")
    assert (answer.status, answer.json()) == (200, {"status": "ok"})


async def raw_request(running: Running, request: bytes) -> tuple[int, bytes]:
    """Bytes no HTTP client would send; returns the status and the whole answer."""
    host, port = running.gateway.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(request)
        await writer.drain()
        async with asyncio.timeout(10):
            answer = await reader.read()  # the request says Connection: close
    finally:
        writer.close()
    status_line = answer.split(b"\r\n", 1)[0]
    return int(status_line.split()[1]), answer


async def http_requests_counted(running: Running, route: str, status: int) -> float:
    """pigeon_http_requests_total of a route and status, from the gateway's metrics."""
    answer = await call(running, "GET", "/metrics")
    labels = f'{{method="POST",route="{route}",status="{status}"}}'
    lines = answer.body.decode().splitlines()
    return sum(
        float(line.split()[-1]) for line in lines if line.startswith(f"pigeon_http_requests_total{labels}")
    )


async def test_a_client_gone_mid_upload_is_no_server_error(running: Running, victim: SeededAccount) -> None:
    route = "/messages/send"
    errors_before = await http_requests_counted(running, route, 500)
    gone_before = await http_requests_counted(running, route, 499)
    host, port = running.gateway.removeprefix("http://").split(":")
    _, writer = await asyncio.open_connection(host, int(port))
    writer.write(
        f"POST {route} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {victim.api_key}\r\n"
        "Content-Length: 100000\r\n\r\n".encode()
        + b'{"type": "text", "text": {"body": "'
    )
    await writer.drain()
    await asyncio.sleep(0.3)  # the gateway is reading the body
    writer.close()

    deadline = time.monotonic() + 10
    while (counted := await http_requests_counted(running, route, 499) - gone_before) == 0:
        assert await http_requests_counted(running, route, 500) == errors_before, "counted as a 500"
        assert time.monotonic() < deadline, "the gateway did not count the request"
        await asyncio.sleep(0.1)
    assert counted == 1  # 499: the client closed the request
    await assert_healthy(running)


def text_body(account: SeededAccount, body: str = "hi", **extra: Any) -> dict[str, Any]:
    return {"conversation_id": account.conversation_ids[0], "type": "text", "text": {"body": body}, **extra}


# --- sizes -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("route", "limit"), [*((route, MAX_BODY_BYTES) for route in SEND_ROUTES), ("/webhooks/whatsapp", 3 << 20)]
)
async def test_body_over_the_limit_is_413(
    running: Running, victim: SeededAccount, route: str, limit: int
) -> None:
    body = orjson.dumps(text_body(victim, pad="y" * limit))
    # A webhook without a well-formed signature is refused before its body is read.
    signed = {"X-Hub-Signature-256": "sha256=" + "0" * 64} if route.startswith("/webhooks") else {}
    async with stores_nothing(running, victim):
        assert_error(await send(running, victim, body, route, **signed), 413, "body_too_large")


async def test_chunked_body_over_the_limit_is_413(running: Running, victim: SeededAccount) -> None:
    """No Content-Length to refuse up front: the limit holds while reading."""

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"type": "text", "pad": "'
        for _ in range(2 * MAX_BODY_BYTES // 65536):
            yield b"y" * 65536
        yield b'"}'

    async with stores_nothing(running, victim):
        async with running.http.post(
            f"{running.gateway}/messages/send",
            data=chunks(),
            headers={"Authorization": f"Bearer {victim.api_key}"},
        ) as response:
            answer = Answer(response.status, response.headers, await response.read())
        assert_error(answer, 413, "body_too_large")
    await assert_healthy(running)


async def test_compressed_bodies_are_limited_after_decompression(
    running: Running, victim: SeededAccount
) -> None:
    # 64 MiB of JSON in about 64 KiB: the limit counts what it decompresses to.
    bomb = gzip.compress(b'{"type": "text", "pad": "' + b"0" * (64 * MAX_BODY_BYTES) + b'"}')
    assert len(bomb) < MAX_BODY_BYTES
    async with stores_nothing(running, victim):
        for encoding, body in (("gzip", bomb), ("deflate", zlib.compress(b"0" * 16 * MAX_BODY_BYTES))):
            answer = await send(running, victim, body, **{"Content-Encoding": encoding})
            assert_error(answer, 413, "body_too_large")
        # Not gzip at all.
        answer = await send(running, victim, b"not gzip", **{"Content-Encoding": "gzip"})
        assert_error(answer, 400, "malformed_json")
    await assert_healthy(running)


@pytest.mark.parametrize(
    "request_bytes",
    [
        pytest.param(
            b"GET /conversations HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20_000 + b"\r\n", id="huge-header"
        ),
        pytest.param(
            b"GET /conversations HTTP/1.1\r\nHost: x\r\n"
            + b"".join(b"X-H%d: v\r\n" % i for i in range(1000)),
            id="thousand-headers",
        ),
        pytest.param(b"GET /" + b"a" * 20_000 + b" HTTP/1.1\r\nHost: x\r\n", id="huge-request-line"),
        pytest.param(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Nul: a\x00b\r\n", id="nul-in-header"),
    ],
)
async def test_oversized_or_broken_headers_are_refused_by_the_http_parser(
    running: Running, request_bytes: bytes
) -> None:
    """aiohttp's parser answers these itself with a plain-text 400 (documented); what
    matters is that it is a 4xx and that the gateway goes on serving."""
    status, answer = await raw_request(running, request_bytes + b"Connection: close\r\n\r\n")
    assert status == 400, answer[:300]
    await assert_healthy(running)


# --- JSON shape ------------------------------------------------------------------------


def nested(levels: int) -> Any:
    """`levels` nested lists; as a field of the body it makes the body levels + 1 deep."""
    value: Any = []
    for _ in range(levels - 1):
        value = [value]
    return value


async def test_json_nested_deeper_than_32_levels_is_refused(running: Running, victim: SeededAccount) -> None:
    # 32 levels in all (the unknown field is ignored): accepted and sent.
    answer = await send(running, victim, text_body(victim, pad=nested(31)))
    assert answer.status == 200, answer.body
    async with stores_nothing(running, victim):
        for route in SEND_ROUTES:
            assert_error(
                await send(running, victim, text_body(victim, pad=nested(32)), route), 400, "malformed_json"
            )
        # Far past any parser's comfort: refused, no crash.
        deep = b'{"type": "text", "pad": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
        assert_error(await send(running, victim, deep), 400, "malformed_json")
    await assert_healthy(running)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"null", id="null"),
        pytest.param(b"[]", id="array"),
        pytest.param(b'"text"', id="string"),
        pytest.param(b"42", id="number"),
        pytest.param(b"{", id="truncated"),
        pytest.param(b'{"type": "text"} trailing', id="trailing-garbage"),
        pytest.param(b'{"type": "text", "text": {"body": "\xff\xfe"}}', id="invalid-utf8"),
        pytest.param(b'{"type": "text", "text": {"body": "\\ud800"}}', id="lone-surrogate"),
        pytest.param(b"\xef\xbb\xbf{}", id="utf8-bom"),
        pytest.param(b"type=text&text=hello", id="form-encoded"),
    ],
)
@pytest.mark.parametrize("route", SEND_ROUTES)
async def test_bodies_that_are_not_a_json_object_are_400(
    running: Running, victim: SeededAccount, body: bytes, route: str
) -> None:
    async with stores_nothing(running, victim):
        assert_error(await send(running, victim, body, route), 400, "malformed_json")


async def test_an_empty_object_names_the_missing_field(running: Running, victim: SeededAccount) -> None:
    async with stores_nothing(running, victim):
        assert_error(await send(running, victim, {}), 400, "invalid_request", "type")


# --- field values ----------------------------------------------------------------------


async def test_text_of_4096_characters_is_sent_and_4097_is_422(
    running: Running, victim: SeededAccount
) -> None:
    answer = await send(running, victim, text_body(victim, "é" * 4096))  # characters, not bytes
    assert answer.status == 200, answer.body
    assert answer.json()["text"]["body"] == "é" * 4096
    async with stores_nothing(running, victim):
        for route in SEND_ROUTES:
            error = assert_error(
                await send(running, victim, text_body(victim, "x" * 4097), route),
                422,
                "text_too_long",
                "text.body",
            )
            assert error["details"]["max_length"] == 4096


def template_with(parameters: int) -> dict[str, Any]:
    """`parameters` in all, over two components (the limit counts them together)."""
    half = parameters // 2
    components = [
        {"type": "header", "parameters": [{"type": "text", "text": f"h{n}"} for n in range(half)]},
        {"type": "body", "parameters": [{"type": "text", "text": f"b{n}"} for n in range(parameters - half)]},
    ]
    template = {"name": "many_parameters", "language": {"code": "en"}, "components": components}
    return {"to": "15550420100", "type": "template", "template": template}


async def test_templates_take_at_most_100_parameters(running: Running, victim: SeededAccount) -> None:
    answer = await send(running, victim, template_with(100))
    assert answer.status == 200, answer.body
    async with stores_nothing(running, victim):
        for route in SEND_ROUTES:
            answer = await send(running, victim, template_with(101), route)
            assert_error(answer, 400, "invalid_request", "template.components")
        too_many_components = template_with(0)
        too_many_components["template"]["components"] = [{"type": "body"}] * 11
        assert_error(
            await send(running, victim, too_many_components), 400, "invalid_request", "template.components"
        )


async def test_idempotency_key_of_255_characters_is_accepted_and_256_refused(
    running: Running, victim: SeededAccount
) -> None:
    key = uuid.uuid4().hex.ljust(255, "k")
    answer = await send(running, victim, text_body(victim), **{"Idempotency-Key": key})
    assert answer.status == 200, answer.body
    replay = await send(running, victim, text_body(victim), **{"Idempotency-Key": key})
    assert (replay.status, replay.json()["id"]) == (200, answer.json()["id"])
    async with stores_nothing(running, victim):
        for route in SEND_ROUTES:
            for bad in (key + "k", "", "has space", "tab\tinside"):
                answer = await send(running, victim, text_body(victim), route, **{"Idempotency-Key": bad})
                assert_error(answer, 400, "invalid_request", "Idempotency-Key")


@pytest.mark.parametrize("page_size", ["0", "101", "abc", "-1", "1.5", "1e2", " 5", "²", "9" * 30])
async def test_page_size_outside_1_to_100_is_400(
    running: Running, victim: SeededAccount, page_size: str
) -> None:
    for path in ("/conversations", f"/conversations/{victim.conversation_ids[0]}/messages"):
        async with running.http.get(
            f"{running.gateway}{path}",
            params={"page_size": page_size},
            headers={"Authorization": f"Bearer {victim.api_key}"},
        ) as response:
            answer = Answer(response.status, response.headers, await response.read())
        assert_error(answer, 400, "invalid_request", "page_size")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        # Numbers where strings belong...
        ({"text": {"body": 42}}, "text.body"),
        ({"type": 1}, "type"),
        ({"conversation_id": 123}, "conversation_id"),
        ({"account_id": 7, "to": "15550420101", "conversation_id": None}, "account_id"),
        ({"to": 15550420101, "conversation_id": None}, "to"),
        ({"context": {"message_id": 5}}, "context.message_id"),
        ({"type": "reaction", "reaction": {"message_id": "wamid.x", "emoji": 1}}, "reaction.emoji"),
        ({"type": "image", "image": {"link": 1}}, "image.link"),
        # ...and strings where numbers, booleans or objects belong.
        ({"text": {"body": "x", "preview_url": "true"}}, "text.preview_url"),
        ({"text": "hello"}, "text"),
        ({"context": "wamid.x"}, "context"),
        ({"type": "template", "template": {**TEMPLATE, "components": "x"}}, "template.components"),
        ({"type": "template", "template": {"name": "t", "language": "en"}}, "template.language"),
        # Nulls, empties, NULs.
        ({"type": None}, "type"),
        ({"text": {"body": ""}}, "text.body"),
        ({"text": {"body": "a\u0000b"}}, "text.body"),
        ({"context": {"message_id": "wamid.\u0000"}}, "context.message_id"),
        (
            {
                "type": "template",
                "template": {
                    **TEMPLATE,
                    "components": [{"type": "body", "parameters": [{"text": "\u0000"}]}],
                },
            },
            "template.components[0].parameters[0].text",
        ),
    ],
)
async def test_a_wrong_value_is_400_naming_the_field(
    running: Running, victim: SeededAccount, change: dict[str, Any], field: str
) -> None:
    body = {k: v for k, v in {**text_body(victim), **change}.items() if v is not None or k == "type"}
    async with stores_nothing(running, victim):
        for route in SEND_ROUTES:
            assert_error(await send(running, victim, body, route), 400, "invalid_request", field)


async def test_unknown_fields_are_ignored_and_not_stored(running: Running, victim: SeededAccount) -> None:
    body = text_body(victim, "unknowns", priority="high", extra={"nested": [1, 2]}, note="\u0000 ignored too")
    body["text"]["bold"] = True
    answer = await send(running, victim, body)
    assert answer.status == 200, answer.body
    message = answer.json()
    assert message["text"] == {"body": "unknowns", "preview_url": False}
    assert not {"priority", "extra", "note"} & set(message)
    async with running.engine.connect() as connection:
        stored = (
            await connection.execute(text("SELECT body FROM messages WHERE id = :id"), {"id": message["id"]})
        ).scalar_one()
    assert stored == {"body": "unknowns", "preview_url": False}


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml", "image/png", ""]
)
async def test_the_content_type_is_not_checked(
    running: Running, victim: SeededAccount, content_type: str
) -> None:
    """Documented: whatever the Content-Type says, the body is read as JSON."""
    answer = await send(running, victim, text_body(victim, "any type"), **{"Content-Type": content_type})
    assert answer.status == 200, answer.body


# --- headers and query strings that do not decode ----------------------------------------


async def test_garbage_credentials_and_parameters_are_4xx(running: Running, victim: SeededAccount) -> None:
    key = victim.api_key.encode()
    cases = [
        # Not UTF-8 where the API key goes: unauthenticated, not a crash.
        (b"GET /conversations HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \xff\xfe\r\n", 401),
        (b"GET /conversations HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + b"k" * 300 + b"\r\n", 401),
        # A signature header that cannot be a signature.
        (
            b"POST /webhooks/whatsapp HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
            b"X-Hub-Signature-256: sha256=\xff\xfe\r\n",
            401,
        ),
        # Digits that are not ASCII digits: int() would refuse them.
        (
            b"GET /conversations?page_size=%C2%B2 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
            + key
            + b"\r\n",
            400,
        ),
        (b"GET /ws?since=%C2%B2 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + key + b"\r\n", 400),
        (
            b"GET /ws?since=99999999999999999999 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
            + key
            + b"\r\n",
            400,
        ),
        (
            b"GET /conversations?page_token=%FF%00 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
            + key
            + b"\r\n",
            400,
        ),
        (b"GET /messages/%00%FF HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + key + b"\r\n", 404),
        (
            b"GET /conversations/"
            + b"9" * 4000
            + b" HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
            + key
            + b"\r\n",
            404,
        ),
    ]
    async with stores_nothing(running, victim):
        for request, status in cases:
            body = b"{}" if request.startswith(b"POST") else b""
            got, answer = await raw_request(running, request + b"Connection: close\r\n\r\n" + body)
            assert got == status, answer[:400]
            _, _, payload = answer.partition(b"\r\n\r\n")
            assert set(orjson.loads(payload)["error"]) == {"code", "message", "details"}
    await assert_healthy(running)


# --- the request rate limit ------------------------------------------------------------


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def limited(postgres_server: str) -> AsyncIterator[Running]:
    async with start_running(
        postgres_server, "ratelimit", {"RATE_LIMIT_PER_SECOND": "5", "RATE_LIMIT_BURST": "5"}
    ) as running:
        yield running


async def statuses(
    running: Running, account: SeededAccount | None, count: int, **headers: str
) -> list[Answer]:
    return [await call(running, "GET", "/conversations", account, headers=headers) for _ in range(count)]


async def test_a_burst_over_the_rate_limit_is_429_with_retry_after(limited: Running) -> None:
    acme, globex = limited.acme, limited.globex
    answers = await statuses(limited, acme, 12)
    codes = [a.status for a in answers]
    # The burst passes; then, refilling at 5/s, nearly all of the rest is refused.
    assert codes[:5] == [200] * 5, codes
    assert codes.count(429) >= 5, codes
    refused = next(a for a in answers if a.status == 429)
    error = assert_error(refused, 429, "rate_limited")
    retry_after = int(refused.headers["Retry-After"])
    assert retry_after >= 1
    assert error["details"] == {"retry_after_seconds": retry_after}

    # Every authenticated route is limited, the WebSocket too; public ones are not.
    assert_error(await send(limited, acme, text_body(acme)), 429, "rate_limited")
    assert_error(await call(limited, "GET", "/ws", acme), 429, "rate_limited")
    assert (await call(limited, "GET", "/healthz")).status == 200

    # Another key has its own budget.
    assert [a.status for a in await statuses(limited, globex, 5)] == [200] * 5

    # After the wait it was told, the key works again.
    await asyncio.sleep(retry_after)
    assert (await call(limited, "GET", "/conversations", acme)).status == 200


async def test_wrong_keys_never_spend_a_real_keys_budget(limited: Running) -> None:
    account = await create_account(limited.engine, "Budget")
    await limited.register(account)
    # Wrong keys (even one that differs from the real one by a character) are refused
    # before the limit and count against nothing.
    for wrong in ("pgn_unknown", account.api_key[:-1] + ("A" if account.api_key[-1] != "A" else "B")):
        for answer in await statuses(limited, None, 10, Authorization=f"Bearer {wrong}"):
            assert_error(answer, 401, "unauthenticated")
    assert [a.status for a in await statuses(limited, account, 5)] == [200] * 5


async def test_the_limit_refills_at_its_rate(limited: Running) -> None:
    account = await create_account(limited.engine, "Steady")
    await limited.register(account)
    assert [a.status for a in await statuses(limited, account, 5)] == [200] * 5
    # At 5/s a request every 0.25 s never waits.
    started = time.monotonic()
    for _ in range(6):
        await asyncio.sleep(0.25)
        assert (await call(limited, "GET", "/conversations", account)).status == 200
    assert time.monotonic() - started < 5
