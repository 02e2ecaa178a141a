"""gRPC between the services over Unix sockets (SENDER_UNIX_SOCKET and
CONVERSATIONS_UNIX_SOCKET, callers' targets "unix:<path>"): both kinds of send go through,
and the callers are given the sockets and nothing else."""

import asyncio
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from tests.fixtures.stack import start_running

TEXT = {"type": "text", "text": {"body": "over a Unix socket"}}


@pytest.fixture
def socket_dir() -> Iterator[Path]:
    # Short: a socket's path may not exceed 107 bytes.
    with tempfile.TemporaryDirectory(prefix="pigeon-") as folder:
        yield Path(folder)


async def test_sync_and_async_sends_over_unix_sockets(postgres_server: str, socket_dir: Path) -> None:
    async with start_running(postgres_server, "unix-sockets", unix_socket_dir=socket_dir) as running:
        for service in ("sender", "conversations"):
            assert stat.S_ISSOCK(os.stat(socket_dir / f"{service}.sock").st_mode), service
        gateway, conversations = running.stack.service("gateway"), running.stack.service("conversations")
        assert gateway.env["CONVERSATIONS_TARGET"] == f"unix:{socket_dir / 'conversations.sock'}"
        assert (
            gateway.env["SENDER_TARGET"]
            == conversations.env["SENDER_TARGET"]
            == (f"unix:{socket_dir / 'sender.sock'}")
        )
        acme = running.acme
        headers = {"Authorization": f"Bearer {acme.api_key}"}
        body = orjson.dumps({"conversation_id": acme.conversation_ids[0], **TEXT})

        async with running.http.get(f"{running.gateway}/readyz") as response:
            assert response.status == 200, await response.text()
        async with running.http.post(
            f"{running.gateway}/messages/send", data=body, headers=headers
        ) as response:
            assert response.status == 200, await response.text()
            assert (await response.json())["status"] == "sent"
        async with running.http.post(
            f"{running.gateway}/messages/send-async", data=body, headers=headers
        ) as response:
            assert response.status == 202, await response.text()
            location = response.headers["Location"]
        async with asyncio.timeout(10):
            while True:
                async with running.http.get(f"{running.gateway}{location}", headers=headers) as response:
                    if (await response.json())["status"] == "sent":
                        break
                await asyncio.sleep(0.05)
        assert len(await running.simulator_requests()) == 2
