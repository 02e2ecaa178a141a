"""Applies the database migrations: `python -m services.conversations.migrate`.

Reads DATABASE_URL, and SECRETS_KEYS if set: then the secrets kept in PostgreSQL that are not
yet under its first key are encrypted with it (`services/conversations/reencrypt.py`), so a
deploy that configures a key encrypts what was stored before. Blocking (Alembic runs its own
event loop): call `upgrade` from a thread when inside async code.
"""

import asyncio
import sys
from pathlib import Path

from alembic import command
from alembic.config import Config

from services.conversations.reencrypt import reencrypt_database
from services.conversations.settings import database_dsn, secrets_from_env
from services.shared.settings import SettingsError, env

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def sqlalchemy_url(url: str) -> str:
    """The URL as SQLAlchemy's asyncpg driver takes it: for the migrations, and for the tools'
    and the tests' own engines (the services themselves run on asyncpg alone)."""
    return "postgresql+asyncpg://" + database_dsn(url).removeprefix("postgresql://")


def upgrade(database_url: str, revision: str = "head") -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["database_url"] = sqlalchemy_url(database_url)
    command.upgrade(config, revision)


def main() -> int:
    try:
        database_url = env("DATABASE_URL", "")
        if not database_url:
            raise SettingsError("DATABASE_URL is required")
        secrets_box = secrets_from_env()
        upgrade(database_url)
    except SettingsError as exc:
        print(f"migrate: {exc}", file=sys.stderr)
        return 2
    print("migrate: database is at the latest revision")
    if not secrets_box.encrypts:
        return 0
    return asyncio.run(reencrypt_database(database_url, secrets_box)).tell(secrets_box)


if __name__ == "__main__":
    sys.exit(main())
