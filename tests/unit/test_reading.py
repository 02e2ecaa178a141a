"""Reading messages and conversations by pages (services/conversations/use_cases/reading.py):
one account's only, newest first, every row once across the pages."""

from datetime import timedelta
from uuid import UUID, uuid4

import pytest

from services.conversations.domain.errors import InvalidArgument, NotFound
from services.conversations.domain.model import Conversation, Message
from services.conversations.domain.pages import DEFAULT_PAGE_SIZE
from services.conversations.domain.service_window import NO_FILTER, WindowFilter
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
    first, token = await world.reading.conversations(world.account.id, 2, "", NO_FILTER)
    second, last = await world.reading.conversations(world.account.id, 2, token, NO_FILTER)
    assert [c.id for c in first + second] == [c.id for c in reversed(made)]
    assert last == ""


async def test_a_page_size_of_zero_is_the_default(world: World) -> None:
    world.conversations(DEFAULT_PAGE_SIZE + 1)
    page, token = await world.reading.conversations(world.account.id, 0, "", NO_FILTER)
    assert len(page) == DEFAULT_PAGE_SIZE
    assert token != ""


# --- conversations by their 24 h window ------------------------------------------------


def windowed(world: World, inbound_hours_ago: list[float | None]) -> list[Conversation]:
    """Conversations whose customers wrote that long ago (None: never), the first the most
    recently active."""
    made = [
        new_conversation(
            world.account.id,
            T0 - timedelta(minutes=i),
            last_inbound_at=None if hours is None else T0 - timedelta(hours=hours),
        )
        for i, hours in enumerate(inbound_hours_ago)
    ]
    world.store.conversations.update({c.id: c for c in made})
    return made


async def all_conversation_pages(
    world: World, page_size: int, window: WindowFilter, token: str = ""
) -> list[Conversation]:
    """Every page from `token` on (the first page when empty)."""
    listed = []
    while True:
        page, token = await world.reading.conversations(world.account.id, page_size, token, window)
        listed += page
        if not token:
            return listed


async def test_a_window_filter_keeps_its_conversations_in_order_across_pages(world: World) -> None:
    made = windowed(world, [1, None, 30, 2, 23.5, 48, 0.1, None])
    open_ones = [c for c in made if c.can_send_free_form]
    assert len(open_ones) == 4

    listed = await all_conversation_pages(world, 2, WindowFilter(can_send_free_form=True))

    assert [c.id for c in listed] == [c.id for c in open_ones]
    assert {w.can_send_free_form for w in world.store.window_filters} == {True}
    closed = await all_conversation_pages(world, 3, WindowFilter(can_send_free_form=False))
    assert [c.id for c in closed] == [c.id for c in made if not c.can_send_free_form]


async def test_a_window_that_closes_between_pages_drops_out_and_none_comes_twice(world: World) -> None:
    made = windowed(world, [1, 2, 23.5, 3, 4])
    window = WindowFilter(can_send_free_form=True)
    first, token = await world.reading.conversations(world.account.id, 2, "", window)
    world.store.now = T0 + timedelta(hours=1)  # the third one's window closed meanwhile

    rest = await all_conversation_pages(world, 2, window, token)

    assert [c.id for c in first + rest] == [made[0].id, made[1].id, made[3].id, made[4].id]
