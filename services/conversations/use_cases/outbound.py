"""Storing an outbound message, either kind: `sending` for a send made now (by SendNow, or
by a caller that sends it itself), `queued` for the outbox to deliver.

The one statement that stores it also applies the rules of `domain/outbound.py` (the 24 h
window; a sync send's pacing slot) and the idempotency key: a key used before answers the
original message, or a conflict when it came with another request. Before it, a template send
WhatsApp would refuse (`domain/templates.py`) is refused, and not stored.
"""

import re
from dataclasses import dataclass
from uuid import UUID

from services.conversations.domain import pacing
from services.conversations.domain.errors import Conflict, InvalidArgument, NotFound, Refused
from services.conversations.domain.model import (
    Account,
    Content,
    ConversationRef,
    Message,
    MessageStatus,
    SendTarget,
)
from services.conversations.domain.outbound import NewOutbound
from services.conversations.settings import SendPolicy
from services.conversations.use_cases.directory import Directory
from services.conversations.use_cases.ports import MessagesPort
from services.conversations.use_cases.templates import Templates

MAX_IDEMPOTENCY_KEY_LENGTH = 255
# A message's content as stored: 100 of them (a page) stay well inside a 4 MiB gRPC message.
MAX_CONTENT_BYTES = 32 * 1024
# A \u0000 escape in JSON text (not an escaped backslash followed by "u0000"): PostgreSQL's
# jsonb refuses it, and refused here it cannot fail a batch of other callers' rows.
NUL_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")


@dataclass(frozen=True, slots=True)
class Created:
    message: Message
    # Where to send it (a `sending` message's caller sends it).
    target: SendTarget
    # The idempotency key was used before: `message` is the original.
    replayed: bool


class OutboundMessages:
    def __init__(
        self, directory: Directory, templates: Templates, messages: MessagesPort, policy: SendPolicy
    ) -> None:
        self.directory = directory
        self.templates = templates
        self.messages = messages
        self.policy = policy

    async def create(
        self,
        account_id: UUID,
        conversation_id: UUID | None,
        to: str,
        content: Content,
        *,
        queue: bool = False,
        idempotency_key: str = "",
        request_hash: bytes = b"",
    ) -> Created:
        """Stores the message for a conversation, or for a recipient (`to`: the conversation is
        opened if new)."""
        if len(idempotency_key) > MAX_IDEMPOTENCY_KEY_LENGTH:
            raise InvalidArgument(f"idempotency_key must be at most {MAX_IDEMPOTENCY_KEY_LENGTH} characters")
        if len(content.body_json) > MAX_CONTENT_BYTES:
            raise InvalidArgument(f"content.body_json must be at most {MAX_CONTENT_BYTES} bytes")
        if b"\\u0000" in content.body_json and NUL_ESCAPE.search(content.body_json):
            raise InvalidArgument("content must not contain the character U+0000")
        account = await self.directory.account(account_id)
        if conversation_id is not None:
            conversation = await self.directory.conversation(account_id, conversation_id)
        elif to:
            conversation = await self.directory.conversation_with(account_id, to)
        else:
            raise InvalidArgument("either conversation_id or to is required")
        try:
            await self.templates.check(account_id, conversation.id, content)
        except Refused:
            # A retry of a send accepted before (the template changed since) gets the original.
            if idempotency_key and (
                original := await self._original(account_id, idempotency_key, request_hash)
            ):
                return Created(original, self._target(account, conversation, 0.0), replayed=True)
            raise
        stored = await self.messages.insert_outbound(
            NewOutbound(
                conversation,
                content,
                MessageStatus.QUEUED if queue else MessageStatus.SENDING,
                idempotency_key=idempotency_key or None,
                request_hash=request_hash,
                lease_seconds=self.policy.sync_lease_seconds,
                max_age_seconds=self.policy.message_ttl_seconds,
                slot_seconds=pacing.slot_seconds(
                    account.messages_per_second, self.policy.pacing_margin_seconds
                ),
                max_pacing_wait_seconds=self.policy.max_pacing_wait_seconds,
            )
        )
        target = self._target(account, conversation, stored.send_delay_seconds if stored is not None else 0.0)
        if stored is not None:
            return Created(stored.message, target, replayed=False)
        if idempotency_key and (original := await self._original(account_id, idempotency_key, request_hash)):
            return Created(original, target, replayed=True)
        self.directory.forget_conversation(conversation)
        raise NotFound(f"conversation {conversation.id} not found")

    def _target(self, account: Account, conversation: ConversationRef, send_delay: float) -> SendTarget:
        return SendTarget(
            account.phone_number_id,
            account.access_token,
            conversation.contact_wa_id,
            pacing.wait_before_sending(send_delay, self.policy.pacing_margin_seconds),
            conversation.contact_user_id,
        )

    async def _original(self, account_id: UUID, idempotency_key: str, request_hash: bytes) -> Message | None:
        """The message first stored under this key, if any; a conflict when it came with another request."""
        original = await self.messages.idempotent_original(account_id, idempotency_key)
        if original is None:
            return None
        used_with, message = original
        if used_with != request_hash:
            raise Conflict("this Idempotency-Key was already used with a different request")
        return message
