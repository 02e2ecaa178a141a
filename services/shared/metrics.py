"""Prometheus metrics every service shares, and the gRPC server interceptor that records
them. gRPC services expose them on their own port (a prometheus_client thread, off the
event loop); the gateway serves them at GET /metrics."""

import asyncio
import contextlib
import inspect
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from wsgiref.simple_server import WSGIServer

import grpc
from prometheus_client import Counter, Histogram, start_http_server

from services.shared.logs import REQUEST_ID

# Milliseconds matter here: the buckets resolve pigeon's own overhead as well as WhatsApp's.
LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)

GRPC_REQUESTS = Counter("pigeon_grpc_requests_total", "gRPC calls served", ["service", "method", "code"])
GRPC_LATENCY = Histogram(
    "pigeon_grpc_request_seconds",
    "Time to serve a unary gRPC call",
    ["service", "method"],
    buckets=LATENCY_BUCKETS,
)
# Items per batch of each group commit (services/shared/group_commit.py): near 1 at low load,
# larger as concurrent calls share a statement or a call.
BATCH_SIZE = Histogram(
    "pigeon_batch_size", "Items per group-committed batch", ["batch"], buckets=(1, 2, 4, 8, 16, 32, 64, 128)
)


def serve_metrics(host: str, port: int) -> WSGIServer | None:
    """Exposes /metrics on `host`:`port` (port 0: not at all), in a daemon thread; returns its
    server. The endpoint takes no credentials: the settings default `host` to loopback."""
    if not port:
        return None
    server, _ = start_http_server(port, addr=host)
    return server


class ServerInterceptor(grpc.aio.ServerInterceptor):
    """Counts and times each call, and makes the caller's x-request-id the context of
    everything it logs."""

    def __init__(self, service: str) -> None:
        self.service = service

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(details)
        if handler is None:
            return handler
        method = details.method.rpartition("/")[2]
        request_id = next((v for k, v in details.invocation_metadata or () if k == "x-request-id"), "")
        service = self.service
        if handler.unary_stream is not None and inspect.isasyncgenfunction(handler.unary_stream):
            return self._observed_stream(handler, method, str(request_id))
        if handler.unary_unary is None:
            return handler
        behavior = handler.unary_unary

        async def observed(request: Any, context: grpc.aio.ServicerContext) -> Any:
            REQUEST_ID.set(str(request_id))
            start = time.perf_counter()
            code = "OK"
            try:
                return await behavior(request, context)
            except BaseException:
                code = _status_name(context)
                raise
            finally:
                GRPC_LATENCY.labels(service, method).observe(time.perf_counter() - start)
                GRPC_REQUESTS.labels(service, method, code).inc()

        return grpc.unary_unary_rpc_method_handler(
            observed,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )

    def _observed_stream(
        self, handler: grpc.RpcMethodHandler, method: str, request_id: str
    ) -> grpc.RpcMethodHandler:
        """A server-streaming call written as an async generator (pigeon's own) is counted, not
        timed: a watch lasts as long as its client. Others (the health service's Watch writes
        through its context) pass unobserved."""
        behavior = handler.unary_stream
        service = self.service

        async def observed(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            REQUEST_ID.set(request_id)
            code = "OK"
            try:
                async with contextlib.aclosing(behavior(request, context)) as responses:
                    async for response in responses:
                        yield response
            except (asyncio.CancelledError, GeneratorExit):
                code = "CANCELLED"  # the client went away, as watchers do
                raise
            except BaseException:
                code = _status_name(context)
                raise
            finally:
                GRPC_REQUESTS.labels(service, method, code).inc()

        return grpc.unary_stream_rpc_method_handler(
            observed,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )


def _status_name(context: grpc.aio.ServicerContext) -> str:
    status = context.code()
    return status.name if isinstance(status, grpc.StatusCode) else "UNKNOWN"
