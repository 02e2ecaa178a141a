"""The Grafana dashboard (deploy/grafana/pigeon.json) queries only metrics and labels the
services register: a renamed metric or label fails here, not silently on a blank panel."""

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.unit.test_metrics import exposed, label_names

DASHBOARD = json.loads((Path(__file__).parents[2] / "deploy" / "grafana" / "pigeon.json").read_text())
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
METRIC = re.compile(r"\b(?:pigeon|grpc|process|python)_[a-z0-9_]+")
BY = re.compile(r"\b(?:by|without)\s*\(([^)]*)\)")
SELECTOR = re.compile(r"\{[^}]*\}")
MATCHER = re.compile(r"(\w+)\s*(?:=~|!~|!=|=)\s*\"")
LEGEND = re.compile(r"\{\{\s*(\w+)\s*\}\}")


def metrics_in(expr: str) -> list[str]:
    """The metric names of a query: its words outside label lists and selectors."""
    return METRIC.findall(SELECTOR.sub("", BY.sub("", expr)))


def panels(within: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every panel, those inside collapsed rows too."""
    found = []
    for panel in within:
        found.append(panel)
        found.extend(panels(panel.get("panels", [])))
    return found


def series() -> dict[str, str]:
    """Every series name the services expose, to the metric it belongs to."""
    names = {}
    for name, kind in exposed().items():
        suffixes = ("_bucket", "_sum", "_count") if kind == "histogram" else ("",)
        names.update({name + suffix: name for suffix in suffixes})
    return names


TARGETS = [target for panel in panels(DASHBOARD["panels"]) for target in panel.get("targets", [])]


def test_the_dashboard_asks_which_prometheus() -> None:
    assert DASHBOARD["schemaVersion"] >= 36
    (variable,) = (v for v in DASHBOARD["templating"]["list"] if v["name"] == "datasource")
    assert (variable["type"], variable["query"]) == ("datasource", "prometheus")
    for panel in panels(DASHBOARD["panels"]):
        if panel["type"] != "row":
            assert panel["datasource"] == DATASOURCE, panel["title"]
            assert all(target["datasource"] == DATASOURCE for target in panel["targets"]), panel["title"]
    assert len({panel["id"] for panel in panels(DASHBOARD["panels"])}) == len(panels(DASHBOARD["panels"]))


@pytest.mark.parametrize("target", TARGETS, ids=[t["expr"][:60] for t in TARGETS])
def test_every_query_reads_metrics_and_labels_that_exist(target: dict[str, str]) -> None:
    known = series()
    labels = label_names()
    used = metrics_in(target["expr"])
    assert used, "a query of no pigeon metric"
    assert set(used) <= set(known), f"not registered: {set(used) - set(known)}"
    allowed = {"le"}.union(*(labels[known[name]] for name in used))
    by = {
        label.strip() for group in BY.findall(target["expr"]) for label in group.split(",") if label.strip()
    }
    asked = by | set(MATCHER.findall(target["expr"])) | set(LEGEND.findall(target.get("legendFormat", "")))
    assert asked <= allowed, f"labels these metrics do not have: {asked - allowed}"


def test_the_dashboard_covers_what_operators_look_at() -> None:
    queried = {series()[name] for target in TARGETS for name in metrics_in(target["expr"])}
    assert {
        "pigeon_http_requests_total",
        "pigeon_http_request_duration_seconds",
        "grpc_server_handled_total",
        "grpc_server_handling_seconds",
        "pigeon_outbox_queued",
        "pigeon_outbox_oldest_queued_seconds",
        "pigeon_outbox_outcomes_total",
        "pigeon_webhook_notifications_total",
        "pigeon_outbound_webhook_attempts_total",
        "pigeon_websocket_connections",
        "pigeon_whatsapp_call_duration_seconds",
    } <= queried
