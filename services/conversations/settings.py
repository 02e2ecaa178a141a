"""Settings of the conversations service, from the environment."""

from dataclasses import dataclass

from services.shared.settings import SettingsError, env, positive


def async_database_url(url: str) -> str:
    """Accepts the usual postgresql:// URL and selects SQLAlchemy's asyncpg driver."""
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    raise SettingsError(f"DATABASE_URL must be a postgresql:// URL, got scheme of {url.split(':', 1)[0]!r}")


@dataclass(frozen=True)
class ConversationsSettings:
    database_url: str
    bind: str
    db_pool_size: int
    cache_ttl_seconds: float
    grace_seconds: float
    log_level: str

    @classmethod
    def from_env(cls) -> "ConversationsSettings":
        database_url = env("DATABASE_URL", "")
        if not database_url:
            raise SettingsError("DATABASE_URL is required (make run sets it to the embedded PostgreSQL)")
        return cls(
            database_url=async_database_url(database_url),
            bind=env("CONVERSATIONS_BIND", "127.0.0.1:50051"),
            db_pool_size=env("DB_POOL_SIZE", 20, positive(int)),
            cache_ttl_seconds=env("CACHE_TTL_SECONDS", 60.0, positive(float)),
            grace_seconds=env("CONVERSATIONS_GRACE_SECONDS", 10.0, positive(float)),
            log_level=env("LOG_LEVEL", "INFO"),
        )
