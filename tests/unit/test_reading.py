"""Reading messages and conversations by pages (services/conversations/use_cases/reading.py):
one account's only, newest first, every row once across the pages."""

from datetime import timedelta
from uuid import UUID, uuid4

import pytest

from services.conversations.domain.errors import InvalidArgument, NotFound
from services.conversations.domain.model import Conversation, Message
from services.conversations.domain.pages import DEFAULT_PAGE_SIZE
from services.conversations.use_cases.directory import Directory
from services.conversations.use_cases.reading import Reading
from tests.unit.fakes import (
    T0,
    FakeDirectoryStore,
    FakeMessageStore,
    new_account,
    new_conversation,
    new_message,
)


class World:
    def __init__(self) -> None:
        self.directory_store = FakeDirectoryStore()
        self.store = FakeMessageStore()
        self.account = self.directory_store.add_account(new_account())
        self.conversation = self.directory_store.add_conversation(self.account.id)
        self.reading = Reading(Directory(self.directory_store, 60.0), self.store)

    def messages(self, count: int, seconds_apart: int = 1) -> list[Message]:
        return [
            self.store.add(
                new_message(
                    self.account.id,
                    self.conversation.id,
                    created_at=T0 + timedelta(seconds=i * seconds_apart),
                )
            )
            for i in range(count)
        ]

    def conversations(self, count: int, account_id: UUID | None = None) -> list[Conversation]:
        made = [
            new_conversation(account_id or self.account.id, T0 + timedelta(minutes=i)) for i in range(count)
        ]
        self.store.conversations.update({c.id: c for c in made})
        return made

    async def all_message_pages(self, page_size: int) -> list[list[Message]]:
        pages, token = [], ""
        while True:
            page, token = await self.reading.messages(self.account.id, self.conversation.id, page_size, token)
            pages.append(page)
            if not token:
                return pages


@pytest.fixture
def world() -> World:
    return World()


# --- one -------------------------------------------------------------------------------


async def test_a_message_is_read_by_its_id(world: World) -> None:
    [message] = world.messages(1)
    assert await world.reading.message(world.account.id, message.id) == message


async def test_an_unknown_message_is_not_found(world: World) -> None:
    with pytest.raises(NotFound):
        await world.reading.message(world.account.id, uuid4())


async def test_another_accounts_message_is_not_found(world: World) -> None:
    [message] = world.messages(1)
    with pytest.raises(NotFound):
        await world.reading.message(uuid4(), message.id)


async def test_a_conversation_is_read_by_its_id(world: World) -> None:
    [conversation] = world.conversations(1)
    assert await world.reading.conversation(world.account.id, conversation.id) == conversation


async def test_another_accounts_conversation_is_not_found(world: World) -> None:
    [conversation] = world.conversations(1, account_id=uuid4())
    with pytest.raises(NotFound):
        await world.reading.conversation(world.account.id, conversation.id)


# --- messages by pages -----------------------------------------------------------------


async def test_messages_come_newest_first_by_pages_each_once(world: World) -> None:
    made = world.messages(5)
    pages = await world.all_message_pages(page_size=2)
    assert [len(page) for page in pages] == [2, 2, 1]
    assert [m.id for page in pages for m in page] == [m.id for m in reversed(made)]


async def test_messages_of_the_same_instant_are_not_skipped_between_pages(world: World) -> None:
    made = world.messages(5, seconds_apart=0)
    pages = await world.all_message_pages(page_size=2)
    assert sorted(m.id for page in pages for m in page) == sorted(m.id for m in made)


async def test_a_page_that_ends_exactly_at_the_last_message_has_no_next_token(world: World) -> None:
    world.messages(4)
    assert [len(page) for page in await world.all_message_pages(page_size=2)] == [2, 2]


async def test_messages_of_a_conversation_without_any_are_an_empty_page(world: World) -> None:
    assert await world.reading.messages(world.account.id, world.conversation.id, 10, "") == ([], "")


async def test_messages_of_an_unknown_conversation_are_not_found(world: World) -> None:
    with pytest.raises(NotFound):
        await world.reading.messages(world.account.id, uuid4(), 10, "")


async def test_a_page_size_out_of_bounds_is_invalid(world: World) -> None:
    with pytest.raises(InvalidArgument):
        await world.reading.messages(world.account.id, world.conversation.id, 101, "")


async def test_a_token_not_from_this_api_is_invalid(world: World) -> None:
    with pytest.raises(InvalidArgument):
        await world.reading.messages(world.account.id, world.conversation.id, 10, "not-a-token")


# --- conversations by pages ------------------------------------------------------------


async def test_conversations_come_by_latest_activity_by_pages(world: World) -> None:
    made = world.conversations(3)
    world.conversations(2, account_id=uuid4())
    first, token = await world.reading.conversations(world.account.id, 2, "")
    second, last = await world.reading.conversations(world.account.id, 2, token)
    assert [c.id for c in first + second] == [c.id for c in reversed(made)]
    assert last == ""


async def test_a_page_size_of_zero_is_the_default(world: World) -> None:
    world.conversations(DEFAULT_PAGE_SIZE + 1)
    page, token = await world.reading.conversations(world.account.id, 0, "")
    assert len(page) == DEFAULT_PAGE_SIZE
    assert token != ""
