-- name: last_event_id
-- The account's newest event id, 0 before its first.
SELECT coalesce(max(last_id), 0) FROM event_counters WHERE account_id = :account_id;

-- name: events_after
-- A page of the account's events after an id, in id order: at most :limit, ending with the one whose data reaches :max_bytes (the first always, however large).
SELECT id, type, data, created_at FROM (
    SELECT id, type, data, created_at, sum(octet_length(data)) OVER (ORDER BY id) - octet_length(data) AS bytes_before
    FROM (
        SELECT id, type, data::text AS data, created_at FROM events
        WHERE account_id = :account_id AND id > :after_id
        ORDER BY id
        LIMIT :limit
    ) first_events
) page
WHERE bytes_before < :max_bytes
ORDER BY id;

-- name: first_kept_event_id
-- The account's oldest event still kept (retention cuts a prefix: none is missing after it);
-- its next event's id when none is kept.
SELECT coalesce((SELECT min(id) FROM events WHERE account_id = :account_id),
                (SELECT last_id + 1 FROM event_counters WHERE account_id = :account_id),
                1);
