"""The simulator's webhooks, received over real HTTP by a tiny recording server in the test."""

import asyncio
import hashlib
import hmac
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest
from aiohttp import web

from tests.fixtures.simulator import Simulator
from tools.stack import free_port
from tools.whatsapp_sim.app import STATE
from tools.whatsapp_sim.config import SimConfig

PHONE = "106540352242922"
TOKEN = "EAAG-test-token"
SECRET = "app-secret-for-tests"
WABA = "102290129340398"
DISPLAY = "+1 555 0100"
# Short, so every test ends well within a second or two, yet far enough apart to keep order.
DELAYS = [10, 30, 50]
# How long to wait for webhooks that should come.
PATIENCE = 3.0
# How long to wait after the last expected webhook to be sure no other comes.
QUIET = 0.15


@dataclass
class Received:
    body: bytes
    headers: dict[str, str]
    at: float

    def json(self) -> dict[str, Any]:
        data: dict[str, Any] = orjson.loads(self.body)
        return data

    def value(self) -> dict[str, Any]:
        [entry] = self.json()["entry"]
        [change] = entry["changes"]
        value: dict[str, Any] = change["value"]
        return value

    def status(self) -> dict[str, Any]:
        [status] = self.value()["statuses"]
        return status


@dataclass
class Receiver:
    """Records every POST (exact bytes and headers) and answers 200, or 500 while `fail_next` > 0."""

    url: str = ""
    received: list[Received] = field(default_factory=list)
    fail_next: int = 0
    # Seconds to wait before answering, to show that the send does not wait for webhooks.
    answer_after: float = 0.0

    async def handle(self, request: web.Request) -> web.Response:
        self.received.append(Received(await request.read(), dict(request.headers), time.monotonic()))
        if self.answer_after:
            await asyncio.sleep(self.answer_after)
        if self.fail_next > 0:
            self.fail_next -= 1
            return web.Response(status=500)
        return web.Response(status=200)

    async def wait_for(self, count: int, patience: float = PATIENCE) -> list[Received]:
        """Waits for `count` requests, then a quiet moment, and checks that no more arrived."""
        deadline = time.monotonic() + patience
        while len(self.received) < count:
            assert time.monotonic() < deadline, f"got {len(self.received)} webhooks, wanted {count}"
            await asyncio.sleep(0.005)
        await asyncio.sleep(QUIET)
        assert len(self.received) == count, [r.body for r in self.received]
        return self.received

    def statuses(self) -> list[str]:
        return [request.status()["status"] for request in self.received]


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    recorder = Receiver()
    app = web.Application()
    app.router.add_post("/webhooks/whatsapp", recorder.handle)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        host, port = runner.addresses[0][:2]
        recorder.url = f"http://{host}:{port}/webhooks/whatsapp"
        yield recorder
    finally:
        await runner.cleanup()


@pytest.fixture
async def sim(simulator: Simulator, receiver: Receiver) -> AsyncIterator[Simulator]:
    await simulator.register(PHONE, TOKEN, display_phone_number=DISPLAY, app_secret=SECRET, waba_id=WABA)
    await simulator.set_webhook(receiver.url)
    await simulator.set_config(status_delays_ms=DELAYS)
    yield simulator
    # Stop retries and statuses before the receiver goes away under them.
    await simulator.app[STATE].webhooks.cancel_pending()


async def send(sim: Simulator, to: str = "15551234567", **extra: Any) -> tuple[int, dict[str, Any]]:
    body = {"messaging_product": "whatsapp", "to": to, "type": "text", "text": {"body": "hi"}, **extra}
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with sim.session.post(sim.messages_url(PHONE), json=body, headers=headers) as resp:
        return resp.status, await resp.json()


async def send_ok(sim: Simulator, to: str = "15551234567", **extra: Any) -> str:
    status, answer = await send(sim, to, **extra)
    assert status == 200, answer
    wamid: str = answer["messages"][0]["id"]
    return wamid


def signed_correctly(request: Received, secret: str = SECRET) -> bool:
    header = request.headers.get("X-Hub-Signature-256", "")
    expected = "sha256=" + hmac.new(secret.encode(), request.body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(header, expected)


# --- status webhooks --------------------------------------------------------------------------


async def test_statuses_arrive_in_order_with_metas_envelope(sim: Simulator, receiver: Receiver) -> None:
    wamid = await send_ok(sim, biz_opaque_callback_data="pigeon-msg-42")

    requests = await receiver.wait_for(3)

    assert receiver.statuses() == ["sent", "delivered", "read"]
    for request in requests:
        assert request.headers["Content-Type"] == "application/json"
        body = request.json()
        assert body["object"] == "whatsapp_business_account"
        [entry] = body["entry"]
        assert entry["id"] == WABA
        [change] = entry["changes"]
        assert change["field"] == "messages"
        value = change["value"]
        assert value["messaging_product"] == "whatsapp"
        assert value["metadata"] == {"display_phone_number": DISPLAY, "phone_number_id": PHONE}
        status = request.status()
        assert status["id"] == wamid
        assert status["recipient_id"] == "15551234567"
        assert status["biz_opaque_callback_data"] == "pigeon-msg-42"
        assert status["timestamp"].isdigit() and abs(int(status["timestamp"]) - time.time()) < 60
        assert status["pricing"] == {"billable": True, "pricing_model": "CBP", "category": "service"}
        assert "errors" not in status
    sent = requests[0].status()
    assert sent["conversation"]["origin"] == {"type": "service"}
    assert isinstance(sent["conversation"]["id"], str) and sent["conversation"]["id"]


async def test_statuses_are_signed_with_the_app_secret(sim: Simulator, receiver: Receiver) -> None:
    await send_ok(sim)

    requests = await receiver.wait_for(3)

    assert all(signed_correctly(request) for request in requests)
    assert not signed_correctly(requests[0], "another-secret")


async def test_callback_data_is_left_out_when_the_send_had_none(sim: Simulator, receiver: Receiver) -> None:
    await send_ok(sim)

    requests = await receiver.wait_for(3)

    assert all("biz_opaque_callback_data" not in request.status() for request in requests)


async def test_the_send_is_not_delayed_by_webhooks(sim: Simulator, receiver: Receiver) -> None:
    receiver.answer_after = 0.5
    await sim.set_config(status_delays_ms=[0, 0, 0])

    started = time.monotonic()
    await send_ok(sim)
    answered = time.monotonic() - started

    assert answered < 0.25
    await receiver.wait_for(1, patience=1.0)


async def test_statuses_are_offset_from_the_answer(sim: Simulator, receiver: Receiver) -> None:
    await sim.set_config(status_delays_ms=[50, 150, 250])

    started = time.monotonic()
    await send_ok(sim)
    requests = await receiver.wait_for(3)

    offsets = [request.at - started for request in requests]
    assert offsets[0] >= 0.05 and offsets[1] >= 0.15 and offsets[2] >= 0.25
    assert offsets == sorted(offsets)


async def test_send_read_off_stops_at_delivered(sim: Simulator, receiver: Receiver) -> None:
    await sim.set_config(send_read=False)

    await send_ok(sim)
    await receiver.wait_for(2)

    assert receiver.statuses() == ["sent", "delivered"]


async def test_duplicates_deliver_every_webhook_twice(sim: Simulator, receiver: Receiver) -> None:
    await sim.set_config(webhook_duplicates=True)

    await send_ok(sim)
    requests = await receiver.wait_for(6)

    assert receiver.statuses() == ["sent", "sent", "delivered", "delivered", "read", "read"]
    for first, second in zip(requests[::2], requests[1::2], strict=True):
        assert first.body == second.body
        assert signed_correctly(second)


async def test_out_of_order_sends_read_first(sim: Simulator, receiver: Receiver) -> None:
    await sim.set_config(webhook_out_of_order=True)

    wamid = await send_ok(sim)
    requests = await receiver.wait_for(3)

    assert receiver.statuses() == ["read", "delivered", "sent"]
    assert {request.status()["id"] for request in requests} == {wamid}
    assert "conversation" in requests[2].status()


async def test_failed_trigger_accepts_then_reports_failed(sim: Simulator, receiver: Receiver) -> None:
    wamid = await send_ok(sim, to="1997131026", biz_opaque_callback_data="cb")

    requests = await receiver.wait_for(2)

    assert receiver.statuses() == ["sent", "failed"]
    failed = requests[1].status()
    assert failed["id"] == wamid
    assert failed["biz_opaque_callback_data"] == "cb"
    [error] = failed["errors"]
    assert error["code"] == 131026
    assert error["title"] == error["message"] == "Message undeliverable"
    assert "not a WhatsApp user" in error["error_data"]["details"]
    assert "pricing" not in failed and "conversation" not in failed
    assert signed_correctly(requests[1])


async def test_failed_trigger_out_of_order(sim: Simulator, receiver: Receiver) -> None:
    await sim.set_config(webhook_out_of_order=True)

    await send_ok(sim, to="1997131047")
    requests = await receiver.wait_for(2)

    assert receiver.statuses() == ["failed", "sent"]
    assert requests[0].status()["errors"][0]["code"] == 131047


async def test_failed_sends_get_no_statuses(sim: Simulator, receiver: Receiver) -> None:
    status, _ = await send(sim, to="1999131026")

    assert status == 400
    await receiver.wait_for(0)


async def test_no_statuses_without_an_app_secret(sim: Simulator, receiver: Receiver) -> None:
    await sim.register(PHONE, TOKEN)

    await send_ok(sim)

    # wait_for's quiet moment outlasts the last status delay.
    await receiver.wait_for(0)


async def test_no_statuses_without_a_webhook_url(sim: Simulator, receiver: Receiver) -> None:
    await sim.set_webhook("")

    await send_ok(sim)

    # wait_for's quiet moment outlasts the last status delay.
    await receiver.wait_for(0)


async def test_status_delivery_is_retried_after_500(sim: Simulator, receiver: Receiver) -> None:
    receiver.fail_next = 2

    await send_ok(sim)
    requests = await receiver.wait_for(5)

    # The first status is retried (0.2 s, then 0.4 s later) and the next ones keep their order.
    assert receiver.statuses() == ["sent", "sent", "sent", "delivered", "read"]
    assert requests[0].body == requests[1].body == requests[2].body
    assert requests[1].at - requests[0].at >= 0.2
    records = await sim.webhooks(kind="status")
    assert [record["status"] for record in records] == [500, 500, 200, 200, 200]
    assert [record["attempt"] for record in records] == [1, 2, 3, 1, 1]


# --- inbound ----------------------------------------------------------------------------------


async def test_inbound_text_has_metas_shape(sim: Simulator, receiver: Receiver) -> None:
    message = {"type": "text", "text": {"body": "hi"}, "context": {"from": DISPLAY, "id": "wamid.X"}}

    answer = await sim.inbound(PHONE, "15557654321", message, profile_name="Ann")

    assert answer["webhook_status"] == 200
    assert answer["wa_message_id"].startswith("wamid.")
    [request] = await receiver.wait_for(1)
    assert signed_correctly(request)
    body = request.json()
    assert body["object"] == "whatsapp_business_account"
    assert body["entry"][0]["id"] == WABA
    value = request.value()
    assert value["metadata"] == {"display_phone_number": DISPLAY, "phone_number_id": PHONE}
    assert value["contacts"] == [{"profile": {"name": "Ann"}, "wa_id": "15557654321"}]
    [inbound] = value["messages"]
    assert inbound["timestamp"].isdigit()
    assert inbound == {
        "from": "15557654321",
        "id": answer["wa_message_id"],
        "timestamp": inbound["timestamp"],
        **message,
    }


async def test_inbound_batch_is_one_notification(sim: Simulator, receiver: Receiver) -> None:
    messages = [
        {"type": "text", "text": {"body": "one"}},
        {"type": "image", "image": {"id": "media-1", "mime_type": "image/jpeg", "sha256": "abc"}},
        {"type": "location", "location": {"latitude": 52.5, "longitude": 13.4, "name": "Home"}},
        {
            "type": "interactive",
            "interactive": {"type": "button_reply", "button_reply": {"id": "y", "title": "Yes"}},
        },
    ]

    answer = await sim.inbound(PHONE, "15557654321", messages=messages)

    assert answer["webhook_status"] == 200
    ids = answer["wa_message_ids"]
    assert len(set(ids)) == 4
    [request] = await receiver.wait_for(1)
    value = request.value()
    assert [m["id"] for m in value["messages"]] == ids
    assert [m["type"] for m in value["messages"]] == ["text", "image", "location", "interactive"]
    assert value["messages"][1]["image"]["id"] == "media-1"
    assert value["contacts"][0]["wa_id"] == "15557654321"


async def test_inbound_can_replay_a_message_id(sim: Simulator, receiver: Receiver) -> None:
    message = {"id": "wamid.REPLAYED", "timestamp": "1700000000", "type": "text", "text": {"body": "x"}}

    first = await sim.inbound(PHONE, "15557654321", message)
    second = await sim.inbound(PHONE, "15557654321", message)

    assert first["wa_message_id"] == second["wa_message_id"] == "wamid.REPLAYED"
    requests = await receiver.wait_for(2)
    assert requests[0].value()["messages"][0]["timestamp"] == "1700000000"


async def test_inbound_duplicates_arrive_before_the_answer(sim: Simulator, receiver: Receiver) -> None:
    await sim.set_config(webhook_duplicates=True)

    await sim.inbound(PHONE, "15557654321", {"type": "text", "text": {"body": "hi"}})

    assert len(receiver.received) == 2
    assert receiver.received[0].body == receiver.received[1].body


async def test_more_retries_reach_a_receiver_that_fails_longer(sim: Simulator, receiver: Receiver) -> None:
    # SIM_WEBHOOK_RETRIES: 3 by default (gone after 4 failures), as many as set otherwise.
    webhooks = sim.app[STATE].webhooks
    assert webhooks.retries == 3
    webhooks.retries = 4
    try:
        receiver.fail_next = 4
        await sim.inbound(PHONE, "15557654322", {"type": "text", "text": {"body": "hi"}})
        await receiver.wait_for(5, patience=6.0)
        records = await sim.webhooks(kind="inbound")
        assert [(r["attempt"], r["status"]) for r in records] == [
            (1, 500),
            (2, 500),
            (3, 500),
            (4, 500),
            (5, 200),
        ]
    finally:
        webhooks.retries = 3


async def test_inbound_reports_pigeons_answer_and_is_retried(sim: Simulator, receiver: Receiver) -> None:
    receiver.fail_next = 1

    answer = await sim.inbound(PHONE, "15557654321", {"type": "text", "text": {"body": "hi"}})

    assert answer["webhook_status"] == 500
    requests = await receiver.wait_for(2)
    assert requests[0].body == requests[1].body
    records = await sim.webhooks(kind="inbound")
    assert [(r["attempt"], r["status"]) for r in records] == [(1, 500), (2, 200)]


async def test_inbound_connection_error_is_null(sim: Simulator, receiver: Receiver) -> None:
    # A port nothing listens on.
    port = free_port()
    await sim.set_webhook(f"http://127.0.0.1:{port}/webhooks/whatsapp")

    answer = await sim.inbound(PHONE, "15557654321", {"type": "text", "text": {"body": "hi"}})

    assert answer["webhook_status"] is None
    [record] = await sim.webhooks()
    assert record["status"] is None and record["error"]


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"from": "15557654321", "message": {"type": "text"}}, "phone_number_id"),
        ({"phone_number_id": "404", "from": "15557654321", "message": {"type": "text"}}, "not registered"),
        ({"phone_number_id": PHONE, "from": "+1 555", "message": {"type": "text"}}, "from"),
        ({"phone_number_id": PHONE, "from": "15557654321"}, "either"),
        ({"phone_number_id": PHONE, "from": "15557654321", "message": {}, "messages": []}, "either"),
        ({"phone_number_id": PHONE, "from": "15557654321", "messages": []}, "non-empty"),
        ({"phone_number_id": PHONE, "from": "15557654321", "message": {"text": {}}}, "type"),
        ({"phone_number_id": PHONE, "from": "15557654321", "message": {"type": "text", "from": "1"}}, "from"),
    ],
)
async def test_inbound_rejects_bad_requests(sim: Simulator, body: dict[str, Any], fragment: str) -> None:
    async with sim.session.post(f"{sim.url}/_sim/inbound", json=body) as resp:
        assert resp.status == 400
        assert fragment in (await resp.json())["error"]


async def test_inbound_needs_a_webhook_url_and_an_app_secret(sim: Simulator) -> None:
    body = {"phone_number_id": PHONE, "from": "15557654321", "message": {"type": "text"}}
    await sim.register(PHONE, TOKEN)
    async with sim.session.post(f"{sim.url}/_sim/inbound", json=body) as resp:
        assert resp.status == 400
        assert "app_secret" in (await resp.json())["error"]
    await sim.set_webhook("")
    async with sim.session.post(f"{sim.url}/_sim/inbound", json=body) as resp:
        assert resp.status == 400
        assert "webhook_url" in (await resp.json())["error"]


# --- raw passthrough --------------------------------------------------------------------------


async def test_raw_is_sent_byte_for_byte_and_signed(sim: Simulator, receiver: Receiver) -> None:
    raw = '{ "object":"whatsapp_business_account",  "entry": [] , "note": "é" }'

    status = await sim.raw_webhook(raw, PHONE)

    assert status == 200
    [request] = await receiver.wait_for(1)
    assert request.body == raw.encode()
    assert signed_correctly(request)


async def test_raw_unsigned_has_no_signature_header(sim: Simulator, receiver: Receiver) -> None:
    status = await sim.raw_webhook("not json at all", sign=False)

    assert status == 200
    [request] = await receiver.wait_for(1)
    assert "X-Hub-Signature-256" not in request.headers
    [record] = await sim.webhooks(kind="raw")
    assert record["body"] == "not json at all" and record["signed"] is False


async def test_raw_with_a_given_signature(sim: Simulator, receiver: Receiver) -> None:
    await sim.raw_webhook("{}", signature="sha256=" + "0" * 64)

    [request] = await receiver.wait_for(1)
    assert request.headers["X-Hub-Signature-256"] == "sha256=" + "0" * 64
    assert not signed_correctly(request)


async def test_raw_reports_the_answer_without_retrying(sim: Simulator, receiver: Receiver) -> None:
    receiver.fail_next = 1

    status = await sim.raw_webhook("{}", PHONE)

    assert status == 500
    # With the quiet moment, longer than the first retry's 0.2 s wait.
    await asyncio.sleep(0.1)
    await receiver.wait_for(1)


async def test_raw_signing_needs_a_registered_number(sim: Simulator) -> None:
    async with sim.session.post(f"{sim.url}/_sim/webhook", json={"raw": "{}"}) as resp:
        assert resp.status == 400
        assert "phone_number_id" in (await resp.json())["error"]


# --- records, config --------------------------------------------------------------------------


async def test_records_list_every_post_in_order_and_clear(sim: Simulator, receiver: Receiver) -> None:
    await send_ok(sim)
    await receiver.wait_for(3)
    await sim.inbound(PHONE, "15557654321", {"type": "text", "text": {"body": "hi"}})
    await sim.raw_webhook("raw", sign=False)

    records = await sim.webhooks()

    assert [record["kind"] for record in records] == ["status", "status", "status", "inbound", "raw"]
    assert all(record["url"] == receiver.url and record["status"] == 200 for record in records)
    assert [
        record["body"]["entry"][0]["changes"][0]["value"]["statuses"][0]["status"] for record in records[:3]
    ] == [
        "sent",
        "delivered",
        "read",
    ]
    assert records[3]["body"]["entry"][0]["changes"][0]["value"]["contacts"][0]["wa_id"] == "15557654321"
    assert records[4]["body"] == "raw"
    sent_at = [record["sent_at"] for record in records]
    assert sent_at == sorted(sent_at)
    assert await sim.webhooks(phone_number_id="elsewhere") == []

    await sim.clear_webhooks()
    assert await sim.webhooks() == []


async def test_config_shows_and_patches_webhook_settings(sim: Simulator, receiver: Receiver) -> None:
    config = await sim.set_config(
        status_delays_ms=[1, 2, 3], send_read=False, webhook_duplicates=True, webhook_out_of_order=True
    )

    assert config["webhook_url"] == receiver.url
    assert config["status_delays_ms"] == [1, 2, 3]
    assert config["send_read"] is False
    assert config["webhook_duplicates"] is True and config["webhook_out_of_order"] is True
    assert config["phone_numbers"][PHONE]["waba_id"] == WABA
    assert config["phone_numbers"][PHONE]["has_app_secret"] is True
    assert SECRET not in orjson.dumps(config).decode()
    assert sim.config.status_delays_ms == (1, 2, 3)


@pytest.mark.parametrize(
    "patch",
    [
        {"webhook_url": "ftp://example.com"},
        {"webhook_url": 5},
        {"status_delays_ms": [1, 2]},
        {"status_delays_ms": [1, 2, -3]},
        {"status_delays_ms": "20,60,120"},
        {"send_read": "yes"},
        {"webhook_duplicates": 1},
        {"webhook_out_of_order": None},
    ],
)
async def test_bad_webhook_config_is_refused(simulator: Simulator, patch: dict[str, Any]) -> None:
    async with simulator.session.patch(f"{simulator.url}/_sim/config", json=patch) as resp:
        assert resp.status == 400
    assert simulator.config.webhook_url == ""
    assert simulator.config.status_delays_ms == (20, 60, 120)


async def test_waba_id_defaults_from_the_phone_number(simulator: Simulator) -> None:
    await simulator.register("555001", TOKEN, app_secret=SECRET)

    config = await simulator.set_config()

    assert config["phone_numbers"]["555001"]["waba_id"] == "waba-555001"


def test_webhook_settings_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIM_WEBHOOK_URL", "http://gateway:8080/webhooks/whatsapp")
    monkeypatch.setenv("SIM_STATUS_DELAYS_MS", "5,10,15")
    monkeypatch.setenv("SIM_SEND_READ", "false")
    monkeypatch.setenv("SIM_WEBHOOK_DUPLICATES", "1")
    monkeypatch.setenv(
        "SIM_PHONE_NUMBERS",
        '[{"phone_number_id": "1", "access_token": "t", "app_secret": "s", "waba_id": 42}]',
    )

    config = SimConfig.from_env()

    assert config.webhook_url == "http://gateway:8080/webhooks/whatsapp"
    assert config.status_delays_ms == (5, 10, 15)
    assert config.send_read is False and config.webhook_duplicates is True
    assert config.webhook_out_of_order is False
    assert config.phone_numbers["1"].app_secret == "s"
    assert config.phone_numbers["1"].waba_id == "42"


def test_empty_webhook_url_in_env_means_none(monkeypatch: pytest.MonkeyPatch) -> None:
    # tools/stack.py passes SIM_WEBHOOK_URL="" to turn status webhooks off.
    monkeypatch.setenv("SIM_WEBHOOK_URL", "")

    assert SimConfig.from_env().webhook_url == ""
