"""The team inbox's rules (domain/inbox.py): status transitions and snoozes, what a change
reports, labels, version checks, and which filter leads a list."""

from datetime import UTC, datetime, timedelta

import pytest

from services.conversations.domain.errors import FailedPrecondition, InvalidArgument, VersionMismatch
from services.conversations.domain.inbox import (
    MAX_LABELS,
    ContactQuery,
    InboxFilter,
    InboxPatch,
    InboxState,
    check_note,
    check_version,
    labelled,
    patched,
    unlabelled,
)

NOW = datetime(2026, 12, 9, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def test_resolving_reports_the_status_change() -> None:
    new, changes = patched(InboxState(), InboxPatch(status="resolved"), NOW)
    assert new.status == "resolved"
    assert changes == {"status": {"from": "open", "to": "resolved"}}


def test_a_patch_that_changes_nothing_reports_nothing() -> None:
    state = InboxState(status="pending", assignee="agent-7")
    assert patched(state, InboxPatch(status="pending", assignee="agent-7"), NOW) == (state, {})


def test_snoozing_needs_a_time_in_the_future() -> None:
    with pytest.raises(InvalidArgument, match="snoozed_until is required"):
        patched(InboxState(), InboxPatch(status="snoozed"), NOW)
    with pytest.raises(InvalidArgument, match="in the future"):
        patched(InboxState(), InboxPatch(status="snoozed", snoozed_until=NOW), NOW)
    new, changes = patched(InboxState(), InboxPatch(status="snoozed", snoozed_until=NOW + HOUR), NOW)
    assert (new.status, new.snoozed_until) == ("snoozed", NOW + HOUR)
    assert changes["snoozed_until"] == {"from": None, "to": "2026-12-09T13:00:00.000000Z"}


def test_a_snoozed_conversation_takes_a_new_time_alone_and_another_status_clears_it() -> None:
    snoozed = InboxState(status="snoozed", snoozed_until=NOW + HOUR)
    later, changes = patched(snoozed, InboxPatch(snoozed_until=NOW + 2 * HOUR), NOW)
    assert (later.status, later.snoozed_until) == ("snoozed", NOW + 2 * HOUR)
    assert list(changes) == ["snoozed_until"]
    opened, changes = patched(snoozed, InboxPatch(status="open"), NOW)
    assert (opened.status, opened.snoozed_until) == ("open", None)
    assert changes == {
        "status": {"from": "snoozed", "to": "open"},
        "snoozed_until": {"from": "2026-12-09T13:00:00.000000Z", "to": None},
    }


def test_snoozed_until_goes_only_with_snoozed() -> None:
    with pytest.raises(InvalidArgument, match="only for status snoozed"):
        patched(InboxState(), InboxPatch(snoozed_until=NOW + HOUR), NOW)
    with pytest.raises(InvalidArgument, match="only for status snoozed"):
        patched(InboxState(), InboxPatch(status="pending", snoozed_until=NOW + HOUR), NOW)


def test_an_unknown_status_is_refused() -> None:
    with pytest.raises(InvalidArgument, match="status must be one of open, pending, resolved, snoozed"):
        patched(InboxState(), InboxPatch(status="closed"), NOW)


def test_a_snooze_that_ran_out_reads_open() -> None:
    ran_out = InboxState(status="snoozed", snoozed_until=NOW - HOUR)
    assert ran_out.as_of(NOW) == InboxState()
    running = InboxState(status="snoozed", snoozed_until=NOW + HOUR)
    assert running.as_of(NOW) == running


def test_assigning_and_unassigning() -> None:
    assigned, changes = patched(InboxState(), InboxPatch(assignee="team:billing"), NOW)
    assert changes == {"assignee": {"from": None, "to": "team:billing"}}
    unassigned, changes = patched(assigned, InboxPatch(assignee=""), NOW)
    assert unassigned.assignee == ""
    assert changes == {"assignee": {"from": "team:billing", "to": None}}
    with pytest.raises(InvalidArgument, match="assignee must be at most 200"):
        patched(InboxState(), InboxPatch(assignee="x" * 201), NOW)
    with pytest.raises(InvalidArgument, match="assignee"):
        patched(InboxState(), InboxPatch(assignee="a\nb"), NOW)


def test_labels_are_a_sorted_set() -> None:
    state, changes = labelled(InboxState(), "vip")
    state, changes = labelled(state, "billing")
    assert state.labels == ("billing", "vip")
    assert changes == {"labels": {"from": ["vip"], "to": ["billing", "vip"]}}
    assert labelled(state, "vip") == (state, {})
    state, changes = unlabelled(state, "vip")
    assert state.labels == ("billing",)
    assert unlabelled(state, "vip") == (state, {})


@pytest.mark.parametrize("label", ["", "-x", "has space", "a/b", "x" * 65])
def test_a_label_must_be_one(label: str) -> None:
    with pytest.raises(InvalidArgument, match="label must be"):
        labelled(InboxState(), label)


def test_a_conversation_has_only_so_many_labels() -> None:
    full = InboxState(labels=tuple(f"l{i:02d}" for i in range(MAX_LABELS)))
    with pytest.raises(FailedPrecondition, match=f"at most {MAX_LABELS} labels"):
        labelled(full, "one-more")
    assert labelled(full, "l00") == (full, {})


def test_a_stale_version_is_refused() -> None:
    check_version(3, None)
    check_version(3, 3)
    with pytest.raises(VersionMismatch, match="at version 3, not 2"):
        check_version(3, 2)


def test_a_note_needs_a_body() -> None:
    check_note("called back", "")
    with pytest.raises(InvalidArgument, match="body must not be empty"):
        check_note("  ", "agent-1")
    with pytest.raises(InvalidArgument, match="body must be at most 4096"):
        check_note("x" * 4097, "")


@pytest.mark.parametrize(
    ("text", "wa_id", "user_id"),
    [
        ("+1 555-010-0001", "15550100001", None),
        ("15550100001", "15550100001", None),
        ("US.13491208655302741918", None, "US.13491208655302741918"),
        ("Ada", None, None),
    ],
)
def test_q_names_a_phone_number_a_bsuid_or_a_name(text: str, wa_id: str | None, user_id: str | None) -> None:
    query = ContactQuery(text)
    assert (query.wa_id, query.user_id) == (wa_id, user_id)


def test_the_filter_likely_to_keep_fewest_leads_an_ordered_walk() -> None:
    assert InboxFilter(unread=True).ordered_lead == "unread"
    assert InboxFilter(status="open", unread=True).ordered_lead == "status"
    assert InboxFilter(status="open", assignee="").ordered_lead == "assignee"


def test_a_filter_checks_its_values() -> None:
    with pytest.raises(InvalidArgument, match="status must be one of"):
        InboxFilter(status="closed")
    with pytest.raises(InvalidArgument, match="label must be"):
        InboxFilter(label="a b")
    with pytest.raises(InvalidArgument, match="q must be 1 to 100"):
        ContactQuery("x" * 101)
