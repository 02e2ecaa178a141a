"""Customers known by business-scoped user id (BSUID) end to end, through the simulator: a
user whose phone number Meta withholds writes, is answered by BSUID (Meta's `recipient`,
never `to`), and the statuses of that answer, which name no phone number, move it; the
same user later named with a phone number stays one contact; opt-outs are kept."""

import time
from typing import Any

from tests.e2e.test_webhooks import envelope, eventually, hooked, new_account, post_signed, scalar
from tests.fixtures.stack import Running

__all__ = ["hooked"]

BSUID = "US.13491208655302741918"


async def inbound(running: Running, **fields: Any) -> dict[str, Any]:
    async with running.http.post(f"{running.simulator}/_sim/inbound", json=fields) as response:
        assert response.status == 200, await response.text()
        answer: dict[str, Any] = await response.json()
    assert answer["webhook_status"] == 200
    return answer


async def conversations(running: Running, api_key: str) -> list[dict[str, Any]]:
    headers = {"Authorization": f"Bearer {api_key}"}
    async with running.http.get(f"{running.gateway}/conversations", headers=headers) as response:
        assert response.status == 200
        found: list[dict[str, Any]] = (await response.json())["conversations"]
    return found


async def test_a_bsuid_only_user_writes_is_answered_by_bsuid_and_its_statuses_match(hooked: Running) -> None:
    account = await new_account(hooked, "Usernames")
    await inbound(
        hooked,
        phone_number_id=account.phone_number_id,
        user_id=BSUID,
        username="@pablomorales",
        profile_name="Pablo",
        message={"type": "text", "text": {"body": "hi, no number here"}},
    )
    [conversation] = [c for c in await conversations(hooked, account.api_key) if c["contact"]["user_id"]]
    assert conversation["contact"] == {
        "wa_id": None,
        "user_id": BSUID,
        "username": "@pablomorales",
        "name": "Pablo",
        "marketing_opt_out": False,
    }
    headers = {"Authorization": f"Bearer {account.api_key}"}
    since = time.time()
    async with hooked.http.post(
        f"{hooked.gateway}/messages/send",
        json={"conversation_id": conversation["id"], "type": "text", "text": {"body": "hello Pablo"}},
        headers=headers,
    ) as response:
        assert response.status == 200, await response.text()
        message = await response.json()
    assert message["status"] == "sent" and message["contact_wa_id"] is None
    async with hooked.http.get(
        f"{hooked.simulator}/_sim/requests", params={"to": BSUID, "since": str(since)}
    ) as response:
        [request] = (await response.json())["requests"]
    assert request["body"]["recipient"] == BSUID and "to" not in request["body"]

    async def read() -> bool:
        async with hooked.http.get(f"{hooked.gateway}/messages/{message['id']}", headers=headers) as response:
            return bool((await response.json())["status"] == "read")

    # The simulator's statuses for it carry recipient_user_id and no recipient_id, as Meta's.
    assert await eventually(read) is True
    pending = await scalar(
        hooked, "SELECT count(*) FROM pending_statuses WHERE account_id = :a", a=account.account_id
    )
    assert pending == 0


async def test_the_same_user_later_named_with_a_phone_number_stays_one_contact(hooked: Running) -> None:
    account = await new_account(hooked, "Both")
    user_id, phone = "BR.1502576394655843", "5511987650001"
    await inbound(
        hooked,
        phone_number_id=account.phone_number_id,
        user_id=user_id,
        message={"type": "text", "text": {"body": "first, by BSUID"}},
    )
    await inbound(
        hooked,
        phone_number_id=account.phone_number_id,
        user_id=user_id,
        **{"from": phone},
        message={"type": "text", "text": {"body": "then with my number"}},
    )
    mine = [c for c in await conversations(hooked, account.api_key) if c["contact"]["user_id"] == user_id]
    assert len(mine) == 1
    assert mine[0]["contact"]["wa_id"] == phone
    assert mine[0]["unread_count"] == 2


async def test_a_marketing_opt_out_is_kept_and_an_older_preference_ignored(hooked: Running) -> None:
    account = await new_account(hooked, "Prefs")
    user_id = "US.777000111"
    await inbound(
        hooked,
        phone_number_id=account.phone_number_id,
        user_id=user_id,
        message={"type": "text", "text": {"body": "hello"}},
    )
    now = int(time.time())

    def preference(value: str, at: int) -> dict[str, Any]:
        payload = envelope(
            account,
            {
                "user_preferences": [
                    {
                        "user_id": user_id,
                        "detail": f"User requested to {value} marketing messages",
                        "category": "marketing_messages",
                        "value": value,
                        "timestamp": at,
                    }
                ]
            },
        )
        payload["entry"][0]["changes"][0]["field"] = "user_preferences"
        return payload

    assert await post_signed(hooked, account, preference("stop", now)) == 200
    assert await post_signed(hooked, account, preference("resume", now - 60)) == 200  # late, older
    [mine] = [c for c in await conversations(hooked, account.api_key) if c["contact"]["user_id"] == user_id]
    assert mine["contact"]["marketing_opt_out"] is True
    assert await post_signed(hooked, account, preference("resume", now + 60)) == 200
    [mine] = [c for c in await conversations(hooked, account.api_key) if c["contact"]["user_id"] == user_id]
    assert mine["contact"]["marketing_opt_out"] is False


async def test_a_send_to_a_bsuid_opens_its_conversation_and_names_it_in_recipient(hooked: Running) -> None:
    account = await new_account(hooked, "To a BSUID")
    user_id = "GB.8802511660019"
    headers = {"Authorization": f"Bearer {account.api_key}"}
    template = {"name": "hello_world", "language": {"code": "en_US"}}
    since = time.time()
    async with hooked.http.post(
        f"{hooked.gateway}/messages/send",
        json={"to": user_id, "type": "template", "template": template},
        headers=headers,
    ) as response:
        assert response.status == 200, await response.text()
        first = await response.json()
    async with hooked.http.get(
        f"{hooked.simulator}/_sim/requests", params={"to": user_id, "since": str(since)}
    ) as response:
        [request] = (await response.json())["requests"]
    assert request["body"]["recipient"] == user_id and "to" not in request["body"]

    # The user writes (by BSUID only): the same conversation, whose window is now open.
    await inbound(
        hooked,
        phone_number_id=account.phone_number_id,
        user_id=user_id,
        message={"type": "text", "text": {"body": "thanks"}},
    )
    mine = [c for c in await conversations(hooked, account.api_key) if c["contact"]["user_id"] == user_id]
    assert [c["id"] for c in mine] == [first["conversation_id"]]
    async with hooked.http.post(
        f"{hooked.gateway}/messages/send",
        json={"to": user_id, "type": "text", "text": {"body": "free-form now"}},
        headers=headers,
    ) as response:
        assert response.status == 200, await response.text()
        assert (await response.json())["conversation_id"] == first["conversation_id"]

    for bad in ("us.123", "US.", "US.12-34", "X" * 136):
        async with hooked.http.post(
            f"{hooked.gateway}/messages/send",
            json={"to": bad, "type": "template", "template": template},
            headers=headers,
        ) as response:
            assert response.status == 400
            assert (await response.json())["error"]["details"]["field"] == "to"
