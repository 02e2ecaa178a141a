"""Rows as the domain's records."""

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
import orjson

from services.conversations.domain.inbox import InboxState
from services.conversations.domain.media import Media, MediaStatus
from services.conversations.domain.model import (
    Content,
    Conversation,
    ConversationRef,
    Direction,
    Message,
    MessageStatus,
    Page,
    ReadReceipt,
)


def message(row: asyncpg.Record) -> Message:
    return Message(
        id=row["id"],
        account_id=row["account_id"],
        conversation_id=row["conversation_id"],
        direction=Direction(row["direction"]),
        contact_wa_id=row["contact_wa_id"] or "",
        content=Content(row["type"], row["body"].encode(), row["reply_to_wa_message_id"]),
        status=MessageStatus(row["status"]),
        wa_message_id=row["wa_message_id"],
        error_code=row["error_code"],
        error_message=row["error_message"],
        created_at=row["created_at"],
        sent_at=row["sent_at"],
        delivered_at=row["delivered_at"],
        read_at=row["read_at"],
        failed_at=row["failed_at"],
        media=media_of_json(row["media"]) if row["media"] else None,
    )


def media_of_json(text: str) -> Media:
    """A media row from its resource JSON (pigeon_media_json), as message rows carry it."""
    data = orjson.loads(text)
    return media_of_fields(data, UUID(data["id"]))


def media(row: asyncpg.Record) -> Media:
    return media_of_fields(row, row["id"])


def media_of_fields(fields: Mapping[str, Any], media_id: UUID) -> Media:
    return Media(
        id=media_id,
        status=MediaStatus(fields["status"]),
        mime_type=fields["mime_type"],
        size=fields["size"],
        sha256=fields["sha256"],
        filename=fields["filename"],
        caption=fields["caption"],
        failure_reason=fields["failure_reason"],
    )


def conversation_ref(row: asyncpg.Record) -> ConversationRef:
    return ConversationRef(
        row["id"],
        row["account_id"],
        row["contact_wa_id"] or "",
        row["last_inbound_at"],
        row["contact_user_id"] or "",
    )


def conversation(row: asyncpg.Record) -> Conversation:
    return Conversation(
        id=row["id"],
        account_id=row["account_id"],
        contact_wa_id=row["contact_wa_id"] or "",
        contact_name=row["contact_name"],
        created_at=row["created_at"],
        last_message_at=row["last_message_at"],
        last_inbound_at=row["last_inbound_at"],
        last_activity_at=row["last_activity_at"],
        unread_count=row["unread_count"],
        window_expires_at=row["window_expires_at"],
        can_send_free_form=row["can_send_free_form"],
        read_receipt=read_receipt_of_json(row["read_receipt"]) if row["read_receipt"] else None,
        contact_user_id=row["contact_user_id"] or "",
        contact_username=row["contact_username"] or "",
        contact_marketing_opt_out=row["contact_marketing_opt_out"],
        inbox=InboxState(row["status"], row["snoozed_until"], row["assignee"], tuple(row["labels"])),
        version=row["version"],
    )


def read_receipt_of_json(text: str) -> ReadReceipt:
    data = orjson.loads(text)
    error = data["error"] or {}
    return ReadReceipt(
        message_id=data["message_id"],
        status=data["status"],
        error_code=error.get("code"),
        error_message=error.get("message"),
        at=datetime.fromisoformat(data["at"]),
    )


def after(page: Page | None) -> dict[str, Any]:
    """The parameters of a page's start: the sort key of the last row before it."""
    if page is None:
        return {"after_time": None, "after_id": None}
    return {"after_time": page.after_time, "after_id": page.after_id}
