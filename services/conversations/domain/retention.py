"""What retention deletes, as records (`use_cases/retention.py` decides how much and when)."""

from dataclasses import dataclass
from uuid import UUID

# Webhook notifications done with: applied, or not a notification at all; and those whose
# applying failed for good (kept longer: their bytes are what an operator looks into).
DONE_NOTIFICATION_STATES = ("applied", "malformed")
FAILED_NOTIFICATION_STATES = ("failed",)


@dataclass(frozen=True)
class EventLog:
    """An account whose oldest event (`oldest_id`) is past the retention; events from
    `before_id` on are kept whatever their age (an enabled outbound webhook endpoint has yet to
    deliver them)."""

    account_id: UUID
    oldest_id: int
    before_id: int


@dataclass(frozen=True)
class Batch:
    """What one batch did: rows deleted, the last key it read (the next batch starts after it),
    and whether it reached the rows that stay (then the table is done for this round)."""

    deleted: int
    last_id: int
    done: bool
