"""How a message's delivery status moves when WhatsApp reports one: forward only.

sent < delivered < read; failed is final, but never comes after read. So a late or repeated
webhook never takes a message back, and a duplicate changes nothing. The one step back: a
failure pigeon concluded itself (no answer in time, the sender unreachable, the validity
period over, ...) gives way to WhatsApp's word that it has the message after all (sent,
delivered or read), and the error is cleared. WhatsApp's own failure codes are never
overridden. A queued message (its last attempt's outcome unknown, say) moves too: out of the
queue, so the outbox does not send it again.

Reports that arrive together (one batch) are applied in one order, by rank then time, so
the outcome does not depend on the order they came in; each timestamp comes from its own
report (a batch with sent, delivered and read sets all three).
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from services.shared.vocabulary import concluded_by_pigeon

RANKS = {"sent": 1, "delivered": 2, "read": 3, "failed": 4}
REPORTED = frozenset(RANKS)  # the statuses WhatsApp's webhooks report


def rank(status: str) -> int:
    """queued, sending and received (not yet reported by WhatsApp) are 0."""
    return RANKS.get(status, 0)


@dataclass(frozen=True, slots=True)
class StatusReport:
    """One status from a webhook: `status` is one of REPORTED."""

    status: str
    wa_message_id: str
    at: datetime
    error_code: str | None = None
    error_message: str | None = None


@dataclass(frozen=True, slots=True)
class Delivery:
    """The part of an outbound message that its statuses change."""

    status: str
    wa_message_id: str | None
    sent_at: datetime | None
    delivered_at: datetime | None
    read_at: datetime | None
    failed_at: datetime | None
    error_code: str | None
    error_message: str | None


def moves(current: Delivery, report: StatusReport) -> bool:
    """Whether the report takes the message forward (see the module's docstring)."""
    if report.status == "failed" and current.status == "read":
        return False
    if rank(report.status) > rank(current.status):
        return True
    return (
        current.status == "failed" and report.status != "failed" and concluded_by_pigeon(current.error_code)
    )


def after(current: Delivery, report: StatusReport) -> Delivery:
    """The message once `report` is applied (only when it `moves` it)."""
    failed = report.status == "failed"
    was_failed = current.status == "failed"
    return Delivery(
        status=report.status,
        wa_message_id=current.wa_message_id or report.wa_message_id,
        sent_at=current.sent_at or (None if failed else report.at),
        delivered_at=current.delivered_at or (report.at if report.status in ("delivered", "read") else None),
        read_at=current.read_at or (report.at if report.status == "read" else None),
        failed_at=report.at if failed else (None if was_failed else current.failed_at),
        # Any other step clears the error: pigeon's conclusion of a failure, or the failure of
        # an attempt that left the message queued (WhatsApp had it after all).
        error_code=report.error_code if failed else None,
        error_message=report.error_message if failed else None,
    )


def _order(report: StatusReport) -> tuple[int, datetime, str, str]:
    return (rank(report.status), report.at, report.error_code or "", report.error_message or "")


def advance(current: Delivery, reports: Iterable[StatusReport]) -> tuple[Delivery, list[bool]]:
    """The message after every report, applied by rank then time; and, for each report in
    the order given, whether it moved the message."""
    indexed = sorted(enumerate(reports), key=lambda pair: _order(pair[1]))
    moved = [False] * len(indexed)
    state = current
    for index, report in indexed:
        if moves(state, report):
            state = after(state, report)
            moved[index] = True
    return state, moved
