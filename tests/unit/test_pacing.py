"""An account's send slots (services/conversations/domain/pacing.py): how far apart they are,
how many a claim may hand out (none to a paused account, one probe once the pause passed), which
message gets which, and how long a sync send waits."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest

from services.conversations.domain.pacing import (
    Grant,
    Pacing,
    assign_slots,
    grants,
    slot_seconds,
    wait_before_sending,
)

A, B, C = (UUID(int=n) for n in range(1, 4))
NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)
MARGIN = 0.3
HORIZON = 1.0


def pacing(account: UUID, mps: int, free_in_seconds: float = 0.0) -> Pacing:
    return Pacing(account, NOW + timedelta(seconds=free_in_seconds), NOW, mps)


# --- slot_seconds ----------------------------------------------------------------------


@pytest.mark.parametrize(("mps", "expected"), [(1, 1.3), (10, 0.13), (80, 1.3 / 80)])
def test_slots_are_one_second_plus_the_margin_over_the_rate(mps: int, expected: float) -> None:
    assert slot_seconds(mps, MARGIN) == pytest.approx(expected)


@pytest.mark.parametrize("mps", [1, 5, 80, 1000])
def test_no_second_can_hold_more_slots_than_the_rate(mps: int) -> None:
    # mps + 1 consecutive slots span mps intervals: more than one second.
    assert mps * slot_seconds(mps, MARGIN) > 1.0


# --- grants ----------------------------------------------------------------------------


def test_an_account_free_now_gets_the_slots_within_the_horizon() -> None:
    [grant] = grants([pacing(A, 10)], workers=100, margin_seconds=MARGIN, horizon_seconds=HORIZON)
    # Slots 0.13 s apart from now: 0, 0.13, ..., 0.91; the next, 1.04, is past the horizon.
    assert grant == Grant(A, NOW, timedelta(seconds=0.13), 8)


def test_an_account_gets_no_more_than_the_free_workers() -> None:
    [grant] = grants([pacing(A, 1000)], workers=3, margin_seconds=MARGIN, horizon_seconds=HORIZON)
    assert grant.count == 3


def test_the_workers_are_shared_between_the_accounts() -> None:
    granted = grants(
        [pacing(A, 1000), pacing(B, 1000)], workers=6, margin_seconds=MARGIN, horizon_seconds=HORIZON
    )
    assert [(g.account_id, g.count) for g in granted] == [(A, 3), (B, 3)]


def test_slots_start_at_the_accounts_next_free_slot() -> None:
    [grant] = grants(
        [pacing(A, 1, free_in_seconds=0.4)], workers=4, margin_seconds=MARGIN, horizon_seconds=HORIZON
    )
    assert (grant.start, grant.count) == (NOW + timedelta(seconds=0.4), 1)


def test_an_account_without_a_free_slot_within_the_horizon_gets_nothing() -> None:
    granted = grants(
        [pacing(A, 10, free_in_seconds=HORIZON + 0.01), pacing(B, 10)],
        workers=8,
        margin_seconds=MARGIN,
        horizon_seconds=HORIZON,
    )
    assert [g.account_id for g in granted] == [B]


def test_a_paused_account_gets_nothing_then_one_probe_once_the_pause_passed() -> None:
    paused = replace(pacing(A, 1000), paused_until=NOW + timedelta(seconds=1))
    passed = replace(pacing(B, 1000), paused_until=NOW)
    granted = grants(
        [paused, passed, pacing(C, 1000)], workers=9, margin_seconds=MARGIN, horizon_seconds=HORIZON
    )
    assert [(g.account_id, g.count, g.probe) for g in granted] == [(B, 1, True), (C, 3, False)]


def test_a_slot_exactly_at_the_horizon_is_granted() -> None:
    [grant] = grants(
        [pacing(A, 1, free_in_seconds=HORIZON)], workers=4, margin_seconds=MARGIN, horizon_seconds=HORIZON
    )
    assert grant.count == 1


def test_no_accounts_no_grants() -> None:
    assert grants([], workers=8, margin_seconds=MARGIN, horizon_seconds=HORIZON) == []


def test_a_grants_slots_are_an_interval_apart() -> None:
    grant = Grant(A, NOW, timedelta(seconds=0.25), 4)
    assert [grant.slot(i) for i in range(3)] == [
        NOW,
        NOW + timedelta(seconds=0.25),
        NOW + timedelta(seconds=0.5),
    ]


# --- assign_slots ----------------------------------------------------------------------


def test_claimed_messages_take_their_accounts_slots_in_order() -> None:
    a = Grant(A, NOW, timedelta(seconds=0.1), 3)
    b = Grant(B, NOW + timedelta(seconds=0.5), timedelta(seconds=1), 2)
    slots, next_free = assign_slots([a, b], [A, B, A])
    assert slots == [a.slot(0), b.slot(0), a.slot(1)]
    assert next_free == {A: a.slot(2), B: b.slot(1)}


def test_an_account_with_nothing_claimed_keeps_its_next_slot() -> None:
    a, c = Grant(A, NOW, timedelta(seconds=0.1), 3), Grant(C, NOW, timedelta(seconds=0.1), 3)
    _, next_free = assign_slots([a, c], [A])
    assert next_free == {A: a.slot(1)}


def test_nothing_claimed_moves_nothing() -> None:
    assert assign_slots([Grant(A, NOW, timedelta(seconds=0.1), 3)], []) == ([], {})


# --- wait_before_sending ---------------------------------------------------------------


def test_a_sync_send_waits_for_a_slot_more_than_a_quarter_margin_away() -> None:
    assert wait_before_sending(0.2, MARGIN) == 0.2


@pytest.mark.parametrize("delay", [0.0, 0.05, MARGIN / 4])
def test_a_sync_send_goes_at_once_when_its_slot_is_within_a_quarter_margin(delay: float) -> None:
    assert wait_before_sending(delay, MARGIN) == 0.0
