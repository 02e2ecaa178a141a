"""The simulator's settings: latency, random failures, throughput, webhooks, media and phone numbers.

One `SimConfig` object is shared by the running app and mutated in place by the
`/_sim/` control endpoints, so tests holding a reference always see the live values.
"""

import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

import orjson

from services.shared.settings import env

_NUMBER = r"\d+(?:\.\d+)?"
_FIXED = re.compile(rf"({_NUMBER})")
_RANGE = re.compile(rf"({_NUMBER})-({_NUMBER})")
_NORMAL = re.compile(rf"normal:({_NUMBER}):({_NUMBER})")
_LATENCY_FORMS = (
    "expected 'MS' (e.g. '500'), 'MIN-MAX' (e.g. '500-800') or 'normal:MEAN:STDDEV', in milliseconds"
)


@dataclass(frozen=True, slots=True)
class Latency:
    """A delay distribution in milliseconds. Build it with `parse_latency`.

    fixed: `a_ms`; uniform: between `a_ms` and `b_ms`; normal: mean `a_ms`, stddev `b_ms`, clipped at 0.
    """

    kind: Literal["fixed", "uniform", "normal"] = "fixed"
    a_ms: float = 0.0
    b_ms: float = 0.0

    def sample_seconds(self) -> float:
        if self.kind == "fixed":
            return self.a_ms / 1000.0
        if self.kind == "uniform":
            return random.uniform(self.a_ms, self.b_ms) / 1000.0
        return max(0.0, random.gauss(self.a_ms, self.b_ms)) / 1000.0

    def __str__(self) -> str:
        """The spec string `parse_latency` accepts, so the config round-trips through JSON."""
        if self.kind == "fixed":
            return _ms(self.a_ms)
        if self.kind == "uniform":
            return f"{_ms(self.a_ms)}-{_ms(self.b_ms)}"
        return f"normal:{_ms(self.a_ms)}:{_ms(self.b_ms)}"


def _ms(value: float) -> str:
    return str(int(value)) if value.is_integer() else str(value)


def parse_latency(raw: str) -> Latency:
    """Parses "0", "500" (fixed), "500-800" (uniform) or "normal:600:100" (gaussian), all in ms."""
    spec = raw.strip()
    if match := _FIXED.fullmatch(spec):
        return Latency("fixed", float(match[1]))
    if match := _RANGE.fullmatch(spec):
        low, high = float(match[1]), float(match[2])
        if low > high:
            raise ValueError(f"latency {raw!r}: range minimum {match[1]} is above maximum {match[2]}")
        return Latency("uniform", low, high)
    if match := _NORMAL.fullmatch(spec):
        return Latency("normal", float(match[1]), float(match[2]))
    raise ValueError(f"latency {raw!r} is not valid: {_LATENCY_FORMS}")


@dataclass(slots=True)
class PhoneNumber:
    """A business phone number the simulator accepts sends for. `mps` None follows `default_mps`."""

    access_token: str
    mps: int | None = None
    display_phone_number: str = ""
    # Signs this number's webhooks, as Meta signs with the app's secret. Without one the number
    # gets no status webhooks: an unsigned notification would only test the receiver's refusal.
    app_secret: str = ""
    # The WhatsApp Business Account id in the webhooks' `entry[].id`; `parse_phone_number` derives
    # one from the phone number id when none is given.
    waba_id: str = ""


StatusDelays = tuple[int, int, int]


@dataclass(slots=True)
class SimConfig:
    latency: Latency = field(default_factory=Latency)
    # Fraction of otherwise successful sends that fail at random with `error_code`.
    error_rate: float = 0.0
    error_code: int = 131000
    # Messages per second per phone number, Meta's default throughput.
    default_mps: int = 80
    phone_numbers: dict[str, PhoneNumber] = field(default_factory=dict)
    # Where status and inbound webhooks are POSTed (pigeon's `/webhooks/whatsapp`); empty sends none.
    webhook_url: str = ""
    # Milliseconds after a send is answered at which its sent, delivered and read statuses go out.
    status_delays_ms: StatusDelays = (20, 60, 120)
    # False stops at delivered, like a recipient with read receipts turned off.
    send_read: bool = True
    # Retries of a webhook POST that failed, the waits doubling from 0.2 s (Meta retries for days;
    # the default keeps tests short, a soak through gateway restarts wants more).
    webhook_retries: int = 3
    # Every webhook POST is delivered twice: Meta's delivery is at least once.
    webhook_duplicates: bool = False
    # A message's statuses go out newest first (read, delivered, sent) at the same delays:
    # Meta does not guarantee their order.
    webhook_out_of_order: bool = False
    # Media (media.py): how long a retrieved download URL works, how long a media id lives (Meta:
    # 7 days for a webhook's, 30 for an upload's), and the bytes kept for them all, oldest evicted
    # first. Settings so that tests can shorten them.
    media_url_seconds: int = 300
    webhook_media_seconds: int = 7 * 24 * 3600
    uploaded_media_seconds: int = 30 * 24 * 3600
    media_budget_bytes: int = 1 << 30

    @classmethod
    def from_env(cls) -> "SimConfig":
        """Reads SIM_LATENCY, SIM_ERROR_RATE, SIM_ERROR_CODE, SIM_DEFAULT_MPS, SIM_PHONE_NUMBERS,
        SIM_WEBHOOK_URL, SIM_STATUS_DELAYS_MS, SIM_SEND_READ, SIM_WEBHOOK_DUPLICATES, SIM_WEBHOOK_RETRIES,
        SIM_WEBHOOK_OUT_OF_ORDER, SIM_MEDIA_URL_SECONDS, SIM_WEBHOOK_MEDIA_SECONDS,
        SIM_UPLOADED_MEDIA_SECONDS and SIM_MEDIA_BUDGET_BYTES."""
        return cls(
            latency=env("SIM_LATENCY", Latency(), parse_latency),
            error_rate=env("SIM_ERROR_RATE", 0.0, _parse_error_rate),
            error_code=env("SIM_ERROR_CODE", 131000, _parse_positive_int),
            default_mps=env("SIM_DEFAULT_MPS", 80, _parse_positive_int),
            phone_numbers=env("SIM_PHONE_NUMBERS", {}, parse_phone_numbers),
            webhook_url=env("SIM_WEBHOOK_URL", "", check_webhook_url),
            status_delays_ms=env("SIM_STATUS_DELAYS_MS", (20, 60, 120), parse_status_delays),
            send_read=env("SIM_SEND_READ", True, _parse_bool),
            webhook_duplicates=env("SIM_WEBHOOK_DUPLICATES", False, _parse_bool),
            webhook_retries=env("SIM_WEBHOOK_RETRIES", 3, _parse_positive_int),
            webhook_out_of_order=env("SIM_WEBHOOK_OUT_OF_ORDER", False, _parse_bool),
            media_url_seconds=env("SIM_MEDIA_URL_SECONDS", 300, _parse_positive_int),
            webhook_media_seconds=env("SIM_WEBHOOK_MEDIA_SECONDS", 7 * 24 * 3600, _parse_positive_int),
            uploaded_media_seconds=env("SIM_UPLOADED_MEDIA_SECONDS", 30 * 24 * 3600, _parse_positive_int),
            media_budget_bytes=env("SIM_MEDIA_BUDGET_BYTES", 1 << 30, _parse_positive_int),
        )

    def mps_for(self, number: PhoneNumber) -> int:
        return number.mps if number.mps is not None else self.default_mps

    def public(self) -> dict[str, Any]:
        """The config as JSON-ready data, without access tokens or app secrets."""
        return {
            "latency": str(self.latency),
            "error_rate": self.error_rate,
            "error_code": self.error_code,
            "default_mps": self.default_mps,
            "webhook_url": self.webhook_url,
            "status_delays_ms": list(self.status_delays_ms),
            "send_read": self.send_read,
            "webhook_duplicates": self.webhook_duplicates,
            "webhook_retries": self.webhook_retries,
            "webhook_out_of_order": self.webhook_out_of_order,
            "media_url_seconds": self.media_url_seconds,
            "webhook_media_seconds": self.webhook_media_seconds,
            "uploaded_media_seconds": self.uploaded_media_seconds,
            "media_budget_bytes": self.media_budget_bytes,
            "phone_numbers": {
                phone_number_id: {
                    "mps": self.mps_for(number),
                    "display_phone_number": number.display_phone_number,
                    "waba_id": number.waba_id,
                    "has_app_secret": bool(number.app_secret),
                }
                for phone_number_id, number in self.phone_numbers.items()
            },
        }

    def patch(self, changes: Mapping[str, Any]) -> None:
        """Applies a partial update; checks every field first so a bad one changes nothing."""
        unknown = set(changes) - _PATCHABLE
        if unknown:
            raise ValueError(f"unknown config fields: {', '.join(sorted(unknown))}")
        latency = self.latency
        if "latency" in changes:
            value = changes["latency"]
            if isinstance(value, bool) or not isinstance(value, str | int | float):
                raise ValueError("latency must be a string such as '500' or '500-800'")
            latency = parse_latency(str(value))
        error_rate = self.error_rate
        if "error_rate" in changes:
            value = changes["error_rate"]
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError("error_rate must be a number between 0 and 1")
            error_rate = _check_error_rate(float(value))
        error_code = _int_field(changes, "error_code", self.error_code)
        default_mps = _int_field(changes, "default_mps", self.default_mps)
        webhook_url = self.webhook_url
        if "webhook_url" in changes:
            value = changes["webhook_url"]
            if not isinstance(value, str):
                raise ValueError("webhook_url must be a string (empty to send no webhooks)")
            webhook_url = check_webhook_url(value)
        status_delays_ms = self.status_delays_ms
        if "status_delays_ms" in changes:
            status_delays_ms = check_status_delays(changes["status_delays_ms"])
        send_read = _bool_field(changes, "send_read", self.send_read)
        duplicates = _bool_field(changes, "webhook_duplicates", self.webhook_duplicates)
        out_of_order = _bool_field(changes, "webhook_out_of_order", self.webhook_out_of_order)
        url_seconds = _int_field(changes, "media_url_seconds", self.media_url_seconds)
        webhook_media = _int_field(changes, "webhook_media_seconds", self.webhook_media_seconds)
        uploaded_media = _int_field(changes, "uploaded_media_seconds", self.uploaded_media_seconds)
        budget = _int_field(changes, "media_budget_bytes", self.media_budget_bytes)
        self.latency, self.error_rate = latency, error_rate
        self.error_code, self.default_mps = error_code, default_mps
        self.webhook_url, self.status_delays_ms, self.send_read = webhook_url, status_delays_ms, send_read
        self.webhook_duplicates, self.webhook_out_of_order = duplicates, out_of_order
        self.media_url_seconds, self.media_budget_bytes = url_seconds, budget
        self.webhook_media_seconds, self.uploaded_media_seconds = webhook_media, uploaded_media


_PATCHABLE = frozenset(
    {
        "latency",
        "error_rate",
        "error_code",
        "default_mps",
        "webhook_url",
        "status_delays_ms",
        "send_read",
        "webhook_duplicates",
        "webhook_out_of_order",
        "media_url_seconds",
        "webhook_media_seconds",
        "uploaded_media_seconds",
        "media_budget_bytes",
    }
)


def parse_phone_number(phone_number_id: str, data: Any) -> PhoneNumber:
    """Builds a PhoneNumber from {"access_token", "mps"?, "display_phone_number"?, "app_secret"?,
    "waba_id"?}."""
    if not isinstance(data, dict):
        raise ValueError(f"phone number {phone_number_id!r} must be a JSON object")
    token = data.get("access_token")
    if not isinstance(token, str) or not token:
        raise ValueError(f"phone number {phone_number_id!r} needs a non-empty access_token")
    mps = data.get("mps")
    if mps is not None and (isinstance(mps, bool) or not isinstance(mps, int) or mps < 1):
        raise ValueError(f"phone number {phone_number_id!r}: mps must be a positive integer")
    display = data.get("display_phone_number", "")
    if not isinstance(display, str):
        raise ValueError(f"phone number {phone_number_id!r}: display_phone_number must be a string")
    app_secret = data.get("app_secret") or ""
    if not isinstance(app_secret, str):
        raise ValueError(f"phone number {phone_number_id!r}: app_secret must be a string")
    # Meta's WABA ids are numeric and sometimes given as JSON numbers.
    waba_id = data.get("waba_id") or f"waba-{phone_number_id}"
    if isinstance(waba_id, bool) or not isinstance(waba_id, str | int):
        raise ValueError(f"phone number {phone_number_id!r}: waba_id must be a string")
    return PhoneNumber(token, mps, display, app_secret, str(waba_id))


def parse_phone_numbers(raw: str) -> dict[str, PhoneNumber]:
    """Parses SIM_PHONE_NUMBERS: a JSON list of {"phone_number_id", "access_token", ...}."""
    items = orjson.loads(raw)
    if not isinstance(items, list):
        raise ValueError("expected a JSON list of phone numbers")
    numbers: dict[str, PhoneNumber] = {}
    for item in items:
        phone_number_id = item.get("phone_number_id") if isinstance(item, dict) else None
        if not isinstance(phone_number_id, str | int) or isinstance(phone_number_id, bool):
            raise ValueError("every phone number needs a phone_number_id")
        numbers[str(phone_number_id)] = parse_phone_number(str(phone_number_id), item)
    return numbers


def check_webhook_url(value: str) -> str:
    """An http(s) URL, or "" for no webhooks; checked up front so a typo fails at startup."""
    if value:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"webhook_url {value!r} must be an http:// or https:// URL, or empty")
    return value


def check_status_delays(value: Any) -> StatusDelays:
    """Three non-negative millisecond delays: sent, delivered, read."""
    if (
        isinstance(value, str)
        or not isinstance(value, Sequence)
        or len(value) != 3
        or any(isinstance(item, bool) or not isinstance(item, int) or item < 0 for item in value)
    ):
        raise ValueError("status_delays_ms must be three non-negative integers: sent, delivered, read")
    return (value[0], value[1], value[2])


def parse_status_delays(raw: str) -> StatusDelays:
    """Parses SIM_STATUS_DELAYS_MS such as "20,60,120"."""
    try:
        items = [int(part) for part in raw.split(",")]
    except ValueError:
        raise ValueError("expected three comma-separated milliseconds, e.g. '20,60,120'") from None
    return check_status_delays(items)


_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


def _parse_bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError("expected true or false")


def _bool_field(changes: Mapping[str, Any], name: str, current: bool) -> bool:
    if name not in changes:
        return current
    value = changes[name]
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be true or false")
    return value


def _check_error_rate(value: float) -> float:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"error_rate must be between 0 and 1, got {value}")
    return value


def _parse_error_rate(raw: str) -> float:
    return _check_error_rate(float(raw))


def _parse_positive_int(raw: str) -> int:
    value = int(raw)
    if value < 1:
        raise ValueError("must be a positive integer")
    return value


def _int_field(changes: Mapping[str, Any], name: str, current: int) -> int:
    if name not in changes:
        return current
    value = changes[name]
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer")
    return value
