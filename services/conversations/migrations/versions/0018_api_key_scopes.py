"""API keys get scopes: what each key may do (send, read, webhooks).

Existing keys get every scope, so that they keep working as before; a key has at least one
(a key that may do nothing is no key). Keys are listed by their prefix (admin's "list by
prefix"), hence the index.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07
"""

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE api_keys ADD COLUMN scopes text[] NOT NULL DEFAULT '{send,read,webhooks}'")
    op.execute(
        "ALTER TABLE api_keys ADD CONSTRAINT api_keys_scopes_known "
        "CHECK (cardinality(scopes) > 0 AND scopes <@ '{send,read,webhooks}'::text[])"
    )
    op.execute("CREATE INDEX api_keys_key_prefix_idx ON api_keys (key_prefix text_pattern_ops)")


def downgrade() -> None:
    op.execute("DROP INDEX api_keys_key_prefix_idx")
    op.execute("ALTER TABLE api_keys DROP COLUMN scopes")
