-- name: insert_outbound
-- Outbound messages (a batch: one row per array element), their conversations' activity, their
-- pacing slots and events.
--
-- Why one statement of this length: it is the send path's hot write, and one statement is one
-- round trip and one commit for the whole batch (group commit, docs/architecture.md).
-- Nothing is written for a row whose conversation is not the account's, or whose idempotency
-- key was used before (the caller then reads the original). A free-form message outside the
-- 24 h window is stored failed at once. A sync send (`sending`) takes its account's next
-- pacing slot, as the outbox's claims do; when that slot is further away than the row's
-- `max_pacing_wait_seconds`, it is stored failed at once (:rate_limited_code), takes no slot
-- and leaves its idempotency key unused. `send_delay_seconds` says how long until each slot.
-- Locks are taken in one order by every batch, so concurrent ones wait instead of
-- deadlocking: the pacing rows (by account), the idempotency keys (sorted; `(SELECT count(*)
-- FROM ...)` finishes each step before the next), the conversations (by id), the counters.
WITH input AS (
    SELECT * FROM unnest(
        :message_ids::uuid[], :account_ids::uuid[], :conversation_ids::uuid[], :contact_wa_ids::text[],
        :contact_user_ids::text[],
        :types::text[], :bodies::text[], :reply_tos::text[], :statuses::text[], :idempotency_keys::text[],
        :request_hashes::bytea[], :lease_seconds::float8[], :max_age_seconds::float8[],
        :slot_seconds::float8[], :max_pacing_wait_seconds::float8[]
    ) AS i(message_id, account_id, conversation_id, contact_wa_id, contact_user_id, type, body, reply_to, status,
           idempotency_key, request_hash, lease_seconds, max_age_seconds, slot_seconds, max_pacing_wait_seconds)
), pacing AS (
    SELECT p.account_id, p.next_slot_at FROM send_pacing p
    WHERE p.account_id IN (SELECT account_id FROM input WHERE status = 'sending')
    ORDER BY p.account_id
    FOR UPDATE OF p
), sync_rows AS (
    -- clock_timestamp() here, once every pacing row is locked (in `pacing` it would be read
    -- before the wait for a lock).
    SELECT i.message_id, i.account_id, i.slot_seconds, i.max_pacing_wait_seconds,
           greatest(pacing.next_slot_at, clock_timestamp()) AS start,
           row_number() OVER (PARTITION BY i.account_id ORDER BY i.message_id) - 1 AS position
    FROM input i JOIN pacing ON pacing.account_id = i.account_id
    WHERE i.status = 'sending'
), slots AS MATERIALIZED (
    -- A slot further away than its wait allows is refused (and the account's later ones too).
    SELECT message_id, account_id, slot_seconds, slot_at,
           slot_at > clock_timestamp() + make_interval(secs => max_pacing_wait_seconds) AS refused
    FROM (SELECT *, start + make_interval(secs => slot_seconds * position) AS slot_at FROM sync_rows) AS r
), key AS (
    INSERT INTO idempotency_keys (account_id, key, request_hash, message_id)
    SELECT i.account_id, i.idempotency_key, i.request_hash, i.message_id FROM input i
    WHERE i.idempotency_key IS NOT NULL AND (SELECT count(*) FROM pacing) >= 0
      AND EXISTS (SELECT 1 FROM conversations WHERE id = i.conversation_id AND account_id = i.account_id)
      -- A send refused by its account's pacing does not use up its key: a retry may send.
      AND i.message_id NOT IN (SELECT message_id FROM slots WHERE refused)
    ORDER BY i.account_id, i.idempotency_key
    ON CONFLICT DO NOTHING
    RETURNING message_id
), c AS (
    SELECT id, account_id, last_inbound_at FROM conversations
    WHERE id = ANY(:conversation_ids::uuid[]) AND (SELECT count(*) FROM key) >= 0
    ORDER BY id
    FOR UPDATE
), target AS (
    SELECT i.*, CASE
            WHEN i.type <> :type_sent_any_time
                 AND (c.last_inbound_at IS NULL
                      OR c.last_inbound_at < now() - make_interval(secs => :window_seconds::float8))
                THEN :reengagement_code
            WHEN slots.refused THEN :rate_limited_code
        END AS refusal
    FROM input i JOIN c ON c.id = i.conversation_id AND c.account_id = i.account_id
    LEFT JOIN slots ON slots.message_id = i.message_id
    WHERE i.idempotency_key IS NULL OR i.message_id IN (SELECT message_id FROM key)
       OR (slots.refused
           AND NOT EXISTS (SELECT 1 FROM idempotency_keys k
                           WHERE k.account_id = i.account_id AND k.key = i.idempotency_key))
), paced AS (
    UPDATE send_pacing p SET next_slot_at = taken.next_slot_at
    FROM (SELECT s.account_id, max(s.slot_at) + make_interval(secs => max(s.slot_seconds)) AS next_slot_at
          FROM target t JOIN slots s ON s.message_id = t.message_id
          WHERE t.refusal IS NULL GROUP BY s.account_id) AS taken
    WHERE p.account_id = taken.account_id
), touched AS (
    UPDATE conversations SET last_message_at = now(), last_activity_at = now()
    WHERE id IN (SELECT conversation_id FROM target)
), m AS (
    INSERT INTO messages (id, account_id, conversation_id, direction, contact_wa_id, contact_user_id, type, body,
                          reply_to_wa_message_id, status, error_code, error_message, failed_at,
                          attempts, claim, next_attempt_at, lease_expires_at, expires_at)
    SELECT t.message_id, t.account_id, t.conversation_id, 'outbound', t.contact_wa_id, t.contact_user_id, t.type,
           t.body::jsonb, t.reply_to,
           CASE WHEN t.refusal IS NULL THEN t.status ELSE 'failed' END,
           t.refusal,
           CASE t.refusal WHEN :reengagement_code THEN :reengagement_message
                          WHEN :rate_limited_code THEN :rate_limited_message END,
           CASE WHEN t.refusal IS NOT NULL THEN now() END,
           CASE WHEN t.status = 'sending' AND t.refusal IS NULL THEN :sync_attempt::int ELSE 0 END,
           CASE WHEN t.status = 'sending' AND t.refusal IS NULL THEN :sync_claim::bigint END,
           CASE WHEN t.status = 'queued' THEN now() END,
           CASE WHEN t.status = 'sending' AND t.refusal IS NULL
                THEN now() + make_interval(secs => t.lease_seconds) END,
           now() + make_interval(secs => t.max_age_seconds)
    FROM target t
    RETURNING messages.*,
        -- Only what gets an event needs its JSON (a sync send's first event is its outcome).
        CASE WHEN messages.status <> 'sending' THEN pigeon_message_json(messages) END AS resource
), appended AS (
    SELECT pigeon_append_events(
        array_agg(account_id ORDER BY account_id, id), array_agg('message.' || status ORDER BY account_id, id),
        array_agg(id ORDER BY account_id, id), array_agg(conversation_id ORDER BY account_id, id),
        array_agg(resource ORDER BY account_id, id))
    FROM m WHERE status <> 'sending'
)
SELECT {message_columns},
       coalesce(extract(epoch FROM slots.slot_at - clock_timestamp()), 0)::float8 AS send_delay_seconds
FROM m LEFT JOIN slots ON slots.message_id = m.id, appended;

-- name: idempotent_original
-- The message an idempotency key was first used for, with the request it came with.
SELECT k.request_hash, {message_columns}
FROM idempotency_keys k JOIN messages m ON m.id = k.message_id
WHERE k.account_id = :account_id AND k.key = :idempotency_key;

-- name: record_outcomes
-- Outcomes of sends (a batch: `sent` or `failed` each), each recorded only while its message is
-- still sending under the same claim (`claim`: the outbox's, or a sync send's), with its event.
-- Two outcomes for one message in a batch: one is recorded, `ordinal` says which. Messages are
-- locked in id order, so batches cannot deadlock on them.
WITH input AS (
    SELECT * FROM unnest(
        :message_ids::uuid[], :account_ids::uuid[], :claims::bigint[], :statuses::text[],
        :wa_message_ids::text[], :error_codes::text[], :error_messages::text[]
    ) WITH ORDINALITY AS i(message_id, account_id, claim, status, wa_message_id, error_code, error_message, ordinal)
), m AS (
    UPDATE messages AS msg
    SET status = i.status, updated_at = now(), lease_expires_at = NULL,
        wa_message_id = CASE WHEN i.status = 'sent' THEN i.wa_message_id ELSE msg.wa_message_id END,
        sent_at = CASE WHEN i.status = 'sent' THEN now() ELSE msg.sent_at END,
        error_code = CASE WHEN i.status = 'failed' THEN i.error_code ELSE msg.error_code END,
        error_message = CASE WHEN i.status = 'failed' THEN i.error_message ELSE msg.error_message END,
        failed_at = CASE WHEN i.status = 'failed' THEN now() ELSE msg.failed_at END
    FROM (SELECT * FROM input ORDER BY message_id) AS i
    -- `IS TRUE` keeps the generic plan on the primary key: `status = 'sending'` alone would
    -- match the partial lease index, which holds every message in flight.
    WHERE msg.id = i.message_id AND msg.account_id = i.account_id AND (msg.status = 'sending') IS TRUE
      AND msg.claim = i.claim
    RETURNING msg.*, pigeon_message_json(msg) AS resource, i.ordinal
), appended AS (
    SELECT pigeon_append_events(
        array_agg(account_id ORDER BY account_id, id), array_agg('message.' || status ORDER BY account_id, id),
        array_agg(id ORDER BY account_id, id), array_agg(conversation_id ORDER BY account_id, id),
        array_agg(resource ORDER BY account_id, id))
    FROM m
)
SELECT {message_columns}, m.ordinal
FROM m, appended;
