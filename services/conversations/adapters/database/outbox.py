"""The outbox's queue (`outbox.sql`): the message rows themselves, claimed with a lease.

A claim is one transaction: the accounts with due work and a free slot, their pacing rows
locked (in account order), the claimed rows (`FOR UPDATE SKIP LOCKED`, so any number of
replicas share the work) and the pacing rows moved past the slots handed out. The slots
themselves are `domain/pacing.py`'s arithmetic.
"""

from collections.abc import Sequence
from uuid import UUID

from services.conversations.adapters.database.pool import StatementPool
from services.conversations.adapters.database.queries import Queries
from services.conversations.domain import pacing
from services.conversations.domain.model import ClaimedMessage, Content

SQL = Queries("outbox.sql")


class OutboxQueue:
    def __init__(self, pool: StatementPool) -> None:
        self.pool = pool

    async def claim(
        self,
        workers: int,
        lease_seconds: float,
        margin_seconds: float,
        horizon_seconds: float,
        after_account: UUID = pacing.NO_ACCOUNT,
    ) -> list[ClaimedMessage]:
        """Claims up to `workers` due messages, shared fairly between accounts (taken in id
        order from after `after_account`, wrapping around), each with a send slot that keeps
        its account under its messages-per-second limit across every replica."""
        async with self.pool.transaction() as transaction:
            due = await transaction.run(
                SQL.due_accounts,
                max_accounts=workers,
                after_account=after_account,
                horizon_seconds=horizon_seconds,
            )
            if not due:
                return []
            locked = await transaction.run(SQL.lock_pacing, account_ids=[row["account_id"] for row in due])
            grants = pacing.grants(
                [
                    pacing.Pacing(
                        row["account_id"],
                        row["next_free"],
                        row["now"],
                        row["messages_per_second"],
                        row["paused_until"],
                    )
                    for row in locked
                ],
                workers,
                margin_seconds,
                horizon_seconds,
            )
            if not grants:
                return []
            claimed = await transaction.run(
                SQL.claim,
                account_ids=[grant.account_id for grant in grants],
                counts=[grant.count for grant in grants],
                lease_seconds=lease_seconds,
            )
            claimed = sorted(claimed, key=lambda row: row["created_at"])  # oldest first: earliest slot
            slots, next_slots = pacing.assign_slots(grants, [row["account_id"] for row in claimed])
            probes = {grant.account_id for grant in grants if grant.probe}
            if next_slots:
                await transaction.run(
                    SQL.advance_pacing,
                    account_ids=list(next_slots),
                    next_slots=list(next_slots.values()),
                    probes=[account_id in probes for account_id in next_slots],
                    lease_seconds=lease_seconds,
                )
            return [
                ClaimedMessage(
                    id=row["id"],
                    account_id=row["account_id"],
                    contact_wa_id=row["contact_wa_id"] or "",
                    contact_user_id=row["contact_user_id"] or "",
                    content=Content(row["type"], row["body"].encode(), row["reply_to_wa_message_id"]),
                    attempts=row["attempts"],
                    claim=row["claim"],
                    # Counted from the end of the claim, not its start: a claim that took long
                    # must not push its slots onto the next claim's.
                    send_delay_seconds=(slot - row["answered_at"]).total_seconds(),
                    expires_in_seconds=(row["expires_at"] - row["now"]).total_seconds(),
                    probe=row["account_id"] in probes,
                )
                for row, slot in zip(claimed, slots, strict=True)
            ]

    async def requeue(
        self,
        message: ClaimedMessage,
        delay_seconds: float,
        error_code: str,
        error_message: str,
        attempt_given_back: bool = False,
    ) -> bool:
        """Back to the queue after a retryable failure, or an account's (`attempt_given_back`);
        False when the claim was taken over."""
        found = await self.pool.run(
            SQL.requeue,
            account_id=message.account_id,
            message_id=message.id,
            claim=message.claim,
            delay_seconds=delay_seconds,
            attempts_given_back=int(attempt_given_back),
            error_code=error_code,
            error_message=error_message,
        )
        return bool(found)

    async def pause_recipient(self, message: ClaimedMessage, delay_seconds: float) -> None:
        """The queued messages to the same recipient as `message` wait too."""
        await self.pool.run(
            SQL.pause_recipient,
            account_id=message.account_id,
            contact_wa_id=message.contact_wa_id or None,
            contact_user_id=message.contact_user_id or None,
            delay_seconds=delay_seconds,
        )

    async def pause_account(self, account_id: UUID, delay_seconds: float) -> None:
        """No claim takes the account's messages for `delay_seconds`; then one, a probe."""
        await self.pool.run(SQL.pause_account, account_id=account_id, delay_seconds=delay_seconds)

    async def end_account_pause(self, account_id: UUID) -> bool:
        """The account's queued messages go on; whether it was paused."""
        return bool(await self.pool.run(SQL.end_account_pause, account_id=account_id))

    async def pass_probe(self, account_id: UUID, lease_seconds: float) -> None:
        """A paused account's probe got no answer: the next claim takes another."""
        await self.pool.run(SQL.pass_probe, account_id=account_id, lease_seconds=lease_seconds)

    async def requeue_expired_leases(self, delay_seconds: float) -> int:
        """Claims whose lease ran out back to the queue, due in `delay_seconds`: WhatsApp may
        have them, and a status webhook may settle them first."""
        found = await self.pool.run(SQL.requeue_expired_leases, delay_seconds=delay_seconds)
        return int(found[0][0])

    async def release(self, claims: Sequence[ClaimedMessage]) -> None:
        """Puts claimed messages back in the queue, their attempt not counted; only those still
        under these claims: a claim taken over stays with its new owner."""
        await self.pool.run(SQL.release, message_ids=[c.id for c in claims], claims=[c.claim for c in claims])

    async def queue_depth(self) -> tuple[int, float, int]:
        """How many messages are queued, how old the oldest is (seconds), and how many accounts
        are paused."""
        [(depth, oldest, paused)] = await self.pool.run(SQL.queue_depth)
        return int(depth), float(oldest), int(paused)

    async def seconds_until_next_due(self) -> float | None:
        found = await self.pool.run(SQL.next_due)
        return None if found[0][0] is None else max(0.0, float(found[0][0]))
