"""PostgreSQL access: the only module that speaks SQL.

Every statement that touches tenant data is scoped by account_id in SQL. The engine
runs in autocommit mode: each write below is a single statement (CTEs where it
changes two tables), so it is one transaction and one round trip, with no BEGIN and
COMMIT round trips around it.
"""

import re
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg
from sqlalchemy import Row, TextClause, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from services.conversations.database.pool import StatementPool
from services.conversations.domain import (
    Account,
    ClaimedMessage,
    Content,
    Conversation,
    ConversationRef,
    Direction,
    Message,
    MessageStatus,
    Page,
    StoredEvent,
)
from services.shared.batching import Batcher, Item, Result

# Batched writes (`batching.py`): connections for them, which is also how many batches of
# one kind may run at once, and the most rows in one batch.
BATCH_CONNECTIONS = 4
MAX_BATCH = 64


def create_engine(database_url: str, pool_size: int) -> AsyncEngine:
    return create_async_engine(
        database_url,
        pool_size=pool_size,
        max_overflow=0,
        # A request waits at most this long for a free connection, then fails as unavailable.
        pool_timeout=5,
        # No ping per checkout (a round trip per statement): a broken connection fails its
        # statement, is discarded by the pool, and the health probe reports the outage.
        isolation_level="AUTOCOMMIT",
        connect_args={
            "timeout": 5,
            "command_timeout": 10,
            "server_settings": {
                "application_name": "pigeon-conversations",
                # Under command_timeout: the server cancels a statement first, and says so
                # (QueryCanceledError), where the client's timeout would look like an outage.
                "statement_timeout": "9s",
                # A transaction left open by a replica that froze mid-claim would hold its
                # accounts' pacing rows, and every sync send of those accounts would wait:
                # ended before the statements waiting for it reach their own timeout.
                "idle_in_transaction_session_timeout": "5s",
            },
        },
    )


_MESSAGE_COLUMNS = """
    m.id, m.account_id, m.conversation_id, m.direction, m.contact_wa_id, m.type, m.body::text AS body,
    m.reply_to_wa_message_id, m.status, m.wa_message_id, m.error_code, m.error_message,
    m.created_at, m.sent_at, m.delivered_at, m.read_at, m.failed_at
"""

_CONVERSATION_COLUMNS = """
    c.id, c.account_id, k.wa_id AS contact_wa_id, k.profile_name AS contact_name, c.created_at,
    c.last_message_at, c.last_inbound_at, c.last_activity_at, c.unread_count
"""

REENGAGEMENT_MESSAGE = "More than 24 hours since the customer's last message: only a template can be sent"
RATE_LIMITED_MESSAGE = (
    "The account's messages-per-second limit is reached (its next free send slot is too far away):"
    " retry later"
)

# Appends one event per changed row of {source} (a CTE that returns messages.* and
# `resource`), taking the account's next event ids under its counter row's lock.
_EVENT_CTES = """
    changed AS (
        SELECT * FROM {source} WHERE {condition}
    ), counter AS (
        INSERT INTO event_counters AS ec (account_id, last_id)
        SELECT account_id, count(*) FROM changed GROUP BY account_id ORDER BY account_id
        ON CONFLICT (account_id) DO UPDATE SET last_id = ec.last_id + EXCLUDED.last_id
        RETURNING account_id, last_id
    ), numbered AS (
        SELECT changed.*, counter.last_id - count(*) OVER (PARTITION BY changed.account_id)
               + row_number() OVER (PARTITION BY changed.account_id ORDER BY changed.id) AS event_id
        FROM changed JOIN counter ON counter.account_id = changed.account_id
    ), appended AS (
        INSERT INTO events (account_id, id, type, message_id, conversation_id, data)
        SELECT account_id, event_id, 'message.' || status, id, conversation_id, resource FROM numbered
    )
"""

_PING = text("SELECT 1")

_AUTHENTICATE = text("SELECT account_id FROM api_keys WHERE key_hash = :key_hash AND revoked_at IS NULL")

_LOAD_ACCOUNT = text(
    "SELECT id, phone_number_id, access_token, messages_per_second FROM accounts WHERE id = :account_id"
)

_LOAD_CONVERSATION_REF = text(
    """
    SELECT c.id, c.account_id, k.wa_id AS contact_wa_id, c.last_inbound_at
    FROM conversations c JOIN contacts k ON k.id = c.contact_id
    WHERE c.id = :conversation_id AND c.account_id = :account_id
    """
)

# Finds or opens the conversation with a contact in one statement. The no-op
# DO UPDATE makes RETURNING yield the existing row on conflict.
_OPEN_CONVERSATION = text(
    """
    WITH contact AS (
        INSERT INTO contacts (account_id, wa_id) VALUES (:account_id, :wa_id)
        ON CONFLICT (account_id, wa_id) DO UPDATE SET wa_id = EXCLUDED.wa_id
        RETURNING id, wa_id
    ), conversation AS (
        INSERT INTO conversations (account_id, contact_id)
        SELECT :account_id, contact.id FROM contact
        ON CONFLICT (account_id, contact_id) DO UPDATE SET contact_id = EXCLUDED.contact_id
        RETURNING id, account_id, contact_id, last_inbound_at
    )
    SELECT conversation.id, conversation.account_id, contact.wa_id AS contact_wa_id,
           conversation.last_inbound_at
    FROM conversation JOIN contact ON contact.id = conversation.contact_id
    """
)

# Before every account id: a claim that starts from the beginning.
NO_ACCOUNT = UUID(int=0)

# A message stored as `sending` (a sync send) is its first attempt. The outbox takes a stalled one
# over as attempt 2 and up, so the late sync outcome, written under attempt 1, cannot overwrite it.
SYNC_SEND_ATTEMPT = 1

# Stores messages (a batch: one row per array element) and moves their conversations'
# activity in one statement. Nothing is written for a row whose conversation is not the
# account's, or whose idempotency key was used before (the caller then reads the
# original). A free-form message outside the 24 h window is stored failed at once.
# A sync send (`sending`) takes its account's next pacing slot, as the outbox's claims do,
# so that both together keep the account under its messages per second; when the next
# free slot is further away than the row's `max_pacing_wait_seconds`, it is stored failed
# at once (`account_rate_limited`), takes no slot and leaves its idempotency key unused
# (unless the key was used before: then the caller reads the original). Each row's
# `send_delay_seconds` says how long to wait for its slot. Queued and failed messages get
# their event. Locks are taken in one order by every batch, so concurrent batches wait
# for each other instead of deadlocking: the pacing rows (sorted by account), the
# idempotency keys (sorted; `(SELECT count(*) FROM ...)` finishes each step before the
# next), the conversations (sorted by id), then the event counters (sorted by account).
# The outbox's claim locks only pacing rows.
_INSERT_OUTBOUND = text(
    f"""
    WITH input AS (
        SELECT * FROM unnest(
            CAST(:message_ids AS uuid[]), CAST(:account_ids AS uuid[]), CAST(:conversation_ids AS uuid[]),
            CAST(:contact_wa_ids AS text[]), CAST(:types AS text[]), CAST(:bodies AS text[]),
            CAST(:reply_tos AS text[]),
            CAST(:statuses AS text[]), CAST(:idempotency_keys AS text[]), CAST(:request_hashes AS bytea[]),
            CAST(:lease_seconds AS float8[]), CAST(:max_age_seconds AS float8[]),
            CAST(:slot_seconds AS float8[]), CAST(:max_pacing_wait_seconds AS float8[])
        ) AS i(message_id, account_id, conversation_id, contact_wa_id, type, body, reply_to, status,
               idempotency_key, request_hash, lease_seconds, max_age_seconds, slot_seconds,
               max_pacing_wait_seconds)
    ), pacing AS (
        SELECT p.account_id, p.next_slot_at
        FROM send_pacing p
        WHERE p.account_id IN (SELECT account_id FROM input WHERE status = 'sending')
        ORDER BY p.account_id
        FOR UPDATE OF p
    ), sync_rows AS (
        -- clock_timestamp() here, once every pacing row is locked: after any wait for a lock
        -- (in `pacing` it would be read before the wait).
        SELECT i.message_id, i.account_id, i.slot_seconds, i.max_pacing_wait_seconds,
               greatest(pacing.next_slot_at, clock_timestamp()) AS start,
               row_number() OVER (PARTITION BY i.account_id ORDER BY i.message_id) - 1 AS position
        FROM input i JOIN pacing ON pacing.account_id = i.account_id
        WHERE i.status = 'sending'
    ), slots AS MATERIALIZED (
        -- Each sync send's slot; one further away than its wait allows is refused (and so
        -- are the account's later ones in the batch: their slots are further still).
        SELECT message_id, account_id, slot_seconds, slot_at,
               slot_at > clock_timestamp() + make_interval(secs => max_pacing_wait_seconds) AS refused
        FROM (SELECT *, start + make_interval(secs => slot_seconds * position) AS slot_at FROM sync_rows) AS r
    ), key AS (
        INSERT INTO idempotency_keys (account_id, key, request_hash, message_id)
        SELECT i.account_id, i.idempotency_key, i.request_hash, i.message_id FROM input i
        WHERE i.idempotency_key IS NOT NULL AND (SELECT count(*) FROM pacing) >= 0
          AND EXISTS (SELECT 1 FROM conversations WHERE id = i.conversation_id AND account_id = i.account_id)
          -- A send refused by its account's pacing does not use up its key: a retry may send.
          AND i.message_id NOT IN (SELECT message_id FROM slots WHERE refused)
        ORDER BY i.account_id, i.idempotency_key
        ON CONFLICT DO NOTHING
        RETURNING message_id
    ), c AS (
        SELECT id, account_id, last_inbound_at FROM conversations
        WHERE id = ANY(CAST(:conversation_ids AS uuid[])) AND (SELECT count(*) FROM key) >= 0
        ORDER BY id
        FOR UPDATE
    ), target AS (
        SELECT i.*, CASE
                WHEN i.type <> 'template'
                     AND (c.last_inbound_at IS NULL OR c.last_inbound_at < now() - interval '24 hours')
                    THEN 'reengagement_required'
                WHEN slots.refused THEN 'account_rate_limited'
            END AS refusal
        FROM input i JOIN c ON c.id = i.conversation_id AND c.account_id = i.account_id
        LEFT JOIN slots ON slots.message_id = i.message_id
        WHERE i.idempotency_key IS NULL OR i.message_id IN (SELECT message_id FROM key)
           OR (slots.refused
               AND NOT EXISTS (SELECT 1 FROM idempotency_keys k
                               WHERE k.account_id = i.account_id AND k.key = i.idempotency_key))
    ), paced AS (
        UPDATE send_pacing p SET next_slot_at = taken.next_slot_at
        FROM (SELECT s.account_id, max(s.slot_at) + make_interval(secs => max(s.slot_seconds)) AS next_slot_at
              FROM target t JOIN slots s ON s.message_id = t.message_id
              WHERE t.refusal IS NULL GROUP BY s.account_id) AS taken
        WHERE p.account_id = taken.account_id
    ), touched AS (
        UPDATE conversations SET last_message_at = now(), last_activity_at = now()
        WHERE id IN (SELECT conversation_id FROM target)
    ), m AS (
        INSERT INTO messages (id, account_id, conversation_id, direction, contact_wa_id, type, body,
                              reply_to_wa_message_id, status, error_code, error_message, failed_at,
                              attempts, next_attempt_at, lease_expires_at, expires_at)
        SELECT t.message_id, t.account_id, t.conversation_id, 'outbound', t.contact_wa_id, t.type,
               CAST(t.body AS jsonb), t.reply_to,
               CASE WHEN t.refusal IS NULL THEN t.status ELSE 'failed' END,
               t.refusal,
               CASE t.refusal WHEN 'reengagement_required' THEN :reengagement_message
                              WHEN 'account_rate_limited' THEN :rate_limited_message END,
               CASE WHEN t.refusal IS NOT NULL THEN now() END,
               CASE WHEN t.status = 'sending' AND t.refusal IS NULL THEN {SYNC_SEND_ATTEMPT} ELSE 0 END,
               CASE WHEN t.status = 'queued' THEN now() END,
               CASE WHEN t.status = 'sending' AND t.refusal IS NULL
                    THEN now() + make_interval(secs => t.lease_seconds) END,
               now() + make_interval(secs => t.max_age_seconds)
        FROM target t
        RETURNING messages.*,
            -- Only what gets an event needs its JSON (a sync send's first event is its outcome).
            CASE WHEN messages.status <> 'sending' THEN pigeon_message_json(messages) END AS resource
    ), {_EVENT_CTES.format(source="m", condition="m.status <> 'sending'")}
    SELECT {_MESSAGE_COLUMNS},
           coalesce(extract(epoch FROM slots.slot_at - clock_timestamp()), 0)::float8 AS send_delay_seconds
    FROM m LEFT JOIN slots ON slots.message_id = m.id
    """
)

_IDEMPOTENT_ORIGINAL = text(
    f"""
    SELECT k.request_hash, {_MESSAGE_COLUMNS}
    FROM idempotency_keys k JOIN messages m ON m.id = k.message_id
    WHERE k.account_id = :account_id AND k.key = :idempotency_key
    """
)

# The outcomes of sends (a batch: one per array element, `sent` or `failed`),
# each recorded only while its message is still sending (and, for the outbox, still
# under the same claim: `attempt` matches), with its event. Two outcomes for one
# message in a batch: one is recorded, and `ordinal` says which. Messages are locked in
# id order, so batches cannot deadlock on them.
_RECORD_OUTCOME = text(
    f"""
    WITH input AS (
        SELECT * FROM unnest(
            CAST(:message_ids AS uuid[]), CAST(:account_ids AS uuid[]), CAST(:attempts AS int[]),
            CAST(:statuses AS text[]), CAST(:wa_message_ids AS text[]), CAST(:error_codes AS text[]),
            CAST(:error_messages AS text[])
        ) WITH ORDINALITY
            AS i(message_id, account_id, attempt, status, wa_message_id, error_code, error_message, ordinal)
    ), m AS (
        UPDATE messages AS msg
        SET status = i.status, updated_at = now(), lease_expires_at = NULL,
            wa_message_id = CASE WHEN i.status = 'sent' THEN i.wa_message_id ELSE msg.wa_message_id END,
            sent_at = CASE WHEN i.status = 'sent' THEN now() ELSE msg.sent_at END,
            error_code = CASE WHEN i.status = 'failed' THEN i.error_code ELSE msg.error_code END,
            error_message = CASE WHEN i.status = 'failed' THEN i.error_message ELSE msg.error_message END,
            failed_at = CASE WHEN i.status = 'failed' THEN now() ELSE msg.failed_at END
        FROM (SELECT * FROM input ORDER BY message_id) AS i
        -- `IS TRUE` keeps the generic plan on the primary key: `status = 'sending'` alone would
        -- match the partial lease index, which holds every message in flight.
        WHERE msg.id = i.message_id AND msg.account_id = i.account_id AND (msg.status = 'sending') IS TRUE
          AND (i.attempt IS NULL OR msg.attempts = i.attempt)
        RETURNING msg.*, pigeon_message_json(msg) AS resource, i.ordinal
    ), {_EVENT_CTES.format(source="m", condition="true")}
    SELECT {_MESSAGE_COLUMNS}, m.ordinal FROM m
    """
)

# A retryable failure: back to the queue until next_attempt_at. Not an event: clients
# see the message as queued until it is sent or fails for good.
_REQUEUE = text(
    """
    UPDATE messages
    SET status = 'queued', next_attempt_at = now() + make_interval(secs => :delay_seconds),
        lease_expires_at = NULL, error_code = :error_code, error_message = :error_message, updated_at = now()
    WHERE id = :message_id AND account_id = :account_id AND status = 'sending' AND attempts = :attempt
    RETURNING id
    """
)

# 131056 (pair rate limit): every queued message to that recipient waits too, each one
# pause after the one before it (oldest first; the message that met the limit, already
# queued again one pause away, is usually the oldest). Paused all alike, they would fall
# due together, meet the limit again together, and a burst to one customer would use up
# its attempts.
_PAUSE_RECIPIENT = text(
    """
    UPDATE messages m
    SET next_attempt_at = greatest(m.next_attempt_at, now() + make_interval(secs => :delay_seconds * q.turn))
    FROM (
        SELECT id, row_number() OVER (ORDER BY created_at, id) AS turn FROM messages
        WHERE account_id = :account_id AND contact_wa_id = :contact_wa_id AND status = 'queued'
    ) AS q
    WHERE m.id = q.id AND m.status = 'queued'
    """
)

# Claims whose replica died (or stalled past its lease) go back to the queue.
_REQUEUE_EXPIRED_LEASES = text(
    """
    UPDATE messages
    SET status = 'queued', next_attempt_at = now(), lease_expires_at = NULL, updated_at = now()
    WHERE status = 'sending' AND lease_expires_at < now()
    """
)

# The accounts with due messages and a free pacing slot within the horizon: a loose index
# scan, one probe per account, so that an account with a huge backlog does not hide the
# others. It starts after the account where the replica's previous claim ended and wraps
# around, so that when few workers are free every account gets its turn, not only the
# lowest ids; accounts whose slots are all handed out leave room for the next ones.
_DUE_ACCOUNTS = text(
    """
    WITH RECURSIVE due(account_id) AS (
        (SELECT account_id FROM messages
         WHERE status = 'queued' AND next_attempt_at <= now() AND account_id > :after_account
         ORDER BY account_id LIMIT 1)
        UNION ALL
        SELECT (SELECT m.account_id FROM messages m
                WHERE m.status = 'queued' AND m.next_attempt_at <= now() AND m.account_id > due.account_id
                ORDER BY m.account_id LIMIT 1)
        FROM due WHERE due.account_id IS NOT NULL
    ), wrapped(account_id) AS (
        (SELECT account_id FROM messages
         WHERE status = 'queued' AND next_attempt_at <= now() AND account_id <= :after_account
         ORDER BY account_id LIMIT 1)
        UNION ALL
        SELECT (SELECT m.account_id FROM messages m
                WHERE m.status = 'queued' AND m.next_attempt_at <= now()
                  AND m.account_id > wrapped.account_id AND m.account_id <= :after_account
                ORDER BY m.account_id LIMIT 1)
        FROM wrapped WHERE wrapped.account_id IS NOT NULL
    )
    -- The pacing check is a subquery per account, not a join: it keeps the scans' order, and
    -- LIMIT stops them as soon as enough accounts are found.
    SELECT d.account_id
    FROM (SELECT account_id FROM due UNION ALL SELECT account_id FROM wrapped) AS d
    WHERE d.account_id IS NOT NULL
      AND (SELECT p.next_slot_at FROM send_pacing p WHERE p.account_id = d.account_id)
          <= now() + make_interval(secs => :horizon_seconds)
    LIMIT :max_accounts
    """
)

# Locked in account order so that concurrent dispatchers never deadlock.
_LOCK_PACING = text(
    """
    SELECT p.account_id, greatest(p.next_slot_at, now()) AS start, now() AS now, a.messages_per_second
    FROM send_pacing p JOIN accounts a ON a.id = p.account_id
    WHERE p.account_id = ANY(CAST(:account_ids AS uuid[]))
    ORDER BY p.account_id
    FOR UPDATE OF p
    """
)

_ADVANCE_PACING = text(
    """
    UPDATE send_pacing p SET next_slot_at = v.next_slot_at
    FROM unnest(CAST(:account_ids AS uuid[]), CAST(:next_slots AS timestamptz[]))
         AS v(account_id, next_slot_at)
    WHERE p.account_id = v.account_id
    """
)

_CLAIM = text(
    """
    UPDATE messages m
    SET status = 'sending', attempts = m.attempts + 1, next_attempt_at = NULL,
        lease_expires_at = now() + make_interval(secs => :lease_seconds), updated_at = now()
    FROM (
        SELECT picked.id
        FROM unnest(CAST(:account_ids AS uuid[]), CAST(:counts AS int[])) AS g(account_id, n)
        CROSS JOIN LATERAL (
            SELECT id FROM messages
            WHERE account_id = g.account_id AND status = 'queued' AND next_attempt_at <= now()
            ORDER BY next_attempt_at
            LIMIT g.n
            FOR UPDATE SKIP LOCKED
        ) picked
    ) claimed
    WHERE m.id = claimed.id
    RETURNING m.id, m.account_id, m.contact_wa_id, m.type, m.body::text AS body, m.reply_to_wa_message_id,
              m.attempts, m.expires_at, m.created_at, now() AS now, clock_timestamp() AS answered_at
    """
)

# Claims this replica could not finish (shutdown) or woke too late for (pacing) go back,
# the attempt not counted: only those still under the same attempt, never a claim taken over.
_RELEASE = text(
    """
    UPDATE messages m
    SET status = 'queued', next_attempt_at = now(), lease_expires_at = NULL, attempts = m.attempts - 1
    FROM unnest(CAST(:message_ids AS uuid[]), CAST(:attempts AS int[])) AS c(id, attempts)
    WHERE m.id = c.id AND m.status = 'sending' AND m.attempts = c.attempts
    """
)

_QUEUE_DEPTH = text(
    """
    SELECT count(*), coalesce(extract(epoch FROM now() - min(created_at)), 0)
    FROM messages WHERE status = 'queued'
    """
)

_NEXT_DUE = text("SELECT min(next_attempt_at) - now() FROM messages WHERE status = 'queued'")

_FORGET_OLD_IDEMPOTENCY_KEYS = text(
    "DELETE FROM idempotency_keys WHERE created_at < now() - make_interval(secs => :keep_seconds)"
)

_LAST_EVENT_ID = text("SELECT coalesce(max(last_id), 0) FROM event_counters WHERE account_id = :account_id")

_EVENTS_AFTER = text(
    """
    SELECT id, type, data::text AS data, created_at FROM events
    WHERE account_id = :account_id AND id > :after_id
    ORDER BY id
    LIMIT :limit
    """
)

_GET_MESSAGE = text(
    f"SELECT {_MESSAGE_COLUMNS} FROM messages m WHERE m.id = :message_id AND m.account_id = :account_id"
)

_LIST_MESSAGES = text(
    f"""
    SELECT {_MESSAGE_COLUMNS} FROM messages m
    WHERE m.conversation_id = :conversation_id AND m.account_id = :account_id
      AND (CAST(:after_time AS timestamptz) IS NULL
           OR (m.created_at, m.id) < (CAST(:after_time AS timestamptz), CAST(:after_id AS uuid)))
    ORDER BY m.created_at DESC, m.id DESC
    LIMIT :limit
    """
)

_GET_CONVERSATION = text(
    f"""
    SELECT {_CONVERSATION_COLUMNS}
    FROM conversations c JOIN contacts k ON k.id = c.contact_id
    WHERE c.id = :conversation_id AND c.account_id = :account_id
    """
)

_LIST_CONVERSATIONS = text(
    f"""
    SELECT {_CONVERSATION_COLUMNS}
    FROM conversations c JOIN contacts k ON k.id = c.contact_id
    WHERE c.account_id = :account_id
      AND (CAST(:after_time AS timestamptz) IS NULL
           OR (c.last_activity_at, c.id) < (CAST(:after_time AS timestamptz), CAST(:after_id AS uuid)))
    ORDER BY c.last_activity_at DESC, c.id DESC
    LIMIT :limit
    """
)


def _message(row: Row[Any]) -> Message:
    return Message(
        id=row.id,
        account_id=row.account_id,
        conversation_id=row.conversation_id,
        direction=Direction(row.direction),
        contact_wa_id=row.contact_wa_id,
        content=Content(row.type, row.body.encode(), row.reply_to_wa_message_id),
        status=MessageStatus(row.status),
        wa_message_id=row.wa_message_id,
        error_code=row.error_code,
        error_message=row.error_message,
        created_at=row.created_at,
        sent_at=row.sent_at,
        delivered_at=row.delivered_at,
        read_at=row.read_at,
        failed_at=row.failed_at,
    )


def _conversation_ref(row: Row[Any]) -> ConversationRef:
    return ConversationRef(row.id, row.account_id, row.contact_wa_id, row.last_inbound_at)


def _conversation(row: Row[Any]) -> Conversation:
    return Conversation(
        id=row.id,
        account_id=row.account_id,
        contact_wa_id=row.contact_wa_id,
        contact_name=row.contact_name,
        created_at=row.created_at,
        last_message_at=row.last_message_at,
        last_inbound_at=row.last_inbound_at,
        last_activity_at=row.last_activity_at,
        unread_count=row.unread_count,
    )


def _page_params(page: Page | None) -> dict[str, Any]:
    if page is None:
        return {"after_time": None, "after_id": None}
    return {"after_time": page.after_time, "after_id": page.after_id}


def _one_row_may_fail(exc: Exception) -> bool:
    """Errors one row of a batch can cause: a value refused (SQLSTATE class 22), a
    constraint (23), a deadlock with another transaction (40)."""
    return isinstance(
        exc,
        asyncpg.exceptions.DataError
        | asyncpg.exceptions.IntegrityConstraintViolationError
        | asyncpg.exceptions.TransactionRollbackError,
    )


@dataclass(frozen=True, slots=True)
class _Outcome:
    message_id: UUID
    account_id: UUID
    attempt: int | None
    status: str
    wa_message_id: str | None
    error_code: str | None
    error_message: str | None


@dataclass(frozen=True, slots=True)
class _OutboundRow:
    message_id: UUID
    conversation: ConversationRef
    content: Content
    status: str
    idempotency_key: str | None
    request_hash: bytes
    lease_seconds: float
    max_age_seconds: float
    slot_seconds: float
    max_pacing_wait_seconds: float


@dataclass(frozen=True, slots=True)
class StoredOutbound:
    message: Message
    # How long until the message's pacing slot (sync sends; 0 for the others).
    send_delay_seconds: float


def _batcher(name: str, run: Callable[[Sequence[Item]], Awaitable[list[Result]]]) -> Batcher[Item, Result]:
    return Batcher(
        name, run, max_in_flight=BATCH_CONNECTIONS, max_batch=MAX_BATCH, one_row_may_fail=_one_row_may_fail
    )


class _Positional:
    """A statement's :named parameters rewritten as asyncpg's $1, $2, ... (once per statement)."""

    def __init__(self, sql: str) -> None:
        self.names: list[str] = []

        def number(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in self.names:
                self.names.append(name)
            return f"${self.names.index(name) + 1}"

        # `::type` casts are not parameters: a colon after a word character or a colon is skipped.
        self.sql = re.sub(r"(?<![:\w]):(\w+)", number, sql)

    def args(self, params: dict[str, Any]) -> list[Any]:
        return [params[name] for name in self.names]


class _Record:
    """Attribute access to an asyncpg record, like SQLAlchemy's rows."""

    __slots__ = ("_record",)

    def __init__(self, record: asyncpg.Record) -> None:
        self._record = record

    def __getattr__(self, name: str) -> Any:
        return self._record[name]

    def __getitem__(self, index: int) -> Any:
        return self._record[index]


class Store:
    def __init__(self, engine: AsyncEngine, statement_connections: int | None = None) -> None:
        # The hot path's statements run on plain asyncpg connections (`statement_connections`
        # of them, by default as many as the engine has); the engine runs the transactions
        # (the outbox's claim) and the outbox's rarer bulk statements.
        self.engine = engine
        self.statements = StatementPool(
            engine.url.render_as_string(hide_password=False),
            statement_connections or engine.pool.size(),  # type: ignore[attr-defined]
        )
        # The writes of concurrent requests (outbound inserts, send outcomes) share
        # statements (`batching.py`), on connections of their own: PostgreSQL's default
        # plans a statement on arrays afresh at each execution (about 0.5 ms for the
        # insert); these keep its generic plan.
        self.batch_statements = StatementPool(
            engine.url.render_as_string(hide_password=False),
            BATCH_CONNECTIONS,
            server_settings={"plan_cache_mode": "force_generic_plan"},
        )
        self.outbound_inserts = _batcher("outbound_inserts", self._insert_outbound_batch)
        self.outcomes = _batcher("send_outcomes", self._record_outcome_batch)
        self._positional: dict[int, _Positional] = {}

    async def close(self) -> None:
        await self.outbound_inserts.close()
        await self.outcomes.close()
        await self.batch_statements.close()
        await self.statements.close()

    async def _fetch(
        self, statement: TextClause, params: dict[str, Any], pool: StatementPool | None = None
    ) -> list[asyncpg.Record]:
        positional = self._positional.get(id(statement))
        if positional is None:
            positional = self._positional[id(statement)] = _Positional(statement.text)
        return await (pool or self.statements).fetch(positional.sql, positional.args(params))

    async def _one(self, statement: TextClause, **params: Any) -> Any:
        records = await self._fetch(statement, params)
        return _Record(records[0]) if records else None

    async def _all(self, statement: TextClause, **params: Any) -> list[Any]:
        return [_Record(record) for record in await self._fetch(statement, params)]

    async def ping(self) -> None:
        """Raises unless PostgreSQL answers."""
        await self._fetch(_PING, {})

    async def account_for_key_hash(self, key_hash: bytes) -> UUID | None:
        row = await self._one(_AUTHENTICATE, key_hash=key_hash)
        return None if row is None else row.account_id

    async def load_account(self, account_id: UUID) -> Account | None:
        row = await self._one(_LOAD_ACCOUNT, account_id=account_id)
        if row is None:
            return None
        return Account(row.id, row.phone_number_id, row.access_token, row.messages_per_second)

    async def load_conversation_ref(self, account_id: UUID, conversation_id: UUID) -> ConversationRef | None:
        row = await self._one(_LOAD_CONVERSATION_REF, account_id=account_id, conversation_id=conversation_id)
        return None if row is None else _conversation_ref(row)

    async def open_conversation(self, account_id: UUID, wa_id: str) -> ConversationRef:
        row = await self._one(_OPEN_CONVERSATION, account_id=account_id, wa_id=wa_id)
        assert row is not None, "an upsert with RETURNING always yields a row"
        return _conversation_ref(row)

    async def insert_outbound(
        self,
        conversation: ConversationRef,
        content: Content,
        status: MessageStatus,
        *,
        idempotency_key: str | None,
        request_hash: bytes,
        lease_seconds: float,
        max_age_seconds: float,
        slot_seconds: float = 0.0,
        max_pacing_wait_seconds: float = 0.0,
    ) -> StoredOutbound | None:
        """None when nothing was written: unknown conversation, or a used idempotency key.
        A sync send (SENDING) takes its account's next pacing slot, `slot_seconds` after the
        one before it, or is stored failed (`account_rate_limited`) if that slot is more than
        `max_pacing_wait_seconds` away. Concurrent calls share one statement (`_INSERT_OUTBOUND`)."""
        return await self.outbound_inserts.submit(
            _OutboundRow(
                uuid.uuid4(),
                conversation,
                content,
                status.value,
                idempotency_key,
                request_hash,
                lease_seconds,
                max_age_seconds,
                slot_seconds,
                max_pacing_wait_seconds,
            )
        )

    async def _insert_outbound_batch(self, rows: Sequence[_OutboundRow]) -> list[StoredOutbound | None]:
        records = await self._fetch(
            _INSERT_OUTBOUND,
            {
                "message_ids": [row.message_id for row in rows],
                "account_ids": [row.conversation.account_id for row in rows],
                "conversation_ids": [row.conversation.id for row in rows],
                "contact_wa_ids": [row.conversation.contact_wa_id for row in rows],
                "types": [row.content.type for row in rows],
                "bodies": [row.content.body_json.decode() for row in rows],
                "reply_tos": [row.content.reply_to_wa_message_id for row in rows],
                "statuses": [row.status for row in rows],
                "idempotency_keys": [row.idempotency_key for row in rows],
                "request_hashes": [row.request_hash for row in rows],
                "lease_seconds": [row.lease_seconds for row in rows],
                "max_age_seconds": [row.max_age_seconds for row in rows],
                "slot_seconds": [row.slot_seconds for row in rows],
                "max_pacing_wait_seconds": [row.max_pacing_wait_seconds for row in rows],
                "reengagement_message": REENGAGEMENT_MESSAGE,
                "rate_limited_message": RATE_LIMITED_MESSAGE,
            },
            self.batch_statements,
        )
        by_id = {
            record["id"]: StoredOutbound(_message(_Record(record)), record["send_delay_seconds"])  # type: ignore[arg-type]
            for record in records
        }
        return [by_id.get(row.message_id) for row in rows]

    async def idempotent_original(
        self, account_id: UUID, idempotency_key: str
    ) -> tuple[bytes, Message] | None:
        row = await self._one(_IDEMPOTENT_ORIGINAL, account_id=account_id, idempotency_key=idempotency_key)
        return None if row is None else (bytes(row.request_hash), _message(row))

    async def record_sent(
        self, account_id: UUID, message_id: UUID, wa_message_id: str, attempt: int | None = None
    ) -> Message | None:
        """None unless the message was still sending (under `attempt`, when given)."""
        return await self.outcomes.submit(
            _Outcome(message_id, account_id, attempt, MessageStatus.SENT.value, wa_message_id, None, None)
        )

    async def record_failed(
        self,
        account_id: UUID,
        message_id: UUID,
        error_code: str,
        error_message: str,
        attempt: int | None = None,
    ) -> Message | None:
        """None unless the message was still sending (under `attempt`, when given)."""
        return await self.outcomes.submit(
            _Outcome(
                message_id, account_id, attempt, MessageStatus.FAILED.value, None, error_code, error_message
            )
        )

    async def _record_outcome_batch(self, outcomes: Sequence[_Outcome]) -> list[Message | None]:
        records = await self._fetch(
            _RECORD_OUTCOME,
            {
                "message_ids": [o.message_id for o in outcomes],
                "account_ids": [o.account_id for o in outcomes],
                "attempts": [o.attempt for o in outcomes],
                "statuses": [o.status for o in outcomes],
                "wa_message_ids": [o.wa_message_id for o in outcomes],
                "error_codes": [o.error_code for o in outcomes],
                "error_messages": [o.error_message for o in outcomes],
            },
            self.batch_statements,
        )
        by_ordinal = {record["ordinal"]: _message(_Record(record)) for record in records}  # type: ignore[arg-type]
        return [by_ordinal.get(ordinal) for ordinal in range(1, len(outcomes) + 1)]

    async def get_message(self, account_id: UUID, message_id: UUID) -> Message | None:
        row = await self._one(_GET_MESSAGE, account_id=account_id, message_id=message_id)
        return None if row is None else _message(row)

    async def list_messages(
        self, account_id: UUID, conversation_id: UUID, limit: int, page: Page | None
    ) -> list[Message]:
        rows = await self._all(
            _LIST_MESSAGES,
            account_id=account_id,
            conversation_id=conversation_id,
            limit=limit,
            **_page_params(page),
        )
        return [_message(row) for row in rows]

    async def get_conversation(self, account_id: UUID, conversation_id: UUID) -> Conversation | None:
        row = await self._one(_GET_CONVERSATION, account_id=account_id, conversation_id=conversation_id)
        return None if row is None else _conversation(row)

    async def list_conversations(self, account_id: UUID, limit: int, page: Page | None) -> list[Conversation]:
        rows = await self._all(_LIST_CONVERSATIONS, account_id=account_id, limit=limit, **_page_params(page))
        return [_conversation(row) for row in rows]

    # The outbox: claims, retries and shutdown release, used by the dispatcher.

    async def requeue(
        self, message: ClaimedMessage, delay_seconds: float, error_code: str, error_message: str
    ) -> bool:
        row = await self._one(
            _REQUEUE,
            account_id=message.account_id,
            message_id=message.id,
            attempt=message.attempts,
            delay_seconds=delay_seconds,
            error_code=error_code,
            error_message=error_message,
        )
        return row is not None

    async def pause_recipient(self, account_id: UUID, contact_wa_id: str, delay_seconds: float) -> None:
        async with self.engine.connect() as connection:
            await connection.execute(
                _PAUSE_RECIPIENT,
                {"account_id": account_id, "contact_wa_id": contact_wa_id, "delay_seconds": delay_seconds},
            )

    async def requeue_expired_leases(self) -> int:
        async with self.engine.connect() as connection:
            result = await connection.execute(_REQUEUE_EXPIRED_LEASES)
            return int(result.rowcount)  # type: ignore[attr-defined]

    async def claim(
        self,
        capacity: int,
        lease_seconds: float,
        pacing_margin_seconds: float,
        horizon_seconds: float,
        after_account: UUID = NO_ACCOUNT,
    ) -> list[ClaimedMessage]:
        """Claims up to `capacity` due messages, shared fairly between accounts (taken in id
        order from after `after_account`, wrapping around), each with a send slot that keeps
        its account under its messages-per-second limit across every replica (the slots
        live in send_pacing, locked for the claim)."""
        async with self.engine.connect() as connection:
            connection = await connection.execution_options(isolation_level="READ COMMITTED")
            async with connection.begin():
                accounts = (
                    (
                        await connection.execute(
                            _DUE_ACCOUNTS,
                            {
                                "max_accounts": capacity,
                                "after_account": after_account,
                                "horizon_seconds": horizon_seconds,
                            },
                        )
                    )
                    .scalars()
                    .all()
                )
                if not accounts:
                    return []
                pacing = (await connection.execute(_LOCK_PACING, {"account_ids": list(accounts)})).all()
                share = max(1, capacity // len(pacing))
                grants: dict[UUID, tuple[datetime, timedelta]] = {}
                counts: list[int] = []
                for row in pacing:
                    # mps slots span 1 s + the margin: jitter between a slot and the request's
                    # arrival at WhatsApp up to the margin cannot put mps + 1 in one second.
                    interval = (1 + pacing_margin_seconds) / row.messages_per_second
                    horizon_end = row.now + timedelta(seconds=horizon_seconds)
                    # Slots at start, start + interval, ... up to the horizon.
                    ahead = (horizon_end - row.start).total_seconds()
                    free_slots = int(ahead / interval) + 1 if ahead >= 0 else 0
                    if min(share, free_slots) > 0:
                        grants[row.account_id] = (row.start, timedelta(seconds=interval))
                        counts.append(min(share, free_slots))
                if not grants:
                    return []
                rows = (
                    await connection.execute(
                        _CLAIM,
                        {"account_ids": list(grants), "counts": counts, "lease_seconds": lease_seconds},
                    )
                ).all()
                claimed: list[ClaimedMessage] = []
                used: dict[UUID, int] = {}
                for row in sorted(rows, key=lambda r: r.created_at):
                    start, interval = grants[row.account_id]
                    slot = used.get(row.account_id, 0)
                    used[row.account_id] = slot + 1
                    claimed.append(
                        ClaimedMessage(
                            id=row.id,
                            account_id=row.account_id,
                            contact_wa_id=row.contact_wa_id,
                            content=Content(row.type, row.body.encode(), row.reply_to_wa_message_id),
                            attempts=row.attempts,
                            send_delay_seconds=(start + slot * interval - row.answered_at).total_seconds(),
                            expires_in_seconds=(row.expires_at - row.now).total_seconds(),
                        )
                    )
                if used:
                    await connection.execute(
                        _ADVANCE_PACING,
                        {
                            "account_ids": list(used),
                            "next_slots": [grants[a][0] + n * grants[a][1] for a, n in used.items()],
                        },
                    )
                return claimed

    async def release(self, claims: Sequence[ClaimedMessage]) -> None:
        """Puts claimed messages back in the queue, their attempt not counted; only those
        still under these claims (the same attempt): a claim taken over stays with its new owner."""
        async with self.engine.connect() as connection:
            await connection.execute(
                _RELEASE,
                {"message_ids": [c.id for c in claims], "attempts": [c.attempts for c in claims]},
            )

    async def queue_depth(self) -> tuple[int, float]:
        """How many messages are queued, and how old the oldest is (seconds)."""
        row = await self._one(_QUEUE_DEPTH)
        if row is None:
            return 0, 0.0
        return int(row[0]), float(row[1])  # type: ignore[misc]

    async def seconds_until_next_due(self) -> float | None:
        row = await self._one(_NEXT_DUE)
        if row is None or row[0] is None:
            return None
        return max(0.0, float(row[0].total_seconds()))

    async def forget_idempotency_keys(self, keep_seconds: float) -> int:
        async with self.engine.connect() as connection:
            result = await connection.execute(_FORGET_OLD_IDEMPOTENCY_KEYS, {"keep_seconds": keep_seconds})
            return int(result.rowcount)  # type: ignore[attr-defined]

    async def last_event_id(self, account_id: UUID) -> int:
        row = await self._one(_LAST_EVENT_ID, account_id=account_id)
        return int(row[0]) if row is not None else 0

    async def events_after(self, account_id: UUID, after_id: int, limit: int) -> list[StoredEvent]:
        rows = await self._all(_EVENTS_AFTER, account_id=account_id, after_id=after_id, limit=limit)
        return [StoredEvent(row.id, row.type, row.data.encode(), row.created_at) for row in rows]
