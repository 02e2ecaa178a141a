"""Demo and test data: accounts with an API key, contacts who wrote recently.

Accounts and keys are made by administration's use case (as `pigeon-admin` and the Admin
service make them: secrets encrypted, only hashes of the API keys stored); the contacts and
conversations are written straight to PostgreSQL. The secrets it makes are returned once.
"""

import asyncio
import os
import secrets
from dataclasses import asdict, dataclass, field
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from services.conversations.entrypoints.admin_cli import open_administration
from services.shared.secrets_at_rest import SecretBox

# A contact who wrote `minutes_ago`: contact, conversation and the inbound message.
_INSERT_CONVERSATION = text(
    """
    WITH contact AS (
        INSERT INTO contacts (account_id, wa_id, profile_name) VALUES (:account_id, :wa_id, :name)
        RETURNING id
    ), conversation AS (
        INSERT INTO conversations (account_id, contact_id, created_at, last_message_at, last_inbound_at,
                                   last_activity_at, unread_count)
        SELECT :account_id, contact.id, now() - make_interval(mins => :minutes_ago),
               now() - make_interval(mins => :minutes_ago), now() - make_interval(mins => :minutes_ago),
               now() - make_interval(mins => :minutes_ago), 1
        FROM contact
        RETURNING id
    ), message AS (
        INSERT INTO messages (account_id, conversation_id, direction, contact_wa_id, type, body, status,
                              wa_message_id, created_at)
        SELECT :account_id, conversation.id, 'inbound', :wa_id, 'text', CAST(:body AS jsonb), 'received',
               :wa_message_id, now() - make_interval(mins => :minutes_ago)
        FROM conversation
    )
    SELECT id FROM conversation
    """
)
_ACCOUNT_EXISTS = text("SELECT count(*) FROM accounts WHERE id = ANY(CAST(:ids AS uuid[]))")


@dataclass
class SeededAccount:
    account_id: str
    name: str
    api_key: str
    phone_number_id: str
    display_phone_number: str
    access_token: str
    app_secret: str
    messages_per_second: int
    # Its WhatsApp Business Account: where its templates are listed from.
    waba_id: str = ""
    conversation_ids: list[str] = field(default_factory=list)
    contact_wa_ids: list[str] = field(default_factory=list)

    def public(self) -> dict[str, Any]:
        """What demo.json holds (the issue's shape, plus the contacts)."""
        data = asdict(self)
        del data["access_token"]
        return data


def _digits(n: int) -> str:
    return "".join(secrets.choice("0123456789") for _ in range(n))


async def create_account(
    engine: AsyncEngine,
    name: str,
    *,
    conversations: int = 3,
    messages_per_second: int = 80,
    minutes_ago: int = 5,
    phone_number_id: str = "",
    access_token: str = "",
    app_secret: str | None = None,
    waba_id: str = "",
    secrets_box: SecretBox | None = None,
) -> SeededAccount:
    """A new account with an API key and `conversations` contacts who wrote recently.
    Phone number, WABA and secrets are made up unless given (to match a simulator's), and
    stored encrypted with `secrets_box`'s current key if it has one.
    An empty app secret is refused (InvalidArgument): anyone can sign a webhook with it."""
    box = secrets_box or SecretBox()
    access_token = access_token or "EAAG" + secrets.token_urlsafe(48)
    app_secret = secrets.token_hex(16) if app_secret is None else app_secret
    async with open_administration(engine.url.render_as_string(hide_password=False), box) as admin:
        created = await admin.create_account(
            name,
            phone_number_id or "1" + _digits(14),
            "+1 555 " + _digits(7),
            waba_id or "1" + _digits(14),
            access_token,
            app_secret,
            messages_per_second,
        )
        _, api_key = await admin.create_api_key(created.id)
    account = SeededAccount(
        account_id=str(created.id),
        name=name,
        api_key=api_key,
        phone_number_id=created.phone_number_id,
        display_phone_number=created.display_phone_number,
        access_token=access_token,
        app_secret=app_secret,
        messages_per_second=created.messages_per_second,
        waba_id=created.waba_id,
    )
    async with engine.begin() as connection:
        for index in range(conversations):
            wa_id = "1555" + _digits(7)
            conversation_id = (
                await connection.execute(
                    _INSERT_CONVERSATION,
                    {
                        "account_id": created.id,
                        "wa_id": wa_id,
                        "name": f"Customer {index + 1}",
                        "minutes_ago": minutes_ago + index,
                        "body": '{"body": "Hi, is my order on its way?"}',
                        "wa_message_id": "wamid.seed" + secrets.token_hex(12),
                    },
                )
            ).scalar_one()
            account.conversation_ids.append(str(conversation_id))
            account.contact_wa_ids.append(wa_id)
    return account


async def accounts_exist(engine: AsyncEngine, account_ids: list[str]) -> bool:
    async with engine.connect() as connection:
        found = (await connection.execute(_ACCOUNT_EXISTS, {"ids": account_ids})).scalar_one()
    return bool(found == len(account_ids))


async def _seed_from_environment() -> None:
    """`python -m tools.seed` (docker compose's seed job): one demo account for the
    simulator's demo number, unless it exists; prints its API key once."""
    from sqlalchemy.ext.asyncio import create_async_engine

    from services.conversations.migrate import sqlalchemy_url
    from services.conversations.settings import secrets_from_env

    secrets_box = secrets_from_env()  # SECRETS_KEYS, as conversations reads it
    engine = create_async_engine(sqlalchemy_url(os.environ["DATABASE_URL"]))
    phone_number_id = os.environ["SEED_PHONE_NUMBER_ID"]
    try:
        async with engine.connect() as connection:
            exists = (
                await connection.execute(
                    text("SELECT 1 FROM accounts WHERE phone_number_id = :p"), {"p": phone_number_id}
                )
            ).first()
        if exists:
            print(f"seed: an account for {phone_number_id} exists already; its API key was printed when made")
            return
        account = await create_account(
            engine,
            "Demo",
            phone_number_id=phone_number_id,
            access_token=os.environ["SEED_ACCESS_TOKEN"],
            app_secret=os.environ["SEED_APP_SECRET"],
            waba_id=os.environ.get("SEED_WABA_ID", ""),
            secrets_box=secrets_box,
        )
        print(orjson.dumps(account.public(), option=orjson.OPT_INDENT_2).decode())
    finally:
        await engine.dispose()


if __name__ == "__main__":
    asyncio.run(_seed_from_environment())
