"""`python -m services.gateway`: the HTTP gateway."""

import logging
import sys

from aiohttp import web

from services.gateway.app import create_app
from services.gateway.settings import GatewaySettings
from services.shared import logs, runtime, tracing
from services.shared.settings import SettingsError

log = logging.getLogger("services.gateway")


def main() -> int:
    try:
        settings = GatewaySettings.from_env()
        tracing_settings = tracing.TracingSettings.from_env("gateway")
    except SettingsError as exc:
        print(f"gateway: {exc}", file=sys.stderr)
        return 2
    logs.configure("gateway", settings.log_level)
    tracing.install(tracing_settings)
    app = create_app(settings)
    log.info("gateway serving", extra={"host": settings.host, "port": settings.port})
    web.run_app(
        app,
        host=settings.host,
        port=settings.port,
        print=None,
        access_log=None,
        shutdown_timeout=10,
        loop=runtime.new_event_loop(),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
