"""The outbox (delivery state on the message row), idempotency keys, events and pacing.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import BYTEA, JSONB, UUID

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
NOW = sa.text("now()")

# The message resource as the HTTP API and the events show it, built where the row is.
MESSAGE_JSON = """
CREATE FUNCTION pigeon_ts(t timestamptz) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
$$;

CREATE FUNCTION pigeon_message_json(m messages) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', m.id,
        'conversation_id', m.conversation_id,
        'direction', m.direction,
        'contact_wa_id', m.contact_wa_id,
        'type', m.type,
        m.type, m.body,
        'status', m.status,
        'wa_message_id', m.wa_message_id,
        'error', CASE WHEN m.error_code IS NULL THEN NULL
                      ELSE jsonb_build_object('code', m.error_code, 'message', m.error_message) END,
        'created_at', pigeon_ts(m.created_at),
        'sent_at', pigeon_ts(m.sent_at),
        'delivered_at', pigeon_ts(m.delivered_at),
        'read_at', pigeon_ts(m.read_at),
        'failed_at', pigeon_ts(m.failed_at)
    ) || CASE WHEN m.reply_to_wa_message_id = '' THEN '{}'::jsonb
              ELSE jsonb_build_object('context',
                                      jsonb_build_object('message_id', m.reply_to_wa_message_id)) END
$$;
"""

# NOTIFY is sent at commit and deduplicated within a transaction: one wake-up per
# account per transaction for event watchers, one for dispatchers when work is queued.
NOTIFY_TRIGGERS = """
CREATE FUNCTION pigeon_notify_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('pigeon_events', NEW.account_id::text);
    RETURN NULL;
END $$;

CREATE TRIGGER events_notify AFTER INSERT ON events
    FOR EACH ROW EXECUTE FUNCTION pigeon_notify_event();

CREATE FUNCTION pigeon_notify_outbox() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('pigeon_outbox', '');
    RETURN NULL;
END $$;

CREATE TRIGGER messages_notify_outbox AFTER INSERT OR UPDATE OF status ON messages
    FOR EACH ROW WHEN (NEW.status = 'queued') EXECUTE FUNCTION pigeon_notify_outbox();
"""


def upgrade() -> None:
    op.add_column("messages", sa.Column("attempts", sa.Integer, nullable=False, server_default="0"))
    # When a queued message is due; NULL unless queued.
    op.add_column("messages", sa.Column("next_attempt_at", TS))
    # Until when the replica that claimed a sending message owns it.
    op.add_column("messages", sa.Column("lease_expires_at", TS))
    # The validity period: not sent by then, it fails as expired.
    op.add_column("messages", sa.Column("expires_at", TS))
    op.create_index(
        "messages_due_idx",
        "messages",
        ["account_id", "next_attempt_at"],
        postgresql_where=sa.text("status = 'queued'"),
    )
    op.create_index(
        "messages_lease_idx", "messages", ["lease_expires_at"], postgresql_where=sa.text("status = 'sending'")
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("account_id", UUID(as_uuid=True), sa.ForeignKey("accounts.id"), primary_key=True),
        sa.Column("key", sa.Text, primary_key=True),
        # SHA-256 of the request it was first used with: the same key with another body is a conflict.
        sa.Column("request_hash", BYTEA, nullable=False),
        sa.Column("message_id", UUID(as_uuid=True), nullable=False),
        sa.Column("created_at", TS, nullable=False, server_default=NOW),
    )
    op.create_index("idempotency_keys_created_idx", "idempotency_keys", ["created_at"])
    # Per-account event ids: taking the next id locks the account's counter row until
    # commit, so ids become visible in order and a reader never skips a late commit.
    op.create_table(
        "event_counters",
        sa.Column("account_id", UUID(as_uuid=True), sa.ForeignKey("accounts.id"), primary_key=True),
        sa.Column("last_id", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "events",
        sa.Column("account_id", UUID(as_uuid=True), sa.ForeignKey("accounts.id"), primary_key=True),
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("type", sa.Text, nullable=False),
        sa.Column("message_id", UUID(as_uuid=True)),
        sa.Column("conversation_id", UUID(as_uuid=True)),
        sa.Column("data", JSONB, nullable=False),
        sa.Column("created_at", TS, nullable=False, server_default=NOW),
    )
    # The next free send slot of each account, shared by every dispatcher replica.
    op.create_table(
        "send_pacing",
        sa.Column("account_id", UUID(as_uuid=True), sa.ForeignKey("accounts.id"), primary_key=True),
        sa.Column("next_slot_at", TS, nullable=False, server_default=NOW),
    )
    # One statement per execute: asyncpg prepares each.
    for statement in (MESSAGE_JSON + NOTIFY_TRIGGERS).split(";\n\n"):
        op.execute(statement.strip().removesuffix(";"))


def downgrade() -> None:
    op.execute("DROP TRIGGER messages_notify_outbox ON messages")
    op.execute("DROP FUNCTION pigeon_notify_outbox()")
    op.execute("DROP TRIGGER events_notify ON events")
    op.execute("DROP FUNCTION pigeon_notify_event()")
    op.execute("DROP FUNCTION pigeon_message_json(messages)")
    op.execute("DROP FUNCTION pigeon_ts(timestamptz)")
    op.drop_table("send_pacing")
    op.drop_table("events")
    op.drop_table("event_counters")
    op.drop_table("idempotency_keys")
    op.drop_index("messages_lease_idx", "messages")
    op.drop_index("messages_due_idx", "messages")
    for column in ("expires_at", "lease_expires_at", "next_attempt_at", "attempts"):
        op.drop_column("messages", column)
