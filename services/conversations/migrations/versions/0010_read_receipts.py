"""Read receipts: a conversation keeps the last one pigeon sent WhatsApp, and what became of it.

`POST /conversations/{id}/read` marks the conversation read in pigeon, then the customer's last
message read on WhatsApp (blue ticks). That call failing does not undo pigeon's read: it is kept
here (`conversations.read_receipt`, the JSON the conversation resource shows) for the inbox to see.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# Plain expressions only, so that PostgreSQL inlines it into the statements that use it.
CONVERSATION_JSON = """
ALTER FUNCTION pigeon_conversation_json(conversations, contacts) RENAME TO pigeon_conversation_core_json;

CREATE FUNCTION pigeon_conversation_json(c conversations, k contacts) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT pigeon_conversation_core_json(c, k) || jsonb_build_object('read_receipt', c.read_receipt)
$$
"""


def upgrade() -> None:
    # {"message_id", "status": "sent" | "failed", "error": {"code", "message"} | null, "at"}
    op.add_column("conversations", sa.Column("read_receipt", JSONB))
    for statement in CONVERSATION_JSON.split(";\n\n"):
        op.execute(statement.strip().removesuffix(";"))


def downgrade() -> None:
    op.execute("DROP FUNCTION pigeon_conversation_json(conversations, contacts)")
    op.execute(
        "ALTER FUNCTION pigeon_conversation_core_json(conversations, contacts) "
        "RENAME TO pigeon_conversation_json"
    )
    op.drop_column("conversations", "read_receipt")
