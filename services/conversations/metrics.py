"""The conversations service's own metrics: caches, the outbox, media, webhooks in and out."""

from collections.abc import Iterator

from prometheus_client import Counter, Gauge
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import REGISTRY, Collector

from services.shared.cache import TtlCache

OUTBOX_CLAIMED = Counter("pigeon_outbox_claimed_total", "Messages claimed for delivery")
# `code`: the failure code through services.shared.metrics.failure_code_label (bounded).
OUTBOX_RETRIES = Counter(
    "pigeon_outbox_retries_total",
    "Deliveries queued again after a retryable failure or an account pause",
    ["code"],
)
OUTBOX_OUTCOMES = Counter("pigeon_outbox_outcomes_total", "Final outcomes of deliveries", ["outcome", "code"])
OUTBOX_TAKEN_OVER = Counter("pigeon_outbox_taken_over_total", "Expired claims put back in the queue")
OUTBOX_LATE_FOR_SLOT = Counter(
    "pigeon_outbox_late_for_slot_total",
    "Deliveries put back in the queue, too late for their slot (on waking, or at the sender)",
)
OUTBOX_IN_FLIGHT = Gauge("pigeon_outbox_in_flight", "Deliveries in flight in this replica")
OUTBOX_DEPTH = Gauge("pigeon_outbox_queued", "Messages queued (all replicas)")
OUTBOX_OLDEST = Gauge("pigeon_outbox_oldest_queued_seconds", "Age of the oldest queued message")
OUTBOX_PAUSED_ACCOUNTS = Gauge(
    "pigeon_outbox_paused_accounts", "Accounts whose queued sends are paused: WhatsApp refused the account"
)
MEDIA_COPIES = Counter(
    "pigeon_media_copies_total",
    "Attempts at copying inbound media, by outcome (stored, retried, failed)",
    ["outcome"],
)
MEDIA_COPY_FAILURES = Counter(
    "pigeon_media_copy_failures_total", "Failed attempts at copying inbound media, by reason", ["reason"]
)
MEDIA_BYTES_STORED = Counter("pigeon_media_stored_bytes_total", "Bytes of media stored (copies and uploads)")
MEDIA_DELETED = Counter("pigeon_media_deleted_total", "Media files deleted past the retention period")
RETENTION_DELETED = Counter(
    "pigeon_retention_deleted_total", "Rows deleted past their retention, by table", ["table"]
)
MEDIA_PENDING = Gauge("pigeon_media_pending", "Media copies waiting (all replicas)")
WEBHOOKS = Counter("pigeon_webhook_notifications_total", "Webhook notifications by outcome", ["outcome"])
OUTBOUND_WEBHOOK_ATTEMPTS = Counter(
    "pigeon_outbound_webhook_attempts_total",
    "Attempts at delivering events to customers' endpoints, by verdict (delivered, retry, gone)",
    ["verdict"],
)
OUTBOUND_WEBHOOK_DISABLED = Counter(
    "pigeon_outbound_webhook_endpoints_disabled_total", "Endpoints disabled by their deliveries", ["reason"]
)
OUTBOUND_WEBHOOK_RUNS = Gauge("pigeon_outbound_webhook_runs", "Endpoints being delivered to by this replica")


class CacheCollector(Collector):
    """Hit and miss counters of the in-process caches, read when scraped."""

    def __init__(self, caches: dict[str, TtlCache]) -> None:  # type: ignore[type-arg]
        self.caches = caches

    def collect(self) -> Iterator[CounterMetricFamily]:
        hits = CounterMetricFamily(
            "pigeon_cache_hits_total", "Cache lookups answered from memory", labels=["cache"]
        )
        misses = CounterMetricFamily(
            "pigeon_cache_misses_total", "Cache lookups that went to PostgreSQL", labels=["cache"]
        )
        for name, cache in self.caches.items():
            hits.add_metric([name], cache.stats.hits)
            misses.add_metric([name], cache.stats.misses)
        yield hits
        yield misses


def register_caches(caches: dict[str, TtlCache]) -> None:  # type: ignore[type-arg]
    REGISTRY.register(CacheCollector(caches))
