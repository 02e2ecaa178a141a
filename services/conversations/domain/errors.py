"""The errors a caller can act on. Each maps to one gRPC status, in one place
(entrypoints/grpc_api.py)."""

from services.shared.vocabulary import RefusalCode, refusal_text


class DomainError(Exception):
    """Base of the errors a caller can act on; each maps to one gRPC status."""


class NotFound(DomainError):
    pass


class InvalidArgument(DomainError):
    pass


class Unauthenticated(DomainError):
    pass


class FailedPrecondition(DomainError):
    pass


class Refused(FailedPrecondition):
    """A send pigeon refuses before storing it, as WhatsApp would after the round trip."""

    def __init__(self, code: RefusalCode, message: str) -> None:
        super().__init__(refusal_text(code, message))
        self.code = code


class EventsGone(DomainError):
    """Events a watch asked for were deleted (retention): the caller reloads what it shows
    and resumes after the oldest event kept."""

    def __init__(self, first_kept_id: int) -> None:
        super().__init__(
            f"events before {first_kept_id} are no longer kept:"
            f" reload, then resume with since={first_kept_id - 1}"
        )
        self.first_kept_id = first_kept_id


class Conflict(DomainError):
    """The idempotency key was used with another request."""


class VersionMismatch(DomainError):
    """A conditional write (`If-Match`) based on a version of the conversation that is no
    longer its own: read it again."""


class Unavailable(DomainError):
    """A part pigeon depends on (the database) is away; nothing was written. Retry later."""


class OutcomeUnknown(DomainError):
    """A send was made (WhatsApp may have it) but its outcome could not be stored in time: the
    caller must not send it again under another key, but retry with the same one, or read it."""
