"""Reading typed settings from the environment, with a clear message for a bad value."""

import math
import os
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


def env(name: str, default: T, parse: Callable[[str], T] | None = None) -> T:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    parser: Callable[[str], T] = parse if parse is not None else type(default)  # type: ignore[assignment]
    try:
        return parser(raw)
    except ValueError as exc:
        raise SettingsError(f"{name}={raw!r} is not valid: {exc}") from None


# sockaddr_un holds 108 bytes, the last one the terminating NUL.
UNIX_SOCKET_PATH_MAX_BYTES = 107


def unix_socket_path(raw: str) -> str:
    """An absolute path for a Unix domain socket, one per process listening on it."""
    if not raw.startswith("/"):
        raise ValueError("must be an absolute path")
    if len(raw.encode()) > UNIX_SOCKET_PATH_MAX_BYTES:
        raise ValueError(f"must be at most {UNIX_SOCKET_PATH_MAX_BYTES} bytes long")
    return raw


def parse_bool(raw: str) -> bool:
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise ValueError("must be true or false")


def positive(parse: Callable[[str], T]) -> Callable[[str], T]:
    def parse_positive(raw: str) -> T:
        value = parse(raw)
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError("must be a finite number")
        if value <= 0:  # type: ignore[operator]
            raise ValueError("must be greater than 0")
        return value

    return parse_positive


def at_most(maximum: int, parse: Callable[[str], int]) -> Callable[[str], int]:
    def parse_at_most(raw: str) -> int:
        value = parse(raw)
        if value > maximum:
            raise ValueError(f"must be at most {maximum}")
        return value

    return parse_at_most
