-- name: claim_template_syncs
-- Accounts whose template listing is due (with a WABA id), each claimed for a lease.
UPDATE template_syncs s SET due_at = now() + make_interval(secs => :lease_seconds)
FROM accounts a
WHERE a.id = s.account_id
  AND s.account_id IN (
      SELECT due.account_id FROM template_syncs due JOIN accounts owner ON owner.id = due.account_id
      WHERE due.due_at <= now() AND owner.waba_id <> ''
      ORDER BY due.due_at
      LIMIT :limit
      FOR UPDATE OF due SKIP LOCKED)
RETURNING s.account_id, a.waba_id, a.access_token;

-- name: replace_templates
-- An account's templates replaced by a listing (arrays, one element per template), the listing
-- recorded and due again later; replicas drop their cached copy.
WITH listed AS (
    SELECT * FROM unnest(:names::text[], :languages::text[], :whatsapp_ids::text[], :categories::text[],
                         :statuses::text[], :parameter_formats::text[], :components::jsonb[],
                         :parameter_counts::jsonb[])
        AS l(name, language, whatsapp_id, category, status, parameter_format, components, parameter_counts)
), removed AS (
    DELETE FROM templates t
    WHERE t.account_id = :account_id
      AND NOT EXISTS (SELECT 1 FROM listed l WHERE l.name = t.name AND l.language = t.language)
), upserted AS (
    INSERT INTO templates (account_id, name, language, whatsapp_id, category, status, parameter_format,
                           components, parameter_counts)
    SELECT :account_id, name, language, whatsapp_id, category, status, parameter_format, components,
           parameter_counts
    FROM listed
    ON CONFLICT (account_id, name, language) DO UPDATE
        SET whatsapp_id = EXCLUDED.whatsapp_id, category = EXCLUDED.category, status = EXCLUDED.status,
            parameter_format = EXCLUDED.parameter_format, components = EXCLUDED.components,
            parameter_counts = EXCLUDED.parameter_counts, updated_at = now()
        WHERE (templates.whatsapp_id, templates.category, templates.status, templates.parameter_format,
               templates.components)
              IS DISTINCT FROM (EXCLUDED.whatsapp_id, EXCLUDED.category, EXCLUDED.status,
                                EXCLUDED.parameter_format, EXCLUDED.components)
)
UPDATE template_syncs
SET synced_at = now(), failure = '', due_at = now() + make_interval(secs => :sync_every_seconds)
WHERE account_id = :account_id
RETURNING pg_notify('pigeon_cache', 'templates:' || account_id::text);

-- name: template_sync_failed
-- A listing that failed: why, and when to try again.
UPDATE template_syncs
SET failure = :failure, due_at = now() + make_interval(secs => :retry_seconds)
WHERE account_id = :account_id;

-- name: sync_templates_now
-- The account's listing due at once; the workers are woken.
UPDATE template_syncs SET due_at = now()
WHERE account_id = :account_id
RETURNING pg_notify('pigeon_templates', account_id::text);

-- name: account_templates
-- Whether the account's templates were ever listed, with every one of them (none: one row of NULLs).
SELECT s.synced_at IS NOT NULL AS synced, t.name, t.language, t.whatsapp_id, t.category, t.status,
       t.parameter_format, t.components, t.parameter_counts
FROM template_syncs s LEFT JOIN templates t ON t.account_id = s.account_id
WHERE s.account_id = :account_id;

-- name: list_templates
-- A page of the account's templates by (name, language), after the page's last, filtered.
SELECT name, language, whatsapp_id, category, status, parameter_format, components, parameter_counts,
       updated_at
FROM templates
WHERE account_id = :account_id
  AND (:status::text IS NULL OR status = :status::text)
  AND (:category::text IS NULL OR category = :category::text)
  AND (:name::text IS NULL OR name = :name::text)
  AND (:after_name::text IS NULL OR (name, language) > (:after_name::text, :after_language::text))
ORDER BY name, language
LIMIT :limit;

-- name: marketing_opt_out
-- Whether the conversation's contact asked WhatsApp to stop marketing messages.
SELECT k.marketing_opt_out
FROM conversations c JOIN contacts k ON k.id = c.contact_id
WHERE c.id = :conversation_id AND c.account_id = :account_id;

-- name: template_sync_state
-- When the account's templates were last listed, and why the last try failed.
SELECT synced_at, failure FROM template_syncs WHERE account_id = :account_id;
