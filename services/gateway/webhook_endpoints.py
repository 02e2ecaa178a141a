"""Outbound webhooks over HTTP: `/webhook-endpoints`, an account's endpoints that receive its
events signed the Standard Webhooks way, and their delivery attempts.

The gateway checks the shape of a request; what a URL or an event pattern may be is
conversations' decision (it answers 400 with why).
"""

from typing import Annotated

from aiohttp import web
from msgspec import Meta, Struct
from pigeon.conversations.v1 import webhook_endpoints_pb2 as pb

from services.gateway.context import ACCOUNT_ID, CLIENTS
from services.gateway.fields import invalid
from services.gateway.handlers import ask_conversations, json_response, page_params
from services.gateway.models import WITHOUT_NUL
from services.gateway.resources import webhook_attempt_json, webhook_endpoint_json
from services.gateway.validation import decode_body
from services.shared.vocabulary import EVENT_TYPES

routes = web.RouteTableDef()

# Generous bounds on the shape; conversations checks the values (docs/api.md lists the limits).
MAX_URL_CHARACTERS = 2048
MAX_PATTERNS = 32
MAX_PATTERN_CHARACTERS = 64
MAX_DESCRIPTION_CHARACTERS = 256

Url = Annotated[
    str,
    WITHOUT_NUL,
    Meta(
        max_length=MAX_URL_CHARACTERS,
        description=(
            "https; not an address that is loopback, private, link-local (cloud metadata) or reserved, "
            "in the URL or (checked at each connection) behind its name"
        ),
    ),
]
Patterns = Annotated[
    list[Annotated[str, WITHOUT_NUL, Meta(max_length=MAX_PATTERN_CHARACTERS)]],
    Meta(
        min_length=1,
        max_length=MAX_PATTERNS,
        description=f"Event types ({', '.join(EVENT_TYPES)}), families (`message.*`) or `*`",
    ),
]
Description = Annotated[str, WITHOUT_NUL, Meta(max_length=MAX_DESCRIPTION_CHARACTERS)]


class NewWebhookEndpoint(Struct, forbid_unknown_fields=True):
    url: Url
    events: Patterns
    description: Description | None = None


class WebhookEndpointChange(Struct, forbid_unknown_fields=True):
    """The fields given change; absent or null, they stay."""

    url: Url | None = None
    events: Patterns | None = None
    description: Description | None = None
    enabled: bool | None = None


class WebhookReplay(Struct, forbid_unknown_fields=True):
    since_event_id: Annotated[int, Meta(ge=0, le=2**63 - 1)]


def _ref(request: web.Request) -> pb.WebhookEndpointRef:
    return pb.WebhookEndpointRef(
        account_id=request[ACCOUNT_ID], endpoint_id=request.match_info["endpoint_id"]
    )


@routes.post("/webhook-endpoints")
async def create_webhook_endpoint(request: web.Request) -> web.Response:
    new = decode_body(NewWebhookEndpoint, await request.read(), {})
    endpoint = await ask_conversations(
        request,
        request.app[CLIENTS].webhook_endpoints.CreateWebhookEndpoint,
        pb.CreateWebhookEndpointRequest(
            account_id=request[ACCOUNT_ID],
            url=new.url,
            events=new.events,
            description=new.description or "",
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
    change = decode_body(WebhookEndpointChange, await request.read(), {})
    endpoint = await ask_conversations(
        request,
        request.app[CLIENTS].webhook_endpoints.UpdateWebhookEndpoint,
        pb.UpdateWebhookEndpointRequest(
            account_id=request[ACCOUNT_ID],
            endpoint_id=request.match_info["endpoint_id"],
            url=change.url,
            events=None if change.events is None else pb.EventPatterns(patterns=change.events),
            description=change.description,
            enabled=change.enabled,
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
    replay = decode_body(WebhookReplay, await request.read(), {})
    endpoint = await ask_conversations(
        request,
        request.app[CLIENTS].webhook_endpoints.ReplayWebhookEvents,
        pb.ReplayWebhookEventsRequest(
            account_id=request[ACCOUNT_ID],
            endpoint_id=request.match_info["endpoint_id"],
            since_event_id=replay.since_event_id,
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
