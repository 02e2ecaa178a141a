"""Prometheus metrics every service shares, and the gRPC server interceptor that records
them. gRPC services expose them on their own port (a prometheus_client thread, off the
event loop); the gateway serves them at GET /metrics.

Names (docs/metrics.md has them all): the gRPC server's are go-grpc-prometheus's own, without
pigeon's prefix, so that stock gRPC dashboards read them; every other metric is pigeon's, named
`pigeon_*`, in base units (seconds, bytes), counters ending `_total`, latency histograms
`_duration_seconds`. Every label takes values from a bounded set: a raw code from outside
(WhatsApp's, an HTTP method) passes through an allow-list to "other"."""

import asyncio
import contextlib
import functools
import inspect
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from wsgiref.simple_server import WSGIServer

import grpc
from prometheus_client import Counter, Histogram, disable_created_metrics, start_http_server

from services.shared.logs import REQUEST_ID
from services.shared.vocabulary import FailureCode
from services.shared.whatsapp_errors import KNOWN_CODES

# No `*_created` series beside each counter: the text format shows them as gauges of their own,
# a second series per counter that no dashboard reads (Prometheus notes resets by itself).
disable_created_metrics()

# Milliseconds matter here: the buckets resolve pigeon's own overhead as well as WhatsApp's.
LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)

# go-grpc-prometheus's server metrics, labels and label values (grpc_code as Go spells a code).
GRPC_LABELS = ("grpc_type", "grpc_service", "grpc_method")
GRPC_STARTED = Counter("grpc_server_started_total", "RPCs started on the server", GRPC_LABELS)
GRPC_HANDLED = Counter(
    "grpc_server_handled_total",
    "RPCs completed on the server, whatever their status",
    [*GRPC_LABELS, "grpc_code"],
)
GRPC_HANDLING = Histogram(
    "grpc_server_handling_seconds",
    "Time from an RPC's start to its end on the server (a stream: as long as its client stays)",
    GRPC_LABELS,
    buckets=LATENCY_BUCKETS,
)
GRPC_RECEIVED = Counter("grpc_server_msg_received_total", "Messages received by the server", GRPC_LABELS)
GRPC_SENT = Counter("grpc_server_msg_sent_total", "Messages sent by the server", GRPC_LABELS)
# Items per batch of each group commit (services/shared/group_commit.py): near 1 at low load,
# larger as concurrent calls share a statement or a call.
BATCH_ITEMS = Histogram(
    "pigeon_batch_items", "Items per group-committed batch", ["batch"], buckets=(1, 2, 4, 8, 16, 32, 64, 128)
)

# Failure codes as label values: pigeon's own and the Graph API codes the classification table
# knows (a bounded set); any other code WhatsApp sends is "other".
FAILURE_CODE_LABELS = frozenset(str(code) for code in KNOWN_CODES) | frozenset(FailureCode)
OTHER = "other"


def failure_code_label(code: str) -> str:
    """`code` as a metric label: itself when known (or "", no failure), else "other"."""
    return code if not code or code in FAILURE_CODE_LABELS else OTHER


# Status codes as go-grpc-prometheus labels them, by Go's names: OK, Canceled, InvalidArgument.
_GO_SPELLING = {grpc.StatusCode.OK: "OK", grpc.StatusCode.CANCELLED: "Canceled"}
GRPC_CODE_NAMES = {
    code: _GO_SPELLING.get(code) or "".join(word.capitalize() for word in code.name.split("_"))
    for code in grpc.StatusCode
}


def serve_metrics(host: str, port: int) -> WSGIServer | None:
    """Exposes /metrics on `host`:`port` (port 0: not at all), in a daemon thread; returns its
    server. The endpoint takes no credentials: the settings default `host` to loopback."""
    if not port:
        return None
    server, _ = start_http_server(port, addr=host)
    return server


class ServerInterceptor(grpc.aio.ServerInterceptor):
    """Counts and times each call, and makes the caller's x-request-id the context of
    everything it logs. Handlers written as coroutines and async generators (pigeon's own) are
    observed; others (the health service's Watch writes through its context) pass as they are."""

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(details)
        if handler is None:
            return handler
        # "/pigeon.sender.v1.Sender/SendMessage": only methods served here get this far.
        service, _, method = details.method.lstrip("/").rpartition("/")
        request_id = str(next((v for k, v in details.invocation_metadata or () if k == "x-request-id"), ""))
        if handler.unary_unary is not None:
            return _observed_unary(handler, (service, method), request_id)
        if handler.unary_stream is not None and inspect.isasyncgenfunction(handler.unary_stream):
            return _observed_server_stream(handler, (service, method), request_id)
        if handler.stream_unary is not None:
            return _observed_client_stream(handler, (service, method), request_id)
        return handler


class _Series:
    """The series of one method and call type, looked up once (a lookup takes a lock)."""

    def __init__(self, labels: tuple[str, str, str]) -> None:
        self.labels = labels
        self.started = GRPC_STARTED.labels(*labels)
        self.received = GRPC_RECEIVED.labels(*labels)
        self.sent = GRPC_SENT.labels(*labels)
        self.handling = GRPC_HANDLING.labels(*labels)
        self._handled: dict[grpc.StatusCode, Counter] = {}

    def handled(self, code: grpc.StatusCode) -> Counter:
        """The series of calls ended with `code`, made on its first use (no 17 zeros per method)."""
        if code not in self._handled:
            self._handled[code] = GRPC_HANDLED.labels(*self.labels, GRPC_CODE_NAMES[code])
        return self._handled[code]


@functools.cache
def _series(grpc_type: str, service: str, method: str) -> _Series:
    return _Series((grpc_type, service, method))  # as many as the methods served: bounded


class _Call:
    """One call from its start to its end, counted and timed by its status: OK, the status
    the handler aborted with, Canceled when the client went away (as watchers do)."""

    def __init__(self, series: _Series, context: grpc.aio.ServicerContext) -> None:
        self.series = series
        self.context = context
        self.started = 0.0

    def __enter__(self) -> None:
        self.series.started.inc()
        self.started = time.perf_counter()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, _: object) -> None:
        if kind is None:
            code = grpc.StatusCode.OK
        elif issubclass(kind, (asyncio.CancelledError, GeneratorExit)):
            code = grpc.StatusCode.CANCELLED
        else:
            status = self.context.code()
            code = status if isinstance(status, grpc.StatusCode) else grpc.StatusCode.UNKNOWN
        self.series.handling.observe(time.perf_counter() - self.started)
        self.series.handled(code).inc()


def _observed_unary(
    handler: grpc.RpcMethodHandler, name: tuple[str, str], request_id: str
) -> grpc.RpcMethodHandler:
    behavior = handler.unary_unary
    series = _series("unary", *name)

    async def observed(request: Any, context: grpc.aio.ServicerContext) -> Any:
        REQUEST_ID.set(request_id)
        series.received.inc()
        with _Call(series, context):
            response = await behavior(request, context)
        series.sent.inc()
        return response

    return grpc.unary_unary_rpc_method_handler(
        observed,
        request_deserializer=handler.request_deserializer,
        response_serializer=handler.response_serializer,
    )


def _observed_server_stream(
    handler: grpc.RpcMethodHandler, name: tuple[str, str], request_id: str
) -> grpc.RpcMethodHandler:
    behavior = handler.unary_stream
    series = _series("server_stream", *name)

    async def observed(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
        REQUEST_ID.set(request_id)
        series.received.inc()
        with _Call(series, context):
            async with contextlib.aclosing(behavior(request, context)) as responses:
                async for response in responses:
                    yield response
                    series.sent.inc()

    return grpc.unary_stream_rpc_method_handler(
        observed,
        request_deserializer=handler.request_deserializer,
        response_serializer=handler.response_serializer,
    )


def _observed_client_stream(
    handler: grpc.RpcMethodHandler, name: tuple[str, str], request_id: str
) -> grpc.RpcMethodHandler:
    behavior = handler.stream_unary
    series = _series("client_stream", *name)

    async def observed(requests: AsyncIterator[Any], context: grpc.aio.ServicerContext) -> Any:
        REQUEST_ID.set(request_id)

        async def counted() -> AsyncIterator[Any]:
            async for request in requests:
                series.received.inc()
                yield request

        with _Call(series, context):
            response = await behavior(counted(), context)
        series.sent.inc()
        return response

    return grpc.stream_unary_rpc_method_handler(
        observed,
        request_deserializer=handler.request_deserializer,
        response_serializer=handler.response_serializer,
    )
