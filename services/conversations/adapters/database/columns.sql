-- name: message_columns
-- What rows.message reads, of a messages row `m`.
m.id, m.account_id, m.conversation_id, m.direction, m.contact_wa_id, m.type, m.body::text AS body,
m.reply_to_wa_message_id, m.status, m.wa_message_id, m.error_code, m.error_message,
m.created_at, m.sent_at, m.delivered_at, m.read_at, m.failed_at,
m.media::text AS media

-- name: conversation_columns
-- What rows.conversation reads, of a conversation `c` and its contact `k` (its window as of now()).
c.id, c.account_id, k.wa_id AS contact_wa_id, k.profile_name AS contact_name, c.created_at,
c.last_message_at, c.last_inbound_at, c.last_activity_at, c.unread_count, c.read_receipt::text AS read_receipt,
k.user_id AS contact_user_id, k.username AS contact_username, k.marketing_opt_out AS contact_marketing_opt_out,
pigeon_window_expires_at(c.last_inbound_at) AS window_expires_at,
coalesce(pigeon_window_expires_at(c.last_inbound_at) >= now(), false) AS can_send_free_form,
pigeon_conversation_status(c.status, c.snoozed_until) AS status,
CASE WHEN pigeon_conversation_status(c.status, c.snoozed_until) = 'snoozed' THEN c.snoozed_until END
    AS snoozed_until,
c.assignee, c.labels, c.version

-- name: conversation_filters
-- What every list of conversations keeps of a conversation `c`: those after the page's last
-- (activity, id) whose window closes before `window_expires_before` and, when
-- `can_send_free_form` is false, before now (no window counts as closed since ever).
(:after_time::timestamptz IS NULL
 OR (c.last_activity_at, c.id) < (:after_time::timestamptz, :after_id::uuid))
AND coalesce(pigeon_window_expires_at(c.last_inbound_at), '-infinity'::timestamptz)
    < least(:window_expires_before::timestamptz,
            CASE WHEN NOT :can_send_free_form::bool THEN now() END, 'infinity'::timestamptz)

-- name: inbox_filters
-- What the lists an inbox filter leads keep of a conversation `c` besides (pigeon_inbox_keeps):
-- `status` as stored, less a snooze that ran out; `assignee` ('' for none); `label`; `unread`
-- (NULL, false: any).
pigeon_inbox_keeps(c.status, c.snoozed_until, c.assignee, c.labels, c.unread_count,
                   :status::text, :assignee::text, :label::text, :unread::bool)

-- name: window_lower_bound
-- The lower bound of a window filter, of a conversation `c`: its window closes at or after
-- `window_expires_after` and, when `can_send_free_form` is true, now (NULL: no bound); written
-- as conversations_account_window_idx's expression, for the index to serve it.
coalesce(pigeon_window_expires_at(c.last_inbound_at), '-infinity'::timestamptz)
    >= greatest(:window_expires_after::timestamptz,
                CASE WHEN :can_send_free_form::bool THEN now() END, '-infinity'::timestamptz)

-- name: window_activity_bound
-- What window_lower_bound implies of a conversation `c`'s activity: its customer wrote no
-- earlier than the window's length before the bound (pigeon_window_opened_at, migration 0021),
-- and that message was activity too; for a walk of conversations_account_activity_idx to stop at.
c.last_activity_at >= pigeon_window_opened_at(
    greatest(:window_expires_after::timestamptz,
             CASE WHEN :can_send_free_form::bool THEN now() END, '-infinity'::timestamptz))

-- name: search_words
-- A message `m` whose text body or caption has the words of `q` (websearch syntax), in its
-- account's words (migration 0020).
pigeon_message_words(m.account_id, m.body) @@ pigeon_message_query(:account_id, :q::text)

-- name: search_range
-- A message `m` of a search's range: before the sort key (`before_time`, `before_id`), at or
-- after `since` (NULL: no bound); written for an index on (..., created_at DESC, id DESC) to
-- serve it whatever the values.
(m.created_at, m.id) < (coalesce(:before_time::timestamptz, 'infinity'::timestamptz),
                        coalesce(:before_id::uuid, 'ffffffff-ffff-ffff-ffff-ffffffffffff'::uuid))
AND m.created_at >= coalesce(:since::timestamptz, '-infinity'::timestamptz)

-- name: webhook_endpoint_columns
-- What the webhook endpoints' repository reads as an endpoint, of a webhook_endpoints row.
id, url, event_types, description, enabled, disabled_reason, last_event_id, failures,
failing_since, next_attempt_at, created_at, updated_at

-- name: attempt_columns
-- The columns of webhook_attempts a statement logs an attempt in.
webhook_attempts (endpoint_id, event_id, event_type, webhook_id, attempted_at, http_status, latency_ms,
                  error, succeeded)

-- name: attempt_rows
-- The attempts a statement logs, from its array parameters (one row per element), as `a`.
unnest(:event_ids::bigint[], :event_types::text[], :webhook_ids::text[], :attempted_at::timestamptz[],
       :http_statuses::int[], :latencies_ms::float8[], :errors::text[], :succeeded::bool[])
    AS a(event_id, event_type, webhook_id, attempted_at, http_status, latency_ms, error, succeeded)

-- name: admin_account_columns
-- What administration reads as an account, of an accounts row `a`: no token, no secret.
a.id, a.name, a.phone_number_id, a.display_phone_number, a.waba_id, a.messages_per_second, a.created_at

-- name: active_api_keys
-- How many keys of the account `a` work.
(SELECT count(*) FROM api_keys k WHERE k.account_id = a.id AND k.revoked_at IS NULL)::int AS active_api_keys

-- name: api_key_columns
-- What administration reads as an API key, of an api_keys row: no hash.
id, account_id, key_prefix, scopes, created_at, revoked_at
