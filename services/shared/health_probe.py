"""`python -m services.shared.health_probe 127.0.0.1:50051`: exit 0 when the gRPC server there
answers SERVING on the standard health service, 1 otherwise (compose's health checks). It calls
with this process's GRPC_TLS_* settings, so a check inside a service's container uses the
service's own certificate, as its callers do."""

import asyncio
import sys

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.shared.grpc_client import open_channel
from services.shared.grpc_tls import grpc_tls_from_env
from services.shared.settings import SettingsError


async def serving(target: str, timeout_seconds: float = 2.0) -> bool:
    async with open_channel(target, grpc_tls_from_env(serving=False)) as channel:
        try:
            reply = await health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(), timeout=timeout_seconds
            )
        except grpc.aio.AioRpcError as exc:
            print(f"{target}: {exc.code().name} {exc.details()}", file=sys.stderr)
            return False
    return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)


def main() -> int:
    if len(sys.argv) != 2:
        print("usage: python -m services.shared.health_probe host:port", file=sys.stderr)
        return 2
    try:
        return 0 if asyncio.run(serving(sys.argv[1])) else 1
    except SettingsError as exc:
        print(f"health_probe: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
