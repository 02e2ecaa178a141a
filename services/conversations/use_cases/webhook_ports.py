"""The interfaces the outbound webhooks' use cases work through (webhook_endpoints.py, the API's
side; webhook_deliveries.py, the worker's): implemented by the PostgreSQL and HTTP adapters,
faked in unit tests. The other use cases' interfaces are in ports.py."""

from collections.abc import Sequence
from typing import Protocol
from uuid import UUID

from services.conversations.domain.webhook_endpoints import (
    Attempt,
    AttemptResult,
    ClaimedEndpoint,
    PendingEvent,
    WebhookEndpoint,
)


class WebhookEndpointsPort(Protocol):
    """Customers' webhook endpoints and their attempts (the API's side)."""

    async def insert(
        self,
        account_id: UUID,
        endpoint_id: UUID,
        url: str,
        description: str,
        event_types: Sequence[str],
        secret: str,
        max_endpoints: int,
    ) -> WebhookEndpoint | None: ...
    async def all(self, account_id: UUID) -> list[WebhookEndpoint]: ...
    async def get(self, account_id: UUID, endpoint_id: UUID) -> WebhookEndpoint | None: ...
    async def update(
        self,
        account_id: UUID,
        endpoint_id: UUID,
        url: str | None,
        event_types: Sequence[str] | None,
        description: str | None,
        enabled: bool | None,
    ) -> WebhookEndpoint | None: ...
    async def delete(self, account_id: UUID, endpoint_id: UUID) -> bool: ...
    async def rotate_secret(
        self, account_id: UUID, endpoint_id: UUID, secret: str, grace_seconds: float
    ) -> WebhookEndpoint | None: ...
    async def replay(
        self, account_id: UUID, endpoint_id: UUID, since_event_id: int
    ) -> WebhookEndpoint | None: ...
    async def signing_secrets(
        self, account_id: UUID, endpoint_id: UUID
    ) -> tuple[str, tuple[str, ...]] | None: ...
    async def attempts(
        self, account_id: UUID, endpoint_id: UUID, succeeded: bool | None, before_id: int, limit: int
    ) -> list[Attempt]: ...
    async def log_attempts(self, endpoint_id: UUID, attempts: Sequence[Attempt]) -> None: ...


class WebhookDeliveryQueuePort(Protocol):
    """The endpoints as a delivery queue (the worker's side)."""

    async def claim(self, owner: UUID, limit: int, lease_seconds: float) -> list[ClaimedEndpoint]: ...
    async def events_after(self, account_id: UUID, after_id: int, limit: int) -> list[PendingEvent]: ...
    async def record_progress(
        self,
        claim: ClaimedEndpoint,
        owner: UUID,
        last_event_id: int,
        done_ids: Sequence[int],
        failures: int,
        delay_seconds: float,
        lease_seconds: float,
        release: bool,
        attempts: Sequence[Attempt] = (),
    ) -> bool:
        """The run's progress and its round's attempts; False when the claim no longer holds."""
        ...

    async def disable(self, claim: ClaimedEndpoint, reason: str) -> bool: ...
    async def delete_old_attempts(self, retention_seconds: float, limit: int) -> int: ...


class WebhookHttpPort(Protocol):
    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> AttemptResult:
        """One attempt; never raises for what the endpoint or the network did."""
        ...
