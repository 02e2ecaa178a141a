"""Account pauses: `send_pacing.paused_until`, until when the outbox claims none of the account's
queued messages.

Set after a failure only an operator can mend for the whole business number (190, the access
token expired; `ACCOUNT_PAUSE_CODES` in services/shared/whatsapp_errors.py); NULL when not
paused. Once that time has passed, a claim takes one message of the account, a probe, and holds
the pause for the probe's lease meanwhile: WhatsApp taking it ends the pause, another such failure
starts a new one. A change to the account ends it at once (admin.sql's resume_paused_sends). On
the pacing row, which every claim reads and locks already, so pausing writes one row, not the
account's whole backlog.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-12
"""

from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE send_pacing ADD COLUMN paused_until timestamptz")


def downgrade() -> None:
    op.execute("ALTER TABLE send_pacing DROP COLUMN paused_until")
