"""What an unsigned or wrongly signed webhook may cost: a budget per client address.

The gateway holds no app secret, so it cannot tell a forged notification from a real one
before conversations has checked it; it bounds what failing that check can cost instead.
Each client address has a budget of failed verifications (a token bucket); past it the
address's requests are refused before their body is read, and their answer is held for a
second, so that a client which waits for answers (as nearly all do) sends one request a
second, not as many as the gateway can answer. While an address has failures that have not
grown back, its bodies are limited to a small size. Meta's own deliveries never fail.
"""

import asyncio

from services.gateway.errors import ApiError
from services.gateway.ratelimit import RateLimiter

# How long a refusal is held, and how many may be held at once (each holds a connection
# and a task); past that they are answered at once.
REFUSAL_HOLD_SECONDS = 1.0
MAX_HELD_REFUSALS = 1024


class WebhookGuard:
    def __init__(
        self,
        failures_per_second: float,
        failures_burst: int,
        max_body_bytes: int,
        unverified_max_body_bytes: int,
        refusal_hold_seconds: float = REFUSAL_HOLD_SECONDS,
    ) -> None:
        self.failures = RateLimiter(failures_per_second, failures_burst)
        self.max_body_bytes = max_body_bytes
        self.unverified_max_body_bytes = min(unverified_max_body_bytes, max_body_bytes)
        self.refusal_hold_seconds = refusal_hold_seconds
        self._held = 0

    async def admit(self, address: bytes) -> None:
        """Raises 429 (after holding it) for an address past its budget of failures."""
        retry_after = self.failures.wait_for(address)
        if not retry_after:
            return
        if self._held < MAX_HELD_REFUSALS:
            self._held += 1
            try:
                await asyncio.sleep(self.refusal_hold_seconds)
            finally:
                self._held -= 1
        raise ApiError(
            429,
            "too_many_failed_signatures",
            "too many webhooks from this address failed verification; retry after the Retry-After seconds",
            headers={"Retry-After": str(retry_after)},
        )

    def body_limit(self, address: bytes) -> int:
        """The full limit, unless the address failed verification lately."""
        return self.unverified_max_body_bytes if self.failures.drawn_on(address) else self.max_body_bytes

    def failed(self, address: bytes) -> None:
        """A request from the address failed verification (or could not be verified)."""
        self.failures.acquire(address)
