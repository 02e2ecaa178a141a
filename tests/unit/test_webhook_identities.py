"""Parsing what names a WhatsApp user: phone numbers, business-scoped user ids (BSUID),
usernames, the system messages that change them, and marketing preferences."""

from uuid import uuid4

from services.conversations.domain.webhook_changes import (
    IdentityChange,
    changes_in,
    with_identities_changed,
)
from tests.unit.webhook_payloads import T, change, status

ACCOUNT = uuid4()
NUMBER = "106540352242922"
BSUID, NEW_BSUID = "US.13491208655302741918", "US.24817305912873645029"


def parse(*changes: dict[str, object]):  # type: ignore[no-untyped-def]
    payload = {"object": "whatsapp_business_account", "entry": [{"id": "waba", "changes": list(changes)}]}
    return changes_in(payload, {NUMBER: ACCOUNT}, {ACCOUNT})


def bsuid_only_text(wa_message_id: str) -> dict[str, object]:
    return {
        "from_user_id": BSUID,
        "id": wa_message_id,
        "timestamp": str(T),
        "type": "text",
        "text": {"body": "hi"},
    }


def test_a_message_without_a_phone_number_is_kept_with_its_bsuid_and_username() -> None:
    value = change(NUMBER, [bsuid_only_text("wamid.1")])
    value["value"]["contacts"] = [{"profile": {"name": "Pablo", "username": "@pablo"}, "user_id": BSUID}]
    found = parse(value)
    assert not found.counts
    [message] = found.inbound
    assert (message.wa_id, message.user_id, message.profile_name, message.username) == (
        "",
        BSUID,
        "Pablo",
        "@pablo",
    )


def test_an_empty_wa_id_is_no_phone_number() -> None:
    value = change(NUMBER, [{**bsuid_only_text("wamid.2"), "from": ""}])
    [message] = parse(value).inbound
    assert message.wa_id == "" and message.user_id == BSUID


def test_a_message_from_no_one_is_counted_invalid() -> None:
    message = {"id": "wamid.3", "timestamp": str(T), "type": "text", "text": {"body": "?"}}
    found = parse(change(NUMBER, [message]))
    assert found.inbound == [] and found.counts["invalid_messages"] == 1


def test_a_status_without_a_phone_number_is_applied_by_its_message_id() -> None:
    report = status("wamid.4", "delivered")
    del report["recipient_id"]
    report["recipient_user_id"] = BSUID
    found = parse(change(NUMBER, statuses=[report]))
    assert not found.counts and [s.report.wa_message_id for s in found.statuses] == ["wamid.4"]


def test_a_changed_number_moves_the_user_and_its_message_to_the_new_identifiers() -> None:
    system = {
        "from": "15551234567",
        "id": "wamid.5",
        "timestamp": str(T),
        "type": "system",
        "system": {
            "body": "User A changed from 15551234567 to 15557654321",
            "wa_id": "15557654321",
            "user_id": NEW_BSUID,
            "previous_user_id": BSUID,
            "type": "user_changed_number",
        },
    }
    found = parse(change(NUMBER, [system]))
    assert found.identity_changes == [IdentityChange(ACCOUNT, "15551234567", BSUID, "15557654321", NEW_BSUID)]
    [message] = found.inbound
    assert (message.wa_id, message.user_id, message.type) == ("15557654321", NEW_BSUID, "system")


def test_a_changed_bsuid_keeps_the_phone_number() -> None:
    system = {
        "from_user_id": BSUID,
        "id": "wamid.6",
        "timestamp": str(T),
        "type": "system",
        "system": {"body": "changed", "user_id": NEW_BSUID, "type": "user_changed_user_id"},
    }
    found = parse(change(NUMBER, [system]))
    assert found.identity_changes == [IdentityChange(ACCOUNT, "", BSUID, "", NEW_BSUID)]


def test_a_change_naming_no_new_identifier_is_stored_as_a_message_only() -> None:
    system = {
        "from": "15551234567",
        "id": "wamid.7",
        "timestamp": str(T),
        "type": "system",
        "system": {"body": "?", "type": "user_changed_number"},
    }
    found = parse(change(NUMBER, [system]))
    assert found.identity_changes == [] and found.counts == {"invalid_identity_changes": 1}
    assert [m.wa_id for m in found.inbound] == ["15551234567"]


def test_messages_of_a_batch_follow_their_senders_change() -> None:
    value = change(NUMBER, [bsuid_only_text("wamid.8")])
    [message] = parse(value).inbound
    moved = with_identities_changed([IdentityChange(ACCOUNT, "", BSUID, "", NEW_BSUID)], [message])
    assert moved[0].user_id == NEW_BSUID


def preference_change(*items: dict[str, object]) -> dict[str, object]:
    value = change(NUMBER)
    value["field"] = "user_preferences"
    value["value"]["user_preferences"] = list(items)
    return value


def test_marketing_preferences_are_parsed_with_their_time() -> None:
    found = parse(
        preference_change(
            {"user_id": BSUID, "category": "marketing_messages", "value": "stop", "timestamp": T},
            {"wa_id": "15551234567", "category": "marketing_messages", "value": "resume", "timestamp": T + 1},
            {"wa_id": "15551234567", "category": "something_else", "value": "stop", "timestamp": T},
            {"user_id": BSUID, "category": "marketing_messages", "value": "maybe", "timestamp": T},
        )
    )
    assert [(p.wa_id, p.user_id, p.opted_out, int(p.at.timestamp())) for p in found.preferences] == [
        ("", BSUID, True, T),
        ("15551234567", "", False, T + 1),
    ]
    assert found.counts == {"other_preferences": 1, "invalid_preferences": 1}
