"""Meta's webhooks as the simulator sends them: built, signed with the app secret, POSTed, recorded.

Status webhooks follow a successful send from a background task; inbound and raw ones are
POSTed while the `/_sim/` request that asked for them waits, so a test knows what pigeon
answered. Failed deliveries are retried with a short doubling backoff, standing in for Meta's
at-least-once delivery (Meta retries for days; tests cannot wait that long).
"""

import asyncio
import functools
import hashlib
import hmac
import logging
import time
from collections import deque
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, Literal

import aiohttp
import orjson
import yarl

from tools.whatsapp_sim.config import PhoneNumber, SimConfig

log = logging.getLogger("tools.whatsapp_sim.webhooks")

SIGNATURE_HEADER = "X-Hub-Signature-256"
# Retries after the first attempt (SIM_WEBHOOK_RETRIES; Meta goes on for days), and the first
# wait; the wait doubles after each retry.
RETRIES = 3
RETRY_BASE_SECONDS = 0.2
# Generous for a local receiver, short enough that a hung one cannot pile up tasks for long.
POST_TIMEOUT_SECONDS = 5.0
# Webhooks are far fewer than sends; bounded all the same for long runs with webhooks on.
MAX_WEBHOOK_RECORDS = 50_000
# A conversation (Meta's 24-hour billing window) expires this long after it opens.
_CONVERSATION_SECONDS = 24 * 3600

Kind = Literal["status", "inbound", "raw", "template"]


def sign(body: bytes, app_secret: str) -> str:
    """The X-Hub-Signature-256 value: HMAC-SHA256 of the exact body bytes, hex, prefixed."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


@functools.lru_cache(maxsize=64)
def _url(raw: str) -> yarl.URL:
    """A webhook URL parsed once, not at every POST."""
    return yarl.URL(raw)


def _ok(status: int | None) -> bool:
    return status is not None and 200 <= status < 300


@dataclass(frozen=True, slots=True)
class Business:
    """The parts of a phone number a notification names, copied when the event happens so a later
    PUT of the number does not change a notification already on its way."""

    phone_number_id: str
    display_phone_number: str
    waba_id: str
    app_secret: str

    @classmethod
    def of(cls, phone_number_id: str, number: PhoneNumber) -> "Business":
        waba_id = number.waba_id or f"waba-{phone_number_id}"
        return cls(phone_number_id, number.display_phone_number, waba_id, number.app_secret)


def notification(business: Business, value: dict[str, Any]) -> dict[str, Any]:
    """Meta's envelope around one change of the `messages` field."""
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": business.waba_id,
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": business.display_phone_number,
                                "phone_number_id": business.phone_number_id,
                            },
                            **value,
                        },
                    }
                ],
            }
        ],
    }


@dataclass(frozen=True, slots=True)
class StatusPlan:
    """The statuses one accepted send will produce, decided when it is answered."""

    business: Business
    url: str
    wamid: str
    # The phone number sent to, "" for a send to a BSUID (`recipient_user_id`).
    recipient_id: str
    biz_opaque_callback_data: str | None
    # (seconds after the answer, status), in the order they go out.
    sequence: tuple[tuple[float, str], ...]
    copies: int
    # The error a "failed" status carries: (code, title, details).
    failure: tuple[int, str, str] | None = None
    recipient_user_id: str = ""


def status_sequence(config: SimConfig, failing: bool) -> tuple[tuple[float, str], ...]:
    """sent, delivered, read (read only if `send_read`), or sent, failed; reversed when out of order."""
    names = ["sent", "failed"] if failing else ["sent", "delivered"] + (["read"] if config.send_read else [])
    if config.webhook_out_of_order:
        names.reverse()
    return tuple((delay / 1000.0, name) for delay, name in zip(config.status_delays_ms, names, strict=False))


def status_object(plan: StatusPlan, status: str, now: int) -> dict[str, Any]:
    """One entry of `value.statuses`, shaped like Meta's."""
    item: dict[str, Any] = {"id": plan.wamid, "status": status, "timestamp": str(now)}
    # Meta: `recipient_id` only when sent to a phone number; `recipient_user_id` for a BSUID.
    if plan.recipient_id:
        item["recipient_id"] = plan.recipient_id
    if plan.recipient_user_id:
        item["recipient_user_id"] = plan.recipient_user_id
    if plan.biz_opaque_callback_data is not None:
        item["biz_opaque_callback_data"] = plan.biz_opaque_callback_data
    if status == "failed" and plan.failure is not None:
        code, title, details = plan.failure
        item["errors"] = [
            {"code": code, "title": title, "message": title, "error_data": {"details": details}}
        ]
        return item
    if status == "sent":
        item["conversation"] = {
            "id": _conversation_id(plan),
            "expiration_timestamp": str(now + _CONVERSATION_SECONDS),
            "origin": {"type": "service"},
        }
    item["pricing"] = {"billable": True, "pricing_model": "CBP", "category": "service"}
    return item


def _conversation_id(plan: StatusPlan) -> str:
    # Stable per business number and recipient, like one open conversation, without keeping state.
    key = f"{plan.business.phone_number_id}:{plan.recipient_id or plan.recipient_user_id}".encode()
    return hashlib.md5(key, usedforsecurity=False).hexdigest()


def inbound_value(
    sender: str, profile_name: str, messages: list[dict[str, Any]], user_id: str = "", username: str = ""
) -> dict[str, Any]:
    """A `messages` change's value from a customer: `sender` their phone number, "" when
    withheld (a user with a username: then only the BSUID, Meta's "Business-scoped user IDs")."""
    profile = {"name": profile_name} | ({"username": username} if username else {})
    contact: dict[str, Any] = {"profile": profile}
    if sender:
        contact["wa_id"] = sender
    if user_id:
        contact["user_id"] = user_id
    return {"contacts": [contact], "messages": messages}


@dataclass(frozen=True, slots=True)
class Delivery:
    """One webhook POST, retried as a whole: the same bytes and signature every time."""

    kind: Kind
    url: str
    phone_number_id: str
    body: bytes
    # The X-Hub-Signature-256 header value; None sends no header.
    signature: str | None


@dataclass(slots=True)
class WebhookRecord:
    """One POST attempt. Appended when sent, so records stay in sending order, and completed with
    pigeon's answer (`status` stays None after a connection error or timeout)."""

    sent_at: float
    delivery: Delivery
    attempt: int
    status: int | None = None
    answered_at: float | None = None
    error: str | None = None

    def as_json(self) -> dict[str, Any]:
        raw = self.delivery.body
        try:
            body: Any = orjson.loads(raw)
        except orjson.JSONDecodeError:
            # Raw passthrough of a body that is not JSON: show it as sent.
            body = raw.decode(errors="replace")
        return {
            "sent_at": self.sent_at,
            "answered_at": self.answered_at,
            "url": self.delivery.url,
            "kind": self.delivery.kind,
            "phone_number_id": self.delivery.phone_number_id,
            "attempt": self.attempt,
            "signed": self.delivery.signature is not None,
            "status": self.status,
            "error": self.error,
            "body": body,
        }


class WebhookSender:
    """POSTs webhooks over one shared client session and keeps a record of every attempt.

    `start` and `close` run in the app's cleanup context. Background work (status sequences,
    retries) is tracked so that `cancel_pending` can stop it, e.g. between tests.
    """

    def __init__(self, retries: int = RETRIES) -> None:
        self.retries = retries
        self.records: deque[WebhookRecord] = deque(maxlen=MAX_WEBHOOK_RECORDS)
        self._session: aiohttp.ClientSession | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=POST_TIMEOUT_SECONDS),
            # Meta's crawler identifies itself so; receivers sometimes log or filter on it.
            headers={"User-Agent": "facebookexternalua"},
            # No cookies to keep, nothing compressed to expect: less work per POST, which
            # shares the machine with pigeon in the benchmarks (Meta's servers would not).
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=False,
        )

    async def close(self) -> None:
        await self.cancel_pending()
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def cancel_pending(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.error("webhook task failed", exc_info=exc)

    async def post(self, delivery: Delivery, attempt: int = 1) -> int | None:
        """One POST; returns pigeon's HTTP status, or None if it could not be reached in time."""
        if self._session is None:
            raise RuntimeError("the webhook sender is not started (the app's cleanup context starts it)")
        record = WebhookRecord(time.time(), delivery, attempt)
        self.records.append(record)
        headers = {"Content-Type": "application/json"}
        if delivery.signature is not None:
            headers[SIGNATURE_HEADER] = delivery.signature
        try:
            async with self._session.post(_url(delivery.url), data=delivery.body, headers=headers) as resp:
                await resp.read()
                record.status = resp.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            record.error = f"{type(exc).__name__}: {exc}"
        record.answered_at = time.time()
        return record.status

    async def retry(self, delivery: Delivery, status: int | None, attempt: int = 1) -> int | None:
        """Retries after a failed `attempt` until a 2xx or `retries` more; returns the last answer."""
        wait = RETRY_BASE_SECONDS * 2 ** (attempt - 1)
        while not _ok(status) and attempt <= self.retries:
            await asyncio.sleep(wait)
            wait *= 2
            attempt += 1
            status = await self.post(delivery, attempt)
        return status

    async def deliver(self, delivery: Delivery) -> int | None:
        """POSTs with retries; returns the last answer."""
        return await self.retry(delivery, await self.post(delivery))

    async def deliver_now(self, delivery: Delivery, copies: int, retry: bool = True) -> int | None:
        """POSTs each copy once while the caller waits and returns the first copy's answer; retries
        of failed copies go on in the background, as Meta's would."""
        first: int | None = None
        for copy in range(copies):
            status = await self.post(delivery)
            if copy == 0:
                first = status
            if retry and not _ok(status):
                self.spawn(self._retry_later(delivery, status))
        return first

    async def _retry_later(self, delivery: Delivery, status: int | None) -> None:
        await self.retry(delivery, status)

    def schedule_statuses(self, plan: StatusPlan) -> None:
        """Sends the plan's statuses from a background task; called as the send is answered."""
        self.spawn(self._send_statuses(plan, asyncio.get_running_loop().time()))

    async def _send_statuses(self, plan: StatusPlan, answered: float) -> None:
        loop = asyncio.get_running_loop()
        for offset, status in plan.sequence:
            # Offsets count from the answer, not from the previous status: only retries that
            # outlast the gap push the next status back.
            wait = answered + offset - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            value = {"statuses": [status_object(plan, status, int(time.time()))]}
            body = orjson.dumps(notification(plan.business, value))
            signature = sign(body, plan.business.app_secret)
            delivery = Delivery("status", plan.url, plan.business.phone_number_id, body, signature)
            # Sequential, so a message's statuses keep their order even when one needs retries.
            for _ in range(plan.copies):
                await self.deliver(delivery)
