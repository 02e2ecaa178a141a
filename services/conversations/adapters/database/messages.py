"""The send path's writes (`messages.sql`): outbound messages stored, outcomes recorded.

Both are group-committed (`services/shared/group_commit.py`): the writes of concurrent requests
share one statement on arrays, on connections of their own whose plan is generic
(PostgreSQL plans a statement on arrays afresh at every execution otherwise: about 0.5 ms
for the insert).
"""

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from uuid import UUID

from services.conversations.adapters.database import rows
from services.conversations.adapters.database.errors import one_row_may_fail
from services.conversations.adapters.database.pool import StatementPool, generic_plan_pool
from services.conversations.adapters.database.queries import Queries
from services.conversations.domain import outbound
from services.conversations.domain.model import Message
from services.conversations.domain.outbound import NewOutbound, SendOutcome, StoredOutbound
from services.shared.group_commit import GroupCommit, Item, Result
from services.shared.vocabulary import FailureCode

SQL = Queries("messages.sql")

# Connections for the batched writes, which is also how many batches of one kind may run at
# once, and the most rows in one batch.
BATCH_CONNECTIONS = 4
MAX_BATCH = 64


def batch_pool(dsn: str) -> StatementPool:
    """The send path's batched writes' own connections."""
    return generic_plan_pool(dsn, BATCH_CONNECTIONS)


def _group_commit(
    name: str, run: Callable[[Sequence[Item]], Awaitable[list[Result]]]
) -> GroupCommit[Item, Result]:
    return GroupCommit(
        name, run, max_in_flight=BATCH_CONNECTIONS, max_batch=MAX_BATCH, one_row_may_fail=one_row_may_fail
    )


class MessageStore:
    def __init__(self, statements: StatementPool, batches: StatementPool) -> None:
        self.statements = statements
        self.batches = batches
        self._inserts = _group_commit("outbound_inserts", self._insert_batch)
        self._outcomes = _group_commit("send_outcomes", self._record_batch)

    async def close(self) -> None:
        await self._inserts.close()
        await self._outcomes.close()

    async def insert_outbound(self, row: NewOutbound) -> StoredOutbound | None:
        """None when nothing was written: unknown conversation, or a used idempotency key. A
        sync send (SENDING) takes its account's next pacing slot, `slot_seconds` after the one
        before it, or is stored failed (`account_rate_limited`) if that slot is more than
        `max_pacing_wait_seconds` away. Concurrent calls share one statement."""
        return await self._inserts.submit(replace(row, message_id=uuid.uuid4()))

    async def _insert_batch(self, batch: Sequence[NewOutbound]) -> list[StoredOutbound | None]:
        found = await self.batches.run(
            SQL.insert_outbound,
            message_ids=[r.message_id for r in batch],
            account_ids=[r.conversation.account_id for r in batch],
            conversation_ids=[r.conversation.id for r in batch],
            contact_wa_ids=[r.conversation.contact_wa_id or None for r in batch],
            contact_user_ids=[r.conversation.contact_user_id or None for r in batch],
            types=[r.content.type for r in batch],
            bodies=[r.content.body_json.decode() for r in batch],
            reply_tos=[r.content.reply_to_wa_message_id for r in batch],
            statuses=[r.status.value for r in batch],
            idempotency_keys=[r.idempotency_key for r in batch],
            request_hashes=[r.request_hash for r in batch],
            lease_seconds=[r.lease_seconds for r in batch],
            max_age_seconds=[r.max_age_seconds for r in batch],
            slot_seconds=[r.slot_seconds for r in batch],
            max_pacing_wait_seconds=[r.max_pacing_wait_seconds for r in batch],
            type_sent_any_time=outbound.TYPE_SENT_ANY_TIME,
            window_seconds=outbound.SERVICE_WINDOW_SECONDS,
            reengagement_code=FailureCode.REENGAGEMENT_REQUIRED.value,
            reengagement_message=outbound.REENGAGEMENT_MESSAGE,
            rate_limited_code=FailureCode.ACCOUNT_RATE_LIMITED.value,
            rate_limited_message=outbound.RATE_LIMITED_MESSAGE,
            sync_attempt=outbound.SYNC_SEND_ATTEMPT,
            sync_claim=outbound.SYNC_SEND_CLAIM,
        )
        stored = {row["id"]: StoredOutbound(rows.message(row), row["send_delay_seconds"]) for row in found}
        return [stored.get(r.message_id) for r in batch]

    async def idempotent_original(
        self, account_id: UUID, idempotency_key: str
    ) -> tuple[bytes, Message] | None:
        found = await self.statements.run(
            SQL.idempotent_original, account_id=account_id, idempotency_key=idempotency_key
        )
        return (bytes(found[0]["request_hash"]), rows.message(found[0])) if found else None

    async def record(self, outcome: SendOutcome) -> Message | None:
        """The message as recorded; None unless it was still sending under the outcome's
        claim. Concurrent calls share one statement."""
        return await self._outcomes.submit(outcome)

    async def _record_batch(self, batch: Sequence[SendOutcome]) -> list[Message | None]:
        found = await self.batches.run(
            SQL.record_outcomes,
            message_ids=[o.message_id for o in batch],
            account_ids=[o.account_id for o in batch],
            claims=[o.claim for o in batch],
            statuses=[o.status.value for o in batch],
            wa_message_ids=[o.wa_message_id for o in batch],
            error_codes=[o.error_code for o in batch],
            error_messages=[o.error_message for o in batch],
        )
        by_ordinal = {row["ordinal"]: rows.message(row) for row in found}
        return [by_ordinal.get(ordinal) for ordinal in range(1, len(batch) + 1)]
