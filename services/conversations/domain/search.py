"""What a message search looks for (GET /messages/search)."""

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from services.conversations.domain.errors import InvalidArgument
from services.shared.vocabulary import MAX_SEARCH_CHARS


@dataclass(frozen=True, slots=True)
class MessageSearch:
    """Messages whose text body or media caption matches `q`, in PostgreSQL's websearch syntax
    (words all present, "a phrase", `or`, `-word` absent), compared word by word without
    stemming; of `conversation_id` only, and created in [since, until), when given."""

    q: str
    conversation_id: UUID | None = None
    since: datetime | None = None
    until: datetime | None = None

    def __post_init__(self) -> None:
        if not 0 < len(self.q) <= MAX_SEARCH_CHARS:
            raise InvalidArgument(f"q must be 1 to {MAX_SEARCH_CHARS} characters")
        if "\x00" in self.q:
            raise InvalidArgument("q must not contain the character U+0000")
        if self.since is not None and self.until is not None and self.since >= self.until:
            raise InvalidArgument("until must be after since")
