"""deploy/kubernetes/ is valid Kubernetes and agrees with the code it runs.

No cluster is needed: every file the kustomization lists is validated against the bundled
schemas of one pinned Kubernetes version (kubernetes-validate, strict: an unknown or misspelt
field fails), then checked against the repository: each process's environment goes through its
real settings parser, and the ports, probes, gRPC targets and health names must be the ones the
code serves.
"""

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import kubernetes_validate
import pytest
import yaml
from aiohttp import web

from services.conversations.adapters.database.database import Database
from services.conversations.adapters.database.pool import StatementPool
from services.conversations.settings import ConversationsSettings
from services.gateway.app import create_app
from services.gateway.settings import GatewaySettings
from services.sender.settings import SenderSettings
from services.shared.grpc_server import LIVENESS_SERVICE
from services.shared.secrets_at_rest import new_key

ROOT = Path(__file__).resolve().parents[2]
MANIFESTS = ROOT / "deploy" / "kubernetes"
KUSTOMIZATION = yaml.safe_load((MANIFESTS / "kustomization.yaml").read_text())
# The oldest Kubernetes these manifests are for: gRPC probes are GA since 1.27.
KUBERNETES_VERSION = "1.30"

# Where each process (by its `python -m` module) reads its environment.
SETTINGS_SOURCES = {
    "services.conversations": ["services/conversations/settings.py", "services/shared/grpc_tls.py"],
    "services.conversations.migrate": [
        "services/conversations/migrate.py",
        "services/conversations/settings.py",
    ],
    "services.sender": ["services/sender/settings.py", "services/shared/grpc_tls.py"],
    "services.gateway": ["services/gateway/settings.py", "services/shared/grpc_tls.py"],
}
# Settings that are secrets: only ever from a Secret, never written in a manifest.
SECRET_SETTINGS = {
    "DATABASE_URL",
    "SECRETS_KEYS",
    "ADMIN_TOKEN",
    "WEBHOOK_VERIFY_TOKEN",
    "S3_ACCESS_KEY_ID",
    "S3_SECRET_ACCESS_KEY",
}
# Well-formed stand-ins for the Secret's values, for the settings parsers.
STAND_INS = {
    "DATABASE_URL": "postgresql://pigeon:stand-in@postgres:5432/pigeon",
    "SECRETS_KEYS": f"k1:{new_key()}",
    "ADMIN_TOKEN": "a" * 64,
    "WEBHOOK_VERIFY_TOKEN": "stand-in",
    "S3_ACCESS_KEY_ID": "stand-in",
    "S3_SECRET_ACCESS_KEY": "stand-in",
}
SETTINGS_CLASSES = {
    "services.conversations": ConversationsSettings,
    "services.sender": SenderSettings,
    "services.gateway": GatewaySettings,
}
# The Dockerfile's `useradd --uid`.
IMAGE_UID = int(re.search(r"useradd\b.*--uid (\d+)", (ROOT / "Dockerfile").read_text())[1])  # type: ignore[index]


def documents() -> Iterator[tuple[str, dict[str, Any]]]:
    for name in KUSTOMIZATION["resources"]:
        for document in yaml.safe_load_all((MANIFESTS / name).read_text()):
            if document is not None:
                yield name, document


DOCUMENTS = list(documents())


def objects(kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for _, doc in DOCUMENTS if doc["kind"] == kind}


DEPLOYMENTS = objects("Deployment")
SERVICES = objects("Service")


def pod_spec(workload: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = workload["spec"]["template"]["spec"]
    return spec


def only_container(workload: dict[str, Any]) -> dict[str, Any]:
    containers = pod_spec(workload)["containers"]
    assert len(containers) == 1
    container: dict[str, Any] = containers[0]
    return container


def module(container: dict[str, Any]) -> str:
    command = container["command"]
    assert command[:2] == ["python", "-m"] and len(command) == 3, command
    return str(command[2])


def environment(container: dict[str, Any]) -> dict[str, str]:
    """The container's variables, with each one from a Secret replaced by a stand-in value."""
    env = {}
    for variable in container.get("env", []):
        name = variable["name"]
        env[name] = variable["value"] if "value" in variable else STAND_INS[name]
    return env


def container_port(container: dict[str, Any], name: str) -> int:
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    return int(ports[name])


def settings_of(name: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    container = only_container(DEPLOYMENTS[name])
    for variable, value in environment(container).items():
        monkeypatch.setenv(variable, value)
    return SETTINGS_CLASSES[module(container)].from_env()


def test_every_manifest_file_is_listed_in_the_kustomization() -> None:
    on_disk = {path.name for path in MANIFESTS.glob("*.yaml")} - {"kustomization.yaml"}
    assert sorted(on_disk) == sorted(KUSTOMIZATION["resources"])


@pytest.mark.parametrize(
    "document",
    [doc for _, doc in DOCUMENTS],
    ids=[f"{f}:{d['kind']}/{d['metadata']['name']}" for f, d in DOCUMENTS],
)
def test_manifest_is_valid_kubernetes(document: dict[str, Any]) -> None:
    kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


def test_the_schema_check_catches_a_misspelt_field() -> None:
    broken = yaml.safe_load(yaml.safe_dump(DEPLOYMENTS["gateway"]))
    pod_spec(broken)["containers"][0]["readinesProbe"] = pod_spec(broken)["containers"][0].pop(
        "readinessProbe"
    )
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


def test_no_secret_is_written_in_the_manifests() -> None:
    assert not objects("Secret"), "create the Secret out of band (kustomization.yaml says how)"
    for _, document in DOCUMENTS:
        if document["kind"] not in ("Deployment", "Job"):
            continue
        for variable in pod_spec(document)["containers"][0].get("env", []):
            if variable["name"] in SECRET_SETTINGS:
                assert "secretKeyRef" in variable.get("valueFrom", {}), (
                    f"{variable['name']} must come from a Secret"
                )


def workloads() -> list[tuple[str, dict[str, Any]]]:
    return [(doc["metadata"]["name"], doc) for _, doc in DOCUMENTS if doc["kind"] in ("Deployment", "Job")]


@pytest.mark.parametrize("name,workload", workloads(), ids=[name for name, _ in workloads()])
def test_every_variable_is_read_by_the_process(name: str, workload: dict[str, Any]) -> None:
    container = only_container(workload)
    source = "\n".join((ROOT / path).read_text() for path in SETTINGS_SOURCES[module(container)])
    unread = [var for var in environment(container) if not re.search(rf"[\"']{var}[\"']", source)]
    assert not unread, f"{name} sets {unread}, which no settings module of {module(container)} reads"


@pytest.mark.parametrize("name,workload", workloads(), ids=[name for name, _ in workloads()])
def test_pods_run_as_the_image_user_without_privileges(name: str, workload: dict[str, Any]) -> None:
    spec = pod_spec(workload)
    assert spec["automountServiceAccountToken"] is False
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["runAsUser"] == IMAGE_UID
    container = only_container(workload)
    context = container["securityContext"]
    assert context["readOnlyRootFilesystem"] is True
    assert context["allowPrivilegeEscalation"] is False
    assert context["capabilities"]["drop"] == ["ALL"]
    assert {"cpu", "memory"} <= set(container["resources"]["requests"])
    assert {"cpu", "memory"} <= set(container["resources"]["limits"])


def test_the_settings_parse_and_the_ports_are_the_ones_served(monkeypatch: pytest.MonkeyPatch) -> None:
    conversations = settings_of("conversations", monkeypatch)
    sender = settings_of("sender", monkeypatch)
    gateway = settings_of("gateway", monkeypatch)
    served = {
        ("conversations", "grpc"): int(conversations.bind.rpartition(":")[2]),
        ("conversations", "metrics"): conversations.metrics_port,
        ("sender", "grpc"): int(sender.bind.rpartition(":")[2]),
        ("sender", "metrics"): sender.metrics_port,
        ("gateway", "http"): gateway.port,
    }
    assert conversations.bind.startswith("0.0.0.0:") and sender.bind.startswith("0.0.0.0:")
    assert gateway.host == "0.0.0.0"
    for (name, port_name), port in served.items():
        assert container_port(only_container(DEPLOYMENTS[name]), port_name) == port, (name, port_name)
        service_ports = {p["name"]: p for p in SERVICES[name]["spec"]["ports"]}
        assert service_ports[port_name]["targetPort"] == port_name
    assert conversations.lease_warnings() == []


def grpc_address(target: str) -> tuple[str, int]:
    """dns:///name:port, which gRPC resolves to every address behind the name."""
    parts = urlsplit(target)
    assert parts.scheme == "dns" and parts.netloc == "", f"{target}: not a dns:/// target"
    host, _, port = parts.path.lstrip("/").rpartition(":")
    return host, int(port)


def test_grpc_targets_name_headless_services_of_the_serving_pods(monkeypatch: pytest.MonkeyPatch) -> None:
    gateway = settings_of("gateway", monkeypatch)
    conversations = settings_of("conversations", monkeypatch)
    for target, serving in (
        (gateway.conversations_target, "conversations"),
        (gateway.sender_target, "sender"),
        (conversations.sender_target, "sender"),
    ):
        host, port = grpc_address(target)
        service = SERVICES[host]
        # Headless: DNS answers every ready pod, for gRPC's round_robin (not one virtual IP).
        assert service["spec"]["clusterIP"] == "None"
        assert service["spec"]["selector"] == DEPLOYMENTS[serving]["spec"]["selector"]["matchLabels"]
        grpc_ports = [p for p in service["spec"]["ports"] if p["port"] == port]
        assert [p["targetPort"] for p in grpc_ports] == ["grpc"], f"{target}: no grpc port {port}"


@pytest.mark.parametrize("name", ["conversations", "sender"])
def test_grpc_probes_ask_the_health_service_on_the_served_port(name: str) -> None:
    container = only_container(DEPLOYMENTS[name])
    port = container_port(container, "grpc")
    readiness, liveness = container["readinessProbe"]["grpc"], container["livenessProbe"]["grpc"]
    # Ready: the overall status, which follows the database and SIGTERM; alive: the process.
    assert readiness == {"port": port}
    assert liveness == {"port": port, "service": LIVENESS_SERVICE}
    if "startupProbe" in container:
        assert container["startupProbe"]["grpc"] == liveness


def test_gateway_probes_are_routes_it_serves(monkeypatch: pytest.MonkeyPatch) -> None:
    container = only_container(DEPLOYMENTS["gateway"])
    app = create_app(settings_of("gateway", monkeypatch))
    paths = {
        resource.canonical for resource in app.router.resources() if isinstance(resource, web.PlainResource)
    }
    # /readyz follows conversations and the sender, which every gateway shares (gateway.yaml).
    for probe, path in (("readinessProbe", "/healthz"), ("livenessProbe", "/healthz")):
        assert container[probe]["httpGet"] == {"path": path, "port": "http"}
        assert path in paths


def test_grace_periods_cover_the_services_own(monkeypatch: pytest.MonkeyPatch) -> None:
    conversations = settings_of("conversations", monkeypatch)
    sender = settings_of("sender", monkeypatch)
    # Conversations: its calls, then its deliveries, then the sends handed to WhatsApp.
    needed = {
        "conversations": 2 * conversations.grace_seconds + conversations.outbox.send_timeout_seconds + 1,
        "sender": sender.grace_seconds,
        "gateway": 10,  # services/gateway/__main__.py's shutdown_timeout
    }
    for name, seconds in needed.items():
        assert pod_spec(DEPLOYMENTS[name])["terminationGracePeriodSeconds"] > seconds, name


def test_the_migration_job_reads_the_database_conversations_uses() -> None:
    job = only_container(objects("Job")["pigeon-migrate"])
    assert module(job) == "services.conversations.migrate"
    conversations = only_container(DEPLOYMENTS["conversations"])

    def refs(container: dict[str, Any]) -> dict[str, Any]:
        return {
            v["name"]: v["valueFrom"]
            for v in container["env"]
            if v["name"] in ("DATABASE_URL", "SECRETS_KEYS")
        }

    assert refs(job) == refs(conversations) and set(refs(job)) == {"DATABASE_URL", "SECRETS_KEYS"}


def test_autoscalers_and_budgets_cover_each_deployment() -> None:
    for name, hpa in objects("HorizontalPodAutoscaler").items():
        assert hpa["spec"]["scaleTargetRef"]["name"] in DEPLOYMENTS
        assert hpa["spec"]["minReplicas"] >= 2, f"{name}: one replica leaves nothing during a disruption"
    targets = {hpa["spec"]["scaleTargetRef"]["name"] for hpa in objects("HorizontalPodAutoscaler").values()}
    assert targets == set(DEPLOYMENTS)
    selected = {
        name
        for pdb in objects("PodDisruptionBudget").values()
        for name, deployment in DEPLOYMENTS.items()
        if pdb["spec"]["selector"]["matchLabels"] == deployment["spec"]["selector"]["matchLabels"]
    }
    assert selected == set(DEPLOYMENTS)


def conversations_connections(db_pool_size: int) -> int:
    """PostgreSQL connections one conversations replica may open: its pools' sizes, as the
    real Database builds them (nothing connects until used), and the listener's one."""
    database = Database("postgresql://unused", db_pool_size)
    pools = [pool for pool in vars(database).values() if isinstance(pool, StatementPool)]
    assert len(pools) >= 5, "the statements', outbox's, two batch and retention pools"
    return sum(pool.size for pool in pools) + 1


def test_the_connection_budget_in_the_docs_is_the_codes(monkeypatch: pytest.MonkeyPatch) -> None:
    per_replica = conversations_connections(settings_of("conversations", monkeypatch).db_pool_size)
    replicas = objects("HorizontalPodAutoscaler")["conversations"]["spec"]["maxReplicas"]
    scaling = (ROOT / "docs" / "scaling.md").read_text()
    assert f"{per_replica} connections per replica" in scaling
    assert f"{replicas} replicas x {per_replica} = {replicas * per_replica}" in scaling


def test_ingresses_reach_the_gateway_and_keep_websockets_open(monkeypatch: pytest.MonkeyPatch) -> None:
    ingresses = objects("Ingress")
    for ingress in ingresses.values():
        for rule in ingress["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                assert path["backend"]["service"] == {"name": "gateway", "port": {"name": "http"}}
    websocket = ingresses["gateway-websocket"]
    assert [p["path"] for p in websocket["spec"]["rules"][0]["http"]["paths"]] == ["/ws"]
    annotations = websocket["metadata"]["annotations"]
    heartbeat = settings_of("gateway", monkeypatch).ws_heartbeat_seconds
    for timeout in ("proxy-read-timeout", "proxy-send-timeout"):
        assert int(annotations[f"nginx.ingress.kubernetes.io/{timeout}"]) > 10 * heartbeat
    # The URL of a browser's WebSocket carries its API key.
    assert annotations["nginx.ingress.kubernetes.io/enable-access-log"] == "false"
    refused = ingresses["gateway-metrics-refused"]
    assert [p["path"] for p in refused["spec"]["rules"][0]["http"]["paths"]] == ["/metrics"]
