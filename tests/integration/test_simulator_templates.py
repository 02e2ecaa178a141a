"""The simulator's message templates, over real HTTP: Meta's listing (paged, token-checked), sends
refused as Meta refuses them, and the status-update webhook."""

from typing import Any

import pytest

from tests.fixtures.simulator import Simulator
from tests.integration.test_simulator import assert_graph_error, send
from tests.integration.test_simulator_webhooks import Receiver, receiver
from tools.whatsapp_sim.app import STATE
from tools.whatsapp_sim.webhooks import sign

__all__ = ["receiver"]

PHONE = "106540352242977"
TOKEN = "EAAG-templates-token"
WABA = "102290129340398"
SECRET = "templates-app-secret"


@pytest.fixture
async def sim(simulator: Simulator) -> Simulator:
    await simulator.register(PHONE, TOKEN, app_secret=SECRET, waba_id=WABA)
    return simulator


async def add(sim: Simulator, **template: Any) -> dict[str, Any]:
    body = {"waba_id": WABA, "language": "en", "category": "UTILITY", "components": [], **template}
    async with sim.session.post(f"{sim.url}/_sim/templates", json=body) as response:
        assert response.status == 201
        return dict(await response.json())


async def listing(sim: Simulator, token: str = TOKEN, **params: str) -> tuple[int, dict[str, Any]]:
    url = f"{sim.url}/v21.0/{WABA}/message_templates"
    async with sim.session.get(url, params=params, headers={"Authorization": f"Bearer {token}"}) as response:
        return response.status, await response.json()


def template_send(name: str, language: str = "en", components: list[Any] | None = None) -> dict[str, Any]:
    template: dict[str, Any] = {"name": name, "language": {"code": language}}
    if components is not None:
        template["components"] = components
    return {"messaging_product": "whatsapp", "to": "15551230000", "type": "template", "template": template}


async def test_templates_are_listed_with_cursors_and_the_wabas_token(sim: Simulator) -> None:
    for index in range(5):
        await add(sim, name=f"t{index}")
    status, page = await listing(sim, limit="3")
    assert status == 200
    first = [t["name"] for t in page["data"]]
    assert first == ["hello_world", "order_update", "order_update"]
    assert set(page["data"][0]) == {
        "name",
        "parameter_format",
        "components",
        "language",
        "status",
        "category",
        "id",
    }
    assert "next" in page["paging"]
    names = list(first)
    while "next" in page.get("paging", {}):
        status, page = await listing(sim, limit="3", after=page["paging"]["cursors"]["after"])
        names += [t["name"] for t in page["data"]]
    assert names[3:] == [f"t{i}" for i in range(5)]
    assert_graph_error(*await listing(sim, token="EAAG-someone-else"), 401, 190)
    assert_graph_error(*await listing(sim, limit="0"), 400, 100)


async def test_sends_are_refused_as_meta_refuses_them(sim: Simulator) -> None:
    body = [{"type": "BODY", "text": "Hi {{1}}, order {{2}}"}]
    await add(sim, name="order_note", components=body)
    await add(sim, name="pending_one", status="PENDING")
    await add(sim, name="paused_one", status="PAUSED")
    await add(sim, name="disabled_one", status="DISABLED")
    await add(sim, name="with_image", components=[{"type": "HEADER", "format": "IMAGE"}])
    two = [{"type": "body", "parameters": [{"type": "text", "text": "Ann"}, {"type": "text", "text": "7"}]}]
    status, _ = await send(sim, template_send("order_note", components=two), phone=PHONE, token=TOKEN)
    assert status == 200
    for template, code in (
        (template_send("no_such"), 132001),
        (template_send("order_note", "pt_BR", two), 132001),
        (template_send("pending_one"), 132001),
        (template_send("paused_one"), 132015),
        (template_send("disabled_one"), 132016),
        (
            template_send(
                "order_note", components=[{"type": "body", "parameters": two[0]["parameters"][:1]}]
            ),
            132000,
        ),
        (template_send("order_note"), 132000),
        (template_send("with_image"), 132012),
    ):
        status, answer = await send(sim, template, phone=PHONE, token=TOKEN)
        assert status >= 400 and answer["error"]["code"] == code, (template, answer)


async def test_a_status_change_sends_metas_webhook(sim: Simulator, receiver: Receiver) -> None:
    await sim.set_webhook(receiver.url)
    created = await add(sim, name="seasonal", category="MARKETING")
    url = f"{sim.url}/_sim/templates/{WABA}/seasonal/en"
    async with sim.session.patch(url, json={"status": "PAUSED", "reason": "NONE"}) as response:
        assert response.status == 200
        assert (await response.json())["status"] == "PAUSED"
    (delivery,) = await sim.webhooks(kind="template")
    assert delivery["signed"] and delivery["status"] == 200
    (entry,) = delivery["body"]["entry"]
    assert entry["id"] == WABA
    (change,) = entry["changes"]
    assert change["field"] == "message_template_status_update"
    assert change["value"] == {
        "event": "PAUSED",
        "message_template_id": int(created["id"]),
        "message_template_name": "seasonal",
        "message_template_language": "en",
        "reason": "NONE",
        "message_template_category": "MARKETING",
    }
    (received,) = await receiver.wait_for(1)
    assert received.headers["X-Hub-Signature-256"] == sign(received.body, SECRET)
    async with sim.session.patch(url, json={"status": "SHINY"}) as response:
        assert response.status == 400
    await sim.app[STATE].webhooks.cancel_pending()
