"""The JSON resources of the HTTP API, built from the services' protobuf messages."""

import time
from typing import Any

import orjson
from google.protobuf.timestamp_pb2 import Timestamp
from pigeon.conversations.v1 import admin_pb2 as admin_pb
from pigeon.conversations.v1 import conversations_pb2 as pb
from pigeon.conversations.v1 import templates_pb2 as templates_pb
from pigeon.conversations.v1 import webhook_endpoints_pb2 as hooks_pb

_DIRECTION = {pb.DIRECTION_OUTBOUND: "outbound", pb.DIRECTION_INBOUND: "inbound"}
_STATUS = {
    pb.MESSAGE_STATUS_QUEUED: "queued",
    pb.MESSAGE_STATUS_SENDING: "sending",
    pb.MESSAGE_STATUS_SENT: "sent",
    pb.MESSAGE_STATUS_DELIVERED: "delivered",
    pb.MESSAGE_STATUS_READ: "read",
    pb.MESSAGE_STATUS_FAILED: "failed",
    pb.MESSAGE_STATUS_RECEIVED: "received",
}


def timestamp_json(timestamp: Timestamp) -> str:
    """RFC 3339 in UTC with microseconds, always six digits: the form PostgreSQL's
    pigeon_ts gives the events, so a resource reads the same over HTTP and the WebSocket
    (protobuf's ToJsonString drops trailing zeros: ".012Z", or no fraction at all)."""
    t = time.gmtime(timestamp.seconds)
    return (
        f"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d}T{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}"
        f".{timestamp.nanos // 1000:06d}Z"
    )


def time_json(holder: Any, field: str) -> str | None:
    if not holder.HasField(field):
        return None
    return timestamp_json(getattr(holder, field))


def message_json(message: pb.Message) -> dict[str, Any]:
    content = message.content
    resource: dict[str, Any] = {
        "id": message.id,
        "conversation_id": message.conversation_id,
        "direction": _DIRECTION.get(message.direction, "unknown"),
        "contact_wa_id": message.contact_wa_id or None,
        "type": content.type,
        # Stored as validated JSON: spliced in as is, not decoded and encoded again.
        content.type: orjson.Fragment(content.body_json),
        "status": _STATUS.get(message.status, "unknown"),
        "wa_message_id": message.wa_message_id or None,
        "error": {"code": message.error_code, "message": message.error_message}
        if message.error_code
        else None,
        "created_at": time_json(message, "created_at"),
        "sent_at": time_json(message, "sent_at"),
        "delivered_at": time_json(message, "delivered_at"),
        "read_at": time_json(message, "read_at"),
        "failed_at": time_json(message, "failed_at"),
    }
    if content.reply_to_wa_message_id:
        resource["context"] = {"message_id": content.reply_to_wa_message_id}
    if message.HasField("media"):
        resource["media"] = media_json(message.media)
    return resource


_MEDIA_STATUS = {
    pb.MEDIA_STATUS_PENDING: "pending",
    pb.MEDIA_STATUS_STORED: "stored",
    pb.MEDIA_STATUS_FAILED: "failed",
    pb.MEDIA_STATUS_DELETED: "deleted",
}


def media_json(media: pb.Media) -> dict[str, Any]:
    """A media file; size and sha256 are null until it is stored."""
    return {
        "id": media.id,
        "status": _MEDIA_STATUS.get(media.status, "unknown"),
        "mime_type": media.mime_type,
        "size": media.size if media.sha256 else None,
        "sha256": media.sha256 or None,
        "filename": media.filename,
        "caption": media.caption,
        "failure_reason": media.failure_reason or None,
    }


def conversation_json(conversation: pb.Conversation) -> dict[str, Any]:
    return {
        "id": conversation.id,
        "contact": {
            "wa_id": conversation.contact_wa_id or None,
            "user_id": conversation.contact_user_id or None,
            "username": conversation.contact_username or None,
            "name": conversation.contact_name or None,
            "marketing_opt_out": conversation.contact_marketing_opt_out,
        },
        "created_at": time_json(conversation, "created_at"),
        "last_message_at": time_json(conversation, "last_message_at"),
        "last_inbound_at": time_json(conversation, "last_inbound_at"),
        "unread_count": conversation.unread_count,
        "window_expires_at": time_json(conversation, "window_expires_at"),
        "can_send_free_form": conversation.can_send_free_form,
        "read_receipt": read_receipt_json(conversation.read_receipt)
        if conversation.HasField("read_receipt")
        else None,
        "status": conversation.status,
        "snoozed_until": time_json(conversation, "snoozed_until"),
        "assignee": conversation.assignee or None,
        "labels": list(conversation.labels),
        "version": conversation.version,
    }


def note_json(note: pb.ConversationNote) -> dict[str, Any]:
    return {
        "id": note.id,
        "conversation_id": note.conversation_id,
        "author": note.author or None,
        "body": note.body,
        "created_at": time_json(note, "created_at"),
    }


def read_receipt_json(receipt: pb.ReadReceipt) -> dict[str, Any]:
    return {
        "message_id": receipt.message_id,
        "status": receipt.status,
        "error": {"code": receipt.error_code, "message": receipt.error_message}
        if receipt.error_code
        else None,
        "at": time_json(receipt, "at"),
    }


def webhook_endpoint_json(endpoint: hooks_pb.WebhookEndpoint) -> dict[str, Any]:
    """The same fields as the data of a webhook_endpoint.disabled event; `secret` only in the
    answers that make one (creation, rotation)."""
    resource: dict[str, Any] = {
        "id": endpoint.id,
        "url": endpoint.url,
        "events": list(endpoint.events),
        "description": endpoint.description,
        "enabled": endpoint.enabled,
        "disabled_reason": endpoint.disabled_reason or None,
        "last_event_id": endpoint.last_event_id,
        "failures": endpoint.failures,
        "failing_since": time_json(endpoint, "failing_since"),
        "next_attempt_at": time_json(endpoint, "next_attempt_at"),
        "created_at": time_json(endpoint, "created_at"),
        "updated_at": time_json(endpoint, "updated_at"),
    }
    if endpoint.secret:
        resource["secret"] = endpoint.secret
    return resource


def webhook_attempt_json(attempt: hooks_pb.WebhookAttempt) -> dict[str, Any]:
    return {
        "id": str(attempt.id),
        "event_id": attempt.event_id or None,
        "event_type": attempt.event_type,
        "webhook_id": attempt.webhook_id,
        "attempted_at": time_json(attempt, "attempted_at"),
        "http_status": attempt.http_status or None,
        "latency_ms": round(attempt.latency_ms, 3),
        "error": attempt.error or None,
        "succeeded": attempt.succeeded,
    }


def template_json(template: templates_pb.Template) -> dict[str, Any]:
    return {
        "name": template.name,
        "language": template.language,
        "whatsapp_id": template.whatsapp_id,
        "category": template.category,
        "status": template.status,
        "parameter_format": template.parameter_format,
        "components": orjson.loads(template.components_json or b"[]"),
        "parameter_counts": dict(template.parameter_counts),
        "updated_at": time_json(template, "updated_at"),
    }


def account_json(account: admin_pb.Account) -> dict[str, Any]:
    """An account as administration shows it: no access token, no app secret."""
    return {
        "id": account.id,
        "name": account.name,
        "phone_number_id": account.phone_number_id,
        "display_phone_number": account.display_phone_number,
        "waba_id": account.waba_id or None,
        "messages_per_second": account.messages_per_second,
        "active_api_keys": account.active_api_keys,
        "created_at": time_json(account, "created_at"),
    }


def api_key_json(key: admin_pb.ApiKey) -> dict[str, Any]:
    """An API key as administration shows it: its prefix, never the key."""
    return {
        "id": key.id,
        "account_id": key.account_id,
        "prefix": key.prefix,
        "scopes": list(key.scopes),
        "created_at": time_json(key, "created_at"),
        "revoked_at": time_json(key, "revoked_at"),
    }
