"""The typed Python client (clients/python/) against the running stack, as a customer's program
would use it: send (now and in the background), list, and stream the live events (the
hand-written pigeon_events over the generated client's base URL and API key)."""

import asyncio
from uuid import UUID

import pytest
from pigeon_client import AuthenticatedClient
from pigeon_client.api.conversations import list_conversation_messages, list_conversations
from pigeon_client.api.messages import get_message, send_message, send_message_async
from pigeon_client.models import ApiError, Message, SendText, TextContent
from pigeon_events import EventStream, EventStreamRefused, stream_events

from tests.fixtures.stack import Running
from tools.seed import SeededAccount, create_account


async def new_account(running: Running, name: str) -> SeededAccount:
    account = await create_account(running.engine, name, conversations=1)
    await running.register(account)
    return account


def text_message(account: SeededAccount, body: str) -> SendText:
    return SendText(type_="text", conversation_id=account.conversation_ids[0], text=TextContent(body=body))


async def events_until(events: EventStream, wanted: set[tuple[str, UUID]]) -> list[tuple[int, str, UUID]]:
    """(id, type, message id) of each message event received until every wanted (type, message id)
    came; those of other messages too."""
    seen: list[tuple[int, str, UUID]] = []
    async with asyncio.timeout(15):
        while not wanted <= {(kind, message) for _, kind, message in seen}:
            event = await events.receive()
            if event.type_.startswith("message."):
                seen.append((event.id, event.type_, UUID(event.data["id"])))
    return seen


async def test_send_list_and_stream_through_the_client(running: Running) -> None:
    account = await new_account(running, "Client")
    async with (
        AuthenticatedClient(base_url=running.gateway, token=account.api_key) as client,
        stream_events(client) as events,
    ):
        sent = await send_message.asyncio_detailed(client=client, body=text_message(account, "Sent now"))
        assert sent.status_code == 200, sent.content
        assert isinstance(sent.parsed, Message)
        assert sent.parsed.status == "sent" and sent.parsed.text and sent.parsed.text["body"] == "Sent now"

        queued = await send_message_async.asyncio_detailed(
            client=client, body=text_message(account, "Sent later"), idempotency_key="client-test-1"
        )
        assert queued.status_code == 202, queued.content
        assert isinstance(queued.parsed, Message) and queued.parsed.status == "queued"
        assert queued.headers["Location"] == f"/messages/{queued.parsed.id}"

        streamed = await events_until(
            events, {("message.sent", sent.parsed.id), ("message.sent", queued.parsed.id)}
        )

        page = await list_conversation_messages.asyncio(
            client=client, conversation_id=UUID(account.conversation_ids[0])
        )
        assert not isinstance(page, ApiError) and page is not None
        listed = {message.id: message.status for message in page.messages}
        assert listed[sent.parsed.id] == "sent" and listed[queued.parsed.id] == "sent"
        conversations = await list_conversations.asyncio(client=client)
        assert not isinstance(conversations, ApiError) and conversations is not None
        assert [str(c.id) for c in conversations.conversations] == account.conversation_ids
        fetched = await get_message.asyncio(client=client, message_id=queued.parsed.id)
        assert isinstance(fetched, Message) and fetched.status == "sent"

    # Resumed after the first event streamed: the others again, in order, nothing lost.
    first_id = streamed[0][0]
    async with (
        AuthenticatedClient(base_url=running.gateway, token=account.api_key) as client,
        stream_events(client, since=first_id) as resumed,
    ):
        again = await events_until(resumed, {(kind, message) for _, kind, message in streamed[1:]})
        assert again[: len(streamed) - 1] == streamed[1:]
        assert resumed.last_event_id == again[-1][0]


async def test_the_stream_is_refused_without_a_valid_api_key(running: Running) -> None:
    async with AuthenticatedClient(base_url=running.gateway, token="not-a-key") as client:
        with pytest.raises(EventStreamRefused) as refused:
            async with stream_events(client):
                pass
    assert refused.value.status_code == 401
