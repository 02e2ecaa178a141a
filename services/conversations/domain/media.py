"""Media files: pigeon's copies of what customers send, and what clients upload.

An inbound message with a file gets a media row, pending, and a copy job: download from
WhatsApp, check, keep. What to do after a failed copy is decided here, purely: retry later
(when), or fail for good (why). WhatsApp keeps a webhook's media 7 days, so retries go on
until then unless the failure can never pass.
"""

import random
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Any
from uuid import UUID

from services.conversations.domain.retries import Fail, Jitter, Retry, backoff_seconds
from services.shared.vocabulary import MEDIA_TYPES
from services.shared.whatsapp_errors import Failure, FailureClass

# Meta: "Media IDs in webhooks expire after 7 days".
WEBHOOK_MEDIA_LIFETIME = timedelta(days=7)
# WhatsApp's "Media upload error": what a failed status says of a send whose media id it does
# not know (any more); pigeon then uploads the file again for the next send.
WHATSAPP_MEDIA_UPLOAD_ERROR = "131053"

# A download whose bytes do not match what WhatsApp said of them fails for good from this
# attempt on (earlier attempts of any kind count): corruption on the way passes, a file that is
# not what it claims does not.
MAX_MISMATCHED_COPIES = 3


class MediaStatus(StrEnum):
    PENDING = "pending"
    STORED = "stored"
    FAILED = "failed"
    # Its bytes deleted after the retention period (MEDIA_RETENTION_DAYS).
    DELETED = "deleted"


class MediaFailure(StrEnum):
    """Why a copy did not work, as a failure_reason (besides WhatsApp's own codes)."""

    SHA256_MISMATCH = "sha256_mismatch"
    SIZE_MISMATCH = "size_mismatch"
    # WhatsApp's file is larger than the limit for its type.
    TOO_LARGE = "media_too_large"
    # WhatsApp no longer knows the media id (it keeps webhook media 7 days).
    NOT_FOUND = "media_not_found"
    # The object store could not be reached or refused the write.
    STORE_UNAVAILABLE = "store_unavailable"
    # Something unforeseen went wrong (logged).
    INTERNAL = "internal_error"


@dataclass(frozen=True, slots=True)
class InboundMedia:
    """The file an inbound message carries, as its webhook describes it."""

    wa_media_id: str
    mime_type: str
    filename: str
    caption: str


def inbound_media(message_type: str, body: Any) -> InboundMedia | None:
    """The file of an inbound message of this type and body (the object under its type), if any."""
    if message_type not in MEDIA_TYPES or not isinstance(body, dict):
        return None
    wa_media_id = body.get("id")
    if not isinstance(wa_media_id, str) or not wa_media_id:
        return None
    return InboundMedia(
        wa_media_id=wa_media_id,
        mime_type=_text(body.get("mime_type")),
        filename=_text(body.get("filename")),
        caption=_text(body.get("caption")),
    )


def _text(value: Any) -> str:
    return value.replace("\x00", "") if isinstance(value, str) else ""


@dataclass(frozen=True, slots=True)
class Media:
    id: UUID
    status: MediaStatus
    mime_type: str
    size: int | None
    sha256: str | None
    filename: str
    caption: str
    failure_reason: str | None


@dataclass(frozen=True, slots=True)
class MediaFile:
    """What WhatsApp says of a file before its bytes come."""

    mime_type: str
    size: int
    # Lower-case hex.
    sha256: str


@dataclass(frozen=True, slots=True)
class ClaimedCopy:
    """A pending copy a worker claimed, as attempt number `attempts`."""

    media_id: UUID
    account_id: UUID
    wa_media_id: str
    attempts: int
    # Seconds until WhatsApp forgets the media: no retry is due after that.
    gives_up_in_seconds: float


def storage_key(account_id: UUID, media_id: UUID) -> str:
    """Where a file's bytes are kept in the object store."""
    return f"{account_id}/{media_id}"


@dataclass(frozen=True, slots=True)
class CopyPolicy:
    retry_base_seconds: float
    retry_max_seconds: float


def after_failed_copy(
    copy: ClaimedCopy, reason: str, retryable: bool, policy: CopyPolicy, jitter: Jitter = random.uniform
) -> Retry | Fail:
    """Retry the copy later, or fail it for good with `reason`."""
    if reason in (MediaFailure.SHA256_MISMATCH, MediaFailure.SIZE_MISMATCH):
        retryable = copy.attempts < MAX_MISMATCHED_COPIES
    if not retryable:
        return Fail(reason, "")
    delay = backoff_seconds(copy.attempts, policy.retry_base_seconds, policy.retry_max_seconds, jitter=jitter)
    if delay >= copy.gives_up_in_seconds:
        return Fail(reason, "WhatsApp keeps the file no longer than that")
    return Retry(delay, reason, "")


def reason_of(failure: Failure) -> tuple[str, bool]:
    """A WhatsApp (or sender) failure as a failure reason, and whether it may pass: an
    operator may mend a token or a locked account within WhatsApp's 7 days."""
    if failure.code == MediaFailure.NOT_FOUND:
        return MediaFailure.NOT_FOUND, False
    return failure.code, failure.failure_class in (FailureClass.RETRYABLE, FailureClass.NEEDS_OPERATOR)
