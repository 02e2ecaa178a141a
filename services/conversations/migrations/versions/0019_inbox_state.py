"""The team inbox on conversations: status, snooze, assignee, labels, internal notes, a version
for conditional writes, and the indexes that GET /conversations filters by.

- `status` is one of vocabulary.CONVERSATION_STATUSES; `snoozed_until` is set exactly when it is
  "snoozed". A snoozed conversation whose time passed reads "open" (pigeon_conversation_status)
  until the reopening job stores it so; an inbound message reopens "resolved" and "snoozed".
- `assignee` is the customer's own agent or team id, opaque to pigeon; '' is unassigned, so that
  "unassigned" is one more value of the assignee index.
- `labels` is a sorted set; `pigeon_account_labels` prefixes each with the account, so that its
  GIN index finds one account's label rather than every account's.
- `version` grows with every change of the row (a trigger: whichever statement made it), so
  that `If-Match: "<version>"` refuses a write based on a stale read.
- `conversation_notes` are the agents' own notes; they are never sent to WhatsApp.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-09
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, UUID

from services.shared.vocabulary import CONVERSATION_STATUSES

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

TS = sa.TIMESTAMP(timezone=True)

FUNCTIONS = [
    # What a conversation's status reads as at the statement's time: a snooze that ran out is
    # open, whether or not the reopening job has stored it yet.
    """
CREATE FUNCTION pigeon_conversation_status(status text, snoozed_until timestamptz) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN status = 'snoozed' AND snoozed_until <= now() THEN 'open' ELSE status END
$$
""",
    # Whether a conversation is kept by the inbox filters of a list (reads.sql's inbox_filters;
    # NULL, false: any): `status` as stored, less a snooze that ran out. PL/pgSQL, so that the
    # planner sees one condition of ordinary selectivity: inlined, its unset filters would read
    # as many that each keep few rows, and a plan for any values would sort a whole status of
    # an account rather than walk its index in the list's order.
    """
CREATE FUNCTION pigeon_inbox_keeps(
    status text, snoozed_until timestamptz, assignee text, labels text[], unread_count int,
    want_status text, want_assignee text, want_label text, want_unread bool
) RETURNS bool LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (want_status IS NULL OR (status = want_status AND NOT coalesce(snoozed_until <= now(), false)))
       AND (want_assignee IS NULL OR assignee = want_assignee)
       AND (want_label IS NULL OR want_label = ANY(labels))
       AND (NOT want_unread OR unread_count > 0);
END $$
""",
    # The labels of an account's conversation as its GIN index keeps them: "<account id>:<label>".
    """
CREATE FUNCTION pigeon_account_labels(account_id uuid, labels text[]) RETURNS text[]
LANGUAGE sql IMMUTABLE AS $$
    SELECT array(SELECT account_id::text || ':' || label FROM unnest(labels) AS label)
$$
""",
    # The `changes` of a conversation.updated for a conversation reopened (by an inbound
    # message, or its snooze running out), as domain/inbox.py words those of a PATCH.
    """
CREATE FUNCTION pigeon_reopen_changes(status text, snoozed_until timestamptz) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('status', jsonb_build_object('from', status, 'to', 'open'))
        || CASE WHEN snoozed_until IS NULL THEN '{}'::jsonb
                ELSE jsonb_build_object('snoozed_until',
                                        jsonb_build_object('from', pigeon_ts(snoozed_until), 'to', NULL))
           END
$$
""",
    """
CREATE FUNCTION pigeon_conversation_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.version := OLD.version + 1;
    RETURN NEW;
END $$
""",
    """
CREATE TRIGGER conversations_version BEFORE UPDATE ON conversations
    FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION pigeon_conversation_version()
""",
    # Plain expressions, so that PostgreSQL inlines it into the statements that use it.
    """
CREATE OR REPLACE FUNCTION pigeon_conversation_json(c conversations, k contacts) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT pigeon_conversation_core_json(c, k) || jsonb_build_object(
        'read_receipt', c.read_receipt,
        'window_expires_at', pigeon_ts(pigeon_window_expires_at(c.last_inbound_at)),
        'can_send_free_form', coalesce(pigeon_window_expires_at(c.last_inbound_at) >= now(), false),
        'status', pigeon_conversation_status(c.status, c.snoozed_until),
        'snoozed_until', CASE WHEN pigeon_conversation_status(c.status, c.snoozed_until) = 'snoozed'
                              THEN pigeon_ts(c.snoozed_until) END,
        'assignee', nullif(c.assignee, ''),
        'labels', to_jsonb(c.labels),
        'version', c.version
    )
$$
""",
]

# As of 0013.
CONVERSATION_JSON_BEFORE = """
CREATE OR REPLACE FUNCTION pigeon_conversation_json(c conversations, k contacts) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT pigeon_conversation_core_json(c, k) || jsonb_build_object(
        'read_receipt', c.read_receipt,
        'window_expires_at', pigeon_ts(pigeon_window_expires_at(c.last_inbound_at)),
        'can_send_free_form', coalesce(pigeon_window_expires_at(c.last_inbound_at) >= now(), false)
    )
$$
"""

# Each filter of GET /conversations leads with one of them (reads.sql); the ordered ones are
# walked in the list's order until a page is full.
INDEXES = [
    """CREATE INDEX conversations_account_status_idx ON conversations
           (account_id, status, last_activity_at DESC, id DESC)""",
    """CREATE INDEX conversations_account_assignee_idx ON conversations
           (account_id, assignee, last_activity_at DESC, id DESC)""",
    """CREATE INDEX conversations_account_unread_idx ON conversations
           (account_id, last_activity_at DESC, id DESC) WHERE unread_count > 0""",
    """CREATE INDEX conversations_account_labels_idx ON conversations
           USING gin (pigeon_account_labels(account_id, labels))""",
    # The reopening job's: the snoozes due first.
    """CREATE INDEX conversations_snoozed_idx ON conversations (snoozed_until) WHERE status = 'snoozed'""",
    # `q` by name: a prefix of the lower-cased name is a range of it, in byte order.
    """CREATE INDEX contacts_account_name_idx ON contacts (account_id, (lower(profile_name) COLLATE "C"))""",
]


def upgrade() -> None:
    statuses = ", ".join(f"'{s}'" for s in CONVERSATION_STATUSES)
    op.add_column("conversations", sa.Column("status", sa.Text, nullable=False, server_default="open"))
    op.add_column("conversations", sa.Column("snoozed_until", TS))
    op.add_column("conversations", sa.Column("assignee", sa.Text, nullable=False, server_default=""))
    op.add_column("conversations", sa.Column("labels", ARRAY(sa.Text), nullable=False, server_default="{}"))
    op.add_column("conversations", sa.Column("version", sa.BigInteger, nullable=False, server_default="1"))
    op.create_check_constraint("conversations_status", "conversations", f"status IN ({statuses})")
    op.create_check_constraint(
        "conversations_snoozed_until", "conversations", "(status = 'snoozed') = (snoozed_until IS NOT NULL)"
    )
    op.create_table(
        "conversation_notes",
        sa.Column("id", UUID(as_uuid=True), primary_key=True, server_default=sa.text("gen_random_uuid()")),
        sa.Column("account_id", UUID(as_uuid=True), sa.ForeignKey("accounts.id"), nullable=False),
        sa.Column(
            "conversation_id",
            UUID(as_uuid=True),
            sa.ForeignKey("conversations.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("author", sa.Text, nullable=False, server_default=""),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("created_at", TS, nullable=False, server_default=sa.text("now()")),
    )
    op.execute(
        "CREATE INDEX conversation_notes_conversation_idx ON conversation_notes "
        "(conversation_id, created_at DESC, id DESC)"
    )
    for statement in FUNCTIONS + INDEXES:
        op.execute(statement)


def downgrade() -> None:
    for name in (
        "conversations_account_status_idx",
        "conversations_account_assignee_idx",
        "conversations_account_unread_idx",
        "conversations_account_labels_idx",
        "conversations_snoozed_idx",
        "contacts_account_name_idx",
    ):
        op.execute(f"DROP INDEX {name}")
    op.execute(CONVERSATION_JSON_BEFORE)
    op.execute("DROP TRIGGER conversations_version ON conversations")
    op.execute("DROP FUNCTION pigeon_conversation_version()")
    op.execute("DROP FUNCTION pigeon_reopen_changes(text, timestamptz)")
    op.execute("DROP FUNCTION pigeon_account_labels(uuid, text[])")
    op.execute(
        "DROP FUNCTION pigeon_inbox_keeps(text, timestamptz, text, text[], int, text, text, text, bool)"
    )
    op.execute("DROP FUNCTION pigeon_conversation_status(text, timestamptz)")
    op.drop_table("conversation_notes")
    op.drop_constraint("conversations_snoozed_until", "conversations")
    op.drop_constraint("conversations_status", "conversations")
    for column in ("version", "labels", "assignee", "snoozed_until", "status"):
        op.drop_column("conversations", column)
