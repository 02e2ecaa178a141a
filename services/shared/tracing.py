"""OpenTelemetry traces across the services, off by default (TRACING_ENABLED).

When on, `install` sets up a tracer provider exporting over OTLP (HTTP/protobuf; the standard
OTEL_EXPORTER_OTLP_* variables say where) and the maintained instrumentations: aiohttp's server
(the gateway's requests) and client (WhatsApp, customers' webhook endpoints, media), grpc.aio's
server and channels (context crosses the services in the calls' metadata) and asyncpg (the
statements SQLAlchemy runs, without their bound parameters). Health checks, probes and metrics
scrapes are not traced.
When off, nothing is patched or installed, and OpenTelemetry is not even imported (tracing_sdk.py
holds that half).

No secrets in spans: before any exporter sees them, the URLs of requests served lose their query
strings (the gateway's /ws takes an API key as `?token=`) and those of requests made keep only
their origin (customers' endpoints may hold secrets in their paths, signed media URLs in their
queries); headers are not recorded (access tokens travel in Authorization), and asyncpg records
statements, not values.
"""

from dataclasses import dataclass

from services.shared.settings import env, parse_bool


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


def install(settings: TracingSettings) -> None:
    """Sets up tracing for this process if the settings turn it on; call it before the process
    builds its servers, channels, sessions and database engine, which the instrumentations patch."""
    if not settings.enabled:
        return
    # Imported only now: off, the process loads none of OpenTelemetry (0.2 s and 9 MB a process).
    from services.shared import tracing_sdk

    tracing_sdk.install(settings.service_name)
