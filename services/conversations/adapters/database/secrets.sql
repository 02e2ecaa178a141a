-- name: stored_secrets
-- Every value kept encrypted at rest, with its row and column: what `reencrypt` goes through.
SELECT 'accounts.access_token' AS place, id, access_token AS stored FROM accounts
UNION ALL
SELECT 'accounts.app_secret', id, app_secret FROM accounts
UNION ALL
SELECT 'webhook_endpoints.secret', id, secret FROM webhook_endpoints
UNION ALL
SELECT 'webhook_endpoints.previous_secret', id, previous_secret FROM webhook_endpoints
WHERE previous_secret IS NOT NULL;

-- name: replace_access_token
-- The account's access token re-encrypted, unless it changed since it was read.
UPDATE accounts SET access_token = :new WHERE id = :id AND access_token = :old RETURNING id;

-- name: replace_app_secret
-- The account's app secret re-encrypted, unless it changed since it was read.
UPDATE accounts SET app_secret = :new WHERE id = :id AND app_secret = :old RETURNING id;

-- name: replace_endpoint_secret
-- The endpoint's signing secret re-encrypted, unless it changed (a rotation) since it was read.
UPDATE webhook_endpoints SET secret = :new WHERE id = :id AND secret = :old RETURNING id;

-- name: replace_endpoint_previous_secret
-- The endpoint's previous signing secret re-encrypted, unless it changed since it was read.
UPDATE webhook_endpoints SET previous_secret = :new WHERE id = :id AND previous_secret = :old RETURNING id;
