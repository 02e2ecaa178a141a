"""Lists that walk an index in their own order when what they look for is a large share.

- `messages_account_created_idx`: an account's messages newest first. A search for a word many
  messages hold (one in ten or more) fills a page from the newest few of them, where the words
  index (0020) would find every match, have each rechecked and sort them all
  (reads.sql's search_recent_messages; docs/benchmarks.md, "Inbox lists and search"). Partial
  only in name (created_at is never null): a statement must range over created_at to use it, so
  that a plan for any values of a lookup by account and id (the outbox's outcomes, say) keeps
  the primary key rather than scanning the account's part of this index.
- `pigeon_window_opened_at(expires_after)`: the customer's last message a window closing at or
  after `expires_after` needs, so at most `expires_after` minus the window (0013). That
  message was also activity (webhooks.sql's touch_conversations moves both), which bounds a walk
  of the activity index for a window filter (reads.sql's list_recent_conversations_by_window).

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-11
"""

from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

# The inverse of pigeon_window_expires_at (0013), in the same UTC arithmetic; plain SQL, so
# that PostgreSQL inlines it and an index condition can hold it.
WINDOW_OPENED_AT = """
CREATE OR REPLACE FUNCTION pigeon_window_opened_at(expires_after timestamptz) RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT ((expires_after AT TIME ZONE 'UTC') - interval '24 hours') AT TIME ZONE 'UTC'
$$
"""


def upgrade() -> None:
    op.execute(WINDOW_OPENED_AT)
    # CONCURRENTLY, so that sends go on while a large messages table is indexed; it cannot run
    # in a transaction, so what came before commits first. A build cut short leaves an invalid
    # index and this revision unrecorded: the next run drops it and builds again (hence also
    # the OR REPLACE above).
    with op.get_context().autocommit_block():
        op.execute("DROP INDEX CONCURRENTLY IF EXISTS messages_account_created_idx")
        op.execute(
            "CREATE INDEX CONCURRENTLY messages_account_created_idx"
            " ON messages (account_id, created_at DESC, id DESC) WHERE created_at IS NOT NULL"
        )


def downgrade() -> None:
    op.execute("DROP FUNCTION pigeon_window_opened_at(timestamptz)")
    op.execute("DROP INDEX messages_account_created_idx")
