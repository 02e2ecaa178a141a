"""The sender's settings, read once from the environment and validated at start."""

import math
import re
from dataclasses import dataclass

from services.shared.grpc_tls import GrpcTls, grpc_tls_from_env
from services.shared.settings import env, positive, unix_socket_path

_API_VERSION = re.compile(r"v\d+\.\d+")
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def _bind(raw: str) -> str:
    host, _, port = raw.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError("must be host:port")
    return raw


def _base_url(raw: str) -> str:
    if not raw.startswith(("http://", "https://")):
        raise ValueError("must start with http:// or https://")
    # The client appends "/{version}/...", so a trailing slash would double it.
    return raw.rstrip("/")


def _api_version(raw: str) -> str:
    if not _API_VERSION.fullmatch(raw):
        raise ValueError("must look like v21.0")
    return raw


def _seconds(raw: str) -> float:
    value = float(raw)
    # float() accepts "nan" and "inf", which would make timeouts meaningless.
    if not math.isfinite(value) or value <= 0:
        raise ValueError("must be a finite number of seconds greater than 0")
    return value


def _log_level(raw: str) -> str:
    level = raw.upper()
    if level not in _LOG_LEVELS:
        raise ValueError(f"must be one of {', '.join(_LOG_LEVELS)}")
    return level


@dataclass(frozen=True)
class SenderSettings:
    bind: str = "127.0.0.1:50052"
    # Also listen here (a path) for callers on the same host; "" for none.
    unix_socket: str = ""
    # TLS of the gRPC server (services/shared/grpc_tls.py); None: plaintext.
    grpc_tls: GrpcTls | None = None
    whatsapp_base_url: str = "https://graph.facebook.com"
    whatsapp_api_version: str = "v21.0"
    whatsapp_timeout_seconds: float = 10.0
    whatsapp_max_connections: int = 1024
    grace_seconds: float = 10.0
    log_level: str = "INFO"
    # Prometheus metrics address (loopback: /metrics takes no credentials); port 0 turns it off.
    metrics_host: str = "127.0.0.1"
    metrics_port: int = 9102

    @classmethod
    def from_env(cls) -> "SenderSettings":
        """Reads every SENDER_*/WHATSAPP_* variable; raises SettingsError naming the bad one."""
        return cls(
            bind=env("SENDER_BIND", cls.bind, _bind),
            unix_socket=env("SENDER_UNIX_SOCKET", cls.unix_socket, unix_socket_path),
            grpc_tls=grpc_tls_from_env(serving=True),
            whatsapp_base_url=env("WHATSAPP_BASE_URL", cls.whatsapp_base_url, _base_url),
            whatsapp_api_version=env("WHATSAPP_API_VERSION", cls.whatsapp_api_version, _api_version),
            whatsapp_timeout_seconds=env("WHATSAPP_TIMEOUT_SECONDS", cls.whatsapp_timeout_seconds, _seconds),
            whatsapp_max_connections=env(
                "WHATSAPP_MAX_CONNECTIONS", cls.whatsapp_max_connections, positive(int)
            ),
            grace_seconds=env("SENDER_GRACE_SECONDS", cls.grace_seconds, _seconds),
            log_level=env("LOG_LEVEL", cls.log_level, _log_level),
            metrics_host=env("SENDER_METRICS_HOST", cls.metrics_host),
            metrics_port=env("SENDER_METRICS_PORT", cls.metrics_port, int),
        )
