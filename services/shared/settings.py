"""Reading typed settings from the environment, with a clear message for a bad value."""

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


def unix_socket_path(raw: str) -> str:
    """An absolute path for a Unix domain socket (the kernel limits it to 107 bytes)."""
    if not raw.startswith("/"):
        raise ValueError("must be an absolute path")
    if len(raw.encode()) > 100:
        raise ValueError("must be at most 100 bytes long")
    return raw


def positive(parse: Callable[[str], T]) -> Callable[[str], T]:
    def parse_positive(raw: str) -> T:
        value = parse(raw)
        if value <= 0:  # type: ignore[operator]
            raise ValueError("must be greater than 0")
        return value

    return parse_positive
