"""An account's webhook endpoints: register, change, rotate the secret, replay, test, and
list the delivery attempts. Every call is scoped to the caller's account: another
account's endpoint is not found."""

import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from uuid import UUID

import orjson

from services.conversations.domain.errors import FailedPrecondition, InvalidArgument, NotFound
from services.conversations.domain.webhook_endpoints import (
    MAX_DESCRIPTION_LENGTH,
    Attempt,
    Verdict,
    WebhookEndpoint,
    delivery_body,
    new_secret,
    parse_endpoint_url,
    parse_event_patterns,
    signed_headers,
)
from services.conversations.settings import OutboundWebhookSettings
from services.conversations.use_cases.webhook_ports import WebhookEndpointsPort, WebhookHttpPort
from services.shared.vocabulary import PING_EVENT_TYPE

MAX_ATTEMPTS_PAGE = 100
DEFAULT_ATTEMPTS_PAGE = 50


class WebhookEndpoints:
    def __init__(
        self, store: WebhookEndpointsPort, http: WebhookHttpPort, settings: OutboundWebhookSettings
    ) -> None:
        self.store = store
        self.http = http
        self.settings = settings

    async def create(
        self, account_id: UUID, url: str, events: Sequence[str], description: str
    ) -> WebhookEndpoint:
        endpoint = await self.store.insert(
            account_id,
            uuid.uuid4(),
            parse_endpoint_url(url, self.settings.allow_insecure_urls),
            _description(description),
            parse_event_patterns(events),
            new_secret(),
            self.settings.max_endpoints_per_account,
        )
        if endpoint is None:
            raise FailedPrecondition(
                f"an account has at most {self.settings.max_endpoints_per_account} webhook endpoints"
            )
        return endpoint

    async def all(self, account_id: UUID) -> list[WebhookEndpoint]:
        return await self.store.all(account_id)

    async def get(self, account_id: UUID, endpoint_id: UUID) -> WebhookEndpoint:
        return _found(await self.store.get(account_id, endpoint_id))

    async def update(
        self,
        account_id: UUID,
        endpoint_id: UUID,
        url: str | None,
        events: Sequence[str] | None,
        description: str | None,
        enabled: bool | None,
    ) -> WebhookEndpoint:
        return _found(
            await self.store.update(
                account_id,
                endpoint_id,
                None if url is None else parse_endpoint_url(url, self.settings.allow_insecure_urls),
                None if events is None else parse_event_patterns(events),
                None if description is None else _description(description),
                enabled,
            )
        )

    async def delete(self, account_id: UUID, endpoint_id: UUID) -> None:
        if not await self.store.delete(account_id, endpoint_id):
            raise NotFound("webhook endpoint not found")

    async def rotate_secret(self, account_id: UUID, endpoint_id: UUID) -> WebhookEndpoint:
        return _found(
            await self.store.rotate_secret(
                account_id, endpoint_id, new_secret(), self.settings.secret_grace_seconds
            )
        )

    async def replay(self, account_id: UUID, endpoint_id: UUID, since_event_id: int) -> WebhookEndpoint:
        if since_event_id < 0:
            raise InvalidArgument("since_event_id must be 0 or more")
        return _found(await self.store.replay(account_id, endpoint_id, since_event_id))

    async def test(self, account_id: UUID, endpoint_id: UUID) -> Attempt:
        """Sends a `ping` event at once (not through the event log), logs the attempt and
        answers what came of it."""
        found = await self.store.signing_secrets(account_id, endpoint_id)
        if found is None:
            raise NotFound("webhook endpoint not found")
        url, secrets = found
        attempted_at = datetime.now(UTC)
        webhook_id = f"msg_ping_{uuid.uuid4().hex}"
        body = delivery_body(PING_EVENT_TYPE, attempted_at, orjson.dumps({"endpoint_id": str(endpoint_id)}))
        result = await self.http.post(url, body, signed_headers(secrets, webhook_id, int(time.time()), body))
        attempt = Attempt(
            None,
            PING_EVENT_TYPE,
            webhook_id,
            attempted_at,
            result.http_status,
            result.latency_ms,
            result.error,
            result.verdict == Verdict.DELIVERED,
        )
        await self.store.log_attempts(endpoint_id, [attempt])
        return attempt

    async def attempts(
        self, account_id: UUID, endpoint_id: UUID, status: str, page_size: int, page_token: str
    ) -> tuple[list[Attempt], str]:
        """Attempts newest first, `status` "succeeded" or "failed" (or "" for both), and the
        token of the next page ("" after the last)."""
        succeeded = {"": None, "succeeded": True, "failed": False}.get(status, ...)
        if succeeded is ...:
            raise InvalidArgument("status must be succeeded or failed")
        before_id = _page_token(page_token)
        limit = min(page_size or DEFAULT_ATTEMPTS_PAGE, MAX_ATTEMPTS_PAGE)
        attempts = await self.store.attempts(account_id, endpoint_id, succeeded, before_id, limit + 1)
        if not attempts:
            _found(await self.store.get(account_id, endpoint_id))
        next_token = str(attempts[limit - 1].id) if len(attempts) > limit else ""
        return attempts[:limit], next_token


def _found(endpoint: WebhookEndpoint | None) -> WebhookEndpoint:
    if endpoint is None:
        raise NotFound("webhook endpoint not found")
    return endpoint


def _description(description: str) -> str:
    if len(description) > MAX_DESCRIPTION_LENGTH:
        raise InvalidArgument(f"description is longer than {MAX_DESCRIPTION_LENGTH} characters")
    return description


def _page_token(token: str) -> int:
    if not token:
        return 2**63 - 1
    if not token.isdigit() or len(token) > 19:
        raise InvalidArgument("page_token is not one this API gave")
    return int(token)
