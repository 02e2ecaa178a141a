"""Outbound webhooks' endpoints and attempts (`webhook_endpoints.sql`).

An endpoint row is its own delivery queue, claimed the way the outbox claims messages: a
claim takes a lease and names its owner, and every write of the run after it names the
claim (owner and generation), so that a run overtaken by a change through the API (or by a
worker that took over an expired lease) writes nothing more.
"""

from collections.abc import Sequence
from typing import Any
from uuid import UUID

import asyncpg

from services.conversations.adapters.database.pool import StatementPool
from services.conversations.adapters.database.queries import Queries
from services.conversations.domain.webhook_endpoints import (
    Attempt,
    ClaimedEndpoint,
    PendingEvent,
    WebhookEndpoint,
)
from services.shared.secrets_at_rest import ENDPOINT_SECRET, SecretBox

SQL = Queries("webhook_endpoints.sql")


def endpoint(row: asyncpg.Record, secret: str | None = None) -> WebhookEndpoint:
    return WebhookEndpoint(
        id=row["id"],
        url=row["url"],
        events=tuple(row["event_types"]),
        description=row["description"],
        enabled=row["enabled"],
        disabled_reason=row["disabled_reason"],
        last_event_id=row["last_event_id"],
        failures=row["failures"],
        failing_since=row["failing_since"],
        next_attempt_at=row["next_attempt_at"] if row["enabled"] and row["failures"] else None,
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        secret=secret,
    )


class WebhookEndpointStore:
    def __init__(self, pool: StatementPool, secrets: SecretBox) -> None:
        self.pool = pool
        self.secrets = secrets

    def _signing_secrets(self, row: asyncpg.Record) -> tuple[str, ...]:
        """The secret, and the one it replaced while its grace lasts (encrypted at rest)."""
        stored = (row["secret"], row["previous_secret"])
        return tuple(self.secrets.decrypt(ENDPOINT_SECRET, s) for s in stored if s)

    # --- the API's side ---

    async def insert(
        self,
        account_id: UUID,
        endpoint_id: UUID,
        url: str,
        description: str,
        event_types: Sequence[str],
        secret: str,
        max_endpoints: int,
    ) -> WebhookEndpoint | None:
        """The new endpoint; None when the account has `max_endpoints` already."""
        found = await self.pool.run(
            SQL.insert_endpoint,
            id=endpoint_id,
            account_id=account_id,
            url=url,
            description=description,
            event_types=list(event_types),
            secret=self.secrets.encrypt(ENDPOINT_SECRET, secret),
            max_endpoints=max_endpoints,
        )
        return endpoint(found[0], secret) if found else None

    async def all(self, account_id: UUID) -> list[WebhookEndpoint]:
        return [endpoint(row) for row in await self.pool.run(SQL.list_endpoints, account_id=account_id)]

    async def get(self, account_id: UUID, endpoint_id: UUID) -> WebhookEndpoint | None:
        found = await self.pool.run(SQL.get_endpoint, id=endpoint_id, account_id=account_id)
        return endpoint(found[0]) if found else None

    async def update(
        self,
        account_id: UUID,
        endpoint_id: UUID,
        url: str | None,
        event_types: Sequence[str] | None,
        description: str | None,
        enabled: bool | None,
    ) -> WebhookEndpoint | None:
        found = await self.pool.run(
            SQL.update_endpoint,
            id=endpoint_id,
            account_id=account_id,
            url=url,
            event_types=None if event_types is None else list(event_types),
            description=description,
            enabled=enabled,
        )
        return endpoint(found[0]) if found else None

    async def delete(self, account_id: UUID, endpoint_id: UUID) -> bool:
        return bool(await self.pool.run(SQL.delete_endpoint, id=endpoint_id, account_id=account_id))

    async def rotate_secret(
        self, account_id: UUID, endpoint_id: UUID, secret: str, grace_seconds: float
    ) -> WebhookEndpoint | None:
        found = await self.pool.run(
            SQL.rotate_secret,
            id=endpoint_id,
            account_id=account_id,
            secret=self.secrets.encrypt(ENDPOINT_SECRET, secret),
            grace_seconds=grace_seconds,
        )
        return endpoint(found[0], secret) if found else None

    async def replay(
        self, account_id: UUID, endpoint_id: UUID, since_event_id: int
    ) -> WebhookEndpoint | None:
        found = await self.pool.run(
            SQL.replay, id=endpoint_id, account_id=account_id, since_event_id=since_event_id
        )
        return endpoint(found[0]) if found else None

    async def signing_secrets(
        self, account_id: UUID, endpoint_id: UUID
    ) -> tuple[str, tuple[str, ...]] | None:
        """The endpoint's URL and the secrets its deliveries are signed with."""
        found = await self.pool.run(SQL.signing_secrets, id=endpoint_id, account_id=account_id)
        if not found:
            return None
        return found[0]["url"], self._signing_secrets(found[0])

    async def attempts(
        self, account_id: UUID, endpoint_id: UUID, succeeded: bool | None, before_id: int, limit: int
    ) -> list[Attempt]:
        found = await self.pool.run(
            SQL.list_attempts,
            endpoint_id=endpoint_id,
            account_id=account_id,
            succeeded=succeeded,
            before_id=before_id,
            limit=limit,
        )
        return [
            Attempt(
                id=row["id"],
                event_id=row["event_id"],
                event_type=row["event_type"],
                webhook_id=row["webhook_id"],
                attempted_at=row["attempted_at"],
                http_status=row["http_status"],
                latency_ms=row["latency_ms"],
                error=row["error"],
                succeeded=row["succeeded"],
            )
            for row in found
        ]

    # --- the delivery worker's side ---

    async def claim(self, owner: UUID, limit: int, lease_seconds: float) -> list[ClaimedEndpoint]:
        found = await self.pool.run(
            SQL.claim_endpoints, owner=owner, limit=limit, lease_seconds=lease_seconds
        )
        return [
            ClaimedEndpoint(
                id=row["id"],
                account_id=row["account_id"],
                url=row["url"],
                event_types=tuple(row["event_types"]),
                secrets=self._signing_secrets(row),
                last_event_id=row["last_event_id"],
                done_ids=tuple(row["done_ids"]),
                failures=row["failures"],
                failing_for_seconds=row["failing_for_seconds"] or 0.0,
                generation=row["generation"],
            )
            for row in found
        ]

    async def events_after(self, account_id: UUID, after_id: int, limit: int) -> list[PendingEvent]:
        found = await self.pool.run(
            SQL.events_to_deliver, account_id=account_id, after_id=after_id, limit=limit
        )
        return [
            PendingEvent(
                row["id"], row["type"], row["conversation_id"], row["data"].encode(), row["created_at"]
            )
            for row in found
        ]

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
        """False when the claim no longer holds: the run must stop."""
        found = await self.pool.run(
            SQL.record_progress,
            id=claim.id,
            generation=claim.generation,
            owner=owner,
            last_event_id=last_event_id,
            done_ids=list(done_ids),
            failures=failures,
            delay_seconds=delay_seconds,
            lease_seconds=lease_seconds,
            release=release,
            **_attempt_arrays(attempts),
        )
        return bool(found)

    async def disable(self, claim: ClaimedEndpoint, reason: str) -> bool:
        found = await self.pool.run(
            SQL.disable_endpoint, id=claim.id, generation=claim.generation, reason=reason
        )
        return bool(found)

    async def log_attempts(self, endpoint_id: UUID, attempts: Sequence[Attempt]) -> None:
        if attempts:
            await self.pool.run(SQL.log_attempts, id=endpoint_id, **_attempt_arrays(attempts))

    async def delete_old_attempts(self, retention_seconds: float, limit: int) -> int:
        found = await self.pool.run(SQL.delete_old_attempts, retention_seconds=retention_seconds, limit=limit)
        return int(found[0]["deleted"])


def _attempt_arrays(attempts: Sequence[Attempt]) -> dict[str, list[Any]]:
    """Attempts as the arrays the statements unnest, one element each."""
    return {
        "event_ids": [a.event_id for a in attempts],
        "event_types": [a.event_type for a in attempts],
        "webhook_ids": [a.webhook_id for a in attempts],
        "attempted_at": [a.attempted_at for a in attempts],
        "http_statuses": [a.http_status for a in attempts],
        "latencies_ms": [a.latency_ms for a in attempts],
        "errors": [a.error for a in attempts],
        "succeeded": [a.succeeded for a in attempts],
    }
