-- name: get_message
-- One message of the account.
SELECT {message_columns}
FROM messages m WHERE m.id = :message_id AND m.account_id = :account_id;

-- name: list_messages
-- A conversation's messages, newest first, after the page's last (created_at, id).
SELECT {message_columns}
FROM messages m
WHERE m.conversation_id = :conversation_id AND m.account_id = :account_id
  AND (:after_time::timestamptz IS NULL OR (m.created_at, m.id) < (:after_time::timestamptz, :after_id::uuid))
ORDER BY m.created_at DESC, m.id DESC
LIMIT :limit;

-- name: get_conversation
-- One conversation of the account, with its contact.
SELECT {conversation_columns}
FROM conversations c JOIN contacts k ON k.id = c.contact_id
WHERE c.id = :conversation_id AND c.account_id = :account_id;

-- name: list_conversations
-- The account's conversations, most recent activity first, after the page's last (activity, id);
-- with a window filter that has no lower bound, only those whose window closes before
-- `window_expires_before` and, when `can_send_free_form` is false, before now (NULL: no bound; no
-- window counts as closed since ever). Such a filter keeps many: the activity index is walked.
SELECT {conversation_columns}
FROM conversations c JOIN contacts k ON k.id = c.contact_id
WHERE c.account_id = :account_id
  AND (:after_time::timestamptz IS NULL
       OR (c.last_activity_at, c.id) < (:after_time::timestamptz, :after_id::uuid))
  AND coalesce(pigeon_window_expires_at(c.last_inbound_at), '-infinity'::timestamptz)
      < least(:window_expires_before::timestamptz,
              CASE WHEN NOT :can_send_free_form::bool THEN now() END, 'infinity'::timestamptz)
ORDER BY c.last_activity_at DESC, c.id DESC
LIMIT :limit;

-- name: list_conversations_by_window
-- list_conversations for a window filter with a lower bound (`window_expires_after`, or
-- `can_send_free_form` true: now): those whose window closes in [lower, upper), found by their
-- range of conversations_account_window_idx (its expression, written the same) before they are
-- sorted. The fence keeps any plan from walking the whole account by activity instead, as a plan
-- for unknown values would when it takes a page to be a small part of many rows.
WITH kept AS MATERIALIZED (
    SELECT * FROM conversations c
    WHERE c.account_id = :account_id
      AND coalesce(pigeon_window_expires_at(c.last_inbound_at), '-infinity'::timestamptz)
          >= greatest(:window_expires_after::timestamptz,
                      CASE WHEN :can_send_free_form::bool THEN now() END, '-infinity'::timestamptz)
      AND coalesce(pigeon_window_expires_at(c.last_inbound_at), '-infinity'::timestamptz)
          < least(:window_expires_before::timestamptz,
                  CASE WHEN NOT :can_send_free_form::bool THEN now() END, 'infinity'::timestamptz)
      AND (:after_time::timestamptz IS NULL
           OR (c.last_activity_at, c.id) < (:after_time::timestamptz, :after_id::uuid))
)
SELECT {conversation_columns}
FROM kept c JOIN contacts k ON k.id = c.contact_id
ORDER BY c.last_activity_at DESC, c.id DESC
LIMIT :limit;
