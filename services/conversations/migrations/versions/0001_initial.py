"""Accounts, API keys, contacts, conversations and messages.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import BYTEA, JSONB, UUID

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

NOW = sa.text("now()")
NEW_UUID = sa.text("gen_random_uuid()")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("id", UUID(as_uuid=True), primary_key=True, server_default=NEW_UUID),
        sa.Column("name", sa.Text, nullable=False),
        # The WhatsApp business phone number this account sends from.
        sa.Column("phone_number_id", sa.Text, nullable=False, unique=True),
        sa.Column("display_phone_number", sa.Text, nullable=False),
        sa.Column("access_token", sa.Text, nullable=False),
        sa.Column("app_secret", sa.Text, nullable=False),
        sa.Column("messages_per_second", sa.Integer, nullable=False, server_default="80"),
        sa.Column("created_at", TS, nullable=False, server_default=NOW),
        sa.CheckConstraint("messages_per_second > 0", name="accounts_mps_positive"),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", UUID(as_uuid=True), primary_key=True, server_default=NEW_UUID),
        sa.Column("account_id", UUID(as_uuid=True), sa.ForeignKey("accounts.id"), nullable=False, index=True),
        # SHA-256 of the key: keys are 256-bit random secrets, so a fast hash is enough.
        sa.Column("key_hash", BYTEA, nullable=False, unique=True),
        # The first characters of the key, to tell keys apart without the secret.
        sa.Column("key_prefix", sa.Text, nullable=False),
        sa.Column("created_at", TS, nullable=False, server_default=NOW),
        sa.Column("revoked_at", TS),
    )
    op.create_table(
        "contacts",
        sa.Column("id", UUID(as_uuid=True), primary_key=True, server_default=NEW_UUID),
        sa.Column("account_id", UUID(as_uuid=True), sa.ForeignKey("accounts.id"), nullable=False),
        sa.Column("wa_id", sa.Text, nullable=False),
        sa.Column("profile_name", sa.Text, nullable=False, server_default=""),
        sa.Column("created_at", TS, nullable=False, server_default=NOW),
        sa.Column("updated_at", TS, nullable=False, server_default=NOW),
        sa.UniqueConstraint("account_id", "wa_id", name="contacts_account_wa_id_key"),
    )
    op.create_table(
        "conversations",
        sa.Column("id", UUID(as_uuid=True), primary_key=True, server_default=NEW_UUID),
        sa.Column("account_id", UUID(as_uuid=True), sa.ForeignKey("accounts.id"), nullable=False),
        sa.Column("contact_id", UUID(as_uuid=True), sa.ForeignKey("contacts.id"), nullable=False),
        sa.Column("created_at", TS, nullable=False, server_default=NOW),
        sa.Column("last_message_at", TS),
        sa.Column("last_inbound_at", TS),
        # max(created_at, last_message_at): the sort key of "newest activity first".
        sa.Column("last_activity_at", TS, nullable=False, server_default=NOW),
        sa.Column("unread_count", sa.Integer, nullable=False, server_default="0"),
        sa.UniqueConstraint("account_id", "contact_id", name="conversations_account_contact_key"),
    )
    op.create_index(
        "conversations_account_activity_idx",
        "conversations",
        ["account_id", sa.text("last_activity_at DESC"), sa.text("id DESC")],
    )
    op.create_table(
        "messages",
        sa.Column("id", UUID(as_uuid=True), primary_key=True, server_default=NEW_UUID),
        sa.Column("account_id", UUID(as_uuid=True), sa.ForeignKey("accounts.id"), nullable=False),
        sa.Column("conversation_id", UUID(as_uuid=True), sa.ForeignKey("conversations.id"), nullable=False),
        sa.Column("direction", sa.Text, nullable=False),
        # The customer's WhatsApp id: recipient of outbound, sender of inbound messages.
        sa.Column("contact_wa_id", sa.Text, nullable=False),
        sa.Column("type", sa.Text, nullable=False),
        # The Cloud API object under the key named by `type`.
        sa.Column("body", JSONB, nullable=False),
        sa.Column("reply_to_wa_message_id", sa.Text, nullable=False, server_default=""),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("wa_message_id", sa.Text),
        sa.Column("error_code", sa.Text),
        sa.Column("error_message", sa.Text),
        sa.Column("created_at", TS, nullable=False, server_default=NOW),
        sa.Column("updated_at", TS, nullable=False, server_default=NOW),
        sa.Column("sent_at", TS),
        sa.Column("delivered_at", TS),
        sa.Column("read_at", TS),
        sa.Column("failed_at", TS),
        sa.CheckConstraint("direction IN ('outbound', 'inbound')", name="messages_direction_valid"),
        sa.CheckConstraint(
            "status IN ('queued', 'sending', 'sent', 'delivered', 'read', 'failed', 'received')",
            name="messages_status_valid",
        ),
    )
    op.create_index(
        "messages_conversation_created_idx",
        "messages",
        ["conversation_id", sa.text("created_at DESC"), sa.text("id DESC")],
    )
    op.create_index(
        "messages_wa_message_id_key",
        "messages",
        ["account_id", "wa_message_id"],
        unique=True,
        postgresql_where=sa.text("wa_message_id IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_table("messages")
    op.drop_table("conversations")
    op.drop_table("contacts")
    op.drop_table("api_keys")
    op.drop_table("accounts")
