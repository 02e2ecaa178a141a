"""Settings of the HTTP gateway, from the environment."""

import ipaddress
from dataclasses import dataclass

from services.shared.grpc_tls import GrpcTls, grpc_tls_from_env
from services.shared.settings import SettingsError, at_most, env, parse_bool, positive


def non_negative_float(raw: str) -> float:
    value = float(raw)
    if not 0 <= value < float("inf"):  # also refuses nan
        raise ValueError("must be a number, 0 or more")
    return value


def non_negative_int(raw: str) -> int:
    value = int(raw)
    if value < 0:
        raise ValueError("must be 0 or more")
    return value


# An admin token shorter than this could be guessed; `openssl rand -hex 32` makes a good one.
MIN_ADMIN_TOKEN_LENGTH = 32


def admin_token_from_env() -> str:
    """ADMIN_TOKEN: empty (no /admin/ routes), or at least MIN_ADMIN_TOKEN_LENGTH visible ASCII
    characters. Unlike other settings, a bad value is not repeated in the error."""
    raw = env("ADMIN_TOKEN", "")
    if raw and (len(raw) < MIN_ADMIN_TOKEN_LENGTH or not all("\x21" <= c <= "\x7e" for c in raw)):
        raise SettingsError(
            f"ADMIN_TOKEN is not valid: it must be at least {MIN_ADMIN_TOKEN_LENGTH} visible ASCII characters"
        )
    return raw


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(raw: str) -> tuple[Network, ...]:
    """Comma-separated addresses or CIDR networks."""
    return tuple(ipaddress.ip_network(item.strip(), strict=False) for item in raw.split(",") if item.strip())


# A body (a webhook's too) goes to conversations in one gRPC message, at most 4 MiB.
MAX_BODY_BYTES_LIMIT = 3 * 1024 * 1024


@dataclass(frozen=True)
class GatewaySettings:
    host: str
    port: int
    conversations_target: str
    sender_target: str
    # TLS of its calls to conversations and the sender (services/shared/grpc_tls.py); None: plaintext.
    grpc_tls: GrpcTls | None
    max_body_bytes: int
    webhook_max_body_bytes: int
    # Webhook bodies from a client address with failed verifications that have not grown back.
    webhook_unverified_max_body_bytes: int
    # Failed webhook verifications a client address may have: per second, and at once.
    webhook_failures_per_second: float
    webhook_failures_burst: int
    # A notification waits this long for others to share its call to conversations (and its
    # transaction there): Meta needs no faster answer, and a call per notification costs the
    # CPU the sends need. 0: each goes at once when nothing is in flight.
    webhook_batch_linger_ms: float
    # Proxies whose X-Forwarded-For names the client (nginx in compose); none by default.
    trusted_proxies: tuple[Network, ...]
    rpc_timeout_seconds: float
    send_timeout_seconds: float
    auth_cache_ttl_seconds: float
    webhook_verify_token: str
    ws_heartbeat_seconds: float
    # The bytes of frames that may wait for one socket; past them its stream is held back.
    ws_max_queued_bytes: int
    # WebSockets open at once per API key and per account, per gateway replica.
    ws_max_sockets_per_key: int
    ws_max_sockets_per_account: int
    ws_send_timeout_seconds: float
    # Requests per second and burst per API key, per gateway replica; 0 turns the limit off.
    rate_limit_per_second: float
    rate_limit_burst: int
    log_level: str
    # How long a media upload or download may make no progress (no bytes either way) before it
    # is given up: no deadline bounds a whole transfer, which takes what its link allows.
    media_timeout_seconds: float
    # GET /media/{id} answers 307 to a short-lived URL of the object store, when it has them.
    media_presigned_redirect: bool
    # The bearer token of the /admin/ routes; empty: they are not registered (404).
    admin_token: str

    @classmethod
    def from_env(cls) -> "GatewaySettings":
        return cls(
            host=env("GATEWAY_HOST", "127.0.0.1"),
            port=env("GATEWAY_PORT", 8080, int),
            conversations_target=env("CONVERSATIONS_TARGET", "127.0.0.1:50051"),
            sender_target=env("SENDER_TARGET", "127.0.0.1:50052"),
            grpc_tls=grpc_tls_from_env(serving=False),
            max_body_bytes=env("MAX_BODY_BYTES", 1024 * 1024, at_most(MAX_BODY_BYTES_LIMIT, positive(int))),
            webhook_max_body_bytes=env(
                "WEBHOOK_MAX_BODY_BYTES", MAX_BODY_BYTES_LIMIT, at_most(MAX_BODY_BYTES_LIMIT, positive(int))
            ),
            webhook_unverified_max_body_bytes=env(
                "WEBHOOK_UNVERIFIED_MAX_BODY_BYTES", 64 * 1024, at_most(MAX_BODY_BYTES_LIMIT, positive(int))
            ),
            webhook_failures_per_second=env("WEBHOOK_FAILURES_PER_SECOND", 1.0, positive(float)),
            webhook_failures_burst=env("WEBHOOK_FAILURES_BURST", 20, positive(int)),
            trusted_proxies=env("TRUSTED_PROXIES", (), parse_networks),
            webhook_batch_linger_ms=env("WEBHOOK_BATCH_LINGER_MS", 20.0, non_negative_float),
            rpc_timeout_seconds=env("RPC_TIMEOUT_SECONDS", 5.0, positive(float)),
            # Above the sender's own WhatsApp timeout, so that its answer (a timeout
            # result) normally arrives before this deadline cuts the call.
            send_timeout_seconds=env("SEND_TIMEOUT_SECONDS", 15.0, positive(float)),
            auth_cache_ttl_seconds=env("AUTH_CACHE_TTL_SECONDS", 30.0, positive(float)),
            # The token Meta echoes in the webhook verification handshake; empty refuses it.
            webhook_verify_token=env("WEBHOOK_VERIFY_TOKEN", ""),
            ws_heartbeat_seconds=env("WS_HEARTBEAT_SECONDS", 20.0, positive(float)),
            ws_max_queued_bytes=env("WS_MAX_QUEUED_BYTES", 1024 * 1024, positive(int)),
            ws_max_sockets_per_key=env("WS_MAX_SOCKETS_PER_KEY", 20, positive(int)),
            ws_max_sockets_per_account=env("WS_MAX_SOCKETS_PER_ACCOUNT", 50, positive(int)),
            ws_send_timeout_seconds=env("WS_SEND_TIMEOUT_SECONDS", 10.0, positive(float)),
            rate_limit_per_second=env("RATE_LIMIT_PER_SECOND", 200.0, non_negative_float),
            rate_limit_burst=env("RATE_LIMIT_BURST", 400, non_negative_int),
            log_level=env("LOG_LEVEL", "INFO"),
            media_timeout_seconds=env("MEDIA_TIMEOUT_SECONDS", 60.0, positive(float)),
            media_presigned_redirect=env("MEDIA_PRESIGNED_REDIRECT", False, parse_bool),
            admin_token=admin_token_from_env(),
        )
