"""SQL of the webhook side: raw notifications, inbound messages, delivery statuses.

Applying one notification is one transaction (see WebhookStore.applying): its changes
and their events commit together with the notification's new state, or not at all.
"""

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

_APP_SECRETS = text("SELECT id, phone_number_id, app_secret FROM accounts")

_ACCOUNTS_BY_PHONE_NUMBER = text(
    "SELECT phone_number_id, id FROM accounts WHERE phone_number_id = ANY(CAST(:numbers AS text[]))"
)

_STORE_NOTIFICATION = text(
    """
    INSERT INTO webhook_notifications (body, signed_for) VALUES (:body, CAST(:signed_for AS uuid[]))
    RETURNING id
    """
)

_LOCK_NOTIFICATION = text(
    """
    SELECT id, body, signed_for FROM webhook_notifications
    WHERE id = :id AND state = 'received'
    FOR UPDATE SKIP LOCKED
    """
)

_UNAPPLIED = text(
    """
    SELECT id FROM webhook_notifications
    WHERE state = 'received' AND received_at < now() - make_interval(secs => :older_than_seconds)
    ORDER BY id LIMIT :limit
    """
)

_FINISH_NOTIFICATION = text(
    """
    UPDATE webhook_notifications SET state = :state, applied_at = now(), outcome = CAST(:outcome AS jsonb)
    WHERE id = :id
    """
)

# One more failed try at applying; at the last one the notification is given up.
_COUNT_FAILED_APPLY = text(
    """
    UPDATE webhook_notifications n
    SET outcome = jsonb_build_object('apply_failures', f.failures, 'last_error', CAST(:error AS text)),
        state = CASE WHEN f.failures >= CAST(:max_attempts AS int) THEN 'failed' ELSE n.state END,
        applied_at = CASE WHEN f.failures >= CAST(:max_attempts AS int) THEN now() END
    FROM (SELECT id, coalesce((outcome->>'apply_failures')::int, 0) + 1 AS failures
          FROM webhook_notifications WHERE id = :id) AS f
    WHERE n.id = f.id AND n.state = 'received'
    RETURNING n.state
    """
)

# Contact (profile name refreshed when given) and its conversation, opened if new.
_OPEN_CONVERSATION = text(
    """
    WITH contact AS (
        INSERT INTO contacts (account_id, wa_id, profile_name) VALUES (:account_id, :wa_id, :profile_name)
        ON CONFLICT (account_id, wa_id) DO UPDATE
        SET profile_name = CASE WHEN EXCLUDED.profile_name <> '' THEN EXCLUDED.profile_name
                                ELSE contacts.profile_name END,
            updated_at = now()
        RETURNING id
    )
    INSERT INTO conversations (account_id, contact_id)
    SELECT :account_id, contact.id FROM contact
    ON CONFLICT (account_id, contact_id) DO UPDATE SET contact_id = EXCLUDED.contact_id
    RETURNING id, (xmax = 0) AS opened
    """
)

# Idempotent: the same WhatsApp message id is stored once.
_INSERT_INBOUND = text(
    """
    INSERT INTO messages (account_id, conversation_id, direction, contact_wa_id, type, body,
                          reply_to_wa_message_id, status, wa_message_id, created_at)
    VALUES (:account_id, :conversation_id, 'inbound', :wa_id, :type, CAST(:body AS jsonb), :reply_to,
            'received', :wa_message_id, :sent_at)
    ON CONFLICT (account_id, wa_message_id) WHERE wa_message_id IS NOT NULL DO NOTHING
    RETURNING id, pigeon_message_json(messages)::text AS resource
    """
)

# A customer wrote: the 24 h window opens (moves), one more unread.
_TOUCH_CONVERSATION = text(
    """
    UPDATE conversations c
    SET last_inbound_at = greatest(c.last_inbound_at, :sent_at),
        last_message_at = greatest(c.last_message_at, :sent_at),
        last_activity_at = greatest(c.last_activity_at, :sent_at),
        unread_count = c.unread_count + 1
    FROM contacts k
    WHERE c.id = :conversation_id AND k.id = c.contact_id
    RETURNING pigeon_conversation_json(c, k)::text AS resource
    """
)

_MARK_READ = text(
    """
    UPDATE conversations c SET unread_count = 0
    FROM contacts k
    WHERE c.id = :conversation_id AND c.account_id = :account_id AND k.id = c.contact_id
    RETURNING pigeon_conversation_json(c, k)::text AS resource, c.unread_count
    """
)

# A status moves the message forward only (see pigeon_status_rank), matched by WhatsApp
# id or, before pigeon stored that id, by pigeon's own id echoed in biz_opaque_callback_data.
# One exception: a failure pigeon concluded itself gives way to WhatsApp's word that it has
# the message. Its codes: the sender's own (timeout, connection_error, bad_response), the
# sender call's (sender_*), the outbox's (expired, late_for_slot) and reengagement_required
# (131047 in a word). Such a status can only come from an earlier attempt that went out.
_APPLY_STATUS = text(
    """
    UPDATE messages
    SET status = :status,
        wa_message_id = coalesce(wa_message_id, :wa_message_id),
        sent_at = coalesce(
            sent_at, CASE WHEN :status IN ('sent', 'delivered', 'read') THEN CAST(:at AS timestamptz) END),
        delivered_at = coalesce(delivered_at,
                                CASE WHEN :status IN ('delivered', 'read') THEN CAST(:at AS timestamptz) END),
        read_at = coalesce(read_at, CASE WHEN :status = 'read' THEN CAST(:at AS timestamptz) END),
        failed_at = CASE WHEN :status = 'failed' THEN CAST(:at AS timestamptz)
                         WHEN status = 'failed' THEN NULL ELSE failed_at END,
        error_code = CASE WHEN :status = 'failed' THEN CAST(:error_code AS text)
                          WHEN status = 'failed' THEN NULL ELSE error_code END,
        error_message = CASE WHEN :status = 'failed' THEN CAST(:error_message AS text)
                             WHEN status = 'failed' THEN NULL ELSE error_message END,
        lease_expires_at = NULL,
        updated_at = now()
    WHERE account_id = :account_id AND direction = 'outbound'
      AND (wa_message_id = :wa_message_id
           OR (id = CAST(:callback_id AS uuid) AND (wa_message_id IS NULL OR wa_message_id = :wa_message_id)))
      AND (pigeon_status_rank(status) < pigeon_status_rank(:status)
           OR (status = 'failed' AND :status <> 'failed'
               AND (error_code IN ('timeout', 'connection_error', 'bad_response', 'expired', 'late_for_slot',
                                   'reengagement_required')
                    OR starts_with(error_code, 'sender_'))))
      AND NOT (:status = 'failed' AND status = 'read')
    RETURNING id, conversation_id, pigeon_message_json(messages)::text AS resource
    """
)

_MESSAGE_KNOWN = text(
    """
    SELECT 1 FROM messages
    WHERE account_id = :account_id
      AND (wa_message_id = :wa_message_id OR id = CAST(:callback_id AS uuid))
    """
)

_KEEP_PENDING = text(
    """
    INSERT INTO pending_statuses (account_id, wa_message_id, status, status_at, error_code, error_message)
    VALUES (:account_id, :wa_message_id, :status, :at, :error_code, :error_message)
    ON CONFLICT DO NOTHING
    """
)

# Pending statuses whose message pigeon now knows, oldest status first.
_MATCHABLE_PENDING = text(
    """
    SELECT p.account_id, p.wa_message_id, p.status, p.status_at, p.error_code, p.error_message
    FROM pending_statuses p
    WHERE EXISTS (SELECT 1 FROM messages m
                  WHERE m.account_id = p.account_id AND m.wa_message_id = p.wa_message_id)
    ORDER BY p.account_id, p.wa_message_id, pigeon_status_rank(p.status)
    LIMIT :limit
    FOR UPDATE SKIP LOCKED
    """
)

_FORGET_PENDING = text(
    """
    DELETE FROM pending_statuses
    WHERE account_id = :account_id AND wa_message_id = :wa_message_id AND status = :status
    """
)

# Appends an account's events in order, taking its next ids under the counter's lock.
_APPEND_EVENTS = text(
    """
    WITH counter AS (
        INSERT INTO event_counters AS ec (account_id, last_id) VALUES (:account_id, :count)
        ON CONFLICT (account_id) DO UPDATE SET last_id = ec.last_id + EXCLUDED.last_id
        RETURNING last_id
    )
    INSERT INTO events (account_id, id, type, message_id, conversation_id, data)
    SELECT :account_id, counter.last_id - :count + e.ord, e.type, e.message_id, e.conversation_id, e.data
    FROM counter,
         unnest(CAST(:types AS text[]), CAST(:message_ids AS uuid[]), CAST(:conversation_ids AS uuid[]),
                CAST(:datas AS jsonb[])) WITH ORDINALITY AS e(type, message_id, conversation_id, data, ord)
    """
)


@dataclass(frozen=True, slots=True)
class AppSecret:
    account_id: UUID
    phone_number_id: str
    app_secret: str


@dataclass(frozen=True, slots=True)
class StatusUpdate:
    account_id: UUID
    wa_message_id: str
    callback_id: UUID | None
    status: str
    at: datetime
    error_code: str | None = None
    error_message: str | None = None


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


@dataclass
class Event:
    type: str
    message_id: UUID | None
    conversation_id: UUID
    data_json: str


class Applying:
    """One notification's transaction: its changes and the events they make."""

    def __init__(self, connection: AsyncConnection) -> None:
        self.connection = connection
        self.events: dict[UUID, list[Event]] = {}

    async def _one(self, statement: Any, **params: Any) -> Any:
        return (await self.connection.execute(statement, params)).first()

    async def accounts_by_phone_number(self, numbers: set[str]) -> dict[str, UUID]:
        if not numbers:
            return {}
        rows = await self.connection.execute(_ACCOUNTS_BY_PHONE_NUMBER, {"numbers": sorted(numbers)})
        return {row.phone_number_id: row.id for row in rows}

    async def inbound(self, message: Inbound) -> bool:
        """Stores an inbound message; False when it was stored before (a duplicate)."""
        conversation = await self._one(
            _OPEN_CONVERSATION,
            account_id=message.account_id,
            wa_id=message.wa_id,
            profile_name=message.profile_name,
        )
        stored = await self._one(
            _INSERT_INBOUND,
            account_id=message.account_id,
            conversation_id=conversation.id,
            wa_id=message.wa_id,
            type=message.type,
            body=message.body_json,
            reply_to=message.reply_to,
            wa_message_id=message.wa_message_id,
            sent_at=message.sent_at,
        )
        if stored is None:
            return False
        touched = await self._one(
            _TOUCH_CONVERSATION, conversation_id=conversation.id, sent_at=message.sent_at
        )
        events = self.events.setdefault(message.account_id, [])
        events.append(Event("message.received", stored.id, conversation.id, stored.resource))
        events.append(Event("conversation.updated", None, conversation.id, touched.resource))
        return True

    async def status(self, update: StatusUpdate) -> str:
        """Applies a status: "applied", "ignored" (not forward: a duplicate or late one)
        or "pending" (no such message yet: kept for later matching)."""
        params = {
            "account_id": update.account_id,
            "wa_message_id": update.wa_message_id,
            "callback_id": update.callback_id,
            "status": update.status,
            "at": update.at,
            "error_code": update.error_code,
            "error_message": update.error_message,
        }
        changed = await self._one(_APPLY_STATUS, **params)
        if changed is not None:
            self.events.setdefault(update.account_id, []).append(
                Event(f"message.{update.status}", changed.id, changed.conversation_id, changed.resource)
            )
            return "applied"
        known = await self._one(
            _MESSAGE_KNOWN,
            account_id=update.account_id,
            wa_message_id=update.wa_message_id,
            callback_id=update.callback_id,
        )
        if known is not None:
            return "ignored"
        await self.connection.execute(_KEEP_PENDING, {k: v for k, v in params.items() if k != "callback_id"})
        return "pending"

    async def mark_read(self, account_id: UUID, conversation_id: UUID) -> str | None:
        row = await self._one(_MARK_READ, account_id=account_id, conversation_id=conversation_id)
        if row is None:
            return None
        self.events.setdefault(account_id, []).append(
            Event("conversation.updated", None, conversation_id, row.resource)
        )
        return str(row.resource)

    async def append_events(self) -> None:
        # Counters locked in account order, as every other writer of events does.
        for account_id, events in sorted(self.events.items()):
            if not events:
                continue
            await self.connection.execute(
                _APPEND_EVENTS,
                {
                    "account_id": account_id,
                    "count": len(events),
                    "types": [e.type for e in events],
                    "message_ids": [e.message_id for e in events],
                    "conversation_ids": [e.conversation_id for e in events],
                    "datas": [e.data_json for e in events],
                },
            )


class WebhookStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def app_secrets(self) -> list[AppSecret]:
        async with self.engine.connect() as connection:
            rows = (await connection.execute(_APP_SECRETS)).all()
        return [AppSecret(row.id, row.phone_number_id, row.app_secret) for row in rows]

    async def store(self, body: bytes, signed_for: Sequence[UUID]) -> int:
        async with self.engine.connect() as connection:
            return int(
                (
                    await connection.execute(
                        _STORE_NOTIFICATION, {"body": body, "signed_for": list(signed_for)}
                    )
                ).scalar_one()
            )

    async def unapplied(self, older_than_seconds: float, limit: int = 100) -> list[int]:
        async with self.engine.connect() as connection:
            rows = await connection.execute(
                _UNAPPLIED, {"older_than_seconds": older_than_seconds, "limit": limit}
            )
            return [row.id for row in rows]

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Applying]:
        async with self.engine.connect() as connection:
            connection = await connection.execution_options(isolation_level="READ COMMITTED")
            async with connection.begin():
                applying = Applying(connection)
                yield applying
                await applying.append_events()

    async def lock_notification(
        self, applying: Applying, notification_id: int
    ) -> tuple[bytes, list[UUID]] | None:
        row = (await applying.connection.execute(_LOCK_NOTIFICATION, {"id": notification_id})).first()
        return None if row is None else (bytes(row.body), list(row.signed_for))

    async def finish_notification(
        self, applying: Applying, notification_id: int, state: str, outcome: dict[str, Any]
    ) -> None:
        await applying.connection.execute(
            _FINISH_NOTIFICATION,
            {"id": notification_id, "state": state, "outcome": orjson.dumps(outcome).decode()},
        )

    async def count_failed_apply(self, notification_id: int, max_attempts: int, error: str) -> bool:
        """Counts a failed try; True when it was the last one and the notification ended "failed"."""
        async with self.engine.begin() as connection:
            state = (
                await connection.execute(
                    _COUNT_FAILED_APPLY, {"id": notification_id, "max_attempts": max_attempts, "error": error}
                )
            ).scalar()
        return state == "failed"

    async def match_pending(self, applying: Applying, limit: int = 500) -> int:
        rows = (await applying.connection.execute(_MATCHABLE_PENDING, {"limit": limit})).all()
        for row in rows:
            await applying.status(
                StatusUpdate(
                    row.account_id,
                    row.wa_message_id,
                    None,
                    row.status,
                    row.status_at,
                    row.error_code,
                    row.error_message,
                )
            )
            await applying.connection.execute(
                _FORGET_PENDING,
                {"account_id": row.account_id, "wa_message_id": row.wa_message_id, "status": row.status},
            )
        return len(rows)
