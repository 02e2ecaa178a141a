"""A customer's webhook receiver, for trying outbound webhooks by hand, the tests and the
benchmark: `python -m tools.webhook_receiver --port 8099` (or RECEIVER_PORT=8099).

It keeps what it receives (the Standard Webhooks headers, the body, when it came) and answers
as told, per path:

    PUT    /_behaviour/{path}   {"status": 200, "delay_ms": 0, "location": "", "retry_after": ""}
    GET    /_received           {"received": [{"path", "headers", "body", "received_at"}, ...]}
    DELETE /_received

Every other request is a delivery, answered with its path's behaviour (by default 204 at once).
"""

import argparse
import asyncio
import os
import time
from collections import deque
from typing import Any

import orjson
from aiohttp import web

KEPT = 1_000_000
HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature", "content-type", "user-agent")

BEHAVIOURS = web.AppKey("behaviours", dict[str, dict[str, Any]])
RECEIVED: web.AppKey[deque[dict[str, Any]]] = web.AppKey("received")


async def deliver(request: web.Request) -> web.Response:
    body = await request.read()
    request.app[RECEIVED].append(
        {
            "path": request.path,
            "headers": {name: request.headers[name] for name in HEADERS if name in request.headers},
            "body": body.decode(errors="replace"),
            "received_at": time.time(),
        }
    )
    behaviour = request.app[BEHAVIOURS].get(request.path, {})
    if behaviour.get("delay_ms"):
        await asyncio.sleep(behaviour["delay_ms"] / 1000)
    headers = {}
    if behaviour.get("location"):
        headers["Location"] = behaviour["location"]
    if behaviour.get("retry_after"):
        headers["Retry-After"] = str(behaviour["retry_after"])
    return web.Response(status=behaviour.get("status", 204), headers=headers)


async def set_behaviour(request: web.Request) -> web.Response:
    request.app[BEHAVIOURS]["/" + request.match_info["path"]] = orjson.loads(await request.read())
    return web.Response(status=204)


async def received(request: web.Request) -> web.Response:
    kept = request.app[RECEIVED]
    records = list(kept)
    return web.Response(body=orjson.dumps({"received": records}), content_type="application/json")


async def forget(request: web.Request) -> web.Response:
    request.app[RECEIVED].clear()
    return web.Response(status=204)


def create_app() -> web.Application:
    app = web.Application(client_max_size=1024 * 1024)
    app[BEHAVIOURS] = {}
    app[RECEIVED] = deque(maxlen=KEPT)
    app.router.add_put("/_behaviour/{path:.*}", set_behaviour)
    app.router.add_get("/_received", received)
    app.router.add_delete("/_received", forget)
    app.router.add_route("*", "/{path:.*}", deliver)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("RECEIVER_PORT", "8099")))
    args = parser.parse_args()
    web.run_app(create_app(), host=args.host, port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
