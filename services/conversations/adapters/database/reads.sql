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
-- The account's conversations, most recent activity first, after the page's last (activity,
-- id), that the window filter keeps (conversation_filters) when no filter leads: most of the
-- account may be kept, and the activity index is walked until the page is full.
SELECT {conversation_columns}
FROM conversations c JOIN contacts k ON k.id = c.contact_id
WHERE c.account_id = :account_id AND {conversation_filters}
ORDER BY c.last_activity_at DESC, c.id DESC
LIMIT :limit;

-- name: list_conversations_by_status
-- list_conversations led by `status`: conversations_account_status_idx walked in the list's order.
SELECT {conversation_columns}
FROM conversations c JOIN contacts k ON k.id = c.contact_id
WHERE c.account_id = :account_id AND c.status = :status::text AND {conversation_filters}
  AND {inbox_filters}
ORDER BY c.last_activity_at DESC, c.id DESC
LIMIT :limit;

-- name: list_conversations_by_assignee
-- list_conversations led by `assignee` ('' for the unassigned): conversations_account_assignee_idx
-- walked in the list's order.
SELECT {conversation_columns}
FROM conversations c JOIN contacts k ON k.id = c.contact_id
WHERE c.account_id = :account_id AND c.assignee = :assignee::text AND {conversation_filters}
  AND {inbox_filters}
ORDER BY c.last_activity_at DESC, c.id DESC
LIMIT :limit;

-- name: list_conversations_unread
-- list_conversations led by `unread`: conversations_account_unread_idx (of the unread only)
-- walked in the list's order.
SELECT {conversation_columns}
FROM conversations c JOIN contacts k ON k.id = c.contact_id
WHERE c.account_id = :account_id AND c.unread_count > 0 AND {conversation_filters}
  AND {inbox_filters}
ORDER BY c.last_activity_at DESC, c.id DESC
LIMIT :limit;

-- name: list_recent_conversations_by_window
-- list_conversations for a window filter with a lower bound (`window_expires_after`, or
-- `can_send_free_form` true: now) that keeps many: the account's `scan` most recently active
-- conversations after the page's last, by the activity index in the list's order, no further back
-- than one kept can have been active (window_activity_bound), those kept kept. Fewer than `limit`
-- found leaves more possible: list_conversations_by_window is asked then.
SELECT {conversation_columns}
FROM (SELECT * FROM conversations c
      WHERE c.account_id = :account_id AND {window_activity_bound}
        AND (c.last_activity_at, c.id) < (coalesce(:after_time::timestamptz, 'infinity'::timestamptz),
                                          coalesce(:after_id::uuid, 'ffffffff-ffff-ffff-ffff-ffffffffffff'::uuid))
      ORDER BY c.last_activity_at DESC, c.id DESC
      LIMIT :scan) AS c
JOIN contacts k ON k.id = c.contact_id
WHERE {window_lower_bound} AND {conversation_filters} AND {inbox_filters}
ORDER BY c.last_activity_at DESC, c.id DESC
LIMIT :limit;

-- name: list_conversations_by_window
-- list_conversations for a window filter with a lower bound (`window_expires_after`, or
-- `can_send_free_form` true: now): those whose window closes in [lower, upper), found by their
-- range of conversations_account_window_idx before they are sorted. The fence keeps any plan
-- from walking the whole account by activity instead, as a plan for unknown values would when
-- it takes a page to be a small part of many rows.
WITH kept AS MATERIALIZED (
    SELECT * FROM conversations c
    WHERE c.account_id = :account_id AND {window_lower_bound} AND {conversation_filters} AND {inbox_filters}
)
SELECT {conversation_columns}
FROM kept c JOIN contacts k ON k.id = c.contact_id
ORDER BY c.last_activity_at DESC, c.id DESC
LIMIT :limit;

-- name: list_conversations_by_label
-- list_conversations led by `label`: the few conversations conversations_account_labels_idx
-- finds, filtered and sorted behind a fence (as list_conversations_by_window's), which holds
-- only the label's condition: any other could lead a plan for unknown values instead.
WITH kept AS MATERIALIZED (
    SELECT * FROM conversations c
    WHERE c.account_id = :account_id
      AND pigeon_account_labels(c.account_id, c.labels) @> pigeon_account_labels(:account_id, ARRAY[:label::text])
)
SELECT {conversation_columns}
FROM kept c JOIN contacts k ON k.id = c.contact_id
WHERE {window_lower_bound} AND {conversation_filters} AND {inbox_filters}
ORDER BY c.last_activity_at DESC, c.id DESC
LIMIT :limit;

-- name: list_conversations_by_contact
-- list_conversations led by `q`: the conversations of the contacts whose phone number is
-- `q_wa_id`, whose BSUID is `q_user_id`, or whose lower-cased name starts with `q` lower-cased
-- (a range of contacts_account_name_idx, in byte order), sorted behind a fence.
WITH found AS MATERIALIZED (
    SELECT k.id FROM contacts k
    WHERE k.account_id = :account_id
      AND (k.wa_id = :q_wa_id::text OR k.user_id = :q_user_id::text
           OR (lower(k.profile_name) COLLATE "C" >= lower(:q::text) COLLATE "C"
               AND lower(k.profile_name) COLLATE "C" < (lower(:q::text) || chr(1114111)) COLLATE "C"))
), kept AS MATERIALIZED (
    SELECT c.* FROM found JOIN conversations c ON c.account_id = :account_id AND c.contact_id = found.id
    WHERE {window_lower_bound} AND {conversation_filters} AND {inbox_filters}
)
SELECT {conversation_columns}
FROM kept c JOIN contacts k ON k.id = c.contact_id
ORDER BY c.last_activity_at DESC, c.id DESC
LIMIT :limit;

-- name: search_recent_messages
-- search_messages for a word many messages hold: the account's newest `scan` messages in range
-- (messages_account_created_idx, migration 0021), the matches kept. Fewer than `limit` found
-- leaves more possible: search_messages is asked then.
SELECT {message_columns}
FROM (SELECT * FROM messages m
      WHERE m.account_id = :account_id AND {search_range}
      ORDER BY m.created_at DESC, m.id DESC
      LIMIT :scan) AS m
WHERE {search_words}
ORDER BY m.created_at DESC, m.id DESC
LIMIT :limit;

-- name: search_messages
-- The account's messages in range whose words match `q`, newest first: every match
-- messages_words_idx finds (the account's only: `q` carries its lexeme), then sorted. Behind the
-- fence nothing but the words index can serve the statement, so no plan for unknown values
-- walks the account's messages instead (all of them, for a rare word): the range is a plain
-- filter there, and the account is checked again outside.
WITH found AS MATERIALIZED (
    SELECT * FROM messages m
    WHERE {search_words}
      AND (:before_time::timestamptz IS NULL
           OR (m.created_at, m.id) < (:before_time::timestamptz, :before_id::uuid))
      AND (:since::timestamptz IS NULL OR m.created_at >= :since::timestamptz)
)
SELECT {message_columns}
FROM found m
WHERE m.account_id = :account_id
ORDER BY m.created_at DESC, m.id DESC
LIMIT :limit;

-- name: search_conversation_messages
-- search_messages of one conversation: its messages in range walked newest first
-- (messages_conversation_created_idx) until the page is full.
SELECT {message_columns}
FROM messages m
WHERE m.conversation_id = :conversation_id AND m.account_id = :account_id AND {search_range}
  AND {search_words}
ORDER BY m.created_at DESC, m.id DESC
LIMIT :limit;
