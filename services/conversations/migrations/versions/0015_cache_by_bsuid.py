"""The conversation cache notification names the contact's BSUID too.

A send may name its recipient by business-scoped user id (`to`: "US.1349..."); the send path
caches that conversation by it, so the notification that a conversation changed (an inbound
message moved its 24 h window) must name it for every replica to drop it:
`conversation:<account>:<conversation>:<phone or ''>:<BSUID or ''>`.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07
"""

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

NOTIFY_CONVERSATION = """
CREATE OR REPLACE FUNCTION pigeon_notify_conversation_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('pigeon_cache', 'conversation:' || NEW.account_id || ':' || NEW.id || ':'
                      || (SELECT coalesce(wa_id, '') || ':' || coalesce(user_id, '')
                          FROM contacts WHERE id = NEW.contact_id));
    RETURN NULL;
END $$
"""

# As of 0012.
OLD_NOTIFY_CONVERSATION = """
CREATE OR REPLACE FUNCTION pigeon_notify_conversation_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('pigeon_cache', 'conversation:' || NEW.account_id || ':' || NEW.id || ':'
                      || coalesce((SELECT wa_id FROM contacts WHERE id = NEW.contact_id), ''));
    RETURN NULL;
END $$
"""


def upgrade() -> None:
    op.execute(NOTIFY_CONVERSATION)


def downgrade() -> None:
    op.execute(OLD_NOTIFY_CONVERSATION)
