"""Outbound webhooks: the customers' endpoints, each a cursor over its account's event log,
and the log of every delivery attempt.

An endpoint row is its own delivery queue: the worker that holds its lease reads the events
after `last_event_id`, delivers those the endpoint takes, and moves the cursor. Nothing is
copied per event: an event is delivered from the log it is already in.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, UUID

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
NOW = sa.text("now()")

# A change through the API (PATCH, replay, rotation: the generation moves) or a delete: the
# delivery workers are told (the endpoint's id) at commit, stop a run of the endpoint as it was
# and claim it as it now is at once.
NOTIFY_CHANGED = """
CREATE FUNCTION pigeon_notify_webhook_endpoint() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('pigeon_webhook_endpoints', OLD.id::text);
    RETURN NULL;
END $$;

CREATE TRIGGER webhook_endpoints_notify AFTER UPDATE OF generation OR DELETE ON webhook_endpoints
    FOR EACH ROW EXECUTE FUNCTION pigeon_notify_webhook_endpoint()
"""


def upgrade() -> None:
    op.create_table(
        "webhook_endpoints",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("account_id", UUID(as_uuid=True), sa.ForeignKey("accounts.id"), nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        # Event types, families ("message.*") or "*".
        sa.Column("event_types", ARRAY(sa.Text), nullable=False),
        # The signing secret, and the one it replaced while its grace period lasts.
        sa.Column("secret", sa.Text, nullable=False),
        sa.Column("previous_secret", sa.Text),
        sa.Column("previous_secret_until", TS),
        sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.true()),
        # by_request, gone (410) or failing (the whole retry window); NULL while enabled.
        sa.Column("disabled_reason", sa.Text),
        # Every event up to this id is done; `done_ids` are those beyond it done out of order.
        sa.Column("last_event_id", sa.BigInteger, nullable=False),
        sa.Column("done_ids", ARRAY(sa.BigInteger), nullable=False, server_default="{}"),
        # Failed attempts in a row, since when, and when the next attempt is due.
        sa.Column("failures", sa.Integer, nullable=False, server_default="0"),
        sa.Column("failing_since", TS),
        sa.Column("next_attempt_at", TS, nullable=False, server_default=NOW),
        # Bumped by every change through the API: a worker's run of an older one stops.
        sa.Column("generation", sa.Integer, nullable=False, server_default="0"),
        # The worker delivering it, until when (renewed as it goes).
        sa.Column("lease_owner", UUID(as_uuid=True)),
        sa.Column("lease_expires_at", TS),
        sa.Column("created_at", TS, nullable=False, server_default=NOW),
        sa.Column("updated_at", TS, nullable=False, server_default=NOW),
    )
    op.create_index("webhook_endpoints_account_idx", "webhook_endpoints", ["account_id", "created_at"])
    op.create_index(
        "webhook_endpoints_due_idx",
        "webhook_endpoints",
        ["next_attempt_at"],
        postgresql_where=sa.text("enabled"),
    )
    op.create_table(
        "webhook_attempts",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column(
            "endpoint_id",
            UUID(as_uuid=True),
            sa.ForeignKey("webhook_endpoints.id", ondelete="CASCADE"),
            nullable=False,
        ),
        # NULL for a test ping.
        sa.Column("event_id", sa.BigInteger),
        sa.Column("event_type", sa.Text, nullable=False),
        sa.Column("webhook_id", sa.Text, nullable=False),
        sa.Column("attempted_at", TS, nullable=False),
        # NULL when no answer came (timeout, connection refused, address not allowed).
        sa.Column("http_status", sa.Integer),
        sa.Column("latency_ms", sa.Float, nullable=False),
        sa.Column("error", sa.Text),
        sa.Column("succeeded", sa.Boolean, nullable=False),
    )
    op.create_index("webhook_attempts_endpoint_idx", "webhook_attempts", ["endpoint_id", "id"])
    op.create_index("webhook_attempts_time_idx", "webhook_attempts", ["attempted_at"])
    for statement in NOTIFY_CHANGED.split(";\n\n"):
        op.execute(statement.strip().removesuffix(";"))


def downgrade() -> None:
    op.execute("DROP TRIGGER webhook_endpoints_notify ON webhook_endpoints")
    op.execute("DROP FUNCTION pigeon_notify_webhook_endpoint()")
    op.drop_table("webhook_attempts")
    op.drop_table("webhook_endpoints")
