"""Message templates: each account's WhatsApp Business Account (WABA) and its templates as
WhatsApp lists them, kept to check template sends before any WhatsApp call.

`template_syncs` is the due-time queue of the listing: a row per account, claimed when due
(`FOR UPDATE SKIP LOCKED`, so one replica lists an account at a time), due again an interval
later, and at once on a `message_template_status_update` webhook. A new account's row is made
by a trigger, due at once; so is a changed WABA id. `synced_at` stays NULL until a listing
succeeded: until then sends are not checked (nothing to check them against).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07
"""

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

UPGRADE = [
    "ALTER TABLE accounts ADD COLUMN waba_id text NOT NULL DEFAULT ''",
    """
    CREATE TABLE template_syncs (
        account_id uuid PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
        due_at timestamptz NOT NULL DEFAULT now(),
        synced_at timestamptz,
        -- Why the last listing failed; '' when it did not.
        failure text NOT NULL DEFAULT ''
    )
    """,
    "INSERT INTO template_syncs (account_id) SELECT id FROM accounts",
    """
    CREATE FUNCTION pigeon_template_sync_due() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO template_syncs (account_id) VALUES (NEW.id)
        ON CONFLICT (account_id) DO UPDATE SET due_at = now();
        PERFORM pg_notify('pigeon_templates', NEW.id::text);
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER accounts_template_sync AFTER INSERT OR UPDATE OF waba_id ON accounts
        FOR EACH ROW EXECUTE FUNCTION pigeon_template_sync_due()
    """,
    """
    CREATE TABLE templates (
        account_id uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
        name text NOT NULL,
        language text NOT NULL,
        whatsapp_id text NOT NULL,
        category text NOT NULL,
        status text NOT NULL,
        parameter_format text NOT NULL,
        components jsonb NOT NULL,
        -- Parameters a send gives each component: {"header": 1, "body": 2, "button:0": 1}.
        parameter_counts jsonb NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (account_id, name, language)
    )
    """,
    "CREATE INDEX templates_whatsapp_id ON templates (account_id, whatsapp_id)",
]


def upgrade() -> None:
    for statement in UPGRADE:
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TABLE templates")
    op.execute("DROP TRIGGER accounts_template_sync ON accounts")
    op.execute("DROP FUNCTION pigeon_template_sync_due()")
    op.execute("DROP TABLE template_syncs")
    op.execute("ALTER TABLE accounts DROP COLUMN waba_id")
