"""Media files as clients see them: what pigeon knows of one, its bytes, and uploads.

Every call is scoped to the caller's account: another account's id is simply not found.
Uploads stream into the object store as they come, counted and hashed on the way, and
become a media row only once the store holds them whole.
"""

import hashlib
import logging
import uuid
from collections.abc import AsyncIterator
from uuid import UUID

from services.conversations.domain.errors import FailedPrecondition, InvalidArgument, NotFound, Unavailable
from services.conversations.domain.media import Media, MediaStatus, storage_key
from services.conversations.metrics import MEDIA_BYTES_STORED
from services.conversations.use_cases.ports import (
    MediaObjectMissing,
    MediaRepositoryPort,
    MediaStore,
    MediaStoreUnavailable,
)
from services.shared.media_types import max_bytes_of

log = logging.getLogger(__name__)


class MediaFiles:
    def __init__(self, repository: MediaRepositoryPort, store: MediaStore, presign_seconds: int) -> None:
        self.repository = repository
        self.store = store
        self.presign_seconds = presign_seconds

    async def get(self, account_id: UUID, media_id: UUID, presign: bool = False) -> tuple[Media, str]:
        """The file, and a presigned URL of the object store when asked for and it can ("" if not)."""
        media = await self._media(account_id, media_id)
        if not presign or media.status is not MediaStatus.STORED:
            return media, ""
        try:
            url = await self.store.presigned_url(
                storage_key(account_id, media_id),
                expires_seconds=self.presign_seconds,
                filename=media.filename,
                content_type=media.mime_type,
            )
        except MediaStoreUnavailable as exc:
            raise Unavailable("the object store is unavailable") from exc
        return media, url or ""

    async def read(self, account_id: UUID, media_id: UUID, offset: int, length: int) -> AsyncIterator[bytes]:
        """The bytes of [offset, offset + length) (length 0: to the end)."""
        media = await self._media(account_id, media_id)
        if media.status is not MediaStatus.STORED or media.size is None:
            raise FailedPrecondition(f"media {media_id} is {media.status.value}, not stored")
        end = media.size if length == 0 else offset + length
        if offset < 0 or length < 0 or end > media.size or (offset >= media.size and media.size > 0):
            raise InvalidArgument(f"range {offset}+{length} is outside the file's {media.size} bytes")
        try:
            async for chunk in self.store.read(storage_key(account_id, media_id), offset, end):
                yield chunk
        except MediaStoreUnavailable as exc:
            raise Unavailable("the object store is unavailable") from exc
        except MediaObjectMissing as exc:
            # The row says stored: the bytes were lost or removed behind pigeon's back.
            log.error("stored media has no object", extra={"media_id": str(media_id)})
            raise Unavailable("the file's bytes are missing from the object store") from exc

    async def upload(
        self, account_id: UUID, mime_type: str, filename: str, chunks: AsyncIterator[bytes]
    ) -> Media:
        """Keeps an uploaded file. A MIME type WhatsApp takes for no message, more bytes than
        its type allows, or none at all is refused, and nothing is kept."""
        limit = max_bytes_of(mime_type)
        if limit is None:
            raise InvalidArgument(f"WhatsApp takes no file of type {mime_type!r}")
        media_id = uuid.uuid4()
        key = storage_key(account_id, media_id)
        digest = hashlib.sha256()
        size = 0
        try:
            async with self.store.writer(key, mime_type) as out:
                async for chunk in chunks:
                    size += len(chunk)
                    if size > limit:
                        raise InvalidArgument(f"a {mime_type} file may be at most {limit} bytes")
                    digest.update(chunk)
                    await out.write(chunk)
                if size == 0:
                    raise InvalidArgument("the file is empty")
                await out.commit()
        except MediaStoreUnavailable as exc:
            raise Unavailable("the object store is unavailable") from exc
        try:
            media = await self.repository.insert_upload(
                account_id, media_id, mime_type, size, digest.hexdigest(), filename
            )
        except BaseException:
            await self.store.delete(key)
            raise
        MEDIA_BYTES_STORED.inc(size)
        return media

    async def delete_expired(self, retention_seconds: float, limit: int = 100) -> int:
        """Deletes the bytes of up to `limit` files stored longer than the retention; how many.
        Marked deleted first: a crash between the two leaves bytes behind, never a file that
        says stored without them."""
        expired = await self.repository.expired_files(retention_seconds, limit)
        if not expired:
            return 0
        marked = await self.repository.mark_deleted([media_id for _, media_id in expired])
        left = 0
        for account_id, media_id in marked:
            try:
                await self.store.delete(storage_key(account_id, media_id))
            except MediaStoreUnavailable:
                left += 1
        if left:
            # Their rows say deleted; the store's own lifecycle rules are the backstop.
            log.warning("bytes of deleted media left in the store", extra={"count": left})
        return len(marked)

    async def _media(self, account_id: UUID, media_id: UUID) -> Media:
        media = await self.repository.get(account_id, media_id)
        if media is None:
            raise NotFound(f"media {media_id} not found")
        return media
