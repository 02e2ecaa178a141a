"""OpenTelemetry traces across the services, off by default (TRACING_ENABLED).

When on, `install` sets up a tracer provider exporting over OTLP (HTTP/protobuf; the standard
OTEL_EXPORTER_OTLP_* variables say where) and the maintained instrumentations: aiohttp's server
(the gateway's requests) and client (WhatsApp, customers' webhook endpoints, media), grpc.aio's
server and channels (context crosses the services in the calls' metadata) and asyncpg (the
statements SQLAlchemy runs, without their bound parameters). Health checks, probes and metrics
scrapes are not traced.
When off, nothing is patched or installed: the code runs exactly as it does without this module.

No secrets in spans: before any exporter sees them, the URLs of requests served lose their query
strings (the gateway's /ws takes an API key as `?token=`) and those of requests made keep only
their origin (customers' endpoints may hold secrets in their paths, signed media URLs in their
queries); headers are not recorded (access tokens travel in Authorization), and asyncpg records
statements, not values.
"""

import logging
import os
from dataclasses import dataclass
from urllib.parse import urlsplit

from opentelemetry import context, trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.aiohttp_client import AioHttpClientInstrumentor
from opentelemetry.instrumentation.aiohttp_server import AioHttpServerInstrumentor
from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
from opentelemetry.instrumentation.grpc import GrpcAioInstrumentorClient, GrpcAioInstrumentorServer, filters
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.trace import SpanKind

from services.shared.settings import env, parse_bool

log = logging.getLogger(__name__)

# Probes and scrapes: requests nobody follows, made every few seconds.
UNTRACED_GATEWAY_PATHS = r"^/(healthz|readyz|metrics)$"
# The attributes in which the HTTP instrumentations record a URL or its query, under the old and
# the stable semantic conventions (OTEL_SEMCONV_STABILITY_OPT_IN chooses).
URL_ATTRIBUTES = ("http.url", "url.full", "http.target")
QUERY_ATTRIBUTE = "url.query"
REDACTED = "REDACTED"


@dataclass(frozen=True)
class TracingSettings:
    enabled: bool
    # The traces' service.name: OTEL_SERVICE_NAME, else the service's own name.
    service_name: str

    @classmethod
    def from_env(cls, service: str) -> "TracingSettings":
        return cls(
            enabled=env("TRACING_ENABLED", False, parse_bool),
            service_name=env("OTEL_SERVICE_NAME", service),
        )


class UrlRedactor(SpanProcessor):
    """Cuts the URLs spans record as each span starts (its attributes are still writable then,
    and no processor has exported it): the query strings of requests served, and all but the
    origin of requests made, since a customer's webhook endpoint may hold a secret in its path."""

    def on_start(self, span: Span, parent_context: context.Context | None = None) -> None:
        attributes = span.attributes or {}
        outbound = span.kind is SpanKind.CLIENT
        for key in URL_ATTRIBUTES:
            value = attributes.get(key)
            if isinstance(value, str):
                cut = _origin(value) if outbound else value.split("?", 1)[0]
                if cut != value:
                    span.set_attribute(key, cut)
        if attributes.get(QUERY_ATTRIBUTE):
            span.set_attribute(QUERY_ATTRIBUTE, REDACTED)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    if not parts.hostname:
        return REDACTED
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}"


def install(settings: TracingSettings, exporter: SpanExporter | None = None) -> TracerProvider | None:
    """Sets up tracing for this process if the settings turn it on; call it before the process
    builds its servers, channels, sessions and database engine, which the instrumentations patch.
    `exporter` replaces OTLP (tests). Returns the provider, None when tracing is off."""
    if not settings.enabled:
        return None
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: settings.service_name}))
    provider.add_span_processor(UrlRedactor())
    # Spans wait in a bounded queue and go in batches from a thread of their own; when the
    # collector is away the queue's overflow is dropped (OTEL_BSP_* size it).
    provider.add_span_processor(BatchSpanProcessor(exporter or OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    not_health = filters.negate(filters.health_check())
    GrpcAioInstrumentorServer(filter_=not_health).instrument(tracer_provider=provider)
    GrpcAioInstrumentorClient(filter_=not_health).instrument(tracer_provider=provider)
    # This instrumentation takes its exclusions from the environment only; an operator's own
    # (OTEL_PYTHON_AIOHTTP_SERVER_EXCLUDED_URLS, or OTEL_PYTHON_EXCLUDED_URLS for all) win.
    if not os.environ.get("OTEL_PYTHON_EXCLUDED_URLS"):
        os.environ.setdefault("OTEL_PYTHON_AIOHTTP_SERVER_EXCLUDED_URLS", UNTRACED_GATEWAY_PATHS)
    AioHttpServerInstrumentor().instrument(tracer_provider=provider)
    AioHttpClientInstrumentor().instrument(tracer_provider=provider)
    AsyncPGInstrumentor(capture_parameters=False).instrument(tracer_provider=provider)
    log.info("tracing on", extra={"service_name": settings.service_name})
    return provider
