"""Administration: accounts and their API keys, for operators (the Admin gRPC service and the
`pigeon-admin` command, both through this). Tokens and secrets come in and are stored encrypted
(or, for API keys, hashed); none goes out, but a new API key, once."""

from collections.abc import Sequence
from typing import TypeVar
from uuid import UUID

from services.conversations.domain.admin import (
    AccountChanges,
    AdminAccount,
    ApiKey,
    account_changes,
    new_account,
    parse_scopes,
)
from services.conversations.domain.errors import FailedPrecondition, InvalidArgument, NotFound
from services.conversations.use_cases.ports import AdminPort
from services.shared.api_keys import api_key_prefix, hash_api_key, new_api_key

Found = TypeVar("Found")

# The most keys one listing answers: a prefix narrows it down.
MAX_LISTED_KEYS = 1000


class Administration:
    def __init__(self, store: AdminPort) -> None:
        self.store = store

    async def create_account(
        self,
        name: str,
        phone_number_id: str,
        display_phone_number: str,
        waba_id: str,
        access_token: str,
        app_secret: str,
        messages_per_second: int | None = None,
    ) -> AdminAccount:
        account = new_account(
            name,
            phone_number_id,
            display_phone_number,
            waba_id,
            access_token,
            app_secret,
            messages_per_second,
        )
        created = await self.store.insert_account(account)
        if created is None:
            raise FailedPrecondition(f"an account has phone_number_id {account.phone_number_id} already")
        return created

    async def accounts(self) -> list[AdminAccount]:
        return await self.store.accounts()

    async def account(self, account_id: UUID) -> AdminAccount:
        return _found(await self.store.account(account_id), "account")

    async def update_account(self, account_id: UUID, changes: AccountChanges) -> AdminAccount:
        return _found(await self.store.update_account(account_id, account_changes(changes)), "account")

    async def create_api_key(self, account_id: UUID, scopes: Sequence[str] = ()) -> tuple[ApiKey, str]:
        """A new key and the key itself: the one time it is seen (only its hash is kept)."""
        api_key = new_api_key()
        created = await self.store.insert_api_key(
            account_id, hash_api_key(api_key), api_key_prefix(api_key), parse_scopes(scopes)
        )
        return _found(created, "account"), api_key

    async def api_keys(self, prefix: str = "", account_id: UUID | None = None) -> list[ApiKey]:
        if len(prefix) > 64 or "\x00" in prefix:
            raise InvalidArgument("prefix must be at most 64 characters")
        return await self.store.api_keys(prefix, account_id, MAX_LISTED_KEYS)

    async def revoke_api_key(self, key_id: UUID) -> ApiKey:
        return _found(await self.store.revoke_api_key(key_id), "API key")


def _found(value: Found | None, what: str) -> Found:
    if value is None:
        raise NotFound(f"{what} not found")
    return value
