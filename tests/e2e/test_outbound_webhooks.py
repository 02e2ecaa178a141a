"""Outbound webhooks end to end: an account's endpoints over HTTP, and its events delivered to
a real receiver process, signed so that the stock `standardwebhooks` library verifies them."""

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from tests.e2e.test_webhooks import new_account
from tests.fixtures.receiver import Receiver
from tests.fixtures.stack import Running
from tools.seed import SeededAccount


def auth(account: SeededAccount) -> dict[str, str]:
    return {"Authorization": f"Bearer {account.api_key}"}


async def call(
    running: Running, account: SeededAccount, method: str, path: str, body: Any = None
) -> tuple[int, Any]:
    async with running.http.request(
        method, f"{running.gateway}{path}", json=body, headers=auth(account)
    ) as response:
        return response.status, (await response.json() if response.status != 204 else None)


async def create_endpoint(
    running: Running, account: SeededAccount, url: str, events: list[str] | None = None
) -> dict[str, Any]:
    status, endpoint = await call(
        running, account, "POST", "/webhook-endpoints", {"url": url, "events": events or ["*"]}
    )
    assert status == 201, endpoint
    return endpoint  # type: ignore[no-any-return]


async def send_text(running: Running, account: SeededAccount, to: str, text: str) -> dict[str, Any]:
    status, message = await call(
        running, account, "POST", "/messages/send", {"to": to, "type": "text", "text": {"body": text}}
    )
    assert status == 200, message
    return message  # type: ignore[no-any-return]


async def until(check: Callable[[], Awaitable[Any]], timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        await asyncio.sleep(0.1)


def verified(secret: str, record: dict[str, Any]) -> Any:
    return Webhook(secret).verify(record["body"].encode(), record["headers"])


async def test_events_reach_the_endpoint_signed_in_the_websocket_shape(
    running: Running, receiver: Receiver
) -> None:
    account = await new_account(running, "Hooks delivered")
    endpoint = await create_endpoint(running, account, receiver.url("/a"), ["message.*"])
    assert endpoint["secret"].startswith("whsec_")
    assert endpoint["enabled"] is True
    message = await send_text(running, account, account.contact_wa_ids[0], "hello")

    records = await until(lambda: receiver.received("/a"))
    (record,) = records
    event = verified(endpoint["secret"], record)
    assert event["type"] == "message.sent"
    assert event["data"]["id"] == message["id"]
    assert event["data"]["status"] == "sent"
    assert (
        record["headers"]["webhook-id"]
        == f"msg_{endpoint['id'].replace('-', '')}_{endpoint['last_event_id'] + 1}"
    )
    # Any other secret fails.
    other = await create_endpoint(running, account, receiver.url("/other"))
    with pytest.raises(WebhookVerificationError):
        verified(other["secret"], record)

    status, deliveries = await call(
        running, account, "GET", f"/webhook-endpoints/{endpoint['id']}/deliveries"
    )
    assert status == 200
    (attempt,) = deliveries["deliveries"]
    assert attempt["succeeded"] is True and attempt["http_status"] == 204
    assert attempt["event_type"] == "message.sent"
    status, got = await call(running, account, "GET", f"/webhook-endpoints/{endpoint['id']}")
    assert status == 200 and "secret" not in got
    assert got["last_event_id"] >= endpoint["last_event_id"] + 1
