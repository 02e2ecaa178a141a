"""GET /messages/search end to end: messages sent through the gateway and a customer's reply
through the simulator's webhook are found by their words, newest first, page by page, narrowed
to a conversation or a time range; another account's messages are never found; bad parameters
are a 400 naming the parameter."""

import asyncio
import secrets
from typing import Any
from urllib.parse import urlencode

import orjson
import pytest

from tests.e2e.test_read_receipts import auth
from tests.e2e.test_webhooks import hooked, new_account
from tests.fixtures.stack import Running
from tools.seed import SeededAccount

__all__ = ["hooked"]


async def searched(running: Running, account: SeededAccount, **params: str) -> list[dict[str, Any]]:
    """Every page of GET /messages/search?<params>, one message a page."""
    found: list[dict[str, Any]] = []
    token = ""
    while True:
        query = {"page_size": "1", **params} | ({"page_token": token} if token else {})
        url = f"{running.gateway}/messages/search?{urlencode(query)}"
        async with running.http.get(url, headers=auth(account)) as response:
            assert response.status == 200, await response.text()
            page = await response.json()
        found += page["messages"]
        token = page["next_page_token"]
        if not token:
            return found


async def send(running: Running, account: SeededAccount, text: str) -> dict[str, Any]:
    body = {"conversation_id": account.conversation_ids[0], "type": "text", "text": {"body": text}}
    async with running.http.post(
        f"{running.gateway}/messages/send", data=orjson.dumps(body), headers=auth(account)
    ) as response:
        assert response.status == 200, await response.text()
        return await response.json()  # type: ignore[no-any-return]


async def customer_writes(running: Running, account: SeededAccount, text: str) -> None:
    body = {
        "phone_number_id": account.phone_number_id,
        "from": account.contact_wa_ids[0],
        "message": {"type": "text", "text": {"body": text}},
    }
    async with running.http.post(f"{running.simulator}/_sim/inbound", json=body) as response:
        assert response.status == 200


async def test_an_accounts_messages_are_found_and_no_other_accounts(hooked: Running) -> None:
    account = await new_account(hooked, "Search A")
    other = await new_account(hooked, "Search B")
    word = f"zephyr{secrets.token_hex(4)}"
    await customer_writes(hooked, account, f"Where is my {word} ORDER?")
    for _ in range(100):  # the customer's message is applied in the background
        if await searched(hooked, account, q=word):
            break
        await asyncio.sleep(0.1)
    sent = await send(hooked, account, f"Your {word} order has shipped")
    theirs = await send(hooked, other, f"{word} order for another account")

    found = await searched(hooked, account, q=word)
    assert [m["direction"] for m in found] == ["outbound", "inbound"]
    assert found[0]["id"] == sent["id"]
    assert found[1]["conversation_id"] == account.conversation_ids[0]

    assert [m["id"] for m in await searched(hooked, account, q=f'"{word} order" shipped')] == [sent["id"]]
    assert [m["id"] for m in await searched(hooked, account, q=f"{word} -shipped")] == [found[1]["id"]]
    # (Ids: the statuses WhatsApp sends may change the messages in between.)
    since = await searched(hooked, account, q=word, since=found[0]["created_at"])
    assert [m["id"] for m in since] == [found[0]["id"]]
    until = await searched(hooked, account, q=word, until=found[0]["created_at"])
    assert [m["id"] for m in until] == [found[1]["id"]]
    # The other account's message, and its conversation, are never found from this account.
    assert await searched(hooked, account, q=word, conversation_id=other.conversation_ids[0]) == []
    assert [m["id"] for m in await searched(hooked, other, q=word)] == [theirs["id"]]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "q"),
        ({"q": ""}, "q"),
        ({"q": "x" * 201}, "q"),
        ({"q": "a", "conversation_id": "42"}, "conversation_id"),
        ({"q": "a", "since": "yesterday"}, "since"),
        ({"q": "a", "since": "2026-11-25T14:03:07Z", "until": "2026-11-25T14:00:00Z"}, "until"),
        ({"q": "a", "page_size": "0"}, "page_size"),
    ],
)
async def test_a_bad_search_is_a_400_naming_the_parameter(
    hooked: Running, params: dict[str, str], field: str
) -> None:
    url = f"{hooked.gateway}/messages/search?{urlencode(params)}"
    async with hooked.http.get(url, headers=auth(hooked.acme)) as response:
        assert response.status == 400
        assert (await response.json())["error"]["details"] == {"field": field}
