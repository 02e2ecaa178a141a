"""The OpenTelemetry half of tracing.py, imported only when tracing is on: the tracer provider,
its exporter, the instrumentations, and what spans keep of URLs."""

import logging
import os
import re
from urllib.parse import urlsplit

from opentelemetry import context, trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.aiohttp_client import AioHttpClientInstrumentor
from opentelemetry.instrumentation.aiohttp_server import AioHttpServerInstrumentor
from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
from opentelemetry.instrumentation.grpc import GrpcAioInstrumentorClient, GrpcAioInstrumentorServer, filters
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import SpanKind

log = logging.getLogger(__name__)

# Probes and scrapes: requests nobody follows, made every few seconds.
UNTRACED_GATEWAY_PATHS = r"^/(healthz|readyz|metrics)$"
# The attributes in which the HTTP instrumentations record a URL or its query, under the old and
# the stable semantic conventions (OTEL_SEMCONV_STABILITY_OPT_IN chooses).
URL_ATTRIBUTES = ("http.url", "url.full", "http.target")
QUERY_ATTRIBUTE = "url.query"
REDACTED = "REDACTED"
# Where the asyncpg instrumentation records the statement (old and stable conventions).
STATEMENT_ATTRIBUTES = ("db.statement", "db.query.text")
STATEMENT_NAME = re.compile(r"/\* (\w+) \*/ ")


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


class StatementNamer(SpanProcessor):
    """Names a statement's span after the statement: pigeon's begin with their name as a comment
    (`/* insert_outbound */ WITH ...`), which the asyncpg instrumentation skips for the first
    keyword (INSERT, WITH, or "--" before a comment line)."""

    def on_start(self, span: Span, parent_context: context.Context | None = None) -> None:
        attributes = span.attributes or {}
        for key in STATEMENT_ATTRIBUTES:
            statement = attributes.get(key)
            if isinstance(statement, str) and (named := STATEMENT_NAME.match(statement)):
                span.update_name(named.group(1))
                return


def _origin(url: str) -> str:
    parts = urlsplit(url)
    if not parts.hostname:
        return REDACTED
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}"


def install(service_name: str) -> None:
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: service_name}))
    provider.add_span_processor(UrlRedactor())
    provider.add_span_processor(StatementNamer())
    # Spans wait in a bounded queue and go in batches from a thread of their own; when the
    # collector is away the queue's overflow is dropped (OTEL_BSP_* size it).
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
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
    log.info("tracing on", extra={"service_name": service_name})
