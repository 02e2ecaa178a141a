"""Mutual TLS between the services (GRPC_TLS_*, services/shared/grpc_tls.py): the stack runs
with a CA and a certificate per service that tools/grpc_certs.py makes; a send and a webhook go
through, and conversations and the sender refuse callers without a certificate of that CA."""

import asyncio
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import grpc
import orjson
import pytest
import pytest_asyncio
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.fixtures.stack import Running, start_running
from tools.grpc_certs import write_certificates

TEXT = {"type": "text", "text": {"body": "over mutual TLS"}}


def service_tls_env(folder: Path, service: str) -> dict[str, str]:
    return {
        "GRPC_TLS_CA": str(folder / "ca.pem"),
        "GRPC_TLS_CERT": str(folder / f"{service}.pem"),
        "GRPC_TLS_KEY": str(folder / f"{service}-key.pem"),
        "GRPC_TLS_REQUIRE_CLIENT_CERT": "true",
    }


@pytest.fixture(scope="module")
def certificates() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="pigeon-certs-") as folder:
        # "stranger": signed by another CA, as a caller from outside pigeon's would be.
        write_certificates(Path(folder) / "pigeon")
        write_certificates(Path(folder) / "other", ["stranger"])
        yield Path(folder)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def mutual(postgres_server: str, certificates: Path) -> AsyncIterator[Running]:
    folder = certificates / "pigeon"
    service_env = {
        service: service_tls_env(folder, service) for service in ("conversations", "sender", "gateway")
    }
    async with start_running(postgres_server, "grpc-tls", webhooks=True, service_env=service_env) as running:
        yield running


async def health_check(channel: grpc.aio.Channel) -> health_pb2.HealthCheckResponse:
    return await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)


def ports(running: Running) -> dict[str, int]:
    return {"conversations": running.stack.conversations_port, "sender": running.stack.sender_port}


async def test_a_send_and_its_status_webhooks_go_through_mutual_tls(mutual: Running) -> None:
    acme = mutual.acme
    headers = {"Authorization": f"Bearer {acme.api_key}"}
    async with mutual.http.get(f"{mutual.gateway}/readyz") as response:
        assert response.status == 200, await response.text()
    body = orjson.dumps({"conversation_id": acme.conversation_ids[0], **TEXT})
    async with mutual.http.post(f"{mutual.gateway}/messages/send", data=body, headers=headers) as response:
        assert response.status == 200, await response.text()
        message = await response.json()
    assert message["status"] == "sent"
    # The simulator's status webhooks reach conversations through the gateway.
    async with asyncio.timeout(10):
        while True:
            async with mutual.http.get(
                f"{mutual.gateway}/messages/{message['id']}", headers=headers
            ) as response:
                status = (await response.json())["status"]
            if status in ("delivered", "read"):
                break
            await asyncio.sleep(0.05)


@pytest.mark.parametrize("service", ["conversations", "sender"])
async def test_a_caller_with_a_certificate_of_the_ca_is_served(
    mutual: Running, certificates: Path, service: str
) -> None:
    # The control of the refusals below: the same call, from the gateway's certificate.
    folder = certificates / "pigeon"
    credentials = grpc.ssl_channel_credentials(
        root_certificates=(folder / "ca.pem").read_bytes(),
        private_key=(folder / "gateway-key.pem").read_bytes(),
        certificate_chain=(folder / "gateway.pem").read_bytes(),
    )
    async with grpc.aio.secure_channel(f"127.0.0.1:{ports(mutual)[service]}", credentials) as channel:
        assert (await health_check(channel)).status == health_pb2.HealthCheckResponse.SERVING


@pytest.mark.parametrize("service", ["conversations", "sender"])
async def test_a_plaintext_caller_is_refused(mutual: Running, service: str) -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{ports(mutual)[service]}") as channel:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await health_check(channel)
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE


@pytest.mark.parametrize("service", ["conversations", "sender"])
@pytest.mark.parametrize("client_certificate", [None, "stranger"])
async def test_a_tls_caller_without_a_certificate_of_the_ca_is_refused(
    mutual: Running, certificates: Path, service: str, client_certificate: str | None
) -> None:
    chain: dict[str, bytes] = {}
    if client_certificate is not None:
        chain = {
            "private_key": (certificates / "other" / f"{client_certificate}-key.pem").read_bytes(),
            "certificate_chain": (certificates / "other" / f"{client_certificate}.pem").read_bytes(),
        }
    # It trusts the services' CA: only its own missing or foreign certificate fails the handshake.
    credentials = grpc.ssl_channel_credentials(
        root_certificates=(certificates / "pigeon" / "ca.pem").read_bytes(), **chain
    )
    async with grpc.aio.secure_channel(f"127.0.0.1:{ports(mutual)[service]}", credentials) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await health_check(channel)
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
