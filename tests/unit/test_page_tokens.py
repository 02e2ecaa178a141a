"""The conversations service's pure helpers: page tokens, page sizes, ids, API key hashes."""

import base64
import hashlib
from datetime import UTC, datetime, timedelta, timezone
from uuid import UUID

import pytest

from services.conversations.domain.errors import InvalidArgument, NotFound
from services.conversations.domain.model import Page
from services.conversations.domain.pages import decode_page_token, encode_page_token, page_limit
from services.conversations.entrypoints.protobuf import parse_id
from services.shared.api_keys import hash_api_key

ROW_ID = UUID("6f1c2b9e-8d4a-4e3b-9a71-0c5d2e4f6a8b")


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


# --- page tokens -----------------------------------------------------------------------


def test_round_trip_utc_with_microseconds() -> None:
    page = Page(datetime(2024, 5, 17, 13, 4, 5, 123456, tzinfo=UTC), ROW_ID)

    decoded = decode_page_token(encode_page_token(page))

    assert decoded == page
    assert decoded is not None
    assert decoded.after_time.microsecond == 123456
    assert decoded.after_time.utcoffset() == timedelta(0)
    assert decoded.after_id == ROW_ID


def test_round_trip_keeps_a_non_utc_offset() -> None:
    offset = timezone(timedelta(hours=-3, minutes=-30))
    page = Page(datetime(1999, 12, 31, 23, 59, 59, 1, tzinfo=offset), ROW_ID)

    decoded = decode_page_token(encode_page_token(page))

    assert decoded == page
    assert decoded is not None
    assert decoded.after_time.utcoffset() == timedelta(hours=-3, minutes=-30)
    assert decoded.after_time.microsecond == 1


def test_token_is_unpadded_urlsafe_base64_of_time_and_id() -> None:
    page = Page(datetime(2024, 1, 2, 3, 4, 5, 6, tzinfo=UTC), ROW_ID)

    token = encode_page_token(page)

    assert "=" not in token
    assert "+" not in token and "/" not in token
    assert token == b64(b"2024-01-02T03:04:05.000006+00:00|6f1c2b9e-8d4a-4e3b-9a71-0c5d2e4f6a8b")


def test_different_pages_give_different_tokens() -> None:
    when = datetime(2024, 1, 1, tzinfo=UTC)
    first = encode_page_token(Page(when, ROW_ID))
    later = encode_page_token(Page(when + timedelta(microseconds=1), ROW_ID))
    other_id = encode_page_token(Page(when, UUID(int=1)))

    assert len({first, later, other_id}) == 3


def test_padded_token_is_also_accepted() -> None:
    page = Page(datetime(2024, 1, 2, 3, 4, 5, 6, tzinfo=UTC), ROW_ID)
    padded = base64.urlsafe_b64encode(
        b"2024-01-02T03:04:05.000006+00:00|6f1c2b9e-8d4a-4e3b-9a71-0c5d2e4f6a8b"
    ).decode()

    assert decode_page_token(padded) == page


def test_empty_token_means_first_page() -> None:
    assert decode_page_token("") is None


@pytest.mark.parametrize(
    "token",
    [
        "garbage!",
        "%%%%",
        "a",
        "not a token at all",
        b64(b"\xff\xfe\xfd\xfc"),  # not UTF-8
        b64(b"hello world"),  # no separator
        b64(b"2024-01-01T00:00:00+00:00"),  # no id
        b64(b"2024-01-01T00:00:00+00:00|" + str(ROW_ID).encode() + b"|extra"),  # two separators
        b64(b"not-a-date|" + str(ROW_ID).encode()),
        b64(b"2024-13-01T00:00:00+00:00|" + str(ROW_ID).encode()),
        b64(b"2024-01-01T00:00:00+00:00|not-a-uuid"),
        b64(b"|"),
        "ü" * 8,  # not ASCII
    ],
)
def test_bad_token_is_invalid_argument(token: str) -> None:
    with pytest.raises(InvalidArgument, match=r"^page_token is not a token this API returned$"):
        decode_page_token(token)


# --- page sizes ------------------------------------------------------------------------


def test_page_size_zero_means_the_default_of_20() -> None:
    assert page_limit(0) == 20


@pytest.mark.parametrize("size", [1, 2, 20, 99, 100])
def test_page_size_within_bounds_is_kept(size: int) -> None:
    assert page_limit(size) == size


@pytest.mark.parametrize("size", [101, 1000, -1, -100])
def test_page_size_out_of_bounds_is_invalid_argument(size: int) -> None:
    with pytest.raises(InvalidArgument, match=r"^page_size must be between 1 and 100$"):
        page_limit(size)


# --- ids -------------------------------------------------------------------------------


def test_parse_id_accepts_a_uuid() -> None:
    assert parse_id("6f1c2b9e-8d4a-4e3b-9a71-0c5d2e4f6a8b", "message") == ROW_ID


def test_parse_id_accepts_uppercase() -> None:
    assert parse_id("6F1C2B9E-8D4A-4E3B-9A71-0C5D2E4F6A8B", "message") == ROW_ID


@pytest.mark.parametrize(
    "value", ["", "nope", "6f1c2b9e-8d4a-4e3b-9a71-0c5d2e4f6a8", "6f1c2b9e-8d4a-4e3b-9a71-0c5d2e4f6a8bb", "1"]
)
def test_parse_id_of_a_non_uuid_is_not_found(value: str) -> None:
    with pytest.raises(NotFound) as caught:
        parse_id(value, "conversation")

    assert str(caught.value) == f"conversation {value!r} not found"


# --- API key hashes --------------------------------------------------------------------


def test_hash_api_key_is_the_sha256_digest() -> None:
    digest = hash_api_key("pk_live_abc")

    assert digest == hashlib.sha256(b"pk_live_abc").digest()
    assert len(digest) == 32
    assert isinstance(digest, bytes)


def test_hash_api_key_known_vector() -> None:
    assert hash_api_key("abc") == bytes.fromhex(
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )


def test_hash_api_key_is_deterministic() -> None:
    assert hash_api_key("key-1") == hash_api_key("key-1")


def test_different_keys_hash_differently() -> None:
    assert hash_api_key("key-1") != hash_api_key("key-2")
    assert hash_api_key("key") != hash_api_key("key ")


def test_hash_api_key_encodes_as_utf8() -> None:
    assert hash_api_key("clé") == hashlib.sha256("clé".encode()).digest()
