"""Message templates, end to end: listed from the simulator's WABA catalog through the sender,
listed over HTTP, template sends WhatsApp would refuse refused with 422 before any WhatsApp call,
and a status-update webhook applied at once."""

import itertools
import time
from typing import Any

import orjson

from tests.e2e.test_webhooks import envelope, eventually, hooked, new_account, post_signed, scalar, sign
from tests.fixtures.stack import Running
from tests.fixtures.templates import add_template, auth, synced, templates
from tools.seed import SeededAccount

__all__ = ["hooked"]

_recipients = itertools.count(15550007001)

# Positional body parameters, a URL button with a variable suffix, an image header.
SHIPPING = {
    "name": "shipping_update",
    "language": "en_US",
    "category": "UTILITY",
    "components": [
        {"type": "HEADER", "format": "IMAGE"},
        {"type": "BODY", "text": "Hi {{1}}, order {{2}} ships today. Tracking for {{1}} below."},
        {
            "type": "BUTTONS",
            "buttons": [{"type": "URL", "text": "Track", "url": "https://x.example/t/{{1}}"}],
        },
    ],
}
PROMO = {
    "name": "spring_sale",
    "language": "en",
    "category": "MARKETING",
    "components": [{"type": "BODY", "text": "Hello {{first_name}}!"}],
    "parameter_format": "NAMED",
}
PENDING = {
    "name": "not_yet",
    "language": "en",
    "category": "UTILITY",
    "status": "PENDING",
    "components": [{"type": "BODY", "text": "Soon."}],
}


def shipping_send(**changes: Any) -> dict[str, Any]:
    components = [
        {"type": "header", "parameters": [{"type": "image", "image": {"link": "https://x.example/a.jpg"}}]},
        {"type": "body", "parameters": [{"type": "text", "text": "Ann"}, {"type": "text", "text": "A-17"}]},
        {"type": "button", "sub_type": "url", "index": "0", "parameters": [{"type": "text", "text": "A-17"}]},
    ]
    return {"name": "shipping_update", "language": {"code": "en_US"}, "components": components, **changes}


async def account_with_templates(running: Running, name: str) -> SeededAccount:
    account = await new_account(running, name)
    for template in (SHIPPING, PROMO, PENDING):
        await add_template(running, account, template)
    await synced(running, account)
    return account


async def send(
    running: Running, account: SeededAccount, template: dict[str, Any], to: str, path: str = "send"
) -> Any:
    body = {"to": to, "type": "template", "template": template}
    url = f"{running.gateway}/messages/{path}"
    async with running.http.post(url, data=orjson.dumps(body), headers=auth(account)) as response:
        return response.status, await response.json()


async def test_templates_are_listed_from_whatsapp_paged_and_filtered(hooked: Running) -> None:
    account = await account_with_templates(hooked, "Templates listed")
    page = await synced(hooked, account)
    by_key = {(t["name"], t["language"]): t for t in page["templates"]}
    assert set(by_key) == {
        ("hello_world", "en_US"),
        ("order_update", "en"),
        ("order_update", "en_US"),
        ("shipping_update", "en_US"),
        ("spring_sale", "en"),
        ("not_yet", "en"),
    }
    assert page["sync_failure"] is None
    shipping = by_key[("shipping_update", "en_US")]
    assert shipping["parameter_counts"] == {"header": 1, "body": 2, "button:0": 1}
    assert shipping["components"] == SHIPPING["components"]
    assert shipping["category"] == "UTILITY" and shipping["status"] == "APPROVED"
    assert by_key[("spring_sale", "en")]["parameter_counts"] == {"body": 1}
    assert by_key[("spring_sale", "en")]["parameter_format"] == "NAMED"
    assert by_key[("hello_world", "en_US")]["parameter_counts"] == {}

    names: list[tuple[str, str]] = []
    token = ""
    while True:
        status, listed = await templates(
            hooked, account, page_size="4", **({"page_token": token} if token else {})
        )
        assert status == 200
        names += [(t["name"], t["language"]) for t in listed["templates"]]
        token = listed["next_page_token"]
        if not token:
            break
    assert names == sorted(by_key)
    status, pending = await templates(hooked, account, status="PENDING")
    assert [t["name"] for t in pending["templates"]] == ["not_yet"]
    status, marketing = await templates(hooked, account, category="marketing")
    assert [t["name"] for t in marketing["templates"]] == ["spring_sale"]
    for bad in ({"status": "SHINY"}, {"category": "x"}, {"page_token": "!!"}):
        status, error = await templates(hooked, account, **bad)
        assert status == 400, bad
        assert error["error"]["code"] == "invalid_request"

    # Another account sees its own templates only.
    others = (await templates(hooked, hooked.globex, page_size="100"))[1]["templates"]
    assert "shipping_update" not in {t["name"] for t in others}


async def test_sends_whatsapp_would_refuse_get_422_before_any_whatsapp_call(hooked: Running) -> None:
    account = await account_with_templates(hooked, "Templates refused")
    refused = [
        ({"name": "no_such_template", "language": {"code": "en_US"}}, "template_not_found"),
        ({"name": "shipping_update", "language": {"code": "pt_BR"}}, "template_language_not_found"),
        ({"name": "not_yet", "language": {"code": "en"}}, "template_not_approved"),
        (shipping_send(components=shipping_send()["components"][1:]), "template_parameter_mismatch"),
        ({"name": "spring_sale", "language": {"code": "en"}}, "template_parameter_mismatch"),
    ]
    for path in ("send", "send-async"):
        for template, code in refused:
            to = str(next(_recipients))
            status, body = await send(hooked, account, template, to, path)
            assert (status, body["error"]["code"]) == (422, code), (path, template)
            assert await hooked.simulator_requests(to=to) == []
    stored = await scalar(
        hooked,
        "SELECT count(*) FROM messages WHERE account_id = :a AND direction = 'outbound'",
        a=account.account_id,
    )
    assert stored == 0

    to = str(next(_recipients))
    status, message = await send(hooked, account, shipping_send(), to)
    assert status == 200, message
    assert message["status"] == "sent"
    named = {"type": "body", "parameters": [{"type": "text", "parameter_name": "first_name", "text": "Ann"}]}
    status, message = await send(
        hooked, account, {"name": "spring_sale", "language": {"code": "en"}, "components": [named]}, to
    )
    assert status == 200, message


async def test_a_status_update_webhook_applies_at_once(hooked: Running) -> None:
    account = await account_with_templates(hooked, "Templates paused")
    url = f"{hooked.simulator}/_sim/templates/{account.waba_id}/shipping_update/en_US"
    async with hooked.http.patch(url, json={"status": "PAUSED", "reason": "NONE"}) as response:
        assert response.status == 200
        assert (await response.json())["webhook_status"] == 200

    async def paused() -> Any:
        status, body = await send(hooked, account, shipping_send(), str(next(_recipients)))
        return body if status == 422 else None

    refusal = await eventually(paused)
    assert refusal and refusal["error"]["code"] == "template_not_approved"
    assert "PAUSED" in refusal["error"]["message"]
    listed = (await templates(hooked, account, name="shipping_update"))[1]["templates"]
    assert [t["status"] for t in listed] == ["PAUSED"]

    async with hooked.http.patch(url, json={"status": "APPROVED"}) as response:
        assert (await response.json())["webhook_status"] == 200

    async def approved() -> Any:
        status, _ = await send(hooked, account, shipping_send(), str(next(_recipients)))
        return status == 200

    assert await eventually(approved)


async def test_a_template_webhook_is_verified_and_scoped_to_its_waba(hooked: Running) -> None:
    account = await account_with_templates(hooked, "Templates scoped")
    other = await account_with_templates(hooked, "Templates other")
    template_id = (await templates(hooked, other, name="shipping_update"))[1]["templates"][0]["whatsapp_id"]
    change = {
        "event": "DISABLED",
        "message_template_id": int(template_id),
        "message_template_name": "shipping_update",
        "message_template_language": "en_US",
        "reason": "NONE",
    }
    # WhatsApp disables it (no webhook yet): a listing now says so too.
    await add_template(hooked, other, {**SHIPPING, "status": "DISABLED"})
    # The other account's WABA, signed with this account's secret or not at all: refused.
    body = orjson.dumps(
        {
            "object": "whatsapp_business_account",
            "entry": [
                {
                    "id": other.waba_id,
                    "changes": [{"field": "message_template_status_update", "value": change}],
                }
            ],
        }
    )
    headers = {"X-Hub-Signature-256": sign(body, account.app_secret), "Content-Type": "application/json"}
    async with hooked.http.post(
        f"{hooked.gateway}/webhooks/whatsapp", data=body, headers=headers
    ) as response:
        assert response.status == 401
    unsigned = {"X-Hub-Signature-256": "sha256=" + "0" * 64, "Content-Type": "application/json"}
    async with hooked.http.post(
        f"{hooked.gateway}/webhooks/whatsapp", data=body, headers=unsigned
    ) as response:
        assert response.status == 401
    listed = (await templates(hooked, other, name="shipping_update"))[1]["templates"]
    assert [t["status"] for t in listed] == ["APPROVED"]

    # Signed by its WABA's app: applied before the answer.
    headers = {"X-Hub-Signature-256": sign(body, other.app_secret), "Content-Type": "application/json"}
    async with hooked.http.post(
        f"{hooked.gateway}/webhooks/whatsapp", data=body, headers=headers
    ) as response:
        assert response.status == 200
    listed = (await templates(hooked, other, name="shipping_update"))[1]["templates"]
    assert [t["status"] for t in listed] == ["DISABLED"]
    outcome = await scalar(hooked, "SELECT outcome::text FROM webhook_notifications WHERE body = :b", b=body)
    assert orjson.loads(outcome) == {"template_changes": 1, "template_accounts": 1}
    mine = (await templates(hooked, account, name="shipping_update"))[1]["templates"]
    assert [t["status"] for t in mine] == ["APPROVED"]


def preference(account: SeededAccount, wa_id: str, value: str, at: int) -> dict[str, Any]:
    """Meta's `user_preferences` webhook: the customer stopped or resumed marketing messages."""
    choice = {
        "wa_id": wa_id,
        "detail": f"User requested to {value} marketing messages",
        "category": "marketing_messages",
        "value": value,
        "timestamp": at,
    }
    payload = envelope(account, {"user_preferences": [choice]})
    payload["entry"][0]["changes"][0]["field"] = "user_preferences"
    return payload


async def test_a_marketing_template_to_a_contact_who_opted_out_is_refused(hooked: Running) -> None:
    account = await account_with_templates(hooked, "Templates opt-out")
    wa_id = account.contact_wa_ids[0]
    promo = {"name": "spring_sale", "language": {"code": "en"}}
    named = [
        {"type": "body", "parameters": [{"type": "text", "parameter_name": "first_name", "text": "Ann"}]}
    ]
    now = int(time.time())
    assert await post_signed(hooked, account, preference(account, wa_id, "stop", now)) == 200
    for path in ("send", "send-async"):
        status, body = await send(hooked, account, {**promo, "components": named}, wa_id, path)
        assert (status, body["error"]["code"]) == (422, "marketing_opted_out"), body
    assert await hooked.simulator_requests(to=wa_id) == []
    # A utility template still goes; so does marketing to another contact.
    status, _ = await send(hooked, account, shipping_send(), wa_id)
    assert status == 200
    status, _ = await send(hooked, account, {**promo, "components": named}, str(next(_recipients)))
    assert status == 200

    assert await post_signed(hooked, account, preference(account, wa_id, "resume", now + 1)) == 200
    status, body = await send(hooked, account, {**promo, "components": named}, wa_id)
    assert status == 200, body
