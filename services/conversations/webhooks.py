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
import math
import re
from collections import Counter
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import orjson
from sqlalchemy.exc import DBAPIError

from services.conversations.database_errors import database_unavailable, statement_failed
from services.conversations.domain import NotFound, Unauthenticated
from services.conversations.inbox import Inbox, parse_id
from services.conversations.metrics import WEBHOOKS
from services.conversations.webhook_store import Applying, AppSecret, Inbound, StatusUpdate, WebhookStore

log = logging.getLogger(__name__)

# Anything else is refused before a single HMAC is computed.
SIGNATURE = re.compile(r"sha256=([0-9a-fA-F]{64})")
STATUSES = ("sent", "delivered", "read", "failed")
# App secrets are reloaded after this long, and sooner when a signature or a phone
# number matches none of them (a new account), but never twice within the pause:
# unsigned requests cannot turn into a query each.
SECRETS_TTL_SECONDS = 60.0
SECRETS_RELOAD_PAUSE_SECONDS = 1.0
SWEEP_EVERY_SECONDS = 2.0
# A notification still unapplied after this long was left by a crash.
UNAPPLIED_AFTER_SECONDS = 5.0
# Applying a notification that keeps failing for a reason of its own (not a lost
# database) is given up after this many tries: it ends "failed", its bytes kept.
MAX_APPLY_ATTEMPTS = 5
# Two notifications that touch the same rows can deadlock; the loser is applied again.
DEADLOCK_RETRIES = 3
DEADLOCK_DETECTED = "40P01"


# What parsing a message or status of an unexpected shape raises.
PAYLOAD_ERRORS = (LookupError, TypeError, ValueError, AttributeError)


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


def _without_nul(value: Any) -> Any:
    """PostgreSQL's text and jsonb refuse U+0000, which JSON allows: dropped from every string."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, list):
        return [_without_nul(item) for item in value]
    if isinstance(value, dict):
        return {_without_nul(key): _without_nul(item) for key, item in value.items()}
    return value


def _is_deadlock(exc: BaseException) -> bool:
    return isinstance(exc, DBAPIError) and getattr(exc.orig, "sqlstate", None) == DEADLOCK_DETECTED


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
        self._secrets: list[AppSecret] = []
        self._secrets_loaded_at = -math.inf  # loop time the last load started
        # Bumped when an account is added or changed: a load already under way may have
        # read the table before that and must not count as fresh.
        self._secrets_generation = 0
        self._reload_lock = asyncio.Lock()
        self._background: set[asyncio.Task[None]] = set()
        self._sweeper: asyncio.Task[None] | None = None

    async def _app_secrets(self) -> list[AppSecret]:
        """The secrets as last read, read again once older than the TTL."""
        return await self._secrets_loaded_since(asyncio.get_running_loop().time() - SECRETS_TTL_SECONDS)

    async def _secrets_loaded_since(self, moment: float) -> list[AppSecret]:
        """App secrets read by a load that started at `moment` or later. Callers that
        queue up behind one load share it; loads are at least the pause apart."""
        loop = asyncio.get_running_loop()
        if self._secrets_loaded_at >= moment:
            return self._secrets  # the common case: no lock to take
        async with self._reload_lock:
            if self._secrets_loaded_at < moment:
                pause = self._secrets_loaded_at + SECRETS_RELOAD_PAUSE_SECONDS - loop.time()
                if pause > 0:
                    await asyncio.sleep(pause)
                started, generation = loop.time(), self._secrets_generation
                self._secrets = await self.store.app_secrets()
                if generation == self._secrets_generation:
                    self._secrets_loaded_at = started
            return self._secrets

    def forget_secrets(self, notification: str = "account:") -> None:
        """An account was added or changed (a `pigeon_cache` notification), or notifications
        may have been missed: the next webhook reads the secrets again."""
        if notification.startswith("account:"):
            self._secrets_generation += 1
            self._secrets_loaded_at = -math.inf

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
        arrived = asyncio.get_running_loop().time()
        well_formed = SIGNATURE.fullmatch(signature)
        if well_formed is None:
            WEBHOOKS.labels("bad_signature").inc()
            raise Unauthenticated("X-Hub-Signature-256 is missing or not sha256=<64 hex digits>")
        given = well_formed.group(1).lower()
        signed_for = self._signed_for(await self._app_secrets(), body, given)
        if not signed_for:
            # Perhaps an account created since the secrets were read.
            signed_for = self._signed_for(await self._secrets_loaded_since(arrived), body, given)
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
        for attempt in range(DEADLOCK_RETRIES + 1):
            try:
                await self._apply(notification_id)
                return
            except Exception as exc:
                if _is_deadlock(exc) and attempt < DEADLOCK_RETRIES:
                    continue
                await self._apply_failed(notification_id, exc)
                return

    async def _apply_failed(self, notification_id: int, exc: Exception) -> None:
        log.error(
            "applying a webhook notification failed",
            exc_info=exc,
            extra={"notification_id": notification_id},
        )
        if database_unavailable(exc) and not statement_failed(exc):
            return  # the database, not the notification: the sweep applies it again later
        try:
            # Stays "received" for the sweep, until it has failed too often to be worth it.
            cause = exc.orig if isinstance(exc, DBAPIError) else exc
            error = f"{type(cause).__name__}: {cause}"[:500]
            if await self.store.count_failed_apply(notification_id, MAX_APPLY_ATTEMPTS, error):
                WEBHOOKS.labels("failed").inc()
        except Exception:
            log.exception("recording a failed webhook notification failed")

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
            if b"\\u0000" in body:
                payload = _without_nul(payload)
            outcome = await self._apply_payload(applying, payload, set(signed_for), touched)
            await self.store.finish_notification(applying, notification_id, "applied", outcome)
        WEBHOOKS.labels("applied").inc()
        for account_id, conversation_id, wa_id in touched:
            # The 24 h window moved: the send path must not keep the old last_inbound_at.
            self.inbox.forget_conversation_with(account_id, conversation_id, wa_id)

    async def _apply_payload(
        self,
        applying: Applying,
        payload: Any,
        signed_for: set[UUID],
        touched: set[tuple[UUID, UUID, str]],
    ) -> dict[str, Any]:
        counts: Counter[str] = Counter()
        unknown_numbers: list[str] = []
        if not isinstance(payload, dict):
            return {"invalid": "not a JSON object"}
        values: list[tuple[str, dict[str, Any]]] = []  # each change's phone number and value
        for entry in _objects(payload.get("entry")):
            for change in _objects(entry.get("changes")):
                value = change.get("value")
                if change.get("field") != "messages" or not isinstance(value, dict):
                    counts["other_fields"] += 1
                    continue
                metadata = value.get("metadata")
                values.append(
                    (str(metadata.get("phone_number_id", "") if isinstance(metadata, dict) else ""), value)
                )
        # From the table, not the secrets in memory: current even for an account just added.
        accounts = await applying.accounts_by_phone_number({number for number, _ in values})
        inbound: list[Inbound] = []
        statuses: list[StatusUpdate] = []
        for phone_number_id, value in values:
            account_id = accounts.get(phone_number_id)
            if account_id is None or account_id not in signed_for:
                # Kept (the raw notification stays stored) and logged, not an error.
                unknown_numbers.append(phone_number_id)
                log.warning("webhook for an unknown phone number", extra={"phone_number_id": phone_number_id})
                continue
            names = {
                str(c.get("wa_id")): str(c["profile"].get("name", ""))
                for c in _objects(value.get("contacts"))
                if isinstance(c.get("profile"), dict)
            }
            for message in _items(value.get("messages")):
                try:
                    inbound.append(parse_inbound(account_id, names, message))
                except PAYLOAD_ERRORS:
                    counts["invalid_messages"] += 1
            for status in _items(value.get("statuses")):
                try:
                    update = parse_status(account_id, status)
                except PAYLOAD_ERRORS:
                    update = None
                if update is None:
                    counts["invalid_statuses"] += 1
                else:
                    statuses.append(update)
            if value.get("errors"):
                counts["errors"] += len(value["errors"]) if isinstance(value["errors"], list) else 1
                log.warning("webhook reports errors", extra={"errors": value["errors"]})
        # Rows are locked in one order (stable: a contact's messages keep theirs), so two
        # notifications touching the same rows do not deadlock each other.
        for message in sorted(inbound, key=lambda m: (m.account_id, m.wa_id)):
            if await applying.inbound(message):
                counts["messages_stored"] += 1
                conversation_id = applying.events[message.account_id][-1].conversation_id
                touched.add((message.account_id, conversation_id, message.wa_id))
            else:
                counts["messages_duplicate"] += 1
        for update in sorted(statuses, key=lambda u: (u.account_id, u.wa_message_id)):
            counts[f"statuses_{await applying.status(update)}"] += 1
        outcome: dict[str, Any] = dict(counts)
        if unknown_numbers:
            outcome["unknown_phone_numbers"] = unknown_numbers
        return outcome

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
