"""GET /ws: an account's events, live, as JSON frames.

An API key may have WS_MAX_SOCKETS_PER_KEY sockets open on this gateway, and an account
WS_MAX_SOCKETS_PER_ACCOUNT: one more is refused before the upgrade, 429 `too_many_sockets`.
Each client gets its own WatchEvents stream from conversations (backlog after `since`, then
live). Frames wait in a queue bounded in bytes (WS_MAX_QUEUED_BYTES) between the stream and
the socket: a client that stops reading fills it, and once it has stayed full (or a send has
not gone out) for WS_SEND_TIMEOUT_SECONDS the client is closed with 4008, or its connection
dropped when not even the close frame goes out within as long. A slow client costs only its
own queue and stream, never the others' latency. The API key is checked again every
AUTH_CACHE_TTL_SECONDS: a revoked key is closed with 4401.
"""

import asyncio
import contextlib
import logging
import math

import grpc
import orjson
from aiohttp import WSCloseCode, WSMsgType, web
from pigeon.conversations.v1 import conversations_pb2 as conversations_pb
from prometheus_client import Gauge

from services.gateway.context import ACCOUNT_ID, API_KEY_HASH, CLIENTS, SETTINGS, grpc_metadata
from services.gateway.errors import ApiError
from services.gateway.validation import parse_event_id
from services.gateway.websocket_limits import FrameQueue, SocketCounts

log = logging.getLogger(__name__)

CONNECTIONS = Gauge("pigeon_websocket_connections", "Open WebSocket connections")
# The open sockets, so that shutdown can close them as going away (1001).
OPEN_SOCKETS = web.AppKey("open_sockets", set[web.WebSocketResponse])
SOCKET_COUNTS = web.AppKey("socket_counts", SocketCounts)

# Application close codes (4000-4999).
CLOSE_SLOW_CONSUMER = 4008
# `since` is older than the oldest event kept (retention deleted the rest): reload, resume later.
CLOSE_EVENTS_GONE = 4410
CLOSE_UNAUTHENTICATED = 4401
CLOSE_UPSTREAM_UNAVAILABLE = 4503


def parse_since(request: web.Request) -> int:
    return parse_event_id(request.query.get("since"))  # -1 when absent: from now on


def frame(event: conversations_pb.Event) -> bytes:
    """The event as a text frame's UTF-8 bytes, as they go out (and are counted in the queue)."""
    return orjson.dumps({"id": event.id, "type": event.type, "data": orjson.Fragment(event.data_json)})


async def events_socket(request: web.Request) -> web.StreamResponse:
    since = parse_since(request)
    settings = request.app[SETTINGS]
    counts = request.app[SOCKET_COUNTS]
    key_hash, account_id = request[API_KEY_HASH], request[ACCOUNT_ID]
    full = counts.open(key_hash, account_id)
    if full is not None:
        # A socket frees when its client leaves; one that vanished without a word is found
        # by the heartbeat within a ping and half another (aiohttp waits that long for a pong).
        retry_after = math.ceil(1.5 * settings.ws_heartbeat_seconds)
        holder, limit = ("API key", counts.per_key) if full == "api_key" else ("account", counts.per_account)
        raise ApiError(
            429,
            "too_many_sockets",
            f"this {holder} has {limit} WebSockets open on this gateway, as many as it may; "
            "close one, or retry after the Retry-After seconds",
            {"limit": full, "max_sockets": limit, "retry_after_seconds": retry_after},
            {"Retry-After": str(retry_after)},
        )
    try:
        return await serve_events(request, since)
    finally:
        counts.close(key_hash, account_id)


async def serve_events(request: web.Request, since: int) -> web.WebSocketResponse:
    settings = request.app[SETTINGS]
    socket = web.WebSocketResponse(
        heartbeat=settings.ws_heartbeat_seconds,
        max_msg_size=4096,
        # How long a close waits for the client's answer: a stalled client gets no longer.
        timeout=settings.ws_send_timeout_seconds,
    )
    await socket.prepare(request)
    CONNECTIONS.inc()
    request.app[OPEN_SOCKETS].add(socket)
    stream = request.app[CLIENTS].events.WatchEvents(
        conversations_pb.WatchEventsRequest(account_id=request[ACCOUNT_ID], after_id=since),
        metadata=grpc_metadata(request),
    )
    queue = FrameQueue(settings.ws_max_queued_bytes)
    close = asyncio.get_running_loop().create_future()

    def close_with(code: int, reason: str) -> None:
        if not close.done():
            close.set_result((code, reason))

    async def pump() -> None:
        try:
            async for event in stream:
                try:
                    # A full queue holds the stream back (gRPC flow control) for a while: a
                    # burst is fine, a client that stays behind is closed.
                    await asyncio.wait_for(queue.put(frame(event)), settings.ws_send_timeout_seconds)
                except TimeoutError:
                    close_with(CLOSE_SLOW_CONSUMER, "client too slow: events not read in time")
                    return
            close_with(CLOSE_UPSTREAM_UNAVAILABLE, "event stream ended; reconnect with since")
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.OUT_OF_RANGE:
                close_with(CLOSE_EVENTS_GONE, exc.details() or "events no longer kept")
            elif exc.code() != grpc.StatusCode.CANCELLED:
                close_with(CLOSE_UPSTREAM_UNAVAILABLE, "events unavailable; reconnect with since")

    async def write() -> None:
        while True:
            data = await queue.get()
            try:
                await asyncio.wait_for(
                    socket.send_frame(data, WSMsgType.TEXT), settings.ws_send_timeout_seconds
                )
            except (TimeoutError, ConnectionError):
                close_with(CLOSE_SLOW_CONSUMER, "client too slow: send timed out")
                return

    async def recheck_key() -> None:
        key_hash = request[API_KEY_HASH]
        while True:
            # The gateway's cache keeps a check this long: the next one asks conversations.
            await asyncio.sleep(settings.auth_cache_ttl_seconds)
            try:
                await request.app[CLIENTS].authenticate(key_hash, grpc_metadata(request))
            except ApiError as exc:
                if exc.status == 401:
                    close_with(CLOSE_UNAUTHENTICATED, "the API key is no longer valid")
                    return
                # Conversations unreachable: the event stream says so if it matters.

    async def read() -> None:
        # Clients only listen; reading keeps control frames (ping, close) flowing.
        async for message in socket:
            if message.type == WSMsgType.ERROR:
                break
        close_with(WSCloseCode.OK, "")

    tasks = [asyncio.create_task(job()) for job in (pump, write, read, recheck_key)]
    try:
        code, reason = await close
    finally:
        stream.cancel()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        CONNECTIONS.dec()
        request.app[OPEN_SOCKETS].discard(socket)
    # Frames the client will never get: not held while the close waits.
    queue.clear()
    await close_or_drop(request, socket, code, reason, settings.ws_send_timeout_seconds)
    return socket


async def close_or_drop(
    request: web.Request, socket: web.WebSocketResponse, code: int, reason: str, timeout_seconds: float
) -> None:
    """Closes with `code`, or drops the connection when the close frame cannot go out in time
    (a client that reads nothing): it holds no handler, connection or buffer after that."""
    try:
        if not socket.closed:
            async with asyncio.timeout(timeout_seconds):
                await socket.close(code=code, message=reason.encode())
    except (TimeoutError, asyncio.CancelledError):
        # A send cut short (a slow client) leaves aiohttp's drain waiter cancelled: a close that
        # must wait for the client then raises CancelledError at once. Only our own goes on.
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise
    finally:
        transport = request.transport
        if transport is not None and transport.get_write_buffer_size():
            # Bytes unsent, the close frame among them: transport.close(), where aiohttp
            # leaves it, would wait for them.
            transport.abort()


async def close_open_sockets(app: web.Application) -> None:
    """On shutdown: close every socket as going away (1001), so that clients reconnect (with
    `since`) at once instead of seeing 1006, and shutdown does not wait for them. A client that
    does not read gets as long as a slow one."""

    async def going_away(socket: web.WebSocketResponse) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(app[SETTINGS].ws_send_timeout_seconds):
                await socket.close(code=WSCloseCode.GOING_AWAY, message=b"server shutting down")

    open_sockets = app[OPEN_SOCKETS]
    await asyncio.gather(*(going_away(socket) for socket in list(open_sockets)))
