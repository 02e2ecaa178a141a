"""POST /conversations/{id}/read, end to end: read in pigeon, then the customer's last message
marked read on WhatsApp (the simulator), with the typing indicator when asked; WhatsApp refusing
it leaves pigeon's read standing and says so on the conversation."""

from typing import Any

import orjson

from tests.e2e.test_webhooks import envelope, hooked, inbound_value, new_account, post_signed
from tests.fixtures.stack import Running
from tools.seed import SeededAccount

__all__ = ["hooked"]


def auth(account: SeededAccount) -> dict[str, str]:
    return {"Authorization": f"Bearer {account.api_key}"}


async def customer_writes(running: Running, account: SeededAccount, sender: str) -> str:
    """A customer's message through the simulator (which knows its wamid); the conversation."""
    body = {
        "phone_number_id": account.phone_number_id,
        "from": sender,
        "message": {"type": "text", "text": {"body": "hi"}},
    }
    async with running.http.post(f"{running.simulator}/_sim/inbound", json=body) as response:
        assert response.status == 200
    return await conversation_of(running, account, sender)


async def conversation_of(running: Running, account: SeededAccount, sender: str) -> str:
    async with running.http.get(f"{running.gateway}/conversations", headers=auth(account)) as response:
        conversations = (await response.json())["conversations"]
    return str(next(c["id"] for c in conversations if c["contact"]["wa_id"] == sender))


async def read(running: Running, account: SeededAccount, conversation_id: str, body: Any = None) -> Any:
    url = f"{running.gateway}/conversations/{conversation_id}/read"
    data = orjson.dumps(body) if body is not None else b""
    async with running.http.post(url, data=data, headers=auth(account)) as response:
        return response.status, await response.json()


async def receipts_sent(running: Running, account: SeededAccount) -> list[dict[str, Any]]:
    """The read receipts the simulator got from this account's number."""
    async with running.http.get(f"{running.simulator}/_sim/requests") as response:
        requests = (await response.json())["requests"]
    return [
        r["body"]
        for r in requests
        if r["phone_number_id"] == account.phone_number_id
        and isinstance(r["body"], dict)
        and "status" in r["body"]
    ]


async def test_the_last_message_is_marked_read_on_whatsapp_with_typing(hooked: Running) -> None:
    account = await new_account(hooked, "Receipts")
    conversation_id = await customer_writes(hooked, account, "15550004001")
    async with hooked.http.get(
        f"{hooked.gateway}/conversations/{conversation_id}/messages", headers=auth(account)
    ) as response:
        wamid = (await response.json())["messages"][0]["wa_message_id"]
    status, conversation = await read(hooked, account, conversation_id, {"typing": True})
    assert status == 200, conversation
    assert conversation["unread_count"] == 0
    receipt = conversation["read_receipt"]
    assert (receipt["message_id"], receipt["status"], receipt["error"]) == (wamid, "sent", None)
    assert await receipts_sent(hooked, account) == [
        {
            "messaging_product": "whatsapp",
            "status": "read",
            "message_id": wamid,
            "typing_indicator": {"type": "text"},
        }
    ]
    status, _ = await read(hooked, account, conversation_id)
    assert status == 200 and "typing_indicator" not in (await receipts_sent(hooked, account))[-1]
    async with hooked.http.get(
        f"{hooked.gateway}/conversations/{conversation_id}", headers=auth(account)
    ) as response:
        assert (await response.json())["read_receipt"]["status"] == "sent"


async def test_whatsapp_refusing_the_receipt_leaves_the_read_standing(hooked: Running) -> None:
    account = await new_account(hooked, "Refused receipt")
    # A message the simulator never sent (a raw signed webhook): WhatsApp answers 100.
    sender = "15550004002"
    payload = envelope(account, inbound_value(sender, "Ann", {"type": "text", "text": {"body": "hi"}}))
    assert await post_signed(hooked, account, payload) == 200
    conversation_id = await conversation_of(hooked, account, sender)
    status, conversation = await read(hooked, account, conversation_id)
    assert status == 200, conversation
    assert conversation["unread_count"] == 0
    receipt = conversation["read_receipt"]
    assert receipt["status"] == "failed" and receipt["error"]["code"] == "100"


async def test_a_conversation_nobody_wrote_in_sends_no_receipt(hooked: Running) -> None:
    account = await new_account(hooked, "Quiet")
    async with hooked.http.post(
        f"{hooked.gateway}/messages/send",
        json={
            "to": "15550004003",
            "type": "template",
            "template": {"name": "hello_world", "language": {"code": "en_US"}},
        },
        headers=auth(account),
    ) as response:
        conversation_id = (await response.json())["conversation_id"]
    status, conversation = await read(hooked, account, conversation_id)
    assert status == 200 and conversation["read_receipt"] is None
    assert await receipts_sent(hooked, account) == []


async def test_a_bad_typing_value_is_400(hooked: Running) -> None:
    account = await new_account(hooked, "Typist")
    conversation_id = await customer_writes(hooked, account, "15550004004")
    status, body = await read(hooked, account, conversation_id, {"typing": "yes"})
    assert status == 400 and body["error"]["details"] == {"field": "typing"}
