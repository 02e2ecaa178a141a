"""HTTP to customers' webhook endpoints: one pooled session, guarded against SSRF.

Every address a name resolves to is checked when a connection is made (the resolver below),
not only when the endpoint was registered: DNS can change. An address in the URL itself is
checked before the request, since aiohttp does not resolve it. No redirect is followed, no
proxy from the environment is used, and at most MAX_RESPONSE_BYTES of an answer are read.
This session is apart from the sender's calls to WhatsApp: a slow endpoint holds only its
own connections.
"""

import asyncio
import logging
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

from services.conversations.domain.webhook_endpoints import (
    MAX_RESPONSE_BYTES,
    AttemptResult,
    address_allowed,
    is_ip,
    parse_retry_after,
)

log = logging.getLogger(__name__)

USER_AGENT = "pigeon-webhooks/1"
ADDRESS_REFUSED = (
    "address not allowed: the URL resolves to a loopback, private, link-local or reserved address"
)


class AddressRefused(OSError):
    """Every address of the endpoint's host is one deliveries may not reach."""


class GuardedResolver(AbstractResolver):
    """Resolves as usual, then keeps only the addresses deliveries may reach."""

    def __init__(self, allow_private: bool) -> None:
        self._resolver = DefaultResolver()
        self._allow_private = allow_private

    async def resolve(self, host: str, port: int = 0, family: Any = 0) -> list[ResolveResult]:
        resolved = await self._resolver.resolve(host, port, family)
        allowed = [r for r in resolved if address_allowed(r["host"], self._allow_private)]
        if not allowed:
            raise AddressRefused(ADDRESS_REFUSED)
        return allowed

    async def close(self) -> None:
        await self._resolver.close()


class WebhookHttp:
    def __init__(self, timeout_seconds: float, allow_private: bool, connections: int) -> None:
        self.timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self.allow_private = allow_private
        self._connections = connections
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None:
            connector = aiohttp.TCPConnector(
                resolver=GuardedResolver(self.allow_private), limit=self._connections, limit_per_host=0
            )
            self._session = aiohttp.ClientSession(
                connector=connector, trust_env=False, headers={"User-Agent": USER_AGENT}
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> AttemptResult:
        """One attempt; never raises for what the endpoint or the network did."""
        started = time.perf_counter()

        def elapsed_ms() -> float:
            return (time.perf_counter() - started) * 1000

        host = urlsplit(url).hostname or ""
        if is_ip(host) and not address_allowed(host, self.allow_private):
            return AttemptResult(None, 0.0, ADDRESS_REFUSED)
        try:
            async with self._open().post(
                url,
                data=body,
                headers={"Content-Type": "application/json", **headers},
                allow_redirects=False,
                timeout=self.timeout,
            ) as response:
                # Read (no more than this) so that a small answer frees the connection for reuse.
                await response.content.read(MAX_RESPONSE_BYTES)
                status = response.status
                retry_after = parse_retry_after(response.headers.get("Retry-After"), datetime.now(UTC))
        except TimeoutError:
            return AttemptResult(None, elapsed_ms(), f"timeout after {self.timeout.total:g} s")
        except aiohttp.ClientConnectorError as exc:
            if isinstance(exc.os_error, AddressRefused):
                return AttemptResult(None, elapsed_ms(), ADDRESS_REFUSED)
            return AttemptResult(None, elapsed_ms(), f"connection failed: {exc.os_error.strerror or exc}")
        except (aiohttp.ClientError, asyncio.IncompleteReadError, OSError, ValueError) as exc:
            return AttemptResult(None, elapsed_ms(), f"request failed: {type(exc).__name__}")
        if 300 <= status < 400:
            return AttemptResult(status, elapsed_ms(), f"redirect not followed (HTTP {status})", retry_after)
        error = None if 200 <= status < 300 else f"HTTP {status}"
        return AttemptResult(status, elapsed_ms(), error, retry_after)
