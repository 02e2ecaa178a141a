"""POST /webhooks/whatsapp end to end: signatures, the handshake, every inbound type,
batches, duplicates, out-of-order statuses, statuses before their message, unknown
numbers, malformed bodies, and the full loop with the simulator's own webhooks."""

import asyncio
import hashlib
import hmac
import itertools
import time
from collections.abc import AsyncIterator
from typing import Any

import grpc
import orjson
import pytest
import pytest_asyncio
from pigeon.conversations.v1 import conversations_pb2 as pb
from pigeon.conversations.v1 import conversations_pb2_grpc as pb_grpc
from pigeon.messages.v1 import content_pb2
from sqlalchemy import text

from tests.fixtures.stack import Running, start_running
from tools.seed import SeededAccount, create_account
from tools.whatsapp_sim.app import error_title

_ids = itertools.count(1)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def hooked(postgres_server: str) -> AsyncIterator[Running]:
    async with start_running(postgres_server, "webhooks", webhooks=True) as running:
        yield running


def wamid() -> str:
    return f"wamid.test{next(_ids):08d}{time.time_ns()}"


def envelope(account: SeededAccount, value: dict[str, Any]) -> dict[str, Any]:
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "waba-1",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": account.display_phone_number,
                                "phone_number_id": account.phone_number_id,
                            },
                            **value,
                        },
                    }
                ],
            }
        ],
    }


def inbound_value(sender: str, name: str, *messages: dict[str, Any]) -> dict[str, Any]:
    return {
        "contacts": [{"profile": {"name": name}, "wa_id": sender}],
        "messages": [
            {"from": sender, "id": wamid(), "timestamp": str(int(time.time())), **m} for m in messages
        ],
    }


def status_value(wa_message_id: str, status: str, recipient: str, **extra: Any) -> dict[str, Any]:
    return {
        "statuses": [
            {
                "id": wa_message_id,
                "status": status,
                "timestamp": str(int(time.time())),
                "recipient_id": recipient,
                **extra,
            }
        ]
    }


def sign(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


async def deliver(running: Running, body: bytes, signature: str | None) -> int:
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["X-Hub-Signature-256"] = signature
    async with running.http.post(
        f"{running.gateway}/webhooks/whatsapp", data=body, headers=headers
    ) as response:
        await response.read()
        return response.status


async def post_signed(running: Running, account: SeededAccount, payload: dict[str, Any]) -> int:
    body = orjson.dumps(payload)
    return await deliver(running, body, sign(body, account.app_secret))


async def scalar(running: Running, sql: str, **params: Any) -> Any:
    async with running.engine.connect() as connection:
        return (await connection.execute(text(sql), params)).scalar()


async def eventually(check: Any, timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result or time.monotonic() > deadline:
            return result
        await asyncio.sleep(0.05)


async def notifications(running: Running) -> int:
    return int(await scalar(running, "SELECT count(*) FROM webhook_notifications"))


async def new_account(running: Running, name: str) -> SeededAccount:
    account = await create_account(running.engine, name, conversations=1)
    await running.register(account)
    return account


async def test_verification_handshake(hooked: Running) -> None:
    url = f"{hooked.gateway}/webhooks/whatsapp"
    token = hooked.stack.webhook_verify_token
    params = {"hub.mode": "subscribe", "hub.verify_token": token, "hub.challenge": "1158201444"}
    async with hooked.http.get(url, params=params) as response:
        assert response.status == 200
        assert response.content_type == "text/plain"
        assert await response.text() == "1158201444"
    for bad in ({**params, "hub.verify_token": token + "x"}, {**params, "hub.mode": "unsubscribe"}, {}):
        async with hooked.http.get(url, params=bad) as response:
            assert response.status == 403


async def test_signature_is_required_and_checked(hooked: Running) -> None:
    acme = hooked.acme
    body = orjson.dumps(
        envelope(acme, inbound_value("15550001000", "Sig", {"type": "text", "text": {"body": "x"}}))
    )
    before = await notifications(hooked)
    altered = body.replace(b'"x"', b'"y"')
    assert await deliver(hooked, body, None) == 401
    assert await deliver(hooked, body, "sha256=" + "0" * 64) == 401
    assert await deliver(hooked, body, sign(body, "not-the-secret")) == 401
    assert await deliver(hooked, altered, sign(body, acme.app_secret)) == 401  # one byte changed
    assert await deliver(hooked, body, sign(body, acme.app_secret).removeprefix("sha256=")) == 401
    assert await notifications(hooked) == before  # nothing stored
    assert await deliver(hooked, body, sign(body, acme.app_secret)) == 200
    assert await notifications(hooked) == before + 1


INBOUND_TYPES: list[dict[str, Any]] = [
    {"type": "text", "text": {"body": "Hello"}},
    {"type": "image", "image": {"id": "m1", "mime_type": "image/jpeg", "sha256": "abc", "caption": "pic"}},
    {"type": "document", "document": {"id": "m2", "mime_type": "application/pdf", "filename": "a.pdf"}},
    {"type": "audio", "audio": {"id": "m3", "mime_type": "audio/ogg"}},
    {"type": "video", "video": {"id": "m4", "mime_type": "video/mp4"}},
    {"type": "sticker", "sticker": {"id": "m5", "mime_type": "image/webp", "animated": False}},
    {
        "type": "location",
        "location": {"latitude": 52.5, "longitude": 13.4, "name": "HQ", "address": "Main St"},
    },
    {"type": "contacts", "contacts": [{"name": {"formatted_name": "Bo"}, "phones": [{"phone": "+1555"}]}]},
    {
        "type": "interactive",
        "interactive": {"type": "button_reply", "button_reply": {"id": "yes", "title": "Yes"}},
    },
    {
        "type": "interactive",
        "interactive": {"type": "list_reply", "list_reply": {"id": "r1", "title": "Row"}},
    },
    {"type": "button", "button": {"payload": "STOP", "text": "Stop"}},
    {"type": "reaction", "reaction": {"message_id": "wamid.x", "emoji": "👍"}},
    {
        "type": "order",
        "order": {"catalog_id": "c1", "product_items": [{"product_retailer_id": "p", "quantity": 1}]},
    },
    {"type": "system", "system": {"body": "changed number", "type": "user_changed_number"}},
    {"type": "unsupported", "errors": [{"code": 131051, "title": "Message type unknown"}]},
    {"type": "text", "text": {"body": "a reply"}, "context": {"from": "15550002000", "id": "wamid.original"}},
]


async def test_every_inbound_type_is_stored_and_opens_a_conversation(hooked: Running) -> None:
    account = await new_account(hooked, "Inbound")
    sender = "15550002000"
    payload = envelope(account, inbound_value(sender, "Ann", *INBOUND_TYPES))
    assert await post_signed(hooked, account, payload) == 200

    async def stored() -> int:
        return int(
            await scalar(
                hooked,
                "SELECT count(*) FROM messages WHERE account_id = :a AND contact_wa_id = :w AND direction = 'inbound'",
                a=account.account_id,
                w=sender,
            )
        )

    assert await eventually(lambda: _equals(stored, len(INBOUND_TYPES))) is True
    async with hooked.http.get(
        f"{hooked.gateway}/conversations?page_size=100",
        headers={"Authorization": f"Bearer {account.api_key}"},
    ) as response:
        conversations = (await response.json())["conversations"]
    [conversation] = [c for c in conversations if c["contact"]["wa_id"] == sender]
    assert conversation["contact"]["name"] == "Ann"
    assert conversation["unread_count"] == len(INBOUND_TYPES)
    assert conversation["last_inbound_at"] is not None
    async with hooked.http.get(
        f"{hooked.gateway}/conversations/{conversation['id']}/messages?page_size=100",
        headers={"Authorization": f"Bearer {account.api_key}"},
    ) as response:
        messages = (await response.json())["messages"]
    by_id = {m["wa_message_id"]: m for m in messages}
    sent = payload["entry"][0]["changes"][0]["value"]["messages"]
    for original in sent:
        stored_message = by_id[original["id"]]
        assert stored_message["direction"] == "inbound"
        assert stored_message["status"] == "received"
        assert stored_message["type"] == original["type"]
        if original["type"] == "unsupported":
            assert stored_message["unsupported"] == {"errors": original["errors"]}
        else:
            assert stored_message[original["type"]] == original[original["type"]]
    assert by_id[sent[-1]["id"]]["context"] == {"message_id": "wamid.original"}
    # The contact wrote: free-form text may now be sent to them.
    async with hooked.http.post(
        f"{hooked.gateway}/messages/send",
        json={"conversation_id": conversation["id"], "type": "text", "text": {"body": "Thanks!"}},
        headers={"Authorization": f"Bearer {account.api_key}"},
    ) as response:
        assert response.status == 200


async def _equals(check: Any, expected: Any) -> bool:
    return bool(await check() == expected)


async def test_batched_notification_applies_everything(hooked: Running) -> None:
    account = await new_account(hooked, "Batch")
    payload = envelope(account, inbound_value("15550003001", "A", {"type": "text", "text": {"body": "1"}}))
    second = envelope(
        account,
        inbound_value(
            "15550003002",
            "B",
            {"type": "text", "text": {"body": "2"}},
            {"type": "text", "text": {"body": "3"}},
        ),
    )
    payload["entry"][0]["changes"].append(second["entry"][0]["changes"][0])
    payload["entry"].append(
        envelope(account, inbound_value("15550003003", "C", {"type": "text", "text": {"body": "4"}}))[
            "entry"
        ][0]
    )
    assert await post_signed(hooked, account, payload) == 200

    async def count() -> int:
        return int(
            await scalar(
                hooked,
                "SELECT count(*) FROM messages WHERE account_id = :a AND direction = 'inbound' AND contact_wa_id LIKE '1555000300%'",
                a=account.account_id,
            )
        )

    assert await eventually(lambda: _equals(count, 4)) is True


async def test_duplicate_notifications_change_nothing(hooked: Running) -> None:
    account = await new_account(hooked, "Dupes")
    payload = envelope(account, inbound_value("15550004000", "D", {"type": "text", "text": {"body": "once"}}))
    for _ in range(3):
        assert await post_signed(hooked, account, payload) == 200

    async def applied() -> int:
        return int(
            await scalar(
                hooked,
                "SELECT count(*) FROM webhook_notifications WHERE state = 'applied' AND outcome ? 'messages_duplicate'",
            )
        )

    await eventually(lambda: _equals(applied, 2))
    assert (
        await scalar(
            hooked,
            "SELECT count(*) FROM messages WHERE account_id = :a AND contact_wa_id = '15550004000'",
            a=account.account_id,
        )
        == 1
    )
    assert (
        await scalar(
            hooked,
            "SELECT unread_count FROM conversations c JOIN contacts k ON k.id = c.contact_id WHERE c.account_id = :a AND k.wa_id = '15550004000'",
            a=account.account_id,
        )
        == 1
    )
    assert (
        await scalar(
            hooked,
            "SELECT count(*) FROM events WHERE account_id = :a AND type = 'message.received'",
            a=account.account_id,
        )
        == 1
    )


async def conversations_stub(running: Running) -> tuple[grpc.aio.Channel, pb_grpc.ConversationsStub]:
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{running.stack.conversations_port}")
    return channel, pb_grpc.ConversationsStub(channel)


async def sending_message(stub: pb_grpc.ConversationsStub, account: SeededAccount) -> pb.Message:
    created = await stub.CreateOutboundMessage(
        pb.CreateOutboundMessageRequest(
            account_id=account.account_id,
            conversation_id=account.conversation_ids[0],
            content=content_pb2.Content(type="text", body_json=b'{"body": "hi"}'),
        )
    )
    return created.message


async def sent_message(running: Running, account: SeededAccount) -> tuple[pb.Message, str]:
    """A message pigeon sent, as WhatsApp answered it: the message and its WhatsApp id."""
    channel, stub = await conversations_stub(running)
    async with channel:
        message = await sending_message(stub, account)
        wa_id = wamid()
        await stub.RecordSendOutcome(
            pb.RecordSendOutcomeRequest(
                account_id=account.account_id, message_id=message.id, wa_message_id=wa_id
            )
        )
    return message, wa_id


async def message_row(running: Running, message_id: str) -> Any:
    async with running.engine.connect() as connection:
        return (
            await connection.execute(
                text("SELECT status, wa_message_id, delivered_at, read_at FROM messages WHERE id = :id"),
                {"id": message_id},
            )
        ).one()


async def test_out_of_order_statuses_only_move_forward(hooked: Running) -> None:
    account = await new_account(hooked, "Order")
    message, wa_id = await sent_message(hooked, account)
    recipient = account.contact_wa_ids[0]

    async def settled() -> bool:
        pending = await scalar(hooked, "SELECT count(*) FROM webhook_notifications WHERE state = 'received'")
        return bool(pending == 0)

    # One after the other, each applied before the next arrives: arrival order is the test.
    for status in ("read", "delivered", "sent", "read"):
        assert (
            await post_signed(hooked, account, envelope(account, status_value(wa_id, status, recipient)))
            == 200
        )
        assert await eventually(settled) is True
    row = await message_row(hooked, message.id)
    types = await scalar(
        hooked,
        "SELECT array_agg(type ORDER BY id) FROM events WHERE account_id = :a AND message_id = :m",
        a=account.account_id,
        m=message.id,
    )
    assert (row.status, types) == ("read", ["message.sent", "message.read"]), row
    assert row.read_at is not None


async def _status(running: Running, message_id: str) -> str:
    return str((await message_row(running, message_id)).status)


async def test_status_before_the_send_outcome(hooked: Running) -> None:
    account = await new_account(hooked, "Early")
    recipient = account.contact_wa_ids[0]
    channel, stub = await conversations_stub(hooked)
    async with channel:
        # Matched by pigeon's id echoed in biz_opaque_callback_data.
        early = await sending_message(stub, account)
        wa_early = wamid()
        payload = envelope(
            account, status_value(wa_early, "delivered", recipient, biz_opaque_callback_data=early.id)
        )
        assert await post_signed(hooked, account, payload) == 200

        async def delivered() -> bool:
            return bool((await message_row(hooked, early.id)).status == "delivered")

        assert await eventually(delivered) is True
        # The outcome arriving after its status is accepted, and keeps the later status.
        recorded = await stub.RecordSendOutcome(
            pb.RecordSendOutcomeRequest(
                account_id=account.account_id, message_id=early.id, wa_message_id=wa_early
            )
        )
        assert recorded.status == pb.MESSAGE_STATUS_DELIVERED

        # A failure of pigeon's own (the sender's deadline) after WhatsApp's status: the
        # message stays delivered, and the caller learns it was sent.
        cut_off = await sending_message(stub, account)
        payload = envelope(
            account, status_value(wamid(), "sent", recipient, biz_opaque_callback_data=cut_off.id)
        )
        assert await post_signed(hooked, account, payload) == 200
        await eventually(lambda: _equals(lambda: _status(hooked, cut_off.id), "sent"))
        recorded = await stub.RecordSendOutcome(
            pb.RecordSendOutcomeRequest(
                account_id=account.account_id,
                message_id=cut_off.id,
                failure=pb.SendOutcomeFailure(code="timeout", message="no answer before the deadline"),
            )
        )
        assert recorded.status == pb.MESSAGE_STATUS_SENT

        # No callback data and an unknown id: kept, and applied once the id is known.
        later = await sending_message(stub, account)
        wa_later = wamid()
        assert (
            await post_signed(hooked, account, envelope(account, status_value(wa_later, "read", recipient)))
            == 200
        )
        await eventually(
            lambda: _equals(
                lambda: scalar(
                    hooked, "SELECT count(*) FROM pending_statuses WHERE wa_message_id = :w", w=wa_later
                ),
                1,
            )
        )
        await stub.RecordSendOutcome(
            pb.RecordSendOutcomeRequest(
                account_id=account.account_id, message_id=later.id, wa_message_id=wa_later
            )
        )

        async def read() -> bool:
            return bool((await message_row(hooked, later.id)).status == "read")

        assert await eventually(read) is True
        assert (
            await scalar(hooked, "SELECT count(*) FROM pending_statuses WHERE wa_message_id = :w", w=wa_later)
            == 0
        )


async def test_whatsapps_status_overrides_a_failure_pigeon_concluded_itself(hooked: Running) -> None:
    account = await new_account(hooked, "Concluded")
    recipient = account.contact_wa_ids[0]
    channel, stub = await conversations_stub(hooked)
    async with channel:
        messages = {code: await sending_message(stub, account) for code in ("timeout", "131026")}
        payloads = {}
        for code, message in messages.items():
            await stub.RecordSendOutcome(
                pb.RecordSendOutcomeRequest(
                    account_id=account.account_id,
                    message_id=message.id,
                    failure=pb.SendOutcomeFailure(code=code, message="failed"),
                )
            )
            status = status_value(wamid(), "delivered", recipient, biz_opaque_callback_data=message.id)
            payloads[code] = envelope(account, status)
            assert await post_signed(hooked, account, payloads[code]) == 200
    # pigeon's own conclusion (the sender's deadline) gives way; WhatsApp's own failure does not.
    timed_out, refused = messages["timeout"].id, messages["131026"].id
    await eventually(lambda: _equals(lambda: _status(hooked, timed_out), "delivered"))
    row = await scalar(
        hooked,
        "SELECT concat_ws('/', status, error_code, failed_at, delivered_at IS NOT NULL) FROM messages "
        "WHERE id = :id",
        id=timed_out,
    )
    assert row == "delivered/t"  # no error, no failed_at
    types = await scalar(
        hooked, "SELECT array_agg(type ORDER BY id) FROM events WHERE message_id = :m", m=timed_out
    )
    assert types[-1] == "message.delivered"
    ignored = await eventually(
        lambda: scalar(
            hooked,
            "SELECT outcome->>'statuses_ignored' FROM webhook_notifications WHERE body = :b AND state = 'applied'",
            b=orjson.dumps(payloads["131026"]),
        )
    )
    assert (ignored, await _status(hooked, refused)) == ("1", "failed")


async def test_failed_status_records_the_error(hooked: Running) -> None:
    account = await new_account(hooked, "Failing")
    message, wa_id = await sent_message(hooked, account)
    errors = [
        {"code": 131026, "title": "Message undeliverable", "error_data": {"details": "not on WhatsApp"}}
    ]
    payload = envelope(account, status_value(wa_id, "failed", account.contact_wa_ids[0], errors=errors))
    assert await post_signed(hooked, account, payload) == 200

    async def failed() -> bool:
        return bool((await message_row(hooked, message.id)).status == "failed")

    assert await eventually(failed) is True
    async with hooked.http.get(
        f"{hooked.gateway}/messages/{message.id}", headers={"Authorization": f"Bearer {account.api_key}"}
    ) as response:
        resource = await response.json()
    assert resource["error"] == {"code": "131026", "message": "Message undeliverable not on WhatsApp"}


# A code of each failure class as a `failed` status reports it after WhatsApp accepted the send,
# and what a replay of that send answers from the stored code: the class, through HTTP.
STATUS_FAILURES = [
    (131050, 422, "whatsapp_rejected", False),  # permanent: the user stopped marketing messages
    (131047, 422, "reengagement_required", False),
    (131049, 502, "whatsapp_account_problem", False),  # needs an operator: Meta chose not to deliver
    (131000, 502, "whatsapp_failed", True),  # retryable: an unknown error on Meta's side
]


@pytest.mark.parametrize(("code", "status", "error_code", "retryable"), STATUS_FAILURES)
async def test_a_failed_status_lands_on_the_message_with_its_code_and_class(
    hooked: Running, code: int, status: int, error_code: str, retryable: bool
) -> None:
    account = await new_account(hooked, f"Failed {code}")
    headers = {"Authorization": f"Bearer {account.api_key}", "Idempotency-Key": f"failed-status-{code}"}
    # The simulator accepts a send to "1997" + code, then reports it failed with that code.
    body = {
        "to": f"1997{code}",
        "type": "template",
        "template": {"name": "hello_world", "language": {"code": "en_US"}},
    }
    async with hooked.http.post(f"{hooked.gateway}/messages/send", json=body, headers=headers) as response:
        assert response.status == 200
        message_id = (await response.json())["id"]

    async def failed() -> Any:
        async with hooked.http.get(f"{hooked.gateway}/messages/{message_id}", headers=headers) as response:
            message = await response.json()
        return message if message["status"] == "failed" else None

    message = await eventually(failed)
    assert message, "the failed status never reached the message"
    assert message["error"]["code"] == str(code)
    assert message["error"]["message"].startswith(error_title(code))
    async with hooked.http.post(f"{hooked.gateway}/messages/send", json=body, headers=headers) as response:
        replayed = await response.json()
        assert response.status == status, replayed
    assert replayed["error"]["code"] == error_code
    details = replayed["error"]["details"]
    assert (details["message_id"], details["whatsapp_code"]) == (message_id, str(code))
    assert details["retryable"] is retryable


async def test_a_number_of_no_account_is_acknowledged_and_neither_stored_nor_applied(hooked: Running) -> None:
    account = await new_account(hooked, "Known")
    stranger = await create_account(hooked.engine, "Stranger", conversations=0)
    stranger.phone_number_id = "999000111"
    payload = envelope(stranger, inbound_value("15550005000", "U", {"type": "text", "text": {"body": "?"}}))
    body = orjson.dumps(payload)
    # Signed with a real app secret, but for a number of no account: nothing to verify it
    # with, nothing it could change. Acknowledged, so that Meta does not retry it for days.
    async with hooked.http.post(
        f"{hooked.gateway}/webhooks/whatsapp",
        data=body,
        headers={"X-Hub-Signature-256": sign(body, account.app_secret), "Content-Type": "application/json"},
    ) as response:
        assert response.status == 200
        assert (await response.json())["status"] == "ignored"
    assert await scalar(hooked, "SELECT count(*) FROM webhook_notifications WHERE body = :b", b=body) == 0
    assert await scalar(hooked, "SELECT count(*) FROM messages WHERE contact_wa_id = '15550005000'") == 0


async def test_another_accounts_change_in_a_notification_is_kept_not_applied(hooked: Running) -> None:
    account = await new_account(hooked, "Signer")
    other = await new_account(hooked, "Other app")
    payload = envelope(account, inbound_value("15550005001", "Mine", {"type": "text", "text": {"body": "a"}}))
    theirs = envelope(other, inbound_value("15550005002", "Theirs", {"type": "text", "text": {"body": "b"}}))
    payload["entry"].append(theirs["entry"][0])
    body = orjson.dumps(payload)
    # Signed with the first number's app secret: the other number's account has another.
    assert await deliver(hooked, body, sign(body, account.app_secret)) == 200

    async def outcome() -> Any:
        return await scalar(
            hooked, "SELECT outcome FROM webhook_notifications WHERE body = :b AND state = 'applied'", b=body
        )

    result = await eventually(outcome)
    assert result["unknown_phone_numbers"] == [other.phone_number_id]
    assert result["messages_stored"] == 1
    assert await scalar(hooked, "SELECT count(*) FROM messages WHERE contact_wa_id = '15550005002'") == 0
    # Signed with the other number's secret, the same body is refused: the first number decides.
    assert await deliver(hooked, body, sign(body, other.app_secret)) == 401


async def test_a_body_that_is_not_json_is_refused_and_not_stored(hooked: Running) -> None:
    body = b'{"object": "whatsapp_business_account", "entry": [tru'
    async with hooked.http.post(
        f"{hooked.gateway}/webhooks/whatsapp",
        data=body,
        headers={"X-Hub-Signature-256": sign(body, hooked.acme.app_secret)},
    ) as response:
        assert response.status == 400
        assert (await response.json())["error"]["code"] == "malformed_json"
    assert await scalar(hooked, "SELECT count(*) FROM webhook_notifications WHERE body = :b", b=body) == 0


async def test_mark_conversation_read(hooked: Running) -> None:
    account = await new_account(hooked, "Reader")
    headers = {"Authorization": f"Bearer {account.api_key}"}
    conversation_id = account.conversation_ids[0]
    async with hooked.http.post(
        f"{hooked.gateway}/conversations/{conversation_id}/read", headers=headers
    ) as response:
        assert response.status == 200
        assert (await response.json())["unread_count"] == 0
    other = {"Authorization": f"Bearer {hooked.globex.api_key}"}
    async with hooked.http.post(
        f"{hooked.gateway}/conversations/{conversation_id}/read", headers=other
    ) as response:
        assert response.status == 404
    assert (
        await scalar(
            hooked,
            "SELECT count(*) FROM events WHERE account_id = :a AND type = 'conversation.updated'",
            a=account.account_id,
        )
        == 1
    )


async def ws_frames_for(socket: Any, message_id: str, types: list[str], timeout: float = 10) -> list[str]:
    seen: list[str] = []
    async with asyncio.timeout(timeout):
        while seen != types:
            frame = orjson.loads((await socket.receive()).data)
            if frame["data"].get("id") == message_id:
                seen.append(frame["type"])
    return seen


async def test_full_loop_send_then_statuses_from_the_simulator(hooked: Running) -> None:
    account = await new_account(hooked, "Loop")
    headers = {"Authorization": f"Bearer {account.api_key}"}
    async with hooked.http.ws_connect(f"{hooked.gateway}/ws", params={"token": account.api_key}) as socket:
        async with hooked.http.post(
            f"{hooked.gateway}/messages/send",
            json={"conversation_id": account.conversation_ids[0], "type": "text", "text": {"body": "Loop"}},
            headers=headers,
        ) as response:
            assert response.status == 200
            message_id = (await response.json())["id"]
        seen = await ws_frames_for(socket, message_id, ["message.sent", "message.delivered", "message.read"])
    assert seen == ["message.sent", "message.delivered", "message.read"]
    async with hooked.http.get(f"{hooked.gateway}/messages/{message_id}", headers=headers) as response:
        final = await response.json()
    assert final["status"] == "read"
    assert final["delivered_at"] and final["read_at"]


async def test_full_loop_with_duplicated_and_reordered_webhooks(hooked: Running) -> None:
    account = await new_account(hooked, "Chaos")
    headers = {"Authorization": f"Bearer {account.api_key}"}
    async with hooked.http.patch(
        f"{hooked.simulator}/_sim/config", json={"webhook_duplicates": True, "webhook_out_of_order": True}
    ) as response:
        assert response.status == 200
    try:
        async with hooked.http.post(
            f"{hooked.gateway}/messages/send",
            json={"conversation_id": account.conversation_ids[0], "type": "text", "text": {"body": "Chaos"}},
            headers=headers,
        ) as response:
            assert response.status == 200
            message_id = (await response.json())["id"]

        async def read() -> bool:
            return bool((await message_row(hooked, message_id)).status == "read")

        assert await eventually(read) is True
        await asyncio.sleep(0.5)  # the late, duplicated "delivered" and "sent" arrive
        assert (await message_row(hooked, message_id)).status == "read"
        types = await scalar(
            hooked,
            "SELECT array_agg(type ORDER BY id) FROM events WHERE account_id = :a AND message_id = :m",
            a=account.account_id,
            m=message_id,
        )
        assert types == ["message.sent", "message.read"]
    finally:
        async with hooked.http.patch(
            f"{hooked.simulator}/_sim/config",
            json={"webhook_duplicates": False, "webhook_out_of_order": False},
        ) as response:
            assert response.status == 200


async def test_inbound_from_the_simulator_reaches_the_websocket(hooked: Running) -> None:
    account = await new_account(hooked, "Hello")
    async with hooked.http.ws_connect(f"{hooked.gateway}/ws", params={"token": account.api_key}) as socket:
        async with hooked.http.post(
            f"{hooked.simulator}/_sim/inbound",
            json={
                "phone_number_id": account.phone_number_id,
                "from": "15550008000",
                "profile_name": "Zoe",
                "message": {"type": "text", "text": {"body": "Is anyone there?"}},
            },
        ) as response:
            assert response.status == 200
            answer = await response.json()
        assert answer["webhook_status"] == 200
        frames = []
        async with asyncio.timeout(10):
            while len(frames) < 2:
                frames.append(orjson.loads((await socket.receive()).data))
    assert [f["type"] for f in frames] == ["message.received", "conversation.updated"]
    assert frames[0]["data"]["text"] == {"body": "Is anyone there?"}
    assert frames[0]["data"]["wa_message_id"] == answer["wa_message_id"]
    assert frames[1]["data"]["contact"] == {
        "wa_id": "15550008000",
        "user_id": None,
        "username": None,
        "name": "Zoe",
        "marketing_opt_out": False,
    }
    assert frames[1]["data"]["unread_count"] == 1


async def test_a_contact_the_sender_refuses_fails_for_good_not_retried(hooked: Running) -> None:
    # Meta's wa_ids are digits, but a webhook may name one longer than the sender sends to.
    account = await new_account(hooked, "Refused")
    sender = "1" * 20
    payload = envelope(account, inbound_value(sender, "Long", {"type": "text", "text": {"body": "hi"}}))
    assert await post_signed(hooked, account, payload) == 200
    conversation_id = await eventually(
        lambda: scalar(
            hooked,
            "SELECT c.id::text FROM conversations c JOIN contacts k ON k.id = c.contact_id "
            "WHERE c.account_id = :a AND k.wa_id = :w",
            a=account.account_id,
            w=sender,
        )
    )
    headers = {"Authorization": f"Bearer {account.api_key}"}
    body = {"conversation_id": conversation_id, "type": "text", "text": {"body": "hello"}}
    async with hooked.http.post(f"{hooked.gateway}/messages/send", json=body, headers=headers) as response:
        answer = await response.json()
        assert response.status == 422, answer
    assert answer["error"]["details"]["whatsapp_code"] == "sender_refused"
    async with hooked.http.post(
        f"{hooked.gateway}/messages/send-async", json=body, headers=headers
    ) as response:
        assert response.status == 202
        queued = (await response.json())["id"]

    async def failed() -> Any:
        return await scalar(
            hooked,
            "SELECT error_code || '/' || attempts FROM messages WHERE id = :id AND status = 'failed'",
            id=queued,
        )

    assert await eventually(failed) == "sender_refused/1"  # once, not retried


async def test_a_new_number_of_a_known_app_is_applied_at_once(hooked: Running) -> None:
    # One Meta app, two phone numbers: the second account's notifications carry a signature
    # the secrets read before it existed already match.
    first = await new_account(hooked, "App one")
    text_message = {"type": "text", "text": {"body": "hi"}}
    assert (
        await post_signed(hooked, first, envelope(first, inbound_value("15550007000", "A", text_message)))
        == 200
    )
    stored = "SELECT count(*) FROM messages WHERE account_id = :a AND contact_wa_id = :w"
    assert await eventually(
        lambda: _equals(lambda: scalar(hooked, stored, a=first.account_id, w="15550007000"), 1)
    )

    second = await create_account(hooked.engine, "App two", conversations=0, app_secret=first.app_secret)
    await asyncio.sleep(0.2)  # its NOTIFY reaches conversations within milliseconds
    payload = envelope(second, inbound_value("15550007001", "B", text_message))
    assert await post_signed(hooked, second, payload) == 200
    assert await eventually(
        lambda: _equals(lambda: scalar(hooked, stored, a=second.account_id, w="15550007001"), 1)
    )


async def test_a_webhook_has_a_body_limit_of_its_own(hooked: Running) -> None:
    # Meta batches up to 1000 changes: more than the API's 1 MiB, within the webhook's 3 MiB.
    account = await new_account(hooked, "Big batch")
    padded = {
        **envelope(account, inbound_value("15550008000", "Big", {"type": "text", "text": {"body": "b"}}))
    }
    padded["padding"] = "x" * (1536 * 1024)
    body = orjson.dumps(padded)
    assert await deliver(hooked, body, sign(body, account.app_secret)) == 200
    stored = "SELECT count(*) FROM messages WHERE account_id = :a AND contact_wa_id = '15550008000'"
    assert await eventually(lambda: _equals(lambda: scalar(hooked, stored, a=account.account_id), 1)) is True

    padded["padding"] = "x" * (3 * 1024 * 1024)
    body = orjson.dumps(padded)
    async with hooked.http.post(
        f"{hooked.gateway}/webhooks/whatsapp", data=body, headers={"X-Hub-Signature-256": sign(body, "s")}
    ) as response:
        assert response.status == 413
        assert (await response.json())["error"]["code"] == "body_too_large"
