"""Every claim of a message gets an id that only ever increases.

The outbox's writes under a claim (outcome, requeue, release) were guarded by `status =
'sending' AND attempts = :attempt`, but a release gives the attempt back: the next claim has
the same attempt number, and a late write of the released claim would hit it. A claim is now
`nextval('message_claims')` at every claim (0 for a sync send's insert, its one claim before
the outbox's), kept in `messages.claim`; `attempts` stays the count of attempts.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-08
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE SEQUENCE message_claims AS bigint MINVALUE 1")
    op.add_column("messages", sa.Column("claim", sa.BigInteger, nullable=True))


def downgrade() -> None:
    op.drop_column("messages", "claim")
    op.execute("DROP SEQUENCE message_claims")
