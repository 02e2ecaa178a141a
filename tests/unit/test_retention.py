"""Retention's rounds (services/conversations/use_cases/retention.py) against an in-memory store:
exactly the rows past their retention go, in batches of at most `batch_size` with a pause after
each, events up to each account's cut and never past an endpoint's cursor, and a round stops
between two batches when asked."""

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from uuid import UUID, uuid4

import pytest

from services.conversations.domain.retention import Batch, EventLog
from services.conversations.settings import RetentionSettings
from services.conversations.use_cases.retention import Retention

DAY = 86400.0
SETTINGS = RetentionSettings(
    worker_enabled=True,
    every_seconds=300.0,
    batch_size=2,
    pause_seconds=0.05,
    events_keep_seconds=7 * DAY,
    notifications_keep_seconds=7 * DAY,
    failed_notifications_keep_seconds=30 * DAY,
    pending_statuses_keep_seconds=7 * DAY,
    idempotency_keep_seconds=DAY,
)
ACCOUNT, OTHER = uuid4(), uuid4()


@dataclass
class FakeRetentionStore:
    """Rows as (id, age in seconds[, state]), oldest first; each call one batch, as the SQL runs
    it. `calls` lists them; `cursors` is an account's enabled endpoint's cursor."""

    events: dict[UUID, list[tuple[int, float]]] = field(default_factory=dict)
    cursors: dict[UUID, int] = field(default_factory=dict)
    notifications: list[tuple[int, float, str]] = field(default_factory=list)
    pending: list[float] = field(default_factory=list)
    keys: list[float] = field(default_factory=list)
    calls: list[tuple[str, int]] = field(default_factory=list)

    async def event_logs(self, keep_seconds: float) -> list[EventLog]:
        return [
            EventLog(account_id, log[0][0], self.cursors.get(account_id, log[-1][0]) + 1)
            for account_id, log in self.events.items()
            if log and log[0][1] >= keep_seconds
        ]

    async def delete_events(
        self, log: EventLog, after_id: int, *, keep_seconds: float, batch_size: int
    ) -> Batch:
        rows = self.events[log.account_id]
        doomed = _old_prefix(
            [(i, age) for i, age in rows if after_id < i < log.before_id][:batch_size], keep_seconds
        )
        self.events[log.account_id] = [row for row in rows if row[0] not in doomed]
        self.calls.append(("events", len(doomed)))
        return Batch(len(doomed), max(doomed, default=after_id), len(doomed) < batch_size)

    async def delete_notifications(
        self, states: Sequence[str], after_id: int, *, keep_seconds: float, batch_size: int
    ) -> Batch:
        read = [(i, age) for i, age, _ in self.notifications if i > after_id][:batch_size]
        old = _old_prefix(read, keep_seconds)
        doomed = [i for i, _, state in self.notifications if i in old and state in states]
        self.notifications = [row for row in self.notifications if row[0] not in doomed]
        self.calls.append(("webhook_notifications", len(doomed)))
        return Batch(len(doomed), max(old, default=after_id), len(old) < batch_size)

    async def delete_pending_statuses(self, keep_seconds: float, batch_size: int) -> int:
        self.pending, count = _delete_older(self.pending, keep_seconds, batch_size)
        self.calls.append(("pending_statuses", count))
        return count

    async def delete_idempotency_keys(self, keep_seconds: float, batch_size: int) -> int:
        self.keys, count = _delete_older(self.keys, keep_seconds, batch_size)
        self.calls.append(("idempotency_keys", count))
        return count


def _old_prefix(rows: list[tuple[int, float]], keep_seconds: float) -> list[int]:
    """The ids of the rows before the first within the retention."""
    ids = []
    for row_id, age in rows:
        if age < keep_seconds:
            break
        ids.append(row_id)
    return ids


def _delete_older(ages: list[float], keep_seconds: float, batch_size: int) -> tuple[list[float], int]:
    doomed = [n for n, age in enumerate(ages) if age >= keep_seconds][:batch_size]
    return [age for n, age in enumerate(ages) if n not in doomed], len(doomed)


class Pauses:
    def __init__(self) -> None:
        self.taken: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.taken.append(seconds)


def event_log(ages_in_days: Sequence[float]) -> list[tuple[int, float]]:
    return [(n + 1, age * DAY) for n, age in enumerate(ages_in_days)]


async def test_exactly_the_old_rows_go_in_batches_with_a_pause_after_each() -> None:
    store = FakeRetentionStore(
        events={ACCOUNT: event_log([9, 9, 8, 8, 8, 1, 0]), OTHER: event_log([0, 0])},
        notifications=[
            (1, 8 * DAY, "applied"),
            (2, 8 * DAY, "received"),  # still to apply: never deleted
            (3, 8 * DAY, "failed"),  # failed: kept 30 days
            (5, 8 * DAY, "malformed"),
            (6, 1 * DAY, "applied"),
        ],
        pending=[8 * DAY, 6 * DAY, 9 * DAY],
        keys=[2 * DAY, 0.5 * DAY, 1.5 * DAY, 3 * DAY, 0.1 * DAY],
    )
    pauses = Pauses()
    result = await Retention(store, SETTINGS, pauses).run_round()

    assert store.events == {ACCOUNT: event_log([9, 9, 8, 8, 8, 1, 0])[5:], OTHER: event_log([0, 0])}
    assert [i for i, _, _ in store.notifications] == [2, 3, 6]
    assert store.pending == [6 * DAY]
    assert store.keys == [0.5 * DAY, 0.1 * DAY]
    assert result.deleted == {
        "events": 5,
        "webhook_notifications": 2,
        "pending_statuses": 2,
        "idempotency_keys": 3,
    }
    assert store.calls == [
        ("events", 2),
        ("events", 2),
        ("events", 1),  # 5, then 6 is within the retention: done
        ("webhook_notifications", 1),  # 1 (2 is still to apply)
        ("webhook_notifications", 1),  # 5 (3 failed: kept longer)
        ("webhook_notifications", 0),  # 6 is within the retention: done
        ("webhook_notifications", 0),  # failed ones: none 30 days old
        ("pending_statuses", 2),
        ("pending_statuses", 0),
        ("idempotency_keys", 2),
        ("idempotency_keys", 1),
    ]
    assert result.batches == len(store.calls)
    # A pause after every batch that deleted something, none after an empty one.
    assert pauses.taken == [SETTINGS.pause_seconds] * 8


async def test_events_an_enabled_endpoint_has_yet_to_deliver_stay() -> None:
    store = FakeRetentionStore(events={ACCOUNT: event_log([9, 9, 9, 9, 1])}, cursors={ACCOUNT: 2})
    await Retention(store, SETTINGS, Pauses()).run_round()
    assert [i for i, _ in store.events[ACCOUNT]] == [3, 4, 5]


async def test_failed_notifications_go_after_their_longer_retention() -> None:
    store = FakeRetentionStore(
        notifications=[(1, 31 * DAY, "failed"), (2, 31 * DAY, "applied"), (3, 29 * DAY, "failed")]
    )
    await Retention(store, SETTINGS, Pauses()).run_round()
    assert store.notifications == [(3, 29 * DAY, "failed")]


async def test_a_round_stops_between_two_batches_when_asked() -> None:
    store = FakeRetentionStore(events={ACCOUNT: event_log([9] * 6 + [0])}, keys=[2 * DAY] * 3)
    stop = False

    async def pause(seconds: float) -> None:
        nonlocal stop
        stop = True  # asked to stop while pausing after the first batch

    result = await Retention(store, SETTINGS, pause, lambda: stop).run_round()
    assert store.calls == [("events", 2)]
    assert result.deleted == {"events": 2}
    assert len(store.keys) == 3  # left to the next round


@pytest.mark.parametrize("batch_size", [1, 3, 100])
async def test_no_batch_is_larger_than_the_batch_size(batch_size: int) -> None:
    store = FakeRetentionStore(events={ACCOUNT: event_log([9] * 10 + [0])}, keys=[2 * DAY] * 10)
    result = await Retention(store, replace(SETTINGS, batch_size=batch_size), Pauses()).run_round()
    assert max(count for _, count in store.calls) == min(batch_size, 10)
    assert result.deleted == {"events": 10, "idempotency_keys": 10}
