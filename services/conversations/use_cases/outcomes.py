"""Recording what became of a send: `sent` with its WhatsApp id, or `failed` with the error.

An outcome is recorded only while its message is still `sending` under the claim it was
sent under, so a late one cannot overwrite a newer claim's. When it is not recorded, why not
decides the answer: a status webhook that got there first with the same message (WhatsApp
has it: that is the outcome), or a message taken over by the outbox, or not sending at all.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar
from uuid import UUID

from services.conversations.domain.errors import FailedPrecondition, NotFound
from services.conversations.domain.model import Message, MessageStatus
from services.conversations.domain.outbound import SYNC_SEND_CLAIM, SendOutcome
from services.conversations.use_cases.ports import MessagesPort, ReadsPort

log = logging.getLogger(__name__)

Written = TypeVar("Written")

# An outcome write is retried until this long before its claim's lease ends.
OUTCOME_WRITE_MARGIN_SECONDS = 1.0


async def retried_until(give_up_at: float, write: Callable[[], Awaitable[Written]]) -> Written:
    """An outcome write, retried with backoff while it fails (the database is away) until
    `give_up_at` (loop time): WhatsApp has the message, and losing the write would send it
    again once the claim's lease ran out."""
    loop = asyncio.get_running_loop()
    delay = 0.1
    while True:
        try:
            return await write()
        except Exception:
            if loop.time() + delay >= give_up_at:
                raise
            log.warning("outcome not stored yet; retrying", extra={"retry_in": delay})
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)


# What a status webhook may have made of a message before its send's outcome was recorded.
REPORTED_BY_WHATSAPP = (MessageStatus.SENT, MessageStatus.DELIVERED, MessageStatus.READ, MessageStatus.FAILED)


def reported_first(current: Message | None, wa_message_id: str | None = None) -> bool:
    """Whether a status webhook got to the message first (WhatsApp's id on it, this very one
    when known): its word is the outcome. Not a takeover by the outbox, which leaves no id."""
    return (
        current is not None
        and current.status in REPORTED_BY_WHATSAPP
        and current.wa_message_id is not None
        and wa_message_id in (None, current.wa_message_id)
    )


class Outcomes:
    def __init__(self, messages: MessagesPort, reads: ReadsPort) -> None:
        self.messages = messages
        self.reads = reads

    async def record_sent(
        self, account_id: UUID, message_id: UUID, wa_message_id: str, claim: int = SYNC_SEND_CLAIM
    ) -> Message | None:
        """The message as recorded, or as a status webhook recorded it first; None when the
        claim was taken over (`claim` no longer the message's)."""
        recorded = await self.messages.record(
            SendOutcome(message_id, account_id, claim, MessageStatus.SENT, wa_message_id=wa_message_id)
        )
        return recorded or await self.already_sent(account_id, message_id, wa_message_id)

    async def record_failed(
        self,
        account_id: UUID,
        message_id: UUID,
        error_code: str,
        error_message: str,
        claim: int = SYNC_SEND_CLAIM,
    ) -> Message | None:
        """The message as recorded, or as a status webhook recorded it first (WhatsApp's word
        stands, whatever this failure says); None when the claim was taken over."""
        recorded = await self.messages.record(
            SendOutcome(
                message_id,
                account_id,
                claim,
                MessageStatus.FAILED,
                error_code=error_code,
                error_message=error_message,
            )
        )
        if recorded is not None:
            return recorded
        current = await self.reads.get_message(account_id, message_id)
        return current if reported_first(current) else None

    async def already_sent(self, account_id: UUID, message_id: UUID, wa_message_id: str) -> Message | None:
        """The message, when a `sent` outcome found it no longer sending because a status
        webhook got there first with this very wamid (not a takeover: the outcome is known,
        and WhatsApp's word on it, a `failed` status included, stands)."""
        current = await self.reads.get_message(account_id, message_id)
        return current if reported_first(current, wa_message_id) else None

    async def not_recorded(self, account_id: UUID, message_id: UUID) -> FailedPrecondition | NotFound:
        """Why an outcome was not recorded, as the caller's error."""
        current = await self.reads.get_message(account_id, message_id)
        if current is None:
            return NotFound(f"message {message_id} not found")
        if current.status == MessageStatus.SENDING:
            return FailedPrecondition(
                f"message {message_id} was taken over by the outbox after its lease ran out;"
                " its outcome is the outbox's"
            )
        return FailedPrecondition(f"message {message_id} is {current.status.value}, not sending")
