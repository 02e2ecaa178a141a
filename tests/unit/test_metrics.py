"""The metrics every service registers hold to the naming rules and the tables of
docs/metrics.md, and every label is bounded: a raw code from outside becomes "other"."""

import re
from pathlib import Path

import pytest
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.metrics import MetricWrapperBase

# Importing each service's entry point registers every metric its modules define.
import services.conversations.__main__
import services.gateway.app
import services.sender.__main__  # noqa: F401
from services.conversations.metrics import CacheCollector
from services.shared.metrics import FAILURE_CODE_LABELS, failure_code_label
from services.shared.vocabulary import FailureCode
from services.shared.whatsapp_errors import KNOWN_CODES

DOC = (Path(__file__).parents[2] / "docs" / "metrics.md").read_text()
# go-grpc-prometheus's names, kept without pigeon's prefix so that stock dashboards fit.
GRPC_STANDARD = {
    "grpc_server_started_total",
    "grpc_server_handled_total",
    "grpc_server_handling_seconds",
    "grpc_server_msg_received_total",
    "grpc_server_msg_sent_total",
}
CLIENT_LIBRARY_PREFIXES = ("process_", "python_")  # prometheus_client's own collectors
HISTOGRAM_UNITS = ("_duration_seconds", "_bytes", "_items")
NOT_BASE_UNITS = re.compile(
    r"_(milliseconds|ms|us|minutes|hours|days|kb|mb|kilobytes|megabytes|percent)(_|$)"
)


def doc_table(heading: str) -> list[list[str]]:
    """The rows of the table under `heading` in docs/metrics.md, as lists of cells."""
    section = DOC.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ")]
    return [[cell.strip() for cell in row.strip("|").split("|")] for row in rows[2:]]


def documented_metrics() -> dict[str, tuple[str, frozenset[str]]]:
    """Metric name: its type and labels, as the doc says."""
    found = {}
    for names, kind, labels, _ in doc_table("The metrics"):
        for name in re.findall(r"`([a-z_]+)`", names):
            found[name] = (kind, frozenset(label.strip() for label in labels.split(",") if label.strip()))
    return found


def exposed() -> dict[str, str]:
    """Metric name: type, as /metrics exposes them (counters with their `_total`)."""
    caches = CollectorRegistry()
    caches.register(CacheCollector({}))
    text = generate_latest(REGISTRY).decode() + generate_latest(caches).decode()
    return dict(re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M))


def label_names() -> dict[str, frozenset[str]]:
    """Metric name: its label names, read from the metric objects themselves: prometheus_client
    has no public way to list a metric's labels before its first sample."""
    found = {
        "pigeon_cache_hits_total": frozenset({"cache"}),
        "pigeon_cache_misses_total": frozenset({"cache"}),
    }
    for collector in list(REGISTRY._collector_to_names):
        if isinstance(collector, MetricWrapperBase):
            suffix = "_total" if collector._type == "counter" else ""
            found[collector._name + suffix] = frozenset(collector._labelnames)
    return found


def pigeons_own(names: dict[str, str]) -> dict[str, str]:
    return {name: kind for name, kind in names.items() if not name.startswith(CLIENT_LIBRARY_PREFIXES)}


def test_every_metric_is_documented_as_it_is() -> None:
    metrics = pigeons_own(exposed())
    labels = label_names()
    documented = documented_metrics()
    assert set(metrics) == set(documented)
    for name, kind in metrics.items():
        assert (kind, labels[name]) == documented[name], name


def test_names_follow_the_conventions() -> None:
    metrics = pigeons_own(exposed())
    assert set(metrics) >= GRPC_STANDARD
    for name, kind in metrics.items():
        assert name in GRPC_STANDARD or name.startswith("pigeon_"), name
        assert name.endswith("_total") == (kind == "counter"), name
        assert not NOT_BASE_UNITS.search(name), f"{name}: not in base units"
        if kind == "histogram" and name not in GRPC_STANDARD:
            assert name.endswith(HISTOGRAM_UNITS), f"{name}: a histogram names its unit"


def test_every_label_is_one_of_the_bounded_set() -> None:
    bounded = {cell.strip("`") for cell, _ in doc_table("Labels")}
    used = set().union(*label_names().values())
    assert used == bounded


def test_an_unknown_failure_code_is_other() -> None:
    assert failure_code_label("424242") == "other"
    assert failure_code_label("131026") == "131026"  # known to the classification table
    assert failure_code_label(FailureCode.TIMEOUT) == "timeout"  # pigeon's own
    assert failure_code_label("") == ""  # no failure


@pytest.mark.parametrize("code", ["1310260", "13102", "-1", "timeout ", "TIMEOUT", "x" * 300])
def test_codes_near_known_ones_are_other_too(code: str) -> None:
    assert failure_code_label(code) == "other"


def test_failure_codes_are_a_bounded_set() -> None:
    assert len(FAILURE_CODE_LABELS) < 300
    assert set(FailureCode) <= FAILURE_CODE_LABELS
    assert {str(code) for code in KNOWN_CODES} <= FAILURE_CODE_LABELS
