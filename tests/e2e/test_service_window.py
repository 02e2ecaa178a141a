"""The 24 h customer service window over HTTP, end to end: a customer's message through the
simulator opens it (window_expires_at = last_inbound_at + 24 h, can_send_free_form true), a
contact who only got a template has none, and GET /conversations filters on both, page by page;
a bad filter is a 400 naming its parameter."""

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import pytest

from tests.e2e.test_read_receipts import auth, customer_writes
from tests.e2e.test_webhooks import hooked, new_account
from tests.fixtures.stack import Running
from tools.seed import SeededAccount

__all__ = ["hooked"]

TEMPLATE = {"type": "template", "template": {"name": "order_update", "language": {"code": "en"}}}


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text)


def rfc_3339(at: datetime) -> str:
    """With a +hh:mm offset, so that the "+" must travel encoded."""
    return quote(at.astimezone(UTC).isoformat(), safe="")


async def listed(running: Running, account: SeededAccount, query: str) -> list[dict[str, Any]]:
    """Every page of GET /conversations?<query>, one conversation a page."""
    found: list[dict[str, Any]] = []
    token = ""
    while True:
        url = f"{running.gateway}/conversations?page_size=1&{query}" + (
            f"&page_token={token}" if token else ""
        )
        async with running.http.get(url, headers=auth(account)) as response:
            assert response.status == 200, await response.text()
            page = await response.json()
        found += page["conversations"]
        token = page["next_page_token"]
        if not token:
            return found


async def test_an_inbound_message_opens_the_window_and_lists_filter_on_it(hooked: Running) -> None:
    account = await new_account(hooked, "Windows")  # its seeded customer wrote 5 minutes ago
    [seeded] = account.conversation_ids
    async with hooked.http.post(
        f"{hooked.gateway}/messages/send", json={"to": "15550207001", **TEMPLATE}, headers=auth(account)
    ) as response:
        assert response.status == 200, await response.text()
        templated = (await response.json())["conversation_id"]
    before_writing = datetime.now(UTC)
    written = await customer_writes(hooked, account, "15550207002")

    every = {c["id"]: c for c in await listed(hooked, account, "")}
    assert set(every) == {seeded, templated, written}
    opened = every[written]
    assert opened["can_send_free_form"] is True
    assert moment(opened["window_expires_at"]) == moment(opened["last_inbound_at"]) + timedelta(hours=24)
    assert moment(opened["last_inbound_at"]) >= before_writing - timedelta(seconds=5)
    never = every[templated]
    assert (never["last_inbound_at"], never["window_expires_at"], never["can_send_free_form"]) == (
        None,
        None,
        False,
    )

    assert {c["id"] for c in await listed(hooked, account, "can_send_free_form=true")} == {seeded, written}
    assert [c["id"] for c in await listed(hooked, account, "can_send_free_form=false")] == [templated]
    now = datetime.now(UTC)
    # The window just opened closes in about 24 h; the seeded one 5 minutes sooner.
    soon = f"window_expires_after={rfc_3339(now + timedelta(hours=23, minutes=58))}"
    assert [c["id"] for c in await listed(hooked, account, soon)] == [written]
    closing = f"window_expires_before={rfc_3339(now + timedelta(hours=23, minutes=58))}"
    assert {c["id"] for c in await listed(hooked, account, closing)} == {seeded, templated}
    both = f"can_send_free_form=true&{closing}"
    assert [c["id"] for c in await listed(hooked, account, both)] == [seeded]

    # What the send path decides too: a free-form message to the contact without a window.
    async with hooked.http.post(
        f"{hooked.gateway}/messages/send",
        json={"conversation_id": templated, "type": "text", "text": {"body": "hi"}},
        headers=auth(account),
    ) as response:
        assert response.status == 422
        assert (await response.json())["error"]["code"] == "reengagement_required"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("can_send_free_form=yes", "can_send_free_form"),
        ("can_send_free_form=", "can_send_free_form"),
        ("window_expires_after=tomorrow", "window_expires_after"),
        ("window_expires_after=2026-11-25T14:03:07", "window_expires_after"),
        # An unencoded "+" reads as a space.
        ("window_expires_before=2026-11-25T14:03:07+05:30", "window_expires_before"),
        ("window_expires_before=9999-12-31T23:59:59-01:00", "window_expires_before"),
        (
            "window_expires_after=2026-11-25T14:03:07Z&window_expires_before=2026-11-25T14:03:07Z",
            "window_expires_before",
        ),
    ],
)
async def test_a_bad_window_filter_is_a_400_naming_its_parameter(
    hooked: Running, query: str, field: str
) -> None:
    async with hooked.http.get(
        f"{hooked.gateway}/conversations?{query}", headers=auth(hooked.acme)
    ) as response:
        assert response.status == 400
        error = (await response.json())["error"]
    assert (error["code"], error["details"]) == ("invalid_request", {"field": field})
