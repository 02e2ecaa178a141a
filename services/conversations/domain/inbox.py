"""A conversation's place in the team inbox: its status, snooze, assignee and labels; how a
change moves them, what it reports, and how lists filter on them.

- `status` is one of vocabulary.CONVERSATION_STATUSES. "snoozed" needs a `snoozed_until` in the
  future, and only it has one: another status clears it. A snooze that ran out reads "open"
  (`as_of`); the reopening job then stores it so, as an inbound message does for
  REOPENED_BY_INBOUND (both in SQL, `pigeon_reopen_changes`, with the same `changes`).
- `assignee` is the customer's own agent or team id, opaque to pigeon; "" is unassigned.
- `labels` is a set, kept sorted.
- Each change reports what it changed: `{"<field>": {"from": ..., "to": ...}}`, as the
  conversation.updated event carries it; a change that changes nothing reports `{}` and makes
  no event.
"""

import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from services.conversations.domain.errors import FailedPrecondition, InvalidArgument, VersionMismatch
from services.shared.vocabulary import BSUID, CONVERSATION_STATUSES, LABEL, RECIPIENT

SNOOZED = "snoozed"
OPEN = "open"
# The statuses an inbound message ends: the customer wrote, the conversation needs the team.
REOPENED_BY_INBOUND = ("resolved", SNOOZED)

MAX_LABELS = 32
# An assignee or a note's author: the customer's own id of an agent or a team.
MAX_AGENT_ID_CHARS = 200
MAX_NOTE_CHARS = 4096
MAX_QUERY_CHARS = 100

Changes = dict[str, dict[str, Any]]


@dataclass(frozen=True, slots=True)
class InboxState:
    status: str = OPEN
    snoozed_until: datetime | None = None
    assignee: str = ""
    labels: tuple[str, ...] = ()

    def as_of(self, now: datetime) -> "InboxState":
        """The state as it reads at `now`: a snooze that ran out is open."""
        if self.status == SNOOZED and self.snoozed_until is not None and self.snoozed_until <= now:
            return replace(self, status=OPEN, snoozed_until=None)
        return self


@dataclass(frozen=True, slots=True)
class InboxPatch:
    """What a PATCH gives; None: not given. `assignee` "" unassigns."""

    status: str | None = None
    snoozed_until: datetime | None = None
    assignee: str | None = None


@dataclass(frozen=True, slots=True)
class Note:
    """An agent's internal note on a conversation: kept by pigeon, never sent to WhatsApp."""

    id: UUID
    conversation_id: UUID
    author: str
    body: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Versioned:
    """A conversation's inbox state as locked for a change, and its version."""

    state: InboxState
    version: int


def check_version(current: int, expected: int | None) -> None:
    """A write based on a stale read (`If-Match`) is refused."""
    if expected is not None and expected != current:
        raise VersionMismatch(f"the conversation is at version {current}, not {expected}")


def patched(state: InboxState, patch: InboxPatch, now: datetime) -> tuple[InboxState, Changes]:
    """The state after a PATCH read at `now`, and what changed."""
    current = state.as_of(now)
    status = current.status if patch.status is None else patch.status
    if status not in CONVERSATION_STATUSES:
        raise InvalidArgument(f"status must be one of {', '.join(CONVERSATION_STATUSES)}")
    if status == SNOOZED:
        snoozed_until = patch.snoozed_until or current.snoozed_until
        if snoozed_until is None:
            raise InvalidArgument("snoozed_until is required to snooze a conversation")
        if snoozed_until <= now:
            raise InvalidArgument("snoozed_until must be in the future")
    elif patch.snoozed_until is not None:
        raise InvalidArgument("snoozed_until is only for status snoozed")
    else:
        snoozed_until = None
    assignee = current.assignee if patch.assignee is None else check_agent_id(patch.assignee, "assignee")
    new = replace(current, status=status, snoozed_until=snoozed_until, assignee=assignee)
    return new, changes(state, new)


def labelled(state: InboxState, label: str) -> tuple[InboxState, Changes]:
    check_label(label)
    if label in state.labels:
        return state, {}
    if len(state.labels) >= MAX_LABELS:
        raise FailedPrecondition(f"a conversation has at most {MAX_LABELS} labels")
    new = replace(state, labels=tuple(sorted((*state.labels, label))))
    return new, changes(state, new)


def unlabelled(state: InboxState, label: str) -> tuple[InboxState, Changes]:
    check_label(label)
    new = replace(state, labels=tuple(x for x in state.labels if x != label))
    return new, changes(state, new)


def changes(old: InboxState, new: InboxState) -> Changes:
    """The fields that differ, as the event's `changes` shows them (as the API does)."""
    before, after = _shown(old), _shown(new)
    return {name: {"from": before[name], "to": after[name]} for name in before if before[name] != after[name]}


def _shown(state: InboxState) -> dict[str, Any]:
    return {
        "status": state.status,
        "snoozed_until": time_json(state.snoozed_until),
        "assignee": state.assignee or None,
        "labels": list(state.labels),
    }


def time_json(value: datetime | None) -> str | None:
    """As PostgreSQL's pigeon_ts writes times: UTC, six fraction digits."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ") if value is not None else None


def check_label(label: str) -> str:
    if not LABEL.fullmatch(label):
        raise InvalidArgument(
            "label must be 1 to 64 letters, digits or '_', then also '.', ':' or '-', starting with "
            "a letter, digit or '_'"
        )
    return label


def check_agent_id(value: str, field: str) -> str:
    if len(value) > MAX_AGENT_ID_CHARS or not value.isprintable():
        raise InvalidArgument(f"{field} must be at most {MAX_AGENT_ID_CHARS} printable characters")
    return value


def check_note(body: str, author: str) -> None:
    if not body.strip():
        raise InvalidArgument("body must not be empty")
    if len(body) > MAX_NOTE_CHARS:
        raise InvalidArgument(f"body must be at most {MAX_NOTE_CHARS} characters")
    check_agent_id(author, "author")


@dataclass(frozen=True, slots=True)
class ContactQuery:
    """`q` of a list: the contact's phone number or BSUID exactly, or the start of their name
    (any case)."""

    text: str

    def __post_init__(self) -> None:
        if not 0 < len(self.text) <= MAX_QUERY_CHARS:
            raise InvalidArgument(f"q must be 1 to {MAX_QUERY_CHARS} characters")

    @property
    def wa_id(self) -> str | None:
        """The digits of a phone number, written with a "+", spaces or dashes or not."""
        digits = re.sub(r"[\s-]", "", self.text)
        found = RECIPIENT.fullmatch(digits)
        return found.group(1) if found else None

    @property
    def user_id(self) -> str | None:
        return self.text if BSUID.fullmatch(self.text) else None


@dataclass(frozen=True, slots=True)
class InboxFilter:
    """What a list keeps by inbox state; None (False for `unread`): any. `assignee` "" keeps the
    unassigned. A snooze that ran out counts as open once the reopening job stored it so (within
    its period, `entrypoints/snooze_worker.py`), and no longer as snoozed at once."""

    status: str | None = None
    assignee: str | None = None
    label: str | None = None
    unread: bool = False
    q: ContactQuery | None = None

    def __post_init__(self) -> None:
        if self.status is not None and self.status not in CONVERSATION_STATUSES:
            raise InvalidArgument(f"status must be one of {', '.join(CONVERSATION_STATUSES)}")
        if self.label is not None:
            check_label(self.label)
        if self.assignee is not None:
            check_agent_id(self.assignee, "assignee")

    @property
    def ordered_lead(self) -> str:
        """Which filter's ordered index a list walks (reads.sql) when none of the few-keeping
        filters leads (`q`, `label`, a window's lower bound): the one likely to keep the
        fewest of those set."""
        if self.assignee is not None:
            return "assignee"
        return "status" if self.status is not None else "unread"


NO_INBOX_FILTER = InboxFilter()
