"""What a WhatsApp webhook notification asks to change: inbound messages, delivery statuses,
contacts' new identities and marketing preferences.

Pure parsing of Meta's payload (`entry[].changes[]` of the `messages` and `user_preferences`
fields), no I/O. Parts of an unexpected shape are counted and skipped, never fatal: Meta
retries a notification that is not acknowledged, and the same bytes would fail again.

A WhatsApp user is named by a phone number (`wa_id`, `from`, `recipient_id`), a
business-scoped user id (BSUID: `user_id`, `from_user_id`, `recipient_user_id`), or both:
since April 2026 every message webhook carries the BSUID, and a user who adopted a username
may come without a phone number (Meta, "Business-scoped user IDs",
https://developers.facebook.com/documentation/business-messaging/whatsapp/business-scoped-user-ids).
A status is matched by its message's WhatsApp id, so it needs neither.
"""

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import orjson

from services.conversations.domain.media import InboundMedia, inbound_media
from services.conversations.domain.statuses import REPORTED, StatusReport
from services.conversations.domain.templates import TEMPLATE_STATUS_FIELD

# What parsing a message or status of an unexpected shape raises.
PAYLOAD_ERRORS = (LookupError, TypeError, ValueError, AttributeError)


@dataclass(frozen=True, slots=True)
class Inbound:
    account_id: UUID
    # The sender's phone number and BSUID; either may be "" (not given), not both.
    wa_id: str
    profile_name: str
    wa_message_id: str
    type: str
    body_json: str
    reply_to: str
    sent_at: datetime
    # The file it carries, for pigeon to copy (image, audio, video, document, sticker).
    media: InboundMedia | None = None
    user_id: str = ""
    # The sender's WhatsApp username (`contacts[].profile.username`), "" when not given.
    username: str = ""


@dataclass(frozen=True, slots=True)
class IdentityChange:
    """A user changed phone number (`user_changed_number`) or got a new BSUID
    (`user_changed_user_id`): the contact known by the old identifiers takes the new ones,
    keeping its conversation. "" where the webhook does not say (the id does not change)."""

    account_id: UUID
    old_wa_id: str
    old_user_id: str
    new_wa_id: str
    new_user_id: str


@dataclass(frozen=True, slots=True)
class MarketingPreference:
    """A user stopped (`opted_out`) or resumed marketing messages, as of `at` (the webhook's time)."""

    account_id: UUID
    wa_id: str
    user_id: str
    opted_out: bool
    at: datetime


@dataclass(frozen=True, slots=True)
class StatusUpdate:
    account_id: UUID
    # pigeon's message id, echoed by WhatsApp in biz_opaque_callback_data: matches a status
    # that arrives before the send's outcome stored the WhatsApp id.
    callback_id: UUID | None
    report: StatusReport


@dataclass
class Changes:
    inbound: list[Inbound] = field(default_factory=list)
    statuses: list[StatusUpdate] = field(default_factory=list)
    identity_changes: list[IdentityChange] = field(default_factory=list)
    preferences: list[MarketingPreference] = field(default_factory=list)
    # What was skipped, and why: other_fields, invalid_messages, invalid_statuses,
    # invalid_identity_changes, invalid_preferences, other_preferences, errors.
    counts: Counter[str] = field(default_factory=Counter)
    # Phone numbers named that are not of an account this notification's signature covers.
    unknown_numbers: list[str] = field(default_factory=list)


def _time(raw: Any) -> datetime:
    try:
        return datetime.fromtimestamp(int(raw), UTC)
    except (OverflowError, OSError) as exc:
        raise ValueError(f"timestamp out of range: {raw!r}") from exc


def _items(raw: Any) -> list[Any]:
    """A list in a payload; anything else counts as an empty one."""
    return raw if isinstance(raw, list) else []


def _objects(raw: Any) -> list[dict[str, Any]]:
    return [item for item in _items(raw) if isinstance(item, dict)]


def without_nul(value: Any) -> Any:
    """PostgreSQL's text and jsonb refuse U+0000, which JSON allows: dropped from every string."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, list):
        return [without_nul(item) for item in value]
    if isinstance(value, dict):
        return {without_nul(key): without_nul(item) for key, item in value.items()}
    return value


def _callback_id(raw: Any) -> UUID | None:
    try:
        return UUID(str(raw)) if raw else None
    except ValueError:
        return None


# The fields whose changes pigeon applies here; template status updates are read by
# `templates.template_status_changes`, and counted as neither.
APPLIED_FIELDS = frozenset({"messages", "user_preferences"})
APPLIED_ELSEWHERE = frozenset({TEMPLATE_STATUS_FIELD})
# System messages that give a user new identifiers (Meta, "System messages webhook reference").
CHANGED_NUMBER = "user_changed_number"
CHANGED_USER_ID = "user_changed_user_id"


def _field_values(payload: dict[str, Any]) -> tuple[list[tuple[str, str, dict[str, Any]]], int]:
    """Each change of an applied field as (its field, its phone number id, its value), and how
    many changes of other fields there were."""
    values: list[tuple[str, str, dict[str, Any]]] = []
    other_fields = 0
    for entry in _objects(payload.get("entry")):
        for change in _objects(entry.get("changes")):
            value = change.get("value")
            if change.get("field") in APPLIED_ELSEWHERE:
                continue
            if change.get("field") not in APPLIED_FIELDS or not isinstance(value, dict):
                other_fields += 1
                continue
            metadata = value.get("metadata")
            number = metadata.get("phone_number_id", "") if isinstance(metadata, dict) else ""
            values.append((str(change["field"]), str(number), value))
    return values, other_fields


def phone_numbers_named(payload: dict[str, Any]) -> list[str]:
    """The business phone numbers a notification is about, in order, each once."""
    return list(dict.fromkeys(number for _, number, _ in _field_values(payload)[0] if number))


def _text(raw: Any) -> str:
    """An identifier as the payload gives it: absent, null and "" (Meta has sent `wa_id` as
    an empty string where the phone number is withheld) are all "not given"."""
    return str(raw) if raw not in (None, "") else ""


def profiles_in(value: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """(profile name, username) of each user `value.contacts` names, by phone and by BSUID."""
    profiles: dict[str, tuple[str, str]] = {}
    for contact in _objects(value.get("contacts")):
        profile = contact.get("profile")
        if not isinstance(profile, dict):
            profile = {}
        named = (_text(profile.get("name")), _text(profile.get("username")))
        for key in (_text(contact.get("user_id")), _text(contact.get("wa_id"))):
            if key:
                profiles[key] = named
    return profiles


def identity_change(account_id: UUID, message: dict[str, Any]) -> IdentityChange | None:
    """What a `user_changed_number` or `user_changed_user_id` system message changes; None for
    any other message. `from` carries the phone number the user is known by (the old one for
    a new number), `system` the new `wa_id` and `user_id`; the old BSUID is in
    `system.previous_user_id` (Meta's changelog, Aug 2026), else in `from_user_id`."""
    system = message.get("system")
    if message.get("type") != "system" or not isinstance(system, dict):
        return None
    kind = system.get("type")
    if kind not in (CHANGED_NUMBER, CHANGED_USER_ID):
        return None
    change = IdentityChange(
        account_id=account_id,
        old_wa_id=_text(message.get("from")),
        old_user_id=_text(system.get("previous_user_id")) or _text(message.get("from_user_id")),
        new_wa_id=_text(system.get("wa_id")) if kind == CHANGED_NUMBER else "",
        new_user_id=_text(system.get("user_id")),
    )
    if not (change.old_wa_id or change.old_user_id) or not (change.new_wa_id or change.new_user_id):
        raise ValueError(f"{kind} names no old or no new identifier")
    return change


def _valid_identity_change(account_id: UUID, message: dict[str, Any]) -> IdentityChange | None:
    try:
        return identity_change(account_id, message)
    except PAYLOAD_ERRORS:
        return None


def parse_inbound(account_id: UUID, profiles: dict[str, tuple[str, str]], message: dict[str, Any]) -> Inbound:
    message_type = str(message.get("type", "unsupported"))
    if message_type == "unsupported":
        body: Any = {"errors": message.get("errors", [])}
    else:
        body = message.get(message_type, {})
    wa_id, user_id = _text(message.get("from")), _text(message.get("from_user_id"))
    if change := _valid_identity_change(account_id, message):
        # Stored under the contact as the change leaves it.
        wa_id, user_id = change.new_wa_id or wa_id, change.new_user_id or user_id
    if not (wa_id or user_id):
        raise ValueError("a message from no one: neither from nor from_user_id")
    name, username = profiles.get(user_id) or profiles.get(wa_id) or ("", "")
    return Inbound(
        account_id=account_id,
        wa_id=wa_id,
        profile_name=name,
        wa_message_id=str(message["id"]),
        type=message_type,
        body_json=orjson.dumps(body).decode(),
        reply_to=str((message.get("context") or {}).get("id", "")),
        sent_at=_time(message["timestamp"]),
        media=inbound_media(message_type, body),
        user_id=user_id,
        username=username,
    )


def parse_status(account_id: UUID, status: dict[str, Any]) -> StatusUpdate | None:
    if status.get("status") not in REPORTED:
        return None
    errors = status.get("errors") or [{}]
    error = errors[0] if isinstance(errors[0], dict) else {}
    failed = status["status"] == "failed"
    details = (error.get("error_data") or {}).get("details", "")
    report = StatusReport(
        status=str(status["status"]),
        wa_message_id=str(status["id"]),
        at=_time(status["timestamp"]),
        error_code=str(error.get("code", "unknown")) if failed else None,
        error_message=" ".join(filter(None, [error.get("title") or error.get("message"), details]))
        if failed
        else None,
    )
    return StatusUpdate(account_id, _callback_id(status.get("biz_opaque_callback_data")), report)


# `user_preferences` values (Meta, "user_preferences webhook reference").
MARKETING_CATEGORY = "marketing_messages"
PREFERENCE_OPTED_OUT = {"stop": True, "resume": False}


def parse_preference(account_id: UUID, preference: dict[str, Any]) -> MarketingPreference | None:
    """A marketing preference; None for another category. Raises for a malformed one."""
    if preference.get("category") != MARKETING_CATEGORY:
        return None
    wa_id, user_id = _text(preference.get("wa_id")), _text(preference.get("user_id"))
    if not (wa_id or user_id):
        raise ValueError("a preference of no one: neither wa_id nor user_id")
    return MarketingPreference(
        account_id, wa_id, user_id, PREFERENCE_OPTED_OUT[preference["value"]], _time(preference["timestamp"])
    )


def with_identities_changed(changes: list[IdentityChange], inbound: list[Inbound]) -> list[Inbound]:
    """Inbound messages of a batch that also changes their senders' identifiers, under the new
    ones: all of a user's messages stay with one contact, whichever came first."""
    by_wa_id = {c.old_wa_id: c for c in changes if c.old_wa_id}
    by_user_id = {c.old_user_id: c for c in changes if c.old_user_id}
    moved = []
    for message in inbound:
        change = by_user_id.get(message.user_id) or by_wa_id.get(message.wa_id)
        if change is not None:
            message = replace(
                message,
                wa_id=change.new_wa_id or message.wa_id,
                user_id=change.new_user_id or message.user_id,
            )
        moved.append(message)
    return moved


def changes_in(payload: dict[str, Any], accounts: Mapping[str, UUID], signed_for: set[UUID]) -> Changes:
    """The changes a verified notification asks for. `accounts` maps phone number ids to
    accounts; a change for a number of no account in `signed_for` (those whose app secret
    signed it) is not applied, only reported in `unknown_numbers`."""
    changes = Changes()
    values, other_fields = _field_values(payload)
    if other_fields:
        changes.counts["other_fields"] = other_fields
    for field_name, phone_number_id, value in values:
        account_id = accounts.get(phone_number_id)
        if account_id is None or account_id not in signed_for:
            changes.unknown_numbers.append(phone_number_id)
            continue
        if field_name == "user_preferences":
            _add_preferences(changes, account_id, value)
            continue
        profiles = profiles_in(value)
        for message in _items(value.get("messages")):
            try:
                changes.inbound.append(parse_inbound(account_id, profiles, message))
            except PAYLOAD_ERRORS:
                changes.counts["invalid_messages"] += 1
                continue
            try:
                change = identity_change(account_id, message)
            except PAYLOAD_ERRORS:
                # Stored as the system message it is; the contact stays as it was.
                changes.counts["invalid_identity_changes"] += 1
                continue
            if change is not None:
                changes.identity_changes.append(change)
        for status in _items(value.get("statuses")):
            try:
                update = parse_status(account_id, status)
            except PAYLOAD_ERRORS:
                update = None
            if update is None:
                changes.counts["invalid_statuses"] += 1
            else:
                changes.statuses.append(update)
        if value.get("errors"):
            changes.counts["errors"] += len(value["errors"]) if isinstance(value["errors"], list) else 1
    return changes


def _add_preferences(changes: Changes, account_id: UUID, value: dict[str, Any]) -> None:
    for item in _items(value.get("user_preferences")):
        try:
            preference = parse_preference(account_id, item)
        except PAYLOAD_ERRORS:
            changes.counts["invalid_preferences"] += 1
            continue
        if preference is None:
            changes.counts["other_preferences"] += 1
        else:
            changes.preferences.append(preference)
