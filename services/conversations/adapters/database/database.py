"""The conversations service's PostgreSQL: its connections and the stores that use them.

Three pools of asyncpg connections: one for single statements and the outbox's claims, one
for the send path's batched writes and one for the webhook side's batches (both with
generic plans). Nothing else talks to PostgreSQL at run time (SQLAlchemy is for the
migrations).
"""

from services.conversations.adapters.database import messages, webhook_store
from services.conversations.adapters.database.directory import DirectoryStore
from services.conversations.adapters.database.events import EventLog
from services.conversations.adapters.database.messages import MessageStore
from services.conversations.adapters.database.outbox import OutboxQueue
from services.conversations.adapters.database.pool import StatementPool
from services.conversations.adapters.database.reads import ReadStore
from services.conversations.adapters.database.webhook_store import WebhookStore


class Database:
    def __init__(self, dsn: str, connections: int) -> None:
        self._statements = StatementPool(dsn, connections)
        self._batches = messages.batch_pool(dsn)
        self._webhooks = webhook_store.webhook_pool(dsn)
        self.directory = DirectoryStore(self._statements)
        self.messages = MessageStore(self._statements, self._batches)
        self.reads = ReadStore(self._statements)
        self.outbox = OutboxQueue(self._statements)
        self.events = EventLog(self._statements)
        self.webhooks = WebhookStore(self._webhooks)

    async def close(self) -> None:
        """Waits for the batches in flight, then closes every connection."""
        await self.messages.close()
        for pool in (self._statements, self._batches, self._webhooks):
            await pool.close()
