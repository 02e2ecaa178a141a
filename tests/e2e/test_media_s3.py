"""Media on an S3-compatible object store, end to end: the whole stack with MEDIA_STORE=s3 on a
moto server of its own, which the tests stop and start again: copies wait (pending, retried)
while the store is down and GET /media/{id} answers 503; once it is back, they finish."""

import asyncio
import hashlib
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio
from aiobotocore.session import get_session

from tests.e2e.test_media_inbound import attempts_of, auth, fetch, inject, message_id_of, settled
from tests.fixtures.stack import Running, start_running
from tools.stack import free_port, wait_for_port

BUCKET = "pigeon-media-e2e"
# The secret's shape is one tests/e2e/test_zz_no_secrets_in_logs.py looks for in every log.
KEYS = {
    "S3_ACCESS_KEY_ID": "test-key-id",
    "S3_SECRET_ACCESS_KEY": "S3SECRET" + "x" * 32,
    "S3_REGION": "us-east-1",
}


class Moto:
    """A moto server on a fixed port, to stop and start again (its objects go with it)."""

    def __init__(self, log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
                stdout=log,
                stderr=log,
                stdin=subprocess.DEVNULL,
            )
        wait_for_port(self.port, self.process)

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None

    async def create_bucket(self) -> None:
        async with get_session().create_client(
            "s3",
            endpoint_url=self.url,
            region_name=KEYS["S3_REGION"],
            aws_access_key_id=KEYS["S3_ACCESS_KEY_ID"],
            aws_secret_access_key=KEYS["S3_SECRET_ACCESS_KEY"],
        ) as client:
            await client.create_bucket(Bucket=BUCKET)


@pytest.fixture(scope="module")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Moto]:
    server = Moto(tmp_path_factory.mktemp("moto-e2e") / "moto.log")
    server.start()
    try:
        yield server
    finally:
        server.stop()


def s3_env(moto: Moto, **more: str) -> dict[str, str]:
    fast_retries = {"MEDIA_RETRY_BASE_SECONDS": "0.2", "MEDIA_RETRY_MAX_SECONDS": "0.5"}
    return {
        "MEDIA_STORE": "s3",
        "S3_ENDPOINT_URL": moto.url,
        "S3_BUCKET": BUCKET,
        **KEYS,
        **fast_retries,
        **more,
    }


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def on_s3(postgres_server: str, moto: Moto) -> AsyncIterator[Running]:
    await moto.create_bucket()
    async with start_running(postgres_server, "media-s3", s3_env(moto), webhooks=True) as running:
        yield running


async def test_a_copy_waits_for_a_store_that_is_down_then_finishes(on_s3: Running, moto: Moto) -> None:
    before = await inject(on_s3, {"type": "image", "media": {"size": 50_000}})
    kept = await settled(on_s3, await message_id_of(on_s3, before["wa_message_id"]))
    assert kept["media"]["status"] == "stored"
    moto.stop()
    try:
        answer = await inject(on_s3, {"type": "image", "media": {"size": 60_000}})
        message_id = await message_id_of(on_s3, answer["wa_message_id"])
        async with asyncio.timeout(15):
            while True:
                if await attempts_of(on_s3, message_id) >= 2:
                    break
                await asyncio.sleep(0.1)
        url = f"{on_s3.gateway}/messages/{message_id}"
        async with on_s3.http.get(url, headers=auth(on_s3.acme)) as response:
            assert (await response.json())["media"]["status"] == "pending"
        status, body = await fetch(on_s3, kept["media"]["id"])
        assert status == 503, body
    finally:
        moto.start()
        await moto.create_bucket()  # a new moto starts empty
    message = await settled(on_s3, message_id)
    assert message["media"]["status"] == "stored"
    status, data = await fetch(on_s3, message["media"]["id"])
    assert status == 200 and hashlib.sha256(data).hexdigest() == answer["media"]["sha256"]


async def test_a_presigned_redirect_serves_the_file_from_the_store(postgres_server: str, moto: Moto) -> None:
    env = s3_env(moto, MEDIA_PRESIGNED_REDIRECT="true")
    async with start_running(postgres_server, "media-s3-presigned", env, webhooks=True) as running:
        answer = await inject(running, {"type": "document", "media": {"size": 70_000, "filename": "q3.pdf"}})
        message = await settled(running, await message_id_of(running, answer["wa_message_id"]))
        url = f"{running.gateway}/media/{message['media']['id']}"
        async with running.http.get(url, headers=auth(running.acme), allow_redirects=False) as response:
            assert response.status == 307
            location = response.headers["Location"]
        assert location.startswith(moto.url) and "X-Amz-Signature" in location
        async with running.http.get(location) as response:
            assert response.status == 200
            assert "q3.pdf" in response.headers["Content-Disposition"]
            assert hashlib.sha256(await response.read()).hexdigest() == answer["media"]["sha256"]
