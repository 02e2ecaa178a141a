"""An account's app secret may not be empty.

Its webhooks are verified with an HMAC keyed by the app secret: with an empty key anyone can
compute the signature, so such an account would take forged notifications. The constraint is
NOT VALID: it holds for every row written from now on, but an existing row that breaks it does
not stop the upgrade; conversations names such accounts in an error at start, and refuses
their webhooks, until an operator sets the secret (then `VALIDATE CONSTRAINT` if wished).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07
"""

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "ALTER TABLE accounts ADD CONSTRAINT accounts_app_secret_not_empty CHECK (app_secret <> '') NOT VALID"
    )


def downgrade() -> None:
    op.drop_constraint("accounts_app_secret_not_empty", "accounts", type_="check")
