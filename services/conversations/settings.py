"""Settings of the conversations service, from the environment."""

import math
from collections.abc import Callable
from dataclasses import dataclass

from services.shared.grpc_tls import GrpcTls, grpc_tls_from_env
from services.shared.secrets_at_rest import SecretBox, parse_keys
from services.shared.settings import SettingsError, env, parse_bool, positive, unix_socket_path


def database_dsn(url: str) -> str:
    """A postgresql:// URL for asyncpg; postgres:// and SQLAlchemy's postgresql+asyncpg:// are
    accepted too."""
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql://" + url[len(prefix) :]
    raise SettingsError(f"DATABASE_URL must be a postgresql:// URL, got scheme of {url.split(':', 1)[0]!r}")


def at_least(minimum: float) -> Callable[[str], float]:
    def parse(raw: str) -> float:
        value = float(raw)
        if not minimum <= value < math.inf:  # also refuses nan
            raise ValueError(f"must be a number, at least {minimum}")
        return value

    return parse


@dataclass(frozen=True)
class OutboxSettings:
    concurrency: int
    max_attempts: int
    retry_base_seconds: float
    retry_max_seconds: float
    lease_seconds: float
    send_timeout_seconds: float
    # An account's mps send slots are spread over 1 s plus this margin: room for jitter
    # between a claimed slot and the moment the request reaches WhatsApp.
    pacing_margin_seconds: float
    # How far ahead slots are handed out: bounds how long a claimed message waits.
    pacing_horizon_seconds: float
    # A message WhatsApp may have (the connection broke after the request was written, or its
    # claim's lease ran out) waits this long before it is sent again: time for a status
    # webhook carrying pigeon's id to settle it instead.
    reconcile_seconds: float = 30.0
    # After a failure only an operator can mend for the whole account (an expired access token,
    # say), how long its queued messages wait before one is tried again; changing the account
    # (a new token) ends the wait at once.
    account_pause_seconds: float = 300.0


@dataclass(frozen=True)
class SendPolicy:
    # A synchronous send still "sending" after this long is taken over by the outbox
    # (its gateway died mid-call): longer than the gateway's deadline for the send.
    sync_lease_seconds: float = 60.0
    # Validity period: a message not sent within it fails as "expired".
    message_ttl_seconds: float = 3600.0
    # Sync sends take pacing slots as the outbox does (the same margin and horizon: see
    # OutboxSettings), and are refused (`account_rate_limited`) when their slot would be further
    # away than the horizon: waiting no longer than a claimed message, they cannot keep an
    # account's slots out of the outbox's reach.
    pacing_margin_seconds: float = 0.3
    max_pacing_wait_seconds: float = 1.0


@dataclass(frozen=True)
class MediaSettings:
    # "filesystem" (under root) or "s3" (an S3-compatible object store).
    store: str
    root: str
    s3_endpoint_url: str
    s3_bucket: str
    s3_region: str
    s3_access_key_id: str
    s3_secret_access_key: str
    # Copies from WhatsApp running at once in this replica.
    concurrency: int
    # A copy's claim: due again after this long should its worker die.
    lease_seconds: float
    retry_base_seconds: float
    retry_max_seconds: float
    # How long a presigned URL of the object store is good for.
    presign_seconds: int
    # Stored files are deleted this long after they were stored; 0 keeps them for ever.
    retention_seconds: float


@dataclass(frozen=True)
class OutboundWebhookSettings:
    """Signed webhooks to customers' endpoints (docs/architecture.md, "Outbound webhooks")."""

    # This replica delivers.
    worker_enabled: bool
    # Endpoints delivered to at once by this replica, and requests in flight per endpoint
    # (for events of different conversations; a conversation's go one after another).
    concurrency: int
    parallelism: int
    timeout_seconds: float
    retry_base_seconds: float
    retry_max_seconds: float
    # An endpoint failing this long is disabled.
    retry_window_seconds: float
    # After a rotation, deliveries are signed with the old secret too for this long.
    secret_grace_seconds: float
    # A claimed endpoint's lease, renewed while its deliveries run.
    lease_seconds: float
    # http:// URLs and loopback or private addresses (make run, tests); never in production.
    allow_insecure_urls: bool
    max_endpoints_per_account: int
    # Attempts are listed this long, then deleted.
    attempts_retention_seconds: float


@dataclass(frozen=True)
class RetentionSettings:
    """What is deleted once old enough, and how gently (docs/reliability.md, "Retention")."""

    # This replica deletes (every replica may: batches skip the rows another one holds).
    worker_enabled: bool
    # A round of deletions starts this long after the last one ended.
    every_seconds: float
    # Rows deleted per statement (each its own short transaction), and the pause between two.
    batch_size: int
    pause_seconds: float
    # Events are kept this long, and longer while an enabled outbound webhook endpoint has
    # yet to deliver them.
    events_keep_seconds: float
    # Webhook notifications applied (or malformed) are kept this long; those that failed, longer.
    notifications_keep_seconds: float
    failed_notifications_keep_seconds: float
    # Statuses for a message pigeon never came to know are dropped this long after they came.
    pending_statuses_keep_seconds: float
    # Idempotency keys are kept this long (at least 24 h, as the API promises).
    idempotency_keep_seconds: float


@dataclass(frozen=True)
class TemplateSettings:
    """Each account's templates, listed from WhatsApp (docs/architecture.md, "Templates")."""

    # This replica lists them.
    worker_enabled: bool
    # Listed again this long after the last listing (and at once on a status-update webhook).
    sync_every_seconds: float
    # A listing that failed is tried again after this long.
    retry_seconds: float


def media_store_kind(raw: str) -> str:
    if raw not in ("filesystem", "s3"):
        raise ValueError("must be filesystem or s3")
    return raw


def secrets_from_env() -> SecretBox:
    """SECRETS_KEYS, validated; unlike other settings, a bad value is not repeated in the error."""
    raw = env("SECRETS_KEYS", "")
    try:
        return parse_keys(raw) if raw else SecretBox()
    except ValueError as exc:
        raise SettingsError(f"SECRETS_KEYS is not valid: {exc}") from None


@dataclass(frozen=True)
class ConversationsSettings:
    database_url: str
    bind: str
    # Also listen here (a path) for callers on the same host; "" for none.
    unix_socket: str
    # TLS of gRPC, served and called (services/shared/grpc_tls.py); None: plaintext.
    grpc_tls: GrpcTls | None
    db_pool_size: int
    cache_ttl_seconds: float
    grace_seconds: float
    log_level: str
    sender_target: str
    # The keys of the secrets stored encrypted (SECRETS_KEYS); none: stored in the clear.
    secrets: SecretBox
    # Prometheus /metrics: loopback unless told (it takes no credentials); port 0 turns it off.
    metrics_host: str
    metrics_port: int
    outbox_worker_enabled: bool
    # This replica copies inbound media from WhatsApp.
    media_worker_enabled: bool
    outbox: OutboxSettings
    send_policy: SendPolicy
    media: MediaSettings
    templates: TemplateSettings
    outbound_webhooks: OutboundWebhookSettings
    retention: RetentionSettings

    @classmethod
    def from_env(cls) -> "ConversationsSettings":
        database_url = env("DATABASE_URL", "")
        if not database_url:
            raise SettingsError("DATABASE_URL is required (make run sets it to the embedded PostgreSQL)")
        # The outbox's claims and sync sends take slots from the same pacing, as far ahead.
        pacing_margin_seconds = env("PACING_MARGIN_SECONDS", 0.3, positive(float))
        pacing_horizon_seconds = env("PACING_HORIZON_SECONDS", 1.0, positive(float))
        return cls(
            database_url=database_dsn(database_url),
            bind=env("CONVERSATIONS_BIND", "127.0.0.1:50051"),
            unix_socket=env("CONVERSATIONS_UNIX_SOCKET", "", unix_socket_path),
            grpc_tls=grpc_tls_from_env(serving=True),
            db_pool_size=env("DB_POOL_SIZE", 20, positive(int)),
            cache_ttl_seconds=env("CACHE_TTL_SECONDS", 60.0, positive(float)),
            grace_seconds=env("CONVERSATIONS_GRACE_SECONDS", 10.0, positive(float)),
            log_level=env("LOG_LEVEL", "INFO"),
            sender_target=env("SENDER_TARGET", "127.0.0.1:50052"),
            secrets=secrets_from_env(),
            metrics_host=env("CONVERSATIONS_METRICS_HOST", "127.0.0.1"),
            metrics_port=env("CONVERSATIONS_METRICS_PORT", 9101, int),
            outbox_worker_enabled=env("DISPATCHER_ENABLED", True, parse_bool),
            media_worker_enabled=env("MEDIA_WORKER_ENABLED", True, parse_bool),
            outbox=OutboxSettings(
                concurrency=env("DISPATCH_CONCURRENCY", 1024, positive(int)),
                max_attempts=env("MAX_ATTEMPTS", 8, positive(int)),
                retry_base_seconds=env("RETRY_BASE_SECONDS", 1.0, positive(float)),
                retry_max_seconds=env("RETRY_MAX_SECONDS", 60.0, positive(float)),
                lease_seconds=env("LEASE_SECONDS", 60.0, positive(float)),
                send_timeout_seconds=env("SEND_TIMEOUT_SECONDS", 15.0, positive(float)),
                pacing_margin_seconds=pacing_margin_seconds,
                pacing_horizon_seconds=pacing_horizon_seconds,
                reconcile_seconds=env("RECONCILE_SECONDS", 30.0, positive(float)),
                account_pause_seconds=env("ACCOUNT_PAUSE_SECONDS", 300.0, positive(float)),
            ),
            send_policy=SendPolicy(
                sync_lease_seconds=env("SYNC_LEASE_SECONDS", 60.0, positive(float)),
                message_ttl_seconds=env("MESSAGE_TTL_SECONDS", 3600.0, positive(float)),
                pacing_margin_seconds=pacing_margin_seconds,
                max_pacing_wait_seconds=pacing_horizon_seconds,
            ),
            media=MediaSettings(
                store=env("MEDIA_STORE", "filesystem", media_store_kind),
                root=env("MEDIA_ROOT", ".pigeon/media"),
                s3_endpoint_url=env("S3_ENDPOINT_URL", ""),
                s3_bucket=env("S3_BUCKET", "pigeon-media"),
                s3_region=env("S3_REGION", "us-east-1"),
                s3_access_key_id=env("S3_ACCESS_KEY_ID", ""),
                s3_secret_access_key=env("S3_SECRET_ACCESS_KEY", ""),
                concurrency=env("MEDIA_CONCURRENCY", 8, positive(int)),
                lease_seconds=env("MEDIA_LEASE_SECONDS", 600.0, positive(float)),
                retry_base_seconds=env("MEDIA_RETRY_BASE_SECONDS", 5.0, positive(float)),
                retry_max_seconds=env("MEDIA_RETRY_MAX_SECONDS", 900.0, positive(float)),
                presign_seconds=env("MEDIA_PRESIGN_SECONDS", 300, positive(int)),
                retention_seconds=env("MEDIA_RETENTION_DAYS", 0.0, at_least(0.0)) * 86400,
            ),
            templates=TemplateSettings(
                worker_enabled=env("TEMPLATE_SYNC_ENABLED", True, parse_bool),
                sync_every_seconds=env("TEMPLATE_SYNC_EVERY_SECONDS", 900.0, positive(float)),
                retry_seconds=env("TEMPLATE_SYNC_RETRY_SECONDS", 60.0, positive(float)),
            ),
            outbound_webhooks=OutboundWebhookSettings(
                worker_enabled=env("OUTBOUND_WEBHOOKS_ENABLED", True, parse_bool),
                concurrency=env("OUTBOUND_WEBHOOK_CONCURRENCY", 64, positive(int)),
                parallelism=env("OUTBOUND_WEBHOOK_PARALLELISM", 8, positive(int)),
                timeout_seconds=env("OUTBOUND_WEBHOOK_TIMEOUT_SECONDS", 10.0, positive(float)),
                retry_base_seconds=env("OUTBOUND_WEBHOOK_RETRY_BASE_SECONDS", 5.0, positive(float)),
                retry_max_seconds=env("OUTBOUND_WEBHOOK_RETRY_MAX_SECONDS", 3600.0, positive(float)),
                retry_window_seconds=env("OUTBOUND_WEBHOOK_RETRY_WINDOW_SECONDS", 259200.0, positive(float)),
                secret_grace_seconds=env("OUTBOUND_WEBHOOK_SECRET_GRACE_SECONDS", 86400.0, at_least(0.0)),
                lease_seconds=env("OUTBOUND_WEBHOOK_LEASE_SECONDS", 60.0, positive(float)),
                allow_insecure_urls=env("OUTBOUND_WEBHOOK_ALLOW_INSECURE_URLS", False, parse_bool),
                max_endpoints_per_account=env("OUTBOUND_WEBHOOK_MAX_ENDPOINTS", 20, positive(int)),
                attempts_retention_seconds=env(
                    "OUTBOUND_WEBHOOK_ATTEMPTS_RETENTION_DAYS", 7.0, positive(float)
                )
                * 86400,
            ),
            retention=RetentionSettings(
                worker_enabled=env("RETENTION_ENABLED", True, parse_bool),
                every_seconds=env("RETENTION_EVERY_SECONDS", 300.0, positive(float)),
                batch_size=env("RETENTION_BATCH_SIZE", 1000, positive(int)),
                pause_seconds=env("RETENTION_PAUSE_SECONDS", 0.05, at_least(0.0)),
                events_keep_seconds=env("EVENTS_RETENTION_DAYS", 7.0, positive(float)) * 86400,
                notifications_keep_seconds=env("WEBHOOK_NOTIFICATIONS_RETENTION_DAYS", 7.0, positive(float))
                * 86400,
                failed_notifications_keep_seconds=env(
                    "FAILED_WEBHOOK_NOTIFICATIONS_RETENTION_DAYS", 30.0, positive(float)
                )
                * 86400,
                pending_statuses_keep_seconds=env("PENDING_STATUSES_RETENTION_DAYS", 7.0, positive(float))
                * 86400,
                idempotency_keep_seconds=env("IDEMPOTENCY_KEEP_SECONDS", 86400.0, at_least(86400.0)),
            ),
        )

    def lease_warnings(self) -> list[str]:
        """Leases too short for a send to finish: another replica (or this one) would take
        over a send still in flight and send it again. Tests shorten leases on purpose."""
        outbox, policy = self.outbox, self.send_policy
        return [
            f"{name}={lease:g} is not above SEND_TIMEOUT_SECONDS + {wait_names} ({needed:g}):"
            " a slow send may be taken over and sent twice"
            for name, lease, wait_names, needed in (
                (
                    "LEASE_SECONDS",
                    outbox.lease_seconds,
                    "PACING_HORIZON_SECONDS + PACING_MARGIN_SECONDS",
                    outbox.send_timeout_seconds
                    + outbox.pacing_horizon_seconds
                    + outbox.pacing_margin_seconds,
                ),
                (
                    "SYNC_LEASE_SECONDS",
                    policy.sync_lease_seconds,
                    "PACING_HORIZON_SECONDS",
                    outbox.send_timeout_seconds + policy.max_pacing_wait_seconds,
                ),
            )
            if lease <= needed
        ]
