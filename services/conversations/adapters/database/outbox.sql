-- name: due_accounts
-- The accounts with due messages and a free pacing slot within the horizon, after
-- :after_account then wrapping around, so that when few workers are free every account gets
-- its turn. A loose index scan (one probe per account): one account's backlog cannot hide the
-- others. The pacing check is a subquery per account, not a join: it keeps the scans' order,
-- and LIMIT stops them as soon as enough accounts are found.
WITH RECURSIVE due(account_id) AS (
    (SELECT account_id FROM messages
     WHERE status = 'queued' AND next_attempt_at <= now() AND account_id > :after_account
     ORDER BY account_id LIMIT 1)
    UNION ALL
    SELECT (SELECT m.account_id FROM messages m
            WHERE m.status = 'queued' AND m.next_attempt_at <= now() AND m.account_id > due.account_id
            ORDER BY m.account_id LIMIT 1)
    FROM due WHERE due.account_id IS NOT NULL
), wrapped(account_id) AS (
    (SELECT account_id FROM messages
     WHERE status = 'queued' AND next_attempt_at <= now() AND account_id <= :after_account
     ORDER BY account_id LIMIT 1)
    UNION ALL
    SELECT (SELECT m.account_id FROM messages m
            WHERE m.status = 'queued' AND m.next_attempt_at <= now()
              AND m.account_id > wrapped.account_id AND m.account_id <= :after_account
            ORDER BY m.account_id LIMIT 1)
    FROM wrapped WHERE wrapped.account_id IS NOT NULL
)
SELECT d.account_id
FROM (SELECT account_id FROM due UNION ALL SELECT account_id FROM wrapped) AS d
WHERE d.account_id IS NOT NULL
  AND (SELECT p.next_slot_at FROM send_pacing p WHERE p.account_id = d.account_id)
      <= now() + make_interval(secs => :horizon_seconds)
LIMIT :max_accounts;

-- name: lock_pacing
-- The accounts' pacing rows, locked in account order (so that concurrent claims never deadlock).
SELECT p.account_id, greatest(p.next_slot_at, now()) AS next_free, now() AS now, a.messages_per_second
FROM send_pacing p JOIN accounts a ON a.id = p.account_id
WHERE p.account_id = ANY(:account_ids::uuid[])
ORDER BY p.account_id
FOR UPDATE OF p;

-- name: claim
-- Up to `counts` due messages of each account, oldest due first, taken for sending under a lease
-- and a new claim id (never one the message had before: every write under the claim names it).
UPDATE messages m
SET status = 'sending', attempts = m.attempts + 1, claim = nextval('message_claims'), next_attempt_at = NULL,
    lease_expires_at = now() + make_interval(secs => :lease_seconds), updated_at = now()
FROM (
    SELECT picked.id
    FROM unnest(:account_ids::uuid[], :counts::int[]) AS g(account_id, n)
    CROSS JOIN LATERAL (
        SELECT id FROM messages
        WHERE account_id = g.account_id AND status = 'queued' AND next_attempt_at <= now()
        ORDER BY next_attempt_at
        LIMIT g.n
        FOR UPDATE SKIP LOCKED
    ) picked
) claimed
WHERE m.id = claimed.id
RETURNING m.id, m.account_id, m.contact_wa_id, m.contact_user_id, m.type, m.body::text AS body, m.reply_to_wa_message_id,
          m.attempts, m.claim, m.expires_at, m.created_at, now() AS now, clock_timestamp() AS answered_at;

-- name: advance_pacing
-- Each account's next free slot, past the slots a claim handed out.
UPDATE send_pacing p SET next_slot_at = v.next_slot_at
FROM unnest(:account_ids::uuid[], :next_slots::timestamptz[]) AS v(account_id, next_slot_at)
WHERE p.account_id = v.account_id;

-- name: requeue
-- A retryable failure: back to the queue until next_attempt_at, under the same claim only.
-- No event: clients see the message queued until it is sent or fails for good.
UPDATE messages
SET status = 'queued', next_attempt_at = now() + make_interval(secs => :delay_seconds),
    lease_expires_at = NULL, error_code = :error_code, error_message = :error_message, updated_at = now()
WHERE id = :message_id AND account_id = :account_id AND status = 'sending' AND claim = :claim
RETURNING id;

-- name: pause_recipient
-- After 131056 (pair rate limit): the recipient's queued messages wait too, each one pause
-- after the one before it (oldest first).
UPDATE messages m
SET next_attempt_at = greatest(m.next_attempt_at, now() + make_interval(secs => :delay_seconds * q.turn))
FROM (
    SELECT id, row_number() OVER (ORDER BY created_at, id) AS turn FROM messages
    WHERE account_id = :account_id AND status = 'queued'
      -- The recipient as the send named them: by phone, or by BSUID when it had no phone.
      AND (contact_wa_id = :contact_wa_id
           OR (:contact_wa_id::text IS NULL AND contact_user_id = :contact_user_id))
) AS q
WHERE m.id = q.id AND m.status = 'queued';

-- name: pause_account
-- After a failure that stops every send of the account until someone mends it (190: the access
-- token expired): the message back to the queue, its attempt given back (the account failed,
-- not the message), and every queued message of the account waits as long, marked with the
-- failure, so that a change to the account (admin.sql's resume_paused_sends) sends them at
-- once. Rows a failure of the same pause held back moments ago are not written again. Whether
-- the message was requeued (not when its claim was taken over), and how many others wait.
WITH requeued AS (
    UPDATE messages
    SET status = 'queued', next_attempt_at = now() + make_interval(secs => :delay_seconds),
        lease_expires_at = NULL, attempts = attempts - 1, error_code = :error_code,
        error_message = :error_message, updated_at = now()
    WHERE id = :message_id AND account_id = :account_id AND status = 'sending' AND claim = :claim
    RETURNING id
), held AS (
    UPDATE messages
    SET next_attempt_at = now() + make_interval(secs => :delay_seconds), error_code = :error_code,
        error_message = :error_message, updated_at = now()
    WHERE account_id = :account_id AND status = 'queued'
      AND next_attempt_at < now() + make_interval(secs => :delay_seconds / 2)
    RETURNING id
)
SELECT EXISTS (SELECT FROM requeued) AS requeued, (SELECT count(*) FROM held) AS held;

-- name: requeue_expired_leases
-- Claims whose replica died (or stalled past its lease) go back to the queue, due after the
-- reconcile delay: WhatsApp may have the message, and a status webhook carrying pigeon's id
-- (biz_opaque_callback_data) takes it out of the queue as sent meanwhile.
WITH requeued AS (
    UPDATE messages
    SET status = 'queued', next_attempt_at = now() + make_interval(secs => :delay_seconds),
        lease_expires_at = NULL, updated_at = now()
    WHERE status = 'sending' AND lease_expires_at < now()
    RETURNING 1
)
SELECT count(*) FROM requeued;

-- name: release
-- Claims this replica could not finish (shutdown) or woke too late for (pacing) go back, the
-- attempt not counted: only those still under the same claim, never a claim taken over.
UPDATE messages m
SET status = 'queued', next_attempt_at = now(), lease_expires_at = NULL, attempts = m.attempts - 1
FROM unnest(:message_ids::uuid[], :claims::bigint[]) AS c(id, claim)
WHERE m.id = c.id AND m.status = 'sending' AND m.claim = c.claim;

-- name: queue_depth
-- How many messages are queued, and how old the oldest is (seconds).
SELECT count(*), coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8
FROM messages WHERE status = 'queued';

-- name: next_due
-- Seconds until the earliest queued message is due (negative: overdue); none without one.
SELECT extract(epoch FROM min(next_attempt_at) - now())::float8 FROM messages WHERE status = 'queued';
