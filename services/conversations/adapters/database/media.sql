-- name: claim_copies
-- Pending copies that are due, each taken for `lease_seconds` (due again then, should its
-- worker die) as one more attempt.
UPDATE media d
SET attempts = d.attempts + 1, next_attempt_at = now() + make_interval(secs => :lease_seconds)
FROM (SELECT id FROM media
      WHERE status = 'pending' AND next_attempt_at <= now()
      ORDER BY next_attempt_at
      LIMIT :limit
      FOR UPDATE SKIP LOCKED) AS due
WHERE d.id = due.id
RETURNING d.id, d.account_id, d.wa_media_id, d.attempts,
          greatest(extract(epoch FROM d.give_up_at - now()), 0)::float8 AS gives_up_in_seconds;

-- name: retry_copy
-- A copy that failed, due again after `delay_seconds`; only under its claim (`attempt`).
UPDATE media SET next_attempt_at = now() + make_interval(secs => :delay_seconds)
WHERE id = :id AND attempts = :attempt AND status = 'pending'
RETURNING id;

-- name: end_copy
-- A copy stored (with what was kept) or failed (why), under its claim (`attempt`); its
-- message shows it, and gets a media.stored or media.failed event.
WITH d AS (
    UPDATE media
    SET status = :status, size = :size, sha256 = :sha256,
        mime_type = coalesce(:mime_type, mime_type), failure_reason = :failure_reason,
        next_attempt_at = NULL, stored_at = CASE WHEN :status = 'stored' THEN now() END
    WHERE id = :id AND attempts = :attempt AND status = 'pending'
    RETURNING id, account_id, pigeon_media_json(media) AS resource
), m AS (
    UPDATE messages SET media = d.resource, updated_at = now()
    FROM d
    WHERE messages.media_id = d.id AND messages.account_id = d.account_id
    RETURNING messages.id, messages.account_id, messages.conversation_id,
              pigeon_message_json(messages) AS resource
), appended AS (
    SELECT pigeon_append_events(
        array_agg(account_id ORDER BY id), array_agg('media.' || :status ORDER BY id),
        array_agg(id ORDER BY id), array_agg(conversation_id ORDER BY id), array_agg(resource ORDER BY id))
    FROM m
)
SELECT d.id FROM d, appended;

-- name: get_media
-- One media file of an account.
SELECT id, status, mime_type, size, sha256, filename, caption, failure_reason
FROM media WHERE id = :id AND account_id = :account_id;

-- name: insert_upload
-- A file a client uploaded, already in the object store.
INSERT INTO media (id, account_id, origin, mime_type, size, sha256, filename, status, stored_at)
VALUES (:id, :account_id, 'upload', :mime_type, :size, :sha256, :filename, 'stored', now())
RETURNING id, status, mime_type, size, sha256, filename, caption, failure_reason;

-- name: upload_of
-- A stored file of an account for a send: what it is, and the id WhatsApp knows it by, while
-- WhatsApp keeps it for more than `margin_seconds` yet.
SELECT id, status, mime_type, size, sha256, filename, caption, failure_reason,
       CASE WHEN wa_upload_expires_at > now() + make_interval(secs => :margin_seconds)
            THEN wa_upload_id END AS wa_upload_id
FROM media WHERE id = :id AND account_id = :account_id;

-- name: remember_upload
-- The id WhatsApp gave a file just uploaded, good for `lifetime_seconds`.
UPDATE media
SET wa_upload_id = :wa_upload_id,
    wa_upload_expires_at = now() + make_interval(secs => :lifetime_seconds)
WHERE id = :id;

-- name: expired_files
-- Stored files kept longer than the retention, oldest first.
SELECT id, account_id FROM media
WHERE status = 'stored' AND stored_at < now() - make_interval(secs => :retention_seconds)
ORDER BY stored_at
LIMIT :limit;

-- name: mark_deleted
-- Files whose bytes go for the retention: deleted, as their messages' copies show.
WITH d AS (
    UPDATE media SET status = 'deleted', wa_upload_id = NULL, wa_upload_expires_at = NULL
    WHERE id = ANY(:ids::uuid[]) AND status = 'stored'
    RETURNING id, account_id, pigeon_media_json(media) AS resource
), m AS (
    UPDATE messages SET media = d.resource
    FROM d WHERE messages.media_id = d.id AND messages.account_id = d.account_id
)
SELECT id, account_id FROM d;

-- name: show_on_message
-- A message sent with a file of pigeon's points at it and shows it (both the account's).
UPDATE messages m SET media_id = d.id, media = pigeon_media_json(d)
FROM media d
WHERE m.id = :message_id AND m.account_id = :account_id AND d.id = :media_id AND d.account_id = :account_id;

-- name: pending_copies
-- How many copies wait (due or not), for the metrics.
SELECT count(*) AS pending FROM media WHERE status = 'pending';
