"""The webhook side's statements (`webhooks.sql`): raw notifications, inbound messages,
delivery statuses, pending statuses, events.

Every statement works on arrays, one element per row, so that a batch of notifications
costs a handful of round trips, not a handful per notification. Decisions (which status
wins, what an event says) are the caller's; this module only reads and writes.
"""

import logging
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
import orjson

from services.conversations.adapters.database.errors import database_unavailable, statement_failed
from services.conversations.adapters.database.pool import StatementPool, Transaction, generic_plan_pool
from services.conversations.adapters.database.queries import Queries
from services.conversations.domain.errors import Unavailable
from services.conversations.domain.inbox import REOPENED_BY_INBOUND
from services.conversations.domain.media import WEBHOOK_MEDIA_LIFETIME, WHATSAPP_MEDIA_UPLOAD_ERROR
from services.conversations.domain.notifications import (
    AppSecret,
    ChangedContact,
    NewEvent,
    Sender,
    StatusTarget,
    StoredInbound,
    StoredNotification,
    TouchedConversation,
    UpdatedMessage,
)
from services.conversations.domain.statuses import Delivery, StatusReport
from services.conversations.domain.templates import STATUSES, TemplateStatusChange
from services.conversations.domain.webhook_changes import (
    IdentityChange,
    Inbound,
    MarketingPreference,
    StatusUpdate,
)
from services.conversations.use_cases.ports import LostDeadlock
from services.shared.secrets_at_rest import APP_SECRET, SecretBox, SecretUnreadable

SQL = Queries("webhooks.sql")
log = logging.getLogger(__name__)

# Connections of the webhook side: the batches' transactions, the sweep, the rest.
CONNECTIONS = 4


def webhook_pool(database_url: str) -> StatementPool:
    """The webhook side's own connections."""
    return generic_plan_pool(database_url, CONNECTIONS)


def _uuid_array(ids: Sequence[UUID]) -> str:
    return "{" + ",".join(str(i) for i in ids) + "}"


@contextmanager
def _storage_faults() -> Iterator[None]:
    """Turns asyncpg's failures that the use cases act on into theirs: the database away
    (nothing written, retry later), a deadlock lost (the transaction may run again)."""
    try:
        yield
    except asyncpg.exceptions.DeadlockDetectedError as exc:
        raise LostDeadlock(str(exc)) from exc
    except Exception as exc:
        if database_unavailable(exc) and not statement_failed(exc):
            raise Unavailable("database unavailable") from exc
        raise


class WebhookTransaction:
    """Statements inside one transaction of the applier; events are appended at commit."""

    def __init__(self, transaction: Transaction) -> None:
        self.transaction = transaction
        self.events: list[NewEvent] = []

    async def lock_notifications(self, ids: Sequence[int]) -> set[int]:
        rows = await self.transaction.run(SQL.lock_notifications, ids=list(ids))
        return {row["id"] for row in rows}

    async def accounts_by_phone_number(self, numbers: Sequence[str]) -> dict[str, UUID]:
        if not numbers:
            return {}
        rows = await self.transaction.run(SQL.accounts_by_phone_number, numbers=list(numbers))
        return {row["phone_number_id"]: row["id"] for row in rows}

    async def apply_template_statuses(
        self, changes: Sequence[TemplateStatusChange], signed_for: Sequence[UUID]
    ) -> int:
        """Sets the changes on the signing accounts' templates; how many accounts they reached."""
        rows = await self.transaction.run(
            SQL.apply_template_statuses,
            waba_ids=[c.waba_id for c in changes],
            whatsapp_ids=[c.whatsapp_id for c in changes],
            # An event that is no status (FLAGGED, REINSTATED) only calls for a listing.
            statuses=[c.event if c.event in STATUSES else "" for c in changes],
            signed_for=list(signed_for),
        )
        return len(rows)

    async def change_identities(self, changes: Sequence[IdentityChange]) -> list[ChangedContact]:
        rows = await self.transaction.run(
            SQL.change_identities,
            account_ids=[c.account_id for c in changes],
            old_wa_ids=[c.old_wa_id or None for c in changes],
            old_user_ids=[c.old_user_id or None for c in changes],
            new_wa_ids=[c.new_wa_id or None for c in changes],
            new_user_ids=[c.new_user_id or None for c in changes],
        )
        return [
            ChangedContact(row["account_id"], row["old_wa_id"] or "", row["conversation_id"], row["resource"])
            for row in rows
        ]

    async def identify_contacts(self, users: Sequence[tuple[UUID, str, str]]) -> None:
        """Makes sure each (account, wa_id, user_id) has a contact ("" for not given)."""
        await self.transaction.run(
            SQL.identify_contacts,
            account_ids=[u[0] for u in users],
            wa_ids=[u[1] or None for u in users],
            user_ids=[u[2] or None for u in users],
        )

    async def open_conversations(self, senders: Sequence[Sender]) -> list[tuple[UUID, str]]:
        """Each sender's (conversation, contact's phone number or ""), opened if new; their
        contacts must exist (identify_contacts)."""
        rows = await self.transaction.run(
            SQL.open_conversations,
            account_ids=[s.account_id for s in senders],
            wa_ids=[s.wa_id or None for s in senders],
            user_ids=[s.user_id or None for s in senders],
            profile_names=[s.profile_name or None for s in senders],
            usernames=[s.username or None for s in senders],
        )
        opened: list[tuple[UUID, str] | None] = [None] * len(senders)
        for row in rows:
            opened[row["ordinal"] - 1] = (row["conversation_id"], row["wa_id"] or "")
        if any(o is None for o in opened):
            raise LookupError("a sender without a contact: identify_contacts first")
        return [o for o in opened if o is not None]

    async def record_preferences(
        self, preferences: Sequence[MarketingPreference]
    ) -> list[TouchedConversation]:
        rows = await self.transaction.run(
            SQL.record_preferences,
            account_ids=[p.account_id for p in preferences],
            wa_ids=[p.wa_id or None for p in preferences],
            user_ids=[p.user_id or None for p in preferences],
            opted_out=[p.opted_out for p in preferences],
            ats=[p.at for p in preferences],
        )
        return [TouchedConversation(row["id"], row["account_id"], row["resource"]) for row in rows]

    async def insert_inbound(
        self, messages: Sequence[Inbound], conversation_ids: Sequence[UUID]
    ) -> list[StoredInbound]:
        """The messages stored; one stored before (its WhatsApp id) is left out."""
        rows = await self.transaction.run(
            SQL.insert_inbound,
            account_ids=[m.account_id for m in messages],
            conversation_ids=list(conversation_ids),
            wa_ids=[m.wa_id or None for m in messages],
            user_ids=[m.user_id or None for m in messages],
            types=[m.type for m in messages],
            bodies=[m.body_json for m in messages],
            reply_tos=[m.reply_to for m in messages],
            wa_message_ids=[m.wa_message_id for m in messages],
            sent_ats=[m.sent_at for m in messages],
            wa_media_ids=[m.media.wa_media_id if m.media else None for m in messages],
            mime_types=[m.media.mime_type if m.media else None for m in messages],
            filenames=[m.media.filename if m.media else None for m in messages],
            captions=[m.media.caption if m.media else None for m in messages],
            media_lifetime_seconds=WEBHOOK_MEDIA_LIFETIME.total_seconds(),
        )
        with_media = [row["id"] for row in rows if row["media_id"] is not None]
        if with_media:
            await self.transaction.run(SQL.show_media, message_ids=with_media)
        return [
            StoredInbound(
                row["account_id"], row["wa_message_id"], row["id"], row["conversation_id"], row["resource"]
            )
            for row in rows
        ]

    async def touch_conversations(
        self, ids: Sequence[UUID], newest: Sequence[datetime], counts: Sequence[int]
    ) -> list[TouchedConversation]:
        rows = await self.transaction.run(
            SQL.touch_conversations,
            ids=list(ids),
            sent_ats=list(newest),
            counts=list(counts),
            reopened_statuses=list(REOPENED_BY_INBOUND),
        )
        return [TouchedConversation(row["id"], row["account_id"], row["resource"]) for row in rows]

    async def lock_status_targets(self, updates: Sequence[StatusUpdate]) -> list[StatusTarget]:
        rows = await self.transaction.run(
            SQL.lock_status_targets,
            account_ids=[u.account_id for u in updates],
            wa_message_ids=[u.report.wa_message_id for u in updates],
            callback_ids=[u.callback_id for u in updates],
        )
        return [
            StatusTarget(
                update_index=row["ordinal"] - 1,
                message_id=row["id"],
                account_id=row["account_id"],
                direction=row["direction"],
                delivery=Delivery(
                    status=row["status"],
                    wa_message_id=row["wa_message_id"],
                    sent_at=row["sent_at"],
                    delivered_at=row["delivered_at"],
                    read_at=row["read_at"],
                    failed_at=row["failed_at"],
                    error_code=row["error_code"],
                    error_message=row["error_message"],
                ),
            )
            for row in rows
        ]

    async def update_deliveries(self, changes: Sequence[tuple[UUID, Delivery]]) -> list[UpdatedMessage]:
        deliveries = [delivery for _, delivery in changes]
        rows = await self.transaction.run(
            SQL.update_deliveries,
            ids=[message_id for message_id, _ in changes],
            statuses=[d.status for d in deliveries],
            wa_message_ids=[d.wa_message_id for d in deliveries],
            sent_ats=[d.sent_at for d in deliveries],
            delivered_ats=[d.delivered_at for d in deliveries],
            read_ats=[d.read_at for d in deliveries],
            failed_ats=[d.failed_at for d in deliveries],
            error_codes=[d.error_code for d in deliveries],
            error_messages=[d.error_message for d in deliveries],
            upload_error=WHATSAPP_MEDIA_UPLOAD_ERROR,
        )
        return [
            UpdatedMessage(
                row["id"], row["account_id"], row["conversation_id"], row["status"], row["resource"]
            )
            for row in rows
        ]

    async def keep_pending(self, updates: Sequence[StatusUpdate]) -> None:
        reports = [u.report for u in updates]
        await self.transaction.run(
            SQL.keep_pending,
            account_ids=[u.account_id for u in updates],
            wa_message_ids=[r.wa_message_id for r in reports],
            statuses=[r.status for r in reports],
            ats=[r.at for r in reports],
            error_codes=[r.error_code for r in reports],
            error_messages=[r.error_message for r in reports],
        )

    async def matchable_pending(self, limit: int) -> list[StatusUpdate]:
        rows = await self.transaction.run(SQL.matchable_pending, limit=limit)
        return [
            StatusUpdate(
                row["account_id"],
                None,
                StatusReport(
                    row["status"],
                    row["wa_message_id"],
                    row["status_at"],
                    row["error_code"],
                    row["error_message"],
                ),
            )
            for row in rows
        ]

    async def forget_pending(self, updates: Sequence[StatusUpdate]) -> None:
        await self.transaction.run(
            SQL.forget_pending,
            account_ids=[u.account_id for u in updates],
            wa_message_ids=[u.report.wa_message_id for u in updates],
            statuses=[u.report.status for u in updates],
        )

    async def mark_read(self, account_id: UUID, conversation_id: UUID) -> str | None:
        rows = await self.transaction.run(
            SQL.mark_read, account_id=account_id, conversation_id=conversation_id
        )
        return rows[0]["resource"] if rows else None

    async def store_applied(
        self,
        bodies: Sequence[bytes],
        signed_for: Sequence[Sequence[UUID]],
        outcomes: Sequence[dict[str, Any]],
    ) -> list[int]:
        rows = await self.transaction.run(
            SQL.store_applied,
            bodies=list(bodies),
            signed_for=[_uuid_array(accounts) for accounts in signed_for],
            outcomes=[orjson.dumps(outcome).decode() for outcome in outcomes],
        )
        # Identity values are drawn as the rows are inserted, in input order.
        return sorted(row["id"] for row in rows)

    async def finish_notifications(
        self, ids: Sequence[int], states: Sequence[str], outcomes: Sequence[dict[str, Any]]
    ) -> None:
        await self.transaction.run(
            SQL.finish_notifications,
            ids=list(ids),
            states=list(states),
            outcomes=[orjson.dumps(outcome).decode() for outcome in outcomes],
        )

    async def append_events(self) -> None:
        if not self.events:
            return
        events, self.events = self.events, []
        await self.transaction.run(
            SQL.append_events,
            account_ids=[e.account_id for e in events],
            types=[e.type for e in events],
            message_ids=[e.message_id for e in events],
            conversation_ids=[e.conversation_id for e in events],
            datas=[e.data_json for e in events],
        )


class WebhookStore:
    def __init__(self, pool: StatementPool, secrets: SecretBox) -> None:
        self.pool = pool
        self.secrets = secrets

    async def app_secrets(self) -> list[AppSecret]:
        rows = await self.pool.run(SQL.app_secrets)
        return [AppSecret(r["id"], r["phone_number_id"], self._app_secret(r), r["waba_id"]) for r in rows]

    def _app_secret(self, row: asyncpg.Record) -> str:
        """Decrypted; one the keys cannot read counts as none (its webhooks are refused, 401, for
        Meta to retry once the key is configured), not as a failure of every account's."""
        try:
            return self.secrets.decrypt(APP_SECRET, row["app_secret"])
        except SecretUnreadable as exc:
            log.error("app secret unreadable", extra={"account_id": str(row["id"]), "error": str(exc)})
            return ""

    async def last_inbound(self, account_id: UUID, conversation_id: UUID) -> str | None:
        found = await self.pool.run(SQL.last_inbound, account_id=account_id, conversation_id=conversation_id)
        return str(found[0]["wa_message_id"]) if found else None

    async def record_read_receipt(
        self,
        account_id: UUID,
        conversation_id: UUID,
        message_id: str,
        error_code: str | None,
        error_message: str | None,
    ) -> None:
        await self.pool.run(
            SQL.record_read_receipt,
            account_id=account_id,
            conversation_id=conversation_id,
            message_id=message_id,
            error_code=error_code,
            error_message=error_message,
        )

    async def store_unapplied(self, body: bytes, signed_for: Sequence[UUID], error: str) -> int:
        """Stores a notification that could not be applied, its failure counted; its id."""
        rows = await self.pool.run(SQL.store_unapplied, body=body, signed_for=list(signed_for), error=error)
        return int(rows[0]["id"])

    async def unapplied(self, older_than_seconds: float, limit: int) -> list[StoredNotification]:
        rows = await self.pool.run(
            SQL.unapplied_notifications, older_than_seconds=older_than_seconds, limit=limit
        )
        return [StoredNotification(row["id"], bytes(row["body"]), list(row["signed_for"])) for row in rows]

    async def count_failed_apply(self, notification_id: int, max_attempts: int, error: str) -> bool:
        """Counts a failed try; True when it was the last one and the notification ended "failed"."""
        rows = await self.pool.run(
            SQL.count_failed_apply, id=notification_id, max_attempts=max_attempts, error=error
        )
        return bool(rows) and rows[0]["state"] == "failed"

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[WebhookTransaction]:
        """One transaction; the events recorded in it are appended before it commits."""
        with _storage_faults():
            async with self.pool.transaction() as transaction:
                batch = WebhookTransaction(transaction)
                yield batch
                await batch.append_events()
