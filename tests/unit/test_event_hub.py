"""An account's live events (services/conversations/use_cases/events.py): the stored backlog,
then each new event once, in id order, as notifications wake the watch."""

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator
from uuid import UUID, uuid4

import pytest

from services.conversations.domain.errors import EventsGone
from services.conversations.domain.model import StoredEvent
from services.conversations.use_cases import events as events_module
from services.conversations.use_cases.events import EVENTS_CHANNEL, EventHub
from tests.unit.fakes import FakeEventLog, FakeListener

ACCOUNT, OTHER = uuid4(), uuid4()
PATIENCE = 1.0


class World:
    def __init__(self) -> None:
        self.log = FakeEventLog()
        self.listener = FakeListener()
        self.hub = EventHub(self.log, self.listener)

    def commit(self, account_id: UUID = ACCOUNT, count: int = 1) -> list[StoredEvent]:
        """Events appended and their NOTIFY sent, as a commit does."""
        made = [self.log.append(account_id) for _ in range(count)]
        self.listener.notify(EVENTS_CHANNEL, str(account_id))
        return made


async def take(stream: AsyncIterator[StoredEvent], count: int) -> list[int]:
    return [(await asyncio.wait_for(anext(stream), PATIENCE)).id for _ in range(count)]


async def close(stream: AsyncIterator[StoredEvent]) -> None:
    """Ends a watch as its caller going away does (watch is typed an iterator; it is a generator)."""
    assert isinstance(stream, AsyncGenerator)
    await stream.aclose()


async def nothing_within(
    stream: AsyncIterator[StoredEvent], seconds: float = 0.02
) -> "asyncio.Task[StoredEvent]":
    """The stream's next event, still pending after `seconds`."""
    pending = asyncio.ensure_future(anext(stream))
    await asyncio.sleep(seconds)
    assert not pending.done()
    return pending


@pytest.fixture
def world() -> World:
    return World()


async def test_the_hub_listens_on_the_events_channel_and_for_reconnects(world: World) -> None:
    assert list(world.listener.callbacks) == [EVENTS_CHANNEL]
    assert len(world.listener.reconnect_callbacks) == 1


async def test_a_watch_gives_the_backlog_then_new_events(world: World) -> None:
    world.commit(count=2)
    stream = world.hub.watch(ACCOUNT, 0)
    assert await take(stream, 2) == [1, 2]
    world.commit()
    assert await take(stream, 1) == [3]
    await close(stream)


async def test_a_watch_starts_after_the_id_given(world: World) -> None:
    world.commit(count=3)
    stream = world.hub.watch(ACCOUNT, 2)
    assert await take(stream, 1) == [3]
    await close(stream)


async def test_a_resume_from_before_the_oldest_event_kept_is_refused(world: World) -> None:
    world.commit(count=5)
    world.log.forget(ACCOUNT, before_id=4)  # retention deleted 1-3
    with pytest.raises(EventsGone, match=r"before 4 .* since=3") as refused:
        await anext(world.hub.watch(ACCOUNT, 1))
    assert refused.value.first_kept_id == 4
    world.log.forget(ACCOUNT, before_id=6)  # and 4-5: none left
    with pytest.raises(EventsGone, match="since=5"):
        await anext(world.hub.watch(ACCOUNT, 3))


async def test_a_resume_from_just_before_the_oldest_event_kept_loses_nothing(world: World) -> None:
    world.commit(count=5)
    world.log.forget(ACCOUNT, before_id=4)
    stream = world.hub.watch(ACCOUNT, 3)
    assert await take(stream, 2) == [4, 5]
    await close(stream)
    world.log.forget(ACCOUNT, before_id=6)
    stream = world.hub.watch(ACCOUNT, 5)
    pending = await nothing_within(stream)
    world.commit()
    assert (await asyncio.wait_for(pending, PATIENCE)).id == 6
    await close(stream)


async def test_a_watch_from_0_starts_at_the_oldest_event_kept(world: World) -> None:
    world.commit(count=5)
    world.log.forget(ACCOUNT, before_id=4)
    stream = world.hub.watch(ACCOUNT, 0)
    assert await take(stream, 2) == [4, 5]
    await close(stream)


async def test_a_negative_id_watches_only_events_from_now_on(world: World) -> None:
    world.commit(count=2)
    stream = world.hub.watch(ACCOUNT, -1)
    pending = await nothing_within(stream)
    world.commit()
    assert (await asyncio.wait_for(pending, PATIENCE)).id == 3
    await close(stream)


async def test_another_accounts_notification_does_not_wake_the_watch(world: World) -> None:
    stream = world.hub.watch(ACCOUNT, 0)
    pending = await nothing_within(stream)
    world.log.append(ACCOUNT)  # committed, but its notification not yet sent
    world.commit(OTHER)
    reads = world.log.reads
    await asyncio.sleep(0.02)
    assert (world.log.reads, pending.done()) == (reads, False)
    world.listener.notify(EVENTS_CHANNEL, str(ACCOUNT))
    assert (await asyncio.wait_for(pending, PATIENCE)).id == 1
    await close(stream)


async def test_a_reconnect_wakes_every_watch(world: World) -> None:
    stream = world.hub.watch(ACCOUNT, 0)
    pending = await nothing_within(stream)
    world.log.append(ACCOUNT)  # its notification lost
    world.listener.reconnect()
    assert (await asyncio.wait_for(pending, PATIENCE)).id == 1
    await close(stream)


async def test_a_payload_that_is_not_an_account_id_is_ignored(world: World) -> None:
    stream = world.hub.watch(ACCOUNT, 0)
    pending = await nothing_within(stream)
    world.listener.notify(EVENTS_CHANNEL, "not-a-uuid")
    world.commit()
    assert (await asyncio.wait_for(pending, PATIENCE)).id == 1
    await close(stream)


async def test_a_full_page_is_followed_at_once_by_the_next(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(events_module, "PAGE_EVENTS", 2)
    for _ in range(3):
        world.log.append(ACCOUNT)  # no notification for any of them
    stream = world.hub.watch(ACCOUNT, 0)
    assert await take(stream, 3) == [1, 2, 3]
    assert world.log.reads == 2
    await close(stream)


async def test_pages_are_bounded_in_bytes_and_a_larger_event_comes_alone(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(events_module, "PAGE_BYTES", 1000)
    for size in (400, 400, 400, 5000, 100):
        world.log.append(ACCOUNT, data_json=b"x" * size)  # no notification for any of them
    stream = world.hub.watch(ACCOUNT, 0)
    assert await take(stream, 5) == [1, 2, 3, 4, 5]
    # 400 + 400 + 400 reach the bound, then the large event alone, then the last one: each full
    # page was followed by the next at once, without a wake-up.
    assert world.log.pages[:3] == [[1, 2, 3], [4], [5]]
    await close(stream)


async def test_close_ends_every_watch(world: World) -> None:
    stream = world.hub.watch(ACCOUNT, 0)
    pending = await nothing_within(stream)
    world.hub.close()
    with pytest.raises(StopAsyncIteration):
        await asyncio.wait_for(pending, PATIENCE)


async def test_a_watch_after_close_ends_at_once(world: World) -> None:
    world.commit()
    world.hub.close()
    with pytest.raises(StopAsyncIteration):
        await asyncio.wait_for(anext(world.hub.watch(ACCOUNT, 0)), PATIENCE)


async def test_two_watches_of_one_account_each_get_every_event(world: World) -> None:
    first, second = world.hub.watch(ACCOUNT, 0), world.hub.watch(ACCOUNT, 0)
    pending = [await nothing_within(first), await nothing_within(second)]
    world.commit()
    assert [(await asyncio.wait_for(p, PATIENCE)).id for p in pending] == [1, 1]
    await close(first)
    await close(second)
