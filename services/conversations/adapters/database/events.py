"""An account's event log (`events.sql`); events are appended by the statements of their
changes (`pigeon_append_events`)."""

from uuid import UUID

from services.conversations.adapters.database.pool import StatementPool
from services.conversations.adapters.database.queries import Queries
from services.conversations.domain.model import StoredEvent

SQL = Queries("events.sql")


class EventLog:
    def __init__(self, pool: StatementPool) -> None:
        self.pool = pool

    async def last_event_id(self, account_id: UUID) -> int:
        found = await self.pool.run(SQL.last_event_id, account_id=account_id)
        return int(found[0][0])

    async def first_kept_event_id(self, account_id: UUID) -> int:
        found = await self.pool.run(SQL.first_kept_event_id, account_id=account_id)
        return int(found[0][0])

    async def events_after(
        self, account_id: UUID, after_id: int, limit: int, max_bytes: int
    ) -> list[StoredEvent]:
        found = await self.pool.run(
            SQL.events_after, account_id=account_id, after_id=after_id, limit=limit, max_bytes=max_bytes
        )
        return [StoredEvent(row["id"], row["type"], row["data"].encode(), row["created_at"]) for row in found]
