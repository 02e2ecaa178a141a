"""Business-scoped user ids (BSUID), usernames and marketing preferences on contacts.

Since April 2026 Meta's webhooks name every WhatsApp user by a business-scoped user id
(`user_id`), and a user who adopted a username may come without a phone number (`wa_id`).
A contact is now known by either or both: each is unique per account where present. A
message keeps the BSUID it was sent to beside the phone number (`contact_user_id`), which
is null for a contact known only by BSUID: the send then names the BSUID (Meta's
`recipient`). `marketing_opt_out` and `marketing_preference_at` keep the latest
`user_preferences` webhook (the webhook's own time: older ones arriving late are ignored).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

TS = sa.TIMESTAMP(timezone=True)

# Plain expressions only, so that PostgreSQL inlines it into the statements that use it.
CONVERSATION_JSON = """
CREATE OR REPLACE FUNCTION pigeon_conversation_core_json(c conversations, k contacts)
RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', c.id,
        'contact', jsonb_build_object(
            'wa_id', k.wa_id, 'user_id', k.user_id, 'username', k.username,
            'name', nullif(k.profile_name, ''), 'marketing_opt_out', k.marketing_opt_out),
        'created_at', pigeon_ts(c.created_at),
        'last_message_at', pigeon_ts(c.last_message_at),
        'last_inbound_at', pigeon_ts(c.last_inbound_at),
        'unread_count', c.unread_count
    )
$$
"""

OLD_CONVERSATION_JSON = """
CREATE OR REPLACE FUNCTION pigeon_conversation_core_json(c conversations, k contacts)
RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', c.id,
        'contact', jsonb_build_object('wa_id', k.wa_id, 'name', nullif(k.profile_name, '')),
        'created_at', pigeon_ts(c.created_at),
        'last_message_at', pigeon_ts(c.last_message_at),
        'last_inbound_at', pigeon_ts(c.last_inbound_at),
        'unread_count', c.unread_count
    )
$$
"""

# The payload names the contact's phone number for the send path's cache by recipient; a
# contact known only by BSUID has none ('' keeps the payload, which NULL would lose).
NOTIFY_CONVERSATION = """
CREATE OR REPLACE FUNCTION pigeon_notify_conversation_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('pigeon_cache', 'conversation:' || NEW.account_id || ':' || NEW.id || ':'
                      || coalesce((SELECT wa_id FROM contacts WHERE id = NEW.contact_id), ''));
    RETURN NULL;
END $$
"""

OLD_NOTIFY_CONVERSATION = """
CREATE OR REPLACE FUNCTION pigeon_notify_conversation_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('pigeon_cache', 'conversation:' || NEW.account_id || ':' || NEW.id || ':'
                      || (SELECT wa_id FROM contacts WHERE id = NEW.contact_id));
    RETURN NULL;
END $$
"""


def upgrade() -> None:
    op.add_column("contacts", sa.Column("user_id", sa.Text))
    op.add_column("contacts", sa.Column("username", sa.Text))
    op.add_column(
        "contacts", sa.Column("marketing_opt_out", sa.Boolean, nullable=False, server_default=sa.false())
    )
    op.add_column("contacts", sa.Column("marketing_preference_at", TS))
    op.alter_column("contacts", "wa_id", nullable=True)
    op.drop_constraint("contacts_account_wa_id_key", "contacts")
    op.create_index(
        "contacts_account_wa_id_key",
        "contacts",
        ["account_id", "wa_id"],
        unique=True,
        postgresql_where=sa.text("wa_id IS NOT NULL"),
    )
    op.create_index(
        "contacts_account_user_id_key",
        "contacts",
        ["account_id", "user_id"],
        unique=True,
        postgresql_where=sa.text("user_id IS NOT NULL"),
    )
    op.create_check_constraint(
        "contacts_known_by_phone_or_bsuid", "contacts", "wa_id IS NOT NULL OR user_id IS NOT NULL"
    )
    op.alter_column("messages", "contact_wa_id", nullable=True)
    op.add_column("messages", sa.Column("contact_user_id", sa.Text))
    op.execute(CONVERSATION_JSON)
    op.execute(NOTIFY_CONVERSATION)


def downgrade() -> None:
    op.execute(OLD_NOTIFY_CONVERSATION)
    op.execute(OLD_CONVERSATION_JSON)
    # Fails while a contact is known only by BSUID: a phone-only schema has no room for it.
    op.drop_column("messages", "contact_user_id")
    op.alter_column("messages", "contact_wa_id", nullable=False)
    op.drop_constraint("contacts_known_by_phone_or_bsuid", "contacts")
    op.drop_index("contacts_account_user_id_key", "contacts")
    op.drop_index("contacts_account_wa_id_key", "contacts")
    op.create_unique_constraint("contacts_account_wa_id_key", "contacts", ["account_id", "wa_id"])
    op.alter_column("contacts", "wa_id", nullable=False)
    op.drop_column("contacts", "marketing_preference_at")
    op.drop_column("contacts", "marketing_opt_out")
    op.drop_column("contacts", "username")
    op.drop_column("contacts", "user_id")
