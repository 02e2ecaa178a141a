"""The gRPC face of outbound webhooks' endpoints: protobuf in, use case call, protobuf out
(errors become statuses in grpc_errors.py's `maps_errors`)."""

from uuid import UUID

import grpc
from pigeon.conversations.v1 import webhook_endpoints_pb2 as pb
from pigeon.conversations.v1 import webhook_endpoints_pb2_grpc as pb_grpc

from services.conversations.domain.webhook_endpoints import Attempt, WebhookEndpoint
from services.conversations.entrypoints.grpc_errors import maps_errors
from services.conversations.entrypoints.protobuf import parse_id
from services.conversations.use_cases.webhook_endpoints import WebhookEndpoints
from services.shared.timestamps import timestamp


def endpoint_to_proto(endpoint: WebhookEndpoint) -> pb.WebhookEndpoint:
    return pb.WebhookEndpoint(
        id=str(endpoint.id),
        url=endpoint.url,
        events=endpoint.events,
        description=endpoint.description,
        enabled=endpoint.enabled,
        disabled_reason=endpoint.disabled_reason or "",
        last_event_id=endpoint.last_event_id,
        failures=endpoint.failures,
        failing_since=timestamp(endpoint.failing_since),
        next_attempt_at=timestamp(endpoint.next_attempt_at),
        created_at=timestamp(endpoint.created_at),
        updated_at=timestamp(endpoint.updated_at),
        secret=endpoint.secret or "",
    )


def attempt_to_proto(attempt: Attempt) -> pb.WebhookAttempt:
    return pb.WebhookAttempt(
        id=attempt.id,
        event_id=attempt.event_id or 0,
        event_type=attempt.event_type,
        webhook_id=attempt.webhook_id,
        attempted_at=timestamp(attempt.attempted_at),
        http_status=attempt.http_status or 0,
        latency_ms=attempt.latency_ms,
        error=attempt.error or "",
        succeeded=attempt.succeeded,
    )


def _ids(request: pb.WebhookEndpointRef) -> tuple[UUID, UUID]:
    return parse_id(request.account_id, "account"), parse_id(request.endpoint_id, "webhook endpoint")


class WebhookEndpointsServicer(pb_grpc.WebhookEndpointsServicer):
    def __init__(self, endpoints: WebhookEndpoints) -> None:
        self.endpoints = endpoints

    @maps_errors
    async def CreateWebhookEndpoint(
        self, request: pb.CreateWebhookEndpointRequest, context: grpc.aio.ServicerContext
    ) -> pb.WebhookEndpoint:
        endpoint = await self.endpoints.create(
            parse_id(request.account_id, "account"), request.url, list(request.events), request.description
        )
        return endpoint_to_proto(endpoint)

    @maps_errors
    async def ListWebhookEndpoints(
        self, request: pb.ListWebhookEndpointsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListWebhookEndpointsResponse:
        endpoints = await self.endpoints.all(parse_id(request.account_id, "account"))
        return pb.ListWebhookEndpointsResponse(endpoints=[endpoint_to_proto(e) for e in endpoints])

    @maps_errors
    async def GetWebhookEndpoint(
        self, request: pb.WebhookEndpointRef, context: grpc.aio.ServicerContext
    ) -> pb.WebhookEndpoint:
        return endpoint_to_proto(await self.endpoints.get(*_ids(request)))

    @maps_errors
    async def UpdateWebhookEndpoint(
        self, request: pb.UpdateWebhookEndpointRequest, context: grpc.aio.ServicerContext
    ) -> pb.WebhookEndpoint:
        endpoint = await self.endpoints.update(
            parse_id(request.account_id, "account"),
            parse_id(request.endpoint_id, "webhook endpoint"),
            request.url if request.HasField("url") else None,
            list(request.events.patterns) if request.HasField("events") else None,
            request.description if request.HasField("description") else None,
            request.enabled if request.HasField("enabled") else None,
        )
        return endpoint_to_proto(endpoint)

    @maps_errors
    async def DeleteWebhookEndpoint(
        self, request: pb.WebhookEndpointRef, context: grpc.aio.ServicerContext
    ) -> pb.DeleteWebhookEndpointResponse:
        await self.endpoints.delete(*_ids(request))
        return pb.DeleteWebhookEndpointResponse()

    @maps_errors
    async def RotateWebhookSecret(
        self, request: pb.WebhookEndpointRef, context: grpc.aio.ServicerContext
    ) -> pb.WebhookEndpoint:
        return endpoint_to_proto(await self.endpoints.rotate_secret(*_ids(request)))

    @maps_errors
    async def ReplayWebhookEvents(
        self, request: pb.ReplayWebhookEventsRequest, context: grpc.aio.ServicerContext
    ) -> pb.WebhookEndpoint:
        endpoint = await self.endpoints.replay(
            parse_id(request.account_id, "account"),
            parse_id(request.endpoint_id, "webhook endpoint"),
            request.since_event_id,
        )
        return endpoint_to_proto(endpoint)

    @maps_errors
    async def TestWebhookEndpoint(
        self, request: pb.WebhookEndpointRef, context: grpc.aio.ServicerContext
    ) -> pb.WebhookAttempt:
        return attempt_to_proto(await self.endpoints.test(*_ids(request)))

    @maps_errors
    async def ListWebhookAttempts(
        self, request: pb.ListWebhookAttemptsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListWebhookAttemptsResponse:
        attempts, next_token = await self.endpoints.attempts(
            parse_id(request.account_id, "account"),
            parse_id(request.endpoint_id, "webhook endpoint"),
            request.status,
            request.page_size,
            request.page_token,
        )
        return pb.ListWebhookAttemptsResponse(
            attempts=[attempt_to_proto(a) for a in attempts], next_page_token=next_token
        )
