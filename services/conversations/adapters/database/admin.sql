-- name: insert_account
-- A new account (its secrets as encrypted by the caller); none when an account has its phone
-- number already.
INSERT INTO accounts AS a (name, phone_number_id, display_phone_number, waba_id, access_token, app_secret,
                           messages_per_second)
VALUES (:name, :phone_number_id, :display_phone_number, :waba_id, :access_token, :app_secret,
        :messages_per_second)
ON CONFLICT (phone_number_id) DO NOTHING
RETURNING {admin_account_columns}, 0 AS active_api_keys;

-- name: list_accounts
-- Every account, oldest first.
SELECT {admin_account_columns}, {active_api_keys} FROM accounts a
ORDER BY a.created_at, a.id;

-- name: get_account
-- One account.
SELECT {admin_account_columns}, {active_api_keys} FROM accounts a WHERE a.id = :id;

-- name: update_account
-- Changes an account (a NULL keeps that field; secrets as encrypted by the caller). Its
-- triggers tell every replica's caches (pigeon_cache) and, for a new WABA, the template sync.
UPDATE accounts a
SET name = coalesce(:name::text, a.name),
    display_phone_number = coalesce(:display_phone_number::text, a.display_phone_number),
    waba_id = coalesce(:waba_id::text, a.waba_id),
    access_token = coalesce(:access_token::text, a.access_token),
    app_secret = coalesce(:app_secret::text, a.app_secret),
    messages_per_second = coalesce(:messages_per_second::int, a.messages_per_second)
WHERE a.id = :id
RETURNING {admin_account_columns}, {active_api_keys};

-- name: resume_paused_sends
-- After a change to the account: any pause of its queued sends ends (outbox.sql's pause_account),
-- and the outbox workers are woken (at commit) to claim them.
WITH resumed AS (
    UPDATE send_pacing SET paused_until = NULL WHERE account_id = :account_id AND paused_until IS NOT NULL
    RETURNING account_id
)
SELECT account_id, pg_notify('pigeon_outbox', '') FROM resumed;

-- name: insert_api_key
-- A new API key of an account, by its hash; none for an unknown account.
INSERT INTO api_keys (account_id, key_hash, key_prefix, scopes)
SELECT id, :key_hash, :key_prefix, :scopes FROM accounts WHERE id = :account_id
RETURNING {api_key_columns};

-- name: list_api_keys
-- API keys whose prefix starts with `prefix` (its LIKE wildcards taken literally), of one
-- account or of all (a NULL `account_id`), newest first.
SELECT {api_key_columns} FROM api_keys
WHERE key_prefix LIKE replace(replace(replace(:prefix, '\', '\\'), '%', '\%'), '_', '\_') || '%'
  AND (:account_id::uuid IS NULL OR account_id = :account_id::uuid)
ORDER BY created_at DESC, id DESC
LIMIT :limit;

-- name: revoke_api_key
-- Revokes a key, if it was not already (its first revocation time stays). Its trigger tells
-- every replica's cache (pigeon_cache).
UPDATE api_keys SET revoked_at = coalesce(revoked_at, now())
WHERE id = :id
RETURNING {api_key_columns};
