"""The WhatsApp Cloud API client: one pooled HTTP session per process; what each Graph
API error means for the caller is services/shared/whatsapp_errors.py. The media calls
(download, upload) are whatsapp_media.py, on the same session and answer parsing.

No gRPC here: `send` returns domain results (`Accepted` or `Failure`) and never raises
for anything WhatsApp or the network does. Access tokens go into the Authorization
header and nowhere else: not into results, exceptions or log lines.
"""

import logging
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Any, Self

import aiohttp
import orjson
from prometheus_client import Histogram

from services.shared.metrics import LATENCY_BUCKETS, failure_code_label
from services.shared.vocabulary import FailureCode
from services.shared.whatsapp_errors import Failure, FailureClass, FailureKind, classify

log = logging.getLogger(__name__)

# The first question when sends feel slow: is it WhatsApp? This answers it.
WHATSAPP_LATENCY = Histogram(
    "pigeon_whatsapp_call_duration_seconds",
    "Time of one Cloud API call, by outcome and WhatsApp (or pigeon) error code",
    ["outcome", "code"],
    buckets=LATENCY_BUCKETS,
)


@dataclass(frozen=True, slots=True)
class Accepted:
    wa_message_id: str
    wa_id: str
    # "accepted", "held_for_quality_assessment", or "" when WhatsApp does not say.
    message_status: str


SendResult = Accepted | Failure

# Cloud API answers are a few hundred bytes.
MAX_ANSWER_BYTES = 64 * 1024
CONNECT_TIMEOUT_SECONDS = 3.0


def build_request_body(
    to: str,
    message_type: str,
    body: bytes | Mapping[str, Any],
    reply_to: str = "",
    biz_opaque_callback_data: str = "",
    recipient: str = "",
) -> bytes:
    """The JSON of a Cloud API send request.

    `body` is the object (for contacts, the array) that goes under the `message_type` key. As
    bytes it must be one valid JSON value of that shape (the servicer checks); it is then
    spliced in verbatim through orjson.Fragment, so content travels from the gateway to
    WhatsApp without being re-encoded. orjson does not validate a Fragment: unchecked bytes
    could inject keys.

    A recipient known only by business-scoped user id goes in `recipient` (`to` ""): Meta
    takes a BSUID there, not in `to` ("Business-scoped user IDs", send message request).
    """
    payload: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        **({"to": to} if to else {"recipient": recipient}),
        "type": message_type,
        message_type: orjson.Fragment(body) if isinstance(body, bytes) else body,
    }
    if reply_to:
        payload["context"] = {"message_id": reply_to}
    if biz_opaque_callback_data:
        payload["biz_opaque_callback_data"] = biz_opaque_callback_data
    return orjson.dumps(payload)


def parse_retry_after(value: str | None, now: float | None = None) -> float:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date); 0 when absent or unreadable."""
    if not value:
        return 0.0
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return 0.0
        seconds = when.timestamp() - (time.time() if now is None else now)
    return seconds if math.isfinite(seconds) and seconds > 0 else 0.0


def parse_response(http_status: int, body: bytes, retry_after: str | None = None) -> SendResult:
    """Turns the Cloud API's answer into a result. Never raises on a malformed answer."""
    if not 200 <= http_status < 300:
        return parse_error(http_status, body, retry_after)
    data = parse_json(http_status, body)
    if isinstance(data, Failure):
        return data
    return _accepted(data) or bad_response(http_status, body, "success without messages[0].id")


def parse_json(http_status: int, body: bytes, retry_after: str | None = None) -> dict[str, Any] | Failure:
    """The answer's JSON object, or the bad response it is instead."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return bad_response(http_status, body, "answer is not JSON", retry_after)
    if not isinstance(data, dict):
        return bad_response(http_status, body, "answer is not a JSON object", retry_after)
    return data


def parse_error(http_status: int, body: bytes, retry_after: str | None = None) -> Failure:
    """A failed call's answer (not 2xx): the Graph error it carries, or the bad response it is."""
    data = parse_json(http_status, body, retry_after)
    if isinstance(data, Failure):
        return data
    error = data.get("error")
    code = as_int(error.get("code")) if isinstance(error, dict) else None
    if not isinstance(error, dict) or code is None:
        return bad_response(http_status, body, "error answer without error.code", retry_after)
    error_data = error.get("error_data")
    return Failure(
        failure_class=classify(code, http_status),
        kind=FailureKind.WHATSAPP_ERROR,
        code=str(code),
        message=as_str(error.get("message")),
        http_status=http_status,
        subcode=as_int(error.get("error_subcode")) or 0,
        details=as_str(error_data.get("details")) if isinstance(error_data, dict) else "",
        fbtrace_id=as_str(error.get("fbtrace_id")),
        retry_after_seconds=parse_retry_after(retry_after),
    )


def _accepted(data: dict[str, Any]) -> Accepted | None:
    messages = data.get("messages")
    message = messages[0] if isinstance(messages, list) and messages else None
    if not isinstance(message, dict) or not isinstance(message.get("id"), str) or not message["id"]:
        return None
    contacts = data.get("contacts")
    contact = contacts[0] if isinstance(contacts, list) and contacts else None
    return Accepted(
        wa_message_id=message["id"],
        wa_id=as_str(contact.get("wa_id")) if isinstance(contact, dict) else "",
        message_status=as_str(message.get("message_status")),
    )


def bad_response(http_status: int, body: bytes, reason: str, retry_after: str | None = None) -> Failure:
    # A proxy's HTML 502 or 429 is worth retrying (when its Retry-After says); a garbled
    # 2xx may mean the message went out, and another 4xx will not get better.
    snippet = body[:200].decode("utf-8", errors="replace")
    retryable = http_status >= 500 or http_status == 429
    return Failure(
        failure_class=FailureClass.RETRYABLE if retryable else FailureClass.PERMANENT,
        kind=FailureKind.BAD_RESPONSE,
        code=FailureCode.BAD_RESPONSE,
        message=f"{reason} (HTTP {http_status}): {snippet!r}",
        http_status=http_status,
        retry_after_seconds=parse_retry_after(retry_after) if retryable else 0.0,
    )


def as_int(value: object) -> int | None:
    # Graph sends integers; tolerate digit strings rather than lose the code.
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def as_str(value: object) -> str:
    return value if isinstance(value, str) else ""


class CloudApiClient:
    """Sends messages through one long-lived, pooled aiohttp session.

    Use as `async with CloudApiClient(...) as client:` or call `start()` / `close()`;
    both must run on the event loop that will send.
    """

    def __init__(
        self,
        base_url: str = "https://graph.facebook.com",
        api_version: str = "v21.0",
        timeout_seconds: float = 10.0,
        max_connections: int = 1024,
        connect_timeout_seconds: float = CONNECT_TIMEOUT_SECONDS,
    ) -> None:
        self._api_root = f"{base_url.rstrip('/')}/{api_version}"
        self._timeout_seconds = timeout_seconds
        self._connect_timeout_seconds = min(connect_timeout_seconds, timeout_seconds)
        self._max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        if self._session is not None:
            return
        connector = aiohttp.TCPConnector(
            limit=self._max_connections,
            # Every account shares Meta's one host, so the per-host limit is the global one.
            limit_per_host=0,
            ttl_dns_cache=300,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            # A connection not made (pool slot, DNS, TCP, TLS) within the connect timeout is
            # a connection error: nothing was sent, unlike a timeout waiting for the answer.
            timeout=aiohttp.ClientTimeout(total=self._timeout_seconds, connect=self._connect_timeout_seconds),
            headers={"Content-Type": "application/json"},
            # Responses are a few hundred bytes; skip cookie bookkeeping, Graph sets none we need.
            cookie_jar=aiohttp.DummyCookieJar(),
            raise_for_status=False,
        )

    @property
    def session(self) -> aiohttp.ClientSession:
        """The pooled session, which the media calls (whatsapp_media.py) share."""
        if self._session is None:
            raise RuntimeError("CloudApiClient.start() was not called")
        return self._session

    @property
    def api_root(self) -> str:
        """The base URL and version every Graph call starts with, e.g. https://graph.facebook.com/v21.0."""
        return self._api_root

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def send(
        self,
        phone_number_id: str,
        access_token: str,
        to: str,
        message_type: str,
        body: bytes | Mapping[str, Any],
        reply_to: str = "",
        biz_opaque_callback_data: str = "",
        recipient: str = "",
    ) -> SendResult:
        """Sends one message; WhatsApp's answer, or the reason there was none, is the result.

        Callers validate first: `phone_number_id` URL-path-safe, `message_type` one of
        MESSAGE_TYPES, `body` bytes holding one JSON object (see build_request_body).
        """
        if self._session is None:
            raise RuntimeError("CloudApiClient.start() was not called")
        url = f"{self._api_root}/{phone_number_id}/messages"
        data = build_request_body(to, message_type, body, reply_to, biz_opaque_callback_data, recipient)
        headers = {"Authorization": f"Bearer {access_token}"}
        started = time.perf_counter()
        result: SendResult
        try:
            async with self._session.post(url, data=data, headers=headers) as response:
                answer = await read_at_most(response, MAX_ANSWER_BYTES)
                if answer is None:
                    result = bad_response(response.status, b"", f"answer over {MAX_ANSWER_BYTES} bytes")
                else:
                    result = parse_response(response.status, answer, response.headers.get("Retry-After"))
        except aiohttp.ConnectionTimeoutError as exc:
            # Checked before TimeoutError (its base): no connection, so nothing was sent.
            result = connection_failure(exc)
        except TimeoutError:
            result = Failure(
                failure_class=FailureClass.RETRYABLE,
                kind=FailureKind.TIMEOUT,
                code=FailureCode.TIMEOUT,
                message=f"no answer from WhatsApp within {self._timeout_seconds:g} s; it may still deliver",
            )
        except aiohttp.ClientConnectorError as exc:
            # Refused, DNS, TLS: no connection, nothing sent. (Checked before ClientOSError,
            # its base.)
            result = connection_failure(exc)
        except (aiohttp.ClientError, OSError) as exc:
            # The connection broke once the request could be on its way (a reset, the server
            # gone while pigeon waited for the answer, the answer cut off half way): WhatsApp
            # may have the message, so this is not "nothing sent".
            result = unknown_outcome(exc)

        elapsed = time.perf_counter() - started
        if isinstance(result, Failure):
            WHATSAPP_LATENCY.labels("failure", failure_code_label(result.code)).observe(elapsed)
            log_failure(phone_number_id, result)
        else:
            WHATSAPP_LATENCY.labels("accepted", "").observe(elapsed)
        if isinstance(result, Accepted) and log.isEnabledFor(logging.DEBUG):
            log.debug(
                "whatsapp accepted",
                extra={"phone_number_id": phone_number_id, "wa_message_id": result.wa_message_id},
            )
        return result


async def read_at_most(response: aiohttp.ClientResponse, limit: int) -> bytes | None:
    """The body, or None when it is longer than `limit` (a misdirected URL, a proxy's page)."""
    if response.content_length is not None:
        return await response.read() if response.content_length <= limit else None
    chunks: list[bytes] = []  # chunked: counted as it comes
    size = 0
    async for chunk in response.content.iter_any():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def connection_failure(exc: BaseException) -> Failure:
    # aiohttp's messages name the host and the OS error, never the request headers.
    return Failure(
        failure_class=FailureClass.RETRYABLE,
        kind=FailureKind.CONNECTION,
        code=FailureCode.CONNECTION_ERROR,
        message=f"{type(exc).__name__}: {exc}",
    )


def unknown_outcome(exc: BaseException) -> Failure:
    # aiohttp's messages name the host and the OS error, never the request headers.
    return Failure(
        failure_class=FailureClass.RETRYABLE,
        kind=FailureKind.UNKNOWN_OUTCOME,
        code=FailureCode.UNKNOWN_OUTCOME,
        message=(
            f"connection lost after the request was sent, WhatsApp may have it: {type(exc).__name__}: {exc}"
        ),
    )


def log_failure(phone_number_id: str, failure: Failure, event: str = "whatsapp send failed") -> None:
    # A WhatsApp error is an ordinary outcome (bad number, closed window); no answer at
    # all points at the network or Meta, which an operator should notice. The recipient
    # is personal data and stays out of the line.
    level = logging.INFO if failure.kind is FailureKind.WHATSAPP_ERROR else logging.WARNING
    log.log(
        level,
        event,
        extra={
            "phone_number_id": phone_number_id,
            "kind": failure.kind.value if failure.kind else "",
            "failure_class": failure.failure_class.value,
            "code": failure.code,
            "http_status": failure.http_status,
            "fbtrace_id": failure.fbtrace_id,
            "error": failure.message,
        },
    )


def call_failure(client: CloudApiClient, exc: BaseException) -> Failure:
    """A call that got no answer: a timeout waiting for one, or no connection."""
    # A connection never made is a connection error (ConnectionTimeoutError is a TimeoutError).
    if isinstance(exc, TimeoutError) and not isinstance(exc, aiohttp.ConnectionTimeoutError):
        return Failure(
            failure_class=FailureClass.RETRYABLE,
            kind=FailureKind.TIMEOUT,
            code=FailureCode.TIMEOUT,
            message=f"nothing from WhatsApp for {client.session.timeout.total:g} s",
        )
    return connection_failure(exc)
