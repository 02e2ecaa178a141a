"""Full-text search over messages' text bodies and media captions (GET /messages/search).

- `pigeon_message_words(account_id, body)` is a message's words as a tsvector: its text's `body`
  and its media's `caption` (the Cloud API object the `body` column holds), with the 'simple'
  configuration (no stemming, no stop words: customers write in any language), plus one lexeme
  naming its account, "account:<id>", which no text yields (the parser splits at ':').
- `pigeon_message_query(account_id, q)` is `q` in websearch syntax AND that account's lexeme,
  so that the GIN index on the words, `messages_words_idx`, intersects a word's entries with
  the account's inside the index and the table is visited for the account's matches only, not
  every account's (a composite GIN index on account_id needs btree_gin, which not every
  server has). A `q` without words stays empty: it matches nothing, not the whole account.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-10
"""

from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

FUNCTIONS = [
    # SQL and immutable: inlined into the index's expression and the queries' alike, for the
    # planner to match them.
    """
CREATE FUNCTION pigeon_message_words(account_id uuid, body jsonb) RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT to_tsvector('simple'::regconfig,
                       coalesce(body->>'body', '') || ' ' || coalesce(body->>'caption', ''))
           || array_to_tsvector(ARRAY['account:' || account_id::text])
$$
""",
    """
CREATE FUNCTION pigeon_message_query(account_id uuid, q text) RETURNS tsquery
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN numnode(words) = 0 THEN words
                ELSE words && quote_literal('account:' || account_id::text)::tsquery END
    FROM websearch_to_tsquery('simple'::regconfig, q) AS words
$$
""",
]


def upgrade() -> None:
    for statement in FUNCTIONS:
        op.execute(statement)
    op.execute(
        "CREATE INDEX messages_words_idx ON messages USING gin (pigeon_message_words(account_id, body))"
    )


def downgrade() -> None:
    op.execute("DROP INDEX messages_words_idx")
    op.execute("DROP FUNCTION pigeon_message_query(uuid, text)")
    op.execute("DROP FUNCTION pigeon_message_words(uuid, jsonb)")
