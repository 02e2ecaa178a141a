"""The 24 h customer service window, as a filter of conversation lists.

Meta allows a free-form message only within 24 h of the customer's last message; after that only
a template (error 131047; /work/shared/whatsapp-cloud-api.md, "Limits"). A conversation shows
when its window closes (`window_expires_at`, none when the customer never wrote) and whether a
free-form message may be sent now (`can_send_free_form`); PostgreSQL computes both, at the time
of the statement that reads them (migration 0013), and filters on them the same way.

A filter keeps the conversations whose window closes in [expires_after, expires_before) and, when
`can_send_free_form` is set, is open (closes now or later) or closed. A conversation without a
window counts as closed since ever: it is kept by `expires_before` and by `can_send_free_form`
false, never by `expires_after`. So `can_send_free_form=true` is `expires_after=<now>` and
`false` is `expires_before=<now>`.
"""

from dataclasses import dataclass
from datetime import datetime

from services.conversations.domain.errors import InvalidArgument


@dataclass(frozen=True, slots=True)
class WindowFilter:
    can_send_free_form: bool | None = None
    # Inclusive.
    expires_after: datetime | None = None
    # Exclusive.
    expires_before: datetime | None = None

    def __post_init__(self) -> None:
        if (
            self.expires_after is not None
            and self.expires_before is not None
            and self.expires_after >= self.expires_before
        ):
            raise InvalidArgument("window_expires_after must be before window_expires_before")

    @property
    def bounded_below(self) -> bool:
        """Keeps only windows that close at some time or later (never a conversation without
        one): typically the few customers who wrote lately, rather than most of an account."""
        return self.expires_after is not None or self.can_send_free_form is True

    def keeps(self, window_expires_at: datetime | None, now: datetime) -> bool:
        """Whether a conversation whose window closes at `window_expires_at` is kept at `now`
        (what list_conversations_by_window in reads.sql decides, for the fakes of the tests)."""
        if window_expires_at is None:
            return self.expires_after is None and self.can_send_free_form is not True
        if self.expires_after is not None and window_expires_at < self.expires_after:
            return False
        if self.expires_before is not None and window_expires_at >= self.expires_before:
            return False
        return self.can_send_free_form is None or (window_expires_at >= now) == self.can_send_free_form


NO_FILTER = WindowFilter()
