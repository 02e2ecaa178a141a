"""Inbound media end to end: the simulator sends a customer's image (signed webhook), pigeon
stores the message with its file pending, the media worker copies the file through the
sender from the simulator's Cloud API, checks it, keeps it, and serves it back."""

import asyncio
import hashlib
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import orjson
import pytest_asyncio
from sqlalchemy import text

from tests.e2e.test_media_upload import whatsapp_media_of
from tests.fixtures.stack import Running, start_running
from tools.seed import SeededAccount

CUSTOMER = "15550009000"


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def media(postgres_server: str) -> AsyncIterator[Running]:
    fast_retries = {"MEDIA_RETRY_BASE_SECONDS": "0.2", "MEDIA_RETRY_MAX_SECONDS": "0.5"}
    async with start_running(postgres_server, "media", fast_retries, webhooks=True) as running:
        yield running


def auth(account: SeededAccount) -> dict[str, str]:
    return {"Authorization": f"Bearer {account.api_key}"}


async def inject(running: Running, message: dict[str, Any], account: SeededAccount | None = None) -> Any:
    """A customer's message through the simulator's signed webhook; its answer (wamid, media)."""
    account = account or running.acme
    body = {"phone_number_id": account.phone_number_id, "from": CUSTOMER, "message": message}
    async with running.http.post(f"{running.simulator}/_sim/inbound", json=body) as response:
        assert response.status == 200, await response.text()
        answer = await response.json()
    assert answer["webhook_status"] == 200
    return answer


async def message_id_of(running: Running, wa_message_id: str) -> str:
    async with asyncio.timeout(10):
        while True:
            async with running.engine.connect() as connection:
                found = (
                    await connection.execute(
                        text("SELECT id FROM messages WHERE wa_message_id = :w"), {"w": wa_message_id}
                    )
                ).scalar_one_or_none()
            if found is not None:
                return str(found)
            await asyncio.sleep(0.05)


async def settled(running: Running, message_id: str, account: SeededAccount | None = None) -> Any:
    """The message once its file is no longer pending."""
    account = account or running.acme
    async with asyncio.timeout(20):
        while True:
            url = f"{running.gateway}/messages/{message_id}"
            async with running.http.get(url, headers=auth(account)) as response:
                assert response.status == 200
                message = await response.json()
            if message["media"]["status"] != "pending":
                return message
            await asyncio.sleep(0.1)


async def attempts_of(running: Running, message_id: str) -> int:
    """How many downloads of the message's file were started."""
    async with running.engine.connect() as connection:
        found = await connection.execute(
            text("SELECT d.attempts FROM media d JOIN messages m ON m.media_id = d.id WHERE m.id = :id"),
            {"id": message_id},
        )
        return int(found.scalar_one())


async def fetch(running: Running, media_id: str, account: SeededAccount | None = None) -> tuple[int, bytes]:
    url = f"{running.gateway}/media/{media_id}"
    async with running.http.get(url, headers=auth(account or running.acme)) as response:
        return response.status, await response.read()


async def test_an_inbound_image_is_copied_and_served_with_its_caption(media: Running) -> None:
    answer = await inject(
        media, {"type": "image", "media": {"mime_type": "image/jpeg", "size": 100_000, "caption": "my order"}}
    )
    message = await settled(media, await message_id_of(media, answer["wa_message_id"]))
    file = message["media"]
    assert file["status"] == "stored" and file["failure_reason"] is None
    assert (file["mime_type"], file["size"], file["sha256"]) == (
        "image/jpeg",
        100_000,
        answer["media"]["sha256"],
    )
    assert file["caption"] == "my order"
    # Meta's own object stays as it came, beside pigeon's copy.
    assert message["image"]["id"] == answer["media"]["id"]
    status, data = await fetch(media, file["id"])
    assert status == 200 and hashlib.sha256(data).hexdigest() == answer["media"]["sha256"]
    status, _ = await fetch(media, file["id"], media.globex)
    assert status == 404


async def test_a_5_mb_video_streams_through_whole(media: Running) -> None:
    answer = await inject(media, {"type": "video", "media": {"mime_type": "video/mp4", "size": 5_000_000}})
    message = await settled(media, await message_id_of(media, answer["wa_message_id"]))
    assert message["media"]["status"] == "stored" and message["media"]["size"] == 5_000_000
    status, data = await fetch(media, message["media"]["id"])
    assert status == 200 and hashlib.sha256(data).hexdigest() == answer["media"]["sha256"]


async def test_the_copy_is_announced_on_the_websocket(media: Running) -> None:
    account = media.acme
    async with media.http.ws_connect(f"{media.gateway}/ws", params={"token": account.api_key}) as socket:
        answer = await inject(media, {"type": "document", "media": {"size": 20_000, "filename": "bill.pdf"}})
        frames: list[Any] = []
        async with asyncio.timeout(20):
            while not any(frame["type"] == "media.stored" for frame in frames):
                frames.append(orjson.loads((await socket.receive()).data))
    received = next(f for f in frames if f["type"] == "message.received")
    stored = next(f for f in frames if f["type"] == "media.stored")
    assert received["data"]["wa_message_id"] == answer["wa_message_id"]
    assert received["data"]["media"]["status"] == "pending"
    assert received["data"]["media"]["filename"] == "bill.pdf"
    assert stored["data"]["id"] == received["data"]["id"]
    assert stored["data"]["media"]["status"] == "stored"
    assert stored["data"]["media"]["sha256"] == answer["media"]["sha256"]


async def test_a_file_whose_sha256_does_not_match_is_not_kept(media: Running) -> None:
    answer = await inject(media, {"type": "image", "media": {"size": 30_000, "wrong_sha256": True}})
    message = await settled(media, await message_id_of(media, answer["wa_message_id"]))
    assert message["media"]["status"] == "failed"
    assert message["media"]["failure_reason"] == "sha256_mismatch"
    status, body = await fetch(media, message["media"]["id"])
    assert status == 410 and orjson.loads(body)["error"]["code"] == "media_failed"


async def test_media_whatsapp_no_longer_has_fails_as_not_found(media: Running) -> None:
    # Downloads fail (500s) until WhatsApp has forgotten the media: then it is not found.
    async with media.http.post(
        f"{media.simulator}/_sim/media/faults", json={"fault": "http_500", "count": 1000}
    ) as response:
        assert response.status == 200
    try:
        answer = await inject(media, {"type": "audio", "media": {"size": 10_000}})
        message_id = await message_id_of(media, answer["wa_message_id"])
        async with asyncio.timeout(10):
            while True:  # a second claim: the first attempt failed
                if await attempts_of(media, message_id) >= 2:
                    break
                await asyncio.sleep(0.02)
        expire = f"{media.simulator}/_sim/media/{answer['media']['id']}/expire"
        async with media.http.post(expire) as response:
            assert response.status == 204
    finally:
        async with media.http.delete(f"{media.simulator}/_sim/media/faults") as response:
            assert response.status == 204
    message = await settled(media, message_id)
    assert message["media"]["status"] == "failed"
    assert message["media"]["failure_reason"] == "media_not_found"


async def test_a_download_broken_mid_body_is_retried_and_kept(media: Running) -> None:
    async with media.http.post(
        f"{media.simulator}/_sim/media/faults", json={"fault": "broken_body", "count": 2}
    ) as response:
        assert response.status == 200
    answer = await inject(media, {"type": "image", "media": {"size": 400_000}})
    message = await settled(media, await message_id_of(media, answer["wa_message_id"]))
    assert message["media"]["status"] == "stored"
    status, data = await fetch(media, message["media"]["id"])
    assert status == 200 and hashlib.sha256(data).hexdigest() == answer["media"]["sha256"]
    assert await attempts_of(media, message["id"]) == 3


async def test_a_file_whatsapp_forgot_is_uploaded_again_after_its_131053(media: Running) -> None:
    acme = media.acme
    form = aiohttp.FormData()
    form.add_field("file", b"\x89PNG" + bytes(2000), content_type="image/png", filename="logo.png")
    async with media.http.post(f"{media.gateway}/media", data=form, headers=auth(acme)) as response:
        file = await response.json()
    content = {"type": "image", "image": {"media_id": file["id"]}}
    first = await send_and_settle(media, content)
    assert first["status"] in ("sent", "delivered", "read") and first["media"]["id"] == file["id"]
    whatsapp_id = await whatsapp_media_of(media, first["id"])
    # WhatsApp forgets the file (deleted), as it does after 30 days.
    url = f"{media.simulator}/v21.0/{whatsapp_id}"
    async with media.http.delete(url, headers={"Authorization": f"Bearer {acme.access_token}"}) as response:
        assert response.status == 200
    second = await send_and_settle(media, content)
    assert second["status"] == "failed" and second["error"]["code"] == "131053"
    third = await send_and_settle(media, content)
    assert third["status"] != "failed"
    assert await whatsapp_media_of(media, third["id"]) != whatsapp_id


async def send_and_settle(running: Running, content: dict[str, Any]) -> Any:
    """A sync send, then the message once its statuses stop moving (read, or failed)."""
    body = {"conversation_id": running.acme.conversation_ids[0], **content}
    async with running.http.post(
        f"{running.gateway}/messages/send", json=body, headers=auth(running.acme)
    ) as response:
        assert response.status == 200, await response.text()
        message_id = (await response.json())["id"]
    async with asyncio.timeout(10):
        while True:
            url = f"{running.gateway}/messages/{message_id}"
            async with running.http.get(url, headers=auth(running.acme)) as response:
                message = await response.json()
            if message["status"] in ("read", "failed"):
                return message
            await asyncio.sleep(0.05)
