"""Meta's webhook notifications: verified, stored raw, then applied.

`receive` checks X-Hub-Signature-256 against the accounts' app secrets in constant
time, stores the exact bytes (so a crash cannot lose them) and applies them in the
background; `sweep` re-applies what a crash left behind and matches statuses that
arrived before their message was known. Applying is idempotent: a repeated
notification changes nothing and emits no event.
"""

import asyncio
import contextlib
import hashlib
import hmac
import logging
from collections import Counter
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import orjson

from services.conversations.domain import NotFound, Unauthenticated
from services.conversations.inbox import Inbox, parse_id
from services.conversations.metrics import WEBHOOKS
from services.conversations.webhook_store import Applying, AppSecret, Inbound, StatusUpdate, WebhookStore
from services.shared.cache import TtlCache

log = logging.getLogger(__name__)

SIGNATURE_PREFIX = "sha256="
STATUSES = ("sent", "delivered", "read", "failed")
# App secrets are reloaded after this long, and at once when a signature or a phone
# number matches none of them (a new account).
SECRETS_TTL_SECONDS = 60.0
SWEEP_EVERY_SECONDS = 2.0
# A notification still unapplied after this long was left by a crash.
UNAPPLIED_AFTER_SECONDS = 5.0


def _time(raw: Any) -> datetime:
    return datetime.fromtimestamp(int(raw), UTC)


def _callback_id(raw: Any) -> UUID | None:
    try:
        return UUID(str(raw)) if raw else None
    except ValueError:
        return None


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
    )


def parse_status(account_id: UUID, status: dict[str, Any]) -> StatusUpdate | None:
    if status.get("status") not in STATUSES:
        return None
    errors = status.get("errors") or [{}]
    error = errors[0] if isinstance(errors[0], dict) else {}
    failed = status["status"] == "failed"
    details = (error.get("error_data") or {}).get("details", "")
    return StatusUpdate(
        account_id=account_id,
        wa_message_id=str(status["id"]),
        callback_id=_callback_id(status.get("biz_opaque_callback_data")),
        status=str(status["status"]),
        at=_time(status["timestamp"]),
        error_code=str(error.get("code", "unknown")) if failed else None,
        error_message=" ".join(filter(None, [error.get("title") or error.get("message"), details]))
        if failed
        else None,
    )


class Webhooks:
    def __init__(self, store: WebhookStore, inbox: Inbox) -> None:
        self.store = store
        self.inbox = inbox
        self._secrets: TtlCache[str, list[AppSecret]] = TtlCache(SECRETS_TTL_SECONDS)
        self._background: set[asyncio.Task[None]] = set()
        self._sweeper: asyncio.Task[None] | None = None

    async def _app_secrets(self, reload: bool = False) -> list[AppSecret]:
        if reload:
            self._secrets.invalidate("all")
        return await self._secrets.get("all", self.store.app_secrets)

    @staticmethod
    def _signed_for(secrets: list[AppSecret], body: bytes, given: str) -> list[UUID]:
        """Accounts whose app secret produced this signature. Every secret is checked,
        each comparison in constant time."""
        matched: list[UUID] = []
        expected_by_secret: dict[str, str] = {}
        for secret in secrets:
            expected = expected_by_secret.get(secret.app_secret)
            if expected is None:
                expected = hmac.new(secret.app_secret.encode(), body, hashlib.sha256).hexdigest()
                expected_by_secret[secret.app_secret] = expected
            if hmac.compare_digest(expected, given):
                matched.append(secret.account_id)
        return matched

    async def receive(self, body: bytes, signature: str) -> int:
        if not signature.startswith(SIGNATURE_PREFIX):
            WEBHOOKS.labels("bad_signature").inc()
            raise Unauthenticated("X-Hub-Signature-256 is missing or not sha256=<hex>")
        given = signature[len(SIGNATURE_PREFIX) :].lower()
        signed_for = self._signed_for(await self._app_secrets(), body, given)
        if not signed_for:
            signed_for = self._signed_for(await self._app_secrets(reload=True), body, given)
        if not signed_for:
            WEBHOOKS.labels("bad_signature").inc()
            raise Unauthenticated("X-Hub-Signature-256 does not match the body")
        notification_id = await self.store.store(body, signed_for)
        WEBHOOKS.labels("stored").inc()
        task = asyncio.create_task(self.apply(notification_id))
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return notification_id

    async def apply(self, notification_id: int) -> None:
        try:
            await self._apply(notification_id)
        except Exception:
            # Stays "received": the sweep applies it again later.
            log.exception(
                "applying a webhook notification failed", extra={"notification_id": notification_id}
            )

    async def _apply(self, notification_id: int) -> None:
        touched: set[tuple[UUID, UUID, str]] = set()
        async with self.store.transaction() as applying:
            locked = await self.store.lock_notification(applying, notification_id)
            if locked is None:
                return  # applied already, or being applied by another replica
            body, signed_for = locked
            try:
                payload = orjson.loads(body)
            except orjson.JSONDecodeError as exc:
                log.warning("malformed webhook notification", extra={"notification_id": notification_id})
                await self.store.finish_notification(
                    applying, notification_id, "malformed", {"error": str(exc)}
                )
                return
            outcome = await self._apply_payload(applying, payload, set(signed_for), touched)
            await self.store.finish_notification(applying, notification_id, "applied", outcome)
        WEBHOOKS.labels("applied").inc()
        for account_id, conversation_id, wa_id in touched:
            # The 24 h window moved: the send path must not keep the old last_inbound_at.
            self.inbox.forget_conversation_with(account_id, conversation_id, wa_id)

    async def _apply_payload(
        self, applying: Applying, payload: Any, signed_for: set[UUID], touched: set[tuple[UUID, UUID, str]]
    ) -> dict[str, Any]:
        counts: Counter[str] = Counter()
        unknown_numbers: list[str] = []
        if not isinstance(payload, dict):
            return {"invalid": "not a JSON object"}
        for entry in payload.get("entry") or []:
            for change in (entry or {}).get("changes") or []:
                value = (change or {}).get("value") or {}
                if change.get("field") != "messages" or not isinstance(value, dict):
                    counts["other_fields"] += 1
                    continue
                phone_number_id = str((value.get("metadata") or {}).get("phone_number_id", ""))
                account_id = await self._account_for(phone_number_id)
                if account_id is None or account_id not in signed_for:
                    # Kept (the raw notification stays stored) and logged, not an error.
                    unknown_numbers.append(phone_number_id)
                    log.warning(
                        "webhook for an unknown phone number", extra={"phone_number_id": phone_number_id}
                    )
                    continue
                names = {
                    str(c.get("wa_id")): str((c.get("profile") or {}).get("name", ""))
                    for c in value.get("contacts") or []
                    if isinstance(c, dict)
                }
                for message in value.get("messages") or []:
                    try:
                        inbound = parse_inbound(account_id, names, message)
                    except (KeyError, TypeError, ValueError):
                        counts["invalid_messages"] += 1
                        continue
                    if await applying.inbound(inbound):
                        counts["messages_stored"] += 1
                        conversation_id = applying.events[account_id][-1].conversation_id
                        touched.add((account_id, conversation_id, inbound.wa_id))
                    else:
                        counts["messages_duplicate"] += 1
                for status in value.get("statuses") or []:
                    try:
                        update = parse_status(account_id, status)
                    except (KeyError, TypeError, ValueError):
                        update = None
                    if update is None:
                        counts["invalid_statuses"] += 1
                        continue
                    counts[f"statuses_{await applying.status(update)}"] += 1
                if value.get("errors"):
                    counts["errors"] += len(value["errors"])
                    log.warning("webhook reports errors", extra={"errors": value["errors"]})
        outcome: dict[str, Any] = dict(counts)
        if unknown_numbers:
            outcome["unknown_phone_numbers"] = unknown_numbers
        return outcome

    async def _account_for(self, phone_number_id: str) -> UUID | None:
        for reload in (False, True):
            for secret in await self._app_secrets(reload):
                if secret.phone_number_id == phone_number_id:
                    return secret.account_id
        return None

    async def mark_read(self, account_id_text: str, conversation_id_text: str) -> None:
        account_id = parse_id(account_id_text, "account")
        conversation_id = parse_id(conversation_id_text, "conversation")
        async with self.store.transaction() as applying:
            if await applying.mark_read(account_id, conversation_id) is None:
                raise NotFound(f"conversation {conversation_id} not found")

    async def start(self) -> None:
        self._sweeper = asyncio.create_task(self._sweep_forever(), name="webhook-sweeper")

    async def stop(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        if self._background:
            await asyncio.wait(list(self._background), timeout=5)

    async def sweep(self) -> None:
        for notification_id in await self.store.unapplied(UNAPPLIED_AFTER_SECONDS):
            await self.apply(notification_id)
        async with self.store.transaction() as applying:
            await self.store.match_pending(applying)

    async def _sweep_forever(self) -> None:
        while True:
            try:
                await self.sweep()
            except Exception:
                log.exception("webhook sweep failed")
            await asyncio.sleep(SWEEP_EVERY_SECONDS)
