"""The values kept encrypted at rest, wherever they are (`secrets.sql`): read them all, and
write one back re-encrypted unless it changed meanwhile. For `reencrypt`."""

from dataclasses import dataclass
from uuid import UUID

from services.conversations.adapters.database.pool import StatementPool
from services.conversations.adapters.database.queries import Queries
from services.shared.secrets_at_rest import ACCESS_TOKEN, APP_SECRET, ENDPOINT_SECRET

SQL = Queries("secrets.sql")

# Where a value lives -> (the statement that replaces it, what it is encrypted as).
PLACES = {
    "accounts.access_token": (SQL.replace_access_token, ACCESS_TOKEN),
    "accounts.app_secret": (SQL.replace_app_secret, APP_SECRET),
    "webhook_endpoints.secret": (SQL.replace_endpoint_secret, ENDPOINT_SECRET),
    "webhook_endpoints.previous_secret": (SQL.replace_endpoint_previous_secret, ENDPOINT_SECRET),
}


@dataclass(frozen=True)
class StoredSecret:
    place: str  # "table.column"
    row_id: UUID
    stored: str

    @property
    def column(self) -> str:
        """What it is encrypted as (its associated data)."""
        return PLACES[self.place][1]


class SecretStore:
    def __init__(self, pool: StatementPool) -> None:
        self.pool = pool

    async def all(self) -> list[StoredSecret]:
        found = await self.pool.run(SQL.stored_secrets)
        return [StoredSecret(r["place"], r["id"], r["stored"]) for r in found]

    async def replace(self, secret: StoredSecret, new: str) -> bool:
        """False when the value changed since it was read (say, a rotation): left as it is."""
        replace = PLACES[secret.place][0]
        return bool(await self.pool.run(replace, id=secret.row_id, old=secret.stored, new=new))
