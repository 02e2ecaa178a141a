"""Meta's webhook notifications as the unit tests of the webhook use cases send them: the
`messages` field's changes, inbound messages, statuses, and the signature over the bytes."""

import hashlib
import hmac
from collections.abc import Iterable
from typing import Any
from uuid import UUID

import orjson

from services.conversations.domain.notifications import Notification

T = 1_790_000_000  # a webhook timestamp (Unix seconds)


def change(
    phone_number_id: str,
    messages: Iterable[dict[str, Any]] = (),
    statuses: Iterable[dict[str, Any]] = (),
    names: dict[str, str] | None = None,
) -> dict[str, Any]:
    value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550000000", "phone_number_id": phone_number_id},
    }
    if names:
        value["contacts"] = [{"wa_id": wa_id, "profile": {"name": name}} for wa_id, name in names.items()]
    if messages:
        value["messages"] = list(messages)
    if statuses:
        value["statuses"] = list(statuses)
    return {"field": "messages", "value": value}


def body(*changes: dict[str, Any]) -> bytes:
    return orjson.dumps(
        {"object": "whatsapp_business_account", "entry": [{"id": "waba-1", "changes": list(changes)}]}
    )


def text(sender: str, wa_message_id: str, words: str = "hello", at: int = T) -> dict[str, Any]:
    return {
        "from": sender,
        "id": wa_message_id,
        "timestamp": str(at),
        "type": "text",
        "text": {"body": words},
    }


def status(
    wa_message_id: str,
    name: str,
    at: int = T,
    callback_id: UUID | None = None,
    error_code: int | None = None,
) -> dict[str, Any]:
    report: dict[str, Any] = {
        "id": wa_message_id,
        "status": name,
        "timestamp": str(at),
        "recipient_id": "15550001111",
    }
    if callback_id is not None:
        report["biz_opaque_callback_data"] = str(callback_id)
    if error_code is not None:
        report["errors"] = [{"code": error_code, "title": "failed"}]
    return report


def notification(raw: bytes, *signed_for: UUID) -> Notification:
    """A notification whose signature checked, for the accounts given."""
    return Notification(0, raw, orjson.loads(raw), frozenset(signed_for))


def sign(raw: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
