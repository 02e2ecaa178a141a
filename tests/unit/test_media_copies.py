"""Copies of inbound media (services/conversations/use_cases/media_copies.py) and what follows
a failed one (domain/media.py): kept only whole and matching, retried while WhatsApp keeps
the file, failed for good when it never will be."""

import hashlib
from uuid import uuid4

import pytest

from services.conversations.domain.media import (
    MAX_MISMATCHED_COPIES,
    ClaimedCopy,
    CopyPolicy,
    InboundMedia,
    Media,
    MediaFailure,
    MediaFile,
    MediaStatus,
    after_failed_copy,
    inbound_media,
    storage_key,
)
from services.conversations.domain.retries import Fail, Retry
from services.conversations.use_cases.directory import Directory
from services.conversations.use_cases.media_copies import MediaCopies
from services.shared.vocabulary import FailureCode
from services.shared.whatsapp_errors import Failure, FailureClass, FailureKind
from tests.unit.fakes import FakeDirectoryStore, new_account
from tests.unit.media_fakes import FakeMediaRepository, FakeMediaSender, FakeMediaStore

POLICY = CopyPolicy(retry_base_seconds=5.0, retry_max_seconds=900.0)
WEEK = 7 * 86400.0
NOT_FOUND = Failure(FailureClass.PERMANENT, FailureKind.WHATSAPP_ERROR, MediaFailure.NOT_FOUND, "gone", 404)
TOKEN_EXPIRED = Failure(FailureClass.NEEDS_OPERATOR, FailureKind.WHATSAPP_ERROR, "190", "expired", 401)
BROKEN = Failure(FailureClass.RETRYABLE, FailureKind.CONNECTION, FailureCode.CONNECTION_ERROR, "reset")


def upper(low: float, high: float) -> float:
    return high


# --- the domain ------------------------------------------------------------------------


@pytest.mark.parametrize("message_type", ["image", "audio", "video", "document", "sticker"])
def test_every_media_type_carries_its_file(message_type: str) -> None:
    body = {"id": "777", "mime_type": "x/y", "sha256": "abc", "caption": "hi", "filename": "a.pdf"}
    assert inbound_media(message_type, body) == InboundMedia("777", "x/y", "a.pdf", "hi")


@pytest.mark.parametrize(
    ("message_type", "body"),
    [("text", {"id": "1"}), ("image", {}), ("image", {"id": ""}), ("image", {"id": 7}), ("image", [])],
)
def test_no_file_without_a_media_type_and_an_id(message_type: str, body: object) -> None:
    assert inbound_media(message_type, body) is None


def claimed(attempts: int = 1, gives_up_in: float = WEEK) -> ClaimedCopy:
    return ClaimedCopy(uuid4(), uuid4(), "wa-media-1", attempts, gives_up_in)


def test_a_failure_that_may_pass_is_retried_with_backoff() -> None:
    assert after_failed_copy(claimed(3), "131000", True, POLICY, upper) == Retry(20.0, "131000", "")


def test_backoff_stops_growing_at_its_cap() -> None:
    decision = after_failed_copy(claimed(30), "131000", True, POLICY, upper)
    assert isinstance(decision, Retry) and decision.delay_seconds == 900.0


def test_a_failure_that_cannot_pass_fails_at_once() -> None:
    assert after_failed_copy(claimed(1), MediaFailure.NOT_FOUND, False, POLICY, upper) == Fail(
        MediaFailure.NOT_FOUND, ""
    )


def test_no_retry_falls_due_after_whatsapp_forgot_the_file() -> None:
    decision = after_failed_copy(claimed(1, gives_up_in=4.0), "131000", True, POLICY, upper)
    assert isinstance(decision, Fail) and decision.code == "131000"


def test_a_mismatch_is_retried_a_few_times_then_fails() -> None:
    for attempt in range(1, MAX_MISMATCHED_COPIES):
        assert isinstance(after_failed_copy(claimed(attempt), "sha256_mismatch", True, POLICY), Retry)
    last = after_failed_copy(claimed(MAX_MISMATCHED_COPIES), "sha256_mismatch", True, POLICY)
    assert last == Fail(MediaFailure.SHA256_MISMATCH, "")


# --- a copy ----------------------------------------------------------------------------


class Setup:
    def __init__(self) -> None:
        self.directory_store = FakeDirectoryStore()
        self.account = self.directory_store.add_account(new_account())
        self.repository = FakeMediaRepository()
        self.store = FakeMediaStore()
        self.sender = FakeMediaSender()
        self.copies = MediaCopies(
            Directory(self.directory_store, 60), self.repository, self.store, self.sender, POLICY
        )

    def pending(self, wa_media_id: str, parts: list[MediaFile | bytes | Failure]) -> ClaimedCopy:
        copy = ClaimedCopy(uuid4(), self.account.id, wa_media_id, 1, WEEK)
        media = Media(copy.media_id, MediaStatus.PENDING, "image/jpeg", None, None, "", "", None)
        self.repository.add(media, self.account.id)
        self.sender.downloads[wa_media_id] = parts
        return copy

    def media(self, copy: ClaimedCopy) -> Media:
        return self.repository.rows[copy.media_id].media

    def kept(self, copy: ClaimedCopy) -> bytes | None:
        return self.store.objects.get(storage_key(copy.account_id, copy.media_id))


def described(data: bytes, mime_type: str = "image/jpeg", sha256: str | None = None) -> MediaFile:
    return MediaFile(mime_type, len(data), sha256 or hashlib.sha256(data).hexdigest())


async def test_a_matching_file_is_kept_and_stored() -> None:
    setup = Setup()
    data = b"\xff\xd8" + bytes(range(256)) * 40
    copy = setup.pending("m1", [described(data), data[:4000], data[4000:]])
    await setup.copies.copy(copy)
    assert setup.kept(copy) == data
    media = setup.media(copy)
    assert (media.status, media.size, media.sha256) == (
        MediaStatus.STORED,
        len(data),
        hashlib.sha256(data).hexdigest(),
    )
    assert setup.sender.asked == [(setup.account.phone_number_id, setup.account.access_token, "m1")]


async def test_a_file_whose_hash_differs_is_not_kept() -> None:
    setup = Setup()
    data = b"some image bytes"
    copy = setup.pending("m1", [described(data, sha256="0" * 64), data])
    await setup.copies.copy(copy)
    assert setup.kept(copy) is None
    row = setup.repository.rows[copy.media_id]
    assert row.media.status is MediaStatus.PENDING and row.retry_in is not None


@pytest.mark.parametrize("given", [b"short", b"much longer than said"])
async def test_a_file_of_another_size_is_not_kept(given: bytes) -> None:
    setup = Setup()
    copy = setup.pending("m1", [MediaFile("image/jpeg", 10, hashlib.sha256(given).hexdigest()), given])
    await setup.copies.copy(copy)
    assert setup.kept(copy) is None
    assert setup.repository.rows[copy.media_id].retry_in is not None


async def test_a_download_cut_off_keeps_nothing_and_is_retried() -> None:
    setup = Setup()
    data = b"x" * 1000
    copy = setup.pending("m1", [described(data), data[:500], BROKEN])
    await setup.copies.copy(copy)
    assert setup.kept(copy) is None
    assert setup.repository.rows[copy.media_id].retry_in is not None


async def test_media_whatsapp_no_longer_has_fails_with_that_reason() -> None:
    setup = Setup()
    copy = setup.pending("m1", [NOT_FOUND])
    await setup.copies.copy(copy)
    media = setup.media(copy)
    assert (media.status, media.failure_reason) == (MediaStatus.FAILED, MediaFailure.NOT_FOUND)


async def test_an_expired_token_is_retried_for_an_operator_to_mend() -> None:
    setup = Setup()
    copy = setup.pending("m1", [TOKEN_EXPIRED])
    await setup.copies.copy(copy)
    assert setup.media(copy).status is MediaStatus.PENDING
    assert setup.repository.rows[copy.media_id].retry_in is not None


async def test_a_store_that_is_down_keeps_the_copy_pending() -> None:
    setup = Setup()
    setup.store.down = True
    data = b"abc"
    copy = setup.pending("m1", [described(data), data])
    await setup.copies.copy(copy)
    assert setup.media(copy).status is MediaStatus.PENDING
    assert setup.repository.rows[copy.media_id].retry_in is not None


async def test_a_file_over_its_types_limit_fails_without_download() -> None:
    setup = Setup()
    copy = setup.pending("m1", [MediaFile("image/jpeg", 5_000_001, "0" * 64), b"never read"])
    await setup.copies.copy(copy)
    media = setup.media(copy)
    assert (media.status, media.failure_reason) == (MediaStatus.FAILED, MediaFailure.TOO_LARGE)
    assert setup.kept(copy) is None


async def test_an_outcome_under_a_claim_taken_over_is_not_written() -> None:
    setup = Setup()
    data = b"abc"
    copy = setup.pending("m1", [described(data), data])
    setup.repository.rows[copy.media_id].attempts = 2  # another worker claimed it since
    await setup.copies.copy(copy)
    assert setup.media(copy).status is MediaStatus.PENDING
