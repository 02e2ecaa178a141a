"""pigeon_ts is STABLE, as what it calls (to_char) is, so the planner inlines it.

Declared IMMUTABLE, it could not be inlined: every statement that built a message or
conversation resource parsed and planned its body again, five times per resource. That
was a third of the CPU PostgreSQL spent recording a send's outcome.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

PIGEON_TS = """
CREATE OR REPLACE FUNCTION pigeon_ts(t timestamptz) RETURNS text LANGUAGE sql {volatility} AS $$
    SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
$$
"""


def upgrade() -> None:
    op.execute(PIGEON_TS.format(volatility="STABLE"))


def downgrade() -> None:
    op.execute(PIGEON_TS.format(volatility="IMMUTABLE"))
