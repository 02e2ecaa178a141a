"""NOTIFY pigeon_cache when a row that replicas cache changes, whoever changed it.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# Payloads: "account:<id>", "api_key:<sha256 hex>", "conversation:<account>:<id>:<wa_id>".
STATEMENTS = [
    """
    CREATE FUNCTION pigeon_notify_account_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM pg_notify('pigeon_cache', 'account:' || OLD.id);
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER accounts_notify_cache AFTER UPDATE OR DELETE ON accounts
        FOR EACH ROW EXECUTE FUNCTION pigeon_notify_account_changed()
    """,
    """
    CREATE FUNCTION pigeon_notify_api_key_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM pg_notify('pigeon_cache', 'api_key:' || encode(OLD.key_hash, 'hex'));
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER api_keys_notify_cache AFTER UPDATE OR DELETE ON api_keys
        FOR EACH ROW EXECUTE FUNCTION pigeon_notify_api_key_changed()
    """,
    """
    CREATE FUNCTION pigeon_notify_conversation_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM pg_notify('pigeon_cache', 'conversation:' || NEW.account_id || ':' || NEW.id || ':'
                          || (SELECT wa_id FROM contacts WHERE id = NEW.contact_id));
        RETURN NULL;
    END $$
    """,
    # Only what the send path caches: outbound sends move last_message_at, not this.
    """
    CREATE TRIGGER conversations_notify_cache AFTER UPDATE OF last_inbound_at ON conversations
        FOR EACH ROW WHEN (OLD.last_inbound_at IS DISTINCT FROM NEW.last_inbound_at)
        EXECUTE FUNCTION pigeon_notify_conversation_changed()
    """,
]


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TRIGGER conversations_notify_cache ON conversations")
    op.execute("DROP FUNCTION pigeon_notify_conversation_changed()")
    op.execute("DROP TRIGGER api_keys_notify_cache ON api_keys")
    op.execute("DROP FUNCTION pigeon_notify_api_key_changed()")
    op.execute("DROP TRIGGER accounts_notify_cache ON accounts")
    op.execute("DROP FUNCTION pigeon_notify_account_changed()")
