"""Where pigeon keeps the bytes of media (inbound WhatsApp attachments it copied): one
interface, `MediaStore`, on a local directory (`filesystem.py`) or an S3-compatible bucket
(`s3.py`). Bytes pass through in chunks both ways, so memory stays flat whatever the size.

Keys are `<account uuid>/<media uuid>`; the database keeps what the media is (type, size,
hash, file name), the store only its bytes. The interface itself is the use cases' port
(`use_cases/ports.py`).
"""

import logging

from services.conversations.use_cases.ports import (
    MediaObjectMissing,
    MediaStore,
    MediaStoreUnavailable,
    MediaWriter,
)
from services.shared.media_types import attachment_disposition

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "MediaObjectMissing",
    "MediaStore",
    "MediaStoreUnavailable",
    "MediaWriter",
    "attachment_disposition",
    "check_key",
    "check_range",
    "open_media_store",
]

log = logging.getLogger(__name__)

DEFAULT_CHUNK_SIZE = 256 * 1024


def check_key(key: str) -> None:
    """ValueError unless `key` is a safe relative path: it becomes a file's path under the
    filesystem store's root, so it may not climb out of it (`..`, a leading `/`) nor name the
    store's own hidden entries (a part starting with `.`, such as `.partial`). Both stores
    check, so that a key valid on one is valid on the other."""
    parts = key.split("/")
    if not key or "\\" in key or "\x00" in key or any(not part or part.startswith(".") for part in parts):
        raise ValueError(f"unsafe media key {key!r}: want <account>/<media>, no empty, . or .. parts")


def check_range(start: int, end: int | None, chunk_size: int) -> None:
    if start < 0 or (end is not None and end < start) or chunk_size <= 0:
        raise ValueError(f"bad byte range [{start}, {end}) or chunk size {chunk_size}")


async def open_media_store(
    kind: str,
    *,
    root: str,
    s3_endpoint_url: str,
    s3_bucket: str,
    s3_region: str,
    s3_access_key_id: str,
    s3_secret_access_key: str,
) -> MediaStore:
    """The store of `kind` ("filesystem": files under `root`; "s3": the bucket, on
    `s3_endpoint_url` when not "" (an S3-compatible server) else AWS, with these credentials
    when not "" else botocore's usual chain). Its owner calls `close()` when done. Nothing is
    contacted yet: a store that is down at start makes media calls fail, not the service.
    Each backend is imported only when chosen (aiobotocore is slow to import)."""
    if kind == "filesystem":
        from services.conversations.adapters.media_store.filesystem import FilesystemMediaStore

        store = FilesystemMediaStore(root)
        if abandoned := store.forget_abandoned():
            log.info("removed partial media files of writes that died", extra={"count": abandoned})
        return store
    if kind == "s3":
        from services.conversations.adapters.media_store.s3 import S3MediaStore

        return await S3MediaStore.open(
            endpoint_url=s3_endpoint_url,
            bucket=s3_bucket,
            region=s3_region,
            access_key_id=s3_access_key_id,
            secret_access_key=s3_secret_access_key,
        )
    raise ValueError(f"unknown media store {kind!r}: filesystem or s3")
