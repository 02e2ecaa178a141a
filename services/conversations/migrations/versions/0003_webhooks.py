"""Webhook notifications (stored raw before they are applied) and statuses waiting for their message.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
NOW = sa.text("now()")

# How far a status has come: a status only moves to a higher rank, so a late or repeated
# webhook never takes a message back (read never returns to delivered, failed is final).
STATUS_RANK = """
CREATE FUNCTION pigeon_status_rank(status text) RETURNS int LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE status
        WHEN 'queued' THEN 0 WHEN 'sending' THEN 0 WHEN 'sent' THEN 1
        WHEN 'delivered' THEN 2 WHEN 'read' THEN 3 WHEN 'failed' THEN 4 ELSE 0 END
$$
"""


# The conversation resource as the HTTP API and the events show it.
CONVERSATION_JSON = """
CREATE FUNCTION pigeon_conversation_json(c conversations, k contacts) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', c.id,
        'contact', jsonb_build_object('wa_id', k.wa_id, 'name', nullif(k.profile_name, '')),
        'created_at', pigeon_ts(c.created_at),
        'last_message_at', pigeon_ts(c.last_message_at),
        'last_inbound_at', pigeon_ts(c.last_inbound_at),
        'unread_count', c.unread_count
    )
$$
"""


def upgrade() -> None:
    op.create_table(
        "webhook_notifications",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("received_at", TS, nullable=False, server_default=NOW),
        # The exact bytes Meta signed, kept so that nothing is lost if applying fails.
        sa.Column("body", sa.LargeBinary, nullable=False),
        # Accounts whose app secret signed it: the only ones it may change.
        sa.Column("signed_for", sa.ARRAY(UUID(as_uuid=True)), nullable=False),
        # received -> applied | malformed
        sa.Column("state", sa.Text, nullable=False, server_default="received"),
        sa.Column("applied_at", TS),
        # What applying found: counts, unknown phone numbers, problems.
        sa.Column("outcome", JSONB),
    )
    op.create_index(
        "webhook_notifications_pending_idx",
        "webhook_notifications",
        ["id"],
        postgresql_where=sa.text("state = 'received'"),
    )
    op.create_table(
        "pending_statuses",
        sa.Column("account_id", UUID(as_uuid=True), sa.ForeignKey("accounts.id"), primary_key=True),
        sa.Column("wa_message_id", sa.Text, primary_key=True),
        sa.Column("status", sa.Text, primary_key=True),
        sa.Column("status_at", TS, nullable=False),
        sa.Column("error_code", sa.Text),
        sa.Column("error_message", sa.Text),
        sa.Column("received_at", TS, nullable=False, server_default=NOW),
    )
    op.execute(STATUS_RANK)
    op.execute(CONVERSATION_JSON)


def downgrade() -> None:
    op.execute("DROP FUNCTION pigeon_conversation_json(conversations, contacts)")
    op.execute("DROP FUNCTION pigeon_status_rank(text)")
    op.drop_table("pending_statuses")
    op.drop_index("webhook_notifications_pending_idx", "webhook_notifications")
    op.drop_table("webhook_notifications")
