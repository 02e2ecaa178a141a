-- name: event_logs
-- The accounts whose oldest event is past the retention: its id, and the first id an enabled
-- outbound webhook endpoint has yet to deliver (the account's next id when none has).
SELECT c.account_id, o.id AS oldest_id,
       coalesce((SELECT min(w.last_event_id) + 1 FROM webhook_endpoints w
                 WHERE w.account_id = c.account_id AND w.enabled), c.last_id + 1) AS before_id
FROM event_counters c
CROSS JOIN LATERAL (SELECT e.id, e.created_at FROM events e
                    WHERE e.account_id = c.account_id ORDER BY e.id LIMIT 1) o
WHERE o.created_at < now() - make_interval(secs => :keep_seconds);

-- name: delete_events
-- One batch of an account's oldest events: the next `batch_size` after `after_id` (and before
-- `before_id`) read in id order, deleted up to the first within the retention, so that what is
-- kept stays a log without gaps; rows another replica holds are skipped. How many went, the
-- last id deleted, and whether the batch ended the account's old events (or its batch).
WITH next AS (
    SELECT id, created_at < now() - make_interval(secs => :keep_seconds) AS old FROM events
    WHERE account_id = :account_id AND id > :after_id AND id < :before_id
    ORDER BY id
    LIMIT :batch_size
    FOR UPDATE SKIP LOCKED
), doomed AS (
    SELECT id FROM next WHERE id < ALL (SELECT id FROM next WHERE NOT old)
), deleted AS (
    DELETE FROM events e USING doomed d
    WHERE e.account_id = :account_id AND e.id = d.id
    RETURNING e.id
)
SELECT (SELECT count(*) FROM deleted), coalesce((SELECT max(id) FROM doomed), :after_id),
       (SELECT count(*) FROM doomed) < :batch_size;

-- name: delete_notifications
-- One batch of webhook notifications: the next `batch_size` after `after_id` read in id order
-- (ids rise with received_at) up to the first within the retention, and those of them in
-- `states` deleted (never `received` ones: still to apply; their locks are not taken). How many
-- went, the last id read, and whether the batch reached the notifications within the retention.
WITH next AS (
    SELECT id, state, received_at < now() - make_interval(secs => :keep_seconds) AS old
    FROM webhook_notifications
    WHERE id > :after_id
    ORDER BY id
    LIMIT :batch_size
), old AS (
    SELECT id, state FROM next WHERE id < ALL (SELECT id FROM next WHERE NOT old)
), deleted AS (
    DELETE FROM webhook_notifications n USING old o
    WHERE n.id = o.id AND o.state = ANY(:states::text[])
    RETURNING n.id
)
SELECT (SELECT count(*) FROM deleted), coalesce((SELECT max(id) FROM old), :after_id),
       (SELECT count(*) FROM old) < :batch_size;

-- name: delete_pending_statuses
-- One batch of statuses kept for a message pigeon never came to know; how many. The table
-- holds only those (the matched ones go at once), so scanning it is scanning little.
WITH deleted AS (
    DELETE FROM pending_statuses
    WHERE ctid = ANY(ARRAY(
        SELECT ctid FROM pending_statuses
        WHERE received_at < now() - make_interval(secs => :keep_seconds)
        LIMIT :batch_size
        FOR UPDATE SKIP LOCKED))
    RETURNING 1
)
SELECT count(*) FROM deleted;

-- name: delete_idempotency_keys
-- One batch of idempotency keys older than they must be kept, oldest first (by their index on
-- created_at); how many.
WITH deleted AS (
    DELETE FROM idempotency_keys
    WHERE ctid = ANY(ARRAY(
        SELECT ctid FROM idempotency_keys
        WHERE created_at < now() - make_interval(secs => :keep_seconds)
        ORDER BY created_at
        LIMIT :batch_size
        FOR UPDATE SKIP LOCKED))
    RETURNING 1
)
SELECT count(*) FROM deleted;
