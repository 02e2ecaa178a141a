"""Serves the simulator: `python -m tools.whatsapp_sim`.

Listens on SIM_HOST:SIM_PORT (127.0.0.1:8090) and logs JSON at LOG_LEVEL; behaviour comes from
the SIM_* variables read by `SimConfig.from_env`. Stops cleanly on SIGTERM or SIGINT.
"""

import asyncio
import logging
import signal

from aiohttp import web

from services.shared.logs import configure
from services.shared.runtime import run
from services.shared.settings import SettingsError, env, positive
from tools.whatsapp_sim.app import create_app
from tools.whatsapp_sim.config import SimConfig

log = logging.getLogger("tools.whatsapp_sim")


async def main() -> None:
    level = env("LOG_LEVEL", "INFO").upper()
    configure("whatsapp-sim", level if level in logging.getLevelNamesMapping() else "INFO")
    try:
        config = SimConfig.from_env()
        host = env("SIM_HOST", "127.0.0.1")
        port = env("SIM_PORT", 8090, positive(int))
    except SettingsError as exc:
        log.error("bad configuration: %s", exc)
        raise SystemExit(2) from None

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    # No access log: at thousands of requests per second it would cost more than the handler.
    # A short shutdown timeout (aiohttp waits it once for handlers, once more after cancelling them):
    # in-flight answers may be sleeping on a "1998..." delay trigger for tens of seconds.
    runner = web.AppRunner(create_app(config), access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    try:
        # A deep backlog so benchmark bursts queue instead of being refused.
        await web.TCPSite(runner, host, port, backlog=4096).start()
        log.info(
            "whatsapp simulator listening",
            extra={
                "host": host,
                "port": port,
                "latency": str(config.latency),
                "phone_numbers": len(config.phone_numbers),
                "webhook_url": config.webhook_url or None,
            },
        )
        await stop.wait()
        log.info("shutting down")
    finally:
        await runner.cleanup()


if __name__ == "__main__":
    run(main())
