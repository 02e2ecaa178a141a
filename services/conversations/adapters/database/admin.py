"""Administration's statements (`admin.sql`): accounts and API keys, written with their
secrets encrypted (the account's access token and app secret) or hashed (the API key)."""

import logging
from collections.abc import Sequence
from uuid import UUID

import asyncpg

from services.conversations.adapters.database.pool import StatementPool
from services.conversations.adapters.database.queries import Queries
from services.conversations.domain.admin import AccountChanges, AdminAccount, ApiKey, NewAccount
from services.shared.secrets_at_rest import ACCESS_TOKEN, APP_SECRET, SecretBox
from services.shared.vocabulary import ApiKeyScope

SQL = Queries("admin.sql")

log = logging.getLogger(__name__)


def _account(row: asyncpg.Record) -> AdminAccount:
    return AdminAccount(
        id=row["id"],
        name=row["name"],
        phone_number_id=row["phone_number_id"],
        display_phone_number=row["display_phone_number"],
        waba_id=row["waba_id"],
        messages_per_second=row["messages_per_second"],
        created_at=row["created_at"],
        active_api_keys=row["active_api_keys"],
    )


def _api_key(row: asyncpg.Record) -> ApiKey:
    return ApiKey(
        id=row["id"],
        account_id=row["account_id"],
        prefix=row["key_prefix"],
        scopes=tuple(ApiKeyScope(s) for s in row["scopes"]),
        created_at=row["created_at"],
        revoked_at=row["revoked_at"],
    )


class AdminStore:
    def __init__(self, pool: StatementPool, secrets: SecretBox) -> None:
        self.pool = pool
        self.secrets = secrets

    def _encrypted(self, column: str, value: str | None) -> str | None:
        return None if value is None else self.secrets.encrypt(column, value)

    async def insert_account(self, account: NewAccount) -> AdminAccount | None:
        """None when an account has the phone number already."""
        found = await self.pool.run(
            SQL.insert_account,
            name=account.name,
            phone_number_id=account.phone_number_id,
            display_phone_number=account.display_phone_number,
            waba_id=account.waba_id,
            access_token=self.secrets.encrypt(ACCESS_TOKEN, account.access_token),
            app_secret=self.secrets.encrypt(APP_SECRET, account.app_secret),
            messages_per_second=account.messages_per_second,
        )
        return _account(found[0]) if found else None

    async def accounts(self) -> list[AdminAccount]:
        return [_account(row) for row in await self.pool.run(SQL.list_accounts)]

    async def account(self, account_id: UUID) -> AdminAccount | None:
        found = await self.pool.run(SQL.get_account, id=account_id)
        return _account(found[0]) if found else None

    async def update_account(self, account_id: UUID, changes: AccountChanges) -> AdminAccount | None:
        """The account changed; and any pause of its queued sends ended (outbox.sql's
        pause_account), since the change may be what mends it (a new access token, say)."""
        async with self.pool.transaction() as transaction:
            found = await transaction.run(
                SQL.update_account,
                id=account_id,
                name=changes.name,
                display_phone_number=changes.display_phone_number,
                waba_id=changes.waba_id,
                access_token=self._encrypted(ACCESS_TOKEN, changes.access_token),
                app_secret=self._encrypted(APP_SECRET, changes.app_secret),
                messages_per_second=changes.messages_per_second,
            )
            if not found:
                return None
            resumed = await transaction.run(SQL.resume_paused_sends, account_id=account_id)
        if resumed:
            log.info("account changed: its paused sends resume", extra={"account_id": str(account_id)})
        return _account(found[0])

    async def insert_api_key(
        self, account_id: UUID, key_hash: bytes, prefix: str, scopes: Sequence[ApiKeyScope]
    ) -> ApiKey | None:
        """None for an unknown account."""
        found = await self.pool.run(
            SQL.insert_api_key,
            account_id=account_id,
            key_hash=key_hash,
            key_prefix=prefix,
            scopes=[str(s) for s in scopes],
        )
        return _api_key(found[0]) if found else None

    async def api_keys(self, prefix: str, account_id: UUID | None, limit: int) -> list[ApiKey]:
        found = await self.pool.run(SQL.list_api_keys, prefix=prefix, account_id=account_id, limit=limit)
        return [_api_key(row) for row in found]

    async def revoke_api_key(self, key_id: UUID) -> ApiKey | None:
        found = await self.pool.run(SQL.revoke_api_key, id=key_id)
        return _api_key(found[0]) if found else None
