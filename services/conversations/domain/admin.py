"""Administration's records and rules: accounts as operators see them (no token, no secret),
API keys with their scopes, and what a new or changed account may hold."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from services.conversations.domain.errors import InvalidArgument
from services.shared.vocabulary import API_KEY_SCOPES, ApiKeyScope

DEFAULT_MESSAGES_PER_SECOND = 80
# Cloud API takes up to 80 messages per second per number by default, 1,000 after Meta's
# automatic upgrade (developers.facebook.com/documentation/business-messaging/whatsapp/throughput).
# More is allowed for benchmarks against the simulator, where pacing should not be what is measured.
MAX_MESSAGES_PER_SECOND = 100_000
MAX_NAME_LENGTH = 200
# Meta's ids (phone number, WABA) are digits; its access tokens run to a few hundred characters.
MAX_ID_LENGTH = 32
MAX_SECRET_LENGTH = 4096


@dataclass(frozen=True, slots=True)
class AdminAccount:
    id: UUID
    name: str
    phone_number_id: str
    display_phone_number: str
    waba_id: str
    messages_per_second: int
    created_at: datetime
    active_api_keys: int


@dataclass(frozen=True, slots=True)
class NewAccount:
    """A valid account to create; its secrets in the clear (the store encrypts them)."""

    name: str
    phone_number_id: str
    display_phone_number: str
    waba_id: str
    access_token: str
    app_secret: str
    messages_per_second: int


@dataclass(frozen=True, slots=True)
class AccountChanges:
    """What to change of an account; None keeps a field."""

    name: str | None = None
    display_phone_number: str | None = None
    waba_id: str | None = None
    access_token: str | None = None
    app_secret: str | None = None
    messages_per_second: int | None = None


@dataclass(frozen=True, slots=True)
class ApiKey:
    id: UUID
    account_id: UUID
    prefix: str
    scopes: tuple[ApiKeyScope, ...]
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class KeyGrant:
    """What an API key that works grants: its account, and what it may do there."""

    account_id: UUID
    scopes: tuple[ApiKeyScope, ...]


def parse_scopes(scopes: Sequence[str]) -> tuple[ApiKeyScope, ...]:
    """Known scopes in their canonical order, each once; none given means all of them."""
    unknown = [s for s in scopes if s not in API_KEY_SCOPES]
    if unknown:
        raise InvalidArgument(
            f"scopes: unknown scope {unknown[0][:32]!r}; known: {', '.join(API_KEY_SCOPES)}"
        )
    return tuple(s for s in ApiKeyScope if s in scopes) if scopes else API_KEY_SCOPES


def _text(field: str, value: str, max_length: int, *, required: bool) -> str:
    value = value.strip()
    if required and not value:
        raise InvalidArgument(f"{field} is required")
    if len(value) > max_length:
        raise InvalidArgument(f"{field} is longer than {max_length} characters")
    if any(ord(c) < 0x20 for c in value):
        raise InvalidArgument(f"{field} must not contain control characters")
    return value


def _digits(field: str, value: str, *, required: bool) -> str:
    value = _text(field, value, MAX_ID_LENGTH, required=required)
    if value and not (value.isascii() and value.isdigit()):
        raise InvalidArgument(f"{field} must be Meta's id: digits only")
    return value


def _secret(field: str, value: str) -> str:
    # An empty app secret would let anyone sign webhooks (migration 0016); an empty token sends nothing.
    return _text(field, value, MAX_SECRET_LENGTH, required=True)


def _rate(value: int) -> int:
    if not 1 <= value <= MAX_MESSAGES_PER_SECOND:
        raise InvalidArgument(f"messages_per_second must be 1 to {MAX_MESSAGES_PER_SECOND}")
    return value


def new_account(
    name: str,
    phone_number_id: str,
    display_phone_number: str,
    waba_id: str,
    access_token: str,
    app_secret: str,
    messages_per_second: int | None,
) -> NewAccount:
    return NewAccount(
        name=_text("name", name, MAX_NAME_LENGTH, required=True),
        phone_number_id=_digits("phone_number_id", phone_number_id, required=True),
        display_phone_number=_text("display_phone_number", display_phone_number, 32, required=False),
        waba_id=_digits("waba_id", waba_id, required=False),
        access_token=_secret("access_token", access_token),
        app_secret=_secret("app_secret", app_secret),
        messages_per_second=_rate(
            DEFAULT_MESSAGES_PER_SECOND if messages_per_second is None else messages_per_second
        ),
    )


def account_changes(changes: AccountChanges) -> AccountChanges:
    """The changes, each checked as at creation."""

    return AccountChanges(
        name=None if changes.name is None else _text("name", changes.name, MAX_NAME_LENGTH, required=True),
        display_phone_number=None
        if changes.display_phone_number is None
        else _text("display_phone_number", changes.display_phone_number, 32, required=False),
        waba_id=None if changes.waba_id is None else _digits("waba_id", changes.waba_id, required=False),
        access_token=None if changes.access_token is None else _secret("access_token", changes.access_token),
        app_secret=None if changes.app_secret is None else _secret("app_secret", changes.app_secret),
        messages_per_second=None
        if changes.messages_per_second is None
        else _rate(changes.messages_per_second),
    )
