"""Media files as clients see them (services/conversations/use_cases/media_files.py): each
account sees only its own; an upload is kept whole or not at all."""

import hashlib
from collections.abc import AsyncIterator
from uuid import uuid4

import pytest

from services.conversations.domain.errors import FailedPrecondition, InvalidArgument, NotFound, Unavailable
from services.conversations.domain.media import Media, MediaStatus, storage_key
from services.conversations.use_cases.media_files import MediaFiles
from tests.unit.media_fakes import FakeMediaRepository, FakeMediaStore

ACCOUNT = uuid4()
OTHER = uuid4()


def files() -> tuple[MediaFiles, FakeMediaRepository, FakeMediaStore]:
    repository, store = FakeMediaRepository(), FakeMediaStore()
    return MediaFiles(repository, store, presign_seconds=60), repository, store


async def chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


async def read_all(
    media: MediaFiles, account_id: object, media_id: object, offset: int, length: int
) -> bytes:
    return b"".join([chunk async for chunk in media.read(account_id, media_id, offset, length)])  # type: ignore[arg-type]


async def test_an_upload_is_kept_with_its_size_and_hash() -> None:
    media, _, store = files()
    stored = await media.upload(ACCOUNT, "image/png", "a.png", chunks(b"\x89PNG", b"rest"))
    assert (stored.status, stored.size, stored.sha256, stored.filename) == (
        MediaStatus.STORED,
        8,
        hashlib.sha256(b"\x89PNGrest").hexdigest(),
        "a.png",
    )
    assert store.objects[storage_key(ACCOUNT, stored.id)] == b"\x89PNGrest"


@pytest.mark.parametrize(
    ("mime_type", "parts"),
    [
        ("application/x-msdownload", [b"MZ"]),  # no message type takes it
        ("image/png", [b"x" * 3_000_000, b"x" * 2_000_001]),  # over the image limit of 5 MB
        ("image/png", []),  # empty
    ],
)
async def test_a_refused_upload_keeps_nothing(mime_type: str, parts: list[bytes]) -> None:
    media, repository, store = files()
    with pytest.raises(InvalidArgument):
        await media.upload(ACCOUNT, mime_type, "", chunks(*parts))
    assert store.objects == {} and repository.rows == {}


async def test_an_upload_to_a_store_that_is_down_is_unavailable() -> None:
    media, repository, store = files()
    store.down = True
    with pytest.raises(Unavailable):
        await media.upload(ACCOUNT, "image/png", "", chunks(b"abc"))
    assert repository.rows == {}


async def test_ranges_of_a_stored_file() -> None:
    media, _, _ = files()
    stored = await media.upload(ACCOUNT, "text/plain", "t.txt", chunks(b"0123456789"))
    assert await read_all(media, ACCOUNT, stored.id, 0, 0) == b"0123456789"
    assert await read_all(media, ACCOUNT, stored.id, 2, 3) == b"234"
    assert await read_all(media, ACCOUNT, stored.id, 9, 1) == b"9"
    with pytest.raises(InvalidArgument):
        await read_all(media, ACCOUNT, stored.id, 8, 5)


async def test_another_accounts_file_is_not_found() -> None:
    media, _, _ = files()
    stored = await media.upload(ACCOUNT, "text/plain", "", chunks(b"secret"))
    with pytest.raises(NotFound):
        await media.get(OTHER, stored.id)
    with pytest.raises(NotFound):
        await read_all(media, OTHER, stored.id, 0, 0)


async def test_a_pending_file_has_no_bytes_yet() -> None:
    media, repository, _ = files()
    pending = Media(uuid4(), MediaStatus.PENDING, "image/jpeg", None, None, "", "", None)
    repository.add(pending, ACCOUNT)
    with pytest.raises(FailedPrecondition):
        await read_all(media, ACCOUNT, pending.id, 0, 0)


async def test_bytes_lost_from_the_store_are_unavailable_not_a_crash() -> None:
    media, _, store = files()
    stored = await media.upload(ACCOUNT, "text/plain", "", chunks(b"abc"))
    store.objects.clear()
    with pytest.raises(Unavailable):
        await read_all(media, ACCOUNT, stored.id, 0, 0)


async def test_files_past_the_retention_lose_their_bytes_and_say_so() -> None:
    media, repository, store = files()
    old = await media.upload(ACCOUNT, "text/plain", "", chunks(b"old"))
    new = await media.upload(ACCOUNT, "text/plain", "", chunks(b"new"))
    repository.rows[old.id].age = 31 * 86400
    assert await media.delete_expired(retention_seconds=30 * 86400) == 1
    assert (await media.get(ACCOUNT, old.id))[0].status is MediaStatus.DELETED
    assert storage_key(ACCOUNT, old.id) not in store.objects
    assert store.objects[storage_key(ACCOUNT, new.id)] == b"new"
    with pytest.raises(FailedPrecondition):
        await read_all(media, ACCOUNT, old.id, 0, 0)
    assert await media.delete_expired(retention_seconds=30 * 86400) == 0
