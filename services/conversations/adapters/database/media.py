"""Media files (`media.sql`): their rows, and the queue of copies from WhatsApp.

The copy queue is the media rows themselves, claimed as the outbox claims messages: a claim
moves `next_attempt_at` past a lease and counts an attempt, and every write after it names
that attempt, so that a claim another worker took over stays with its new owner.
"""

from uuid import UUID

from services.conversations.adapters.database import rows
from services.conversations.adapters.database.pool import StatementPool
from services.conversations.adapters.database.queries import Queries
from services.conversations.domain.media import ClaimedCopy, Media, MediaStatus

SQL = Queries("media.sql")


class MediaRepository:
    def __init__(self, pool: StatementPool) -> None:
        self.pool = pool

    async def claim_copies(self, limit: int, lease_seconds: float) -> list[ClaimedCopy]:
        claimed = await self.pool.run(SQL.claim_copies, limit=limit, lease_seconds=lease_seconds)
        return [
            ClaimedCopy(
                row["id"], row["account_id"], row["wa_media_id"], row["attempts"], row["gives_up_in_seconds"]
            )
            for row in claimed
        ]

    async def retry_copy(self, copy: ClaimedCopy, delay_seconds: float) -> bool:
        found = await self.pool.run(
            SQL.retry_copy, id=copy.media_id, attempt=copy.attempts, delay_seconds=delay_seconds
        )
        return bool(found)

    async def store_copy(self, copy: ClaimedCopy, mime_type: str, size: int, sha256: str) -> bool:
        return await self._end_copy(copy, MediaStatus.STORED, mime_type, size, sha256, None)

    async def fail_copy(self, copy: ClaimedCopy, reason: str) -> bool:
        return await self._end_copy(copy, MediaStatus.FAILED, None, None, None, reason)

    async def _end_copy(
        self,
        copy: ClaimedCopy,
        status: MediaStatus,
        mime_type: str | None,
        size: int | None,
        sha256: str | None,
        failure_reason: str | None,
    ) -> bool:
        found = await self.pool.run(
            SQL.end_copy,
            id=copy.media_id,
            attempt=copy.attempts,
            status=status.value,
            mime_type=mime_type,
            size=size,
            sha256=sha256,
            failure_reason=failure_reason,
        )
        return bool(found)

    async def get(self, account_id: UUID, media_id: UUID) -> Media | None:
        found = await self.pool.run(SQL.get_media, id=media_id, account_id=account_id)
        return rows.media(found[0]) if found else None

    async def insert_upload(
        self, account_id: UUID, media_id: UUID, mime_type: str, size: int, sha256: str, filename: str
    ) -> Media:
        found = await self.pool.run(
            SQL.insert_upload,
            id=media_id,
            account_id=account_id,
            mime_type=mime_type,
            size=size,
            sha256=sha256,
            filename=filename,
        )
        return rows.media(found[0])

    async def upload_of(
        self, account_id: UUID, media_id: UUID, margin_seconds: float
    ) -> tuple[Media, str | None] | None:
        found = await self.pool.run(
            SQL.upload_of, id=media_id, account_id=account_id, margin_seconds=margin_seconds
        )
        return (rows.media(found[0]), found[0]["wa_upload_id"]) if found else None

    async def remember_upload(self, media_id: UUID, wa_upload_id: str, lifetime_seconds: float) -> None:
        await self.pool.run(
            SQL.remember_upload, id=media_id, wa_upload_id=wa_upload_id, lifetime_seconds=lifetime_seconds
        )

    async def expired_files(self, retention_seconds: float, limit: int) -> list[tuple[UUID, UUID]]:
        """(account, media) of stored files older than the retention."""
        found = await self.pool.run(SQL.expired_files, retention_seconds=retention_seconds, limit=limit)
        return [(row["account_id"], row["id"]) for row in found]

    async def mark_deleted(self, ids: list[UUID]) -> list[tuple[UUID, UUID]]:
        """Marks files deleted; (account, media) of those that were still stored."""
        found = await self.pool.run(SQL.mark_deleted, ids=ids)
        return [(row["account_id"], row["id"]) for row in found]

    async def show_on_message(self, account_id: UUID, message_id: UUID, media_id: UUID) -> None:
        await self.pool.run(
            SQL.show_on_message, account_id=account_id, message_id=message_id, media_id=media_id
        )

    async def pending_copies(self) -> int:
        found = await self.pool.run(SQL.pending_copies)
        return int(found[0]["pending"])
