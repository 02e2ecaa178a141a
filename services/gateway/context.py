"""Typed keys for what the app and each request carry."""

from aiohttp import web

from services.gateway.service_clients import ServiceClients
from services.gateway.settings import GatewaySettings
from services.gateway.webhook_guard import WebhookGuard

SETTINGS = web.AppKey("settings", GatewaySettings)
CLIENTS = web.AppKey("clients", ServiceClients)
# The OpenAPI document, serialized once at start.
OPENAPI = web.AppKey("openapi", bytes)
# What failed webhook verifications may cost each client address.
WEBHOOK_GUARD = web.AppKey("webhook_guard", WebhookGuard)

# Request keys, set by the middlewares.
ACCOUNT_ID = web.RequestKey("account_id", str)
# The API key's hash (the raw key is not kept), for a WebSocket that checks its key again while open.
API_KEY_HASH = web.RequestKey("api_key_hash", bytes)
REQUEST_ID = web.RequestKey("request_id", str)


def grpc_metadata(request: web.Request) -> tuple[tuple[str, str], ...]:
    """Carries the request id to the services, to follow one request across all three."""
    return (("x-request-id", request[REQUEST_ID]),)
