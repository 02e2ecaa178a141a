"""One function appends events, for every statement that makes some.

Sends (the insert of queued messages, the outcomes) and webhooks (inbound messages,
statuses, a conversation read) each append events in the statement or transaction of their
change. Taking an account's next event ids under its counter row's lock was written out in
each of them; it is now this function, called with the events as arrays.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# Events of several accounts, in array order per account. The counters are locked in account
# order, as every writer of events does, so that two of them never deadlock on them; the lock
# is held until commit, so an account's events become visible in id order.
APPEND_EVENTS = """
CREATE FUNCTION pigeon_append_events(
    event_account_ids uuid[], event_types text[], event_message_ids uuid[],
    event_conversation_ids uuid[], event_datas jsonb[]
) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    WITH event AS (
        SELECT * FROM unnest(event_account_ids, event_types, event_message_ids, event_conversation_ids,
                             event_datas)
            WITH ORDINALITY AS e(account_id, type, message_id, conversation_id, data, ordinal)
    ), counter AS (
        INSERT INTO event_counters AS ec (account_id, last_id)
        SELECT e.account_id, count(*) FROM event e GROUP BY e.account_id ORDER BY e.account_id
        ON CONFLICT (account_id) DO UPDATE SET last_id = ec.last_id + EXCLUDED.last_id
        RETURNING ec.account_id, ec.last_id
    )
    INSERT INTO events (account_id, id, type, message_id, conversation_id, data)
    SELECT e.account_id,
           c.last_id - count(*) OVER (PARTITION BY e.account_id)
               + row_number() OVER (PARTITION BY e.account_id ORDER BY e.ordinal),
           e.type, e.message_id, e.conversation_id, e.data
    FROM event e JOIN counter c ON c.account_id = e.account_id;
END $$
"""


def upgrade() -> None:
    op.execute(APPEND_EVENTS)


def downgrade() -> None:
    op.execute("DROP FUNCTION pigeon_append_events(uuid[], text[], uuid[], uuid[], jsonb[])")
