-- name: get_message
-- One message of the account.
SELECT m.id, m.account_id, m.conversation_id, m.direction, m.contact_wa_id, m.type, m.body::text AS body,
       m.reply_to_wa_message_id, m.status, m.wa_message_id, m.error_code, m.error_message,
       m.created_at, m.sent_at, m.delivered_at, m.read_at, m.failed_at
FROM messages m WHERE m.id = :message_id AND m.account_id = :account_id;

-- name: list_messages
-- A conversation's messages, newest first, after the page's last (created_at, id).
SELECT m.id, m.account_id, m.conversation_id, m.direction, m.contact_wa_id, m.type, m.body::text AS body,
       m.reply_to_wa_message_id, m.status, m.wa_message_id, m.error_code, m.error_message,
       m.created_at, m.sent_at, m.delivered_at, m.read_at, m.failed_at
FROM messages m
WHERE m.conversation_id = :conversation_id AND m.account_id = :account_id
  AND (:after_time::timestamptz IS NULL OR (m.created_at, m.id) < (:after_time::timestamptz, :after_id::uuid))
ORDER BY m.created_at DESC, m.id DESC
LIMIT :limit;

-- name: get_conversation
-- One conversation of the account, with its contact.
SELECT c.id, c.account_id, k.wa_id AS contact_wa_id, k.profile_name AS contact_name, c.created_at,
       c.last_message_at, c.last_inbound_at, c.last_activity_at, c.unread_count
FROM conversations c JOIN contacts k ON k.id = c.contact_id
WHERE c.id = :conversation_id AND c.account_id = :account_id;

-- name: list_conversations
-- The account's conversations, most recent activity first, after the page's last (activity, id).
SELECT c.id, c.account_id, k.wa_id AS contact_wa_id, k.profile_name AS contact_name, c.created_at,
       c.last_message_at, c.last_inbound_at, c.last_activity_at, c.unread_count
FROM conversations c JOIN contacts k ON k.id = c.contact_id
WHERE c.account_id = :account_id
  AND (:after_time::timestamptz IS NULL
       OR (c.last_activity_at, c.id) < (:after_time::timestamptz, :after_id::uuid))
ORDER BY c.last_activity_at DESC, c.id DESC
LIMIT :limit;
