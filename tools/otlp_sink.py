"""A minimal OTLP/HTTP trace receiver (POST /v1/traces, protobuf).

`python -m tools.otlp_sink` (port OTLP_SINK_PORT) accepts spans and discards them: the collector
of the tracing benchmark (bench/sync_send.py --tracing), so that it measures what the services
spend, not what a real collector does with the spans. In-process, `OtlpSink(keep=True)` decodes
and keeps them, for the tests that follow one send across the services.
"""

import logging
import os
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

_ACCEPTED = ExportTraceServiceResponse().SerializeToString()

log = logging.getLogger("tools.otlp_sink")


@dataclass(frozen=True)
class ReceivedSpan:
    service: str  # the resource's service.name
    name: str
    kind: int  # opentelemetry.proto.trace.v1.Span.SpanKind
    trace_id: str
    span_id: str
    parent_span_id: str  # "" for a root span
    attributes: dict[str, Any]


def _value(value: AnyValue) -> Any:
    field = value.WhichOneof("value")
    if field == "array_value":
        return [_value(v) for v in value.array_value.values]
    return getattr(value, field) if field else None


class OtlpSink:
    def __init__(self, keep: bool) -> None:
        self.keep = keep
        self.spans: list[ReceivedSpan] = []
        self.requests = 0
        self.received_bytes = 0

    def app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/v1/traces", self.receive)
        return app

    async def receive(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.requests += 1
        self.received_bytes += len(body)
        if self.keep:
            export = ExportTraceServiceRequest.FromString(body)
            for resource_spans in export.resource_spans:
                resource = {a.key: _value(a.value) for a in resource_spans.resource.attributes}
                for scope_spans in resource_spans.scope_spans:
                    self.spans.extend(
                        ReceivedSpan(
                            service=str(resource.get("service.name", "")),
                            name=span.name,
                            kind=span.kind,
                            trace_id=span.trace_id.hex(),
                            span_id=span.span_id.hex(),
                            parent_span_id=span.parent_span_id.hex(),
                            attributes={a.key: _value(a.value) for a in span.attributes},
                        )
                        for span in scope_spans.spans
                    )
        return web.Response(body=_ACCEPTED, content_type="application/x-protobuf")


def main() -> None:
    logging.basicConfig(level=logging.INFO)
    port = int(os.environ.get("OTLP_SINK_PORT", "4318"))
    sink = OtlpSink(keep=False)
    app = sink.app()

    async def report(_: web.Application) -> None:
        # What the benchmark's services exported: evidence that tracing was on.
        log.info("received %d export requests, %d bytes", sink.requests, sink.received_bytes)

    app.on_cleanup.append(report)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


if __name__ == "__main__":
    main()
