"""Use cases of the conversations service: authenticate, send-side writes, reads.

Transport-free (no gRPC) and SQL-free (store.py does that). Lookups on the send path
go through TTL caches, invalidated when this replica writes what they hold.
"""

import base64
import re
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from services.conversations.domain import (
    Account,
    Conflict,
    Content,
    Conversation,
    ConversationRef,
    FailedPrecondition,
    InvalidArgument,
    Message,
    MessageStatus,
    NotFound,
    Page,
    SendTarget,
    Unauthenticated,
)
from services.conversations.store import SYNC_SEND_ATTEMPT, Store
from services.shared.api_keys import hash_api_key
from services.shared.cache import TtlCache

CACHE_CHANNEL = "pigeon_cache"
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
MAX_IDEMPOTENCY_KEY_LENGTH = 255
# A message's content as stored: 100 of them (a page) stay well inside a 4 MiB gRPC message.
MAX_CONTENT_BYTES = 32 * 1024
ADVANCED = (MessageStatus.SENT, MessageStatus.DELIVERED, MessageStatus.READ)
WA_ID = re.compile(r"^[0-9]{5,20}$")
# A \u0000 escape in JSON text (not an escaped backslash followed by "u0000"): PostgreSQL's
# jsonb refuses it, and refused here it cannot fail a batch of other callers' rows.
NUL_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")


def parse_id(value: str, what: str) -> UUID:
    """An id that is not a UUID cannot exist: it is simply not found."""
    try:
        return UUID(value)
    except ValueError:
        raise NotFound(f"{what} {value!r} not found") from None


def encode_page_token(page: Page) -> str:
    raw = f"{page.after_time.isoformat()}|{page.after_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_page_token(token: str) -> Page | None:
    if not token:
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        after_time, after_id = raw.split("|")
        return Page(datetime.fromisoformat(after_time), UUID(after_id))
    except (ValueError, UnicodeDecodeError):
        raise InvalidArgument("page_token is not a token this API returned") from None


def page_limit(page_size: int) -> int:
    if page_size == 0:
        return DEFAULT_PAGE_SIZE
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise InvalidArgument(f"page_size must be between 1 and {MAX_PAGE_SIZE}")
    return page_size


@dataclass(frozen=True)
class SendPolicy:
    # A synchronous send still "sending" after this long is taken over by the outbox
    # (its gateway died mid-call): longer than the gateway's deadline for the send.
    sync_lease_seconds: float = 60.0
    # Validity period: a message not sent within it fails as "expired".
    message_ttl_seconds: float = 3600.0
    # Sync sends take pacing slots as the outbox does (the same margin and horizon: see
    # OutboxSettings), and are refused (`account_rate_limited`) when their slot would be further
    # away than the horizon: waiting no longer than a claimed message, they cannot keep an
    # account's slots out of the outbox's reach.
    pacing_margin_seconds: float = 0.3
    max_pacing_wait_seconds: float = 1.0


class Inbox:
    def __init__(self, store: Store, cache_ttl_seconds: float, policy: SendPolicy | None = None) -> None:
        self.store = store
        self.policy = policy or SendPolicy()
        self.api_keys: TtlCache[bytes, UUID] = TtlCache(cache_ttl_seconds)
        self.accounts: TtlCache[UUID, Account] = TtlCache(cache_ttl_seconds)
        self.conversations: TtlCache[tuple[UUID, UUID], ConversationRef] = TtlCache(cache_ttl_seconds)
        self.conversations_by_contact: TtlCache[tuple[UUID, str], ConversationRef] = TtlCache(
            cache_ttl_seconds
        )

    async def authenticate(self, api_key: str) -> UUID:
        key_hash = hash_api_key(api_key)

        async def load() -> UUID:
            account_id = await self.store.account_for_key_hash(key_hash)
            if account_id is None:
                # Raised, not cached: a key created a moment later works at once.
                raise Unauthenticated("unknown or revoked API key")
            return account_id

        return await self.api_keys.get(key_hash, load)

    async def account(self, account_id: UUID) -> Account:
        async def load() -> Account:
            account = await self.store.load_account(account_id)
            if account is None:
                raise NotFound(f"account {account_id} not found")
            return account

        return await self.accounts.get(account_id, load)

    async def conversation_ref(self, account_id: UUID, conversation_id: UUID) -> ConversationRef:
        async def load() -> ConversationRef:
            ref = await self.store.load_conversation_ref(account_id, conversation_id)
            if ref is None:
                raise NotFound(f"conversation {conversation_id} not found")
            return ref

        return await self.conversations.get((account_id, conversation_id), load)

    async def conversation_with(self, account_id: UUID, wa_id: str) -> ConversationRef:
        if not WA_ID.fullmatch(wa_id):
            raise InvalidArgument("to must be a WhatsApp id: 5 to 20 digits, no '+'")

        async def load() -> ConversationRef:
            return await self.store.open_conversation(account_id, wa_id)

        return await self.conversations_by_contact.get((account_id, wa_id), load)

    async def create_outbound(
        self,
        account_id_text: str,
        conversation_id: str,
        to: str,
        content: Content,
        *,
        queue: bool = False,
        idempotency_key: str = "",
        request_hash: bytes = b"",
    ) -> tuple[Message, SendTarget, bool]:
        """Stores an outbound message (SENDING, or QUEUED for the outbox) and says where to
        send it. Returns (message, target, replayed): replayed when the idempotency key
        was used before, and the message is then the original."""
        if len(idempotency_key) > MAX_IDEMPOTENCY_KEY_LENGTH:
            raise InvalidArgument(f"idempotency_key must be at most {MAX_IDEMPOTENCY_KEY_LENGTH} characters")
        if len(content.body_json) > MAX_CONTENT_BYTES:
            raise InvalidArgument(f"content.body_json must be at most {MAX_CONTENT_BYTES} bytes")
        if b"\\u0000" in content.body_json and NUL_ESCAPE.search(content.body_json):
            raise InvalidArgument("content must not contain the character U+0000")
        account_id = parse_id(account_id_text, "account")
        account = await self.account(account_id)
        if conversation_id:
            conversation = await self.conversation_ref(account_id, parse_id(conversation_id, "conversation"))
        elif to:
            conversation = await self.conversation_with(account_id, to.removeprefix("+"))
        else:
            raise InvalidArgument("either conversation_id or to is required")
        stored = await self.store.insert_outbound(
            conversation,
            content,
            MessageStatus.QUEUED if queue else MessageStatus.SENDING,
            idempotency_key=idempotency_key or None,
            request_hash=request_hash,
            lease_seconds=self.policy.sync_lease_seconds,
            max_age_seconds=self.policy.message_ttl_seconds,
            slot_seconds=(1 + self.policy.pacing_margin_seconds) / account.messages_per_second,
            max_pacing_wait_seconds=self.policy.max_pacing_wait_seconds,
        )
        # A slot this close is not waited for: sent up to a quarter of the pacing margin early,
        # it stays within the margin, as a claimed message sent up to three quarters late does.
        send_delay = stored.send_delay_seconds if stored is not None else 0.0
        target = SendTarget(
            account.phone_number_id,
            account.access_token,
            conversation.contact_wa_id,
            send_delay if send_delay > self.policy.pacing_margin_seconds / 4 else 0.0,
        )
        if stored is not None:
            return stored.message, target, False
        if idempotency_key:
            original = await self.store.idempotent_original(account_id, idempotency_key)
            if original is not None:
                used_with, message = original
                if used_with != request_hash:
                    raise Conflict("this Idempotency-Key was already used with a different request")
                return message, target, True
        self.forget_conversation(conversation)
        raise NotFound(f"conversation {conversation.id} not found")

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
                account_id, conversation_id, wa_id = rest.split(":", 2)
                self.forget_conversation_with(UUID(account_id), UUID(conversation_id), wa_id)
        except ValueError:
            return

    def forget_everything(self) -> None:
        """After notifications may have been missed (the listener reconnected)."""
        for cache in (self.api_keys, self.accounts, self.conversations, self.conversations_by_contact):
            cache.clear()

    def forget_conversation_with(self, account_id: UUID, conversation_id: UUID, wa_id: str) -> None:
        """After an inbound message: drop what the send path cached about the conversation."""
        self.conversations.invalidate((account_id, conversation_id))
        self.conversations_by_contact.invalidate((account_id, wa_id))

    def forget_conversation(self, conversation: ConversationRef) -> None:
        self.forget_conversation_with(conversation.account_id, conversation.id, conversation.contact_wa_id)

    async def record_sent(self, account_id_text: str, message_id_text: str, wa_message_id: str) -> Message:
        if not wa_message_id:
            raise InvalidArgument("wa_message_id is required")
        account_id = parse_id(account_id_text, "account")
        message_id = parse_id(message_id_text, "message")
        message = await self.store.record_sent(account_id, message_id, wa_message_id, SYNC_SEND_ATTEMPT)
        if message is not None:
            return message
        current = await self.already_sent(account_id, message_id, wa_message_id)
        if current is not None:
            return current
        return await self._explain_not_sending(account_id, message_id)

    async def already_sent(self, account_id: UUID, message_id: UUID, wa_message_id: str) -> Message | None:
        """The message, when a `sent` outcome found it no longer sending because a status
        webhook got there first with this very wamid (not a takeover: the outcome is known)."""
        current = await self.store.get_message(account_id, message_id)
        if current is not None and current.wa_message_id == wa_message_id and current.status in ADVANCED:
            return current
        return None

    async def record_failed(
        self, account_id_text: str, message_id_text: str, error_code: str, error_message: str
    ) -> Message:
        if not error_code:
            raise InvalidArgument("failure.code is required")
        account_id = parse_id(account_id_text, "account")
        message_id = parse_id(message_id_text, "message")
        message = await self.store.record_failed(
            account_id, message_id, error_code, error_message, SYNC_SEND_ATTEMPT
        )
        if message is not None:
            return message
        current = await self.store.get_message(account_id, message_id)
        if current is not None and current.status in ADVANCED:
            # A status webhook got here first (say, after the sender's deadline): WhatsApp
            # has the message, whatever this failure says.
            return current
        return await self._explain_not_sending(account_id, message_id)

    async def _explain_not_sending(self, account_id: UUID, message_id: UUID) -> Message:
        current = await self.store.get_message(account_id, message_id)
        if current is None:
            raise NotFound(f"message {message_id} not found")
        if current.status == MessageStatus.SENDING:
            raise FailedPrecondition(
                f"message {message_id} was taken over by the outbox after its lease ran out;"
                " its outcome is the outbox's"
            )
        raise FailedPrecondition(f"message {message_id} is {current.status.value}, not sending")

    async def get_message(self, account_id_text: str, message_id_text: str) -> Message:
        account_id = parse_id(account_id_text, "account")
        message_id = parse_id(message_id_text, "message")
        message = await self.store.get_message(account_id, message_id)
        if message is None:
            raise NotFound(f"message {message_id} not found")
        return message

    async def list_messages(
        self, account_id_text: str, conversation_id_text: str, page_size: int, page_token: str
    ) -> tuple[list[Message], str]:
        account_id = parse_id(account_id_text, "account")
        conversation_id = parse_id(conversation_id_text, "conversation")
        limit = page_limit(page_size)
        page = decode_page_token(page_token)
        # The conversation must be the account's even when it has no messages.
        await self.conversation_ref(account_id, conversation_id)
        messages = await self.store.list_messages(account_id, conversation_id, limit + 1, page)
        if len(messages) <= limit:
            return messages, ""
        last = messages[limit - 1]
        return messages[:limit], encode_page_token(Page(last.created_at, last.id))

    async def get_conversation(self, account_id_text: str, conversation_id_text: str) -> Conversation:
        account_id = parse_id(account_id_text, "account")
        conversation_id = parse_id(conversation_id_text, "conversation")
        conversation = await self.store.get_conversation(account_id, conversation_id)
        if conversation is None:
            raise NotFound(f"conversation {conversation_id} not found")
        return conversation

    async def list_conversations(
        self, account_id_text: str, page_size: int, page_token: str
    ) -> tuple[list[Conversation], str]:
        account_id = parse_id(account_id_text, "account")
        limit = page_limit(page_size)
        page = decode_page_token(page_token)
        conversations = await self.store.list_conversations(account_id, limit + 1, page)
        if len(conversations) <= limit:
            return conversations, ""
        last = conversations[limit - 1]
        return conversations[:limit], encode_page_token(Page(last.last_activity_at, last.id))
