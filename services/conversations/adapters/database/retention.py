"""Deletions of what is kept only for a while (`retention.sql`), one small batch per statement.

Each statement runs alone in autocommit: its own short transaction, reading at most a batch of
rows and holding the locks of those it deletes (inserts into the same tables never wait for
it). Every replica may run the same deletions: rows another one holds are skipped (`SKIP
LOCKED`), or (notifications) waited for the few milliseconds its batch takes, then found gone.
"""

from collections.abc import Sequence

import asyncpg

from services.conversations.adapters.database.pool import StatementPool
from services.conversations.adapters.database.queries import Queries
from services.conversations.domain.retention import Batch, EventLog

SQL = Queries("retention.sql")


def _batch(found: list[asyncpg.Record]) -> Batch:
    deleted, last_id, done = found[0]
    return Batch(int(deleted), int(last_id), bool(done))


class RetentionStore:
    def __init__(self, pool: StatementPool) -> None:
        self.pool = pool

    async def event_logs(self, keep_seconds: float) -> list[EventLog]:
        found = await self.pool.run(SQL.event_logs, keep_seconds=keep_seconds)
        return [EventLog(row["account_id"], row["oldest_id"], row["before_id"]) for row in found]

    async def delete_events(
        self, log: EventLog, after_id: int, *, keep_seconds: float, batch_size: int
    ) -> Batch:
        found = await self.pool.run(
            SQL.delete_events,
            account_id=log.account_id,
            after_id=after_id,
            before_id=log.before_id,
            keep_seconds=keep_seconds,
            batch_size=batch_size,
        )
        return _batch(found)

    async def delete_notifications(
        self, states: Sequence[str], after_id: int, *, keep_seconds: float, batch_size: int
    ) -> Batch:
        found = await self.pool.run(
            SQL.delete_notifications,
            states=list(states),
            after_id=after_id,
            keep_seconds=keep_seconds,
            batch_size=batch_size,
        )
        return _batch(found)

    async def delete_pending_statuses(self, keep_seconds: float, batch_size: int) -> int:
        found = await self.pool.run(
            SQL.delete_pending_statuses, keep_seconds=keep_seconds, batch_size=batch_size
        )
        return int(found[0][0])

    async def delete_idempotency_keys(self, keep_seconds: float, batch_size: int) -> int:
        found = await self.pool.run(
            SQL.delete_idempotency_keys, keep_seconds=keep_seconds, batch_size=batch_size
        )
        return int(found[0][0])
