"""Receiving a webhook notification (services/conversations/use_cases/webhooks.py): its
X-Hub-Signature-256 checked with the app secret of the first phone number it names before
anything is stored; the secrets read from the store and kept; the sweep."""

import asyncio
import logging

import pytest

from services.conversations.domain.errors import InvalidArgument, Unauthenticated
from services.conversations.use_cases import webhooks as webhooks_module
from services.conversations.use_cases.webhooks import (
    IGNORED_NO_ACCOUNT,
    THREAD_BODY_BYTES,
    Received,
    Webhooks,
    parse_body,
)
from tests.unit.fakes import FakeConversationCache, FakeWebhookStore
from tests.unit.webhook_payloads import body, change, sign, text

NUMBER, OTHER_NUMBER, UNKNOWN_NUMBER = "1000001", "2000002", "9999999"
SECRET, OTHER_SECRET = "app-secret-1", "app-secret-2"
ALICE = "15550001111"


class World:
    def __init__(self) -> None:
        self.store = FakeWebhookStore()
        self.account = self.store.add_account(NUMBER, SECRET)
        self.webhooks = Webhooks(self.store, FakeConversationCache())

    def stored_wamids(self) -> list[str]:
        return [wamid for _, wamid in self.store.tables.inbound]


@pytest.fixture
def world() -> World:
    return World()


def message_for(number: str, wamid: str = "wamid.in1") -> bytes:
    return body(change(number, [text(ALICE, wamid)]))


# --- the signature ---------------------------------------------------------------------


async def test_a_well_signed_notification_is_stored_and_applied(world: World) -> None:
    raw = message_for(NUMBER)
    received = await world.webhooks.receive(raw, sign(raw, SECRET))
    assert received.notification_id > 0
    row = world.store.notification(received.notification_id)
    assert (row.body, row.signed_for, row.state) == (raw, [world.account], "applied")
    assert world.stored_wamids() == ["wamid.in1"]


@pytest.mark.parametrize(
    "signature", ["", "sha256=", "sha256=abc", "sha1=" + "0" * 40, "0" * 64, "sha256=" + "g" * 64]
)
async def test_a_missing_or_malformed_signature_is_refused_before_anything_is_read(
    world: World, signature: str
) -> None:
    with pytest.raises(Unauthenticated):
        await world.webhooks.receive(message_for(NUMBER), signature)
    assert (world.store.secret_reads, world.store.transactions) == (0, 0)


async def test_a_signature_with_another_secret_is_refused_and_nothing_stored(world: World) -> None:
    raw = message_for(NUMBER)
    with pytest.raises(Unauthenticated):
        await world.webhooks.receive(raw, sign(raw, OTHER_SECRET))
    assert world.store.tables.notifications == {}
    assert world.store.transactions == 0


async def test_a_signature_over_other_bytes_is_refused(world: World) -> None:
    raw = message_for(NUMBER)
    tampered = message_for(NUMBER, "wamid.forged")
    with pytest.raises(Unauthenticated):
        await world.webhooks.receive(tampered, sign(raw, SECRET))
    assert world.stored_wamids() == []


async def test_a_signature_in_upper_case_hex_is_accepted(world: World) -> None:
    raw = message_for(NUMBER)
    signature = "sha256=" + sign(raw, SECRET).removeprefix("sha256=").upper()
    assert (await world.webhooks.receive(raw, signature)).notification_id > 0


async def test_a_large_body_is_verified_all_the_same(world: World) -> None:
    raw = body(change(NUMBER, [text(ALICE, "wamid.big", "x" * THREAD_BODY_BYTES)]))
    with pytest.raises(Unauthenticated):
        await world.webhooks.receive(raw, sign(raw, OTHER_SECRET))
    assert (await world.webhooks.receive(raw, sign(raw, SECRET))).notification_id > 0


@pytest.mark.parametrize("raw", [b"not json", b"[1, 2]", b'"a string"', b""])
async def test_a_body_that_is_not_a_json_object_is_invalid(world: World, raw: bytes) -> None:
    with pytest.raises(InvalidArgument):
        await world.webhooks.receive(raw, sign(raw, SECRET))
    assert world.store.transactions == 0


async def test_an_empty_app_secret_verifies_nothing(world: World) -> None:
    # Anyone can compute an HMAC keyed with nothing: such an account's webhooks are forgeries.
    world.store.add_account(OTHER_NUMBER, "")
    raw = message_for(OTHER_NUMBER)
    with pytest.raises(Unauthenticated):
        await world.webhooks.receive(raw, sign(raw, ""))
    assert world.store.transactions == 0


async def test_accounts_with_an_empty_app_secret_are_reported_at_start(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    empty = world.store.add_account(OTHER_NUMBER, "")
    with caplog.at_level(logging.ERROR, logger=webhooks_module.log.name):
        await world.webhooks.start()
        for _ in range(100):  # the sweeper's first turns
            await asyncio.sleep(0)
        await world.webhooks.stop()
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert [(r.getMessage(), getattr(r, "account_id", None)) for r in errors] == [
        ("account has an empty app secret: its webhooks are refused until one is set", str(empty))
    ]


# --- which secret ----------------------------------------------------------------------


async def test_a_notification_for_no_known_number_is_ignored_not_stored(world: World) -> None:
    raw = message_for(UNKNOWN_NUMBER)
    assert await world.webhooks.receive(raw, sign(raw, SECRET)) == Received(0, IGNORED_NO_ACCOUNT)
    assert world.store.transactions == 0


async def test_a_notification_naming_no_number_is_ignored(world: World) -> None:
    raw = body({"field": "account_update", "value": {"event": "VERIFIED_ACCOUNT"}})
    assert await world.webhooks.receive(raw, sign(raw, SECRET)) == Received(0, IGNORED_NO_ACCOUNT)


async def test_the_secret_is_the_first_known_numbers(world: World) -> None:
    raw = body(change(UNKNOWN_NUMBER, [text(ALICE, "wamid.x")]), change(NUMBER, [text(ALICE, "wamid.in1")]))
    received = await world.webhooks.receive(raw, sign(raw, SECRET))
    assert world.store.notification(received.notification_id).outcome == {
        "messages_stored": 1,
        "unknown_phone_numbers": [UNKNOWN_NUMBER],
    }


async def test_accounts_of_one_app_share_its_secret(world: World) -> None:
    sibling = world.store.add_account(OTHER_NUMBER, SECRET)
    raw = body(change(NUMBER, [text(ALICE, "wamid.a")]), change(OTHER_NUMBER, [text(ALICE, "wamid.b")]))
    received = await world.webhooks.receive(raw, sign(raw, SECRET))
    assert set(world.store.notification(received.notification_id).signed_for) == {world.account, sibling}
    assert sorted(world.stored_wamids()) == ["wamid.a", "wamid.b"]


async def test_a_number_of_another_apps_account_is_not_applied(world: World) -> None:
    world.store.add_account(OTHER_NUMBER, OTHER_SECRET)
    raw = body(change(NUMBER, [text(ALICE, "wamid.a")]), change(OTHER_NUMBER, [text(ALICE, "wamid.b")]))
    received = await world.webhooks.receive(raw, sign(raw, SECRET))
    assert world.stored_wamids() == ["wamid.a"]
    assert world.store.notification(received.notification_id).outcome["unknown_phone_numbers"] == [
        OTHER_NUMBER
    ]


# --- the secrets, kept -----------------------------------------------------------------


async def test_the_secrets_are_read_once_for_many_notifications(world: World) -> None:
    for wamid in ("wamid.1", "wamid.2"):
        raw = message_for(NUMBER, wamid)
        await world.webhooks.receive(raw, sign(raw, SECRET))
    assert world.store.secret_reads == 1


async def test_concurrent_first_notifications_share_one_read(world: World) -> None:
    raws = [message_for(NUMBER, f"wamid.{i}") for i in range(3)]
    await asyncio.gather(*(world.webhooks.receive(raw, sign(raw, SECRET)) for raw in raws))
    assert world.store.secret_reads == 1


async def test_unknown_numbers_cost_no_read_within_the_pause(world: World) -> None:
    for wamid in ("wamid.1", "wamid.2", "wamid.3"):
        raw = message_for(UNKNOWN_NUMBER, wamid)
        await world.webhooks.receive(raw, sign(raw, SECRET))
    assert world.store.secret_reads == 1


async def test_an_account_added_since_the_read_is_found_after_the_pause(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(webhooks_module, "SECRETS_RELOAD_PAUSE_SECONDS", 0.01)
    await world.webhooks.receive(message_for(NUMBER), sign(message_for(NUMBER), SECRET))
    world.store.add_account(OTHER_NUMBER, OTHER_SECRET)  # its notification lost
    raw = message_for(OTHER_NUMBER, "wamid.new")
    await asyncio.sleep(0.02)
    assert (await world.webhooks.receive(raw, sign(raw, OTHER_SECRET))).notification_id > 0
    assert world.store.secret_reads == 2


async def test_an_account_notification_makes_the_next_webhook_read_again(world: World) -> None:
    await world.webhooks.receive(message_for(NUMBER), sign(message_for(NUMBER), SECRET))
    world.store.add_account(OTHER_NUMBER, OTHER_SECRET)
    world.webhooks.forget_secrets(f"account:{world.account}")
    raw = message_for(OTHER_NUMBER, "wamid.new")
    assert (await world.webhooks.receive(raw, sign(raw, OTHER_SECRET))).notification_id > 0


async def test_other_cache_notifications_keep_the_secrets(world: World) -> None:
    await world.webhooks.receive(message_for(NUMBER), sign(message_for(NUMBER), SECRET))
    world.webhooks.forget_secrets("api_key:00ff")
    raw = message_for(NUMBER, "wamid.2")
    await world.webhooks.receive(raw, sign(raw, SECRET))
    assert world.store.secret_reads == 1


async def test_an_account_changed_during_a_read_makes_the_next_webhook_read_again(world: World) -> None:
    world.store.while_reading_secrets = world.webhooks.forget_secrets
    raw = message_for(NUMBER)
    await world.webhooks.receive(raw, sign(raw, SECRET))
    world.store.while_reading_secrets = None
    raw = message_for(NUMBER, "wamid.2")
    await world.webhooks.receive(raw, sign(raw, SECRET))
    assert world.store.secret_reads == 2


# --- parsing and the sweep -------------------------------------------------------------


def test_an_escaped_nul_is_dropped_from_the_payload() -> None:
    assert parse_body(rb'{"a\u0000": ["x\u0000y"]}') == {"a": ["xy"]}


async def test_the_sweep_applies_what_was_stored_unapplied(world: World) -> None:
    raw = message_for(NUMBER)
    notification_id = await world.store.store_unapplied(raw, [world.account], "the database was away")
    await world.webhooks.sweep()
    assert world.store.notification(notification_id).state == "applied"
    assert world.stored_wamids() == ["wamid.in1"]
