"""Secrets encrypted at rest, in a real PostgreSQL (a database for each test: re-encryption
touches every row): access tokens, app secrets and webhook signing secrets are stored as
ciphertext and read back in the clear by conversations' stores; `migrate` with SECRETS_KEYS
encrypts what was stored in the clear; `reencrypt` moves every value to a new first key."""

import asyncio
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from uuid import UUID, uuid4

import pytest
import pytest_asyncio
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from services.conversations import migrate as migrate_command
from services.conversations import reencrypt
from services.conversations.adapters.database.database import Database
from services.conversations.adapters.database.pool import StatementPool
from services.conversations.adapters.database.secrets import SecretStore
from services.conversations.migrate import sqlalchemy_url
from services.shared.secrets_at_rest import PREFIX, SecretBox, SecretUnreadable, new_key, parse_keys
from tests.fixtures.database import create_engine
from tools.seed import SeededAccount, create_account
from tools.stack import drop_database, ensure_database, migrate

OLD = f"kid0:{new_key()}"
NEW = f"kid1:{new_key()}"
ENDPOINT_SECRET, ROTATED_SECRET = "whsec_" + "a" * 43, "whsec_" + "b" * 43


@dataclass
class Place:
    url: str
    engine: AsyncEngine


@pytest_asyncio.fixture(loop_scope="session")
async def place(postgres_server: str) -> AsyncIterator[Place]:
    url = await ensure_database(postgres_server, f"pigeon_test_secrets_{os.getpid()}", fresh=True)
    await migrate(url)
    engine = create_engine(sqlalchemy_url(url), pool_size=2)
    yield Place(url, engine)
    await engine.dispose()
    await drop_database(postgres_server, url)


async def stored_account(engine: AsyncEngine, account_id: str) -> tuple[str, str]:
    async with engine.connect() as connection:
        row = (
            await connection.execute(
                text("SELECT access_token, app_secret FROM accounts WHERE id = :a"), {"a": account_id}
            )
        ).one()
    return row.access_token, row.app_secret


async def stored_endpoint(engine: AsyncEngine, endpoint_id: UUID) -> tuple[str, str | None]:
    async with engine.connect() as connection:
        row = (
            await connection.execute(
                text("SELECT secret, previous_secret FROM webhook_endpoints WHERE id = :e"),
                {"e": endpoint_id},
            )
        ).one()
    return row.secret, row.previous_secret


async def with_endpoint(place: Place, account: SeededAccount, box: SecretBox, rotate: bool) -> UUID:
    """An endpoint of the account, written through conversations' store; rotated once if asked."""
    database = Database(place.url, 1, box)
    endpoint_id, account_id = uuid4(), UUID(account.account_id)
    try:
        store = database.webhook_endpoints
        await store.insert(account_id, endpoint_id, "https://crm.example/h", "", ["*"], ENDPOINT_SECRET, 20)
        if rotate:
            await store.rotate_secret(account_id, endpoint_id, ROTATED_SECRET, 3600)
    finally:
        await database.close()
    return endpoint_id


async def read_back(place: Place, box: SecretBox, account: SeededAccount, endpoint_id: UUID) -> list[object]:
    """The account's token and app secret and the endpoint's secrets, as conversations reads them."""
    database = Database(place.url, 1, box)
    account_id = UUID(account.account_id)
    try:
        loaded = await database.directory.load_account(account_id)
        assert loaded is not None
        app_secrets = {s.account_id: s.app_secret for s in await database.webhooks.app_secrets()}
        signing = await database.webhook_endpoints.signing_secrets(account_id, endpoint_id)
        return [loaded.access_token, app_secrets[account_id], signing]
    finally:
        await database.close()


def encrypted_under(key_id: str, *stored: str | None) -> bool:
    return all(value is not None and value.startswith(f"{PREFIX}{key_id}:") for value in stored)


async def test_secrets_written_with_a_key_are_ciphertext_and_read_in_the_clear(place: Place) -> None:
    box = parse_keys(OLD)
    account = await create_account(place.engine, "Encrypted", conversations=0, secrets_box=box)
    endpoint_id = await with_endpoint(place, account, box, rotate=True)
    token, app_secret = await stored_account(place.engine, account.account_id)
    secret, previous = await stored_endpoint(place.engine, endpoint_id)
    assert encrypted_under("kid0", token, app_secret, secret, previous)
    stored = " ".join(str(v) for v in (token, app_secret, secret, previous))
    assert account.access_token not in stored and account.app_secret not in stored and "whsec_" not in stored
    assert await read_back(place, box, account, endpoint_id) == [
        account.access_token,
        account.app_secret,
        ("https://crm.example/h", (ROTATED_SECRET, ENDPOINT_SECRET)),
    ]


async def test_migrate_with_a_key_encrypts_what_was_stored_in_the_clear(
    place: Place, monkeypatch: pytest.MonkeyPatch
) -> None:
    account = await create_account(place.engine, "In the clear", conversations=0)
    endpoint_id = await with_endpoint(place, account, SecretBox(), rotate=False)
    assert await stored_account(place.engine, account.account_id) == (
        account.access_token,
        account.app_secret,
    )
    monkeypatch.setenv("DATABASE_URL", place.url)
    monkeypatch.setenv("SECRETS_KEYS", OLD)
    assert await asyncio.to_thread(migrate_command.main) == 0
    token, app_secret = await stored_account(place.engine, account.account_id)
    secret, _ = await stored_endpoint(place.engine, endpoint_id)
    assert encrypted_under("kid0", token, app_secret, secret)
    assert await read_back(place, parse_keys(OLD), account, endpoint_id) == [
        account.access_token,
        account.app_secret,
        ("https://crm.example/h", (ENDPOINT_SECRET,)),
    ]


async def test_reencrypt_moves_every_value_to_the_new_first_key(place: Place) -> None:
    old = parse_keys(OLD)
    account = await create_account(place.engine, "Rotated", conversations=0, secrets_box=old)
    endpoint_id = await with_endpoint(place, account, old, rotate=True)
    rotated = parse_keys(f"{NEW},{OLD}")
    report = await reencrypt.reencrypt_database(place.url, rotated)
    assert (report.reencrypted, report.current, report.changed_meanwhile, report.unreadable) == (4, 0, 0, [])
    token, app_secret = await stored_account(place.engine, account.account_id)
    secret, previous = await stored_endpoint(place.engine, endpoint_id)
    assert encrypted_under("kid1", token, app_secret, secret, previous)
    expected = [
        account.access_token,
        account.app_secret,
        ("https://crm.example/h", (ROTATED_SECRET, ENDPOINT_SECRET)),
    ]
    assert await read_back(place, parse_keys(NEW), account, endpoint_id) == expected  # the old key dropped
    again = await reencrypt.reencrypt_database(place.url, rotated)
    assert (again.reencrypted, again.current) == (0, 4)
    # Conversations with only the old key: the token fails loudly; the app secret counts as
    # none (its webhooks refused, for Meta to retry), not as every account's failure.
    database = Database(place.url, 1, old)
    try:
        with pytest.raises(SecretUnreadable, match="kid1"):
            await database.directory.load_account(UUID(account.account_id))
        assert [s.app_secret for s in await database.webhooks.app_secrets()] == [""]
    finally:
        await database.close()


async def test_a_value_changed_since_it_was_read_is_left_alone(place: Place) -> None:
    account = await create_account(place.engine, "Changed meanwhile", conversations=0)
    pool = StatementPool(place.url, 1)
    try:
        store = SecretStore(pool)
        (token,) = [s for s in await store.all() if s.place == "accounts.access_token"]
        async with place.engine.connect() as connection:
            await connection.execute(
                text("UPDATE accounts SET access_token = 'renewed' WHERE id = :a"), {"a": account.account_id}
            )
        assert not await store.replace(token, parse_keys(NEW).encrypt(token.column, account.access_token))
    finally:
        await pool.close()
    assert (await stored_account(place.engine, account.account_id))[0] == "renewed"


async def test_reencrypt_without_a_key_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://127.0.0.1:1/none")
    monkeypatch.delenv("SECRETS_KEYS", raising=False)
    assert await asyncio.to_thread(reencrypt.main) == 2
