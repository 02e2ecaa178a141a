"""POST /messages/send and the read routes, end to end: HTTP into the gateway, gRPC to
the services, PostgreSQL, and real HTTP out to the WhatsApp simulator."""

import asyncio
import secrets
import time
from typing import Any

import orjson
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from services.shared.api_keys import hash_api_key
from tests.fixtures.interactive_messages import (
    INTERACTIVE_BUTTONS,
    INTERACTIVE_CTA,
    INTERACTIVE_LIST,
    INTERACTIVE_LOCATION_REQUEST,
)
from tests.fixtures.stack import Running
from tools.seed import SeededAccount, create_account


def auth(account: SeededAccount) -> dict[str, str]:
    return {"Authorization": f"Bearer {account.api_key}"}


async def post(running: Running, account: SeededAccount | None, body: Any, **kwargs: Any) -> tuple[int, Any]:
    data = body if isinstance(body, bytes) else orjson.dumps(body)
    headers = {**(auth(account) if account else {}), **kwargs.pop("headers", {})}
    async with running.http.post(f"{running.gateway}/messages/send", data=data, headers=headers) as response:
        return response.status, await response.json()


async def get(running: Running, account: SeededAccount, path: str) -> tuple[int, Any]:
    async with running.http.get(f"{running.gateway}{path}", headers=auth(account)) as response:
        return response.status, await response.json()


async def stored(engine: AsyncEngine, message_id: str) -> Any:
    async with engine.connect() as connection:
        return (
            await connection.execute(
                text("SELECT status, wa_message_id, error_code, body FROM messages WHERE id = :id"),
                {"id": message_id},
            )
        ).one()


async def outbound_count(engine: AsyncEngine, account: SeededAccount) -> int:
    async with engine.connect() as connection:
        return int(
            (
                await connection.execute(
                    text("SELECT count(*) FROM messages WHERE account_id = :a AND direction = 'outbound'"),
                    {"a": account.account_id},
                )
            ).scalar_one()
        )


async def test_send_text_reaches_whatsapp_and_is_stored_sent(running: Running) -> None:
    acme = running.acme
    body = {
        "conversation_id": acme.conversation_ids[0],
        "type": "text",
        "text": {"body": "Your order shipped"},
    }
    status, message = await post(running, acme, body)

    assert status == 200, message
    assert message["status"] == "sent"
    assert message["conversation_id"] == acme.conversation_ids[0]
    assert message["text"] == {"body": "Your order shipped", "preview_url": False}
    assert message["wa_message_id"].startswith("wamid.")
    assert message["sent_at"] is not None
    [request] = [
        r
        for r in await running.simulator_requests(
            phone_number_id=acme.phone_number_id, to=acme.contact_wa_ids[0]
        )
        if r["body"]["biz_opaque_callback_data"] == message["id"]
    ]
    assert request["status"] == 200
    assert request["wa_message_id"] == message["wa_message_id"]
    assert request["body"] == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": acme.contact_wa_ids[0],
        "type": "text",
        "text": {"body": "Your order shipped", "preview_url": False},
        "biz_opaque_callback_data": message["id"],
    }
    row = await stored(running.engine, message["id"])
    assert (row.status, row.wa_message_id) == ("sent", message["wa_message_id"])


async def test_send_each_type_with_reply_context(running: Running) -> None:
    acme = running.acme
    contents: list[dict[str, Any]] = [
        {"type": "template", "template": {"name": "order_update", "language": {"code": "en_US"}}},
        {"type": "image", "image": {"link": "https://example.com/a.png", "caption": "Look"}},
        {"type": "document", "document": {"id": "1234567890", "filename": "invoice.pdf"}},
        {"type": "audio", "audio": {"link": "https://example.com/a.ogg"}},
        {"type": "video", "video": {"id": "99887766"}},
        {"type": "reaction", "reaction": {"message_id": "wamid.abc", "emoji": "👍"}},
        {"type": "location", "location": {"latitude": 52.52, "longitude": 13.405, "name": "Office"}},
        {
            "type": "contacts",
            "contacts": [{"name": {"formatted_name": "Front desk"}, "phones": [{"phone": "+1555"}]}],
        },
        *(
            {"type": "interactive", "interactive": message}
            for message in (
                INTERACTIVE_BUTTONS,
                INTERACTIVE_LIST,
                INTERACTIVE_CTA,
                INTERACTIVE_LOCATION_REQUEST,
            )
        ),
        {"type": "text", "text": {"body": "Replying"}, "context": {"message_id": "wamid.original"}},
    ]
    sent_ids = []
    for content in contents:
        status, message = await post(running, acme, {"conversation_id": acme.conversation_ids[1], **content})
        assert status == 200, message
        assert message[content["type"]]
        sent_ids.append(message["id"])
    records = {r["body"]["biz_opaque_callback_data"]: r["body"] for r in await running.simulator_requests()}
    assert [records[i]["type"] for i in sent_ids] == [c["type"] for c in contents]
    # An interactive message reaches WhatsApp as it was sent.
    interactive = [(i, c) for i, c in zip(sent_ids, contents, strict=True) if c["type"] == "interactive"]
    assert [records[i]["interactive"] for i, _ in interactive] == [c["interactive"] for _, c in interactive]
    assert records[sent_ids[-1]]["context"] == {"message_id": "wamid.original"}


async def test_send_to_a_new_contact_opens_a_conversation(running: Running) -> None:
    globex = running.globex
    status, message = await post(
        running,
        globex,
        {
            "account_id": globex.account_id,
            "to": "+447700900123",
            "type": "template",
            "template": {"name": "hello_world", "language": {"code": "en_US"}},
        },
    )
    assert status == 200, message
    assert message["contact_wa_id"] == "447700900123"
    status, conversation = await get(running, globex, f"/conversations/{message['conversation_id']}")
    assert status == 200
    assert conversation["contact"]["wa_id"] == "447700900123"


async def test_read_routes(running: Running) -> None:
    acme = await create_account(running.engine, "Reader")  # its conversations see no other test's writes
    await running.register(acme)
    status, sent = await post(
        running,
        acme,
        {"conversation_id": acme.conversation_ids[2], "type": "text", "text": {"body": "Read me"}},
    )
    assert status == 200
    status, message = await get(running, acme, f"/messages/{sent['id']}")
    assert status == 200
    assert message == sent

    status, page = await get(running, acme, f"/conversations/{acme.conversation_ids[2]}/messages?page_size=1")
    assert status == 200
    assert [m["id"] for m in page["messages"]] == [sent["id"]]
    status, rest = await get(
        running,
        acme,
        f"/conversations/{acme.conversation_ids[2]}/messages?page_token={page['next_page_token']}",
    )
    assert status == 200
    assert [m["direction"] for m in rest["messages"]] == ["inbound"]
    assert rest["next_page_token"] is None

    status, conversations = await get(running, acme, "/conversations?page_size=100")
    assert status == 200
    # The conversation just written to is the most recent.
    assert conversations["conversations"][0]["id"] == acme.conversation_ids[2]
    assert set(acme.conversation_ids) <= {c["id"] for c in conversations["conversations"]}


async def test_another_accounts_ids_answer_404(running: Running) -> None:
    acme, globex = running.acme, running.globex
    _, sent = await post(
        running,
        acme,
        {"conversation_id": acme.conversation_ids[0], "type": "text", "text": {"body": "Private"}},
    )
    before = await outbound_count(running.engine, globex)
    for path in (
        f"/messages/{sent['id']}",
        f"/conversations/{acme.conversation_ids[0]}",
        f"/conversations/{acme.conversation_ids[0]}/messages",
    ):
        status, error = await get(running, globex, path)
        assert status == 404, path
        assert error["error"]["code"] == "not_found"
    status, error = await post(
        running, globex, {"conversation_id": acme.conversation_ids[0], "type": "text", "text": {"body": "x"}}
    )
    assert status == 404
    status, error = await post(
        running,
        globex,
        {"account_id": acme.account_id, "to": "15550009999", "type": "text", "text": {"body": "x"}},
    )
    assert status == 404
    assert await outbound_count(running.engine, globex) == before
    status, page = await get(running, globex, "/conversations?page_size=100")
    assert not set(acme.conversation_ids) & {c["id"] for c in page["conversations"]}


# The simulator's recipients that fail, and the answer of a sync send to each.
WHATSAPP_FAILURES = [
    ("1999131026", 422, "whatsapp_rejected", "131026"),
    ("1999131047", 422, "reengagement_required", "131047"),
    ("1999131000", 502, "whatsapp_failed", "131000"),
    ("1999130429", 502, "whatsapp_failed", "130429"),
    ("1999190", 502, "whatsapp_account_problem", "190"),  # expired access token: an operator must act
    ("19983000", 504, "whatsapp_timeout", "timeout"),
]


@pytest.mark.parametrize(
    ("to", "status", "code", "whatsapp_code"),
    WHATSAPP_FAILURES,
)
async def test_whatsapp_failures_answer_their_status_and_store_the_message_failed(
    running: Running, to: str, status: int, code: str, whatsapp_code: str
) -> None:
    acme = running.acme
    # A template: a new contact has no open 24 h window for free-form text.
    template = {"name": "order_update", "language": {"code": "en"}}
    got, error = await post(running, acme, {"to": to, "type": "template", "template": template})
    assert got == status, error
    assert error["error"]["code"] == code
    details = error["error"]["details"]
    assert details["whatsapp_code"] == whatsapp_code
    row = await stored(running.engine, details["message_id"])
    assert (row.status, row.error_code, row.wa_message_id) == ("failed", whatsapp_code, None)
    _, message = await get(running, acme, f"/messages/{details['message_id']}")
    assert message["status"] == "failed"
    assert message["error"]["code"] == whatsapp_code


async def sent_for(running: Running, message_id: str) -> list[dict[str, Any]]:
    """The simulator's record of every request that carried this pigeon message."""
    return [
        r
        for r in await running.simulator_requests()
        if isinstance(r["body"], dict) and r["body"].get("biz_opaque_callback_data") == message_id
    ]


@pytest.mark.parametrize(("to", "status", "code", "whatsapp_code"), WHATSAPP_FAILURES)
async def test_a_replay_of_a_failed_send_answers_the_same_error(
    running: Running, to: str, status: int, code: str, whatsapp_code: str
) -> None:
    template = {"name": "order_update", "language": {"code": "en"}}
    body = {"to": to, "type": "template", "template": template}
    key = {"Idempotency-Key": f"replay-failed-{to}"}
    first_status, first = await post(running, running.acme, body, headers=key)
    assert (first_status, first["error"]["code"]) == (status, code)

    async with running.http.post(
        f"{running.gateway}/messages/send", data=orjson.dumps(body), headers={**auth(running.acme), **key}
    ) as response:
        again = await response.json()
        assert response.headers["Idempotent-Replayed"] == "true"
    assert (response.status, again["error"]["code"]) == (status, code)
    details = again["error"]["details"]
    assert (details["message_id"], details["whatsapp_code"]) == (
        first["error"]["details"]["message_id"],
        whatsapp_code,
    )
    assert details["retryable"] == first["error"]["details"]["retryable"]
    assert len(await sent_for(running, details["message_id"])) == 1  # WhatsApp was not called again


async def test_a_replay_while_the_original_is_at_whatsapp_is_409_then_200(running: Running) -> None:
    template = {"name": "order_update", "language": {"code": "en"}}
    body = {"to": "19981000", "type": "template", "template": template}  # WhatsApp answers in 1 s
    key = {"Idempotency-Key": "replay-in-flight"}
    original = asyncio.create_task(post(running, running.acme, body, headers=key))
    await asyncio.sleep(0.4)

    status, in_flight = await post(running, running.acme, body, headers=key)
    assert (status, in_flight["error"]["code"]) == (409, "send_in_progress")
    status, sent = await original
    assert (status, sent["status"]) == (200, "sent")
    assert in_flight["error"]["details"]["message_id"] == sent["id"]
    status, again = await post(running, running.acme, body, headers=key)
    assert (status, again["id"], again["status"]) == (200, sent["id"], "sent")


async def test_authentication_errors(running: Running) -> None:
    body = {"conversation_id": running.acme.conversation_ids[0], "type": "text", "text": {"body": "x"}}
    status, error = await post(running, None, body)
    assert (status, error["error"]["code"]) == (401, "unauthenticated")
    status, error = await post(running, None, body, headers={"Authorization": "Bearer pgn_not_a_key"})
    assert (status, error["error"]["code"]) == (401, "unauthenticated")
    status, error = await post(running, None, body, headers={"Authorization": running.acme.api_key})
    assert status == 401


async def key_checks(running: Running) -> float:
    """AuthenticateApiKey calls conversations has served, from its metrics."""
    url = f"http://127.0.0.1:{running.stack.conversations_metrics_port}/metrics"
    async with running.http.get(url) as response:
        lines = (await response.text()).splitlines()
    return sum(
        float(line.split()[-1])
        for line in lines
        if line.startswith("grpc_server_handled_total{") and 'grpc_method="AuthenticateApiKey"' in line
    )


async def test_an_unknown_key_is_refused_from_memory_for_a_few_seconds(running: Running) -> None:
    # An account of its own: the key added below must not give acme a second key.
    account = await create_account(running.engine, "Late key")
    await running.register(account)
    body = {"conversation_id": account.conversation_ids[0], "type": "text", "text": {"body": "x"}}
    api_key = f"pgn_{secrets.token_urlsafe(24)}"
    headers = {"Authorization": f"Bearer {api_key}"}
    checks_before = await key_checks(running)

    statuses = {(await post(running, None, body, headers=headers))[0] for _ in range(20)}

    assert statuses == {401}
    assert await key_checks(running) - checks_before == 1  # not one PostgreSQL query per request
    # The key created after its refusal works once the refusal is forgotten (5 s).
    async with running.engine.begin() as connection:
        await connection.execute(
            text("INSERT INTO api_keys (account_id, key_hash, key_prefix) VALUES (:a, :h, 'pgn_')"),
            {"a": account.account_id, "h": hash_api_key(api_key)},
        )
    created_at = time.monotonic()
    assert (await post(running, None, body, headers=headers))[0] == 401
    while (await post(running, None, body, headers=headers))[0] != 200:
        assert time.monotonic() - created_at < 10, "the new key is still refused"
        await asyncio.sleep(0.2)


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"{not json", 400, "malformed_json"),
        (b"\xff\xfe{}", 400, "malformed_json"),
        (b"[1, 2]", 400, "malformed_json"),
        ({"type": "text", "text": {"body": "no target"}}, 400, "invalid_request"),
        (
            {
                "conversation_id": "00000000-0000-0000-0000-000000000000",
                "type": "text",
                "text": {"body": "x"},
            },
            404,
            "not_found",
        ),
        ({"to": "15550001234", "type": "text", "text": {"body": "x" * 4097}}, 422, "text_too_long"),
        ({"to": "15550001234", "type": "text", "text": {"body": 42}}, 400, "invalid_request"),
        ({"to": "15550001234", "type": "carrier_pigeon"}, 400, "invalid_request"),
    ],
)
async def test_bad_input_gets_a_clear_error_and_stores_nothing(
    running: Running, body: Any, status: int, code: str
) -> None:
    before = await outbound_count(running.engine, running.acme)
    got, error = await post(running, running.acme, body)
    assert (got, error["error"]["code"]) == (status, code)
    assert error["error"]["message"]
    assert await outbound_count(running.engine, running.acme) == before


async def test_body_over_the_limit_is_413(running: Running) -> None:
    body = orjson.dumps(
        {"to": "15550001234", "type": "text", "text": {"body": "x"}, "pad": "y" * (1024 * 1024)}
    )
    status, error = await post(running, running.acme, body)
    assert (status, error["error"]["code"]) == (413, "body_too_large")


async def test_unknown_route_and_method_are_json(running: Running) -> None:
    async with running.http.get(f"{running.gateway}/nope", headers=auth(running.acme)) as response:
        assert response.status == 404
        assert (await response.json())["error"]["code"] == "not_found"
    async with running.http.delete(
        f"{running.gateway}/conversations", headers=auth(running.acme)
    ) as response:
        assert response.status == 405
        assert (await response.json())["error"]["code"] == "method_not_allowed"


async def test_page_size_is_validated(running: Running) -> None:
    for bad in ("0", "101", "ten", "-1"):
        status, error = await get(running, running.acme, f"/conversations?page_size={bad}")
        assert (status, error["error"]["code"]) == (400, "invalid_request"), bad


async def test_health_readiness_openapi_and_request_id(running: Running) -> None:
    async with running.http.get(f"{running.gateway}/healthz") as response:
        assert response.status == 200
    async with running.http.get(f"{running.gateway}/readyz") as response:
        assert response.status == 200
        assert (await response.json())["dependencies"] == {"conversations": True, "sender": True}
    async with running.http.get(f"{running.gateway}/openapi.json") as response:
        document = await response.json()
    assert set(document["paths"]) >= {
        "/messages/send",
        "/messages/{message_id}",
        "/conversations",
        "/conversations/{conversation_id}",
        "/conversations/{conversation_id}/messages",
        "/healthz",
        "/readyz",
    }
    async with running.http.get(
        f"{running.gateway}/conversations", headers={**auth(running.acme), "X-Request-ID": "trace-123"}
    ) as response:
        assert response.headers["X-Request-ID"] == "trace-123"
    async with running.http.get(f"{running.gateway}/conversations", headers=auth(running.acme)) as response:
        assert len(response.headers["X-Request-ID"]) == 32


async def test_concurrent_sends_each_get_their_own_answer(running: Running) -> None:
    # Sends that start together may share calls (gateway → conversations → sender): each must
    # still get its own message and WhatsApp's answer for it, whatever the others' outcome.
    template = {"type": "template", "template": {"name": "order_update", "language": {"code": "en"}}}
    wanted = [
        (account, f"1555031{n:04d}" if n % 5 else "1999131026")
        for n in range(20)
        for account in (running.acme, running.globex)
    ]

    answers = await asyncio.gather(
        *(post(running, account, {"to": to, **template}) for account, to in wanted)
    )

    for (account, to), (status, body) in zip(wanted, answers, strict=True):
        if to == "1999131026":  # undeliverable: 422, stored failed
            assert status == 422, body
            message_id = body["error"]["details"]["message_id"]
            assert (await stored(running.engine, message_id)).status == "failed"
            continue
        assert status == 200, body
        [record] = [
            r
            for r in await running.simulator_requests(phone_number_id=account.phone_number_id, to=to)
            if r["body"]["biz_opaque_callback_data"] == body["id"]
        ]
        assert record["wa_message_id"] == body["wa_message_id"]
        _, message = await get(running, account, f"/messages/{body['id']}")
        assert message["status"] == "sent"
