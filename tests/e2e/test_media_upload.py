"""POST /media and GET /media/{id}, end to end: multipart into the gateway, chunks over gRPC
to conversations, the object store (the filesystem here), and the bytes back with ranges."""

import asyncio
import hashlib
import os
import socket
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import pytest
from sqlalchemy import text

from tests.fixtures.stack import Running, start_running
from tools.seed import SeededAccount
from tools.stack import DATA_DIR


def auth(account: SeededAccount) -> dict[str, str]:
    return {"Authorization": f"Bearer {account.api_key}"}


async def upload(
    running: Running, account: SeededAccount, data: bytes, mime_type: str, filename: str = "file.bin"
) -> tuple[int, Any]:
    form = aiohttp.FormData()
    form.add_field("file", data, content_type=mime_type, filename=filename)
    async with running.http.post(f"{running.gateway}/media", data=form, headers=auth(account)) as response:
        return response.status, await response.json()


async def media_rows(running: Running, account: SeededAccount) -> int:
    async with running.engine.connect() as connection:
        result = await connection.execute(
            text("SELECT count(*) FROM media WHERE account_id = :a"), {"a": account.account_id}
        )
        return int(result.scalar_one())


def files_kept(running: Running) -> list[str]:
    """Every file under the stack's media root, partial uploads included."""
    root = DATA_DIR / "test-media" / running.stack.log_dir.name  # type: ignore[union-attr]
    return sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())


async def nothing_more_kept(running: Running, before: tuple[int, list[str]]) -> None:
    """No row and no file more than before, once the refused upload's partial file is removed
    (conversations removes it as the call is cancelled, after the answer went out)."""
    async with asyncio.timeout(5):
        while True:
            if (await media_rows(running, running.globex), files_kept(running)) == before:
                return
            await asyncio.sleep(0.05)


async def test_an_upload_is_stored_and_served_back_whole(running: Running) -> None:
    data = os.urandom(700_000)
    status, body = await upload(running, running.acme, data, "image/jpeg", "photo é.jpg")
    assert status == 201, body
    assert body["mime_type"] == "image/jpeg" and body["size"] == len(data)
    assert body["sha256"] == hashlib.sha256(data).hexdigest() and body["status"] == "stored"
    url = f"{running.gateway}/media/{body['id']}"
    async with running.http.get(url, headers=auth(running.acme)) as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "image/jpeg"
        assert response.headers["Content-Length"] == str(len(data))
        assert response.headers["ETag"] == f'"{body["sha256"]}"'
        assert response.headers["Accept-Ranges"] == "bytes"
        disposition = response.headers["Content-Disposition"]
        assert disposition.startswith("attachment;") and "photo%20%C3%A9.jpg" in disposition
        assert await response.read() == data


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [
        ("bytes=0-99", 0, 100),
        ("bytes=1000-", 1000, 5000),
        ("bytes=-10", 4990, 5000),
        ("bytes=4999-9999", 4999, 5000),
    ],
)
async def test_a_range_is_answered_206(running: Running, header: str, start: int, end: int) -> None:
    data = os.urandom(5000)
    _, body = await upload(running, running.acme, data, "application/pdf")
    headers = {**auth(running.acme), "Range": header}
    async with running.http.get(f"{running.gateway}/media/{body['id']}", headers=headers) as response:
        assert response.status == 206
        assert response.headers["Content-Range"] == f"bytes {start}-{end - 1}/5000"
        assert await response.read() == data[start:end]


async def test_a_range_past_the_end_is_416(running: Running) -> None:
    _, body = await upload(running, running.acme, b"0123456789", "text/plain")
    headers = {**auth(running.acme), "Range": "bytes=50-60"}
    async with running.http.get(f"{running.gateway}/media/{body['id']}", headers=headers) as response:
        assert response.status == 416
        assert response.headers["Content-Range"] == "bytes */10"
        assert (await response.json())["error"]["code"] == "range_not_satisfiable"


async def test_an_unchanged_file_is_not_sent_again(running: Running) -> None:
    _, body = await upload(running, running.acme, b"0123456789", "text/plain")
    headers = {**auth(running.acme), "If-None-Match": f'"{body["sha256"]}"'}
    async with running.http.get(f"{running.gateway}/media/{body['id']}", headers=headers) as response:
        assert response.status == 304


async def test_another_accounts_media_and_an_unknown_id_are_404(running: Running) -> None:
    _, body = await upload(running, running.acme, b"acme's secret", "text/plain")
    for media_id in (body["id"], "00000000-0000-0000-0000-000000000000", "not-a-uuid"):
        url = f"{running.gateway}/media/{media_id}"
        async with running.http.get(url, headers=auth(running.globex)) as response:
            assert response.status == 404
            assert (await response.json())["error"]["code"] == "not_found"


async def test_a_type_whatsapp_does_not_take_is_415_and_nothing_is_kept(running: Running) -> None:
    before = await media_rows(running, running.globex)
    status, body = await upload(running, running.globex, b"MZ\x90\x00", "application/x-msdownload")
    assert status == 415 and body["error"]["code"] == "unsupported_media_type"
    assert await media_rows(running, running.globex) == before


async def test_a_file_over_its_types_limit_is_413_and_nothing_is_kept(running: Running) -> None:
    before = await media_rows(running, running.globex), files_kept(running)
    status, body = await upload(running, running.globex, b"\x00" * 500_001, "image/webp")
    assert status == 413 and body["error"]["code"] == "file_too_large"
    await nothing_more_kept(running, before)


async def test_an_empty_file_and_a_form_without_one_are_400(running: Running) -> None:
    status, body = await upload(running, running.globex, b"", "image/png")
    assert status == 400 and body["error"]["code"] == "invalid_request"
    form = aiohttp.FormData()
    form.add_field("filename", "x.png")
    async with running.http.post(
        f"{running.gateway}/media", data=form, headers=auth(running.globex)
    ) as response:
        assert response.status == 400
    async with running.http.post(
        f"{running.gateway}/media",
        data=b"{}",
        headers={**auth(running.globex), "Content-Type": "application/json"},
    ) as response:
        assert response.status == 400


async def test_an_upload_cut_off_mid_body_keeps_nothing(running: Running) -> None:
    before = await media_rows(running, running.globex), files_kept(running)
    boundary = "cutcutcut"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n'
        "Content-Type: image/png\r\n\r\n"
    ).encode()
    promised = len(head) + 400_000 + len(f"\r\n--{boundary}--\r\n")
    address = urlsplit(running.gateway)
    reader, writer = await asyncio.open_connection(address.hostname, address.port)
    writer.write(
        (
            f"POST /media HTTP/1.1\r\nHost: {address.netloc}\r\n"
            f"Authorization: Bearer {running.globex.api_key}\r\n"
            f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
            f"Content-Length: {promised}\r\n\r\n"
        ).encode()
        + head
        + b"\x89PNG" * 25_000  # 100,000 of the 400,000 bytes promised
    )
    await writer.drain()
    await asyncio.sleep(0.3)
    writer.transport.get_extra_info("socket").shutdown(socket.SHUT_WR)
    await asyncio.wait_for(reader.read(), 10)  # the gateway answers or closes
    writer.close()
    await nothing_more_kept(running, before)


async def send(running: Running, account: SeededAccount, content: dict[str, Any]) -> tuple[int, Any]:
    body = {"conversation_id": account.conversation_ids[0], **content}
    async with running.http.post(
        f"{running.gateway}/messages/send", json=body, headers=auth(account)
    ) as response:
        return response.status, await response.json()


async def whatsapp_media_of(running: Running, message_id: str) -> str:
    """The WhatsApp media id the simulator got in the send of this message."""
    for request in await running.simulator_requests():
        body: Any = request["body"]
        if isinstance(body, dict) and body.get("biz_opaque_callback_data") == message_id:
            return str(body[body["type"]]["id"])
    raise AssertionError(f"no send of {message_id} reached the simulator")


async def test_a_send_by_media_id_uploads_once_and_reuses_whatsapps_id(running: Running) -> None:
    acme = running.acme
    data = os.urandom(50_000)
    _, file = await upload(running, acme, data, "image/png", "menu.png")
    status, first = await send(
        running, acme, {"type": "image", "image": {"media_id": file["id"], "caption": "Menu"}}
    )
    assert status == 200, first
    assert first["image"] == {"media_id": file["id"], "caption": "Menu"}  # pigeon's id is what is kept
    status, second = await send(running, acme, {"type": "image", "image": {"media_id": file["id"]}})
    assert status == 200, second
    whatsapp_id = await whatsapp_media_of(running, first["id"])
    assert await whatsapp_media_of(running, second["id"]) == whatsapp_id
    # WhatsApp has the very bytes under that id.
    number = acme.phone_number_id
    url = f"{running.simulator}/v21.0/{whatsapp_id}?phone_number_id={number}"
    async with running.http.get(url, headers={"Authorization": f"Bearer {acme.access_token}"}) as response:
        assert (await response.json())["sha256"] == hashlib.sha256(data).hexdigest()
    # Once WhatsApp is about to forget it, the next send uploads it again.
    async with running.engine.begin() as connection:
        await connection.execute(
            text("UPDATE media SET wa_upload_expires_at = now() WHERE id = :id"), {"id": file["id"]}
        )
    status, third = await send(running, acme, {"type": "image", "image": {"media_id": file["id"]}})
    assert status == 200, third
    assert await whatsapp_media_of(running, third["id"]) != whatsapp_id


async def test_a_send_by_a_media_id_it_cannot_use_is_422(running: Running) -> None:
    _, pdf = await upload(running, running.acme, b"%PDF-1.4 tiny", "application/pdf")
    _, globex_png = await upload(running, running.globex, b"\x89PNG....", "image/png")
    for media_id in (pdf["id"], globex_png["id"], "00000000-0000-0000-0000-000000000000"):
        status, body = await send(running, running.acme, {"type": "image", "image": {"media_id": media_id}})
        assert status == 422, body
        assert body["error"]["code"] == "media_not_usable"
    status, body = await send(running, running.acme, {"type": "image", "image": {"media_id": "nope"}})
    assert status == 400 and body["error"]["code"] == "invalid_request"


async def test_files_past_the_retention_are_deleted(postgres_server: str) -> None:
    # 0.00002 days: 1.7 s.
    async with start_running(
        postgres_server, "media-retention", {"MEDIA_RETENTION_DAYS": "0.00002"}
    ) as running:
        status, body = await upload(running, running.acme, b"short-lived", "text/plain")
        assert status == 201
        url = f"{running.gateway}/media/{body['id']}"
        async with asyncio.timeout(15):
            while True:
                async with running.http.get(url, headers=auth(running.acme)) as response:
                    if response.status == 410:
                        answer = await response.json()
                        break
                    assert response.status == 200
                await asyncio.sleep(0.2)
        assert answer["error"]["code"] == "media_deleted"
        assert answer["error"]["details"]["status"] == "deleted"
        assert files_kept(running) == []


async def test_a_filename_field_names_the_file_within_its_limit(running: Running) -> None:
    form = aiohttp.FormData()
    form.add_field("filename", "invoice-42.pdf")
    form.add_field("file", b"%PDF-1.4 ...", content_type="application/pdf", filename="upload.bin")
    async with running.http.post(
        f"{running.gateway}/media", data=form, headers=auth(running.acme)
    ) as response:
        assert response.status == 201
        assert (await response.json())["filename"] == "invoice-42.pdf"
    form = aiohttp.FormData()
    form.add_field("filename", "x" * 5000)
    form.add_field("file", b"%PDF-1.4 ...", content_type="application/pdf", filename="a.pdf")
    async with running.http.post(
        f"{running.gateway}/media", data=form, headers=auth(running.acme)
    ) as response:
        assert response.status == 400


async def test_head_is_not_served(running: Running) -> None:
    _, body = await upload(running, running.acme, b"0123456789", "text/plain")
    async with running.http.head(
        f"{running.gateway}/media/{body['id']}", headers=auth(running.acme)
    ) as response:
        assert response.status == 405
