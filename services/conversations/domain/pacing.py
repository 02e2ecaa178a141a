"""An account's send slots: how sends are spread so that all replicas together stay under
its messages per second.

`send_pacing.next_slot_at` is each account's next free slot. Slots are
(1 s + margin) / messages_per_second apart: the margin absorbs the jitter between a slot
and the request's arrival at WhatsApp, so that mps + 1 can never fall in one second. They
are handed out at most `horizon` ahead, to the outbox's claims and to synchronous sends
alike. These functions are the arithmetic; the database keeps the slots under its locks.

An account paused after a failure of the whole account (`domain/retries.py`) gets no slot while
the pause lasts, and then one: a probe, whose outcome ends the pause or starts another.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

# Before every account id: a claim that starts from the beginning.
NO_ACCOUNT = UUID(int=0)


def slot_seconds(messages_per_second: int, margin_seconds: float) -> float:
    """How far apart an account's slots are."""
    return (1 + margin_seconds) / messages_per_second


@dataclass(frozen=True, slots=True)
class Pacing:
    """An account's pacing row as a claim found it (locked), with the database's clock."""

    account_id: UUID
    next_free: datetime  # greatest(next_slot_at, now)
    now: datetime
    messages_per_second: int
    paused_until: datetime | None = None


@dataclass(frozen=True, slots=True)
class Grant:
    """Slots a claim may hand out for an account: `count`, from `start`, `interval` apart; a
    `probe` of a paused account is one message alone."""

    account_id: UUID
    start: datetime
    interval: timedelta
    count: int
    probe: bool = False

    def slot(self, position: int) -> datetime:
        return self.start + self.interval * position


def grants(
    pacing: Sequence[Pacing], workers: int, margin_seconds: float, horizon_seconds: float
) -> list[Grant]:
    """The free workers, shared between the accounts, each no further than its free slots
    within the horizon allow; an account without a free slot gets nothing, nor does one whose
    pause lasts, and one whose pause has passed gets a probe."""
    share = max(1, workers // len(pacing)) if pacing else 0
    granted = []
    for row in pacing:
        if row.paused_until is not None and row.paused_until > row.now:
            continue
        probe = row.paused_until is not None
        interval = timedelta(seconds=slot_seconds(row.messages_per_second, margin_seconds))
        ahead = (row.now + timedelta(seconds=horizon_seconds) - row.next_free).total_seconds()
        free_slots = int(ahead / interval.total_seconds()) + 1 if ahead >= 0 else 0
        count = min(1 if probe else share, free_slots)
        if count > 0:
            granted.append(Grant(row.account_id, row.next_free, interval, count, probe))
    return granted


def assign_slots(
    grants: Sequence[Grant], claimed: Iterable[UUID]
) -> tuple[list[datetime], dict[UUID, datetime]]:
    """Slots for claimed messages (their accounts, oldest message first), in order; and each
    account's next free slot after them."""
    by_account = {grant.account_id: grant for grant in grants}
    used: dict[UUID, int] = {}
    slots = []
    for account_id in claimed:
        position = used.get(account_id, 0)
        used[account_id] = position + 1
        slots.append(by_account[account_id].slot(position))
    return slots, {account_id: by_account[account_id].slot(count) for account_id, count in used.items()}


def wait_before_sending(send_delay_seconds: float, margin_seconds: float) -> float:
    """How long a synchronous send waits for its slot: not at all when the slot is less than a
    quarter of the margin away. Sent up to a quarter early it stays within the margin, as a
    claimed message sent up to three quarters late does; and a timer per send cost 0.1 ms of
    CPU at 512 clients."""
    return send_delay_seconds if send_delay_seconds > margin_seconds / 4 else 0.0


def next_claim_cursor(cursor: UUID, served: set[UUID]) -> UUID:
    """Where the next claim starts: after the last account this one served, in the order it
    took them (the ids after `cursor`, then wrapping around to those up to it), so that each
    account gets its turn."""
    wrapped = [account for account in served if account <= cursor]
    return max(wrapped) if wrapped else max(served)
