"""Sends naming a file of pigeon's (services/conversations/use_cases/media_sends.py): uploaded
to WhatsApp once per account and reused, uploaded again when WhatsApp is about to forget it,
refused when the file is not the account's or not of the message's type."""

from uuid import uuid4

import orjson
import pytest

from services.conversations.domain.media import Media, MediaStatus, storage_key
from services.conversations.domain.model import Content, OutgoingMessage
from services.conversations.use_cases.media_sends import UPLOAD_MARGIN, SendsWithPigeonMedia
from services.shared.vocabulary import FailureCode
from services.shared.whatsapp_errors import Failure, FailureClass, FailureKind
from tests.unit.fakes import new_account
from tests.unit.media_fakes import FakeMediaRepository, FakeMediaSender, FakeMediaStore

ACCOUNT = new_account()
PNG = b"\x89PNG" + bytes(range(200))


class Setup:
    def __init__(self) -> None:
        self.repository = FakeMediaRepository()
        self.store = FakeMediaStore()
        self.sender = FakeMediaSender()
        self.sends = SendsWithPigeonMedia(self.sender, self.repository, self.store)

    def stored(self, mime_type: str = "image/png", account_id: object = ACCOUNT.id) -> Media:
        media = Media(uuid4(), MediaStatus.STORED, mime_type, len(PNG), "0" * 64, "a.png", "", None)
        self.repository.add(media, account_id)  # type: ignore[arg-type]
        self.store.objects[storage_key(account_id, media.id)] = PNG  # type: ignore[arg-type]
        return media

    async def send(self, content: Content) -> object:
        message = OutgoingMessage(
            ACCOUNT.phone_number_id, ACCOUNT.access_token, "15550001111", content, uuid4(), ACCOUNT.id
        )
        return await self.sends.send(message)


def image(media: Media, **more: str) -> Content:
    return Content("image", orjson.dumps({"media_id": str(media.id), **more}))


async def test_the_first_send_uploads_the_file_and_goes_with_whatsapps_id() -> None:
    setup = Setup()
    media = setup.stored()
    await setup.send(image(media, caption="our menu"))
    assert setup.sender.uploaded == [PNG]
    [sent] = setup.sender.sent
    assert orjson.loads(sent.content.body_json) == {"id": "wa-upload-1", "caption": "our menu"}


async def test_later_sends_reuse_the_upload() -> None:
    setup = Setup()
    media = setup.stored()
    for _ in range(3):
        await setup.send(image(media))
    assert len(setup.sender.uploaded) == 1
    assert {orjson.loads(m.content.body_json)["id"] for m in setup.sender.sent} == {"wa-upload-1"}


async def test_a_file_whatsapp_is_about_to_forget_is_uploaded_again() -> None:
    setup = Setup()
    media = setup.stored()
    await setup.send(image(media))
    setup.repository.rows[media.id].wa_upload_lifetime = UPLOAD_MARGIN.total_seconds() / 2
    await setup.send(image(media))
    assert len(setup.sender.uploaded) == 2
    assert orjson.loads(setup.sender.sent[-1].content.body_json)["id"] == "wa-upload-2"


async def test_a_message_without_pigeons_file_goes_as_it_is() -> None:
    setup = Setup()
    content = Content("image", b'{"link": "https://example.com/a.png"}')
    await setup.send(content)
    assert setup.sender.sent[0].content == content and setup.sender.uploaded == []


@pytest.mark.parametrize("whose", ["another account's", "unknown", "wrong type"])
async def test_a_file_the_send_cannot_use_fails_it_for_good(whose: str) -> None:
    setup = Setup()
    if whose == "another account's":
        media = setup.stored(account_id=uuid4())
    elif whose == "unknown":
        media = Media(uuid4(), MediaStatus.STORED, "image/png", 1, "", "", "", None)
    else:
        media = setup.stored(mime_type="application/pdf")
    answer = await setup.send(image(media))
    assert isinstance(answer, Failure) and answer.code == FailureCode.MEDIA_NOT_USABLE
    assert answer.failure_class is FailureClass.PERMANENT
    assert setup.sender.sent == [] and setup.sender.uploaded == []


async def test_a_store_that_is_down_fails_the_send_for_a_retry() -> None:
    setup = Setup()
    media = setup.stored()
    setup.store.down = True
    answer = await setup.send(image(media))
    assert isinstance(answer, Failure) and answer.code == FailureCode.MEDIA_UNAVAILABLE
    assert answer.failure_class is FailureClass.RETRYABLE and setup.sender.sent == []


async def test_whatsapp_refusing_the_upload_is_the_sends_failure() -> None:
    setup = Setup()
    media = setup.stored()
    refused = Failure(FailureClass.NEEDS_OPERATOR, FailureKind.WHATSAPP_ERROR, "190", "token expired", 401)
    setup.sender.upload_answer = refused
    assert await setup.send(image(media)) == refused
    assert setup.sender.sent == [] and setup.repository.rows[media.id].wa_upload_id is None


async def test_a_caption_that_says_media_id_is_no_file_of_pigeons() -> None:
    setup = Setup()
    content = Content("image", orjson.dumps({"id": "123", "caption": "media_id"}))
    await setup.send(content)
    assert setup.sender.sent[0].content == content and setup.sender.uploaded == []
