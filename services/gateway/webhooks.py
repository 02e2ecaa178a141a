"""WhatsApp's webhooks: Meta's subscription handshake, and notifications handed to
conversations, which verifies, stores and applies them.

A header that is not `sha256=<64 hex digits>` is refused before the body is read; what
failed verifications may cost each client address is bounded by `webhook_guard.py`.
Concurrent notifications share one ReceiveWebhooks call to conversations
(`webhook_client.py`).
"""

import hmac
import ipaddress
import re
from collections.abc import Sequence

from aiohttp import web

from services.gateway.context import CLIENTS, SETTINGS, WEBHOOK_GUARD
from services.gateway.errors import ApiError, from_item_status
from services.gateway.handlers import json_response
from services.gateway.settings import Network

WEBHOOK_PATH = "/webhooks/whatsapp"
SIGNATURE_FORMAT = re.compile(r"sha256=[0-9a-fA-F]{64}")

routes = web.RouteTableDef()


def _within(address: str, networks: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_address(request: web.Request, trusted_proxies: Sequence[Network]) -> str:
    """The peer's address; behind a trusted proxy, the nearest X-Forwarded-For hop that is
    not one (proxies append the address they saw, so hops further left may be forged)."""
    peer = request.remote or ""
    if not trusted_proxies or not _within(peer, trusted_proxies):
        return peer
    hops = [
        hop.strip() for header in request.headers.getall("X-Forwarded-For", []) for hop in header.split(",")
    ]
    for hop in reversed(hops):
        if not _within(hop, trusted_proxies):
            return hop
    return peer


@routes.get(WEBHOOK_PATH)
async def verify_subscription(request: web.Request) -> web.Response:
    """Meta's subscription handshake: echo hub.challenge when the verify token matches."""
    expected = request.app[SETTINGS].webhook_verify_token
    given = request.query.get("hub.verify_token", "")
    if (
        request.query.get("hub.mode") == "subscribe"
        and expected
        and hmac.compare_digest(given.encode(), expected.encode())
    ):
        return web.Response(text=request.query.get("hub.challenge", ""), content_type="text/plain")
    raise ApiError(403, "forbidden", "webhook verification failed")


@routes.post(WEBHOOK_PATH)
async def receive_notification(request: web.Request) -> web.Response:
    """Hands the raw body and its signature to conversations, which verifies and stores them
    before this answers 200; applying happens after, so Meta gets its answer fast."""
    guard = request.app[WEBHOOK_GUARD]
    address = client_address(request, request.app[SETTINGS].trusted_proxies).encode()
    await guard.admit(address)
    signature = request.headers.get("X-Hub-Signature-256", "")
    if not SIGNATURE_FORMAT.fullmatch(signature):
        guard.failed(address)
        raise ApiError(401, "unauthenticated", "X-Hub-Signature-256 is missing or not sha256=<64 hex digits>")
    try:
        body = await request.clone(client_max_size=guard.body_limit(address)).read()
    except web.HTTPRequestEntityTooLarge:
        guard.failed(address)
        raise
    result = await request.app[CLIENTS].webhooks.receive(body, signature)
    if result.HasField("error"):
        error = from_item_status(result.error, "conversations")
        if error.status in (400, 401):  # not verified: the body, or its signature
            guard.failed(address)
        if error.status == 400:  # the only one: a body that is not a JSON object
            raise ApiError(400, "malformed_json", error.message)
        raise error
    if result.received.ignored:
        return json_response({"status": "ignored", "reason": result.received.ignored})
    return json_response({"status": "received"})
