"""What the kubelet's gRPC probes see (deploy/kubernetes/): the server's overall health follows
its dependency, the "liveness" name only the process itself. Over a real gRPC server; the
dependency is a probe function that fails on demand, as a database ping does during an outage."""

import asyncio

from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.shared.grpc_client import open_channel
from services.shared.grpc_server import LIVENESS_SERVICE, build_server, report_health

SERVICE = "pigeon.test.v1.Example"
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


async def test_a_failing_dependency_makes_the_server_unready_but_not_dead() -> None:
    server, health, port = await build_server([], [SERVICE], "127.0.0.1:0")
    dependency_up = True

    async def ping() -> None:
        if not dependency_up:
            raise ConnectionError("database down")

    reporting = asyncio.create_task(report_health(health, [SERVICE], ping, every_seconds=0.01))
    channel = open_channel(f"127.0.0.1:{port}", None)
    stub = health_pb2_grpc.HealthStub(channel)

    async def status(service: str) -> int:
        reply = await stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=2)
        return int(reply.status)

    async def wait_for(service: str, wanted: int) -> None:
        # The reporter checks every 10 ms: a few rounds are enough.
        for _ in range(200):
            if await status(service) == wanted:
                return
            await asyncio.sleep(0.01)
        raise AssertionError(f"{service!r} never became {wanted}")

    try:
        assert [await status(name) for name in ("", SERVICE, LIVENESS_SERVICE)] == [SERVING] * 3

        dependency_up = False
        await wait_for("", NOT_SERVING)
        assert await status(SERVICE) == NOT_SERVING
        assert await status(LIVENESS_SERVICE) == SERVING

        dependency_up = True
        await wait_for("", SERVING)

        # SIGTERM's first step: every name, liveness too, stops serving while calls drain.
        await health.enter_graceful_shutdown()
        assert await status(LIVENESS_SERVICE) == NOT_SERVING
    finally:
        reporting.cancel()
        await channel.close()
        await server.stop(None)
