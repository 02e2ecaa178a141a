-- name: ping
-- Whether PostgreSQL answers (the health check).
SELECT 1;

-- name: authenticate
-- The account and scopes of an API key (by the key's SHA-256), unless revoked.
SELECT account_id, scopes FROM api_keys WHERE key_hash = :key_hash AND revoked_at IS NULL;

-- name: load_account
-- What sending needs to know about an account.
SELECT id, phone_number_id, access_token, messages_per_second FROM accounts WHERE id = :account_id;

-- name: load_conversation_ref
-- What sending needs to know about a conversation of the account.
SELECT c.id, c.account_id, k.wa_id AS contact_wa_id, k.user_id AS contact_user_id, c.last_inbound_at
FROM conversations c JOIN contacts k ON k.id = c.contact_id
WHERE c.id = :conversation_id AND c.account_id = :account_id;

-- name: open_conversation_with_user
-- The conversation with a contact known by its BSUID, found or opened (as open_conversation).
WITH contact AS (
    INSERT INTO contacts (account_id, user_id) VALUES (:account_id, :user_id)
    ON CONFLICT (account_id, user_id) WHERE user_id IS NOT NULL DO UPDATE SET user_id = EXCLUDED.user_id
    RETURNING id, wa_id, user_id
), conversation AS (
    INSERT INTO conversations (account_id, contact_id)
    SELECT :account_id, contact.id FROM contact
    ON CONFLICT (account_id, contact_id) DO UPDATE SET contact_id = EXCLUDED.contact_id
    RETURNING id, account_id, contact_id, last_inbound_at
)
SELECT conversation.id, conversation.account_id, contact.wa_id AS contact_wa_id,
       contact.user_id AS contact_user_id, conversation.last_inbound_at
FROM conversation JOIN contact ON contact.id = conversation.contact_id;

-- name: open_conversation
-- The conversation with a contact, found or opened (the no-op DO UPDATEs make RETURNING yield
-- existing rows too).
WITH contact AS (
    INSERT INTO contacts (account_id, wa_id) VALUES (:account_id, :wa_id)
    ON CONFLICT (account_id, wa_id) WHERE wa_id IS NOT NULL DO UPDATE SET wa_id = EXCLUDED.wa_id
    RETURNING id, wa_id, user_id
), conversation AS (
    INSERT INTO conversations (account_id, contact_id)
    SELECT :account_id, contact.id FROM contact
    ON CONFLICT (account_id, contact_id) DO UPDATE SET contact_id = EXCLUDED.contact_id
    RETURNING id, account_id, contact_id, last_inbound_at
)
SELECT conversation.id, conversation.account_id, contact.wa_id AS contact_wa_id,
       contact.user_id AS contact_user_id, conversation.last_inbound_at
FROM conversation JOIN contact ON contact.id = conversation.contact_id;
