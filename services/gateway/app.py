"""create_app(): the gateway's routes, middlewares and the resources they live with."""

from collections.abc import AsyncIterator

import orjson
from aiohttp import web

from services.gateway.admin import routes as admin_routes
from services.gateway.api_reference import routes as api_reference_routes
from services.gateway.context import CLIENTS, OPENAPI, SETTINGS, WEBHOOK_GUARD
from services.gateway.handlers import routes
from services.gateway.inbox import routes as inbox_routes
from services.gateway.media import routes as media_routes
from services.gateway.middlewares import authenticate, json_errors, request_id
from services.gateway.openapi import openapi_document
from services.gateway.ratelimit import RATE_LIMITER, rate_limiter
from services.gateway.service_clients import open_service_clients
from services.gateway.settings import GatewaySettings
from services.gateway.templates import routes as template_routes
from services.gateway.webhook_endpoints import routes as webhook_endpoint_routes
from services.gateway.webhook_guard import WebhookGuard
from services.gateway.webhooks import routes as webhook_routes
from services.gateway.websocket import OPEN_SOCKETS, SOCKET_COUNTS, close_open_sockets, events_socket
from services.gateway.websocket_limits import SocketCounts


async def service_clients_context(app: web.Application) -> AsyncIterator[None]:
    async for clients in open_service_clients(app[SETTINGS]):
        app[CLIENTS] = clients
        yield


def create_app(settings: GatewaySettings) -> web.Application:
    app = web.Application(
        middlewares=[request_id, json_errors, authenticate],
        client_max_size=settings.max_body_bytes,
    )
    app[SETTINGS] = settings
    app[OPENAPI] = orjson.dumps(openapi_document(settings))
    limiter = rate_limiter(settings.rate_limit_per_second, settings.rate_limit_burst)
    if limiter is not None:
        app[RATE_LIMITER] = limiter
    app[WEBHOOK_GUARD] = WebhookGuard(
        settings.webhook_failures_per_second,
        settings.webhook_failures_burst,
        settings.webhook_max_body_bytes,
        settings.webhook_unverified_max_body_bytes,
    )
    app.cleanup_ctx.append(service_clients_context)
    app.add_routes(routes)
    app.add_routes(api_reference_routes)
    app.add_routes(webhook_routes)
    app.add_routes(media_routes)
    app.add_routes(inbox_routes)
    app.add_routes(webhook_endpoint_routes)
    app.add_routes(template_routes)
    if settings.admin_token:
        app.add_routes(admin_routes)
    app[OPEN_SOCKETS] = set()
    app[SOCKET_COUNTS] = SocketCounts(settings.ws_max_sockets_per_key, settings.ws_max_sockets_per_account)
    app.on_shutdown.append(close_open_sockets)
    app.router.add_get("/ws", events_socket)
    return app
