"""An account's app secret is never empty (webhooks are verified with an HMAC keyed by it, and
anyone can compute one keyed by nothing): refused by administration (which tools/seed.py goes through), and by PostgreSQL itself
(migration 0016) whatever path writes the row."""

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from services.conversations.domain.errors import InvalidArgument
from tools.seed import create_account


async def test_create_account_refuses_an_empty_app_secret(engine: AsyncEngine) -> None:
    with pytest.raises(InvalidArgument, match="app_secret is required"):
        await create_account(engine, "No secret", conversations=0, app_secret="")
    async with engine.connect() as connection:
        named = await connection.execute(text("SELECT count(*) FROM accounts WHERE name = 'No secret'"))
        assert named.scalar_one() == 0


async def test_create_account_makes_one_up_when_none_is_given(engine: AsyncEngine) -> None:
    account = await create_account(engine, "Made-up secret", conversations=0)
    assert len(account.app_secret) == 32


async def test_the_database_refuses_an_empty_app_secret(engine: AsyncEngine) -> None:
    account = await create_account(engine, "Emptied later", conversations=0)
    async with engine.connect() as connection:
        with pytest.raises(IntegrityError, match="accounts_app_secret_not_empty"):
            await connection.execute(
                text("UPDATE accounts SET app_secret = '' WHERE id = :a"), {"a": account.account_id}
            )
        with pytest.raises(IntegrityError, match="accounts_app_secret_not_empty"):
            await connection.execute(
                text(
                    "INSERT INTO accounts (name, phone_number_id, display_phone_number, access_token,"
                    " app_secret) VALUES ('Raw insert', '1999000111222', '+1 555 0000000', 'token', '')"
                )
            )
