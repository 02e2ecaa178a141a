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
-- The account's conversations, most recent activity first, after the page's last (activity, id).
SELECT {conversation_columns}
FROM conversations c JOIN contacts k ON k.id = c.contact_id
WHERE c.account_id = :account_id
  AND (:after_time::timestamptz IS NULL
       OR (c.last_activity_at, c.id) < (:after_time::timestamptz, :after_id::uuid))
ORDER BY c.last_activity_at DESC, c.id DESC
LIMIT :limit;
