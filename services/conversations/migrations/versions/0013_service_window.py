"""The 24 h customer service window on conversations: when it closes, whether it is open, and an
index to list conversations by it.

Meta allows a free-form message only within 24 h of the customer's last message; after that only
a template (error 131047; /work/shared/whatsapp-cloud-api.md, "Limits"). A conversation's window
closes at `last_inbound_at + 24 h` (`window_expires_at`, NULL when the customer never wrote), and
`can_send_free_form` says whether it is open at the statement's time: the events carry both as of
the event, the HTTP API as of the read.

`GET /conversations` filters on the window with one range of
`coalesce(window_expires_at, '-infinity')` (no window: closed since ever), which the index serves.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-08
"""

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

# IMMUTABLE, and so usable in an index, because it adds hours in UTC: an interval of hours
# (unlike days) is the same length whatever the session's time zone. Plain expressions, so
# that PostgreSQL inlines it into the statements that use it (see 0005).
WINDOW_EXPIRES_AT = """
CREATE FUNCTION pigeon_window_expires_at(last_inbound_at timestamptz) RETURNS timestamptz
LANGUAGE sql IMMUTABLE AS $$
    SELECT ((last_inbound_at AT TIME ZONE 'UTC') + interval '24 hours') AT TIME ZONE 'UTC'
$$
"""

CONVERSATION_JSON = """
CREATE OR REPLACE FUNCTION pigeon_conversation_json(c conversations, k contacts) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT pigeon_conversation_core_json(c, k) || jsonb_build_object(
        'read_receipt', c.read_receipt,
        'window_expires_at', pigeon_ts(pigeon_window_expires_at(c.last_inbound_at)),
        'can_send_free_form', coalesce(pigeon_window_expires_at(c.last_inbound_at) >= now(), false)
    )
$$
"""

# As of 0010.
CONVERSATION_JSON_BEFORE = """
CREATE OR REPLACE FUNCTION pigeon_conversation_json(c conversations, k contacts) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT pigeon_conversation_core_json(c, k) || jsonb_build_object('read_receipt', c.read_receipt)
$$
"""

# The same expression as the filter of list_conversations_by_window (reads.sql), or the
# planner cannot match them.
WINDOW_INDEX = """
CREATE INDEX conversations_account_window_idx ON conversations
    (account_id, coalesce(pigeon_window_expires_at(last_inbound_at), '-infinity'::timestamptz))
"""


def upgrade() -> None:
    op.execute(WINDOW_EXPIRES_AT)
    op.execute(CONVERSATION_JSON)
    op.execute(WINDOW_INDEX)


def downgrade() -> None:
    op.execute("DROP INDEX conversations_account_window_idx")
    op.execute(CONVERSATION_JSON_BEFORE)
    op.execute("DROP FUNCTION pigeon_window_expires_at(timestamptz)")
