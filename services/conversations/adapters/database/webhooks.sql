-- name: app_secrets
-- Every account's phone number, WABA and app secret: what verifies its webhooks.
SELECT id, phone_number_id, waba_id, app_secret FROM accounts;

-- name: accounts_by_phone_number
-- The accounts of these phone numbers (read inside the apply: current on every replica).
SELECT phone_number_id, id FROM accounts WHERE phone_number_id = ANY(:numbers::text[]);

-- name: store_applied
-- Notifications applied in this transaction, one row per array element (signed_for: a uuid[]
-- literal each), with what applying found; ids rise in input order.
INSERT INTO webhook_notifications (body, signed_for, state, applied_at, outcome)
SELECT i.body, i.signed_for::uuid[], 'applied', clock_timestamp(), i.outcome
FROM unnest(:bodies::bytea[], :signed_for::text[], :outcomes::jsonb[]) WITH ORDINALITY
     AS i(body, signed_for, outcome, ordinal)
ORDER BY i.ordinal
RETURNING id;

-- name: store_unapplied
-- A notification that could not be applied: kept received for the sweep, its first failure counted.
INSERT INTO webhook_notifications (body, signed_for, outcome)
VALUES (:body, :signed_for::uuid[], jsonb_build_object('apply_failures', 1, 'last_error', :error::text))
RETURNING id;

-- name: lock_notifications
-- Takes these notifications for applying: those still received, not being applied elsewhere.
SELECT id FROM webhook_notifications
WHERE id = ANY(:ids::bigint[]) AND state = 'received'
ORDER BY id
FOR UPDATE SKIP LOCKED;

-- name: unapplied_notifications
-- Notifications left received longer than a live replica takes to apply them (a crash, a full queue).
SELECT id, body, signed_for FROM webhook_notifications
WHERE state = 'received' AND received_at < now() - make_interval(secs => :older_than_seconds)
ORDER BY id
LIMIT :limit;

-- name: finish_notifications
-- Applied (or malformed), with what applying found, one row per array element.
UPDATE webhook_notifications n
SET state = f.state, applied_at = now(), outcome = f.outcome
FROM unnest(:ids::bigint[], :states::text[], :outcomes::jsonb[]) AS f(id, state, outcome)
WHERE n.id = f.id;

-- name: count_failed_apply
-- One more failed try at applying; at the last one the notification ends failed, its bytes kept.
UPDATE webhook_notifications n
SET outcome = jsonb_build_object('apply_failures', f.failures, 'last_error', :error::text),
    state = CASE WHEN f.failures >= :max_attempts::int THEN 'failed' ELSE n.state END,
    applied_at = CASE WHEN f.failures >= :max_attempts::int THEN now() END
FROM (SELECT id, coalesce((outcome->>'apply_failures')::int, 0) + 1 AS failures
      FROM webhook_notifications WHERE id = :id) AS f
WHERE n.id = f.id AND n.state = 'received'
RETURNING n.state;

-- name: change_identities
-- A user's new phone number or BSUID (system messages), one change per array element, in order:
-- the contact known by the old ones (by BSUID first, then phone) takes them, keeping its
-- conversation. Skipped when another contact already has them. Its conversation, if any.
WITH input AS (
    SELECT * FROM unnest(:account_ids::uuid[], :old_wa_ids::text[], :old_user_ids::text[],
                         :new_wa_ids::text[], :new_user_ids::text[]) WITH ORDINALITY
         AS i(account_id, old_wa_id, old_user_id, new_wa_id, new_user_id, ordinal)
), target AS (
    SELECT DISTINCT ON (contact_id) i.*, contact_id FROM input i
    CROSS JOIN LATERAL (
        SELECT coalesce(
            (SELECT id FROM contacts WHERE account_id = i.account_id AND user_id = i.old_user_id),
            (SELECT id FROM contacts WHERE account_id = i.account_id AND wa_id = i.old_wa_id)) AS contact_id
    ) found
    WHERE contact_id IS NOT NULL
    ORDER BY contact_id, i.ordinal DESC
), changed AS (
    UPDATE contacts k
    SET wa_id = coalesce(t.new_wa_id, k.wa_id), user_id = coalesce(t.new_user_id, k.user_id),
        updated_at = now()
    FROM target t
    WHERE k.id = t.contact_id
      AND NOT EXISTS (SELECT 1 FROM contacts o WHERE o.account_id = k.account_id AND o.id <> k.id
                      AND (o.wa_id = t.new_wa_id OR o.user_id = t.new_user_id))
    -- `k` is the row as changed, which a join after this statement would not see yet.
    RETURNING k.account_id, t.old_wa_id,
              (SELECT c.id FROM conversations c WHERE c.contact_id = k.id) AS conversation_id,
              (SELECT pigeon_conversation_json(c, k)::text FROM conversations c WHERE c.contact_id = k.id)
                  AS resource
)
SELECT * FROM changed;

-- name: identify_contacts
-- The contacts of these users (one per array element; a phone number, a BSUID or both): one
-- known by one of the two gets the other, one known by neither is added. Matched by BSUID
-- first, then phone; an identifier another contact has already is left to it.
WITH input AS (
    SELECT * FROM unnest(:account_ids::uuid[], :wa_ids::text[], :user_ids::text[]) WITH ORDINALITY
         AS i(account_id, wa_id, user_id, ordinal)
), by_user_id AS (
    SELECT DISTINCT ON (i.account_id, i.user_id) i.*, k.id AS contact_id FROM input i
    JOIN contacts k ON k.account_id = i.account_id AND k.user_id = i.user_id
    WHERE i.wa_id IS NOT NULL AND k.wa_id IS NULL
    ORDER BY i.account_id, i.user_id, i.ordinal
), by_wa_id AS (
    -- Known by phone: the BSUID is added, or replaced by a new one (Meta gives a user a new
    -- BSUID with a new number, and may not say so before the next message).
    SELECT DISTINCT ON (i.account_id, i.wa_id) i.*, k.id AS contact_id FROM input i
    JOIN contacts k ON k.account_id = i.account_id AND k.wa_id = i.wa_id
    WHERE i.user_id IS NOT NULL AND k.user_id IS DISTINCT FROM i.user_id
      AND NOT EXISTS (SELECT 1 FROM contacts o WHERE o.account_id = i.account_id AND o.user_id = i.user_id)
    ORDER BY i.account_id, i.wa_id, i.ordinal
), phone_added AS (
    UPDATE contacts k SET wa_id = f.wa_id, updated_at = now()
    FROM by_user_id f
    WHERE k.id = f.contact_id
      AND NOT EXISTS (SELECT 1 FROM contacts o WHERE o.account_id = f.account_id AND o.wa_id = f.wa_id)
), user_id_added AS (
    UPDATE contacts k SET user_id = f.user_id, updated_at = now()
    FROM by_wa_id f
    WHERE k.id = f.contact_id
)
-- Those with more identifiers first: of two new rows for one user, the fuller one is kept.
INSERT INTO contacts (account_id, wa_id, user_id)
SELECT i.account_id, i.wa_id, i.user_id FROM input i
WHERE NOT EXISTS (SELECT 1 FROM contacts k WHERE k.account_id = i.account_id
                  AND (k.wa_id = i.wa_id OR k.user_id = i.user_id))
ORDER BY (i.wa_id IS NULL) OR (i.user_id IS NULL), i.ordinal
ON CONFLICT DO NOTHING;

-- name: open_conversations
-- Each sender's conversation (one per array element, its contact found by BSUID first, then
-- phone: identify_contacts made it), opened if new; profile names and usernames refreshed
-- when given. `ordinal`: whose.
WITH input AS (
    SELECT * FROM unnest(:account_ids::uuid[], :wa_ids::text[], :user_ids::text[],
                         :profile_names::text[], :usernames::text[]) WITH ORDINALITY
         AS i(account_id, wa_id, user_id, profile_name, username, ordinal)
), found AS (
    SELECT i.*, coalesce(
        (SELECT id FROM contacts WHERE account_id = i.account_id AND user_id = i.user_id),
        (SELECT id FROM contacts WHERE account_id = i.account_id AND wa_id = i.wa_id)) AS contact_id
    FROM input i
), named AS (
    UPDATE contacts k
    SET profile_name = coalesce(f.profile_name, k.profile_name), username = coalesce(f.username, k.username),
        updated_at = now()
    FROM (SELECT DISTINCT ON (contact_id) contact_id, profile_name, username FROM found
          WHERE profile_name IS NOT NULL OR username IS NOT NULL
          ORDER BY contact_id, ordinal DESC) AS f
    WHERE k.id = f.contact_id
), conversation AS (
    -- The no-op DO UPDATE makes RETURNING yield an existing conversation too.
    INSERT INTO conversations (account_id, contact_id)
    SELECT DISTINCT account_id, contact_id FROM found WHERE contact_id IS NOT NULL ORDER BY contact_id
    ON CONFLICT (account_id, contact_id) DO UPDATE SET contact_id = EXCLUDED.contact_id
    RETURNING id, contact_id
)
SELECT f.ordinal, conversation.id AS conversation_id, k.wa_id
FROM found f JOIN conversation ON conversation.contact_id = f.contact_id JOIN contacts k ON k.id = f.contact_id;

-- name: record_preferences
-- Users' marketing preferences (one per array element, each user once), on their contacts
-- (identify_contacts made them): one older than the stored one is ignored, as webhooks
-- arrive in any order. The conversations of the contacts it changed.
WITH input AS (
    SELECT * FROM unnest(:account_ids::uuid[], :wa_ids::text[], :user_ids::text[], :opted_out::bool[],
                         :ats::timestamptz[]) AS i(account_id, wa_id, user_id, opted_out, at)
), changed AS (
    UPDATE contacts k SET marketing_opt_out = i.opted_out, marketing_preference_at = i.at, updated_at = now()
    FROM input i
    WHERE k.id = coalesce(
            (SELECT id FROM contacts WHERE account_id = i.account_id AND user_id = i.user_id),
            (SELECT id FROM contacts WHERE account_id = i.account_id AND wa_id = i.wa_id))
      AND (k.marketing_preference_at IS NULL OR k.marketing_preference_at < i.at)
    RETURNING (SELECT c.id FROM conversations c WHERE c.contact_id = k.id) AS id, k.account_id,
              (SELECT pigeon_conversation_json(c, k)::text FROM conversations c WHERE c.contact_id = k.id)
                  AS resource
)
SELECT * FROM changed WHERE id IS NOT NULL;

-- name: insert_inbound
-- Inbound messages, one per array element; one already stored (same WhatsApp id) is skipped.
-- One with a file (a wa_media_id) gets its media row, pending a copy, in the same statement:
-- its resource is built here, as the message's own does not see that row yet.
WITH input AS (
    SELECT * FROM unnest(:account_ids::uuid[], :conversation_ids::uuid[], :wa_ids::text[], :user_ids::text[],
                         :types::text[], :bodies::text[], :reply_tos::text[], :wa_message_ids::text[],
                         :sent_ats::timestamptz[], :wa_media_ids::text[], :mime_types::text[],
                         :filenames::text[], :captions::text[]) WITH ORDINALITY
         AS i(account_id, conversation_id, wa_id, user_id, type, body, reply_to, wa_message_id, sent_at,
              wa_media_id, mime_type, filename, caption, ordinal)
), message AS (
    INSERT INTO messages (account_id, conversation_id, direction, contact_wa_id, contact_user_id, type, body,
                          reply_to_wa_message_id, status, wa_message_id, created_at, media_id)
    SELECT account_id, conversation_id, 'inbound', wa_id, user_id, type, body::jsonb, reply_to, 'received',
           wa_message_id, sent_at, CASE WHEN wa_media_id IS NOT NULL THEN gen_random_uuid() END
    FROM input ORDER BY ordinal
    ON CONFLICT (account_id, wa_message_id) WHERE wa_message_id IS NOT NULL DO NOTHING
    RETURNING id, account_id, wa_message_id, conversation_id, media_id, pigeon_message_json(messages) AS resource
), file AS (
    INSERT INTO media (id, account_id, origin, wa_media_id, mime_type, filename, caption, status,
                       next_attempt_at, give_up_at)
    SELECT m.media_id, m.account_id, 'inbound', i.wa_media_id, i.mime_type, i.filename, i.caption,
           'pending', now(), i.sent_at + make_interval(secs => :media_lifetime_seconds)
    FROM message m JOIN input i USING (account_id, wa_message_id)
    WHERE m.media_id IS NOT NULL
    RETURNING id, pigeon_media_json(media) AS resource
)
SELECT m.id, m.account_id, m.wa_message_id, m.conversation_id, m.media_id,
       (CASE WHEN f.id IS NULL THEN m.resource
             ELSE m.resource || jsonb_build_object('media', f.resource) END)::text AS resource
FROM message m JOIN input i USING (account_id, wa_message_id) LEFT JOIN file f ON f.id = m.media_id
ORDER BY i.ordinal;

-- name: show_media
-- These messages show their files' media rows (those insert_inbound made, once it is done).
UPDATE messages m SET media = pigeon_media_json(d)
FROM media d
WHERE m.id = ANY(:message_ids::uuid[]) AND d.id = m.media_id;

-- name: touch_conversations
-- Customers wrote: each conversation's 24 h window moves to its newest message, `count` more
-- unread, and one whose status is one of `reopened_statuses` is open again, its event saying so
-- (`changes`). Rows are locked in id order, and their status read as locked.
UPDATE conversations c
SET last_inbound_at = greatest(c.last_inbound_at, t.sent_at),
    last_message_at = greatest(c.last_message_at, t.sent_at),
    last_activity_at = greatest(c.last_activity_at, t.sent_at),
    unread_count = c.unread_count + t.count,
    status = CASE WHEN t.reopened THEN 'open' ELSE c.status END,
    snoozed_until = CASE WHEN t.reopened THEN NULL ELSE c.snoozed_until END
FROM (SELECT i.*, o.status AS old_status, o.snoozed_until AS old_snoozed_until,
             o.status = ANY(:reopened_statuses::text[]) AS reopened
      FROM unnest(:ids::uuid[], :sent_ats::timestamptz[], :counts::int[]) AS i(id, sent_at, count)
      JOIN conversations o ON o.id = i.id
      ORDER BY i.id
      FOR UPDATE OF o) AS t,
     contacts k
WHERE c.id = t.id AND k.id = c.contact_id
RETURNING c.id, c.account_id,
          (pigeon_conversation_json(c, k)
           || CASE WHEN t.reopened
                   THEN jsonb_build_object('changes', pigeon_reopen_changes(t.old_status, t.old_snoozed_until))
                   ELSE '{}'::jsonb END)::text AS resource;

-- name: lock_status_targets
-- The messages statuses are about, locked in id order: by WhatsApp id, or by pigeon's own id
-- (biz_opaque_callback_data) for a status that beat the send's outcome. `ordinal`: whose.
WITH report AS (
    SELECT * FROM unnest(:account_ids::uuid[], :wa_message_ids::text[], :callback_ids::uuid[])
        WITH ORDINALITY AS r(account_id, wa_message_id, callback_id, ordinal)
), matched AS (
    SELECT r.ordinal, m.id FROM report r
    JOIN messages m ON m.account_id = r.account_id AND m.wa_message_id = r.wa_message_id
    UNION
    SELECT r.ordinal, m.id FROM report r
    JOIN messages m ON m.id = r.callback_id AND m.account_id = r.account_id
)
SELECT matched.ordinal, m.id, m.account_id, m.direction, m.status, m.wa_message_id, m.sent_at,
       m.delivered_at, m.read_at, m.failed_at, m.error_code, m.error_message
FROM matched JOIN messages m ON m.id = matched.id
ORDER BY m.id
FOR UPDATE OF m;

-- name: update_deliveries
-- Messages moved by their statuses (already locked), one per array element. A send of a file of
-- pigeon's that WhatsApp failed as not knowing it (`upload_error`) makes pigeon upload it again.
WITH m AS (
    UPDATE messages m
    SET status = u.status, wa_message_id = u.wa_message_id, sent_at = u.sent_at,
        delivered_at = u.delivered_at, read_at = u.read_at, failed_at = u.failed_at,
        error_code = u.error_code, error_message = u.error_message,
        lease_expires_at = NULL, updated_at = now()
    FROM unnest(:ids::uuid[], :statuses::text[], :wa_message_ids::text[], :sent_ats::timestamptz[],
                :delivered_ats::timestamptz[], :read_ats::timestamptz[], :failed_ats::timestamptz[],
                :error_codes::text[], :error_messages::text[])
         AS u(id, status, wa_message_id, sent_at, delivered_at, read_at, failed_at, error_code, error_message)
    WHERE m.id = u.id
    RETURNING m.id, m.account_id, m.conversation_id, m.status, m.error_code, m.media_id,
              pigeon_message_json(m)::text AS resource
), forgotten AS (
    UPDATE media d SET wa_upload_id = NULL, wa_upload_expires_at = NULL
    FROM m
    WHERE m.media_id IS NOT NULL AND m.error_code = :upload_error
      AND d.id = m.media_id AND d.account_id = m.account_id
)
SELECT id, account_id, conversation_id, status, resource FROM m;

-- name: keep_pending
-- Statuses of messages pigeon does not know yet, kept until their WhatsApp id is stored.
INSERT INTO pending_statuses (account_id, wa_message_id, status, status_at, error_code, error_message)
SELECT * FROM unnest(:account_ids::uuid[], :wa_message_ids::text[], :statuses::text[],
                     :ats::timestamptz[], :error_codes::text[], :error_messages::text[])
ON CONFLICT DO NOTHING;

-- name: matchable_pending
-- Pending statuses whose message pigeon now knows, taken for applying.
SELECT p.account_id, p.wa_message_id, p.status, p.status_at, p.error_code, p.error_message
FROM pending_statuses p
WHERE EXISTS (SELECT 1 FROM messages m
              WHERE m.account_id = p.account_id AND m.wa_message_id = p.wa_message_id)
ORDER BY p.account_id, p.wa_message_id
LIMIT :limit
FOR UPDATE SKIP LOCKED;

-- name: forget_pending
-- Pending statuses that were applied, one per array element.
DELETE FROM pending_statuses p
USING unnest(:account_ids::uuid[], :wa_message_ids::text[], :statuses::text[]) AS f(account_id, wa_message_id, status)
WHERE p.account_id = f.account_id AND p.wa_message_id = f.wa_message_id AND p.status = f.status;

-- name: mark_read
-- The agent read the conversation: nothing unread.
UPDATE conversations c SET unread_count = 0
FROM contacts k
WHERE c.id = :conversation_id AND c.account_id = :account_id AND k.id = c.contact_id
RETURNING pigeon_conversation_json(c, k)::text AS resource;

-- name: last_inbound
-- The WhatsApp id of the customer's newest message in a conversation of the account.
SELECT m.wa_message_id FROM messages m
WHERE m.conversation_id = :conversation_id AND m.account_id = :account_id AND m.direction = 'inbound'
ORDER BY m.created_at DESC, m.id DESC
LIMIT 1;

-- name: record_read_receipt
-- What became of the read receipt of a conversation's message (error null: WhatsApp took it).
UPDATE conversations
SET read_receipt = jsonb_build_object(
        'message_id', :message_id::text,
        'status', CASE WHEN :error_code::text IS NULL THEN 'sent' ELSE 'failed' END,
        'error', CASE WHEN :error_code::text IS NULL THEN NULL
                      ELSE jsonb_build_object('code', :error_code::text, 'message', :error_message::text) END,
        'at', pigeon_ts(now()))
WHERE id = :conversation_id AND account_id = :account_id;

-- name: append_events
-- Events of several accounts, in array order per account (see pigeon_append_events).
SELECT pigeon_append_events(:account_ids::uuid[], :types::text[], :message_ids::uuid[],
                            :conversation_ids::uuid[], :datas::jsonb[]);

-- name: apply_template_statuses
-- Template status changes (arrays, one element per change) set on the templates of the signing
-- accounts of that WABA; those accounts' listings due at once, and their catalogs dropped.
WITH changed AS (
    SELECT DISTINCT c.waba_id, c.whatsapp_id, c.status, a.id AS account_id
    FROM unnest(:waba_ids::text[], :whatsapp_ids::text[], :statuses::text[]) AS c(waba_id, whatsapp_id, status)
    JOIN accounts a ON a.waba_id = c.waba_id AND a.id = ANY(:signed_for::uuid[])
), updated AS (
    UPDATE templates t SET status = changed.status, updated_at = now()
    FROM changed
    WHERE t.account_id = changed.account_id AND t.whatsapp_id = changed.whatsapp_id
      AND changed.status <> '' AND t.status <> changed.status
    RETURNING t.account_id
)
UPDATE template_syncs s SET due_at = now()
WHERE s.account_id IN (SELECT account_id FROM changed)
RETURNING s.account_id, pg_notify('pigeon_templates', s.account_id::text),
          pg_notify('pigeon_cache', 'templates:' || s.account_id::text);
