"""Who is who (`directory.sql`): API keys, accounts, conversations and their contacts."""

from uuid import UUID

from services.conversations.adapters.database import rows
from services.conversations.adapters.database.pool import StatementPool
from services.conversations.adapters.database.queries import Queries
from services.conversations.domain.admin import KeyGrant
from services.conversations.domain.model import Account, ConversationRef
from services.shared.secrets_at_rest import ACCESS_TOKEN, SecretBox
from services.shared.vocabulary import ApiKeyScope

SQL = Queries("directory.sql")


class DirectoryStore:
    def __init__(self, pool: StatementPool, secrets: SecretBox) -> None:
        self.pool = pool
        self.secrets = secrets

    async def ping(self) -> None:
        """Raises unless PostgreSQL answers."""
        await self.pool.run(SQL.ping)

    async def grant_for_key_hash(self, key_hash: bytes) -> KeyGrant | None:
        found = await self.pool.run(SQL.authenticate, key_hash=key_hash)
        if not found:
            return None
        return KeyGrant(found[0]["account_id"], tuple(ApiKeyScope(s) for s in found[0]["scopes"]))

    async def load_account(self, account_id: UUID) -> Account | None:
        found = await self.pool.run(SQL.load_account, account_id=account_id)
        if not found:
            return None
        row = found[0]
        access_token = self.secrets.decrypt(ACCESS_TOKEN, row["access_token"])
        return Account(row["id"], row["phone_number_id"], access_token, row["messages_per_second"])

    async def load_conversation_ref(self, account_id: UUID, conversation_id: UUID) -> ConversationRef | None:
        found = await self.pool.run(
            SQL.load_conversation_ref, account_id=account_id, conversation_id=conversation_id
        )
        return rows.conversation_ref(found[0]) if found else None

    async def open_conversation(self, account_id: UUID, wa_id: str) -> ConversationRef:
        found = await self.pool.run(SQL.open_conversation, account_id=account_id, wa_id=wa_id)
        return rows.conversation_ref(found[0])  # an upsert with RETURNING always yields its row

    async def open_conversation_with_user(self, account_id: UUID, user_id: str) -> ConversationRef:
        found = await self.pool.run(SQL.open_conversation_with_user, account_id=account_id, user_id=user_id)
        return rows.conversation_ref(found[0])
