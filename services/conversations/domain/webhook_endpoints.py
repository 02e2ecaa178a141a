"""Outbound webhooks: the decisions, apart from HTTP and SQL.

An endpoint is a customer's URL that gets the account's events, signed the Standard Webhooks
way. This module decides which events an endpoint takes, which URLs and addresses it may
have, what an attempt's answer means, when the next attempt is due, how deliveries run side
by side without reordering a conversation, and how far the endpoint's cursor moves.
"""

import base64
import hashlib
import hmac
import ipaddress
import random
import secrets
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import StrEnum
from urllib.parse import urlsplit
from uuid import UUID

import orjson

from services.conversations.domain.errors import InvalidArgument
from services.shared.vocabulary import EVENT_TYPES

MAX_URL_LENGTH = 2048
MAX_EVENT_PATTERNS = 32
MAX_DESCRIPTION_LENGTH = 256
SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
# A response body is read no further than this (its text is never kept).
MAX_RESPONSE_BYTES = 64 * 1024
# The longest Retry-After honoured: a receiver cannot park an endpoint for longer.
MAX_RETRY_AFTER_SECONDS = 86400.0


class DisabledReason(StrEnum):
    # PATCH {"enabled": false}.
    BY_REQUEST = "by_request"
    # The receiver answered 410 Gone.
    GONE = "gone"
    # Every attempt failed for the whole retry window.
    FAILING = "failing"


@dataclass(frozen=True)
class WebhookEndpoint:
    id: UUID
    url: str
    events: tuple[str, ...]
    description: str
    enabled: bool
    disabled_reason: str | None
    # Every event up to this id has been delivered or was not for this endpoint.
    last_event_id: int
    failures: int
    failing_since: datetime | None
    next_attempt_at: datetime | None
    created_at: datetime
    updated_at: datetime
    # Only when just made: at creation and rotation.
    secret: str | None = None


@dataclass(frozen=True)
class ClaimedEndpoint:
    """An endpoint a worker holds the lease of, with what its deliveries need."""

    id: UUID
    account_id: UUID
    url: str
    event_types: tuple[str, ...]
    # Signing secrets: the endpoint's own first, then one still in its grace period.
    secrets: tuple[str, ...]
    last_event_id: int
    done_ids: tuple[int, ...]
    failures: int
    failing_for_seconds: float
    # The claim: writes of the run hold only while the endpoint is unchanged since.
    generation: int


@dataclass(frozen=True)
class Attempt:
    """One delivery attempt: to log, or as the deliveries list shows it (with its id)."""

    event_id: int | None
    event_type: str
    webhook_id: str
    attempted_at: datetime
    http_status: int | None
    latency_ms: float
    error: str | None
    succeeded: bool
    id: int = 0


# --- which events an endpoint takes ---

_FAMILIES = frozenset(event_type.split(".", 1)[0] for event_type in EVENT_TYPES)


def parse_event_patterns(patterns: Sequence[str]) -> tuple[str, ...]:
    """The patterns an endpoint subscribes with: an event type ("message.sent"), a family of
    them ("message.*") or every event ("*"). Unknown ones are refused, not ignored."""
    if not patterns:
        raise InvalidArgument("events must name at least one event type")
    if len(patterns) > MAX_EVENT_PATTERNS:
        raise InvalidArgument(f"events takes at most {MAX_EVENT_PATTERNS} patterns")
    for pattern in patterns:
        family, _, rest = pattern.partition(".")
        known = pattern == "*" or pattern in EVENT_TYPES or (rest == "*" and family in _FAMILIES)
        if not known:
            raise InvalidArgument(
                f"events: {pattern[:64]!r} is not an event type, a family such as 'message.*', or '*'"
            )
    return tuple(dict.fromkeys(patterns))


def takes(patterns: Iterable[str], event_type: str) -> bool:
    family = event_type.split(".", 1)[0]
    return any(p == "*" or p == event_type or p == family + ".*" for p in patterns)


# --- which URLs and addresses ---


# NAT64 prefixes (RFC 6052's well-known one and RFC 8215's local-use one).
_NAT64 = (ipaddress.IPv6Network("64:ff9b::/96"), ipaddress.IPv6Network("64:ff9b:1::/48"))


def address_allowed(address: str, allow_private: bool) -> bool:
    """Whether a delivery may connect to this IP address: public ones only, unless the
    setting allows private ones (tests, `make run`). Loopback, private, link-local (the cloud
    metadata address among them), shared, multicast and reserved ranges are refused, and so
    is an IPv6 address that wraps one of them (mapped, 6to4, Teredo, NAT64)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        wrapped = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if wrapped is None and any(ip in prefix for prefix in _NAT64):
            # A NAT64 gateway would translate it to the IPv4 address in its last 32 bits.
            wrapped = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if wrapped is not None:
            return address_allowed(str(wrapped), allow_private)
    if ip.is_global and not ip.is_multicast:
        return True
    return allow_private and not ip.is_multicast and not ip.is_unspecified


def parse_endpoint_url(url: str, allow_insecure: bool) -> str:
    """An endpoint's URL: absolute https (http too when allowed), a host, no credentials; an
    address given as such must be one a delivery may connect to. Names are checked when a
    delivery connects, since what they resolve to can change."""
    if len(url) > MAX_URL_LENGTH:
        raise InvalidArgument(f"url is longer than {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 -- raises on a malformed port
    except ValueError:
        raise InvalidArgument("url is not a valid URL") from None
    schemes = ("https", "http") if allow_insecure else ("https",)
    if parts.scheme not in schemes:
        raise InvalidArgument("url must be an https:// URL")
    if not host:
        raise InvalidArgument("url has no host")
    if parts.username is not None or parts.password is not None:
        raise InvalidArgument("url must not carry credentials; the signature authenticates pigeon")
    if any(c.isspace() or unicodedata.category(c) == "Cc" for c in url):
        raise InvalidArgument("url must not contain whitespace or control characters")
    if is_ip(host) and not address_allowed(host, allow_insecure):
        raise InvalidArgument("url points at an address deliveries may not reach")
    return url


def is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


# --- signing (Standard Webhooks) ---


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def signature(secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    """`v1,<base64 HMAC-SHA256>` of `id.timestamp.body`, keyed with the secret's bytes."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def signed_headers(
    secrets_in_use: Sequence[str], webhook_id: str, timestamp: int, body: bytes
) -> dict[str, str]:
    """The Standard Webhooks headers of one attempt. The signature header carries every
    secret's signature, space-separated: during a rotation's grace period a receiver holding
    either secret verifies the delivery."""
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(signature(s, webhook_id, timestamp, body) for s in secrets_in_use),
    }


def delivery_body(event_type: str, created_at: datetime, data_json: bytes) -> bytes:
    """The body: the event's type, when it happened, and the same `data` the WebSocket sends."""
    timestamp = created_at.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
    return orjson.dumps({"type": event_type, "timestamp": timestamp, "data": orjson.Fragment(data_json)})


def webhook_id(endpoint_id: UUID, event_id: int) -> str:
    """The same for every attempt of one event at one endpoint: a receiver drops repeats by it."""
    return f"msg_{endpoint_id.hex}_{event_id}"


# --- what an answer means, and when to try again ---


class Verdict(StrEnum):
    DELIVERED = "delivered"
    RETRY = "retry"
    GONE = "gone"


@dataclass(frozen=True)
class AttemptResult:
    """What one HTTP attempt came to: a status, or an error (no answer, or one not taken)."""

    http_status: int | None
    latency_ms: float
    error: str | None = None
    retry_after_seconds: float | None = None

    @property
    def verdict(self) -> Verdict:
        if self.error is None and self.http_status is not None and 200 <= self.http_status < 300:
            return Verdict.DELIVERED
        if self.http_status == 410:
            return Verdict.GONE
        # Timeouts, connection errors, 429, 5xx; and any other answer, so that nothing is
        # dropped on a receiver's misconfiguration (a 3xx is never followed).
        return Verdict.RETRY


@dataclass(frozen=True)
class RetrySchedule:
    """Exponential backoff with jitter: the n-th failure in a row waits between half and all of
    base * 2^(n-1), capped at `max_seconds`, or the receiver's Retry-After if longer. An
    endpoint still failing `window_seconds` after its first failure is disabled."""

    base_seconds: float
    max_seconds: float
    window_seconds: float

    def delay(self, failures: int, retry_after_seconds: float | None, rng: random.Random) -> float:
        ceiling = min(self.base_seconds * 2 ** min(failures - 1, 60), self.max_seconds)
        delay = ceiling * (0.5 + rng.random() / 2)
        if retry_after_seconds is not None:
            delay = max(delay, min(retry_after_seconds, MAX_RETRY_AFTER_SECONDS))
        return delay

    def gives_up(self, failing_for_seconds: float) -> bool:
        return failing_for_seconds >= self.window_seconds


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Retry-After as seconds from now: delay-seconds or an HTTP date; None if absent or bad."""
    if not value:
        return None
    seconds = value.strip()
    if seconds.isascii() and seconds.isdigit():
        return float(seconds)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max((when - now).total_seconds(), 0.0)


# --- running deliveries side by side, in order per conversation ---


@dataclass(frozen=True)
class PendingEvent:
    id: int
    type: str
    conversation_id: UUID | None
    data_json: bytes
    created_at: datetime


def lanes(events: Sequence[PendingEvent]) -> list[list[PendingEvent]]:
    """Events split by conversation, each lane in id order: lanes may run side by side, the
    events of a lane one after another. Events of no conversation share one lane."""
    by_conversation: dict[UUID | None, list[PendingEvent]] = {}
    for event in events:
        by_conversation.setdefault(event.conversation_id, []).append(event)
    return list(by_conversation.values())


@dataclass
class Progress:
    """An endpoint's cursor: every event up to `cursor` is done (delivered, or not for this
    endpoint); `done` holds those beyond it, done out of order by parallel lanes."""

    cursor: int
    done: set[int] = field(default_factory=set)

    def is_done(self, event_id: int) -> bool:
        return event_id <= self.cursor or event_id in self.done

    def mark_done(self, event_id: int) -> None:
        if event_id > self.cursor:
            self.done.add(event_id)

    def advance(self, read: Sequence[int]) -> None:
        """Moves the cursor over the ids read (in order) that are done, up to the first that is not."""
        for event_id in read:
            if event_id <= self.cursor:
                continue
            if event_id not in self.done:
                break
            self.done.discard(event_id)
            self.cursor = event_id

    def done_ids(self) -> list[int]:
        return sorted(self.done)
