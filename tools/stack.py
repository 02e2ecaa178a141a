"""Starting pigeon's parts as real processes on one machine.

Used by `make run` (tools/devrun.py), the end-to-end tests and the benchmarks, so
that all three start the system the same way.
"""

import asyncio
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import orjson

from services.conversations.settings import database_dsn
from services.shared.secrets_at_rest import ACCESS_TOKEN, APP_SECRET, SecretBox

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / ".pigeon"


def embedded_postgres_url(data_dir: Path) -> str:
    """Starts (or joins) the embedded PostgreSQL kept in data_dir; returns its URL."""
    import pgserver  # imported here: only the embedded default needs it

    data_dir.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(data_dir, cleanup_mode="stop")
    return str(server.get_uri())


def database_url(default_data_dir: Path = DATA_DIR / "pg") -> str:
    """DATABASE_URL when given, otherwise the embedded PostgreSQL."""
    return os.environ.get("DATABASE_URL") or embedded_postgres_url(default_data_dir)


def with_database(url: str, name: str) -> str:
    """The same server URL pointing at another database."""
    base, _, query = url.partition("?")
    scheme_and_host, _, _ = base.rpartition("/")
    return f"{scheme_and_host}/{name}" + (f"?{query}" if query else "")


async def ensure_database(server_url: str, name: str, *, fresh: bool) -> str:
    """Creates database `name` on the server (dropping it first when fresh); returns its URL."""
    connection = await asyncpg.connect(database_dsn(server_url))
    try:
        exists = await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if exists and fresh:
            await connection.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            exists = False
        if not exists:
            await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return with_database(server_url, name)


async def drop_database(server_url: str, database_url: str) -> None:
    name = database_url.partition("?")[0].rpartition("/")[2]
    connection = await asyncpg.connect(database_dsn(server_url))
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


_PORTS_GIVEN: set[int] = set()


def free_port() -> int:
    """A port nothing listened on when asked, never the same one twice in this process. The
    kernel may offer a port again once its probe socket is closed: two services of one stack
    were once given one port, and the second seemed ready because the first listened there.
    (Another process may still take the port before the service binds it.)"""
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port not in _PORTS_GIVEN:
            _PORTS_GIVEN.add(port)
            return port


def wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"{process.args!r} exited with {process.returncode} before listening on :{port}"
            )
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on port {port} after {timeout} s")


@dataclass
class ServiceProcess:
    name: str
    module: str
    port: int
    env: dict[str, str]
    log_path: Path | None = None
    # Where its Prometheus metrics are served (the gateway: its own port).
    metrics_port: int = 0
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {**os.environ, **self.env, "PYTHONPATH": f"{ROOT / 'gen'}{os.pathsep}{ROOT}"}
        output = open(self.log_path, "ab") if self.log_path else None  # noqa: SIM115 - kept for the process's life
        self.process = subprocess.Popen(
            [sys.executable, "-m", self.module], cwd=ROOT, env=env, stdout=output, stderr=output
        )
        wait_for_port(self.port, self.process)

    def signal(self, sig: signal.Signals) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)

    def stop(self, timeout: float = 15.0) -> int | None:
        if self.process is None:
            return None
        self.signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()


@dataclass
class Stack:
    """The processes of a running pigeon: the simulator, and one or more replicas each of
    sender, conversations and gateway (`replicas`, e.g. {"sender": 2}). The first
    replica of each uses the ports given here; more get free ones."""

    database_url: str
    sim_port: int = field(default_factory=free_port)
    sender_port: int = field(default_factory=free_port)
    conversations_port: int = field(default_factory=free_port)
    gateway_port: int = field(default_factory=free_port)
    conversations_metrics_port: int = field(default_factory=free_port)
    sender_metrics_port: int = field(default_factory=free_port)
    log_dir: Path | None = None
    webhook_verify_token: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    extra_env: Mapping[str, str] = field(default_factory=dict)
    sim_env: Mapping[str, str] = field(default_factory=dict)
    # Settings of one service's processes (each replica's), over extra_env: e.g. its certificate.
    service_env: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    # SECRETS_KEYS, for conversations alone (the one process that reads the secrets).
    secrets_keys: str = ""
    replicas: Mapping[str, int] = field(default_factory=dict)
    # When given, the sender and conversations also listen on Unix sockets in this folder,
    # and their callers use them (one replica of each only: a unix: target is one address).
    unix_socket_dir: Path | None = None
    services: list[ServiceProcess] = field(default_factory=list)

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.gateway_port}"

    @property
    def gateway_urls(self) -> list[str]:
        return [f"http://127.0.0.1:{s.port}" for s in self.replicas_of("gateway")]

    @property
    def simulator_url(self) -> str:
        return f"http://127.0.0.1:{self.sim_port}"

    def _log(self, name: str) -> Path | None:
        if self.log_dir is None:
            return None
        self.log_dir.mkdir(parents=True, exist_ok=True)
        return self.log_dir / f"{name}.log"

    def unix_socket(self, service: str) -> str:
        """The Unix socket `service` listens on, "" without unix_socket_dir."""
        if self.unix_socket_dir is None:
            return ""
        if self.replicas.get(service, 1) != 1:
            raise ValueError("Unix sockets are for one replica of each service")
        return str(self.unix_socket_dir / f"{service}.sock")

    def _callers_target(self, service: str, ports: list[int]) -> str:
        socket_path = self.unix_socket(service)
        return f"unix:{socket_path}" if socket_path else self._target(ports)

    def _ports(self, service: str, first: int) -> list[int]:
        return [first] + [free_port() for _ in range(self.replicas.get(service, 1) - 1)]

    @staticmethod
    def _name(service: str, index: int) -> str:
        return service if index == 0 else f"{service}-{index + 1}"

    @staticmethod
    def _target(ports: list[int]) -> str:
        # Several addresses: gRPC's round_robin (see grpc_client.py) spreads calls over them.
        if len(ports) == 1:
            return f"127.0.0.1:{ports[0]}"
        return "ipv4:" + ",".join(f"127.0.0.1:{port}" for port in ports)

    def start(self, phone_numbers: list[dict[str, Any]]) -> None:
        common = {"LOG_LEVEL": "INFO", **self.extra_env}
        senders = self._ports("sender", self.sender_port)
        conversations = self._ports("conversations", self.conversations_port)
        gateways = self._ports("gateway", self.gateway_port)
        self.services = [
            ServiceProcess(
                "simulator",
                "tools.whatsapp_sim",
                self.sim_port,
                {
                    **common,
                    "SIM_PORT": str(self.sim_port),
                    "SIM_PHONE_NUMBERS": orjson.dumps(phone_numbers).decode(),
                    "SIM_WEBHOOK_URL": f"{self.gateway_url}/webhooks/whatsapp",
                    **self.sim_env,
                },
                self._log("simulator"),
            )
        ]
        for index, port in enumerate(senders):
            name = self._name("sender", index)
            metrics = self.sender_metrics_port if index == 0 else free_port()
            env = {
                **common,
                "SENDER_BIND": f"127.0.0.1:{port}",
                "SENDER_UNIX_SOCKET": self.unix_socket("sender"),
                "SENDER_METRICS_PORT": str(metrics),
                "WHATSAPP_BASE_URL": self.simulator_url,
                **self.service_env.get("sender", {}),
            }
            self.services.append(ServiceProcess(name, "services.sender", port, env, self._log(name), metrics))
        for index, port in enumerate(conversations):
            name = self._name("conversations", index)
            metrics = self.conversations_metrics_port if index == 0 else free_port()
            env = {
                **common,
                "DATABASE_URL": self.database_url,
                "CONVERSATIONS_BIND": f"127.0.0.1:{port}",
                "CONVERSATIONS_UNIX_SOCKET": self.unix_socket("conversations"),
                "CONVERSATIONS_METRICS_PORT": str(metrics),
                "SECRETS_KEYS": self.secrets_keys,
                "SENDER_TARGET": self._callers_target("sender", senders),
                **self.service_env.get("conversations", {}),
            }
            self.services.append(
                ServiceProcess(name, "services.conversations", port, env, self._log(name), metrics)
            )
        for index, port in enumerate(gateways):
            name = self._name("gateway", index)
            env = {
                **common,
                "GATEWAY_PORT": str(port),
                "CONVERSATIONS_TARGET": self._callers_target("conversations", conversations),
                "SENDER_TARGET": self._callers_target("sender", senders),
                "WEBHOOK_VERIFY_TOKEN": self.webhook_verify_token,
                **self.service_env.get("gateway", {}),
            }
            self.services.append(ServiceProcess(name, "services.gateway", port, env, self._log(name), port))
        started: list[ServiceProcess] = []
        try:
            for service in self.services:
                service.start()
                started.append(service)
        except BaseException:
            for service in reversed(started):
                service.stop()
            raise

    def service(self, name: str) -> ServiceProcess:
        return next(s for s in self.services if s.name == name)

    def replicas_of(self, service: str) -> list[ServiceProcess]:
        return [s for s in self.services if s.name == service or s.name.startswith(f"{service}-")]

    def stop(self) -> dict[str, int | None]:
        # Front to back: the gateways stop taking requests before what they call goes away.
        return {service.name: service.stop() for service in reversed(self.services)}


async def phone_numbers_in(database: str, secrets_box: SecretBox) -> list[dict[str, Any]]:
    """Every account's number, token and app secret (decrypted with `secrets_box`): the
    simulator accepts their sends and signs their webhooks."""
    connection = await asyncpg.connect(database_dsn(database))
    try:
        rows = await connection.fetch(
            "SELECT phone_number_id, access_token, app_secret, messages_per_second, waba_id FROM accounts"
        )
    finally:
        await connection.close()
    return [
        {
            "phone_number_id": r["phone_number_id"],
            "access_token": secrets_box.decrypt(ACCESS_TOKEN, r["access_token"]),
            "app_secret": secrets_box.decrypt(APP_SECRET, r["app_secret"]),
            "mps": r["messages_per_second"],
            "waba_id": r["waba_id"],
        }
        for r in rows
    ]


def run_migrations(url: str) -> None:
    from services.conversations.migrate import upgrade

    upgrade(url)


async def migrate(url: str) -> None:
    await asyncio.to_thread(run_migrations, url)


def _pg_ctl(args: list[str], **kwargs: Any) -> str:
    """pgserver's pg_ctl wrapper (made at import time, so typed here): runs as pgserver's user."""
    import importlib

    commands: Any = importlib.import_module("pgserver._commands")
    return str(commands.pg_ctl(args, **kwargs))


class RestartablePostgres:
    """An embedded PostgreSQL of its own that can be stopped and started again on the same
    data directory and socket, for fault tests (the shared server under DATA_DIR / "pg" must
    never go down under other tests). `close()` stops it and deletes its data."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.url = ""
        self._server: Any = None

    def start(self) -> str:
        """Creates and starts the server the first time; starts it again after `stop()`.
        Returns the server URL (unix socket), the same each time."""
        import pgserver

        if self._server is None:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            # cleanup_mode=None: close() stops it, not an atexit hook that knows only the first postmaster.
            self._server = pgserver.get_server(self.data_dir, cleanup_mode=None)
            self.url = str(self._server.get_uri())
            return self.url
        socket_dir = self._server.get_postmaster_info().socket_dir
        # The arguments pgserver itself starts the postmaster with: no TCP, the same socket dir.
        _pg_ctl(
            ["-w", "-o", '-h ""', "-o", f"-k {socket_dir}", "-l", str(self.data_dir / "log"), "start"],
            pgdata=self.data_dir,
            user=self._server.system_user,
            timeout=30,
        )
        return self.url

    def stop(self, mode: str = "fast") -> None:
        """`pg_ctl stop -m fast` (the default): every session is terminated at once."""
        _pg_ctl(["-w", "-m", mode, "stop"], pgdata=self.data_dir, user=self._server.system_user, timeout=30)

    def running(self) -> bool:
        from pgserver.utils import PostmasterInfo

        info = PostmasterInfo.read_from_pgdata(self.data_dir)
        return info is not None and info.is_running()

    def close(self) -> None:
        import atexit
        import shutil

        from pgserver.postgres_server import PostgresServer

        if self._server is None:
            return
        if self.running():
            self.stop("immediate")
        atexit.unregister(self._server._cleanup)
        PostgresServer._instances.pop(self._server.pgdata, None)
        self._server = None
        shutil.rmtree(self.data_dir, ignore_errors=True)
