-- name: insert_endpoint
-- A new endpoint of an account, delivering the events after the newest one; none while the
-- account has `max_endpoints` already.
INSERT INTO webhook_endpoints (id, account_id, url, description, event_types, secret, last_event_id)
SELECT :id, :account_id, :url, :description, :event_types, :secret,
       coalesce((SELECT last_id FROM event_counters WHERE account_id = :account_id), 0)
WHERE (SELECT count(*) FROM webhook_endpoints WHERE account_id = :account_id) < :max_endpoints
RETURNING {webhook_endpoint_columns};

-- name: list_endpoints
-- An account's endpoints, oldest first.
SELECT {webhook_endpoint_columns} FROM webhook_endpoints
WHERE account_id = :account_id
ORDER BY created_at, id;

-- name: get_endpoint
-- One endpoint of an account.
SELECT {webhook_endpoint_columns} FROM webhook_endpoints WHERE id = :id AND account_id = :account_id;

-- name: update_endpoint
-- Changes an endpoint (a NULL keeps that field) and stops a worker's run of it as it was.
-- Enabling it, or a new URL, starts afresh from its cursor: no failures counted, due now.
UPDATE webhook_endpoints e
SET url = coalesce(c.new_url, e.url),
    event_types = coalesce(c.new_event_types, e.event_types),
    description = coalesce(c.new_description, e.description),
    enabled = coalesce(c.new_enabled, e.enabled),
    disabled_reason = CASE WHEN c.new_enabled THEN NULL
                           WHEN NOT c.new_enabled AND e.enabled THEN 'by_request'
                           ELSE e.disabled_reason END,
    failures = CASE WHEN c.fresh_start THEN 0 ELSE e.failures END,
    failing_since = CASE WHEN c.fresh_start THEN NULL ELSE e.failing_since END,
    next_attempt_at = now(),
    generation = e.generation + 1, lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
FROM (SELECT u.*, coalesce((u.new_enabled AND NOT w.enabled) OR u.new_url <> w.url, false) AS fresh_start
      FROM (SELECT :url::text AS new_url, :event_types::text[] AS new_event_types,
                   :description::text AS new_description, :enabled::bool AS new_enabled) u,
           webhook_endpoints w
      WHERE w.id = :id) c
WHERE e.id = :id AND e.account_id = :account_id
RETURNING {webhook_endpoint_columns};

-- name: delete_endpoint
-- Deletes an endpoint and its attempts; its id if it was the account's.
DELETE FROM webhook_endpoints WHERE id = :id AND account_id = :account_id RETURNING id;

-- name: rotate_secret
-- A new signing secret; the old one still signs (beside it) for `grace_seconds`.
UPDATE webhook_endpoints
SET previous_secret = secret, previous_secret_until = now() + make_interval(secs => :grace_seconds),
    secret = :secret, generation = generation + 1, lease_owner = NULL, lease_expires_at = NULL,
    updated_at = now()
WHERE id = :id AND account_id = :account_id
RETURNING {webhook_endpoint_columns};

-- name: replay
-- Every event after `since_event_id` is delivered again (and those before it stay as they
-- were): the cursor moves back, and nothing after it counts as done.
UPDATE webhook_endpoints
SET last_event_id = least(last_event_id, :since_event_id),
    done_ids = ARRAY(SELECT d FROM unnest(done_ids) AS d WHERE d <= :since_event_id ORDER BY d),
    next_attempt_at = now(), generation = generation + 1, lease_owner = NULL, lease_expires_at = NULL,
    updated_at = now()
WHERE id = :id AND account_id = :account_id
RETURNING {webhook_endpoint_columns};

-- name: signing_secrets
-- The secrets an endpoint's deliveries are signed with: its own, and the one it replaced
-- while that one's grace period lasts.
SELECT url, secret, CASE WHEN previous_secret_until > now() THEN previous_secret END AS previous_secret
FROM webhook_endpoints WHERE id = :id AND account_id = :account_id;

-- name: claim_endpoints
-- Enabled endpoints that are due, whose account has events past their cursor and that no
-- worker holds: each taken by `owner` for `lease_seconds` (renewed while it runs).
UPDATE webhook_endpoints e
SET lease_owner = :owner, lease_expires_at = now() + make_interval(secs => :lease_seconds)
FROM (SELECT w.id FROM webhook_endpoints w
      JOIN event_counters c ON c.account_id = w.account_id
      WHERE w.enabled AND w.next_attempt_at <= now()
        AND (w.lease_expires_at IS NULL OR w.lease_expires_at < now())
        AND c.last_id > w.last_event_id
      ORDER BY w.next_attempt_at
      LIMIT :limit
      FOR UPDATE OF w SKIP LOCKED) AS due
WHERE e.id = due.id
RETURNING e.id, e.account_id, e.url, e.event_types, e.secret,
          CASE WHEN e.previous_secret_until > now() THEN e.previous_secret END AS previous_secret,
          e.last_event_id, e.done_ids, e.failures,
          extract(epoch FROM now() - e.failing_since)::float8 AS failing_for_seconds, e.generation;

-- name: events_to_deliver
-- An account's events after an id, in id order, with what deliveries need of them.
SELECT id, type, conversation_id, data::text AS data, created_at FROM events
WHERE account_id = :account_id AND id > :after_id
ORDER BY id
LIMIT :limit;

-- name: record_progress
-- A run's progress, while its claim (`owner`, `generation`) holds: the cursor, the failures in
-- a row (since when), when the endpoint is due again; its lease renewed, or given up
-- (`release`). Its round's attempts (one row per array element) are logged whether the claim
-- holds or not, while the endpoint exists. Its id if the claim held.
WITH endpoint AS (
    -- Locked first (the update below then works on it): a delete committing meanwhile would
    -- break the attempts' foreign key. (A row locked after this statement updated it would
    -- be skipped.)
    SELECT id, generation = :generation AND lease_owner = :owner AS held
    FROM webhook_endpoints WHERE id = :id
    FOR NO KEY UPDATE
), logged AS (
    INSERT INTO {attempt_columns}
    SELECT endpoint.id, a.* FROM endpoint, {attempt_rows}
), progress AS (
    UPDATE webhook_endpoints w
    SET last_event_id = :last_event_id, done_ids = :done_ids, failures = :failures,
        failing_since = CASE WHEN :failures = 0 THEN NULL ELSE coalesce(w.failing_since, now()) END,
        next_attempt_at = now() + make_interval(secs => :delay_seconds),
        lease_owner = CASE WHEN :release THEN NULL ELSE w.lease_owner END,
        lease_expires_at = CASE WHEN :release THEN NULL
                                ELSE now() + make_interval(secs => :lease_seconds) END
    FROM endpoint
    WHERE w.id = endpoint.id AND endpoint.held
    RETURNING w.id
)
SELECT id FROM progress;

-- name: disable_endpoint
-- An endpoint disabled by its deliveries (`reason`: gone, failing), unless changed since
-- (`generation`); a webhook_endpoint.disabled event tells the account.
WITH e AS (
    UPDATE webhook_endpoints
    SET enabled = false, disabled_reason = :reason, lease_owner = NULL, lease_expires_at = NULL,
        updated_at = now()
    WHERE id = :id AND generation = :generation AND enabled
    RETURNING *
), appended AS (
    SELECT pigeon_append_events(
        array_agg(e.account_id), array_agg('webhook_endpoint.disabled'::text), array_agg(NULL::uuid),
        array_agg(NULL::uuid),
        array_agg(jsonb_build_object(
            'id', e.id, 'url', e.url, 'events', e.event_types, 'description', e.description,
            'enabled', e.enabled, 'disabled_reason', e.disabled_reason, 'last_event_id', e.last_event_id,
            'failures', e.failures, 'failing_since', pigeon_ts(e.failing_since),
            'next_attempt_at', NULL, 'created_at', pigeon_ts(e.created_at),
            'updated_at', pigeon_ts(e.updated_at))))
    FROM e
)
SELECT e.id FROM e, appended;

-- name: log_attempts
-- Attempts of an endpoint (one row per array element; a test ping's), while it exists.
WITH endpoint AS (
    SELECT id FROM webhook_endpoints WHERE id = :id FOR KEY SHARE
)
INSERT INTO {attempt_columns}
SELECT endpoint.id, a.* FROM endpoint, {attempt_rows};

-- name: list_attempts
-- An account endpoint's attempts before an attempt id, newest first; only the succeeded or
-- only the failed ones when `succeeded` is not NULL.
SELECT a.id, a.event_id, a.event_type, a.webhook_id, a.attempted_at, a.http_status, a.latency_ms,
       a.error, a.succeeded
FROM webhook_attempts a JOIN webhook_endpoints w ON w.id = a.endpoint_id
WHERE a.endpoint_id = :endpoint_id AND w.account_id = :account_id AND a.id < :before_id
  AND (:succeeded::bool IS NULL OR a.succeeded = :succeeded::bool)
ORDER BY a.id DESC
LIMIT :limit;

-- name: delete_old_attempts
-- Attempts older than the retention (at most `limit` of them); how many.
WITH old AS (
    DELETE FROM webhook_attempts
    WHERE id IN (SELECT id FROM webhook_attempts
                 WHERE attempted_at < now() - make_interval(secs => :retention_seconds)
                 LIMIT :limit)
    RETURNING 1
)
SELECT count(*) AS deleted FROM old;
