"""The media stores against what they run on: a directory, and a real S3-compatible server
(moto's, tests/fixtures/s3.py). Every test of the interface runs on both."""

import asyncio
import hashlib
import os
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from aiobotocore.session import get_session

from services.conversations.adapters.media_store import (
    MediaObjectMissing,
    MediaStore,
    MediaStoreUnavailable,
    open_media_store,
)
from services.conversations.adapters.media_store.s3 import PART_SIZE
from tests.fixtures.s3 import S3Server
from tools.stack import free_port

MiB = 1024 * 1024


async def open_store(kind: str, root: Path, server: S3Server, endpoint_url: str = "") -> MediaStore:
    return await open_media_store(
        kind,
        root=str(root),
        s3_endpoint_url=endpoint_url or server.endpoint_url,
        s3_bucket=server.bucket,
        s3_region=server.region,
        s3_access_key_id=server.access_key_id,
        s3_secret_access_key=server.secret_access_key,
    )


@pytest.fixture(params=["filesystem", "s3"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest_asyncio.fixture(loop_scope="session")
async def store(kind: str, tmp_path: Path, s3_server: S3Server) -> AsyncIterator[MediaStore]:
    store = await open_store(kind, tmp_path / "media", s3_server)
    yield store
    await store.close()


@dataclass
class Bucket:
    """The S3 bucket behind the store's back, through a client of the test's own."""

    client: Any
    name: str

    async def pending_uploads(self, key: str) -> list[Any]:
        answer = await self.client.list_multipart_uploads(Bucket=self.name, Prefix=key)
        return list(answer.get("Uploads", []))

    async def head(self, key: str) -> dict[str, Any]:
        answer: dict[str, Any] = await self.client.head_object(Bucket=self.name, Key=key)
        return answer


@pytest_asyncio.fixture(loop_scope="session")
async def bucket(s3_server: S3Server) -> AsyncIterator[Bucket]:
    async with get_session().create_client(
        "s3",
        endpoint_url=s3_server.endpoint_url,
        region_name=s3_server.region,
        aws_access_key_id=s3_server.access_key_id,
        aws_secret_access_key=s3_server.secret_access_key,
    ) as client:
        yield Bucket(client, s3_server.bucket)


def new_key() -> str:
    return f"{uuid.uuid4()}/{uuid.uuid4()}"


async def put(store: MediaStore, key: str, data: bytes, chunk: int = 64 * 1024) -> None:
    async with store.writer(key, "image/jpeg") as writer:
        for offset in range(0, len(data), chunk):
            await writer.write(data[offset : offset + chunk])
        await writer.commit()


async def read_all(store: MediaStore, key: str, **kwargs: Any) -> bytes:
    return b"".join([chunk async for chunk in store.read(key, **kwargs)])


async def assert_nothing_left(kind: str, store: MediaStore, key: str, root: Path, bucket: Bucket) -> None:
    with pytest.raises(MediaObjectMissing):
        await read_all(store, key)
    if kind == "s3":
        assert await bucket.pending_uploads(key) == []
    else:
        partial = root / ".partial"
        assert not partial.exists() or list(partial.iterdir()) == []


async def test_write_then_read_whole_and_ranges(store: MediaStore) -> None:
    key = new_key()
    data = os.urandom(600 * 1024)
    await put(store, key, data)

    assert await read_all(store, key) == data
    assert await read_all(store, key, start=1000) == data[1000:]
    assert await read_all(store, key, start=1000, end=5000) == data[1000:5000]
    assert await read_all(store, key, start=len(data) - 1) == data[-1:]
    assert await read_all(store, key, start=len(data) - 1, end=len(data)) == data[-1:]
    assert await read_all(store, key, start=len(data)) == b""
    assert await read_all(store, key, start=10, end=10) == b""
    assert await read_all(store, key, start=len(data) - 10, end=len(data) + 100) == data[-10:]

    chunks = [chunk async for chunk in store.read(key, chunk_size=100_000)]
    assert all(0 < len(chunk) <= 100_000 for chunk in chunks)
    assert b"".join(chunks) == data
    with pytest.raises(ValueError):
        await read_all(store, key, start=10, end=5)


async def test_an_empty_object(store: MediaStore) -> None:
    key = new_key()
    await put(store, key, b"")
    assert await read_all(store, key) == b""
    assert await read_all(store, key, start=0, end=10) == b""


async def test_an_object_of_several_parts_reads_back_the_same(
    kind: str, store: MediaStore, bucket: Bucket
) -> None:
    key = new_key()
    data = os.urandom(20 * MiB)
    await put(store, key, data, chunk=MiB)

    digest = hashlib.sha256()
    async for chunk in store.read(key):
        digest.update(chunk)
    assert digest.hexdigest() == hashlib.sha256(data).hexdigest()
    assert (
        await read_all(store, key, start=PART_SIZE - 3, end=PART_SIZE + 3)
        == data[PART_SIZE - 3 : PART_SIZE + 3]
    )
    if kind == "s3":  # a multipart upload's ETag ends with its count of parts: 8 + 8 + 4 MiB
        head = await bucket.head(key)
        assert head["ETag"].strip('"').endswith("-3")
        assert head["ContentType"] == "image/jpeg"


@pytest.mark.parametrize("size", [1000, PART_SIZE + MiB], ids=["one-buffer", "multipart"])
async def test_leaving_the_writer_without_commit_leaves_nothing(
    kind: str, store: MediaStore, bucket: Bucket, tmp_path: Path, size: int
) -> None:
    key = new_key()
    with pytest.raises(RuntimeError, match="hash mismatch"):
        async with store.writer(key, "video/mp4") as writer:
            for offset in range(0, size, MiB):
                await writer.write(os.urandom(min(MiB, size - offset)))
            raise RuntimeError("hash mismatch")
    await assert_nothing_left(kind, store, key, tmp_path / "media", bucket)

    # Leaving without an exception, commit forgotten, is no different.
    async with store.writer(key, "video/mp4") as writer:
        await writer.write(b"never committed")
    await assert_nothing_left(kind, store, key, tmp_path / "media", bucket)


async def test_a_cancelled_write_leaves_nothing(
    kind: str, store: MediaStore, bucket: Bucket, tmp_path: Path
) -> None:
    key = new_key()
    written = asyncio.Event()

    async def upload() -> None:
        async with store.writer(key, "video/mp4") as writer:
            for _ in range(PART_SIZE // MiB + 1):
                await writer.write(os.urandom(MiB))
            written.set()
            await asyncio.sleep(3600)  # the rest of the upload, which never comes

    task = asyncio.create_task(upload())
    await asyncio.wait_for(written.wait(), 30)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await assert_nothing_left(kind, store, key, tmp_path / "media", bucket)


async def test_delete(store: MediaStore) -> None:
    key = new_key()
    await put(store, key, b"hello")
    await store.delete(key)
    with pytest.raises(MediaObjectMissing):
        await read_all(store, key)
    await store.delete(key)  # absent is fine
    await store.delete(new_key())


async def test_a_missing_key(store: MediaStore) -> None:
    for kwargs in ({}, {"start": 5}, {"start": 0, "end": 10}, {"start": 3, "end": 3}):
        with pytest.raises(MediaObjectMissing):
            await read_all(store, new_key(), **kwargs)


async def test_a_store_that_is_down(kind: str, tmp_path: Path, s3_server: S3Server) -> None:
    # S3: nothing listens on the port; filesystem: a file where the root should be.
    root = tmp_path / "media"
    root.write_bytes(b"not a directory")
    store = await open_store(kind, root, s3_server, endpoint_url=f"http://127.0.0.1:{free_port()}")
    started = time.monotonic()
    try:
        key = new_key()
        with pytest.raises(MediaStoreUnavailable) as raised:
            async with store.writer(key, "image/png") as writer:
                await writer.write(b"x" * 1000)
                await writer.commit()
        assert s3_server.secret_access_key not in str(raised.value)
        with pytest.raises(MediaStoreUnavailable):
            await read_all(store, key)
        if kind == "s3":  # a file can be deleted from under a file: nothing to remove
            with pytest.raises(MediaStoreUnavailable):
                await store.delete(key)
    finally:
        await store.close()
    assert time.monotonic() - started < 20


async def test_presigned_url(kind: str, store: MediaStore) -> None:
    key = new_key()
    data = os.urandom(100_000)
    await put(store, key, data)
    url = await store.presigned_url(
        key, expires_seconds=60, filename='façade "1".jpg', content_type="image/jpeg"
    )
    if kind == "filesystem":
        assert url is None
        return
    assert url is not None
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        assert response.status == 200, await response.text()
        assert await response.read() == data
        assert response.headers["Content-Type"] == "image/jpeg"
        disposition = response.headers["Content-Disposition"]
        assert disposition.startswith("attachment;")
        assert 'filename="fa_ade _1_.jpg"' in disposition
        assert "filename*=UTF-8''fa%C3%A7ade%20%221%22.jpg" in disposition


@pytest.mark.parametrize(
    "key", ["../x", "/etc/passwd", "a/../../b", "", "a//b", "a/", ".partial/x", "a\\b", "a/."]
)
async def test_an_unsafe_key_is_refused(store: MediaStore, key: str) -> None:
    with pytest.raises(ValueError):
        async with store.writer(key, "image/png"):
            pass
    with pytest.raises(ValueError):
        await read_all(store, key)
    with pytest.raises(ValueError):
        await store.delete(key)


async def test_an_unknown_kind(tmp_path: Path, s3_server: S3Server) -> None:
    with pytest.raises(ValueError, match="unknown media store"):
        await open_store("ftp", tmp_path, s3_server)


async def test_partial_files_of_writes_that_died_are_removed_at_start(tmp_path: Path) -> None:
    partial = tmp_path / ".partial"
    partial.mkdir()
    (partial / "old").write_bytes(b"half a file")
    (partial / "recent").write_bytes(b"a write in progress")
    day_ago = time.time() - 2 * 86400
    os.utime(partial / "old", (day_ago, day_ago))
    store = await open_media_store(
        "filesystem",
        root=str(tmp_path),
        s3_endpoint_url="",
        s3_bucket="",
        s3_region="",
        s3_access_key_id="",
        s3_secret_access_key="",
    )
    try:
        assert sorted(path.name for path in partial.iterdir()) == ["recent"]
    finally:
        await store.close()
