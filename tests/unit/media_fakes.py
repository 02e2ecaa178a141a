"""In-memory fakes of the media ports (services/conversations/use_cases/ports.py): an object
store in a dict, the media rows in a dict, a sender whose downloads the test scripts."""

from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from uuid import UUID

from services.conversations.domain.media import ClaimedCopy, Media, MediaFile, MediaStatus
from services.conversations.domain.model import Accepted, OutgoingMessage
from services.conversations.use_cases.ports import MediaObjectMissing, MediaStoreUnavailable
from services.shared.whatsapp_errors import Failure


class FakeMediaStore:
    """Objects appear only on commit, as the real stores promise; `down` makes every call fail."""

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}
        self.down = False
        self.deleted: list[str] = []

    class _Writer:
        def __init__(self, store: "FakeMediaStore", key: str) -> None:
            self.store = store
            self.key = key
            self.parts: list[bytes] = []

        async def write(self, chunk: bytes) -> None:
            if self.store.down:
                raise MediaStoreUnavailable("down")
            self.parts.append(chunk)

        async def commit(self) -> None:
            if self.store.down:
                raise MediaStoreUnavailable("down")
            self.store.objects[self.key] = b"".join(self.parts)

    @asynccontextmanager
    async def writer(self, key: str, content_type: str) -> AsyncIterator["FakeMediaStore._Writer"]:
        if self.down:
            raise MediaStoreUnavailable("down")
        yield self._Writer(self, key)

    async def read(
        self, key: str, start: int = 0, end: int | None = None, chunk_size: int = 256 * 1024
    ) -> AsyncIterator[bytes]:
        if self.down:
            raise MediaStoreUnavailable("down")
        if key not in self.objects:
            raise MediaObjectMissing(key)
        data = self.objects[key][start:end]
        for offset in range(0, len(data), chunk_size):
            yield data[offset : offset + chunk_size]

    async def delete(self, key: str) -> None:
        self.deleted.append(key)
        self.objects.pop(key, None)

    async def presigned_url(
        self, key: str, *, expires_seconds: int, filename: str, content_type: str
    ) -> None:
        return None

    async def close(self) -> None:
        return None


@dataclass
class MediaRow:
    media: Media
    account_id: UUID
    attempts: int = 0
    retry_in: float | None = None
    # WhatsApp's id for the file after an upload, and the seconds it stays good (from now).
    wa_upload_id: str | None = None
    wa_upload_lifetime: float = 0.0
    # Seconds since it was stored.
    age: float = 0.0


@dataclass
class FakeMediaRepository:
    rows: dict[UUID, MediaRow] = field(default_factory=dict)
    # (message, media) of each message shown with a file.
    shown: list[tuple[UUID, UUID]] = field(default_factory=list)

    def add(self, media: Media, account_id: UUID, attempts: int = 1) -> None:
        self.rows[media.id] = MediaRow(media, account_id, attempts)

    async def claim_copies(self, limit: int, lease_seconds: float) -> list[ClaimedCopy]:
        return []

    async def retry_copy(self, copy: ClaimedCopy, delay_seconds: float) -> bool:
        row = self.rows[copy.media_id]
        if row.attempts != copy.attempts:
            return False
        row.retry_in = delay_seconds
        return True

    async def store_copy(self, copy: ClaimedCopy, mime_type: str, size: int, sha256: str) -> bool:
        return self._end(copy, status=MediaStatus.STORED, mime_type=mime_type, size=size, sha256=sha256)

    async def fail_copy(self, copy: ClaimedCopy, reason: str) -> bool:
        return self._end(copy, status=MediaStatus.FAILED, failure_reason=reason)

    def _end(self, copy: ClaimedCopy, **fields: object) -> bool:
        row = self.rows[copy.media_id]
        if row.attempts != copy.attempts or row.media.status is not MediaStatus.PENDING:
            return False
        row.media = replace(row.media, **fields)  # type: ignore[arg-type]
        return True

    async def get(self, account_id: UUID, media_id: UUID) -> Media | None:
        row = self.rows.get(media_id)
        return row.media if row is not None and row.account_id == account_id else None

    async def insert_upload(
        self, account_id: UUID, media_id: UUID, mime_type: str, size: int, sha256: str, filename: str
    ) -> Media:
        media = Media(media_id, MediaStatus.STORED, mime_type, size, sha256, filename, "", None)
        self.rows[media_id] = MediaRow(media, account_id)
        return media

    async def pending_copies(self) -> int:
        return sum(row.media.status is MediaStatus.PENDING for row in self.rows.values())

    async def upload_of(
        self, account_id: UUID, media_id: UUID, margin_seconds: float
    ) -> tuple[Media, str | None] | None:
        row = self.rows.get(media_id)
        if row is None or row.account_id != account_id:
            return None
        return row.media, row.wa_upload_id if row.wa_upload_lifetime > margin_seconds else None

    async def show_on_message(self, account_id: UUID, message_id: UUID, media_id: UUID) -> None:
        self.shown.append((message_id, media_id))

    async def expired_files(self, retention_seconds: float, limit: int) -> list[tuple[UUID, UUID]]:
        old = [
            row
            for row in self.rows.values()
            if row.media.status is MediaStatus.STORED and row.age > retention_seconds
        ]
        return [(row.account_id, row.media.id) for row in old[:limit]]

    async def mark_deleted(self, ids: list[UUID]) -> list[tuple[UUID, UUID]]:
        marked = []
        for media_id in ids:
            row = self.rows[media_id]
            if row.media.status is MediaStatus.STORED:
                row.media = replace(row.media, status=MediaStatus.DELETED)
                marked.append((row.account_id, media_id))
        return marked

    async def remember_upload(self, media_id: UUID, wa_upload_id: str, lifetime_seconds: float) -> None:
        self.rows[media_id].wa_upload_id = wa_upload_id
        self.rows[media_id].wa_upload_lifetime = lifetime_seconds


class FakeMediaSender:
    """Each download answers the parts scripted for its WhatsApp media id; each upload keeps
    the bytes and answers a new WhatsApp id (or `upload_answer` when set)."""

    def __init__(self) -> None:
        self.downloads: dict[str, list[MediaFile | bytes | Failure]] = {}
        self.asked: list[tuple[str, str, str]] = []
        self.uploaded: list[bytes] = []
        self.upload_answer: Failure | None = None
        self.sent: list[OutgoingMessage] = []

    async def send(self, message: OutgoingMessage, request_id: str = "") -> Accepted | Failure:
        self.sent.append(message)
        return Accepted(f"wamid.{message.message_id}")

    async def upload_media(
        self, phone_number_id: str, access_token: str, media: Media, chunks: AsyncIterator[bytes]
    ) -> str | Failure:
        self.uploaded.append(b"".join([chunk async for chunk in chunks]))
        return self.upload_answer or f"wa-upload-{len(self.uploaded)}"

    async def download_media(
        self, phone_number_id: str, access_token: str, wa_media_id: str, max_bytes: int
    ) -> AsyncGenerator[MediaFile | bytes | Failure, None]:
        self.asked.append((phone_number_id, access_token, wa_media_id))
        for part in self.downloads[wa_media_id]:
            yield part
