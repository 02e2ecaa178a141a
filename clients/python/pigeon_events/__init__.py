"""The account's live events (GET /ws) for pigeon_client, by hand: OpenAPI cannot describe a
WebSocket, so `make client` leaves it out, and this module (outside the generated package, which
regeneration replaces) opens it with the client's own base URL, API key and TLS settings.

    from pigeon_client import AuthenticatedClient
    from pigeon_events import stream_events

    async with AuthenticatedClient(base_url="https://pigeon.example", token=api_key) as client:
        async with stream_events(client, since=last_seen_id) as events:
            async for event in events:
                print(event.id, event.type_, event.data)

Each frame is an `Event` of the generated models. Without `since` the stream starts from now;
with it, after that event id (0: the oldest kept), losing nothing. When the server closes the
stream, iteration ends with `EventStreamClosed`: if `resumable`, open it again with
`since=closed.last_event_id` (or the id you last stored).
"""

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx_ws
from pigeon_client import AuthenticatedClient
from pigeon_client.models.event import Event

# The gateway's close codes after which the same stream resumes with `since` (the others: 4401
# the API key was revoked, 4410 `since` is older than what the server keeps).
GOING_AWAY, TOO_SLOW, STREAM_ENDED = 1001, 4008, 4503
RESUMABLE_CLOSE_CODES = frozenset({GOING_AWAY, TOO_SLOW, STREAM_ENDED})
# A frame is one event; the gateway holds at most WS_MAX_QUEUED_BYTES (1 MiB) for a socket.
MAX_EVENT_BYTES = 1024 * 1024


class EventStreamRefused(Exception):
    """The server answered the upgrade with an HTTP error: 401 (API key), 403 (scope), 429
    (too many sockets open for the key or account, or too many requests), 400 (`since`)."""

    def __init__(self, status_code: int) -> None:
        super().__init__(f"GET /ws was refused with HTTP {status_code}")
        self.status_code = status_code


class EventStreamClosed(Exception):
    """The server closed the stream, with a WebSocket close code and reason."""

    def __init__(self, code: int, reason: str | None, last_event_id: int | None) -> None:
        super().__init__(f"the event stream was closed: {code} {reason or ''}".rstrip())
        self.code = code
        self.reason = reason
        self.last_event_id = last_event_id

    @property
    def resumable(self) -> bool:
        return self.code in RESUMABLE_CLOSE_CODES


class EventStream:
    """The events of one open stream, in order; `last_event_id` is the last one received."""

    def __init__(self, session: httpx_ws.AsyncWebSocketSession) -> None:
        self._session = session
        self.last_event_id: int | None = None

    async def receive(self) -> Event:
        """The next event (bound the wait with `asyncio.timeout`)."""
        try:
            frame = await self._session.receive_text()
        except httpx_ws.WebSocketDisconnect as closed:
            raise EventStreamClosed(closed.code, closed.reason, self.last_event_id) from None
        event = Event.from_dict(json.loads(frame))
        self.last_event_id = event.id
        return event

    def __aiter__(self) -> AsyncIterator[Event]:
        return self._events()

    async def _events(self) -> AsyncIterator[Event]:
        while True:
            yield await self.receive()


@asynccontextmanager
async def stream_events(
    client: AuthenticatedClient, since: int | None = None, max_event_bytes: int = MAX_EVENT_BYTES
) -> AsyncIterator[EventStream]:
    """Opens GET /ws through `client`'s HTTP client (its base URL, `Authorization` header and
    TLS settings), resuming after event `since` when given."""
    params = {} if since is None else {"since": str(since)}
    try:
        session: httpx_ws.AsyncWebSocketSession
        async with httpx_ws.aconnect_ws(
            "/ws", client.get_async_httpx_client(), max_message_size_bytes=max_event_bytes, params=params
        ) as session:
            yield EventStream(session)
    except httpx_ws.WebSocketUpgradeError as refused:
        raise EventStreamRefused(refused.response.status_code) from None
    except BaseExceptionGroup as group:
        # httpx-ws keeps the socket in a task group, which wraps what the caller's block raised
        # (an EventStreamClosed, a failed assert): that error, as it was raised, not the group.
        if len(group.exceptions) == 1:
            raise group.exceptions[0] from None
        raise
