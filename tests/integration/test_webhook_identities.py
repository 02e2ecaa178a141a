"""Contacts known by business-scoped user id (BSUID), against real PostgreSQL: the system
messages user_changed_number and user_changed_user_id keep one contact, its conversation
and its history; a message naming both identifiers fills in the one a contact lacked."""

import time
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.integration.test_webhook_apply import Receiver, payload, receiver, text_message, wamid
from tools.seed import SeededAccount

__all__ = ["receiver"]

OLD_PHONE, NEW_PHONE = "15551230001", "15557650001"
OLD_BSUID, NEW_BSUID, NEWEST_BSUID = "US.1001", "US.2002", "US.3003"


def system(kind: str, sender: str, **fields: str) -> dict[str, Any]:
    return {
        "from": sender,
        "id": wamid(),
        "timestamp": str(int(time.time())),
        "type": "system",
        "system": {"body": "User changed", "type": kind, **fields},
    }


async def contacts(engine: AsyncEngine, account: SeededAccount) -> list[Any]:
    """The account's contacts known by BSUID (the seed's are not), with conversation and message count."""
    async with engine.connect() as connection:
        return list(
            await connection.execute(
                text(
                    "SELECT k.wa_id, k.user_id, c.id AS conversation_id,"
                    " (SELECT count(*) FROM messages m WHERE m.conversation_id = c.id) AS messages"
                    " FROM contacts k JOIN conversations c ON c.contact_id = k.id"
                    " WHERE k.account_id = :a AND k.user_id IS NOT NULL"
                ),
                {"a": account.account_id},
            )
        )


async def test_changed_number_then_bsuid_keep_one_contact_and_its_history(
    receiver: Receiver, engine: AsyncEngine, account: SeededAccount
) -> None:
    first = {**text_message(OLD_PHONE, "hello"), "from_user_id": OLD_BSUID}
    await receiver.store_and_apply(payload(account, {"messages": [first]}), account)
    [before] = await contacts(engine, account)
    assert (before.wa_id, before.user_id, before.messages) == (OLD_PHONE, OLD_BSUID, 1)

    changed_number = system(
        "user_changed_number", OLD_PHONE, wa_id=NEW_PHONE, user_id=NEW_BSUID, previous_user_id=OLD_BSUID
    )
    # The next message, by the new identifiers, in the same notification: no second contact.
    after_change = {**text_message(NEW_PHONE, "new number"), "from_user_id": NEW_BSUID}
    await receiver.store_and_apply(payload(account, {"messages": [changed_number, after_change]}), account)
    [moved] = await contacts(engine, account)
    assert (moved.wa_id, moved.user_id) == (NEW_PHONE, NEW_BSUID)
    assert moved.conversation_id == before.conversation_id and moved.messages == 3

    changed_user_id = {
        **system("user_changed_user_id", NEW_PHONE, user_id=NEWEST_BSUID),
        "from_user_id": NEW_BSUID,
    }
    await receiver.store_and_apply(payload(account, {"messages": [changed_user_id]}), account)
    # A message by the BSUID alone now finds the same contact.
    only_bsuid = text_message("", "by BSUID")
    del only_bsuid["from"]
    only_bsuid["from_user_id"] = NEWEST_BSUID
    await receiver.store_and_apply(payload(account, {"messages": [only_bsuid]}), account)
    [last] = await contacts(engine, account)
    assert (last.wa_id, last.user_id) == (NEW_PHONE, NEWEST_BSUID)
    assert last.conversation_id == before.conversation_id and last.messages == 5


async def test_a_contact_known_by_bsuid_gets_its_phone_number_and_one_by_phone_its_bsuid(
    receiver: Receiver, engine: AsyncEngine, account: SeededAccount
) -> None:
    by_bsuid = text_message("", "no number")
    del by_bsuid["from"]
    by_bsuid["from_user_id"] = "US.4004"
    await receiver.store_and_apply(payload(account, {"messages": [by_bsuid]}), account)
    await receiver.store_and_apply(
        payload(account, {"messages": [text_message("15554440004", "phone")]}), account
    )
    both = [
        {**text_message("15554440004", "both"), "from_user_id": "US.5005"},
        {**text_message("15553330003", "both again"), "from_user_id": "US.4004"},
    ]
    await receiver.store_and_apply(payload(account, {"messages": both}), account)
    found = {(row.wa_id, row.user_id): row.messages for row in await contacts(engine, account)}
    assert found == {("15553330003", "US.4004"): 2, ("15554440004", "US.5005"): 2}
