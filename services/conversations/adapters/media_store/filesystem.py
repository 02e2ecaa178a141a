"""The media store on a local directory (development, a single host): the object under key
`k` is the file `<root>/k`. Bytes are written to `<root>/.partial/<uuid>` and renamed into
place at commit, so a reader never sees half a file and an abandoned write leaves nothing."""

import asyncio
import concurrent.futures
import contextlib
import logging
import os
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import BinaryIO, TypeVar

from services.conversations.adapters.media_store import (
    DEFAULT_CHUNK_SIZE,
    MediaObjectMissing,
    MediaStoreUnavailable,
    check_key,
    check_range,
)

log = logging.getLogger(__name__)

T = TypeVar("T")

PARTIAL_DIR = ".partial"
# A partial file untouched this long belongs to no write: a copy's claim lasts 10 minutes.
ABANDONED_AFTER_SECONDS = 86400.0
# Blocking file calls run on threads of the store's own, one chunk a call: a slow disk then
# holds up media only, not the users of the loop's default executor (DNS lookups).
THREADS = 4


@contextmanager
def _disk_errors(key: str, *, missing: bool = False) -> Iterator[None]:
    """OSError as the store's errors: with `missing`, an absent file is MediaObjectMissing;
    anything else (ENOSPC, EACCES, EIO, a root that is not a directory) may pass."""
    try:
        yield
    except (FileNotFoundError, IsADirectoryError) as exc:
        if missing:
            raise MediaObjectMissing(key) from exc
        raise MediaStoreUnavailable(f"media store: {key}: {exc.strerror or exc}") from exc
    except OSError as exc:
        raise MediaStoreUnavailable(f"media store: {key}: {exc.strerror or exc}") from exc


def _open_partial(partial_dir: Path) -> tuple[BinaryIO, Path]:
    partial_dir.mkdir(parents=True, exist_ok=True)
    path = partial_dir / uuid.uuid4().hex
    return path.open("xb"), path


def _publish(file: BinaryIO, partial: Path, target: Path) -> None:
    """Durable before visible: the bytes reach the disk, then one rename shows them, then the
    directory entry is synced too."""
    file.flush()
    os.fsync(file.fileno())
    file.close()
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(partial, target)
    directory = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def _discard(file: BinaryIO, partial: Path) -> None:
    file.close()
    partial.unlink(missing_ok=True)


def _open_at(path: Path, start: int) -> BinaryIO:
    file = path.open("rb")
    try:
        file.seek(start)
    except BaseException:
        file.close()
        raise
    return file


class FilesystemMediaStore:
    def __init__(self, root: str | Path, threads: int = THREADS) -> None:
        self.root = Path(root)
        self._executor = concurrent.futures.ThreadPoolExecutor(threads, thread_name_prefix="media-store")

    def forget_abandoned(self, older_than_seconds: float = ABANDONED_AFTER_SECONDS) -> int:
        """Removes partial files no write owns any more (a process killed mid-write); how many.
        Called at start, before any write of this process."""
        cutoff = time.time() - older_than_seconds
        removed = 0
        # A store that cannot be read now must not stop the service from starting: its writes
        # will say so.
        with contextlib.suppress(OSError):
            for path in (self.root / PARTIAL_DIR).iterdir():
                with contextlib.suppress(OSError):
                    if path.stat().st_mtime < cutoff:
                        path.unlink()
                        removed += 1
        return removed

    def _path(self, key: str) -> Path:
        check_key(key)
        return self.root / key

    def _submit(self, call: Callable[..., T], *args: object) -> "concurrent.futures.Future[T]":
        return self._executor.submit(call, *args)

    async def _run(self, call: Callable[..., T], *args: object) -> T:
        return await asyncio.wrap_future(self._submit(call, *args))

    @asynccontextmanager
    async def writer(self, key: str, content_type: str) -> AsyncIterator["FileWriter"]:
        """`content_type` is not kept: the database has it."""
        target = self._path(key)
        with _disk_errors(key):
            file, partial = await self._run(_open_partial, self.root / PARTIAL_DIR)
        writer = FileWriter(self, key, file, partial, target)
        try:
            yield writer
        finally:
            if not writer.committed:
                await asyncio.shield(writer.discard())

    async def read(
        self, key: str, start: int = 0, end: int | None = None, chunk_size: int = DEFAULT_CHUNK_SIZE
    ) -> AsyncIterator[bytes]:
        path = self._path(key)
        check_range(start, end, chunk_size)
        with _disk_errors(key, missing=True):
            file = await self._run(_open_at, path, start)
        try:
            remaining = None if end is None else end - start
            while remaining is None or remaining > 0:
                size = chunk_size if remaining is None else min(chunk_size, remaining)
                with _disk_errors(key):
                    chunk = await self._run(file.read, size)
                if not chunk:
                    return
                if remaining is not None:
                    remaining -= len(chunk)
                yield chunk
        finally:
            file.close()

    async def delete(self, key: str) -> None:
        path = self._path(key)
        with _disk_errors(key):
            await self._run(path.unlink, True)

    async def presigned_url(
        self, key: str, *, expires_seconds: int, filename: str, content_type: str
    ) -> str | None:
        check_key(key)
        return None

    async def close(self) -> None:
        """Waits for the file calls under way (off the loop), so that none is cut short."""
        await asyncio.to_thread(self._executor.shutdown)


class FileWriter:
    """One object being written: its temporary file, and the file call under way, which
    a discard waits for, so that nothing is written to the file after it is removed."""

    def __init__(self, store: FilesystemMediaStore, key: str, file: BinaryIO, partial: Path, target: Path):
        self._store = store
        self._key = key
        self._file = file
        self._partial = partial
        self._target = target
        self._busy: concurrent.futures.Future[object] | None = None
        self.committed = False

    async def _call(self, call: Callable[..., object], *args: object) -> None:
        if self.committed:
            raise RuntimeError(f"media object {self._key} is already committed")
        self._busy = self._store._submit(call, *args)
        with _disk_errors(self._key):
            await asyncio.wrap_future(self._busy)

    async def write(self, chunk: bytes) -> None:
        await self._call(self._file.write, chunk)

    async def commit(self) -> None:
        """A commit cancelled while its rename is under way may still publish the object."""
        await self._call(_publish, self._file, self._partial, self._target)
        self.committed = True

    async def discard(self) -> None:
        if self._busy is not None:
            await asyncio.wait([asyncio.wrap_future(self._busy)])
        try:
            await self._store._run(_discard, self._file, self._partial)
        except OSError as exc:
            log.warning("media store: could not remove the partial file of %s: %s", self._key, exc)
