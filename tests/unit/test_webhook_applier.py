"""Applying webhook notifications, many at a time (services/conversations/use_cases/webhook_apply.py):
statuses only move forward, duplicates change nothing, one event per real change; a lost
deadlock is retried, a database away stores nothing, a failing batch is applied one
notification at a time; and the sweep's side (stored notifications, pending statuses)."""

import asyncio
from uuid import UUID

import pytest

from services.conversations.domain.errors import NotFound, Unavailable
from services.conversations.domain.notifications import Notification
from services.conversations.use_cases.ports import LostDeadlock
from services.conversations.use_cases.webhook_apply import (
    DEADLOCK_RETRIES,
    MAX_APPLY_ATTEMPTS,
    WebhookApplier,
)
from tests.unit.fakes import FakeConversationCache, FakeWebhookStore
from tests.unit.webhook_payloads import T, body, change, notification, status, text

NUMBER, OTHER_NUMBER = "1000001", "2000002"
ALICE, BOB = "15550001111", "15550002222"


class World:
    def __init__(self) -> None:
        self.store = FakeWebhookStore()
        self.cache = FakeConversationCache()
        self.account = self.store.add_account(NUMBER, "secret-1")
        self.applier = WebhookApplier(self.store, self.cache)

    def inbound(self, *wamids: str, sender: str = ALICE) -> Notification:
        return notification(body(change(NUMBER, [text(sender, w) for w in wamids])), self.account)

    def statuses(self, *reports: dict[str, object]) -> Notification:
        return notification(body(change(NUMBER, statuses=reports)), self.account)

    def event_types(self) -> list[str]:
        return [e.type for e in self.store.tables.events]

    async def receive(self, n: Notification) -> dict[str, object]:
        """Applies `n` on its own; what its row says applying found."""
        return self.store.notification(await self.applier.receive(n)).outcome


@pytest.fixture
def world() -> World:
    return World()


# --- inbound messages ------------------------------------------------------------------


async def test_an_inbound_message_is_stored_with_its_events(world: World) -> None:
    notification_id = await world.applier.receive(world.inbound("wamid.in1"))
    row = world.store.notification(notification_id)
    assert (row.state, row.outcome) == ("applied", {"messages_stored": 1})
    assert list(world.store.tables.inbound) == [(world.account, "wamid.in1")]
    assert world.event_types() == ["message.received", "conversation.updated"]


async def test_the_send_paths_cache_forgets_a_conversation_that_got_a_message(world: World) -> None:
    await world.receive(world.inbound("wamid.in1"))
    conversation = world.store.tables.conversations[(world.account, ALICE)]
    assert world.cache.forgotten == [(world.account, conversation, ALICE)]


async def test_a_duplicate_inbound_message_changes_nothing(world: World) -> None:
    await world.receive(world.inbound("wamid.in1"))
    assert await world.receive(world.inbound("wamid.in1")) == {"messages_duplicate": 1}
    assert len(world.store.tables.inbound) == 1
    assert world.event_types() == ["message.received", "conversation.updated"]
    assert len(world.cache.forgotten) == 1


async def test_a_duplicate_within_one_batch_is_stored_once(world: World) -> None:
    ids = await world.applier.store_and_apply([world.inbound("wamid.in1"), world.inbound("wamid.in1")])
    assert [world.store.notification(i).outcome for i in ids] == [
        {"messages_stored": 1},
        {"messages_duplicate": 1},
    ]
    assert world.event_types().count("message.received") == 1


async def test_one_conversation_update_per_conversation_after_its_messages(world: World) -> None:
    n = notification(
        body(change(NUMBER, [text(ALICE, "wamid.a1"), text(BOB, "wamid.b1"), text(ALICE, "wamid.a2")])),
        world.account,
    )
    assert await world.receive(n) == {"messages_stored": 3}
    events = world.store.tables.events
    assert sorted(e.type for e in events) == ["conversation.updated"] * 2 + ["message.received"] * 3
    for conversation in {e.conversation_id for e in events}:
        types = [e.type for e in events if e.conversation_id == conversation]
        assert types[-1] == "conversation.updated"
        assert types.count("conversation.updated") == 1
    alice = world.store.tables.conversations[(world.account, ALICE)]
    assert world.store.tables.unread[alice] == 2


async def test_a_notification_changes_only_the_accounts_that_signed_it(world: World) -> None:
    stranger = world.store.add_account(OTHER_NUMBER, "secret-2")
    n = notification(body(change(OTHER_NUMBER, [text(ALICE, "wamid.in1")])), world.account)
    assert await world.receive(n) == {"unknown_phone_numbers": [OTHER_NUMBER]}
    assert world.store.tables.inbound == {}
    assert stranger not in {e.account_id for e in world.store.tables.events}


# --- statuses --------------------------------------------------------------------------


async def test_statuses_only_move_forward(world: World) -> None:
    message = world.store.add_message(world.account, "sent", "wamid.out1")
    assert await world.receive(world.statuses(status("wamid.out1", "read", T + 3))) == {"statuses_applied": 1}
    late = world.statuses(status("wamid.out1", "delivered", T + 2), status("wamid.out1", "sent", T + 1))
    assert await world.receive(late) == {"statuses_ignored": 2}
    assert world.store.delivery(message).status == "read"
    assert world.event_types() == ["message.read"]


async def test_statuses_of_one_batch_make_one_event_for_their_message(world: World) -> None:
    message = world.store.add_message(world.account, "sent", "wamid.out1")
    await world.applier.store_and_apply(
        [
            world.statuses(status("wamid.out1", "read", T + 3)),
            world.statuses(status("wamid.out1", "delivered", T + 2)),
        ]
    )
    delivery = world.store.delivery(message)
    assert (delivery.status, delivery.delivered_at is not None, delivery.read_at is not None) == (
        "read",
        True,
        True,
    )
    assert world.event_types() == ["message.read"]


async def test_a_status_beating_the_sends_outcome_is_matched_by_pigeons_id(world: World) -> None:
    message = world.store.add_message(world.account, "sending")
    report = status("wamid.out1", "delivered", callback_id=message)
    assert await world.receive(world.statuses(report)) == {"statuses_applied": 1}
    assert (world.store.delivery(message).status, world.store.delivery(message).wa_message_id) == (
        "delivered",
        "wamid.out1",
    )


async def test_a_status_for_a_message_with_another_whatsapp_id_is_ignored(world: World) -> None:
    message = world.store.add_message(world.account, "sent", "wamid.mine")
    report = status("wamid.other", "delivered", callback_id=message)
    assert await world.receive(world.statuses(report)) == {"statuses_ignored": 1}
    assert world.store.delivery(message).status == "sent"


async def test_a_status_of_an_inbound_message_is_ignored(world: World) -> None:
    message = world.store.add_message(world.account, "received", "wamid.in1", direction="inbound")
    assert await world.receive(world.statuses(status("wamid.in1", "read"))) == {"statuses_ignored": 1}
    assert world.store.delivery(message).status == "received"


async def test_a_status_of_an_unknown_message_is_kept_until_it_is_known(world: World) -> None:
    assert await world.receive(world.statuses(status("wamid.out1", "delivered"))) == {"statuses_pending": 1}
    assert await world.applier.match_pending() == 0
    message = world.store.add_message(world.account, "sent", "wamid.out1")  # its send outcome stored
    assert await world.applier.match_pending() == 1
    assert world.store.delivery(message).status == "delivered"
    assert world.store.tables.pending == {}
    assert world.event_types() == ["message.delivered"]


async def test_a_failure_from_whatsapp_is_recorded_with_its_code(world: World) -> None:
    message = world.store.add_message(world.account, "sent", "wamid.out1")
    await world.receive(world.statuses(status("wamid.out1", "failed", error_code=131026)))
    delivery = world.store.delivery(message)
    assert (delivery.status, delivery.error_code) == ("failed", "131026")


# --- failures --------------------------------------------------------------------------


async def test_a_lost_deadlock_is_applied_again(world: World) -> None:
    world.store.commit_faults = [LostDeadlock("deadlock detected")]
    assert await world.receive(world.inbound("wamid.in1")) == {"messages_stored": 1}
    assert (world.store.transactions, world.store.commits) == (2, 1)
    assert world.event_types() == ["message.received", "conversation.updated"]


async def test_a_notification_that_keeps_losing_deadlocks_is_kept_for_the_sweep(world: World) -> None:
    world.store.commit_faults = [LostDeadlock("deadlock detected")] * (DEADLOCK_RETRIES + 1)
    notification_id = await world.applier.receive(world.inbound("wamid.in1"))
    row = world.store.notification(notification_id)
    assert (row.state, row.apply_failures) == ("received", 1)
    assert "LostDeadlock" in row.last_error
    assert world.store.tables.inbound == {}


async def test_a_database_away_raises_unavailable_and_nothing_is_stored(world: World) -> None:
    world.store.commit_faults = [Unavailable("database unavailable")]
    with pytest.raises(Unavailable):
        await world.applier.receive(world.inbound("wamid.in1"))
    assert world.store.tables.notifications == {}
    assert world.store.tables.inbound == {}
    assert world.store.tables.events == []
    assert world.cache.forgotten == []
    assert world.store.transactions == 1  # not retried


async def test_a_failing_batch_is_applied_one_notification_at_a_time(world: World) -> None:
    world.store.refused_wamids = {"wamid.bad"}
    batch = [world.inbound("wamid.good1"), world.inbound("wamid.bad"), world.inbound("wamid.good2")]
    ids = await world.applier.store_and_apply(batch)
    assert [world.store.notification(i).state for i in ids] == ["applied", "received", "applied"]
    assert [world.store.notification(i).body for i in ids] == [n.body for n in batch]
    assert sorted(w for _, w in world.store.tables.inbound) == ["wamid.good1", "wamid.good2"]
    assert "ValueError" in world.store.notification(ids[1]).last_error


async def test_notifications_that_arrive_together_share_one_transaction(world: World) -> None:
    ids = await asyncio.gather(*(world.applier.receive(world.inbound(f"wamid.{i}")) for i in range(3)))
    assert len(set(ids)) == 3
    assert world.store.transactions == 1
    assert len(world.store.tables.inbound) == 3


async def test_a_notification_stored_before_the_database_went_away_is_answered_with_its_id(
    world: World,
) -> None:
    world.store.refused_wamids = {"wamid.bad"}
    # The batch fails (the refused row); alone: the first commits, the last finds the database away.
    world.store.commit_faults = [None, Unavailable("database unavailable")]
    first, _, last = await asyncio.gather(
        world.applier.receive(world.inbound("wamid.good1")),
        world.applier.receive(world.inbound("wamid.bad")),
        world.applier.receive(world.inbound("wamid.good2")),
        return_exceptions=True,
    )
    assert isinstance(last, Unavailable)
    # The first was stored and applied all the same: Meta, told to retry, sends it again.
    assert (world.account, "wamid.good1") in world.store.tables.inbound
    assert "applied" in [row.state for row in world.store.tables.notifications.values()]
    assert isinstance(first, int)


# --- the sweep's side ------------------------------------------------------------------


async def stored_unapplied(world: World, n: Notification) -> Notification:
    notification_id = await world.store.store_unapplied(n.body, list(n.signed_for), "an earlier failure")
    return Notification(notification_id, n.body, n.payload, n.signed_for)


async def test_a_stored_notification_is_applied_by_the_sweep(world: World) -> None:
    stored = await stored_unapplied(world, world.inbound("wamid.in1"))
    await world.applier.apply_stored([stored])
    row = world.store.notification(stored.id)
    assert (row.state, row.outcome) == ("applied", {"messages_stored": 1})
    assert list(world.store.tables.inbound) == [(world.account, "wamid.in1")]


async def test_a_notification_taken_by_another_replica_is_left_to_it(world: World) -> None:
    stored = await stored_unapplied(world, world.inbound("wamid.in1"))
    world.store.locked_elsewhere = {stored.id}
    await world.applier.apply_stored([stored])
    assert world.store.notification(stored.id).state == "received"
    assert world.store.tables.inbound == {}


async def test_a_stored_body_that_is_not_json_ends_malformed(world: World) -> None:
    stored = await stored_unapplied(world, world.inbound("wamid.in1"))
    malformed = Notification(stored.id, b"not json", None, stored.signed_for)
    await world.applier.apply_stored([malformed])
    row = world.store.notification(stored.id)
    assert (row.state, row.outcome) == ("malformed", {"error": "not a JSON object"})


async def test_a_stored_notification_that_keeps_failing_ends_failed(world: World) -> None:
    world.store.refused_wamids = {"wamid.bad"}
    stored = await stored_unapplied(world, world.inbound("wamid.bad"))  # its first failure
    for _ in range(MAX_APPLY_ATTEMPTS - 2):
        await world.applier.apply_stored([stored])
    assert world.store.notification(stored.id).state == "received"
    await world.applier.apply_stored([stored])
    row = world.store.notification(stored.id)
    assert (row.state, row.apply_failures) == ("failed", MAX_APPLY_ATTEMPTS)


async def test_a_failing_stored_notification_does_not_hold_back_the_others(world: World) -> None:
    world.store.refused_wamids = {"wamid.bad"}
    good = await stored_unapplied(world, world.inbound("wamid.good"))
    bad = await stored_unapplied(world, world.inbound("wamid.bad"))
    await world.applier.apply_stored([good, bad])
    assert world.store.notification(good.id).state == "applied"
    assert world.store.notification(bad.id).apply_failures == 2


async def test_the_sweep_never_raises_when_the_database_is_away(world: World) -> None:
    stored = await stored_unapplied(world, world.inbound("wamid.in1"))
    world.store.commit_faults = [Unavailable("database unavailable")]
    await world.applier.apply_stored([stored])
    row = world.store.notification(stored.id)
    assert (row.state, row.apply_failures) == ("received", 1)


# --- mark read -------------------------------------------------------------------------


async def test_marking_a_conversation_read_clears_its_unread_count_with_an_event(world: World) -> None:
    await world.receive(world.inbound("wamid.in1", "wamid.in2"))
    conversation: UUID = world.store.tables.conversations[(world.account, ALICE)]
    await world.applier.mark_read(world.account, conversation)
    assert world.store.tables.unread[conversation] == 0
    last = world.store.tables.events[-1]
    assert (last.type, last.conversation_id) == ("conversation.updated", conversation)


async def test_marking_an_unknown_conversation_read_is_not_found(world: World) -> None:
    await world.receive(world.inbound("wamid.in1"))
    conversation = world.store.tables.conversations[(world.account, ALICE)]
    events = list(world.store.tables.events)
    with pytest.raises(NotFound):
        await world.applier.mark_read(world.store.add_account(OTHER_NUMBER, "s"), conversation)
    assert world.store.tables.events == events
    assert world.store.tables.unread[conversation] == 1
