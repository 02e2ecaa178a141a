-- name: last_event_id
-- The account's newest event id, 0 before its first.
SELECT coalesce(max(last_id), 0) FROM event_counters WHERE account_id = :account_id;

-- name: events_after
-- The account's events after an id, in id order.
SELECT id, type, data::text AS data, created_at FROM events
WHERE account_id = :account_id AND id > :after_id
ORDER BY id
LIMIT :limit;
