-- name: lock_inbox_state
-- A conversation of the account's inbox state and version, locked for a change.
SELECT status, snoozed_until, assignee, labels, version
FROM conversations
WHERE id = :conversation_id AND account_id = :account_id
FOR UPDATE;

-- name: save_inbox_state
-- A conversation's new inbox state (its version moves on, by trigger), and the
-- conversation.updated event that tells of it with its `changes`.
WITH saved AS (
    UPDATE conversations c
    SET status = :status, snoozed_until = :snoozed_until, assignee = :assignee, labels = :labels::text[]
    FROM contacts k
    WHERE c.id = :conversation_id AND c.account_id = :account_id AND k.id = c.contact_id
    RETURNING c.id, c.account_id,
              pigeon_conversation_json(c, k) || jsonb_build_object('changes', :changes::jsonb) AS data
), appended AS (
    SELECT pigeon_append_events(array_agg(account_id), array_agg(:event_type::text), array_agg(NULL::uuid),
                                array_agg(id), array_agg(data))
    FROM saved
)
SELECT saved.id FROM saved, appended;

-- name: reopen_snoozed
-- Up to `limit` snoozed conversations whose time passed, reopened, each with its
-- conversation.updated; one another replica is reopening is skipped.
WITH due AS (
    SELECT id, snoozed_until FROM conversations
    WHERE status = 'snoozed' AND snoozed_until <= now()
    ORDER BY snoozed_until
    LIMIT :limit
    FOR UPDATE SKIP LOCKED
), reopened AS (
    UPDATE conversations c SET status = 'open', snoozed_until = NULL
    FROM due, contacts k
    WHERE c.id = due.id AND k.id = c.contact_id
    RETURNING c.id, c.account_id,
              pigeon_conversation_json(c, k)
                  || jsonb_build_object('changes', pigeon_reopen_changes('snoozed', due.snoozed_until)) AS data
), appended AS (
    SELECT pigeon_append_events(array_agg(account_id ORDER BY account_id, id),
                                array_agg(:event_type::text), array_agg(NULL::uuid),
                                array_agg(id ORDER BY account_id, id), array_agg(data ORDER BY account_id, id))
    FROM reopened
)
SELECT count(*) AS reopened FROM reopened, appended;

-- name: add_note
-- An internal note on a conversation of the account (none if it is not the account's).
INSERT INTO conversation_notes (account_id, conversation_id, author, body)
SELECT c.account_id, c.id, :author, :body
FROM conversations c WHERE c.id = :conversation_id AND c.account_id = :account_id
RETURNING id, conversation_id, author, body, created_at;

-- name: list_notes
-- A conversation's notes, newest first, after the page's last (created_at, id).
SELECT id, conversation_id, author, body, created_at
FROM conversation_notes n
WHERE n.conversation_id = :conversation_id AND n.account_id = :account_id
  AND (:after_time::timestamptz IS NULL OR (n.created_at, n.id) < (:after_time::timestamptz, :after_id::uuid))
ORDER BY n.created_at DESC, n.id DESC
LIMIT :limit;
