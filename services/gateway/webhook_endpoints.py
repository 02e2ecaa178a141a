"""Outbound webhooks over HTTP: `/webhook-endpoints`, an account's endpoints that receive its
events signed the Standard Webhooks way, and their delivery attempts.

The gateway checks the shape of a request; what a URL or an event pattern may be is
conversations' decision (it answers 400 with why).
"""

from typing import Any

from aiohttp import web
from pigeon.conversations.v1 import webhook_endpoints_pb2 as pb

from services.gateway.context import ACCOUNT_ID, CLIENTS
from services.gateway.fields import invalid
from services.gateway.handlers import ask_conversations, json_response, page_params
from services.gateway.resources import webhook_attempt_json, webhook_endpoint_json
from services.gateway.validation import parse_json_object

routes = web.RouteTableDef()

# Generous bounds on the shape; conversations checks the values (docs/api.md lists the limits).
MAX_URL_CHARACTERS = 2048
MAX_PATTERNS = 32
MAX_PATTERN_CHARACTERS = 64
MAX_DESCRIPTION_CHARACTERS = 256


def _text(body: dict[str, Any], key: str, max_length: int) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise invalid(f"{key} must be a string", key)
    if len(value) > max_length:
        raise invalid(f"{key} is longer than {max_length} characters", key)
    if "\x00" in value:
        raise invalid(f"{key} must not contain the character U+0000", key)
    return value


def _patterns(body: dict[str, Any]) -> list[str] | None:
    value = body.get("events")
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(p, str) for p in value):
        raise invalid("events must be an array of event types", "events")
    if not 1 <= len(value) <= MAX_PATTERNS:
        raise invalid(f"events must name 1 to {MAX_PATTERNS} event types", "events")
    if any(len(p) > MAX_PATTERN_CHARACTERS or "\x00" in p for p in value):
        raise invalid("events holds a pattern that is no event type", "events")
    return value


def _known_fields(body: dict[str, Any], allowed: tuple[str, ...]) -> None:
    for key in body:
        if key not in allowed:
            raise invalid(f"unknown field {key[:64]!r}; allowed: {', '.join(allowed)}", key[:64])


def _ref(request: web.Request) -> pb.WebhookEndpointRef:
    return pb.WebhookEndpointRef(
        account_id=request[ACCOUNT_ID], endpoint_id=request.match_info["endpoint_id"]
    )


@routes.post("/webhook-endpoints")
async def create_webhook_endpoint(request: web.Request) -> web.Response:
    body = parse_json_object(await request.read())
    _known_fields(body, ("url", "events", "description"))
    url = _text(body, "url", MAX_URL_CHARACTERS)
    if url is None:
        raise invalid("url is required", "url")
    events = _patterns(body)
    if events is None:
        raise invalid("events is required", "events")
    endpoint = await ask_conversations(
        request,
        request.app[CLIENTS].webhook_endpoints.CreateWebhookEndpoint,
        pb.CreateWebhookEndpointRequest(
            account_id=request[ACCOUNT_ID],
            url=url,
            events=events,
            description=_text(body, "description", MAX_DESCRIPTION_CHARACTERS) or "",
        ),
    )
    return json_response(webhook_endpoint_json(endpoint), status=201)


@routes.get("/webhook-endpoints")
async def list_webhook_endpoints(request: web.Request) -> web.Response:
    found = await ask_conversations(
        request,
        request.app[CLIENTS].webhook_endpoints.ListWebhookEndpoints,
        pb.ListWebhookEndpointsRequest(account_id=request[ACCOUNT_ID]),
    )
    return json_response({"webhook_endpoints": [webhook_endpoint_json(e) for e in found.endpoints]})


@routes.get("/webhook-endpoints/{endpoint_id}")
async def get_webhook_endpoint(request: web.Request) -> web.Response:
    endpoint = await ask_conversations(
        request, request.app[CLIENTS].webhook_endpoints.GetWebhookEndpoint, _ref(request)
    )
    return json_response(webhook_endpoint_json(endpoint))


@routes.patch("/webhook-endpoints/{endpoint_id}")
async def update_webhook_endpoint(request: web.Request) -> web.Response:
    body = parse_json_object(await request.read())
    _known_fields(body, ("url", "events", "description", "enabled"))
    enabled = body.get("enabled")
    if enabled is not None and not isinstance(enabled, bool):
        raise invalid("enabled must be true or false", "enabled")
    events = _patterns(body)
    endpoint = await ask_conversations(
        request,
        request.app[CLIENTS].webhook_endpoints.UpdateWebhookEndpoint,
        pb.UpdateWebhookEndpointRequest(
            account_id=request[ACCOUNT_ID],
            endpoint_id=request.match_info["endpoint_id"],
            url=_text(body, "url", MAX_URL_CHARACTERS),
            events=None if events is None else pb.EventPatterns(patterns=events),
            description=_text(body, "description", MAX_DESCRIPTION_CHARACTERS),
            enabled=enabled,
        ),
    )
    return json_response(webhook_endpoint_json(endpoint))


@routes.delete("/webhook-endpoints/{endpoint_id}")
async def delete_webhook_endpoint(request: web.Request) -> web.Response:
    await ask_conversations(
        request, request.app[CLIENTS].webhook_endpoints.DeleteWebhookEndpoint, _ref(request)
    )
    return web.Response(status=204)


@routes.post("/webhook-endpoints/{endpoint_id}/rotate-secret")
async def rotate_webhook_secret(request: web.Request) -> web.Response:
    endpoint = await ask_conversations(
        request, request.app[CLIENTS].webhook_endpoints.RotateWebhookSecret, _ref(request)
    )
    return json_response(webhook_endpoint_json(endpoint))


@routes.post("/webhook-endpoints/{endpoint_id}/replay")
async def replay_webhook_events(request: web.Request) -> web.Response:
    body = parse_json_object(await request.read())
    _known_fields(body, ("since_event_id",))
    since = body.get("since_event_id")
    if isinstance(since, bool) or not isinstance(since, int) or not 0 <= since < 2**63:
        raise invalid("since_event_id must be an event id (an integer, 0 or more)", "since_event_id")
    endpoint = await ask_conversations(
        request,
        request.app[CLIENTS].webhook_endpoints.ReplayWebhookEvents,
        pb.ReplayWebhookEventsRequest(
            account_id=request[ACCOUNT_ID],
            endpoint_id=request.match_info["endpoint_id"],
            since_event_id=since,
        ),
    )
    return json_response(webhook_endpoint_json(endpoint), status=202)


@routes.post("/webhook-endpoints/{endpoint_id}/test")
async def test_webhook_endpoint(request: web.Request) -> web.Response:
    """Sends a `ping` event now and answers the attempt: an HTTP call to the customer, so
    the send deadline applies."""
    clients = request.app[CLIENTS]
    attempt = await ask_conversations(
        request, clients.webhook_endpoints.TestWebhookEndpoint, _ref(request), clients.send_timeout
    )
    return json_response(webhook_attempt_json(attempt))


@routes.get("/webhook-endpoints/{endpoint_id}/deliveries")
async def list_webhook_deliveries(request: web.Request) -> web.Response:
    page_size, page_token = page_params(request)
    status = request.query.get("status", "")
    if status not in ("", "succeeded", "failed"):
        raise invalid("status must be succeeded or failed", "status")
    page = await ask_conversations(
        request,
        request.app[CLIENTS].webhook_endpoints.ListWebhookAttempts,
        pb.ListWebhookAttemptsRequest(
            account_id=request[ACCOUNT_ID],
            endpoint_id=request.match_info["endpoint_id"],
            status=status,
            page_size=page_size,
            page_token=page_token,
        ),
    )
    return json_response(
        {
            "deliveries": [webhook_attempt_json(a) for a in page.attempts],
            "next_page_token": page.next_page_token or None,
        }
    )
