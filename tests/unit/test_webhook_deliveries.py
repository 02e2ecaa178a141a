"""One claimed endpoint's deliveries (services/conversations/use_cases/webhook_deliveries.py):
its events delivered in rounds, side by side across conversations and in order within one,
the cursor moved over what is done; after a failure, a backoff, or the endpoint disabled;
nothing more once the claim is lost."""

import asyncio
import random
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from uuid import UUID, uuid4

import orjson
import pytest
from standardwebhooks.webhooks import Webhook

from services.conversations.domain.webhook_endpoints import (
    Attempt,
    AttemptResult,
    ClaimedEndpoint,
    PendingEvent,
    new_secret,
    webhook_id,
)
from services.conversations.settings import OutboundWebhookSettings
from services.conversations.use_cases import webhook_deliveries
from services.conversations.use_cases.webhook_deliveries import EndpointDeliveries

T0 = datetime(2026, 12, 1, 12, tzinfo=UTC)
URL = "https://hooks.example.com/pigeon"
OWNER = uuid4()
SETTINGS = OutboundWebhookSettings(
    worker_enabled=True,
    concurrency=4,
    parallelism=3,
    timeout_seconds=10.0,
    retry_base_seconds=5.0,
    retry_max_seconds=3600.0,
    retry_window_seconds=3 * 86400.0,
    secret_grace_seconds=86400.0,
    # Long enough that no lease renewal happens in a test, unless it says otherwise.
    lease_seconds=600.0,
    allow_insecure_urls=False,
    max_endpoints_per_account=20,
    attempts_retention_seconds=7 * 86400.0,
)
OK = AttemptResult(200, 3.0)
BROKEN = AttemptResult(500, 3.0, "HTTP 500")
GONE = AttemptResult(410, 3.0, "HTTP 410")
MAX_READS = 100


# --- fakes of the ports ------------------------------------------------------------------


@dataclass(frozen=True)
class Recorded:
    """One record_progress call."""

    owner: UUID
    generation: int
    last_event_id: int
    done_ids: list[int]
    failures: int
    delay_seconds: float
    lease_seconds: float
    release: bool


class FakeDeliveryQueue:
    """The account's event log in a list; what the run read, recorded, disabled and logged,
    kept. `holds` answers record_progress (False: the claim is lost); `lost` is set when it
    did."""

    def __init__(self) -> None:
        self.events: list[PendingEvent] = []
        self.reads: list[int] = []
        self.recorded: list[Recorded] = []
        self.disabled: list[tuple[UUID, int, str]] = []
        self.logged: list[tuple[UUID, list[Attempt]]] = []
        self.holds = True
        self.lost = asyncio.Event()

    async def claim(self, owner: UUID, limit: int, lease_seconds: float) -> list[ClaimedEndpoint]:
        raise AssertionError("a run does not claim")

    async def events_after(self, account_id: UUID, after_id: int, limit: int) -> list[PendingEvent]:
        # A run that reads on and on without moving fails rather than hangs the tests.
        assert len(self.reads) < MAX_READS, f"read {MAX_READS} times, from {self.reads[-3:]}"
        await asyncio.sleep(0)
        self.reads.append(after_id)
        return [e for e in self.events if e.id > after_id][:limit]

    async def record_progress(
        self,
        claim: ClaimedEndpoint,
        owner: UUID,
        last_event_id: int,
        done_ids: Sequence[int],
        failures: int,
        delay_seconds: float,
        lease_seconds: float,
        release: bool,
        attempts: Sequence[Attempt] = (),
    ) -> bool:
        if attempts:
            self.logged.append((claim.id, list(attempts)))
        self.recorded.append(
            Recorded(
                owner,
                claim.generation,
                last_event_id,
                list(done_ids),
                failures,
                delay_seconds,
                lease_seconds,
                release,
            )
        )
        if not self.holds:
            self.lost.set()
        return self.holds

    async def disable(self, claim: ClaimedEndpoint, reason: str) -> bool:
        self.disabled.append((claim.id, claim.generation, reason))
        return True

    async def log_attempts(self, endpoint_id: UUID, attempts: Sequence[Attempt]) -> None:
        self.logged.append((endpoint_id, list(attempts)))

    async def delete_old_attempts(self, retention_seconds: float, limit: int) -> int:
        return 0

    @property
    def attempts(self) -> list[Attempt]:
        return [attempt for _, attempts in self.logged for attempt in attempts]

    @property
    def last(self) -> Recorded:
        return self.recorded[-1]


@dataclass(frozen=True)
class Request:
    url: str
    body: bytes
    headers: dict[str, str]
    event_id: int


class FakeWebhookHttp:
    """Answers scripted per call (`by_call`, in order, first) or per event id (`by_event`, a
    list each: one per attempt), OK otherwise. An attempt of event n waits for `gates[n]`, then
    `delay` seconds; `started[n]` and `answered[n]` are set as it goes. `log` is ("start", n)
    and ("end", n) in the order they happened; `max_in_flight` the most attempts at once."""

    def __init__(self) -> None:
        self.by_call: list[AttemptResult] = []
        self.by_event: dict[int, list[AttemptResult]] = {}
        self.gates: dict[int, asyncio.Event] = {}
        self.delay = 0.0
        self.started: defaultdict[int, asyncio.Event] = defaultdict(asyncio.Event)
        self.answered: defaultdict[int, asyncio.Event] = defaultdict(asyncio.Event)
        self.requests: list[Request] = []
        self.log: list[tuple[str, int]] = []
        self.in_flight = 0
        self.max_in_flight = 0

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> AttemptResult:
        event_id = int(headers["webhook-id"].rsplit("_", 1)[1])
        self.requests.append(Request(url, body, headers, event_id))
        self.log.append(("start", event_id))
        self.started[event_id].set()
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if event_id in self.gates:
                await self.gates[event_id].wait()
            if self.delay:
                await asyncio.sleep(self.delay)
        finally:
            self.in_flight -= 1
        if self.by_call:
            answer = self.by_call.pop(0)
        elif self.by_event.get(event_id):
            answer = self.by_event[event_id].pop(0)
        else:
            answer = OK
        self.log.append(("end", event_id))
        self.answered[event_id].set()
        return answer

    @property
    def posted(self) -> list[int]:
        return [r.event_id for r in self.requests]


class World:
    def __init__(
        self,
        event_types: tuple[str, ...] = ("*",),
        last_event_id: int = 0,
        done_ids: tuple[int, ...] = (),
        failures: int = 0,
        failing_for_seconds: float = 0.0,
        secrets: tuple[str, ...] | None = None,
        settings: OutboundWebhookSettings = SETTINGS,
        seed: int = 7,
    ) -> None:
        self.queue = FakeDeliveryQueue()
        self.http = FakeWebhookHttp()
        self.settings = settings
        self.account_id = uuid4()
        self.claim = ClaimedEndpoint(
            id=uuid4(),
            account_id=self.account_id,
            url=URL,
            event_types=event_types,
            secrets=secrets or (new_secret(),),
            last_event_id=last_event_id,
            done_ids=done_ids,
            failures=failures,
            failing_for_seconds=failing_for_seconds,
            generation=3,
        )
        self.deliveries = EndpointDeliveries(self.queue, self.http, settings, OWNER, random.Random(seed))
        self.more_events_calls = 0

    def add(self, conversation_id: UUID | None = None, event_type: str = "message.sent") -> PendingEvent:
        event_id = (self.queue.events[-1].id if self.queue.events else self.claim.last_event_id) + 1
        data = orjson.dumps({"n": event_id, "conversation_id": conversation_id and str(conversation_id)})
        event = PendingEvent(event_id, event_type, conversation_id, data, T0)
        self.queue.events.append(event)
        return event

    def conversation_of(self, event_id: int) -> UUID | None:
        return next(e.conversation_id for e in self.queue.events if e.id == event_id)

    async def more_events(self) -> bool:
        self.more_events_calls += 1
        return False

    async def run(self) -> None:
        await asyncio.wait_for(self.deliveries.run(self.claim, self.more_events), 5.0)


# --- caught up ---------------------------------------------------------------------------


async def test_every_event_is_delivered_and_the_endpoint_released_at_the_cursor_when_caught_up() -> None:
    world = World()
    a, b = uuid4(), uuid4()
    events = [world.add(a), world.add(b), world.add(None), world.add(a)]

    await world.run()

    assert sorted(world.http.posted) == [e.id for e in events]
    assert world.more_events_calls == 1
    last = world.queue.last
    assert last == Recorded(OWNER, 3, events[-1].id, [], 0, 0.0, SETTINGS.lease_seconds, True)
    assert world.queue.disabled == []
    assert {a.event_id for a in world.queue.attempts} == {e.id for e in events}
    assert all(a.succeeded and a.http_status == 200 for a in world.queue.attempts)
    assert {endpoint_id for endpoint_id, _ in world.queue.logged} == {world.claim.id}


async def test_each_delivery_is_the_event_signed_with_every_secret_of_the_endpoint() -> None:
    new, old = new_secret(), new_secret()
    world = World(secrets=(new, old))
    conversation = uuid4()
    event = world.add(conversation, "message.read")

    await world.run()

    [request] = world.http.requests
    assert request.url == URL
    assert request.headers["webhook-id"] == webhook_id(world.claim.id, event.id)
    assert abs(int(request.headers["webhook-timestamp"]) - time.time()) < 60
    for secret in (new, old):
        delivered = Webhook(secret).verify(request.body, request.headers)
        assert delivered["type"] == "message.read"
        assert delivered["data"] == {"n": event.id, "conversation_id": str(conversation)}
    [attempt] = world.queue.attempts
    assert attempt.webhook_id == request.headers["webhook-id"]
    assert attempt.event_type == "message.read"


async def test_events_that_come_while_it_runs_are_delivered_in_another_round() -> None:
    world = World()
    world.add(uuid4())
    asked = 0

    async def more_events() -> bool:
        nonlocal asked
        asked += 1
        if asked == 1:
            world.add(uuid4())
            world.add(None)
            return True
        return False

    await asyncio.wait_for(world.deliveries.run(world.claim, more_events), 5.0)

    assert sorted(world.http.posted) == [1, 2, 3]
    assert asked == 2
    assert world.queue.reads[-1] == 3
    assert world.queue.last.last_event_id == 3 and world.queue.last.release


async def test_a_success_ends_the_failures_in_a_row() -> None:
    world = World(failures=4, failing_for_seconds=3600.0)
    world.add(uuid4())

    await world.run()

    assert world.queue.last.failures == 0
    assert world.queue.last.release and world.queue.last.delay_seconds == 0.0
    assert world.queue.disabled == []


async def test_events_the_endpoint_does_not_take_are_skipped_and_the_cursor_moves_over_them() -> None:
    world = World(event_types=("message.sent", "media.*"))
    conversation = uuid4()
    world.add(conversation, "message.sent")
    world.add(conversation, "conversation.updated")
    world.add(conversation, "message.read")
    world.add(None, "media.stored")
    world.add(conversation, "message.sent")
    world.add(conversation, "message.delivered")

    await world.run()

    assert sorted(world.http.posted) == [1, 4, 5]
    assert sorted(a.event_id or 0 for a in world.queue.attempts) == [1, 4, 5]
    assert world.queue.last.last_event_id == 6
    assert world.queue.last.done_ids == []
    assert world.queue.last.release


async def test_a_run_starting_with_done_ids_skips_those_events() -> None:
    world = World(last_event_id=10, done_ids=(12, 13, 15))
    conversation = uuid4()
    for _ in range(6):
        world.add(conversation)

    await world.run()

    assert world.queue.reads[0] == 10
    assert world.http.posted == [11, 14, 16]
    assert world.queue.last.last_event_id == 16
    assert world.queue.last.done_ids == []


# --- side by side, in order per conversation ------------------------------------------------


async def test_conversations_overlap_within_the_parallelism_and_each_keeps_its_order() -> None:
    world = World(settings=replace(SETTINGS, parallelism=3))
    world.http.delay = 0.002
    conversations: list[UUID | None] = [uuid4() for _ in range(5)]
    for round_ in range(6):
        for n, conversation in enumerate(conversations):
            world.add(conversation if (round_ + n) % 4 else None)

    await world.run()

    assert sorted(world.http.posted) == [e.id for e in world.queue.events]
    assert 1 < world.http.max_in_flight <= 3
    for conversation in [*conversations, None]:
        own = [(what, n) for what, n in world.http.log if world.conversation_of(n) == conversation]
        ids = [e.id for e in world.queue.events if e.conversation_id == conversation]
        # One at a time, in id order: start 1, end 1, start 2, end 2, ...
        assert own == [(what, n) for n in ids for what in ("start", "end")]
    assert world.queue.last.last_event_id == world.queue.events[-1].id


async def test_with_a_parallelism_of_one_events_go_one_after_another_in_id_order() -> None:
    world = World(settings=replace(SETTINGS, parallelism=1))
    world.http.delay = 0.001
    a, b = uuid4(), uuid4()
    for conversation in (a, b, b, a, None, a):
        world.add(conversation)

    await world.run()

    assert world.http.max_in_flight == 1
    for conversation in (a, b, None):
        posted = [n for n in world.http.posted if world.conversation_of(n) == conversation]
        assert posted == sorted(posted)


# --- after a failure ---------------------------------------------------------------------


async def test_a_failure_stops_new_attempts_backs_off_and_keeps_what_was_delivered() -> None:
    world = World(event_types=("message.*",))
    a, b = uuid4(), uuid4()
    world.add(a)  # 1: fails
    world.add(a)  # 2: after 1 in its conversation: not tried
    world.add(b)  # 3: in flight when 1 fails: delivered
    world.add(b)  # 4: not started after the failure
    world.add(None, "conversation.updated")  # 5: not taken: done
    world.http.by_event[1] = [BROKEN]
    # 1 answers once 3 is in flight; 3 once 1 has answered.
    world.http.gates[1] = world.http.started[3]
    world.http.gates[3] = world.http.answered[1]

    await world.run()

    assert sorted(world.http.posted) == [1, 3]
    assert world.more_events_calls == 0
    [recorded] = world.queue.recorded
    assert recorded.release
    assert recorded.last_event_id == 0
    assert recorded.done_ids == [3, 5]
    assert recorded.failures == 1
    # The first failure's backoff: between half and all of the base.
    assert SETTINGS.retry_base_seconds / 2 <= recorded.delay_seconds <= SETTINGS.retry_base_seconds
    assert world.queue.disabled == []
    logged = {a.event_id: a for a in world.queue.attempts}
    assert logged.keys() == {1, 3}
    assert not logged[1].succeeded and logged[1].http_status == 500 and logged[1].error == "HTTP 500"
    assert logged[3].succeeded


async def test_the_next_run_tries_the_failed_event_again_and_skips_what_was_delivered() -> None:
    world = World(last_event_id=0, done_ids=(3, 5), failures=1, failing_for_seconds=30.0)
    a, b = uuid4(), uuid4()
    for conversation in (a, a, b, b, None):
        world.add(conversation)

    await world.run()

    assert sorted(world.http.posted) == [1, 2, 4]
    assert world.http.posted.index(1) < world.http.posted.index(2)
    assert world.queue.last == Recorded(OWNER, 3, 5, [], 0, 0.0, SETTINGS.lease_seconds, True)


@pytest.mark.parametrize("failures", [1, 2, 5, 12])
async def test_the_backoff_grows_with_the_failures_in_a_row(failures: int) -> None:
    world = World(failures=failures - 1, failing_for_seconds=60.0 if failures > 1 else 0.0)
    world.add(uuid4())
    world.http.by_event[1] = [AttemptResult(None, 10000.0, "timeout after 10 s")]

    await world.run()

    ceiling = min(SETTINGS.retry_base_seconds * 2 ** (failures - 1), SETTINGS.retry_max_seconds)
    assert world.queue.last.failures == failures
    assert ceiling / 2 <= world.queue.last.delay_seconds <= ceiling
    assert world.queue.disabled == []


async def test_a_longer_retry_after_is_the_delay() -> None:
    world = World()
    world.add(uuid4())
    world.http.by_call = [AttemptResult(429, 3.0, "HTTP 429", retry_after_seconds=120.0)]

    await world.run()

    assert world.queue.last.delay_seconds == 120.0
    assert world.queue.last.failures == 1 and world.queue.last.release


async def test_a_gone_endpoint_is_disabled() -> None:
    world = World()
    world.add(uuid4())
    world.add(uuid4())
    world.http.by_event[1] = [GONE]
    world.http.gates[2] = world.http.answered[1]

    await world.run()

    assert world.queue.disabled == [(world.claim.id, world.claim.generation, "gone")]
    assert world.queue.last.release and world.queue.last.failures == 1
    assert [a.http_status for a in world.queue.attempts if a.event_id == 1] == [410]


async def test_a_410_decides_over_a_failure_that_came_first() -> None:
    world = World()
    world.add(uuid4())
    world.add(uuid4())
    world.http.by_event = {1: [BROKEN], 2: [GONE]}
    # 1 fails while 2 is in flight; then 2 answers 410.
    world.http.gates[1] = world.http.started[2]
    world.http.gates[2] = world.http.answered[1]

    await world.run()

    assert world.http.log.index(("end", 1)) < world.http.log.index(("end", 2))
    assert [reason for _, _, reason in world.queue.disabled] == ["gone"]


async def test_an_endpoint_failing_for_the_whole_window_is_disabled() -> None:
    window = SETTINGS.retry_window_seconds
    world = World(failures=30, failing_for_seconds=window + 1)
    world.add(uuid4())
    world.http.by_call = [BROKEN]

    await world.run()

    assert world.queue.disabled == [(world.claim.id, world.claim.generation, "failing")]
    assert world.queue.last.failures == 31 and world.queue.last.release


async def test_an_endpoint_failing_for_less_than_the_window_is_kept() -> None:
    world = World(failures=30, failing_for_seconds=SETTINGS.retry_window_seconds - 60)
    world.add(uuid4())
    world.http.by_call = [BROKEN]

    await world.run()

    assert world.queue.disabled == []
    assert world.queue.last.failures == 31
    assert world.queue.last.delay_seconds <= SETTINGS.retry_max_seconds


# --- the claim lost ------------------------------------------------------------------------


async def test_a_claim_lost_between_rounds_stops_the_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(webhook_deliveries, "ROUND_EVENTS", 2)
    world = World()
    for _ in range(5):
        world.add(uuid4())
    world.queue.holds = False

    await world.run()

    assert sorted(world.http.posted) == [1, 2]
    assert world.queue.reads == [0]
    assert len(world.queue.recorded) == 1
    assert world.more_events_calls == 0
    assert world.queue.disabled == []


async def test_rounds_hold_at_most_so_many_events(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(webhook_deliveries, "ROUND_EVENTS", 2)
    world = World()
    for _ in range(5):
        world.add(uuid4())

    await world.run()

    assert world.queue.reads == [0, 2, 4, 5]
    assert [r.last_event_id for r in world.queue.recorded] == [2, 4, 5, 5]
    assert [r.release for r in world.queue.recorded] == [False, False, False, True]


async def test_a_claim_lost_while_a_round_runs_starts_no_further_attempt() -> None:
    # The lease is renewed every lease_seconds / 3: here at once.
    world = World(settings=replace(SETTINGS, lease_seconds=0.03))
    conversation = uuid4()
    for _ in range(3):
        world.add(conversation)
    world.queue.holds = False
    # The first attempt answers once a renewal found the claim gone.
    world.http.gates[1] = world.queue.lost

    await world.run()

    assert world.http.posted == [1]
    assert not any(r.release for r in world.queue.recorded)
    assert world.queue.disabled == []
    assert world.more_events_calls == 0


async def test_a_claim_lost_when_recording_a_failure_disables_nothing() -> None:
    world = World()
    world.add(uuid4())
    world.http.by_call = [GONE]
    world.queue.holds = False

    await world.run()

    assert world.queue.last.release
    assert world.queue.disabled == []
