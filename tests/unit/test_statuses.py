"""How WhatsApp's statuses move a message (services/conversations/domain/statuses.py)."""

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from services.conversations.domain.statuses import Delivery, StatusReport, advance
from services.shared.vocabulary import FailureCode, concluded_by_pigeon

T0 = datetime(2026, 12, 1, tzinfo=UTC)
WAMID = "wamid.1"


def delivery(
    status: str = "sent", error_code: str | None = None, wa_message_id: str | None = WAMID
) -> Delivery:
    failed = status == "failed"
    return Delivery(
        status=status,
        wa_message_id=wa_message_id,
        sent_at=T0 if status in ("sent", "delivered", "read") else None,
        delivered_at=None,
        read_at=None,
        failed_at=T0 if failed else None,
        error_code=error_code,
        error_message="pigeon's reason" if error_code else None,
    )


def report(status: str, seconds: int, code: str | None = None) -> StatusReport:
    return StatusReport(
        status, WAMID, T0 + timedelta(seconds=seconds), code, "WhatsApp's reason" if code else None
    )


SENT, DELIVERED, READ = report("sent", 1), report("delivered", 2), report("read", 3)
FAILED = report("failed", 4, "131026")


@pytest.mark.parametrize("order", list(itertools.permutations([SENT, DELIVERED, READ, FAILED])))
def test_the_outcome_does_not_depend_on_the_order(order: tuple[StatusReport, ...]) -> None:
    state, moved = advance(delivery("sending", wa_message_id=None), order)
    # By rank: sent, delivered, read; a failure never comes after read.
    assert (state.status, state.sent_at, state.delivered_at, state.read_at) == (
        "read",
        SENT.at,
        DELIVERED.at,
        READ.at,
    )
    assert (state.failed_at, state.error_code, state.wa_message_id) == (None, None, WAMID)
    assert [m for r, m in zip(order, moved, strict=True) if r is FAILED] == [False]
    assert sum(moved) == 3


def test_a_status_only_moves_forward_and_a_duplicate_changes_nothing() -> None:
    state, moved = advance(delivery("read"), [DELIVERED, SENT, READ])
    assert moved == [False, False, False]
    assert state == delivery("read")
    state, moved = advance(delivery("sent"), [DELIVERED, DELIVERED])
    assert moved == [True, False]
    assert state.delivered_at == DELIVERED.at


def test_a_late_status_fills_in_no_earlier_time() -> None:
    """read first: sent and delivered times default to read's, and a later delivered does not move it."""
    state, _ = advance(delivery("sending", wa_message_id=None), [READ])
    assert (state.sent_at, state.delivered_at, state.read_at) == (READ.at, READ.at, READ.at)
    assert advance(state, [DELIVERED]) == (state, [False])


def test_whatsapps_failure_is_final_and_never_after_read() -> None:
    failed, moved = advance(delivery("delivered"), [FAILED])
    assert moved == [True]
    assert (failed.status, failed.error_code, failed.failed_at) == ("failed", "131026", FAILED.at)
    assert advance(failed, [READ, SENT]) == (failed, [False, False])
    assert advance(delivery("read"), [FAILED])[1] == [False]


@pytest.mark.parametrize(
    "code", [*(c.value for c in FailureCode if concluded_by_pigeon(c)), "sender_unavailable"]
)
def test_whatsapp_has_the_message_after_a_failure_pigeon_concluded(code: str) -> None:
    state, moved = advance(delivery("failed", code), [DELIVERED])
    assert moved == [True]
    assert (state.status, state.error_code, state.error_message, state.failed_at) == (
        "delivered",
        None,
        None,
        None,
    )


def test_a_queued_message_whose_outcome_was_unknown_is_settled_as_sent() -> None:
    # The connection broke after the request was written: back in the queue, its last error
    # kept. WhatsApp's `sent` (matched by pigeon's id) takes it out of the queue, error cleared.
    queued = delivery("queued", FailureCode.UNKNOWN_OUTCOME, wa_message_id=None)
    state, moved = advance(queued, [SENT])
    assert moved == [True]
    assert (state.status, state.wa_message_id, state.sent_at, state.error_code, state.error_message) == (
        "sent",
        WAMID,
        SENT.at,
        None,
        None,
    )


@pytest.mark.parametrize("code", ["131026", FailureCode.ACCOUNT_RATE_LIMITED.value])
def test_a_failure_that_is_whatsapps_word_or_before_any_call_stays(code: str) -> None:
    assert advance(delivery("failed", code), [DELIVERED])[1] == [False]


def test_equal_reports_the_first_wins() -> None:
    first, second = report("failed", 4, "131026"), report("failed", 4, "131026")
    assert advance(delivery("sent"), [first, second])[1] == [True, False]
