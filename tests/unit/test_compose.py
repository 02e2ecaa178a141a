"""docker-compose.yml and the Dockerfile agree with the code they run.

Docker is not needed: the compose file is read as YAML and checked against the
repository, so that a renamed module or setting breaks this test instead of a deploy.
"""

import re
import shlex
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from services.shared.secrets_at_rest import parse_keys
from tools.grpc_certs import write_certificates

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
DOCKERFILE = (ROOT / "Dockerfile").read_text()

# Where each pigeon process reads its environment. Every variable compose sets for it must be
# read there, so a typo or a stale name fails here rather than being silently ignored.
SETTINGS_SOURCES = {
    # Both read SECRETS_KEYS as conversations does (services/conversations/settings.py).
    "migrate": ["services/conversations/migrate.py", "services/conversations/settings.py"],
    "seed": ["tools/seed.py", "services/conversations/settings.py"],
    "conversations": ["services/conversations/settings.py"],
    "sender": ["services/sender/settings.py"],
    "gateway": ["services/gateway/settings.py"],
    "whatsapp-sim": ["tools/whatsapp_sim/config.py", "tools/whatsapp_sim/__main__.py"],
}
# Settings without which the process fails, or listens where no other container reaches it.
REQUIRED_ENV = {
    "migrate": {"DATABASE_URL"},
    "seed": {"DATABASE_URL", "SEED_PHONE_NUMBER_ID", "SEED_ACCESS_TOKEN", "SEED_APP_SECRET"},
    "conversations": {"DATABASE_URL", "CONVERSATIONS_BIND"},
    "sender": {"SENDER_BIND", "WHATSAPP_BASE_URL"},
    "gateway": {"GATEWAY_HOST", "CONVERSATIONS_TARGET", "SENDER_TARGET"},
    "whatsapp-sim": {"SIM_HOST"},
}
# The port each long-running process listens on, from its own settings.
LISTEN_PORT_VARIABLE = {
    "conversations": "CONVERSATIONS_BIND",
    "sender": "SENDER_BIND",
    "gateway": "GATEWAY_PORT",
    "whatsapp-sim": "SIM_PORT",
}
SCALABLE = ["conversations", "sender", "gateway"]
PIGEON = sorted(name for name, service in SERVICES.items() if "build" in service)


def environment(name: str) -> dict[str, str]:
    env = SERVICES[name].get("environment") or {}
    if isinstance(env, list):  # the ["NAME=value"] form
        env = dict(item.partition("=")[::2] for item in env)
    return {key: str(value) for key, value in env.items()}


def command(name: str) -> list[str]:
    raw = SERVICES[name].get("command", [])
    return shlex.split(raw) if isinstance(raw, str) else [str(part) for part in raw]


def listen_port(name: str) -> str:
    return environment(name)[LISTEN_PORT_VARIABLE[name]].rpartition(":")[2]


def publishes_fixed_host_port(entry: str | int | dict[str, Any]) -> bool:
    """True for "8080:8080" or "127.0.0.1:8080:8080"; false for "8080" or "127.0.0.1::8080"."""
    if isinstance(entry, dict):
        return bool(entry.get("published"))
    parts = str(entry).split("/")[0].split(":")
    return len(parts) > 1 and parts[-2] != ""


def test_every_pigeon_service_is_known_to_this_test() -> None:
    assert PIGEON, "no service builds the pigeon image"
    assert set(PIGEON) == set(SETTINGS_SOURCES), "update SETTINGS_SOURCES for the new or removed service"


@pytest.mark.parametrize("name", PIGEON)
def test_command_runs_a_module_of_the_repository(name: str) -> None:
    argv = command(name)
    assert argv[:2] == ["python", "-m"] and len(argv) > 2, f"{name}: expected `python -m MODULE`, got {argv}"
    path = ROOT.joinpath(*argv[2].split("."))
    assert (path / "__main__.py").is_file() or path.with_suffix(".py").is_file(), (
        f"{name}: module {argv[2]} does not exist in the repository"
    )


@pytest.mark.parametrize("name", PIGEON)
def test_every_variable_is_read_by_the_service(name: str) -> None:
    source = "\n".join((ROOT / path).read_text() for path in SETTINGS_SOURCES[name])
    unread = [var for var in environment(name) if not re.search(rf"[\"']{var}[\"']", source)]
    assert not unread, f"{name} sets {unread}, which {SETTINGS_SOURCES[name]} never read"


@pytest.mark.parametrize("name", PIGEON)
def test_required_settings_are_present(name: str) -> None:
    missing = REQUIRED_ENV[name] - {var for var, value in environment(name).items() if value}
    assert not missing, f"{name} lacks {sorted(missing)}"


def test_processes_listen_on_all_interfaces() -> None:
    assert environment("gateway")["GATEWAY_HOST"] == "0.0.0.0"
    assert environment("whatsapp-sim")["SIM_HOST"] == "0.0.0.0"
    assert environment("conversations")["CONVERSATIONS_BIND"].startswith("0.0.0.0:")
    assert environment("sender")["SENDER_BIND"].startswith("0.0.0.0:")


def test_addresses_point_at_services_that_listen_there() -> None:
    gateway = environment("gateway")
    # dns:/// so that gRPC resolves, and round-robins over, every replica of a scaled service.
    assert gateway["CONVERSATIONS_TARGET"] == f"dns:///conversations:{listen_port('conversations')}"
    assert gateway["SENDER_TARGET"] == f"dns:///sender:{listen_port('sender')}"
    simulator = urlsplit(environment("sender")["WHATSAPP_BASE_URL"])
    assert (simulator.hostname, str(simulator.port)) == ("whatsapp-sim", listen_port("whatsapp-sim"))
    assert environment("migrate")["DATABASE_URL"] == environment("conversations")["DATABASE_URL"]
    assert urlsplit(environment("conversations")["DATABASE_URL"]).hostname in SERVICES


def test_only_the_proxy_publishes_a_port() -> None:
    # The gRPC services and every /metrics take no credentials, the gateways' /metrics neither,
    # and the simulator's /_sim/ endpoints forge customers: none may be reachable from outside.
    published = {name: service["ports"] for name, service in SERVICES.items() if service.get("ports")}
    assert published == {"proxy": ["8080:8080"]}


# Where each gRPC service's metrics listen: loopback by default, the compose network here.
METRICS = {
    "conversations": ("CONVERSATIONS_METRICS_HOST", "CONVERSATIONS_METRICS_PORT"),
    "sender": ("SENDER_METRICS_HOST", "SENDER_METRICS_PORT"),
}


@pytest.mark.parametrize("name", sorted(METRICS))
def test_metrics_are_exposed_on_the_compose_network_only(name: str) -> None:
    host, port = (environment(name)[variable] for variable in METRICS[name])
    assert host == "0.0.0.0", f"{name}: a scraper on the compose network could not reach its metrics"
    assert port in [str(entry) for entry in SERVICES[name].get("expose", [])]
    assert "ports" not in SERVICES[name]


@pytest.mark.parametrize("name", SCALABLE)
def test_scalable_service_has_no_fixed_name_or_host_port(name: str) -> None:
    service = SERVICES[name]
    assert "container_name" not in service, f"{name}: container_name prevents --scale"
    fixed = [entry for entry in service.get("ports", []) if publishes_fixed_host_port(entry)]
    assert not fixed, f"{name}: fixed host ports {fixed} prevent --scale; publish the container port only"


ONE_SHOT = ("migrate", "seed", "media-bucket")


@pytest.mark.parametrize("name", [name for name in SERVICES if name not in ONE_SHOT])
def test_service_has_a_healthcheck(name: str) -> None:
    check = SERVICES[name].get("healthcheck") or {}
    assert check.get("test") and not check.get("disable"), f"{name} has no healthcheck"


@pytest.mark.parametrize("name", sorted(LISTEN_PORT_VARIABLE))
def test_healthcheck_probes_the_port_the_service_listens_on(name: str) -> None:
    probe = " ".join(SERVICES[name]["healthcheck"]["test"])
    assert f"127.0.0.1:{listen_port(name)}" in probe, f"{name}: healthcheck probes another port"


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_depends_on_existing_services_that_can_satisfy_the_condition(name: str) -> None:
    depends_on = SERVICES[name].get("depends_on") or {}
    if isinstance(depends_on, list):
        depends_on = {dependency: {} for dependency in depends_on}
    for dependency, spec in depends_on.items():
        assert dependency in SERVICES, f"{name} depends on unknown service {dependency}"
        if (spec or {}).get("condition") == "service_healthy":
            assert "healthcheck" in SERVICES[dependency], f"{dependency} has no healthcheck to wait for"


def test_the_processes_that_touch_stored_secrets_share_one_key_list() -> None:
    # A value seed or migrate encrypts must be one conversations can read, and only they hold it.
    holders = {name for name in SERVICES if "SECRETS_KEYS" in environment(name)}
    assert holders == {"migrate", "seed", "conversations"}
    assert len({environment(name)["SECRETS_KEYS"] for name in holders}) == 1
    parse_keys(environment("conversations")["SECRETS_KEYS"])


def test_migrations_run_once_before_conversations() -> None:
    migrate = SERVICES["migrate"]
    assert migrate["restart"] == "no"
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    condition = SERVICES["conversations"]["depends_on"]["migrate"]["condition"]
    assert condition == "service_completed_successfully"


def test_dockerfile_generates_the_grpc_code_in_the_image() -> None:
    instructions = DOCKERFILE.replace("\\\n", " ").splitlines()
    assert any(line.startswith("RUN ") and "python -m tools.protogen" in line for line in instructions)
    assert not any(re.match(r"(COPY|ADD)\b.*\bgen\b", line) for line in instructions), (
        "gen/ is built, not copied"
    )
    assert "PYTHONPATH=/app/gen:/app" in DOCKERFILE
    users = [line.split()[1] for line in instructions if line.startswith("USER ")]
    assert users and users[-1] not in {"root", "0"}, "the processes must not run as root"


def test_dockerfile_installs_the_locked_dependencies_on_a_pinned_base() -> None:
    instructions = DOCKERFILE.replace("\\\n", " ").splitlines()
    args = dict(re.findall(r"^ARG (\w+)=(\S+)$", DOCKERFILE, re.MULTILINE))
    bases = [
        args.get(line.split()[1].strip("${}"), line.split()[1])
        for line in instructions
        if line.startswith("FROM ")
    ]
    assert len(bases) >= 2, "a builder stage and a final one"
    assert all(re.fullmatch(r"[\w./-]+:[\w.-]+@sha256:[0-9a-f]{64}", base) for base in bases), bases
    installs = [line for line in instructions if line.startswith("RUN ") and "pip install" in line]
    assert installs and all("--require-hashes -r /tmp/runtime.txt" in line for line in installs)
    assert "COPY requirements/runtime.txt /tmp/runtime.txt" in instructions


def test_the_proxy_logs_no_query_string() -> None:
    # A browser's WebSocket carries its API key in /ws?token=...
    nginx = (ROOT / "deploy" / "nginx.conf").read_text()
    formats = dict(re.findall(r"log_format\s+(\w+)\s+((?:'[^']*'\s*)+);", nginx))
    logs = re.findall(r"access_log\s+\S+\s+(\w+)\s*;", nginx)
    assert logs and all(name in formats for name in logs)
    for name in logs:
        assert not re.search(r"\$(request|request_uri|args|query_string|arg_\w+)\b", formats[name])


def test_the_proxy_error_log_leaves_out_request_lines_and_metrics_stay_internal() -> None:
    nginx = (ROOT / "deploy" / "nginx.conf").read_text()
    # Levels error and below print the request line, query string (?token=) included.
    assert re.findall(r"^error_log\s+\S+\s+(\w+)\s*;", nginx, re.MULTILINE) == ["crit"]
    # /metrics takes no API key: never served through the proxy.
    assert re.search(r"location\s*=\s*/metrics\s*\{\s*return\s+404\s*;\s*\}", nginx)


def test_the_grpc_tls_override_gives_each_service_the_ca_and_its_own_certificate(tmp_path: Path) -> None:
    override = yaml.safe_load((ROOT / "deploy" / "compose.grpc-tls.yaml").read_text())["services"]
    assert set(override) == {"conversations", "sender", "gateway"}, "every service that speaks gRPC"
    write_certificates(tmp_path, list(override))
    tls_settings = (ROOT / "services" / "shared" / "grpc_tls.py").read_text()
    for name, service in override.items():
        env = {key: str(value) for key, value in service["environment"].items()}
        assert all(re.search(rf"[\"']{var}[\"']", tls_settings) for var in env), f"{name}: unread {env}"
        assert env["GRPC_TLS_REQUIRE_CLIENT_CERT"] == "true"
        mounts = dict(volume.removesuffix(":ro").split(":") for volume in service["volumes"])
        assert all(volume.endswith(":ro") for volume in service["volumes"])
        # Relative to docker-compose.yml's folder, the project directory; files the tool writes.
        assert {source.removeprefix("./deploy/grpc-certs/") for source in mounts} == {
            "ca.pem",
            f"{name}.pem",
            f"{name}-key.pem",
        }, f"{name} mounts another service's certificate or key"
        assert all((tmp_path / Path(source).name).is_file() for source in mounts)
        by_target = {target: Path(source).name for source, target in mounts.items()}
        assert [by_target[env[var]] for var in ("GRPC_TLS_CA", "GRPC_TLS_CERT", "GRPC_TLS_KEY")] == [
            "ca.pem",
            f"{name}.pem",
            f"{name}-key.pem",
        ]
    assert "/deploy/grpc-certs/" in (ROOT / ".gitignore").read_text().splitlines()
