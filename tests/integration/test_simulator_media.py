"""The simulator's media endpoints (upload, retrieve, download, delete), inbound media and the media
faults, over real HTTP against the in-process server."""

import asyncio
import base64
import hashlib
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import yarl

from tests.fixtures.simulator import API_VERSION, Simulator
from tests.integration.test_simulator import assert_graph_error
from tests.integration.test_simulator_webhooks import Receiver, receiver
from tools.whatsapp_sim.app import STATE
from tools.whatsapp_sim.config import SimConfig
from tools.whatsapp_sim.media import KB, MB

__all__ = ["receiver"]  # a fixture, used by name

PHONE = "106540352242922"
TOKEN = "EAAG-test-token"
OTHER_PHONE = "106540352242923"
OTHER_TOKEN = "EAAG-other-token"
SECRET = "app-secret-for-tests"
JPEG = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 40


@pytest.fixture
async def sim(simulator: Simulator) -> AsyncIterator[Simulator]:
    await simulator.register(PHONE, TOKEN, app_secret=SECRET)
    await simulator.register(OTHER_PHONE, OTHER_TOKEN)
    yield simulator


def bearer(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token is not None else {}


def form(
    data: bytes | None = JPEG,
    mime_type: str | None = "image/jpeg",
    *,
    part_type: str | None = None,
    product: str | None = "whatsapp",
) -> aiohttp.FormData:
    """An upload form; the file part says `part_type`, or `mime_type` when that is None."""
    body = aiohttp.FormData(default_to_multipart=True)
    if product is not None:
        body.add_field("messaging_product", product)
    if mime_type is not None:
        body.add_field("type", mime_type)
    if data is not None:
        body.add_field("file", data, filename="file.bin", content_type=part_type or mime_type)
    return body


async def upload(
    sim: Simulator, body: Any, *, phone: str = PHONE, token: str | None = TOKEN
) -> tuple[int, dict[str, Any]]:
    url = f"{sim.url}/{API_VERSION}/{phone}/media"
    async with sim.session.post(url, data=body, headers=bearer(token)) as resp:
        return resp.status, await resp.json()


async def upload_ok(sim: Simulator, data: bytes = JPEG, mime_type: str = "image/jpeg") -> str:
    status, body = await upload(sim, form(data, mime_type))
    assert status == 200, body
    media_id: str = body["id"]
    return media_id


async def retrieve(
    sim: Simulator, media_id: str, *, token: str | None = TOKEN, phone_number_id: str | None = None
) -> tuple[int, dict[str, Any]]:
    params = {"phone_number_id": phone_number_id} if phone_number_id is not None else {}
    url = f"{sim.url}/{API_VERSION}/{media_id}"
    async with sim.session.get(url, params=params, headers=bearer(token)) as resp:
        return resp.status, await resp.json()


async def media_url(sim: Simulator, media_id: str) -> str:
    status, body = await retrieve(sim, media_id)
    assert status == 200, body
    url: str = body["url"]
    return url


async def download(sim: Simulator, url: str, token: str | None = TOKEN) -> tuple[int, bytes, str]:
    async with sim.session.get(yarl.URL(url, encoded=True), headers=bearer(token)) as resp:
        return resp.status, await resp.read(), resp.headers.get("Content-Type", "")


def assert_not_found(status: int, body: dict[str, Any], media_id: str) -> None:
    error = assert_graph_error(status, body, 404, 100)
    assert error["error_subcode"] == 33
    assert error["type"] == "GraphMethodException"
    assert f"Object with ID '{media_id}' does not exist" in error["message"]


async def add_faults(sim: Simulator, fault: str, count: int = 1) -> None:
    async with sim.session.post(
        f"{sim.url}/_sim/media/faults", json={"fault": fault, "count": count}
    ) as resp:
        assert resp.status == 200, await resp.text()


# --- upload, retrieve, download ----------------------------------------------------------------


async def test_upload_retrieve_download(sim: Simulator) -> None:
    media_id = await upload_ok(sim)
    assert media_id.isdigit() and len(media_id) >= 15

    status, body = await retrieve(sim, media_id)

    assert status == 200
    assert body == {
        "messaging_product": "whatsapp",
        "url": body["url"],
        "mime_type": "image/jpeg",
        "sha256": hashlib.sha256(JPEG).hexdigest(),
        "file_size": len(JPEG),
        "id": media_id,
    }
    url = yarl.URL(body["url"])
    assert url.path == "/whatsapp_business/attachments/"
    assert url.query["mid"] == media_id
    assert 295 <= int(url.query["ext"]) - time.time() <= 301
    status, data, content_type = await download(sim, body["url"])
    assert (status, data, content_type) == (200, JPEG, "image/jpeg")


async def test_retrieve_with_the_owning_phone_number_id(sim: Simulator) -> None:
    media_id = await upload_ok(sim)

    status, body = await retrieve(sim, media_id, phone_number_id=PHONE)

    assert status == 200 and body["id"] == media_id


async def test_media_ids_are_unique(sim: Simulator) -> None:
    ids = await asyncio.gather(*(upload_ok(sim) for _ in range(20)))
    assert len(set(ids)) == 20


async def test_a_large_download_streams_every_byte(sim: Simulator) -> None:
    data = bytes(range(256)) * (16 * MB // 256)  # the most a video may have
    media_id = await upload_ok(sim, data, "video/mp4")

    status, received, _ = await download(sim, await media_url(sim, media_id))

    assert status == 200 and hashlib.sha256(received).digest() == hashlib.sha256(data).digest()


@pytest.mark.parametrize("token", [None, "someone-elses-token"])
async def test_upload_needs_the_numbers_token(sim: Simulator, token: str | None) -> None:
    status, body = await upload(sim, form(), token=token)
    assert_graph_error(status, body, 401, 190)


async def test_upload_to_an_unknown_number_is_code_100_subcode_33(sim: Simulator) -> None:
    status, body = await upload(sim, form(), phone="999")

    error = assert_graph_error(status, body, 400, 100)
    assert error["error_subcode"] == 33
    assert error["message"].startswith("Unsupported post request. Object with ID '999'")


@pytest.mark.parametrize(
    ("mime_type", "part_type"),
    [("image/gif", None), ("application/zip", None), ("image/png", "application/octet-stream")],
)
async def test_upload_of_an_unsupported_type_is_refused(
    sim: Simulator, mime_type: str, part_type: str | None
) -> None:
    status, body = await upload(sim, form(mime_type=mime_type, part_type=part_type))

    error = assert_graph_error(status, body, 400, 100)
    received = part_type or mime_type
    assert error["message"].startswith("(#100) Param file must be a file with one of the following types")
    assert error["message"].endswith(f"Received file of type '{received}'.")


@pytest.mark.parametrize(
    ("mime_type", "limit"),
    [("image/jpeg", 5 * MB), ("image/webp", 500 * KB), ("audio/ogg", 16 * MB), ("text/plain", 100 * MB)],
)
async def test_upload_over_the_types_limit_is_refused(sim: Simulator, mime_type: str, limit: int) -> None:
    status, body = await upload(sim, form(b"x" * (limit + 1), mime_type))

    error = assert_graph_error(status, body, 400, 100)
    assert f"at most {limit} bytes" in error["error_data"]["details"]


async def test_upload_of_exactly_the_limit_passes(sim: Simulator) -> None:
    await upload_ok(sim, b"x" * (500 * KB), "image/webp")


@pytest.mark.parametrize("mime_type", ["video/3gp", "video/3gpp", "audio/ogg; codecs=opus"])
async def test_upload_takes_both_3gp_spellings_and_type_parameters(sim: Simulator, mime_type: str) -> None:
    media_id = await upload_ok(sim, b"x" * 100, mime_type)

    status, body = await retrieve(sim, media_id)

    assert status == 200 and body["mime_type"] == mime_type.partition(";")[0]


@pytest.mark.parametrize(
    ("body", "missing"),
    [
        (form(product=None), "messaging_product"),
        (form(mime_type=None, part_type="image/jpeg"), "type"),
        (form(data=None), "file"),
        (form(data=b""), "file"),
    ],
)
async def test_upload_missing_a_parameter_is_code_100(
    sim: Simulator, body: aiohttp.FormData, missing: str
) -> None:
    status, answer = await upload(sim, body)

    error = assert_graph_error(status, answer, 400, 100)
    assert error["message"] == f"(#100) The parameter {missing} is required."


@pytest.mark.parametrize("body", [form(product="sms"), b'{"messaging_product": "whatsapp"}'])
async def test_upload_of_another_product_or_not_a_form_is_code_100(sim: Simulator, body: Any) -> None:
    status, answer = await upload(sim, body)
    assert_graph_error(status, answer, 400, 100)


# --- who may see media -------------------------------------------------------------------------


async def test_unknown_media_is_404_code_100_subcode_33(sim: Simulator) -> None:
    status, body = await retrieve(sim, "123456789012345")
    assert_not_found(status, body, "123456789012345")


async def test_another_numbers_media_is_not_found(sim: Simulator) -> None:
    media_id = await upload_ok(sim)

    by_token = await retrieve(sim, media_id, token=OTHER_TOKEN)
    by_number = await retrieve(sim, media_id, phone_number_id=OTHER_PHONE)

    assert_not_found(*by_token, media_id)
    assert_not_found(*by_number, media_id)


@pytest.mark.parametrize("token", [None, "not-a-token-of-anyone"])
async def test_retrieve_with_a_bad_token_is_190(sim: Simulator, token: str | None) -> None:
    media_id = await upload_ok(sim)

    status, body = await retrieve(sim, media_id, token=token)

    assert_graph_error(status, body, 401, 190)


@pytest.mark.parametrize("token", [None, OTHER_TOKEN, "not-a-token-of-anyone"])
async def test_download_needs_the_owners_token(sim: Simulator, token: str | None) -> None:
    url = await media_url(sim, await upload_ok(sim))

    status, _, _ = await download(sim, url, token)

    assert status == 401


@pytest.mark.parametrize("part", ["hash", "ext", "mid"])
async def test_download_url_altered_is_404(sim: Simulator, part: str) -> None:
    url = yarl.URL(await media_url(sim, await upload_ok(sim)))
    other = yarl.URL(await media_url(sim, await upload_ok(sim)))
    # Another URL's part, or a later expiry the hash does not cover.
    value = str(int(url.query["ext"]) + 60) if part == "ext" else other.query[part]

    status, _, _ = await download(sim, str(url.update_query({part: value})))

    assert status == 404


async def test_download_url_expires(sim: Simulator) -> None:
    sim.config.media_url_seconds = 1
    media_id = await upload_ok(sim)
    url = await media_url(sim, media_id)

    await asyncio.sleep(int(yarl.URL(url).query["ext"]) - time.time() + 0.05)

    assert (await download(sim, url))[0] == 404
    # A new URL works: the media id has not expired.
    assert (await download(sim, await media_url(sim, media_id)))[0] == 200


# --- lifetimes, delete, eviction ---------------------------------------------------------------


async def test_delete_forgets_the_media(sim: Simulator) -> None:
    media_id = await upload_ok(sim)
    url = await media_url(sim, media_id)
    delete_url = f"{sim.url}/{API_VERSION}/{media_id}"

    async with sim.session.delete(delete_url, headers=bearer(TOKEN)) as resp:
        assert (resp.status, await resp.json()) == (200, {"success": True})

    assert_not_found(*await retrieve(sim, media_id), media_id)
    assert (await download(sim, url))[0] == 404
    async with sim.session.delete(delete_url, headers=bearer(TOKEN)) as resp:
        assert_not_found(resp.status, await resp.json(), media_id)


async def test_delete_of_another_numbers_media_is_not_found(sim: Simulator) -> None:
    media_id = await upload_ok(sim)

    async with sim.session.delete(f"{sim.url}/{API_VERSION}/{media_id}", headers=bearer(OTHER_TOKEN)) as resp:
        assert_not_found(resp.status, await resp.json(), media_id)
    assert (await retrieve(sim, media_id))[0] == 200


async def test_expire_control(sim: Simulator) -> None:
    media_id = await upload_ok(sim)
    url = await media_url(sim, media_id)

    async with sim.session.post(f"{sim.url}/_sim/media/{media_id}/expire") as resp:
        assert resp.status == 204
    async with sim.session.post(f"{sim.url}/_sim/media/{media_id}/expire") as resp:
        assert resp.status == 404

    assert_not_found(*await retrieve(sim, media_id), media_id)
    assert (await download(sim, url))[0] == 404


async def test_uploaded_media_expires_after_its_lifetime(sim: Simulator) -> None:
    await sim.set_config(uploaded_media_seconds=1)
    media_id = await upload_ok(sim)
    assert (await retrieve(sim, media_id))[0] == 200

    await asyncio.sleep(1.05)

    assert_not_found(*await retrieve(sim, media_id), media_id)


async def test_over_the_budget_the_oldest_media_goes(sim: Simulator) -> None:
    await sim.set_config(media_budget_bytes=2500)
    first, second, third = [await upload_ok(sim, bytes([n]) * 1000) for n in range(3)]

    assert_not_found(*await retrieve(sim, first), first)
    for media_id, n in ((second, 1), (third, 2)):
        status, data, _ = await download(sim, await media_url(sim, media_id))
        assert (status, data) == (200, bytes([n]) * 1000)


async def test_media_settings_are_patchable(sim: Simulator) -> None:
    config = await sim.set_config(
        media_url_seconds=5, webhook_media_seconds=6, uploaded_media_seconds=7, media_budget_bytes=8
    )

    assert [config[name] for name in ("media_url_seconds", "webhook_media_seconds")] == [5, 6]
    assert [config[name] for name in ("uploaded_media_seconds", "media_budget_bytes")] == [7, 8]
    async with sim.session.patch(f"{sim.url}/_sim/config", json={"media_url_seconds": 0}) as resp:
        assert resp.status == 400
    assert sim.config.media_url_seconds == 5


def test_media_settings_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIM_MEDIA_URL_SECONDS", "60")
    monkeypatch.setenv("SIM_MEDIA_BUDGET_BYTES", "1000")

    config = SimConfig.from_env()

    assert (config.media_url_seconds, config.media_budget_bytes) == (60, 1000)
    assert (config.webhook_media_seconds, config.uploaded_media_seconds) == (7 * 86400, 30 * 86400)


# --- inbound media -----------------------------------------------------------------------------


@pytest.fixture
async def inbound_sim(sim: Simulator, receiver: Receiver) -> AsyncIterator[Simulator]:
    await sim.set_webhook(receiver.url)
    yield sim
    await sim.app[STATE].webhooks.cancel_pending()


async def test_inbound_image_has_metas_shape_and_downloads(
    inbound_sim: Simulator, receiver: Receiver
) -> None:
    message = {"type": "image", "media": {"mime_type": "image/png", "size": 100_000, "caption": "look"}}

    answer = await inbound_sim.inbound(PHONE, "15557654321", message)

    assert answer["webhook_status"] == 200
    media = answer["media"]
    assert (media["mime_type"], media["file_size"]) == ("image/png", 100_000)
    [request] = await receiver.wait_for(1)
    [sent] = request.value()["messages"]
    assert sent["type"] == "image" and "media" not in sent
    assert sent["image"] == {
        "caption": "look",
        "mime_type": "image/png",
        # Webhooks carry it in base64, the retrieve answer in hex.
        "sha256": base64.b64encode(bytes.fromhex(media["sha256"])).decode(),
        "id": media["id"],
    }
    status, body = await retrieve(inbound_sim, media["id"])
    assert (status, body["sha256"], body["file_size"]) == (200, media["sha256"], 100_000)
    status, data, _ = await download(inbound_sim, body["url"])
    assert status == 200 and hashlib.sha256(data).hexdigest() == media["sha256"]


@pytest.mark.parametrize(
    ("kind", "given", "shown"),
    [
        (
            "document",
            {"filename": "a.pdf", "caption": "the invoice"},
            {"caption": "the invoice", "filename": "a.pdf"},
        ),
        ("audio", {"voice": True}, {"voice": True}),
        ("audio", {}, {"voice": False}),
        ("sticker", {"animated": True}, {"animated": True}),
        ("video", {}, {}),
    ],
)
async def test_inbound_media_fields_by_type(
    inbound_sim: Simulator, receiver: Receiver, kind: str, given: dict[str, Any], shown: dict[str, Any]
) -> None:
    data = b"exactly these bytes"
    media = {"data_base64": base64.b64encode(data).decode(), **given}

    answer = await inbound_sim.inbound(PHONE, "15557654321", {"type": kind, "media": media})

    [request] = await receiver.wait_for(1)
    item = request.value()["messages"][0][kind]
    assert item == {
        **shown,
        "mime_type": answer["media"]["mime_type"],
        "sha256": item["sha256"],
        "id": item["id"],
    }
    assert answer["media"]["sha256"] == hashlib.sha256(data).hexdigest()
    status, received, _ = await download(inbound_sim, await media_url(inbound_sim, item["id"]))
    assert (status, received) == (200, data)


async def test_inbound_batch_answers_media_in_step(inbound_sim: Simulator, receiver: Receiver) -> None:
    messages = [{"type": "text", "text": {"body": "hi"}}, {"type": "audio", "media": {"size": 10}}]

    answer = await inbound_sim.inbound(PHONE, "15557654321", messages=messages)

    first, second = answer["media"]
    assert first is None and second["mime_type"] == "audio/ogg" and second["file_size"] == 10
    [request] = await receiver.wait_for(1)
    assert request.value()["messages"][1]["audio"]["id"] == second["id"]


async def test_inbound_media_expires_after_its_lifetime(inbound_sim: Simulator, receiver: Receiver) -> None:
    await inbound_sim.set_config(webhook_media_seconds=1)
    answer = await inbound_sim.inbound(PHONE, "15557654321", {"type": "image", "media": {"size": 10}})
    media_id = answer["media"]["id"]
    assert (await retrieve(inbound_sim, media_id))[0] == 200

    await asyncio.sleep(1.05)

    assert_not_found(*await retrieve(inbound_sim, media_id), media_id)


@pytest.mark.parametrize(
    ("message", "complaint"),
    [
        ({"type": "text", "media": {"size": 10}}, "only for"),
        ({"type": "image", "media": {"size": 10}, "image": {"id": "1"}}, "both"),
        ({"type": "image", "media": {}}, "either 'size' or 'data_base64'"),
        ({"type": "image", "media": {"size": 10, "data_base64": "eA=="}}, "either"),
        ({"type": "image", "media": {"size": 0}}, "size"),
        ({"type": "image", "media": {"data_base64": "not base64!"}}, "data_base64"),
        ({"type": "audio", "media": {"size": 10, "caption": "no"}}, "caption"),
        ({"type": "audio", "media": {"size": 10, "voice": "yes"}}, "voice"),
        ({"type": "image", "media": {"size": 10, "mime_type": ""}}, "mime_type"),
        ({"type": "image", "media": "big"}, "JSON object"),
    ],
)
async def test_inbound_media_is_checked(
    inbound_sim: Simulator, message: dict[str, Any], complaint: str
) -> None:
    body = {"phone_number_id": PHONE, "from": "15557654321", "message": message}

    async with inbound_sim.session.post(f"{inbound_sim.url}/_sim/inbound", json=body) as resp:
        assert resp.status == 400
        assert complaint in (await resp.json())["error"]


# --- faults ------------------------------------------------------------------------------------


async def test_http_500_fault_fails_the_next_downloads(sim: Simulator) -> None:
    url = await media_url(sim, await upload_ok(sim))
    await add_faults(sim, "http_500", count=2)

    statuses = [(await download(sim, url))[0] for _ in range(3)]

    assert statuses == [500, 500, 200]


async def test_faults_can_be_cleared(sim: Simulator) -> None:
    url = await media_url(sim, await upload_ok(sim))
    await add_faults(sim, "http_500", count=5)

    async with sim.session.delete(f"{sim.url}/_sim/media/faults") as resp:
        assert resp.status == 204

    assert (await download(sim, url))[0] == 200


async def test_broken_body_fault_cuts_the_download(sim: Simulator) -> None:
    data = bytes(range(256)) * 1024
    url = await media_url(sim, await upload_ok(sim, data, "video/mp4"))
    await add_faults(sim, "broken_body")

    async with sim.session.get(yarl.URL(url, encoded=True), headers=bearer(TOKEN)) as resp:
        assert resp.status == 200 and resp.content_length == len(data)
        with pytest.raises(aiohttp.ClientPayloadError):
            await resp.read()

    assert (await download(sim, url))[1] == data


async def test_wrong_sha256_fault_advertises_another_hash(inbound_sim: Simulator, receiver: Receiver) -> None:
    message = {"type": "image", "media": {"size": 1000, "wrong_sha256": True}}

    answer = await inbound_sim.inbound(PHONE, "15557654321", message)

    real = answer["media"]["sha256"]
    [request] = await receiver.wait_for(1)
    advertised = base64.b64decode(request.value()["messages"][0]["image"]["sha256"]).hex()
    status, body = await retrieve(inbound_sim, answer["media"]["id"])
    assert status == 200 and advertised == body["sha256"] != real
    status, data, _ = await download(inbound_sim, body["url"])
    assert hashlib.sha256(data).hexdigest() == real


@pytest.mark.parametrize("body", [{"fault": "slow"}, {"fault": "http_500", "count": 0}, {"count": 1}, [1]])
async def test_bad_fault_requests_are_refused(sim: Simulator, body: Any) -> None:
    async with sim.session.post(f"{sim.url}/_sim/media/faults", json=body) as resp:
        assert resp.status == 400
