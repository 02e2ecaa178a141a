"""The WhatsApp Cloud API simulator, over real HTTP against the in-process server."""

import asyncio
import time
from typing import Any

import orjson
import pytest

from tests.fixtures.interactive_messages import (
    INTERACTIVE_BUTTONS,
    INTERACTIVE_CTA,
    INTERACTIVE_LIST,
    INTERACTIVE_LOCATION_REQUEST,
    with_value,
)
from tests.fixtures.simulator import Simulator
from tools.whatsapp_sim.app import STATE, http_status
from tools.whatsapp_sim.config import Latency, SimConfig, parse_latency

PHONE = "106540352242922"
TOKEN = "EAAG-test-token"


def text_message(to: str = "15551234567", body: str = "hello", **extra: Any) -> dict[str, Any]:
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": "text",
        "text": {"body": body, "preview_url": False},
        **extra,
    }


async def send(
    sim: Simulator,
    body: Any,
    *,
    phone: str = PHONE,
    token: str | None = TOKEN,
    version: str = "v21.0",
) -> tuple[int, dict[str, Any]]:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    data = body if isinstance(body, bytes) else orjson.dumps(body)
    url = sim.messages_url(phone, version)
    async with sim.session.post(url, data=data, headers=headers) as resp:
        assert resp.content_type == "application/json"
        return resp.status, await resp.json()


def assert_graph_error(status: int, body: dict[str, Any], want_status: int, want_code: int) -> dict[str, Any]:
    assert status == want_status, body
    error = body["error"]
    assert error["code"] == want_code
    assert error["type"] in ("OAuthException", "GraphMethodException")
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["fbtrace_id"], str) and error["fbtrace_id"]
    assert error["error_data"]["messaging_product"] == "whatsapp"
    assert isinstance(error["error_data"]["details"], str) and error["error_data"]["details"]
    return error


@pytest.fixture
async def sim(simulator: Simulator) -> Simulator:
    await simulator.register(PHONE, TOKEN)
    return simulator


# --- success ----------------------------------------------------------------------------------


async def test_success_has_meta_shape(sim: Simulator) -> None:
    status, body = await send(sim, text_message(to="+15551234567"))

    assert status == 200
    assert set(body) == {"messaging_product", "contacts", "messages"}
    assert body["messaging_product"] == "whatsapp"
    assert body["contacts"] == [{"input": "+15551234567", "wa_id": "15551234567"}]
    [message] = body["messages"]
    assert message["message_status"] == "accepted"
    assert message["id"].startswith("wamid.") and len(message["id"]) > len("wamid.") + 8


async def test_wamids_are_unique(sim: Simulator) -> None:
    results = await asyncio.gather(*(send(sim, text_message()) for _ in range(50)))

    ids = {body["messages"][0]["id"] for status, body in results if status == 200}
    assert len(ids) == 50


@pytest.mark.parametrize(
    "message",
    [
        {"type": "template", "template": {"name": "order_update", "language": {"code": "en_US"}}},
        {"type": "image", "image": {"link": "https://example.com/a.png", "caption": "look"}},
        {"type": "document", "document": {"id": "1234", "filename": "a.pdf"}},
        {"type": "audio", "audio": {"id": "1234"}},
        {"type": "reaction", "reaction": {"message_id": "wamid.abc", "emoji": ""}},
        {"type": "location", "location": {"latitude": 52.5, "longitude": 13.4}},
        {"type": "location", "location": {"latitude": "37.44", "longitude": "-122.16", "name": "Philz"}},
        {"type": "contacts", "contacts": [{"name": {"formatted_name": "Ada"}}]},
        {"type": "interactive", "interactive": INTERACTIVE_BUTTONS},
        {"type": "interactive", "interactive": INTERACTIVE_LIST},
        {"type": "interactive", "interactive": INTERACTIVE_CTA},
        {"type": "interactive", "interactive": INTERACTIVE_LOCATION_REQUEST},
        {"text": {"body": "type defaults to text"}},
    ],
)
async def test_other_message_types_are_accepted(sim: Simulator, message: dict[str, Any]) -> None:
    body = {"messaging_product": "whatsapp", "to": "15551234567", **message}
    status, answer = await send(sim, body)
    assert status == 200, answer


# --- auth, object, path -----------------------------------------------------------------------


async def test_wrong_token_is_401_code_190(sim: Simulator) -> None:
    status, body = await send(sim, text_message(), token="someone-elses-token")

    error = assert_graph_error(status, body, 401, 190)
    assert error["type"] == "OAuthException"
    assert error["message"].startswith("Error validating access token")


async def test_missing_token_is_401_code_190(sim: Simulator) -> None:
    status, body = await send(sim, text_message(), token=None)

    error = assert_graph_error(status, body, 401, 190)
    assert error["message"] == "Invalid OAuth access token - Cannot parse access token"


async def test_unknown_phone_number_is_400_code_100_subcode_33(sim: Simulator) -> None:
    status, body = await send(sim, text_message(), phone="999")

    error = assert_graph_error(status, body, 400, 100)
    assert error["error_subcode"] == 33
    assert error["type"] == "GraphMethodException"
    assert error["message"].startswith("Unsupported post request. Object with ID '999' does not exist")


async def test_bad_version_is_rejected(sim: Simulator) -> None:
    status, body = await send(sim, text_message(), version="latest")
    assert status == 400
    assert body["error"]["type"] == "OAuthException"


async def test_unknown_path_is_graph_style_404(simulator: Simulator) -> None:
    async with simulator.session.get(f"{simulator.url}/v21.0/nothing") as resp:
        assert resp.status == 404
        assert "error" in await resp.json()


async def test_health(simulator: Simulator) -> None:
    async with simulator.session.get(f"{simulator.url}/_sim/health") as resp:
        assert resp.status == 200
        assert await resp.json() == {"status": "ok"}


# --- validation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "code", "details"),
    [
        (b"not json", 100, "JSON object"),
        ([1, 2], 100, "JSON object"),
        ({**text_message(), "messaging_product": "sms"}, 100, "messaging_product"),
        ({k: v for k, v in text_message().items() if k != "to"}, 131008, "to"),
        (text_message(to="12ab"), 131009, "to"),
        (text_message(to="1234"), 131009, "to"),
        (text_message(to="1" * 21), 131009, "to"),
        ({**text_message(), "recipient_type": "group"}, 100, "recipient_type"),
        ({**text_message(), "type": "fax"}, 100, "type"),
        ({**text_message(), "text": None}, 131008, "text"),
        (text_message(body=""), 131009, "text['body']"),
        (text_message(body="x" * 4097), 131009, "4096"),
        ({**text_message(), "text": {"body": "hi", "preview_url": "yes"}}, 100, "preview_url"),
        (
            {
                "messaging_product": "whatsapp",
                "to": "15551234567",
                "type": "template",
                "template": {"name": "x"},
            },
            131008,
            "language",
        ),
        (
            {"messaging_product": "whatsapp", "to": "15551234567", "type": "image", "image": {}},
            131008,
            "'link' or an 'id'",
        ),
        ({"messaging_product": "whatsapp", "to": "15551234567", "type": ["text"]}, 100, "type"),
        (
            {
                "messaging_product": "whatsapp",
                "to": "15551234567",
                "type": "template",
                "template": {"name": "x", "language": {"code": "en"}, "components": [1]},
            },
            100,
            "components'][0]",
        ),
        (
            {
                "messaging_product": "whatsapp",
                "to": "15551234567",
                "type": "template",
                "template": {
                    "name": "x",
                    "language": {"code": "en"},
                    "components": [{"type": "body", "parameters": [{"text": "no type"}]}],
                },
            },
            131008,
            "parameters'][0]['type']",
        ),
        (
            {
                "messaging_product": "whatsapp",
                "to": "15551234567",
                "type": "image",
                "image": {"link": "not a url"},
            },
            131009,
            "http(s) URL",
        ),
        (
            {
                "messaging_product": "whatsapp",
                "to": "15551234567",
                "type": "image",
                "image": {"link": "https://example.com/a.png", "id": "1"},
            },
            131009,
            "only one",
        ),
        (
            {
                "messaging_product": "whatsapp",
                "to": "15551234567",
                "type": "audio",
                "audio": {"id": "1", "caption": "x"},
            },
            100,
            "caption",
        ),
        (
            {
                "messaging_product": "whatsapp",
                "to": "15551234567",
                "type": "image",
                "image": {"id": "1", "filename": "a"},
            },
            100,
            "filename",
        ),
        (
            {
                "messaging_product": "whatsapp",
                "to": "15551234567",
                "type": "reaction",
                "reaction": {"emoji": "👍"},
            },
            131008,
            "message_id",
        ),
        ({**text_message(), "context": {"message_id": 5}}, 100, "context"),
        ({**text_message(), "biz_opaque_callback_data": "é" * 257}, 131009, "512 bytes"),
    ],
)
async def test_invalid_bodies_are_rejected(sim: Simulator, body: Any, code: int, details: str) -> None:
    status, answer = await send(sim, body)

    error = assert_graph_error(status, answer, 400, code)
    assert details in error["error_data"]["details"]


async def test_biz_opaque_callback_data_of_512_bytes_is_fine(sim: Simulator) -> None:
    status, _ = await send(sim, text_message(biz_opaque_callback_data="é" * 256))
    assert status == 200


# --- triggers, random errors, delays ----------------------------------------------------------


@pytest.mark.parametrize(
    ("to", "status", "code"),
    [
        ("1999131026", 400, 131026),
        ("1999131047", 400, 131047),
        ("+1999132001", 404, 132001),
        ("1999130429", 429, 130429),
        ("1999131056", 429, 131056),
        ("19994", 429, 4),
        ("1999131000", 500, 131000),
        ("19991", 500, 1),
        ("1999131016", 503, 131016),
        ("1999190", 401, 190),
        ("199910", 403, 10),
        ("1999200", 403, 200),
    ],
)
async def test_error_triggers_by_recipient(sim: Simulator, to: str, status: int, code: int) -> None:
    answer_status, answer = await send(sim, text_message(to=to))

    error = assert_graph_error(answer_status, answer, status, code)
    if code not in (1, 2, 190):
        assert error["message"].startswith(f"(#{code}) ")


def test_http_status_mapping() -> None:
    assert [http_status(code) for code in (190, 10, 250, 368, 131031, 130497, 131005, 132001)] == [
        401,
        403,
        403,
        403,
        403,
        403,
        403,
        404,
    ]
    assert [http_status(code) for code in (4, 80007, 130429, 131056)] == [429, 429, 429, 429]
    assert [http_status(code) for code in (1, 2, 131000, 131045, 131057, 131016, 133004)] == [
        500,
        500,
        500,
        500,
        500,
        503,
        503,
    ]
    assert [http_status(code) for code in (100, 131026, 131047, 131050, 132000, 132015, 135000)] == [400] * 7


async def test_delay_trigger_answers_late_then_succeeds(sim: Simulator) -> None:
    started = time.monotonic()
    status, body = await send(sim, text_message(to="1998200"))

    assert time.monotonic() - started >= 0.2
    assert status == 200
    assert body["contacts"][0]["wa_id"] == "1998200"


async def test_random_errors_follow_error_rate(sim: Simulator) -> None:
    await sim.set_config(error_rate=1.0, error_code=131016)
    status, body = await send(sim, text_message())
    assert_graph_error(status, body, 503, 131016)

    await sim.set_config(error_rate=0.0)
    status, _ = await send(sim, text_message())
    assert status == 200


async def test_fixed_latency_delays_answers(sim: Simulator) -> None:
    await sim.set_config(latency="150")
    started = time.monotonic()
    status, _ = await send(sim, text_message())

    assert time.monotonic() - started >= 0.15
    assert status == 200


# --- latency parsing --------------------------------------------------------------------------


def test_parse_latency_forms() -> None:
    assert parse_latency("0").sample_seconds() == 0.0
    assert parse_latency("500").sample_seconds() == 0.5
    uniform = parse_latency("500-800")
    assert all(0.5 <= uniform.sample_seconds() <= 0.8 for _ in range(200))
    assert parse_latency("800-800").sample_seconds() == 0.8
    normal = parse_latency("normal:600:100")
    assert all(normal.sample_seconds() >= 0 for _ in range(200))
    assert all(parse_latency("normal:0:1000").sample_seconds() >= 0 for _ in range(200))
    for spec in ("0", "500", "500-800", "normal:600:100", "2.5"):
        assert str(parse_latency(spec)) == spec


@pytest.mark.parametrize("spec", ["", "fast", "-5", "800-500", "1-2-3", "normal:600", "normal:a:b", "5ms"])
def test_parse_latency_rejects_bad_strings(spec: str) -> None:
    with pytest.raises(ValueError, match="latency"):
        parse_latency(spec)


def test_config_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIM_LATENCY", "500-800")
    monkeypatch.setenv("SIM_ERROR_RATE", "0.25")
    monkeypatch.setenv("SIM_ERROR_CODE", "131016")
    monkeypatch.setenv("SIM_DEFAULT_MPS", "20")
    numbers = [
        {"phone_number_id": "1", "access_token": "a"},
        {"phone_number_id": "2", "access_token": "b", "mps": 5},
    ]
    monkeypatch.setenv("SIM_PHONE_NUMBERS", orjson.dumps(numbers).decode())

    config = SimConfig.from_env()

    assert config.latency == Latency("uniform", 500, 800)
    assert (config.error_rate, config.error_code, config.default_mps) == (0.25, 131016, 20)
    assert config.mps_for(config.phone_numbers["1"]) == 20
    assert config.mps_for(config.phone_numbers["2"]) == 5
    assert config.phone_numbers["2"].access_token == "b"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SIM_LATENCY", "soon"),
        ("SIM_ERROR_RATE", "2"),
        ("SIM_DEFAULT_MPS", "0"),
        ("SIM_PHONE_NUMBERS", '[{"phone_number_id": "1"}]'),
        ("SIM_PHONE_NUMBERS", "{}"),
    ],
)
def test_config_from_env_names_the_bad_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=name):
        SimConfig.from_env()


# --- throughput -------------------------------------------------------------------------------


async def test_throughput_limit_per_phone_number(simulator: Simulator) -> None:
    await simulator.register("555", "t5", mps=5)
    await simulator.register("556", "t6", mps=5)

    results = await asyncio.gather(
        *(send(simulator, text_message(), phone="555", token="t5") for _ in range(10))
    )

    statuses = sorted(status for status, _ in results)
    assert statuses == [200] * 5 + [429] * 5
    for status, body in results:
        if status == 429:
            assert_graph_error(status, body, 429, 130429)
    # Another number has its own budget.
    status, _ = await send(simulator, text_message(), phone="556", token="t6")
    assert status == 200
    # Rate-limited sends are recorded too.
    records = await simulator.requests(phone_number_id="555")
    assert sorted(r["status"] for r in records) == statuses
    assert sum(r["error_code"] == 130429 for r in records) == 5


async def test_throughput_window_slides(simulator: Simulator) -> None:
    await simulator.register("557", "t7", mps=2)
    for _ in range(2):
        assert (await send(simulator, text_message(), phone="557", token="t7"))[0] == 200
    assert (await send(simulator, text_message(), phone="557", token="t7"))[0] == 429

    await asyncio.sleep(1.05)

    assert (await send(simulator, text_message(), phone="557", token="t7"))[0] == 200


# --- records ----------------------------------------------------------------------------------


async def test_records_hold_every_send_in_arrival_order(sim: Simulator) -> None:
    before = time.time()
    _, ok = await send(sim, text_message(to="15550000001", body="first"))
    await send(sim, text_message(to="1999131026"))
    await send(sim, b"{broken")

    records = await sim.requests()

    assert [r["to"] for r in records] == ["15550000001", "1999131026", None]
    first, failed, broken = records
    assert first["phone_number_id"] == PHONE
    assert first["body"] == text_message(to="15550000001", body="first")
    assert (first["status"], first["error_code"]) == (200, None)
    assert first["wa_message_id"] == ok["messages"][0]["id"]
    assert before <= first["received_at"] <= first["answered_at"] <= time.time()
    assert (failed["status"], failed["error_code"], failed["wa_message_id"]) == (400, 131026, None)
    assert (broken["body"], broken["status"], broken["error_code"]) == (None, 400, 100)


async def test_records_never_hold_the_token(sim: Simulator) -> None:
    await send(sim, text_message())
    await send(sim, text_message(), token="wrong-secret-token")

    async with sim.session.get(f"{sim.url}/_sim/requests") as resp:
        raw = await resp.text()
    async with sim.session.get(f"{sim.url}/_sim/config") as resp:
        raw += await resp.text()

    assert TOKEN not in raw
    assert "wrong-secret-token" not in raw
    assert "Authorization" not in raw


async def test_records_filters(sim: Simulator) -> None:
    await sim.register("777", "t7")
    await send(sim, text_message(to="15550000001"))
    await send(sim, text_message(to="15550000002"), phone="777", token="t7")
    await asyncio.sleep(0.01)
    middle = time.time()
    await send(sim, text_message(to="15550000002"))

    assert len(await sim.requests()) == 3
    assert [r["to"] for r in await sim.requests(phone_number_id="777")] == ["15550000002"]
    assert [r["phone_number_id"] for r in await sim.requests(to="15550000002")] == ["777", PHONE]
    assert len(await sim.requests(since=middle)) == 1
    assert await sim.requests(phone_number_id="777", to="15550000001") == []

    async with sim.session.get(f"{sim.url}/_sim/requests", params={"since": "yesterday"}) as resp:
        assert resp.status == 400


async def test_clear_empties_records(sim: Simulator) -> None:
    await send(sim, text_message())
    assert len(await sim.requests()) == 1

    await sim.clear()

    assert await sim.requests() == []


# --- control ----------------------------------------------------------------------------------


async def test_put_phone_number_registers_and_replaces(simulator: Simulator) -> None:
    await simulator.register("888", "old")
    await simulator.register("888", "new")

    assert (await send(simulator, text_message(), phone="888", token="old"))[0] == 401
    assert (await send(simulator, text_message(), phone="888", token="new"))[0] == 200

    async with simulator.session.put(f"{simulator.url}/_sim/phone-numbers/889", json={"mps": 3}) as resp:
        assert resp.status == 400
        assert "access_token" in (await resp.json())["error"]


async def test_patch_config_applies_and_reports(simulator: Simulator) -> None:
    await simulator.register("999001", "tok", mps=7, display_phone_number="+1 555 0100")

    config = await simulator.set_config(latency="500-800", error_rate=0.1, error_code=131000, default_mps=40)

    assert config == {
        "latency": "500-800",
        "error_rate": 0.1,
        "error_code": 131000,
        "default_mps": 40,
        "media_url_seconds": 300,
        "webhook_media_seconds": 604800,
        "uploaded_media_seconds": 2592000,
        "media_budget_bytes": 1073741824,
        "webhook_url": "",
        "status_delays_ms": [20, 60, 120],
        "send_read": True,
        "webhook_duplicates": False,
        "webhook_retries": 3,
        "webhook_out_of_order": False,
        "phone_numbers": {
            "999001": {
                "mps": 7,
                "display_phone_number": "+1 555 0100",
                "waba_id": "waba-999001",
                "has_app_secret": False,
            }
        },
    }
    assert simulator.config.latency == Latency("uniform", 500, 800)
    async with simulator.session.get(f"{simulator.url}/_sim/config") as resp:
        assert await resp.json() == config


@pytest.mark.parametrize(
    "patch",
    [
        {"latency": "slow"},
        {"latency": "800-500"},
        {"error_rate": 1.5},
        {"error_rate": "0.1"},
        {"error_code": 0},
        {"error_code": "131000"},
        {"default_mps": -1},
        {"default_mps": True},
        {"colour": "blue"},
        {"error_rate": 0.5, "latency": "nope"},
    ],
)
async def test_patch_config_rejects_bad_values_and_changes_nothing(
    simulator: Simulator, patch: dict[str, Any]
) -> None:
    async with simulator.session.patch(f"{simulator.url}/_sim/config", json=patch) as resp:
        assert resp.status == 400
        assert isinstance((await resp.json())["error"], str)

    assert simulator.config.error_rate == 0.0
    assert simulator.config.latency == Latency()


async def test_patch_config_rejects_non_object(simulator: Simulator) -> None:
    for data in (b"[]", b"nope"):
        async with simulator.session.patch(f"{simulator.url}/_sim/config", data=data) as resp:
            assert resp.status == 400
            assert "error" in await resp.json()


# --- read receipts -------------------------------------------------------------------------------


def receipt(message_id: str = "wamid.in-1", **extra: Any) -> dict[str, Any]:
    return {"messaging_product": "whatsapp", "status": "read", "message_id": message_id, **extra}


async def test_a_read_receipt_for_a_received_message_succeeds(sim: Simulator) -> None:
    sim.app[STATE].keep_inbound(PHONE, "wamid.in-1")
    for body in (receipt(), receipt(typing_indicator={"type": "text"})):
        status, answer = await send(sim, body)
        assert (status, answer) == (200, {"success": True})


@pytest.mark.parametrize(
    "body",
    [
        receipt("wamid.never-received"),
        receipt(typing_indicator={"type": "audio"}),
        receipt(typing_indicator="text"),
        {**receipt(), "status": "delivered"},
        {**receipt(), "messaging_product": "sms"},
    ],
)
async def test_a_read_receipt_that_meta_would_refuse_is_100(sim: Simulator, body: dict[str, Any]) -> None:
    sim.app[STATE].keep_inbound(PHONE, "wamid.in-1")
    status, answer = await send(sim, body)
    assert_graph_error(status, answer, 400, 100)


async def test_a_read_receipt_needs_the_numbers_token(sim: Simulator) -> None:
    sim.app[STATE].keep_inbound(PHONE, "wamid.in-1")
    status, answer = await send(sim, receipt(), token="wrong")
    assert_graph_error(status, answer, 401, 190)


@pytest.mark.parametrize(
    ("location", "code"),
    [
        ({"longitude": 13.4}, 131008),
        ({"latitude": 91, "longitude": 13.4}, 131009),
        ({"latitude": 52.5, "longitude": "east"}, 100),
        ({"latitude": 52.5, "longitude": 13.4, "name": 1}, 100),
    ],
)
async def test_a_location_meta_would_refuse(sim: Simulator, location: dict[str, Any], code: int) -> None:
    body = {"messaging_product": "whatsapp", "to": "15551234567", "type": "location", "location": location}
    status, answer = await send(sim, body)
    assert_graph_error(status, answer, 400, code)


@pytest.mark.parametrize(
    ("interactive", "code"),
    [
        (with_value(INTERACTIVE_BUTTONS, "type", "carousel"), 100),
        (with_value(INTERACTIVE_BUTTONS, "body.text", "x" * 1025), 131009),
        (with_value(INTERACTIVE_BUTTONS, "footer.text", "x" * 61), 131009),
        (
            with_value(INTERACTIVE_BUTTONS, "action.buttons", INTERACTIVE_BUTTONS["action"]["buttons"] * 2),
            131009,
        ),  # type: ignore[index]
        (with_value(INTERACTIVE_BUTTONS, "action.buttons.1.reply.id", "yes"), 131009),
        (with_value(INTERACTIVE_BUTTONS, "action.buttons.0.reply.title", "x" * 21), 131009),
        (with_value(INTERACTIVE_BUTTONS, "action.buttons.0.reply", {"title": "Yes"}), 131008),
        (
            with_value(
                INTERACTIVE_LIST, "header", {"type": "image", "image": {"link": "https://e.com/a.png"}}
            ),
            131009,
        ),
        (with_value(INTERACTIVE_LIST, "action.sections.1.title", None), 131008),
        (with_value(INTERACTIVE_LIST, "action.sections.0.rows.0.description", "x" * 73), 131009),
        (
            with_value(
                INTERACTIVE_LIST, "action.sections.0.rows", [{"id": f"r{n}", "title": "t"} for n in range(10)]
            ),
            131009,
        ),
        (with_value(INTERACTIVE_LIST, "action.button", "x" * 21), 131009),
        (with_value(INTERACTIVE_CTA, "action.parameters.url", "ftp://example.com"), 131009),
        (with_value(INTERACTIVE_LOCATION_REQUEST, "footer", {"text": "no"}), 100),
        (with_value(INTERACTIVE_LOCATION_REQUEST, "action.name", "send_address"), 100),
    ],
)
async def test_an_interactive_message_meta_would_refuse(
    sim: Simulator, interactive: dict[str, Any], code: int
) -> None:
    body = {
        "messaging_product": "whatsapp",
        "to": "15551234567",
        "type": "interactive",
        "interactive": interactive,
    }
    status, answer = await send(sim, body)
    assert_graph_error(status, answer, 400, code)
