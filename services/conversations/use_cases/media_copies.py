"""Copying one inbound message's file from WhatsApp into pigeon's object store.

The bytes stream from the sender into the store as they come, checked on the way against
the size and SHA-256 WhatsApp gave: a file that does not match is not kept. What follows a
failure (retry when, or fail why) is `domain/media.py`'s decision.
"""

import hashlib
import logging
from contextlib import aclosing
from dataclasses import dataclass

from services.conversations.domain.media import (
    ClaimedCopy,
    CopyPolicy,
    MediaFailure,
    MediaFile,
    after_failed_copy,
    reason_of,
    storage_key,
)
from services.conversations.domain.retries import Retry
from services.conversations.metrics import MEDIA_BYTES_STORED, MEDIA_COPIES, MEDIA_COPY_FAILURES
from services.conversations.use_cases.directory import Directory
from services.conversations.use_cases.ports import (
    MediaRepositoryPort,
    MediaSenderPort,
    MediaStore,
    MediaStoreUnavailable,
)
from services.shared.media_types import LARGEST_MEDIA_BYTES, max_bytes_of
from services.shared.vocabulary import SENDER_CALL_PREFIX, FailureCode
from services.shared.whatsapp_errors import Failure

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Kept:
    mime_type: str
    size: int
    sha256: str


@dataclass(frozen=True, slots=True)
class NotKept:
    reason: str
    retryable: bool


class MediaCopies:
    def __init__(
        self,
        directory: Directory,
        repository: MediaRepositoryPort,
        store: MediaStore,
        sender: MediaSenderPort,
        policy: CopyPolicy,
    ) -> None:
        self.directory = directory
        self.repository = repository
        self.store = store
        self.sender = sender
        self.policy = policy

    async def copy(self, copy: ClaimedCopy) -> None:
        """One attempt at a claimed copy, and what became of it written under the claim."""
        try:
            result = await self._download(copy)
        except MediaStoreUnavailable as exc:
            log.warning("object store unavailable", extra={"media_id": str(copy.media_id), "error": str(exc)})
            result = NotKept(MediaFailure.STORE_UNAVAILABLE, True)
        except Exception:
            # A bug or a fault no one foresaw: retried like any failure that may pass, and so
            # given up when WhatsApp forgets the file, rather than claimed again for ever.
            log.exception("media copy failed unexpectedly", extra={"media_id": str(copy.media_id)})
            result = NotKept(MediaFailure.INTERNAL, True)
        if isinstance(result, Kept):
            written = await self.repository.store_copy(copy, result.mime_type, result.size, result.sha256)
            if written:
                MEDIA_COPIES.labels("stored").inc()
                MEDIA_BYTES_STORED.inc(result.size)
            return
        MEDIA_COPY_FAILURES.labels(_reason_label(result.reason)).inc()
        decision = after_failed_copy(copy, result.reason, result.retryable, self.policy)
        if isinstance(decision, Retry):
            MEDIA_COPIES.labels("retried").inc()
            await self.repository.retry_copy(copy, decision.delay_seconds)
        else:
            MEDIA_COPIES.labels("failed").inc()
            await self.repository.fail_copy(copy, decision.code)
        log.info(
            "media copy failed",
            extra={
                "media_id": str(copy.media_id),
                "attempt": copy.attempts,
                "reason": result.reason,
                "retry": isinstance(decision, Retry),
            },
        )

    async def _download(self, copy: ClaimedCopy) -> Kept | NotKept:
        account = await self.directory.account(copy.account_id)
        parts = self.sender.download_media(
            account.phone_number_id, account.access_token, copy.wa_media_id, LARGEST_MEDIA_BYTES
        )
        async with aclosing(parts):
            first = await anext(parts, None)
            if isinstance(first, Failure):
                return NotKept(*reason_of(first))
            if not isinstance(first, MediaFile):
                return NotKept(FailureCode.BAD_RESPONSE, True)
            if first.size > (max_bytes_of(first.mime_type) or LARGEST_MEDIA_BYTES):
                return NotKept(MediaFailure.TOO_LARGE, False)
            digest = hashlib.sha256()
            size = 0
            # Leaving this block without commit() keeps nothing.
            async with self.store.writer(storage_key(copy.account_id, copy.media_id), first.mime_type) as out:
                async for part in parts:
                    if isinstance(part, Failure):
                        return NotKept(*reason_of(part))
                    if not isinstance(part, bytes):
                        return NotKept(FailureCode.BAD_RESPONSE, True)
                    size += len(part)
                    if size > first.size:
                        return NotKept(MediaFailure.SIZE_MISMATCH, True)
                    digest.update(part)
                    await out.write(part)
                if size != first.size:
                    return NotKept(MediaFailure.SIZE_MISMATCH, True)
                if digest.hexdigest() != first.sha256.lower():
                    return NotKept(MediaFailure.SHA256_MISMATCH, True)
                await out.commit()
        return Kept(first.mime_type, size, digest.hexdigest())


_OWN_REASONS = frozenset(MediaFailure) | frozenset(FailureCode)


def _reason_label(reason: str) -> str:
    """pigeon's own reasons as they are, a failed call to the sender as "sender", any
    WhatsApp code as "whatsapp": a bounded label."""
    if reason in _OWN_REASONS:
        return reason
    return "sender" if reason.startswith(SENDER_CALL_PREFIX) else "whatsapp"
