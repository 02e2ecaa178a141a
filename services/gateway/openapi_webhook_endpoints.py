"""The outbound webhooks' routes of the OpenAPI document (openapi.py): an account's endpoints
and their deliveries."""

from typing import Any

from services.gateway.models import REF_PREFIX, openapi_schemas
from services.gateway.openapi_parts import (
    AUTHENTICATED,
    error_responses,
    id_parameter,
    json_body,
    page_parameters,
)
from services.gateway.openapi_schemas import TIME, page_of
from services.gateway.webhook_endpoints import NewWebhookEndpoint, WebhookEndpointChange, WebhookReplay

ENDPOINT = {"$ref": "#/components/schemas/WebhookEndpoint"}
DELIVERY = {"$ref": "#/components/schemas/WebhookDelivery"}

SCHEMAS: dict[str, Any] = {
    # The request bodies, from the models that decode them.
    **openapi_schemas(
        {
            "NewWebhookEndpoint": NewWebhookEndpoint,
            "WebhookEndpointChange": WebhookEndpointChange,
            "WebhookReplay": WebhookReplay,
        }
    ),
    "WebhookEndpoint": {
        "type": "object",
        "description": (
            "A URL that gets the account's events: POSTed one at a time as "
            '`{"type", "timestamp", "data"}` (`data` as on GET /ws), signed the Standard Webhooks '
            "way (headers webhook-id, webhook-timestamp, webhook-signature)."
        ),
        "required": [
            "id",
            "url",
            "events",
            "description",
            "enabled",
            "disabled_reason",
            "last_event_id",
            "failures",
            "failing_since",
            "next_attempt_at",
            "created_at",
            "updated_at",
        ],
        "properties": {
            "id": {"type": "string", "format": "uuid"},
            "url": {"type": "string"},
            "events": {"type": "array", "items": {"type": "string"}},
            "description": {"type": "string"},
            "enabled": {"type": "boolean"},
            "disabled_reason": {
                "type": "string",
                "nullable": True,
                "enum": ["by_request", "gone", "failing", None],
                "description": "gone: the receiver answered 410; failing: every attempt failed for 3 days",
            },
            "last_event_id": {
                "type": "integer",
                "description": "Every event up to this id was delivered (or is not one the endpoint takes)",
            },
            "failures": {"type": "integer", "minimum": 0, "description": "Failed attempts in a row"},
            "failing_since": {**TIME, "nullable": True},
            "next_attempt_at": {**TIME, "nullable": True},
            "created_at": TIME,
            "updated_at": TIME,
            "secret": {
                "type": "string",
                "description": "The signing secret (whsec_...): only in the answers of creation and rotation",
            },
        },
    },
    "WebhookDelivery": {
        "type": "object",
        "description": "One attempt at delivering an event (or a test ping) to an endpoint.",
        "required": [
            "id",
            "event_id",
            "event_type",
            "webhook_id",
            "attempted_at",
            "http_status",
            "latency_ms",
            "error",
            "succeeded",
        ],
        "properties": {
            "id": {"type": "string"},
            "event_id": {"type": "integer", "nullable": True, "description": "null for a test ping"},
            "event_type": {"type": "string"},
            "webhook_id": {"type": "string", "description": "The same for every attempt of one event"},
            "attempted_at": TIME,
            "http_status": {"type": "integer", "nullable": True, "description": "null when no answer came"},
            "latency_ms": {"type": "number"},
            "error": {"type": "string", "nullable": True},
            "succeeded": {"type": "boolean"},
        },
    },
}


def _operation(
    summary: str, success: str, schema: dict[str, Any], *errors: int, **extra: Any
) -> dict[str, Any]:
    return {
        "summary": summary,
        **extra,
        "responses": {
            success: {"description": summary, **json_body(schema)},
            **error_responses(*AUTHENTICATED, *errors),
        },
    }


def _body(model: type) -> dict[str, Any]:
    return {"requestBody": {"required": True, **json_body({"$ref": f"{REF_PREFIX}{model.__name__}"})}}


def webhook_endpoint_paths() -> dict[str, Any]:
    endpoint_id = [id_parameter("endpoint_id")]
    return {
        "/webhook-endpoints": {
            "post": _operation(
                "Register an endpoint (the answer holds its secret, shown only here and at rotation)",
                "201",
                ENDPOINT,
                400,
                409,
                **_body(NewWebhookEndpoint),
            ),
            "get": _operation(
                "The account's endpoints",
                "200",
                {
                    "type": "object",
                    "required": ["webhook_endpoints"],
                    "properties": {"webhook_endpoints": {"type": "array", "items": ENDPOINT}},
                },
            ),
        },
        "/webhook-endpoints/{endpoint_id}": {
            "get": _operation("One endpoint", "200", ENDPOINT, 404, parameters=endpoint_id),
            "patch": _operation(
                "Change an endpoint (enabling a disabled one resumes where it stopped)",
                "200",
                ENDPOINT,
                400,
                404,
                parameters=endpoint_id,
                **_body(WebhookEndpointChange),
            ),
            "delete": {
                "summary": "Delete an endpoint and its deliveries",
                "parameters": endpoint_id,
                "responses": {"204": {"description": "Deleted"}, **error_responses(*AUTHENTICATED, 404)},
            },
        },
        "/webhook-endpoints/{endpoint_id}/rotate-secret": {
            "post": _operation(
                "A new secret; the old one signs too for OUTBOUND_WEBHOOK_SECRET_GRACE_SECONDS (24 h)",
                "200",
                ENDPOINT,
                404,
                parameters=endpoint_id,
            )
        },
        "/webhook-endpoints/{endpoint_id}/replay": {
            "post": _operation(
                "Deliver again every event after since_event_id",
                "202",
                ENDPOINT,
                400,
                404,
                parameters=endpoint_id,
                **_body(WebhookReplay),
            )
        },
        "/webhook-endpoints/{endpoint_id}/test": {
            "post": _operation(
                "Send a signed `ping` event now; the attempt", "200", DELIVERY, 404, parameters=endpoint_id
            )
        },
        "/webhook-endpoints/{endpoint_id}/deliveries": {
            "get": _operation(
                "The endpoint's delivery attempts, newest first",
                "200",
                page_of("deliveries", DELIVERY),
                400,
                404,
                parameters=[
                    *endpoint_id,
                    {
                        "name": "status",
                        "in": "query",
                        "schema": {"type": "string", "enum": ["succeeded", "failed"]},
                    },
                    *page_parameters(),
                ],
            )
        },
    }
