"""Storing an outbound message (services/conversations/use_cases/outbound.py): what is refused
before the store, what the store is asked, where the message is to go, and the
idempotency key's replays and conflicts."""

from uuid import UUID, uuid4

import pytest

from services.conversations.domain import pacing
from services.conversations.domain.errors import Conflict, InvalidArgument, NotFound
from services.conversations.domain.model import Content, ConversationRef, MessageStatus
from services.conversations.settings import SendPolicy
from services.conversations.use_cases.directory import Directory
from services.conversations.use_cases.outbound import (
    MAX_CONTENT_BYTES,
    MAX_IDEMPOTENCY_KEY_LENGTH,
    Created,
    OutboundMessages,
)
from services.conversations.use_cases.templates import Templates
from tests.unit.fakes import TEXT, FakeDirectoryStore, FakeMessageStore, FakeTemplateStore, new_account

POLICY = SendPolicy(
    sync_lease_seconds=30.0, message_ttl_seconds=600.0, pacing_margin_seconds=0.2, max_pacing_wait_seconds=1.5
)
HASH = b"request-hash"


class World:
    def __init__(self) -> None:
        self.directory_store = FakeDirectoryStore()
        self.store = FakeMessageStore()
        self.account = self.directory_store.add_account(new_account(messages_per_second=10))
        self.conversation = self.directory_store.add_conversation(self.account.id, "15550001111")
        self.templates = FakeTemplateStore()
        self.outbound = OutboundMessages(
            Directory(self.directory_store, 60.0), Templates(self.templates, 60.0), self.store, POLICY
        )

    async def create(
        self,
        conversation_id: UUID | None = None,
        to: str = "",
        content: Content = TEXT,
        queue: bool = False,
        key: str = "",
        request_hash: bytes = HASH,
    ) -> Created:
        return await self.outbound.create(
            self.account.id,
            conversation_id,
            to,
            content,
            queue=queue,
            idempotency_key=key,
            request_hash=request_hash,
        )


@pytest.fixture
def world() -> World:
    return World()


# --- refused before the store ----------------------------------------------------------


async def test_an_idempotency_key_too_long_is_invalid(world: World) -> None:
    with pytest.raises(InvalidArgument, match="idempotency_key"):
        await world.create(world.conversation.id, key="k" * (MAX_IDEMPOTENCY_KEY_LENGTH + 1))
    assert world.store.inserted == []


async def test_an_idempotency_key_of_the_longest_length_is_taken(world: World) -> None:
    created = await world.create(world.conversation.id, key="k" * MAX_IDEMPOTENCY_KEY_LENGTH)
    assert created.message.id in world.store.messages


async def test_content_too_large_is_invalid(world: World) -> None:
    big = Content("text", b'{"body": "' + b"x" * MAX_CONTENT_BYTES + b'"}')
    with pytest.raises(InvalidArgument, match="body_json"):
        await world.create(world.conversation.id, content=big)
    assert world.store.inserted == []


@pytest.mark.parametrize("body", [rb'{"body": "a\u0000b"}', rb'{"body": "\\\u0000"}'])
async def test_an_escaped_nul_character_is_invalid(world: World, body: bytes) -> None:
    with pytest.raises(InvalidArgument, match="U\\+0000"):
        await world.create(world.conversation.id, content=Content("text", body))
    assert world.store.inserted == []


async def test_an_escaped_backslash_before_u0000_is_text_not_nul(world: World) -> None:
    content = Content("text", rb'{"body": "C:\\u0000"}')
    created = await world.create(world.conversation.id, content=content)
    assert created.message.content == content


async def test_neither_a_conversation_nor_a_recipient_is_invalid(world: World) -> None:
    with pytest.raises(InvalidArgument, match="conversation_id or to"):
        await world.create()
    assert world.store.inserted == []


async def test_an_unknown_conversation_is_not_found(world: World) -> None:
    with pytest.raises(NotFound):
        await world.create(uuid4())
    assert world.store.inserted == []


async def test_an_unknown_account_is_not_found(world: World) -> None:
    with pytest.raises(NotFound):
        await world.outbound.create(uuid4(), world.conversation.id, "", TEXT)


# --- what is stored, and where it goes -------------------------------------------------


async def test_a_send_now_is_stored_sending_under_the_policy(world: World) -> None:
    created = await world.create(world.conversation.id, key="k1")
    [row] = world.store.inserted
    assert (row.conversation, row.content, row.status) == (world.conversation, TEXT, MessageStatus.SENDING)
    assert (row.idempotency_key, row.request_hash) == ("k1", HASH)
    assert (row.lease_seconds, row.max_age_seconds, row.max_pacing_wait_seconds) == (30.0, 600.0, 1.5)
    assert row.slot_seconds == pytest.approx(pacing.slot_seconds(10, 0.2))
    assert (created.message.status, created.replayed) == (MessageStatus.SENDING, False)


async def test_a_queued_message_is_stored_queued(world: World) -> None:
    created = await world.create(world.conversation.id, queue=True)
    assert world.store.inserted[0].status == MessageStatus.QUEUED
    assert created.message.status == MessageStatus.QUEUED


async def test_no_idempotency_key_is_stored_as_none(world: World) -> None:
    await world.create(world.conversation.id)
    assert world.store.inserted[0].idempotency_key is None


async def test_the_target_is_the_accounts_number_and_the_conversations_contact(world: World) -> None:
    target = (await world.create(world.conversation.id)).target
    assert (target.phone_number_id, target.access_token, target.to) == (
        world.account.phone_number_id,
        world.account.access_token,
        "15550001111",
    )


async def test_a_recipient_opens_its_conversation(world: World) -> None:
    created = await world.create(to="+15550009999")
    [row] = world.store.inserted
    assert isinstance(row.conversation, ConversationRef)
    assert row.conversation.contact_wa_id == "15550009999"
    assert row.conversation.id != world.conversation.id
    assert created.target.to == "15550009999"


async def test_the_conversation_id_wins_over_a_recipient(world: World) -> None:
    await world.create(world.conversation.id, to="15550009999")
    assert world.store.inserted[0].conversation == world.conversation


async def test_a_send_waits_for_a_slot_further_than_a_quarter_margin(world: World) -> None:
    world.store.send_delay_seconds = 0.4
    assert (await world.create(world.conversation.id)).target.send_delay_seconds == 0.4


async def test_a_send_whose_slot_is_near_goes_at_once(world: World) -> None:
    world.store.send_delay_seconds = 0.04  # under 0.2 / 4
    assert (await world.create(world.conversation.id)).target.send_delay_seconds == 0.0


# --- idempotency -----------------------------------------------------------------------


async def test_a_key_used_again_with_the_same_request_answers_the_original(world: World) -> None:
    original = await world.create(world.conversation.id, key="k1")
    again = await world.create(world.conversation.id, key="k1")
    assert again.replayed
    assert again.message == original.message
    assert len(world.store.messages) == 1


async def test_a_key_used_again_with_another_request_is_a_conflict(world: World) -> None:
    await world.create(world.conversation.id, key="k1")
    with pytest.raises(Conflict):
        await world.create(world.conversation.id, key="k1", request_hash=b"another")


async def test_keys_are_per_account(world: World) -> None:
    other = world.directory_store.add_account(new_account())
    theirs = world.directory_store.add_conversation(other.id)
    await world.create(world.conversation.id, key="k1")
    created = await world.outbound.create(
        other.id, theirs.id, "", TEXT, idempotency_key="k1", request_hash=b"another"
    )
    assert not created.replayed
    assert len(world.store.messages) == 2


async def test_a_conversation_deleted_since_it_was_cached_is_not_found_and_forgotten(world: World) -> None:
    await world.create(world.conversation.id)
    world.store.deleted_conversations.add(world.conversation.id)
    del world.directory_store.conversations[(world.account.id, world.conversation.id)]
    with pytest.raises(NotFound):
        await world.create(world.conversation.id)
    # Dropped from the cache: the next request asks the directory, and stores nothing.
    with pytest.raises(NotFound):
        await world.create(world.conversation.id)
    assert len(world.store.inserted) == 2
    assert world.directory_store.calls["load_conversation_ref"] == 2
