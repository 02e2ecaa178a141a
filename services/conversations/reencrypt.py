"""Encrypts the secrets kept in PostgreSQL with the current key: `python -m services.conversations.reencrypt`.

Reads DATABASE_URL and SECRETS_KEYS (services/shared/secrets_at_rest.py). Each access token,
app secret and webhook signing secret not yet under the first key (stored in the clear, or
under an older key) is decrypted and encrypted again with it. A value changed meanwhile (a
rotated webhook secret) is left, and counted: run the command again. To rotate: add the new key
second in SECRETS_KEYS on every conversations replica (they can then read it), then put it first
(migrate and seed too), run this, and drop the old key. Values are never printed.
"""

import asyncio
import sys
from dataclasses import dataclass, field

from services.conversations.adapters.database.pool import StatementPool
from services.conversations.adapters.database.secrets import SecretStore
from services.conversations.settings import database_dsn, secrets_from_env
from services.shared.secrets_at_rest import SecretBox, SecretUnreadable
from services.shared.settings import SettingsError, env


@dataclass
class Report:
    reencrypted: int = 0
    current: int = 0
    changed_meanwhile: int = 0
    # "table.column row-id: why", for the values no configured key decrypts.
    unreadable: list[str] = field(default_factory=list)

    def tell(self, box: SecretBox) -> int:
        """Says what was done; the exit status: 1 when something is left to do."""
        for line in self.unreadable:
            print(f"reencrypt: unreadable: {line}", file=sys.stderr)
        print(
            f"reencrypt: {self.reencrypted} encrypted with key {box.current!r}, {self.current} already were,"
            f" {self.changed_meanwhile} changed meanwhile (run again), {len(self.unreadable)} unreadable"
        )
        return 1 if self.unreadable or self.changed_meanwhile else 0


async def reencrypt(store: SecretStore, box: SecretBox) -> Report:
    report = Report()
    for secret in await store.all():
        if box.is_current(secret.stored):
            report.current += 1
            continue
        try:
            value = box.decrypt(secret.column, secret.stored)
        except SecretUnreadable as exc:
            report.unreadable.append(f"{secret.place} {secret.row_id}: {exc}")
            continue
        if await store.replace(secret, box.encrypt(secret.column, value)):
            report.reencrypted += 1
        else:
            report.changed_meanwhile += 1
    return report


async def reencrypt_database(database_url: str, box: SecretBox) -> Report:
    """`reencrypt` over its own connection to `database_url` (a postgresql:// URL)."""
    pool = StatementPool(database_dsn(database_url), 1, application_name="pigeon-reencrypt")
    try:
        return await reencrypt(SecretStore(pool), box)
    finally:
        await pool.close()


def main() -> int:
    try:
        database_url = env("DATABASE_URL", "")
        if not database_url:
            raise SettingsError("DATABASE_URL is required")
        box = secrets_from_env()
        if not box.encrypts:
            raise SettingsError("SECRETS_KEYS is required: the first key encrypts")
        report = asyncio.run(reencrypt_database(database_url, box))
    except SettingsError as exc:
        print(f"reencrypt: {exc}", file=sys.stderr)
        return 2
    return report.tell(box)


if __name__ == "__main__":
    sys.exit(main())
