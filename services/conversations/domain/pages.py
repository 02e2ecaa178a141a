"""Lists by pages: a page's size, and the opaque token that says where the next one starts
(the sort key of the last row of this one)."""

import base64
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TypeVar
from uuid import UUID

from services.conversations.domain.errors import InvalidArgument
from services.conversations.domain.model import Page

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100

Row = TypeVar("Row")


def encode_page_token(page: Page) -> str:
    raw = f"{page.after_time.isoformat()}|{page.after_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_page_token(token: str) -> Page | None:
    if not token:
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        after_time, after_id = raw.split("|")
        return Page(datetime.fromisoformat(after_time), UUID(after_id))
    except (ValueError, UnicodeDecodeError):
        raise InvalidArgument("page_token is not a token this API returned") from None


def page_limit(page_size: int) -> int:
    if page_size == 0:
        return DEFAULT_PAGE_SIZE
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise InvalidArgument(f"page_size must be between 1 and {MAX_PAGE_SIZE}")
    return page_size


def one_page(rows: Sequence[Row], limit: int, sort_key: Callable[[Row], Page]) -> tuple[list[Row], str]:
    """A page of `limit` rows out of `limit + 1` read, and the token of the next page ("" when
    this is the last)."""
    if len(rows) <= limit:
        return list(rows), ""
    return list(rows[:limit]), encode_page_token(sort_key(rows[limit - 1]))
