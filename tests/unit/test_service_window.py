"""The 24 h service window as a filter of conversation lists (domain/service_window.py): which
windows each filter keeps, a conversation whose customer never wrote counted as closed since
ever, and an empty range refused."""

from datetime import datetime, timedelta

import pytest

from services.conversations.domain.errors import InvalidArgument
from services.conversations.domain.service_window import NO_FILTER, WindowFilter
from tests.unit.fakes import T0

HOUR = timedelta(hours=1)
OPEN = T0 + HOUR  # closes in an hour
CLOSING_NOW = T0  # closes this instant: still open (the send path refuses only after it)
CLOSED = T0 - HOUR
NEVER = None  # the customer never wrote


@pytest.mark.parametrize(
    ("window", "kept"),
    [
        (NO_FILTER, [OPEN, CLOSING_NOW, CLOSED, NEVER]),
        (WindowFilter(can_send_free_form=True), [OPEN, CLOSING_NOW]),
        (WindowFilter(can_send_free_form=False), [CLOSED, NEVER]),
        # [after, before): the lower bound is kept, the upper one is not.
        (WindowFilter(expires_after=T0), [OPEN, CLOSING_NOW]),
        (WindowFilter(expires_after=T0 + timedelta(microseconds=1)), [OPEN]),
        (WindowFilter(expires_before=T0), [CLOSED, NEVER]),
        (WindowFilter(expires_before=OPEN), [CLOSING_NOW, CLOSED, NEVER]),
        (WindowFilter(expires_after=CLOSED, expires_before=OPEN), [CLOSING_NOW, CLOSED]),
        # Closing within the next two hours, and open now.
        (WindowFilter(can_send_free_form=True, expires_before=T0 + 2 * HOUR), [OPEN, CLOSING_NOW]),
        # Open now and closing after 2 h: none here; closed and closing after it: none either.
        (WindowFilter(can_send_free_form=True, expires_after=T0 + 2 * HOUR), []),
        (WindowFilter(can_send_free_form=False, expires_after=CLOSED), [CLOSED]),
    ],
)
def test_a_filter_keeps_the_windows_in_its_range(window: WindowFilter, kept: list[datetime | None]) -> None:
    every = [OPEN, CLOSING_NOW, CLOSED, NEVER]
    assert [expires for expires in every if window.keeps(expires, T0)] == kept


def test_can_send_free_form_is_a_range_that_starts_or_ends_now() -> None:
    every = [OPEN, CLOSING_NOW, CLOSED, NEVER]
    open_now, from_now = WindowFilter(can_send_free_form=True), WindowFilter(expires_after=T0)
    closed_now, before_now = WindowFilter(can_send_free_form=False), WindowFilter(expires_before=T0)
    assert [w for w in every if open_now.keeps(w, T0)] == [w for w in every if from_now.keeps(w, T0)]
    assert [w for w in every if closed_now.keeps(w, T0)] == [w for w in every if before_now.keeps(w, T0)]


def test_the_same_filter_keeps_a_window_until_it_closes() -> None:
    window = WindowFilter(can_send_free_form=True)
    assert window.keeps(OPEN, OPEN)
    assert not window.keeps(OPEN, OPEN + timedelta(microseconds=1))


@pytest.mark.parametrize("before", [T0, T0 - HOUR])
def test_an_empty_range_is_invalid(before: datetime) -> None:
    with pytest.raises(InvalidArgument, match="window_expires_after must be before window_expires_before"):
        WindowFilter(expires_after=T0, expires_before=before)


def test_a_filter_is_bounded_below_by_an_open_window_or_a_lower_bound() -> None:
    assert WindowFilter(can_send_free_form=True).bounded_below
    assert WindowFilter(expires_after=T0).bounded_below
    assert WindowFilter(can_send_free_form=False, expires_after=T0 - HOUR).bounded_below
    assert not NO_FILTER.bounded_below
    assert not WindowFilter(can_send_free_form=False).bounded_below
    assert not WindowFilter(expires_before=T0).bounded_below
