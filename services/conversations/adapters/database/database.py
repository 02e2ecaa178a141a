"""The conversations service's PostgreSQL: its connections and the stores that use them.

Five pools of asyncpg connections: single statements (every read and lookup), the outbox's
claims and upkeep (a quarter as many, so that its transactions never wait behind the hot
statements nor hold their connections), the send path's batched writes and the webhook
side's batches (both with generic plans), and one connection for retention's deletions.
Besides them only the listener's one connection talks to PostgreSQL at run time (SQLAlchemy
is for the migrations).
"""

from services.conversations.adapters.database import messages, webhook_store
from services.conversations.adapters.database.admin import AdminStore
from services.conversations.adapters.database.directory import DirectoryStore
from services.conversations.adapters.database.events import EventLog
from services.conversations.adapters.database.inbox import InboxStore
from services.conversations.adapters.database.media import MediaRepository
from services.conversations.adapters.database.messages import MessageStore
from services.conversations.adapters.database.outbox import OutboxQueue
from services.conversations.adapters.database.pool import StatementPool
from services.conversations.adapters.database.reads import ReadStore
from services.conversations.adapters.database.retention import RetentionStore
from services.conversations.adapters.database.templates import TemplateStore
from services.conversations.adapters.database.webhook_endpoints import WebhookEndpointStore
from services.conversations.adapters.database.webhook_store import WebhookStore
from services.shared.secrets_at_rest import SecretBox

# Retention's connection, as pg_stat_activity names it.
RETENTION_APPLICATION_NAME = "pigeon-retention"


class Database:
    def __init__(self, dsn: str, connections: int, secrets: SecretBox | None = None) -> None:
        """`secrets`: the keys of the secrets stored encrypted (settings' SECRETS_KEYS); none
        by default, as in the tests, where values are stored in the clear."""
        secrets = secrets or SecretBox()
        self._statements = StatementPool(dsn, connections)
        self._outbox = StatementPool(dsn, max(2, connections // 4))
        self._batches = messages.batch_pool(dsn)
        self._webhooks = webhook_store.webhook_pool(dsn)
        # Its batches run one after another: they never take a hot statement's connection.
        self._retention = StatementPool(dsn, 1, application_name=RETENTION_APPLICATION_NAME)
        self.directory = DirectoryStore(self._statements, secrets)
        self.messages = MessageStore(self._statements, self._batches)
        self.reads = ReadStore(self._statements)
        self.outbox = OutboxQueue(self._outbox)
        self.events = EventLog(self._statements)
        self.webhooks = WebhookStore(self._webhooks, secrets)
        self.media = MediaRepository(self._statements)
        self.webhook_endpoints = WebhookEndpointStore(self._statements, secrets)
        self.templates = TemplateStore(self._statements, secrets)
        self.retention = RetentionStore(self._retention)
        self.admin = AdminStore(self._statements, secrets)
        self.inbox = InboxStore(self._statements)

    async def close(self) -> None:
        """Waits for the batches in flight, then closes every connection."""
        await self.messages.close()
        for pool in (self._statements, self._outbox, self._batches, self._webhooks, self._retention):
            await pool.close()
