"""pigeon_events (clients/python/) against a WebSocket server that closes the stream the way the
gateway does: the key and `since` it sends, the events it types, and the close it reports (not
wrapped in the task group httpx-ws runs the socket in)."""

from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from pigeon_client import AuthenticatedClient
from pigeon_events import EventStreamClosed, EventStreamRefused, stream_events

STREAM_ENDED = 4503


async def events_socket(request: web.Request) -> web.StreamResponse:
    if request.headers.get("Authorization") != "Bearer right-key":
        raise web.HTTPUnauthorized()
    socket = web.WebSocketResponse()
    await socket.prepare(request)
    since = int(request.query["since"])
    for event_id in (since + 1, since + 2):
        await socket.send_json({"id": event_id, "type": "message.sent", "data": {"id": f"m{event_id}"}})
    await socket.close(code=STREAM_ENDED, message=b"the event stream ended")
    return socket


@pytest.fixture
async def server() -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_get("/prefix/ws", events_socket)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    yield f"http://{host}:{port}/prefix"
    await runner.cleanup()


async def test_events_arrive_typed_and_a_close_says_where_to_resume(server: str) -> None:
    received = []
    async with AuthenticatedClient(base_url=server, token="right-key") as client:
        with pytest.raises(EventStreamClosed) as closed:
            async with stream_events(client, since=7) as events:
                async for event in events:
                    received.append((event.id, event.type_, event.data["id"]))
    assert received == [(8, "message.sent", "m8"), (9, "message.sent", "m9")]
    assert closed.value.code == STREAM_ENDED and closed.value.reason == "the event stream ended"
    assert closed.value.resumable and closed.value.last_event_id == 9


async def test_a_refused_upgrade_is_its_status(server: str) -> None:
    async with AuthenticatedClient(base_url=server, token="wrong-key") as client:
        with pytest.raises(EventStreamRefused) as refused:
            async with stream_events(client, since=0):
                pass
    assert refused.value.status_code == 401
