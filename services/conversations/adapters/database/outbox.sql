-- name: due_accounts
-- The accounts with due messages, a free pacing slot within the horizon and no pause, after
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
  AND (SELECT p.next_slot_at <= now() + make_interval(secs => :horizon_seconds)
              AND (p.paused_until IS NULL OR p.paused_until <= now())
       FROM send_pacing p WHERE p.account_id = d.account_id)
LIMIT :max_accounts;

-- name: lock_pacing
-- The accounts' pacing rows, locked in account order (so that concurrent claims never deadlock),
-- with any pause (domain/pacing.py: none while it lasts, one probe once it has passed).
SELECT p.account_id, greatest(p.next_slot_at, now()) AS next_free, now() AS now, a.messages_per_second,
       p.paused_until
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
-- Each account's next free slot, past the slots a claim handed out; a paused account's probe
-- holds the pause for its lease (no second probe meanwhile, and another after it if this
-- replica dies).
UPDATE send_pacing p
SET next_slot_at = v.next_slot_at,
    paused_until = CASE WHEN v.probe THEN now() + make_interval(secs => :lease_seconds) ELSE p.paused_until END
FROM unnest(:account_ids::uuid[], :next_slots::timestamptz[], :probes::bool[]) AS v(account_id, next_slot_at, probe)
WHERE p.account_id = v.account_id;

-- name: requeue
-- A retryable failure: back to the queue until next_attempt_at, under the same claim only; the
-- attempt given back when the account failed, not the message (an account pause).
-- No event: clients see the message queued until it is sent or fails for good.
UPDATE messages
SET status = 'queued', next_attempt_at = now() + make_interval(secs => :delay_seconds),
    attempts = attempts - :attempts_given_back,
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
-- token expired): no claim takes its messages for `delay_seconds` (due_accounts, lock_pacing).
UPDATE send_pacing SET paused_until = now() + make_interval(secs => :delay_seconds)
WHERE account_id = :account_id;

-- name: end_account_pause
-- WhatsApp took the probe of a paused account (or answered it for reasons of its own): its
-- queued messages go on. Whether there was a pause to end.
UPDATE send_pacing SET paused_until = NULL WHERE account_id = :account_id AND paused_until IS NOT NULL
RETURNING account_id;

-- name: pass_probe
-- A paused account's probe got no answer from WhatsApp (expired or late before the call, a
-- timeout, no connection): the next claim takes another at once rather than after the probe's
-- lease. Only while that lease holds the pause, not a new pause (ACCOUNT_PAUSE_SECONDS, longer).
UPDATE send_pacing SET paused_until = now()
WHERE account_id = :account_id AND paused_until > now()
  AND paused_until <= now() + make_interval(secs => :lease_seconds);

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
-- How many messages are queued, how old the oldest is (seconds), and how many accounts are
-- paused (a probe's hold included).
SELECT count(*), coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8,
       (SELECT count(*) FROM send_pacing WHERE paused_until > now())
FROM messages WHERE status = 'queued';

-- name: next_due
-- Seconds until the earliest queued message is due (negative: overdue), a paused account's no
-- sooner than its pause ends; none without one.
SELECT extract(epoch FROM min(greatest(m.next_attempt_at, p.paused_until)) - now())::float8
FROM messages m JOIN send_pacing p ON p.account_id = m.account_id
WHERE m.status = 'queued';
