"""Sends that name a file of pigeon's (`"image": {"media_id": "<pigeon's id>"}`).

WhatsApp wants its own media id. The first send of a file for an account uploads it to
WhatsApp (through the sender, streamed from the object store) and remembers WhatsApp's id
with its lifetime; later sends reuse it, until WhatsApp is about to forget it (30 days), when
the file is uploaded again. The stored message keeps pigeon's id; only the request to
WhatsApp carries WhatsApp's.
"""

import logging
from datetime import timedelta
from typing import Any
from uuid import UUID

import orjson

from services.conversations.domain.media import Media, MediaStatus, storage_key
from services.conversations.domain.model import Accepted, Content, OutgoingMessage
from services.conversations.use_cases.ports import (
    MediaObjectMissing,
    MediaRepositoryPort,
    MediaStore,
    MediaStoreUnavailable,
    SenderWithMediaPort,
)
from services.shared.media_types import media_type_of
from services.shared.vocabulary import MEDIA_TYPES, FailureCode
from services.shared.whatsapp_errors import Failure, FailureClass

log = logging.getLogger(__name__)

# Meta: "Media IDs returned by the API expire after 30 days".
UPLOAD_LIFETIME = timedelta(days=30)
# Uploaded again this long before WhatsApp forgets it: a queued send may go out a while later.
UPLOAD_MARGIN = timedelta(days=1)


def _not_usable(text: str) -> Failure:
    return Failure(FailureClass.PERMANENT, None, FailureCode.MEDIA_NOT_USABLE, text)


class SendsWithPigeonMedia:
    """The sender, as the send paths see it: a message naming a file of pigeon's goes with
    WhatsApp's id for it; any other goes as it is. Costs a byte search for the others."""

    def __init__(
        self, sender: SenderWithMediaPort, repository: MediaRepositoryPort, store: MediaStore
    ) -> None:
        self.sender = sender
        self.repository = repository
        self.store = store

    async def send(self, message: OutgoingMessage, request_id: str = "") -> Accepted | Failure:
        content = message.content
        if content.type not in MEDIA_TYPES or b'"media_id"' not in content.body_json:
            return await self.sender.send(message, request_id)
        body = orjson.loads(content.body_json)
        if "media_id" not in body:  # the bytes were in a caption or a file name
            return await self.sender.send(message, request_id)
        resolved = await self._with_whatsapp_id(message, body)
        if isinstance(resolved, Failure):
            return resolved
        return await self.sender.send(resolved, request_id)

    async def _with_whatsapp_id(
        self, message: OutgoingMessage, body: dict[str, Any]
    ) -> OutgoingMessage | Failure:
        content = message.content
        try:
            media_id = UUID(str(body.pop("media_id")))
        except ValueError:
            return _not_usable("media_id is not the id of a file of pigeon's")
        found = await self.repository.upload_of(message.account_id, media_id, UPLOAD_MARGIN.total_seconds())
        if found is None:
            return _not_usable(f"no file {media_id} of this account")
        media, wa_upload_id = found
        if media.status is not MediaStatus.STORED:
            return _not_usable(f"file {media_id} is {media.status.value}, not stored")
        if media_type_of(media.mime_type) != content.type:
            return _not_usable(f"a {media.mime_type} file cannot be sent as {content.type}")
        # Its resource shows the file, and a failed status saying WhatsApp does not know the
        # file (131053) finds it, to upload it again next time.
        await self.repository.show_on_message(message.account_id, message.message_id, media.id)
        if wa_upload_id is None:
            uploaded = await self._upload(message, media)
            if isinstance(uploaded, Failure):
                return uploaded
            wa_upload_id = uploaded
        body["id"] = wa_upload_id
        whatsapps = Content(content.type, orjson.dumps(body), content.reply_to_wa_message_id)
        return OutgoingMessage(
            message.phone_number_id,
            message.access_token,
            message.to,
            whatsapps,
            message.message_id,
            message.account_id,
            message.send_by,
            message.recipient_user_id,
        )

    async def _upload(self, message: OutgoingMessage, media: Media) -> str | Failure:
        chunks = self.store.read(storage_key(message.account_id, media.id))
        try:
            uploaded = await self.sender.upload_media(
                message.phone_number_id, message.access_token, media, chunks
            )
        except (MediaStoreUnavailable, MediaObjectMissing) as exc:
            log.warning("a file for a send could not be read", extra={"media_id": str(media.id)})
            return Failure(
                FailureClass.RETRYABLE,
                None,
                FailureCode.MEDIA_UNAVAILABLE,
                f"the file could not be read: {exc}",
            )
        if isinstance(uploaded, str):
            await self.repository.remember_upload(media.id, uploaded, UPLOAD_LIFETIME.total_seconds())
        return uploaded
