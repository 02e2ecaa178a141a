"""What a WhatsApp webhook notification asks to change: inbound messages and delivery statuses.

Pure parsing of Meta's payload (`entry[].changes[]` of the `messages` field), no I/O. Parts
of an unexpected shape are counted and skipped, never fatal: Meta retries a notification that
is not acknowledged, and the same bytes would fail again.
"""

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import orjson

from services.conversations.domain.media import InboundMedia, inbound_media
from services.conversations.domain.statuses import REPORTED, StatusReport

# What parsing a message or status of an unexpected shape raises.
PAYLOAD_ERRORS = (LookupError, TypeError, ValueError, AttributeError)


@dataclass(frozen=True, slots=True)
class Inbound:
    account_id: UUID
    wa_id: str
    profile_name: str
    wa_message_id: str
    type: str
    body_json: str
    reply_to: str
    sent_at: datetime
    # The file it carries, for pigeon to copy (image, audio, video, document, sticker).
    media: InboundMedia | None = None


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
    # What was skipped, and why: other_fields, invalid_messages, invalid_statuses, errors.
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


def _message_values(payload: dict[str, Any]) -> tuple[list[tuple[str, dict[str, Any]]], int]:
    """Each change of the `messages` field as (its phone number id, its value), and how many
    changes of other fields there were."""
    values: list[tuple[str, dict[str, Any]]] = []
    other_fields = 0
    for entry in _objects(payload.get("entry")):
        for change in _objects(entry.get("changes")):
            value = change.get("value")
            if change.get("field") != "messages" or not isinstance(value, dict):
                other_fields += 1
                continue
            metadata = value.get("metadata")
            number = metadata.get("phone_number_id", "") if isinstance(metadata, dict) else ""
            values.append((str(number), value))
    return values, other_fields


def phone_numbers_named(payload: dict[str, Any]) -> list[str]:
    """The business phone numbers a notification is about, in order, each once."""
    return list(dict.fromkeys(number for number, _ in _message_values(payload)[0] if number))


def parse_inbound(account_id: UUID, names: dict[str, str], message: dict[str, Any]) -> Inbound:
    message_type = str(message.get("type", "unsupported"))
    if message_type == "unsupported":
        body: Any = {"errors": message.get("errors", [])}
    else:
        body = message.get(message_type, {})
    sender = str(message["from"])
    return Inbound(
        account_id=account_id,
        wa_id=sender,
        profile_name=names.get(sender, ""),
        wa_message_id=str(message["id"]),
        type=message_type,
        body_json=orjson.dumps(body).decode(),
        reply_to=str((message.get("context") or {}).get("id", "")),
        sent_at=_time(message["timestamp"]),
        media=inbound_media(message_type, body),
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


def changes_in(payload: dict[str, Any], accounts: Mapping[str, UUID], signed_for: set[UUID]) -> Changes:
    """The changes a verified notification asks for. `accounts` maps phone number ids to
    accounts; a change for a number of no account in `signed_for` (those whose app secret
    signed it) is not applied, only reported in `unknown_numbers`."""
    changes = Changes()
    values, other_fields = _message_values(payload)
    if other_fields:
        changes.counts["other_fields"] = other_fields
    for phone_number_id, value in values:
        account_id = accounts.get(phone_number_id)
        if account_id is None or account_id not in signed_for:
            changes.unknown_numbers.append(phone_number_id)
            continue
        names = {
            str(c.get("wa_id")): str(c["profile"].get("name", ""))
            for c in _objects(value.get("contacts"))
            if isinstance(c.get("profile"), dict)
        }
        for message in _items(value.get("messages")):
            try:
                changes.inbound.append(parse_inbound(account_id, names, message))
            except PAYLOAD_ERRORS:
                changes.counts["invalid_messages"] += 1
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
