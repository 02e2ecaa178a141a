"""A gRPC server built as the services build theirs, with mutual TLS on TCP and a Unix socket
beside it: open_channel calls TLS with this process's certificate over TCP and plaintext over
the socket, and the health probe of compose's health checks uses the same settings."""

import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.shared.grpc_client import open_channel
from services.shared.grpc_server import build_server
from services.shared.grpc_tls import GrpcTls, grpc_tls_from_env
from services.shared.health_probe import serving
from tools.grpc_certs import write_certificates


def use_certificate(monkeypatch: pytest.MonkeyPatch, folder: Path, service: str) -> GrpcTls:
    for name, value in {
        "CA": folder / "ca.pem",
        "CERT": folder / f"{service}.pem",
        "KEY": folder / f"{service}-key.pem",
        "REQUIRE_CLIENT_CERT": "true",
    }.items():
        monkeypatch.setenv(f"GRPC_TLS_{name}", str(value))
    tls = grpc_tls_from_env(serving=True)
    assert tls is not None
    return tls


@asynccontextmanager
async def mutual_tls_server(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[tuple[Path, int, str]]:
    """Yields the certificates' folder, the server's TCP port and its Unix socket's path."""
    with tempfile.TemporaryDirectory(prefix="pigeon-") as folder:
        write_certificates(Path(folder))
        socket = f"{folder}/sender.sock"
        tls = use_certificate(monkeypatch, Path(folder), "sender")
        server, _, port = await build_server([], [], "127.0.0.1:0", unix_socket=socket, tls=tls)
        try:
            yield Path(folder), port, socket
        finally:
            await server.stop(None)


async def check(target: str, tls: GrpcTls | None) -> int:
    async with open_channel(target, tls) as channel:
        reply = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
    return int(reply.status)


async def test_tls_over_tcp_and_plaintext_over_the_unix_socket(monkeypatch: pytest.MonkeyPatch) -> None:
    async with mutual_tls_server(monkeypatch) as (folder, port, socket):
        caller = use_certificate(monkeypatch, folder, "gateway")
        assert await check(f"127.0.0.1:{port}", caller) == health_pb2.HealthCheckResponse.SERVING
        # By the name its certificate gives, as a caller dialling "localhost:<port>" would.
        assert await check(f"localhost:{port}", caller) == health_pb2.HealthCheckResponse.SERVING
        assert await check(f"unix:{socket}", caller) == health_pb2.HealthCheckResponse.SERVING
        assert await check(f"unix:{socket}", None) == health_pb2.HealthCheckResponse.SERVING


async def test_the_health_probe_calls_with_the_settings_of_its_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with mutual_tls_server(monkeypatch) as (_, port, _):
        assert await serving(f"127.0.0.1:{port}") is True
        for name in ("CA", "CERT", "KEY", "REQUIRE_CLIENT_CERT"):
            monkeypatch.delenv(f"GRPC_TLS_{name}")
        assert await serving(f"127.0.0.1:{port}", timeout_seconds=1) is False
