"""Outbound webhooks end to end: an account's endpoints over HTTP, and its events delivered to
a real receiver process, signed so that the stock `standardwebhooks` library verifies them."""

import asyncio
import itertools
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


async def endpoint_state(running: Running, account: SeededAccount, endpoint_id: str) -> dict[str, Any]:
    status, endpoint = await call(running, account, "GET", f"/webhook-endpoints/{endpoint_id}")
    assert status == 200, endpoint
    return endpoint  # type: ignore[no-any-return]


async def deliveries(
    running: Running, account: SeededAccount, endpoint_id: str, query: str = ""
) -> list[dict[str, Any]]:
    status, page = await call(running, account, "GET", f"/webhook-endpoints/{endpoint_id}/deliveries{query}")
    assert status == 200, page
    return page["deliveries"]  # type: ignore[no-any-return]


async def test_endpoints_are_managed_and_scoped_to_the_account(running: Running, receiver: Receiver) -> None:
    account = await new_account(running, "Hooks managed")
    other = await new_account(running, "Hooks other")
    endpoint = await create_endpoint(running, account, receiver.url("/m"), ["message.sent"])
    path = f"/webhook-endpoints/{endpoint['id']}"

    status, listed = await call(running, account, "GET", "/webhook-endpoints")
    assert status == 200 and [e["id"] for e in listed["webhook_endpoints"]] == [endpoint["id"]]
    assert "secret" not in listed["webhook_endpoints"][0]
    # Another account sees none of it.
    status, listed = await call(running, other, "GET", "/webhook-endpoints")
    assert status == 200 and listed["webhook_endpoints"] == []
    for method, suffix, body in (
        ("GET", "", None),
        ("PATCH", "", {"enabled": False}),
        ("POST", "/rotate-secret", None),
        ("POST", "/replay", {"since_event_id": 0}),
        ("POST", "/test", None),
        ("GET", "/deliveries", None),
        ("DELETE", "", None),
    ):
        status, error = await call(running, other, method, path + suffix, body)
        assert status == 404, (method, suffix, error)
        assert error["error"]["code"] == "not_found"

    status, changed = await call(
        running,
        account,
        "PATCH",
        path,
        {"events": ["message.*", "conversation.updated"], "description": "crm"},
    )
    assert status == 200
    assert changed["events"] == ["message.*", "conversation.updated"] and changed["description"] == "crm"
    status, changed = await call(running, account, "PATCH", path, {"enabled": False})
    assert status == 200 and changed["enabled"] is False and changed["disabled_reason"] == "by_request"
    status, changed = await call(running, account, "PATCH", path, {"enabled": True})
    assert status == 200 and changed["enabled"] is True and changed["disabled_reason"] is None

    status, _ = await call(running, account, "DELETE", path)
    assert status == 204
    status, _ = await call(running, account, "GET", path)
    assert status == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"events": ["*"]}, "url"),
        ({"url": "http://127.0.0.1/x"}, "events"),
        ({"url": 5, "events": ["*"]}, "url"),
        ({"url": "http://127.0.0.1/x", "events": []}, "events"),
        ({"url": "http://127.0.0.1/x", "events": "*"}, "events"),
        ({"url": "http://127.0.0.1/x", "events": ["*"], "secret": "mine"}, "secret"),
        ({"url": "http://127.0.0.1/x", "events": ["*"], "description": "d" * 257}, "description"),
    ],
)
async def test_a_malformed_endpoint_is_400(running: Running, body: dict[str, Any], field: str) -> None:
    status, error = await call(running, running.acme, "POST", "/webhook-endpoints", body)
    assert status == 400, error
    assert error["error"]["details"]["field"] == field


@pytest.mark.parametrize(
    "body",
    [
        {"url": "ftp://example.com/x", "events": ["*"]},
        {"url": "http://user:pw@example.com/x", "events": ["*"]},
        {"url": "http:///nohost", "events": ["*"]},
        {"url": "http://127.0.0.1/x", "events": ["message.nope"]},
        {"url": "http://127.0.0.1/x", "events": ["nope.*"]},
    ],
)
async def test_a_url_or_pattern_conversations_refuses_is_400(running: Running, body: dict[str, Any]) -> None:
    status, error = await call(running, running.acme, "POST", "/webhook-endpoints", body)
    assert status == 400, error
    assert error["error"]["code"] == "invalid_request"


async def test_410_gone_disables_the_endpoint_and_an_event_says_so(
    running: Running, receiver: Receiver
) -> None:
    account = await new_account(running, "Hooks gone")
    await receiver.behave("/gone", status=410)
    gone = await create_endpoint(running, account, receiver.url("/gone"), ["message.*"])
    watcher = await create_endpoint(running, account, receiver.url("/watch"), ["webhook_endpoint.disabled"])
    await send_text(running, account, account.contact_wa_ids[0], "to a gone endpoint")

    disabled = await until(lambda: receiver.received("/watch"))
    event = verified(watcher["secret"], disabled[0])
    assert event["type"] == "webhook_endpoint.disabled"
    assert event["data"]["id"] == gone["id"] and event["data"]["disabled_reason"] == "gone"
    state = await endpoint_state(running, account, gone["id"])
    assert state["enabled"] is False and state["disabled_reason"] == "gone"
    assert len(await receiver.received("/gone")) == 1
    (attempt,) = await deliveries(running, account, gone["id"], "?status=failed")
    assert attempt["http_status"] == 410 and attempt["succeeded"] is False
    assert await deliveries(running, account, gone["id"], "?status=succeeded") == []


async def test_failures_are_retried_with_backoff_until_the_receiver_answers(
    running: Running, receiver: Receiver
) -> None:
    account = await new_account(running, "Hooks retried")
    await receiver.behave("/flaky", status=503, retry_after="1")
    endpoint = await create_endpoint(running, account, receiver.url("/flaky"), ["message.*"])
    await send_text(running, account, account.contact_wa_ids[0], "retried")

    await until(lambda: _at_least(receiver.received("/flaky"), 2))
    failing = await endpoint_state(running, account, endpoint["id"])
    assert failing["failures"] >= 1 and failing["failing_since"] is not None
    await receiver.behave("/flaky", status=200)
    records = await until(lambda: _answered(receiver, "/flaky", running, account, endpoint["id"]))
    # Every attempt was the same event under the same webhook-id, a second or more apart.
    assert len({r["headers"]["webhook-id"] for r in records}) == 1
    times = [r["received_at"] for r in records]
    assert all(b - a >= 0.9 for a, b in itertools.pairwise(times))
    state = await endpoint_state(running, account, endpoint["id"])
    assert state["failures"] == 0 and state["failing_since"] is None and state["enabled"] is True


async def _at_least(records: Awaitable[list[dict[str, Any]]], count: int) -> bool:
    return len(await records) >= count


async def _answered(
    receiver: Receiver, path: str, running: Running, account: SeededAccount, endpoint_id: str
) -> list[dict[str, Any]] | None:
    if not await deliveries(running, account, endpoint_id, "?status=succeeded"):
        return None
    return await receiver.received(path)


async def test_a_slow_receiver_times_out_and_a_redirect_is_not_followed(
    running: Running, receiver: Receiver
) -> None:
    account = await new_account(running, "Hooks slow")
    await receiver.behave("/slow", delay_ms=5000)
    await receiver.behave("/moved", status=302, location=receiver.url("/target"))
    slow = await create_endpoint(running, account, receiver.url("/slow"), ["message.*"])
    moved = await create_endpoint(running, account, receiver.url("/moved"), ["message.*"])
    await send_text(running, account, account.contact_wa_ids[0], "slow or moved")

    timed_out = await until(lambda: deliveries(running, account, slow["id"], "?status=failed"))
    assert timed_out[0]["error"].startswith("timeout") and timed_out[0]["http_status"] is None
    redirected = await until(lambda: deliveries(running, account, moved["id"], "?status=failed"))
    assert redirected[0]["http_status"] == 302 and "redirect" in redirected[0]["error"]
    assert await receiver.received("/target") == []


async def test_replay_delivers_again_everything_after_an_event(running: Running, receiver: Receiver) -> None:
    account = await new_account(running, "Hooks replayed")
    endpoint = await create_endpoint(running, account, receiver.url("/r"), ["message.*"])
    for text in ("one", "two", "three"):
        await send_text(running, account, account.contact_wa_ids[0], text)
    first = await until(lambda: _at_least_records(receiver, "/r", 3))
    first_id = int(first[0]["headers"]["webhook-id"].rsplit("_", 1)[1])

    status, replayed = await call(
        running, account, "POST", f"/webhook-endpoints/{endpoint['id']}/replay", {"since_event_id": first_id}
    )
    assert status == 202 and replayed["last_event_id"] == first_id
    again = await until(lambda: _at_least_records(receiver, "/r", 5))
    assert [r["headers"]["webhook-id"] for r in again[3:]] == [r["headers"]["webhook-id"] for r in first[1:3]]
    assert [r["body"] for r in again[3:]] == [r["body"] for r in first[1:3]]
    status, error = await call(
        running, account, "POST", f"/webhook-endpoints/{endpoint['id']}/replay", {"since_event_id": -1}
    )
    assert status == 400 and error["error"]["details"]["field"] == "since_event_id"


async def _at_least_records(receiver: Receiver, path: str, count: int) -> list[dict[str, Any]] | None:
    records = await receiver.received(path)
    return records if len(records) >= count else None


async def test_rotation_signs_with_both_secrets_during_the_grace_period(
    running: Running, receiver: Receiver
) -> None:
    account = await new_account(running, "Hooks rotated")
    endpoint = await create_endpoint(running, account, receiver.url("/rot"), ["message.*"])
    status, rotated = await call(
        running, account, "POST", f"/webhook-endpoints/{endpoint['id']}/rotate-secret"
    )
    assert status == 200 and rotated["secret"] != endpoint["secret"]
    await send_text(running, account, account.contact_wa_ids[0], "rotated")

    (record,) = await until(lambda: receiver.received("/rot"))
    assert len(record["headers"]["webhook-signature"].split(" ")) == 2
    for secret in (endpoint["secret"], rotated["secret"]):
        assert verified(secret, record)["type"] == "message.sent"


async def test_the_test_call_sends_a_signed_ping(running: Running, receiver: Receiver) -> None:
    account = await new_account(running, "Hooks pinged")
    endpoint = await create_endpoint(running, account, receiver.url("/ping"))
    status, attempt = await call(running, account, "POST", f"/webhook-endpoints/{endpoint['id']}/test")
    assert status == 200 and attempt["succeeded"] is True and attempt["http_status"] == 204
    (record,) = await receiver.received("/ping")
    event = verified(endpoint["secret"], record)
    assert event["type"] == "ping" and event["data"] == {"endpoint_id": endpoint["id"]}
    (logged,) = await deliveries(running, account, endpoint["id"])
    assert logged["webhook_id"] == record["headers"]["webhook-id"] and logged["event_id"] is None
