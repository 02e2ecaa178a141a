"""Who is who, kept at hand: API keys to accounts, accounts, conversations.

The send path looks these up on every request, so they go through TTL caches (single
flight: concurrent misses cost one query), dropped on this replica when a `pigeon_cache`
notification says they changed: any replica's write, or one made by hand, reaches every
replica within milliseconds.
"""

from uuid import UUID

from services.conversations.domain.admin import KeyGrant
from services.conversations.domain.errors import InvalidArgument, NotFound, Unauthenticated
from services.conversations.domain.model import Account, ConversationRef
from services.conversations.use_cases.ports import DirectoryPort
from services.shared.cache import TtlCache
from services.shared.vocabulary import BSUID, RECIPIENT

CACHE_CHANNEL = "pigeon_cache"


class Directory:
    def __init__(self, store: DirectoryPort, cache_ttl_seconds: float) -> None:
        self.store = store
        self.api_keys: TtlCache[bytes, KeyGrant] = TtlCache(cache_ttl_seconds)
        self.accounts: TtlCache[UUID, Account] = TtlCache(cache_ttl_seconds)
        self.conversations: TtlCache[tuple[UUID, UUID], ConversationRef] = TtlCache(cache_ttl_seconds)
        self.conversations_by_contact: TtlCache[tuple[UUID, str], ConversationRef] = TtlCache(
            cache_ttl_seconds
        )

    async def authenticate(self, key_hash: bytes) -> KeyGrant:
        """The account and scopes of the API key whose SHA-256 is `key_hash`
        (services/shared/api_keys.py)."""

        async def load() -> KeyGrant:
            grant = await self.store.grant_for_key_hash(key_hash)
            if grant is None:
                # Raised, not cached: a key created a moment later works at once.
                raise Unauthenticated("unknown or revoked API key")
            return grant

        return await self.api_keys.get(key_hash, load)

    async def account(self, account_id: UUID) -> Account:
        async def load() -> Account:
            account = await self.store.load_account(account_id)
            if account is None:
                raise NotFound(f"account {account_id} not found")
            return account

        return await self.accounts.get(account_id, load)

    async def conversation(self, account_id: UUID, conversation_id: UUID) -> ConversationRef:
        async def load() -> ConversationRef:
            ref = await self.store.load_conversation_ref(account_id, conversation_id)
            if ref is None:
                raise NotFound(f"conversation {conversation_id} not found")
            return ref

        return await self.conversations.get((account_id, conversation_id), load)

    async def conversation_with(self, account_id: UUID, to: str) -> ConversationRef:
        """The conversation with a recipient (a phone number, or a business-scoped user id),
        opened if new. Cached by either: they cannot be mistaken for one another."""
        if BSUID.fullmatch(to):

            async def load_by_user() -> ConversationRef:
                return await self.store.open_conversation_with_user(account_id, to)

            return await self.conversations_by_contact.get((account_id, to), load_by_user)
        recipient = RECIPIENT.fullmatch(to)
        if recipient is None:
            raise InvalidArgument(
                "to must be a WhatsApp number (5 to 15 digits, optionally after '+') or a "
                "business-scoped user id (US.13491208655302741918)"
            )
        wa_id = recipient.group(1)

        async def load() -> ConversationRef:
            return await self.store.open_conversation(account_id, wa_id)

        return await self.conversations_by_contact.get((account_id, wa_id), load)

    def forget(self, notification: str) -> None:
        """Drops what a `pigeon_cache` notification says changed, on this replica. Triggers
        send them for every write, from any replica or by hand (a revoked key, say)."""
        kind, _, rest = notification.partition(":")
        try:
            if kind == "account":
                self.accounts.invalidate(UUID(rest))
            elif kind == "api_key":
                self.api_keys.invalidate(bytes.fromhex(rest))
            elif kind == "conversation":
                # "<account>:<conversation>:<phone or ''>:<BSUID or ''>" (before 0015, no BSUID).
                account_id, conversation_id, wa_id, *user_id = rest.split(":", 3)
                self.forget_conversation_with(UUID(account_id), UUID(conversation_id), wa_id, *user_id)
        except ValueError:
            return

    def forget_everything(self) -> None:
        """After notifications may have been missed (the listener reconnected)."""
        for cache in (self.api_keys, self.accounts, self.conversations, self.conversations_by_contact):
            cache.clear()

    def forget_conversation_with(
        self, account_id: UUID, conversation_id: UUID, wa_id: str, user_id: str = ""
    ) -> None:
        """After an inbound message: drop what the send path cached about the conversation."""
        self.conversations.invalidate((account_id, conversation_id))
        self.conversations_by_contact.invalidate((account_id, wa_id))
        if user_id:
            self.conversations_by_contact.invalidate((account_id, user_id))

    def forget_conversation(self, conversation: ConversationRef) -> None:
        self.forget_conversation_with(
            conversation.account_id, conversation.id, conversation.contact_wa_id, conversation.contact_user_id
        )
