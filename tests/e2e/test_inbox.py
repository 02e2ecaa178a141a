"""The team inbox over HTTP, end to end: PATCH with If-Match (412 on a stale version), labels,
internal notes that never reach WhatsApp (the simulator), GET /conversations' inbox filters page
by page, a customer's message reopening a resolved conversation, and a snooze reopened by the
conversations service when its time comes; each change a conversation.updated with `changes`."""

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import orjson
import pytest
from sqlalchemy import text

from tests.e2e.test_read_receipts import auth, customer_writes
from tests.e2e.test_service_window import listed
from tests.e2e.test_webhooks import hooked, new_account
from tests.fixtures.stack import Running
from tools.seed import SeededAccount

__all__ = ["hooked"]


async def patch(
    running: Running, account: SeededAccount, conversation_id: str, body: Any, if_match: str | None = None
) -> tuple[int, Any, str | None]:
    headers = auth(account) | ({"If-Match": if_match} if if_match is not None else {})
    async with running.http.patch(
        f"{running.gateway}/conversations/{conversation_id}", data=orjson.dumps(body), headers=headers
    ) as response:
        return response.status, await response.json(), response.headers.get("ETag")


async def get(running: Running, account: SeededAccount, conversation_id: str) -> tuple[Any, str | None]:
    async with running.http.get(
        f"{running.gateway}/conversations/{conversation_id}", headers=auth(account)
    ) as response:
        assert response.status == 200
        return await response.json(), response.headers.get("ETag")


async def label(
    running: Running, account: SeededAccount, conversation_id: str, name: str, method: str = "PUT"
) -> tuple[int, Any]:
    url = f"{running.gateway}/conversations/{conversation_id}/labels/{quote(name, safe='')}"
    async with running.http.request(method, url, headers=auth(account)) as response:
        return response.status, await response.json()


async def changes_of(running: Running, conversation_id: str) -> list[dict[str, Any]]:
    """The `changes` of the conversation's conversation.updated events that have them."""
    async with running.engine.connect() as connection:
        rows = await connection.execute(
            text(
                "SELECT data->'changes' FROM events WHERE conversation_id = :id "
                "AND type = 'conversation.updated' AND data ? 'changes' ORDER BY id"
            ),
            {"id": conversation_id},
        )
        return [row[0] for row in rows]


async def test_patch_with_if_match_and_a_stale_version(hooked: Running) -> None:
    account = await new_account(hooked, "Inbox patch")
    [conversation_id] = account.conversation_ids
    read, etag = await get(hooked, account, conversation_id)
    assert (read["status"], read["assignee"], read["labels"]) == ("open", None, [])
    assert etag == f'"{read["version"]}"'

    status, changed, new_etag = await patch(
        hooked, account, conversation_id, {"status": "resolved", "assignee": "agent-7"}, etag
    )
    assert status == 200, changed
    assert (changed["status"], changed["assignee"], changed["version"]) == (
        "resolved",
        "agent-7",
        read["version"] + 1,
    )
    assert new_etag == f'"{changed["version"]}"'

    status, error, _ = await patch(hooked, account, conversation_id, {"status": "open"}, etag)
    assert status == 412
    assert error["error"]["code"] == "precondition_failed"
    assert (await get(hooked, account, conversation_id))[0]["status"] == "resolved"
    assert await changes_of(hooked, conversation_id) == [
        {"status": {"from": "open", "to": "resolved"}, "assignee": {"from": None, "to": "agent-7"}}
    ]


@pytest.mark.parametrize(
    ("body", "if_match", "field"),
    [
        ({"status": "closed"}, None, "status"),
        ({"status": "snoozed"}, None, None),  # no snoozed_until: the service's 400
        ({"snoozed_until": "2099-01-01T00:00:00Z"}, None, None),
        ({"version": 3}, None, "version"),
        ({"status": "open"}, "3", "If-Match"),
    ],
)
async def test_a_bad_patch_is_a_400(
    hooked: Running, body: Any, if_match: str | None, field: str | None
) -> None:
    [conversation_id] = hooked.acme.conversation_ids[:1]
    status, error, _ = await patch(hooked, hooked.acme, conversation_id, body, if_match)
    assert status == 400, error
    if field is not None:
        assert error["error"]["details"] == {"field": field}


async def test_labels_are_put_and_taken_off(hooked: Running) -> None:
    account = await new_account(hooked, "Inbox labels")
    [conversation_id] = account.conversation_ids
    assert (await label(hooked, account, conversation_id, "vip"))[1]["labels"] == ["vip"]
    status, shown = await label(hooked, account, conversation_id, "billing")
    assert (status, shown["labels"]) == (200, ["billing", "vip"])
    again = await label(hooked, account, conversation_id, "vip")
    assert again[1]["version"] == shown["version"]  # already there: nothing changed
    status, shown = await label(hooked, account, conversation_id, "vip", "DELETE")
    assert (status, shown["labels"]) == (200, ["billing"])
    status, error = await label(hooked, account, conversation_id, "not ok")
    assert (status, error["error"]["details"]) == (400, {"field": "label"})
    assert [c["labels"] for c in await changes_of(hooked, conversation_id)] == [
        {"from": [], "to": ["vip"]},
        {"from": ["vip"], "to": ["billing", "vip"]},
        {"from": ["billing", "vip"], "to": ["billing"]},
    ]


async def test_notes_are_kept_and_never_sent_to_whatsapp(hooked: Running) -> None:
    account = await new_account(hooked, "Inbox notes")
    [conversation_id] = account.conversation_ids
    url = f"{hooked.gateway}/conversations/{conversation_id}/notes"
    secret = "note-only-for-the-team-7f3a"
    for body in (f"{secret} one", f"{secret} two"):
        async with hooked.http.post(
            url, json={"body": body, "author": "agent-7"}, headers=auth(account)
        ) as response:
            assert response.status == 201, await response.text()
            note = await response.json()
            assert (note["conversation_id"], note["author"], note["body"]) == (
                conversation_id,
                "agent-7",
                body,
            )
    async with hooked.http.post(url, json={"body": ""}, headers=auth(account)) as response:
        assert response.status == 400
        assert (await response.json())["error"]["details"] == {"field": "body"}

    async with hooked.http.get(f"{url}?page_size=1", headers=auth(account)) as response:
        first = await response.json()
    async with hooked.http.get(
        f"{url}?page_size=1&page_token={first['next_page_token']}", headers=auth(account)
    ) as response:
        second = await response.json()
    assert [n["body"] for n in first["notes"] + second["notes"]] == [f"{secret} two", f"{secret} one"]

    async with hooked.http.get(f"{hooked.simulator}/_sim/requests") as response:
        seen = await response.text()
    assert secret not in seen


async def test_an_inbound_message_reopens_a_resolved_conversation(hooked: Running) -> None:
    account = await new_account(hooked, "Inbox reopen")
    conversation_id = await customer_writes(hooked, account, "15550309001")
    status, resolved, _ = await patch(hooked, account, conversation_id, {"status": "resolved"})
    assert (status, resolved["status"]) == (200, "resolved")

    await customer_writes(hooked, account, "15550309001")

    shown, _ = await get(hooked, account, conversation_id)
    assert shown["status"] == "open"
    assert shown["version"] > resolved["version"]
    assert (await changes_of(hooked, conversation_id))[-1] == {"status": {"from": "resolved", "to": "open"}}


async def test_a_snooze_ends_when_its_time_comes(hooked: Running) -> None:
    account = await new_account(hooked, "Inbox snooze")
    [conversation_id] = account.conversation_ids
    until = (datetime.now(UTC) + timedelta(seconds=2)).isoformat().replace("+00:00", "Z")
    status, snoozed, _ = await patch(
        hooked, account, conversation_id, {"status": "snoozed", "snoozed_until": until}
    )
    assert (status, snoozed["status"]) == (200, "snoozed"), snoozed
    assert snoozed["snoozed_until"] is not None

    for _ in range(50):
        await asyncio.sleep(0.2)
        if len(await changes_of(hooked, conversation_id)) == 2:
            break
    shown, _ = await get(hooked, account, conversation_id)
    assert (shown["status"], shown["snoozed_until"]) == ("open", None)
    reopened = (await changes_of(hooked, conversation_id))[-1]
    assert reopened["status"] == {"from": "snoozed", "to": "open"}


async def test_the_inbox_filters_page_by_page(hooked: Running) -> None:
    account = await new_account(hooked, "Inbox filters")
    [seeded] = account.conversation_ids
    ada = await customer_writes(hooked, account, "15550309101")
    bob = await customer_writes(hooked, account, "15550309102")
    cy = await customer_writes(hooked, account, "15550309103")
    await patch(hooked, account, ada, {"status": "pending", "assignee": "agent-7"})
    await patch(hooked, account, bob, {"assignee": "agent-7"})
    await label(hooked, account, bob, "vip")
    await label(hooked, account, seeded, "vip")
    async with hooked.http.post(
        f"{hooked.gateway}/conversations/{cy}/read", headers=auth(account)
    ) as response:
        assert response.status == 200

    def ids(found: list[dict[str, Any]]) -> set[str]:
        return {c["id"] for c in found}

    assert ids(await listed(hooked, account, "status=pending")) == {ada}
    assert ids(await listed(hooked, account, "status=open")) == {seeded, bob, cy}
    assert ids(await listed(hooked, account, "assignee=agent-7")) == {ada, bob}
    assert ids(await listed(hooked, account, "unassigned=true")) == {seeded, cy}
    assert ids(await listed(hooked, account, "label=vip")) == {seeded, bob}
    assert ids(await listed(hooked, account, "label=vip&assignee=agent-7")) == {bob}
    assert ids(await listed(hooked, account, "unread=true")) == {seeded, ada, bob}
    assert ids(await listed(hooked, account, "q=%2B1555030910")) == set()  # a phone number matches whole
    assert ids(await listed(hooked, account, "q=%2B15550309102")) == {bob}
    async with hooked.http.get(
        f"{hooked.gateway}/conversations?status=closed", headers=auth(account)
    ) as response:
        assert response.status == 400
        assert (await response.json())["error"]["details"] == {"field": "status"}
