"""NOTIFY pigeon_cache when an account is added, as when one changes.

Webhooks keep every account's app secret in memory. A new account whose app secret is
already known (one Meta app for several phone numbers) matched a signature without a
reload, so its notifications were kept, not applied, until the secrets' TTL ran out.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE FUNCTION pigeon_notify_account_added() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('pigeon_cache', 'account:' || NEW.id);
            RETURN NULL;
        END $$
        """
    )
    op.execute(
        """
        CREATE TRIGGER accounts_notify_cache_added AFTER INSERT ON accounts
            FOR EACH ROW EXECUTE FUNCTION pigeon_notify_account_added()
        """
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER accounts_notify_cache_added ON accounts")
    op.execute("DROP FUNCTION pigeon_notify_account_added()")
