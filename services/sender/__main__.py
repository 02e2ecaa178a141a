"""`python -m services.sender`: read settings, open the Cloud API client, serve gRPC
until SIGTERM or SIGINT, then let in-flight sends finish and close the client."""

import logging
import sys

from pigeon.sender.v1 import sender_pb2_grpc

from services.sender.grpc_api import SERVICE_NAME, SenderServicer
from services.sender.settings import SenderSettings
from services.sender.whatsapp import CloudApiClient
from services.shared import logs, tracing
from services.shared.grpc_server import build_server, serve_until_signalled
from services.shared.grpc_tls import grpc_tls_mode
from services.shared.metrics import serve_metrics
from services.shared.runtime import run
from services.shared.settings import SettingsError

log = logging.getLogger("services.sender")


async def serve(settings: SenderSettings) -> None:
    client = CloudApiClient(
        base_url=settings.whatsapp_base_url,
        api_version=settings.whatsapp_api_version,
        timeout_seconds=settings.whatsapp_timeout_seconds,
        max_connections=settings.whatsapp_max_connections,
    )
    # The client closes only after server.stop() has let in-flight sends finish.
    async with client:
        servicer = SenderServicer(client)
        server, health_servicer, port = await build_server(
            [lambda server: sender_pb2_grpc.add_SenderServicer_to_server(servicer, server)],
            [SERVICE_NAME],
            settings.bind,
            unix_socket=settings.unix_socket,
            tls=settings.grpc_tls,
        )
        serve_metrics(settings.metrics_host, settings.metrics_port)
        log.info(
            "sender listening",
            extra={
                "bind": settings.bind,
                "port": port,
                "tls": grpc_tls_mode(settings.grpc_tls),
                "whatsapp_base_url": settings.whatsapp_base_url,
                "whatsapp_api_version": settings.whatsapp_api_version,
            },
        )
        await serve_until_signalled(server, health_servicer, settings.grace_seconds)
    log.info("sender stopped")


def main() -> int:
    logs.configure("sender")
    try:
        settings = SenderSettings.from_env()
        tracing_settings = tracing.TracingSettings.from_env("sender")
    except SettingsError as exc:
        log.error("bad setting", extra={"error": str(exc)})
        return 2
    logs.configure("sender", settings.log_level)
    tracing.install(tracing_settings)
    run(serve(settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
