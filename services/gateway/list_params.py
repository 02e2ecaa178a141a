"""The query parameters of the lists (conversations by window and inbox state, message search)
and the bodies and headers of the inbox's changes (PATCH, labels, notes, If-Match): parsed
before anything reaches a service, or an ApiError naming the parameter, header or field."""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Literal, get_args

from msgspec import UNSET, Meta, Struct, UnsetType

from services.gateway.errors import ApiError
from services.gateway.fields import invalid
from services.gateway.models import WITHOUT_NUL
from services.gateway.validation import NUL_MESSAGE, UUID_PATTERN, decode_body
from services.shared.vocabulary import CONVERSATION_STATUSES, LABEL, MAX_SEARCH_CHARS


@dataclass(frozen=True, slots=True)
class WindowFilter:
    """GET /conversations' filter on the 24 h service window; None is no filter."""

    can_send_free_form: bool | None
    # Inclusive.
    window_expires_after: datetime | None
    # Exclusive.
    window_expires_before: datetime | None


# RFC 3339's date-time (section 5.6): a time zone is required; "t" and "z" may be lower case.
RFC_3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?([Zz]|[+-][0-9]{2}:[0-9]{2})"
)
BOOLEAN = {"true": True, "false": False}


def parse_window_filter(query: Mapping[str, str]) -> WindowFilter:
    """The query parameters can_send_free_form (true or false) and window_expires_after /
    window_expires_before (RFC 3339 times, after before before), each optional."""
    can_send = query.get("can_send_free_form")
    if can_send is not None and can_send not in BOOLEAN:
        raise invalid("can_send_free_form must be true or false", "can_send_free_form")
    window = WindowFilter(
        BOOLEAN[can_send] if can_send is not None else None,
        parse_time(query.get("window_expires_after"), "window_expires_after"),
        parse_time(query.get("window_expires_before"), "window_expires_before"),
    )
    after, before = window.window_expires_after, window.window_expires_before
    if after is not None and before is not None and after >= before:
        raise invalid("window_expires_before must be after window_expires_after", "window_expires_before")
    return window


def parse_time(raw: str | None, field: str) -> datetime | None:
    """An RFC 3339 time with its offset (or Z), in UTC; None when absent."""
    if raw is None:
        return None
    if RFC_3339.fullmatch(raw):
        try:
            return datetime.fromisoformat(raw.upper()).astimezone(UTC)
        except (ValueError, OverflowError):
            pass  # no such day or time, or outside years 1-9999 once in UTC
    # "+" in a query string reads as a space: a "+hh:mm" offset must be sent as "%2B".
    raise invalid(
        f"{field} must be an RFC 3339 time in years 0001-9999 with its offset, such as "
        "2026-11-25T14:03:07Z or 2026-11-25T19:33:07%2B05:30 (+ encoded)",
        field,
    )


@dataclass(frozen=True, slots=True)
class InboxFilter:
    """GET /conversations' filters on the inbox state and the contact; None (False) is none.
    `assignee` "" keeps the unassigned (`unassigned=true`)."""

    status: str | None
    assignee: str | None
    label: str | None
    unread: bool
    q: str | None


MAX_QUERY_CHARS = 100


def parse_inbox_filter(query: Mapping[str, str]) -> InboxFilter:
    """The query parameters status, assignee or unassigned=true, label, unread=true and q."""
    status = query.get("status")
    if status is not None and status not in CONVERSATION_STATUSES:
        raise invalid(f"status must be one of {', '.join(CONVERSATION_STATUSES)}", "status")
    assignee = query.get("assignee")
    if assignee is not None and not assignee:
        raise invalid("assignee must not be empty: for the unassigned, send unassigned=true", "assignee")
    unassigned = _flag(query, "unassigned")
    if unassigned and assignee is not None:
        raise invalid("send either assignee or unassigned=true, not both", "unassigned")
    label = query.get("label")
    if label is not None:
        _check_label(label, "label")
    q = query.get("q")
    if q is not None and not 0 < len(q) <= MAX_QUERY_CHARS:
        raise invalid(f"q must be 1 to {MAX_QUERY_CHARS} characters", "q")
    for name, value in (("assignee", assignee), ("q", q)):
        if value is not None and "\x00" in value:
            raise invalid(NUL_MESSAGE.format(field=name), name)
    return InboxFilter(status, "" if unassigned else assignee, label, _flag(query, "unread"), q)


@dataclass(frozen=True, slots=True)
class MessageSearch:
    """GET /messages/search's parameters; `conversation_id` "" is any conversation."""

    q: str
    conversation_id: str
    since: datetime | None
    until: datetime | None


def parse_message_search(query: Mapping[str, str]) -> MessageSearch:
    """The query parameters q (required), conversation_id, since and until (RFC 3339 times,
    until after since)."""
    q = query.get("q")
    if q is None or not 0 < len(q) <= MAX_SEARCH_CHARS:
        raise invalid(f"q is required: 1 to {MAX_SEARCH_CHARS} characters", "q")
    if "\x00" in q:
        raise invalid(NUL_MESSAGE.format(field="q"), "q")
    conversation_id = query.get("conversation_id", "")
    if "conversation_id" in query and not UUID_PATTERN.fullmatch(conversation_id):
        raise invalid("conversation_id must be a UUID", "conversation_id")
    since, until = parse_time(query.get("since"), "since"), parse_time(query.get("until"), "until")
    if since is not None and until is not None and since >= until:
        raise invalid("until must be after since", "until")
    return MessageSearch(q, conversation_id, since, until)


def _flag(query: Mapping[str, str], name: str) -> bool:
    raw = query.get(name, "false")
    if raw not in BOOLEAN:
        raise invalid(f"{name} must be true or false", name)
    return BOOLEAN[raw]


def _check_label(label: str, field: str) -> str:
    if not LABEL.fullmatch(label):
        raise invalid(f"{field} must be 1 to 64 letters, digits or '_', then also '.', ':' or '-'", field)
    return label


def parse_label(raw: str) -> str:
    """The {label} of a labels route."""
    return _check_label(raw, "label")


# An entity tag as pigeon gives them (ETag): the conversation's version, quoted.
ENTITY_TAG = re.compile(r'"([0-9]{1,18})"')


def etag(version: int) -> str:
    return f'"{version}"'


def parse_if_match(value: str | None) -> int | None:
    """The If-Match header: the version a write is based on; None when absent or "*"."""
    if value is None or value.strip() == "*":
        return None
    found = ENTITY_TAG.fullmatch(value.strip())
    if found is None:
        raise ApiError(
            400,
            "invalid_request",
            'If-Match must be the conversation\'s ETag, such as "3" (with the quotes), or *',
            {"field": "If-Match"},
        )
    return int(found.group(1))


@dataclass(frozen=True, slots=True)
class InboxPatch:
    """The body of PATCH /conversations/{id}: the fields given (None: unchanged). `assignee`
    "" unassigns (null in the body)."""

    status: str | None
    snoozed_until: datetime | None
    assignee: str | None


# The customer's own id of an agent or team, and a note, as conversations keeps them.
MAX_AGENT_ID_CHARS = 200
MAX_NOTE_CHARS = 4096
AgentId = Annotated[str, WITHOUT_NUL, Meta(min_length=1, max_length=MAX_AGENT_ID_CHARS)]
ConversationStatus = Literal["open", "pending", "resolved", "snoozed"]
assert get_args(ConversationStatus) == CONVERSATION_STATUSES


class InboxFields(Struct, forbid_unknown_fields=True):
    """The inbox fields of a conversation that a PATCH changes; absent ones stay."""

    status: ConversationStatus | UnsetType = UNSET
    snoozed_until: (
        Annotated[
            str,
            Meta(
                description="An RFC 3339 time with its offset; null: not snoozed",
                extra_json_schema={"format": "date-time"},
            ),
        ]
        | UnsetType
        | None
    ) = UNSET
    assignee: Annotated[AgentId, Meta(description="null: unassigned")] | UnsetType | None = UNSET


class NewNote(Struct):
    body: Annotated[str, WITHOUT_NUL, Meta(min_length=1, max_length=MAX_NOTE_CHARS)]
    author: Annotated[str, WITHOUT_NUL, Meta(max_length=MAX_AGENT_ID_CHARS)] | None = None


# At least one field: an empty PATCH is refused (parse_inbox_patch).
ConversationChange = Annotated[InboxFields, Meta(extra_json_schema={"minProperties": 1})]
PATCH_CHOICES = {"status": CONVERSATION_STATUSES}


def parse_inbox_patch(raw: bytes) -> InboxPatch:
    patch = decode_body(InboxFields, raw, PATCH_CHOICES)
    if patch.status is UNSET and patch.snoozed_until is UNSET and patch.assignee is UNSET:
        raise invalid("send at least one of status, snoozed_until, assignee", "status")
    snoozed_until = None if patch.snoozed_until is UNSET else patch.snoozed_until
    # null unassigns ("").
    assignee = None if patch.assignee is UNSET else patch.assignee or ""
    status = None if patch.status is UNSET else patch.status
    return InboxPatch(status, parse_time(snoozed_until, "snoozed_until"), assignee)


def parse_note(raw: bytes) -> tuple[str, str]:
    """The body of POST /conversations/{id}/notes: {"body", "author"?}; (body, author)."""
    note = decode_body(NewNote, raw, {})
    return note.body, note.author or ""
