"""Every account has its send_pacing row from the start.

Synchronous sends now take pacing slots too, and lock their accounts' rows first thing in
the insert statement (`FOR UPDATE`), which only finds rows that exist. Before, the outbox
created a row on an account's first claim.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The trigger first: an account added while this runs gets its row one way or the other.
    op.execute(
        """
        CREATE FUNCTION pigeon_add_send_pacing() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO send_pacing (account_id) VALUES (NEW.id) ON CONFLICT DO NOTHING;
            RETURN NULL;
        END $$
        """
    )
    op.execute(
        """
        CREATE TRIGGER accounts_add_send_pacing AFTER INSERT ON accounts
            FOR EACH ROW EXECUTE FUNCTION pigeon_add_send_pacing()
        """
    )
    op.execute("INSERT INTO send_pacing (account_id) SELECT id FROM accounts ON CONFLICT DO NOTHING")


def downgrade() -> None:
    op.execute("DROP TRIGGER accounts_add_send_pacing ON accounts")
    op.execute("DROP FUNCTION pigeon_add_send_pacing()")
