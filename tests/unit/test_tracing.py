"""Tracing's settings, that off installs nothing, and what URLs spans keep (tests/e2e/test_tracing.py
follows a send across the services with tracing on)."""

import os
import subprocess
import sys

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from services.shared.settings import SettingsError
from services.shared.tracing import TracingSettings
from services.shared.tracing_sdk import UrlRedactor


def test_settings_default_to_off_under_the_services_own_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRACING_ENABLED", raising=False)
    monkeypatch.delenv("OTEL_SERVICE_NAME", raising=False)
    assert TracingSettings.from_env("sender") == TracingSettings(enabled=False, service_name="sender")
    monkeypatch.setenv("TRACING_ENABLED", "true")
    monkeypatch.setenv("OTEL_SERVICE_NAME", "pigeon-sender-eu")
    assert TracingSettings.from_env("sender") == TracingSettings(
        enabled=True, service_name="pigeon-sender-eu"
    )
    monkeypatch.setenv("TRACING_ENABLED", "sometimes")
    with pytest.raises(SettingsError, match="TRACING_ENABLED"):
        TracingSettings.from_env("sender")


def test_off_loads_no_opentelemetry_at_all() -> None:
    """In a process of its own, as a service starts: nothing of OpenTelemetry is imported, so
    nothing can be patched."""
    program = (
        "import sys; from services.shared import tracing; "
        "tracing.install(tracing.TracingSettings.from_env('gateway')); "
        "print(sorted(m for m in sys.modules if m.startswith('opentelemetry')))"
    )
    environment = {k: v for k, v in os.environ.items() if k != "TRACING_ENABLED"}
    environment["PYTHONPATH"] = os.pathsep.join(sys.path)
    off = subprocess.run([sys.executable, "-c", program], env=environment, capture_output=True, check=True)
    assert off.stdout.decode().strip() == "[]"
    # The same program with tracing on does load it (the check above can fail).
    on = subprocess.run(
        [sys.executable, "-c", program],
        env={**environment, "TRACING_ENABLED": "true"},
        capture_output=True,
        check=True,
    )
    assert "opentelemetry.sdk.trace" in on.stdout.decode()


def redacted(kind: trace.SpanKind, attributes: dict[str, str]) -> dict[str, object]:
    """The attributes of a span of `kind` as exported, started with `attributes` as the aiohttp
    instrumentations start theirs (under the old and the stable conventions)."""
    exported = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(UrlRedactor())
    provider.add_span_processor(SimpleSpanProcessor(exported))
    with provider.get_tracer(__name__).start_as_current_span("request", kind=kind, attributes=attributes):
        pass
    [span] = exported.get_finished_spans()
    return dict(span.attributes or {})


def test_requests_served_lose_their_query_strings() -> None:
    assert redacted(
        trace.SpanKind.SERVER,
        {
            "http.url": "http://gateway:8080/ws?token=pk_live_secret",
            "http.target": "/ws?token=pk_live_secret",
            "url.query": "token=pk_live_secret",
            "http.route": "/ws",
        },
    ) == {
        "http.url": "http://gateway:8080/ws",
        "http.target": "/ws",
        "url.query": "REDACTED",
        "http.route": "/ws",
    }


def test_requests_made_keep_only_their_origin() -> None:
    assert redacted(
        trace.SpanKind.CLIENT,
        {"http.url": "https://hooks.example.com:8443/services/T0/B0/secretpart", "http.method": "POST"},
    ) == {"http.url": "https://hooks.example.com:8443", "http.method": "POST"}
    assert redacted(trace.SpanKind.CLIENT, {"url.full": "https://lookaside.example/media?hash=signed"}) == {
        "url.full": "https://lookaside.example"
    }
