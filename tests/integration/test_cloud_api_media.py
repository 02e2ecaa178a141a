"""The Cloud API client's media calls (download_media, upload_media) over real HTTP: against the
simulator, and against a tiny server for what the simulator does not do (stalls, other encodings)."""

import asyncio
import base64
import hashlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from services.sender.whatsapp import CloudApiClient
from services.sender.whatsapp_media import MediaInfo, download_media, upload_media
from services.shared.whatsapp_errors import Failure, FailureClass, FailureKind
from tests.fixtures.simulator import API_VERSION, Simulator
from tests.integration.test_simulator_media import OTHER_TOKEN, PHONE, TOKEN, sim, upload_ok
from tests.integration.test_simulator_webhooks import Receiver, receiver
from tools.whatsapp_sim.app import STATE
from tools.whatsapp_sim.media import DownloadFault

__all__ = ["receiver", "sim"]  # fixtures, used by name

DATA = bytes(range(256)) * 4096  # 1 MiB
CHUNK = 64 * 1024


@pytest.fixture
async def client(sim: Simulator) -> AsyncIterator[CloudApiClient]:
    async with CloudApiClient(base_url=sim.url, api_version=API_VERSION, timeout_seconds=5) as cloud_api:
        yield cloud_api


async def collect(
    client: CloudApiClient,
    media_id: str,
    *,
    token: str = TOKEN,
    max_bytes: int = 100 * 1024 * 1024,
    chunk_size: int = CHUNK,
) -> list[MediaInfo | bytes | Failure]:
    items = download_media(client, PHONE, token, media_id, max_bytes=max_bytes, chunk_size=chunk_size)
    return [item async for item in items]


def split(items: list[MediaInfo | bytes | Failure]) -> tuple[MediaInfo, bytes, Failure | None]:
    """The MediaInfo first, the bytes, and the Failure that may end them, checking the order."""
    info, *rest = items
    assert isinstance(info, MediaInfo), info
    last = rest[-1] if rest else None
    failure = last if isinstance(last, Failure) else None
    chunks = [chunk for chunk in rest if isinstance(chunk, bytes)]
    assert len(chunks) + (failure is not None) == len(rest), rest
    return info, b"".join(chunks), failure


def only_failure(items: list[MediaInfo | bytes | Failure]) -> Failure:
    [failure] = items
    assert isinstance(failure, Failure), failure
    assert TOKEN not in repr(failure)
    return failure


async def chunks_of(data: bytes, size: int = CHUNK) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        await asyncio.sleep(0)
        yield data[start : start + size]


# --- download ----------------------------------------------------------------------------------


async def test_download_streams_the_file_in_chunks(sim: Simulator, client: CloudApiClient) -> None:
    media_id = await upload_ok(sim, DATA, "video/mp4")

    items = await collect(client, media_id)

    info, data, failure = split(items)
    assert failure is None
    assert info.url.startswith(sim.url + "/whatsapp_business/attachments/")
    assert (info.mime_type, info.size, info.sha256) == (
        "video/mp4",
        len(DATA),
        hashlib.sha256(DATA).hexdigest(),
    )
    assert data == DATA
    assert all(len(chunk) <= CHUNK for chunk in items[1:] if isinstance(chunk, bytes))
    assert len(items) > 2


async def test_unknown_media_is_media_not_found(sim: Simulator, client: CloudApiClient) -> None:
    failure = only_failure(await collect(client, "123456789012345"))

    assert (failure.code, failure.failure_class) == ("media_not_found", FailureClass.PERMANENT)
    assert (failure.http_status, failure.subcode) == (404, 33)


@pytest.mark.parametrize("how", ["expire", "delete"])
async def test_expired_or_deleted_media_is_media_not_found(
    sim: Simulator, client: CloudApiClient, how: str
) -> None:
    media_id = await upload_ok(sim)
    if how == "expire":
        async with sim.session.post(f"{sim.url}/_sim/media/{media_id}/expire") as resp:
            assert resp.status == 204
    else:
        async with sim.session.delete(
            f"{sim.url}/{API_VERSION}/{media_id}", headers={"Authorization": f"Bearer {TOKEN}"}
        ):
            pass

    failure = only_failure(await collect(client, media_id))

    assert (failure.code, failure.failure_class) == ("media_not_found", FailureClass.PERMANENT)


async def test_media_gone_between_lookup_and_download_is_media_not_found(
    sim: Simulator, client: CloudApiClient
) -> None:
    media_id = await upload_ok(sim)
    items = download_media(client, PHONE, TOKEN, media_id, max_bytes=len(DATA))

    assert isinstance(await anext(items), MediaInfo)
    sim.app[STATE].media.delete(media_id)
    failure = await anext(items)

    assert isinstance(failure, Failure)
    assert (failure.code, failure.failure_class) == ("media_not_found", FailureClass.PERMANENT)
    with pytest.raises(StopAsyncIteration):
        await anext(items)


async def test_another_numbers_token_is_media_not_found(sim: Simulator, client: CloudApiClient) -> None:
    failure = only_failure(await collect(client, await upload_ok(sim), token=OTHER_TOKEN))
    assert failure.code == "media_not_found"


async def test_wrong_token_is_the_190_failure(sim: Simulator, client: CloudApiClient) -> None:
    failure = only_failure(await collect(client, await upload_ok(sim), token="not-a-token-of-anyone"))

    assert (failure.code, failure.failure_class, failure.http_status) == (
        "190",
        FailureClass.NEEDS_OPERATOR,
        401,
    )
    assert failure.kind is FailureKind.WHATSAPP_ERROR


async def test_over_max_bytes_fails_without_downloading(sim: Simulator, client: CloudApiClient) -> None:
    media_id = await upload_ok(sim, DATA, "video/mp4")
    # Any download would take this fault: it stays pending if none happens.
    sim.app[STATE].media.download_faults.append(DownloadFault.HTTP_500)

    info, data, failure = split(await collect(client, media_id, max_bytes=len(DATA) - 1))

    assert info.size == len(DATA) and data == b""
    assert failure is not None
    assert (failure.code, failure.failure_class) == ("media_too_large", FailureClass.PERMANENT)
    assert list(sim.app[STATE].media.download_faults) == ["http_500"]


async def test_a_connection_broken_mid_body_is_retryable_after_some_bytes(
    sim: Simulator, client: CloudApiClient
) -> None:
    media_id = await upload_ok(sim, DATA, "video/mp4")
    async with sim.session.post(f"{sim.url}/_sim/media/faults", json={"fault": "broken_body"}) as resp:
        assert resp.status == 200

    _, data, failure = split(await collect(client, media_id))

    assert 0 < len(data) < len(DATA) and DATA.startswith(data)
    assert failure is not None
    assert (failure.code, failure.failure_class, failure.kind) == (
        "connection_error",
        FailureClass.RETRYABLE,
        FailureKind.CONNECTION,
    )


async def test_a_500_from_the_url_is_retryable(sim: Simulator, client: CloudApiClient) -> None:
    media_id = await upload_ok(sim)
    async with sim.session.post(f"{sim.url}/_sim/media/faults", json={"fault": "http_500"}) as resp:
        assert resp.status == 200

    _, data, failure = split(await collect(client, media_id))

    assert data == b"" and failure is not None
    assert (failure.failure_class, failure.http_status) == (FailureClass.RETRYABLE, 500)


async def test_bytes_are_passed_on_as_they_are_with_the_sha256_whatsapp_gave(
    sim: Simulator, client: CloudApiClient, receiver: Receiver
) -> None:
    await sim.set_webhook(receiver.url)
    message = {"type": "document", "media": {"size": 200_000, "wrong_sha256": True}}
    answer = await sim.inbound(PHONE, "15557654321", message)

    info, data, failure = split(await collect(client, answer["media"]["id"]))

    # The caller, which keeps the bytes, checks them: conversations refuses this copy.
    assert hashlib.sha256(data).hexdigest() == answer["media"]["sha256"] != info.sha256
    assert failure is None


# --- upload ------------------------------------------------------------------------------------


async def test_upload_then_download_gives_the_same_bytes(sim: Simulator, client: CloudApiClient) -> None:
    media_id = await upload_media(
        client,
        PHONE,
        TOKEN,
        mime_type="video/mp4",
        filename="clip.mp4",
        size=len(DATA),
        chunks=chunks_of(DATA),
    )

    assert isinstance(media_id, str) and media_id.isdigit()
    info, data, failure = split(await collect(client, media_id))
    assert failure is None and data == DATA
    assert (info.mime_type, info.sha256) == ("video/mp4", hashlib.sha256(DATA).hexdigest())


async def test_upload_of_an_unsupported_type_fails(sim: Simulator, client: CloudApiClient) -> None:
    result = await upload_media(
        client, PHONE, TOKEN, mime_type="image/gif", filename="a.gif", size=10, chunks=chunks_of(b"x" * 10)
    )

    assert isinstance(result, Failure)
    assert (result.code, result.failure_class, result.http_status) == ("100", FailureClass.PERMANENT, 400)
    assert "image/gif" in result.message


async def test_upload_with_a_wrong_token_is_the_190_failure(sim: Simulator, client: CloudApiClient) -> None:
    result = await upload_media(
        client,
        PHONE,
        OTHER_TOKEN,
        mime_type="image/png",
        filename="a.png",
        size=10,
        chunks=chunks_of(b"x" * 10),
    )

    assert isinstance(result, Failure) and result.code == "190"
    assert OTHER_TOKEN not in repr(result)


@pytest.mark.parametrize("size", [9, 11])
async def test_upload_chunks_must_add_up_to_the_size(
    sim: Simulator, client: CloudApiClient, size: int
) -> None:
    with pytest.raises(ValueError, match="size given"):
        await upload_media(
            client,
            PHONE,
            TOKEN,
            mime_type="image/png",
            filename="a.png",
            size=size,
            chunks=chunks_of(b"x" * 10),
        )


async def test_upload_raises_what_the_chunks_raise(sim: Simulator, client: CloudApiClient) -> None:
    class Gone(Exception):
        pass

    async def broken() -> AsyncIterator[bytes]:
        yield b"x" * 5
        raise Gone("the caller's stream ended")

    with pytest.raises(Gone):
        await upload_media(
            client, PHONE, TOKEN, mime_type="image/png", filename="a.png", size=10, chunks=broken()
        )


# --- what the simulator does not do ------------------------------------------------------------


@pytest.fixture
async def tiny_graph() -> AsyncIterator[tuple[str, list[dict[str, Any]]]]:
    """Answers a retrieve with a base64 sha256 and a string file_size, serves a URL that stalls
    half way, and records the headers of uploads."""
    uploads: list[dict[str, Any]] = []

    async def retrieve(request: web.Request) -> web.Response:
        url = f"{request.url.origin()}/file"
        sha256 = base64.b64encode(hashlib.sha256(DATA).digest()).decode()
        return web.json_response(
            {"url": url, "mime_type": "audio/ogg", "sha256": sha256, "file_size": str(len(DATA))}
        )

    async def stalling_file(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        response.content_length = len(DATA)
        await response.prepare(request)
        await response.write(DATA[: len(DATA) // 2])
        await asyncio.sleep(5)
        return response

    async def upload(request: web.Request) -> web.Response:
        body = await request.read()
        uploads.append({"headers": dict(request.headers), "size": len(body)})
        return web.json_response({"id": "1234"})

    app = web.Application(client_max_size=2 * len(DATA))
    app.router.add_get("/v21.0/{media_id}", retrieve)
    app.router.add_get("/file", stalling_file)
    app.router.add_post("/v21.0/{phone_number_id}/media", upload)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"http://{host}:{port}", uploads
    finally:
        await runner.cleanup()


async def test_base64_sha256_and_string_size_are_read_and_a_stall_times_out(
    tiny_graph: tuple[str, list[dict[str, Any]]],
) -> None:
    base_url, _ = tiny_graph
    async with CloudApiClient(base_url=base_url, timeout_seconds=0.3) as client:
        items = await asyncio.wait_for(collect(client, "77"), 3)

    info, data, failure = split(items)
    assert (info.size, info.sha256) == (len(DATA), hashlib.sha256(DATA).hexdigest())
    assert data == DATA[: len(DATA) // 2]
    assert failure is not None
    assert (failure.code, failure.failure_class, failure.kind) == (
        "timeout",
        FailureClass.RETRYABLE,
        FailureKind.TIMEOUT,
    )


async def test_upload_is_multipart_with_a_length(tiny_graph: tuple[str, list[dict[str, Any]]]) -> None:
    base_url, uploads = tiny_graph
    async with CloudApiClient(base_url=base_url) as client:
        media_id = await upload_media(
            client,
            PHONE,
            TOKEN,
            mime_type="image/png",
            filename="a.png",
            size=len(DATA),
            chunks=chunks_of(DATA),
        )

    assert media_id == "1234"
    [sent] = uploads
    # Not the session's default application/json, and not chunked.
    assert sent["headers"]["Content-Type"].startswith("multipart/form-data; boundary=")
    assert int(sent["headers"]["Content-Length"]) == sent["size"] > len(DATA)
    assert "Transfer-Encoding" not in sent["headers"]
    assert sent["headers"]["Authorization"] == f"Bearer {TOKEN}"
