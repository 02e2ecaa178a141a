"""Media: pigeon's own copies of media files, and the queue that makes them.

A `media` row is one file: one an inbound message carried (copied from WhatsApp by a job on
this same row, claimed the way the outbox claims messages) or one a client uploaded. A
message points at its file with `messages.media_id`; the message resource shows it under
`media`.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
NOW = sa.text("now()")

# The media resource as the HTTP API and the events show it; a message's, when it has one.
MEDIA_JSON = """
CREATE FUNCTION pigeon_media_json(d media) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', d.id,
        'status', d.status,
        'mime_type', d.mime_type,
        'size', d.size,
        'sha256', d.sha256,
        'filename', d.filename,
        'caption', d.caption,
        'failure_reason', d.failure_reason
    )
$$;

ALTER FUNCTION pigeon_message_json(messages) RENAME TO pigeon_message_core_json;

-- Plain expressions only, so that PostgreSQL inlines it into the statements that use it.
CREATE FUNCTION pigeon_message_json(m messages) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT pigeon_message_core_json(m)
        || CASE WHEN m.media IS NULL THEN '{}'::jsonb ELSE jsonb_build_object('media', m.media) END
$$;

CREATE FUNCTION pigeon_notify_media() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('pigeon_media', '');
    RETURN NULL;
END $$;

CREATE TRIGGER media_notify AFTER INSERT ON media
    FOR EACH ROW WHEN (NEW.status = 'pending') EXECUTE FUNCTION pigeon_notify_media()
"""


def upgrade() -> None:
    op.create_table(
        "media",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("account_id", UUID(as_uuid=True), sa.ForeignKey("accounts.id"), nullable=False),
        # "inbound" (copied from WhatsApp) or "upload" (a client's).
        sa.Column("origin", sa.Text, nullable=False),
        # WhatsApp's media id: the webhook's, to copy from.
        sa.Column("wa_media_id", sa.Text),
        sa.Column("mime_type", sa.Text, nullable=False),
        # Known once stored: bytes and their lower-case hex SHA-256.
        sa.Column("size", sa.BigInteger),
        sa.Column("sha256", sa.Text),
        sa.Column("filename", sa.Text, nullable=False, server_default=""),
        sa.Column("caption", sa.Text, nullable=False, server_default=""),
        # pending, stored or failed.
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("failure_reason", sa.Text),
        # The copy job: attempts made; when pending, when it is due (or its claim runs out).
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", TS),
        # WhatsApp forgets a webhook's media after 7 days: retries stop then.
        sa.Column("give_up_at", TS),
        # The id WhatsApp gave the file when pigeon last uploaded it for a send, and when
        # WhatsApp forgets it (30 days).
        sa.Column("wa_upload_id", sa.Text),
        sa.Column("wa_upload_expires_at", TS),
        sa.Column("created_at", TS, nullable=False, server_default=NOW),
        sa.Column("stored_at", TS),
    )
    op.create_index(
        "media_due_idx", "media", ["next_attempt_at"], postgresql_where=sa.text("status = 'pending'")
    )
    op.create_index("media_stored_idx", "media", ["stored_at"], postgresql_where=sa.text("status = 'stored'"))
    # No foreign key: an inbound message and its media row are inserted by one statement.
    op.add_column("messages", sa.Column("media_id", UUID(as_uuid=True)))
    # The media row's resource, kept current by every statement that changes the row: the
    # message resource is then built without a lookup.
    op.add_column("messages", sa.Column("media", JSONB))
    op.create_index(
        "messages_media_idx", "messages", ["media_id"], postgresql_where=sa.text("media_id IS NOT NULL")
    )
    for statement in MEDIA_JSON.split(";\n\n"):
        op.execute(statement.strip().removesuffix(";"))


def downgrade() -> None:
    op.execute("DROP TRIGGER media_notify ON media")
    op.execute("DROP FUNCTION pigeon_notify_media()")
    op.execute("DROP FUNCTION pigeon_message_json(messages)")
    op.execute("ALTER FUNCTION pigeon_message_core_json(messages) RENAME TO pigeon_message_json")
    op.drop_index("messages_media_idx", "messages")
    op.drop_column("messages", "media")
    op.drop_column("messages", "media_id")
    op.execute("DROP FUNCTION pigeon_media_json(media)")
    op.drop_table("media")
