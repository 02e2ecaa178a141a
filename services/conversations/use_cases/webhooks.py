"""Meta's webhook notifications: verified, then stored and applied.

`receive` verifies X-Hub-Signature-256 with one HMAC: the app secret of the first phone
number the body names, or of its WhatsApp Business Account when it names none (a template
status update); a notification comes from one Meta app, signed with its secret.
Nothing is stored or applied before that check over the raw bytes passes. The notification
is then stored and applied in one transaction with those that arrive meanwhile
(`webhook_apply.py`), before the answer. The sweep applies what could not be applied at
once (kept `received`), and statuses that arrived before their message was known.
"""

import asyncio
import contextlib
import hashlib
import hmac
import logging
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import orjson

from services.conversations.domain.errors import InvalidArgument, Unauthenticated
from services.conversations.domain.notifications import AppSecret, Notification
from services.conversations.domain.templates import businesses_named
from services.conversations.domain.webhook_changes import phone_numbers_named, without_nul
from services.conversations.metrics import WEBHOOKS
from services.conversations.use_cases.ports import ConversationCache, WebhookStorePort
from services.conversations.use_cases.webhook_apply import WebhookApplier

log = logging.getLogger(__name__)

# Anything else is refused before the body is even parsed.
SIGNATURE = re.compile(r"sha256=([0-9a-fA-F]{64})")
# App secrets are read again after this long, and sooner when a body names a phone number
# none of them has (a new account), but at most once within the pause: forged requests
# cannot turn into a query each.
SECRETS_TTL_SECONDS = 60.0
SECRETS_RELOAD_PAUSE_SECONDS = 1.0
SWEEP_EVERY_SECONDS = 2.0
# A notification still unapplied after this long was left by a failed apply or a crash.
UNAPPLIED_AFTER_SECONDS = 5.0
SWEEP_BATCH = 100
# Larger bodies are parsed and hashed on a worker thread, off the loop that serves sends.
THREAD_BODY_BYTES = 64 * 1024
IGNORED_NO_ACCOUNT = "the notification names no phone number of an account"


@dataclass(frozen=True, slots=True)
class Received:
    notification_id: int  # 0: ignored
    ignored: str = ""


def parse_body(body: bytes) -> dict[str, Any] | None:
    """The notification as JSON, U+0000 removed (PostgreSQL refuses it); None if it is not a
    JSON object."""
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(payload, dict):
        return None
    return without_nul(payload) if b"\\u0000" in body else payload


def signature_matches(secret: str, body: bytes, given: str) -> bool:
    if not secret:
        # Anyone can sign with an empty key. The database refuses one since migration 0016;
        # an older row is reported at start (Webhooks.report_empty_secrets) and matches nothing.
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, given)


class AppSecrets:
    """The accounts' app secrets by phone number, read from the database and kept."""

    def __init__(self, store: WebhookStorePort) -> None:
        self.store = store
        self._by_number: dict[str, AppSecret] = {}
        self._by_waba: dict[str, AppSecret] = {}
        self._accounts_by_secret: dict[str, list[UUID]] = {}
        self._loaded_at = -math.inf  # loop time the last load started
        # Bumped when an account is added or changed: a load already under way may have
        # read the table before that and must not count as fresh.
        self._generation = 0
        self._reload_lock = asyncio.Lock()

    async def for_numbers(
        self, numbers: Sequence[str], businesses: Sequence[str] = ()
    ) -> tuple[str, list[UUID]] | None:
        """The secret that must have signed a body naming these phone numbers (the first known
        one's) or, naming none, these WhatsApp Business Accounts (a template webhook), with the
        accounts it covers; None when no account has any of them."""
        await self._read_within(SECRETS_TTL_SECONDS)
        found = self._first(numbers, businesses)
        if found is None and (numbers or businesses):
            # Perhaps an account created since the secrets were read (its NOTIFY lost).
            await self._read_within(SECRETS_RELOAD_PAUSE_SECONDS)
            found = self._first(numbers, businesses)
        return found

    def _first(self, numbers: Sequence[str], businesses: Sequence[str]) -> tuple[str, list[UUID]] | None:
        known = (
            [self._by_number.get(n) for n in numbers]
            if numbers
            else [self._by_waba.get(b) for b in businesses]
        )
        for secret in known:
            if secret is not None:
                return secret.app_secret, self._accounts_by_secret[secret.app_secret]
        return None

    async def _read_within(self, seconds: float) -> None:
        """Reads the secrets again unless a read started less than `seconds` ago. Callers
        that come while a read is under way share it; nobody waits for a pause."""
        loop = asyncio.get_running_loop()
        oldest = loop.time() - seconds
        if self._loaded_at >= oldest:
            return  # the common case: no lock to take
        async with self._reload_lock:
            if self._loaded_at >= oldest:
                return
            started, generation = loop.time(), self._generation
            secrets = await self.store.app_secrets()
            self._by_number = {s.phone_number_id: s for s in secrets}
            self._by_waba = {s.waba_id: s for s in secrets if s.waba_id}
            self._accounts_by_secret = {}
            for s in secrets:
                self._accounts_by_secret.setdefault(s.app_secret, []).append(s.account_id)
            if generation == self._generation:
                self._loaded_at = started

    def forget(self, notification: str = "account:") -> None:
        """An account was added or changed (a `pigeon_cache` notification), or notifications
        may have been missed: the next webhook reads the secrets again."""
        if notification.startswith("account:"):
            self._generation += 1
            self._loaded_at = -math.inf


class Webhooks:
    def __init__(self, store: WebhookStorePort, conversations: ConversationCache) -> None:
        self.store = store
        self.applier = WebhookApplier(store, conversations)
        self.secrets = AppSecrets(store)
        self._sweeper: asyncio.Task[None] | None = None

    def forget_secrets(self, notification: str = "account:") -> None:
        self.secrets.forget(notification)

    async def receive(self, body: bytes, signature: str) -> Received:
        well_formed = SIGNATURE.fullmatch(signature)
        if well_formed is None:
            WEBHOOKS.labels("bad_signature").inc()
            raise Unauthenticated("X-Hub-Signature-256 is missing or not sha256=<64 hex digits>")
        large = len(body) > THREAD_BODY_BYTES
        payload = await asyncio.to_thread(parse_body, body) if large else parse_body(body)
        if payload is None:
            WEBHOOKS.labels("malformed").inc()
            raise InvalidArgument("the body is not a JSON object")
        signer = await self.secrets.for_numbers(phone_numbers_named(payload), businesses_named(payload))
        if signer is None:
            # Nothing to verify it with, nothing it could change: acknowledged, so that Meta
            # does not retry it for days, and neither stored nor applied.
            WEBHOOKS.labels("ignored").inc()
            return Received(0, IGNORED_NO_ACCOUNT)
        secret, accounts = signer
        given = well_formed.group(1).lower()
        if large:
            matches = await asyncio.to_thread(signature_matches, secret, body, given)
        else:
            matches = signature_matches(secret, body, given)
        if not matches:
            WEBHOOKS.labels("bad_signature").inc()
            raise Unauthenticated("X-Hub-Signature-256 does not match the body")
        notification_id = await self.applier.receive(Notification(0, body, payload, frozenset(accounts)))
        WEBHOOKS.labels("stored").inc()
        return Received(notification_id)

    async def sweep(self) -> None:
        stored = await self.store.unapplied(UNAPPLIED_AFTER_SECONDS, SWEEP_BATCH)
        if stored:
            await self.applier.apply_stored(
                [Notification(s.id, s.body, parse_body(s.body), frozenset(s.signed_for)) for s in stored]
            )
        await self.applier.match_pending()

    async def report_empty_secrets(self) -> None:
        """Names, in an error, each account whose app secret is empty: its webhooks are refused."""
        for secret in await self.store.app_secrets():
            if not secret.app_secret:
                log.error(
                    "account has an empty app secret: its webhooks are refused until one is set",
                    extra={"account_id": str(secret.account_id), "phone_number_id": secret.phone_number_id},
                )

    async def _sweep_forever(self) -> None:
        reported = False  # at start, or as soon as the database answers
        while True:
            try:
                if not reported:
                    await self.report_empty_secrets()
                    reported = True
                await self.sweep()
            except Exception:
                log.exception("webhook sweep failed")
            await asyncio.sleep(SWEEP_EVERY_SECONDS)

    async def start(self) -> None:
        self._sweeper = asyncio.create_task(self._sweep_forever(), name="webhook-sweeper")

    async def stop(self) -> None:
        """Stops the sweep; the batches under way end (the gRPC server has stopped taking calls)."""
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        await self.applier.close()
