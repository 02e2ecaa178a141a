"""The gateway's client for queued sends (services/gateway/queued_sends_client.py) over real gRPC,
against a conversations stand-in whose answers and timing the tests control: concurrent
requests share a call, each gets its own answer by its own deadline, and large requests
or an older conversations without the batch call get one call each."""

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import grpc
import orjson
import pytest_asyncio
from pigeon.conversations.v1 import conversations_pb2 as pb
from pigeon.conversations.v1 import conversations_pb2_grpc as pb_grpc
from pigeon.messages.v1 import content_pb2

from services.gateway.batched_calls import MAX_BATCHED_REQUEST_BYTES
from services.gateway.queued_sends_client import QueuedSendClient
from tests.fixtures.conversations_standin import serving


@dataclass
class Conversations(pb_grpc.ConversationsServicer):
    """Answers each request with a message whose id is the request's `to`, NOT_FOUND for
    `to = "missing"`. Calls wait while `gate` is clear, and batch calls take the next of
    `batch_seconds` (if any) before answering."""

    batch_calls: list[list[str]] = field(default_factory=list)
    request_ids: list[list[str]] = field(default_factory=list)
    single_calls: list[str] = field(default_factory=list)
    gate: asyncio.Event = field(default_factory=asyncio.Event)
    batch_seconds: list[float] = field(default_factory=list)
    knows_batches: bool = True
    drop_a_result: bool = False

    def __post_init__(self) -> None:
        self.gate.set()

    async def _answer(self, request: pb.CreateOutboundMessageRequest) -> pb.CreateOutboundMessageResult:
        if request.to == "missing":
            return pb.CreateOutboundMessageResult(
                error=pb.ItemStatus(code=grpc.StatusCode.NOT_FOUND.value[0], message="no such conversation")
            )
        created = pb.CreateOutboundMessageResponse(message=pb.Message(id=request.to))
        return pb.CreateOutboundMessageResult(created=created)

    async def BatchCreateOutboundMessages(
        self, request: pb.BatchCreateOutboundMessagesRequest, context: grpc.aio.ServicerContext
    ) -> pb.BatchCreateOutboundMessagesResponse:
        if not self.knows_batches:
            await context.abort(grpc.StatusCode.UNIMPLEMENTED, "Method not found!")
        self.batch_calls.append([r.to for r in request.requests])
        self.request_ids.append(list(request.request_ids))
        await self.gate.wait()
        if self.batch_seconds:
            await asyncio.sleep(self.batch_seconds.pop(0))
        results = [await self._answer(r) for r in request.requests]
        return pb.BatchCreateOutboundMessagesResponse(results=results[:-1] if self.drop_a_result else results)

    async def CreateOutboundMessage(
        self, request: pb.CreateOutboundMessageRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateOutboundMessageResponse:
        self.single_calls.append(request.to)
        await self.gate.wait()
        result = await self._answer(request)
        if result.HasField("error"):
            await context.abort(grpc.StatusCode.NOT_FOUND, result.error.message)
        return result.created


@dataclass
class Setup:
    conversations: Conversations
    stub: pb_grpc.ConversationsStub


@pytest_asyncio.fixture
async def setup() -> AsyncIterator[Setup]:
    conversations = Conversations()
    async with serving(conversations) as stub:
        yield Setup(conversations, stub)
        conversations.gate.set()


def request(to: str, body: str = "hi") -> pb.CreateOutboundMessageRequest:
    content = content_pb2.Content(type="text", body_json=orjson.dumps({"body": body}))
    return pb.CreateOutboundMessageRequest(account_id="a", to=to, content=content, queue=True)


def answer(result: pb.CreateOutboundMessageResult) -> str:
    """The message id, or the status code's name."""
    if result.HasField("error"):
        return next(c.name for c in grpc.StatusCode if c.value[0] == result.error.code)
    return result.created.message.id


async def test_concurrent_requests_share_a_call_and_each_gets_its_own_answer(setup: Setup) -> None:
    client = QueuedSendClient(setup.stub, rpc_timeout=5)
    setup.conversations.gate.clear()
    first = asyncio.create_task(client.create(request("first"), "r-first"))
    await asyncio.sleep(0.1)  # its call is in flight, held
    others = [f"to-{n}" for n in range(10)] + ["missing"]
    waiting = [asyncio.create_task(client.create(request(to), f"r-{to}")) for to in others]
    await asyncio.sleep(0.1)
    setup.conversations.gate.set()

    assert answer(await first) == "first"
    assert [answer(await w) for w in waiting] == [*others[:-1], "NOT_FOUND"]
    assert setup.conversations.batch_calls == [["first"], others]
    assert setup.conversations.request_ids[1] == [f"r-{to}" for to in others]
    assert setup.conversations.single_calls == []
    await client.close()


async def test_a_large_request_goes_alone(setup: Setup) -> None:
    client = QueuedSendClient(setup.stub, rpc_timeout=5)
    large = request("large", body="x" * MAX_BATCHED_REQUEST_BYTES)
    assert answer(await client.create(large, "r")) == "large"
    assert answer(await client.create(request("small"), "r")) == "small"
    assert setup.conversations.single_calls == ["large"]
    assert setup.conversations.batch_calls == [["small"]]


async def test_an_older_conversations_gets_one_call_per_request(setup: Setup) -> None:
    setup.conversations.knows_batches = False
    client = QueuedSendClient(setup.stub, rpc_timeout=5)
    results = await asyncio.gather(*(client.create(request(to), "r") for to in ("one", "missing", "two")))
    assert [answer(r) for r in results] == ["one", "NOT_FOUND", "two"]
    assert sorted(setup.conversations.single_calls) == ["missing", "one", "two"]


async def test_an_answer_with_a_result_missing_fails_each_request(setup: Setup) -> None:
    setup.conversations.drop_a_result = True
    client = QueuedSendClient(setup.stub, rpc_timeout=5)
    results = await asyncio.gather(*(client.create(request(to), "r") for to in ("one", "two")))
    # Not one request's answer given to another: every request of the call fails.
    assert {answer(r) for r in results} == {"INTERNAL"}


async def test_each_request_keeps_its_own_deadline(setup: Setup) -> None:
    """A held call: the first request gives up at its deadline; two that waited for it go
    together in the next call, and each gives up at its own deadline, not the other's."""
    timeout = 0.6
    client = QueuedSendClient(setup.stub, rpc_timeout=timeout)
    setup.conversations.gate.clear()
    started = time.monotonic()

    async def timed(to: str, delay: float) -> tuple[str, float]:
        await asyncio.sleep(delay)
        began = time.monotonic()
        result = await client.create(request(to), "r")
        return answer(result), time.monotonic() - began

    results = await asyncio.gather(timed("held", 0), timed("early", 0.1), timed("late", 0.4))
    for to, (status, elapsed) in zip(("held", "early", "late"), results, strict=True):
        assert status == "DEADLINE_EXCEEDED", (to, status)
        assert timeout - 0.05 <= elapsed < timeout + 0.25, (to, elapsed)
    assert setup.conversations.batch_calls == [["held"], ["early", "late"]]
    assert time.monotonic() - started < 0.4 + timeout + 0.4
    await client.close()


async def test_a_slow_call_does_not_cut_the_next_requests_short(setup: Setup) -> None:
    """The next call gets the newest request's time: one that arrived just before it
    starts is answered even when the call ahead took most of the older one's time."""
    timeout = 0.6
    client = QueuedSendClient(setup.stub, rpc_timeout=timeout)
    setup.conversations.batch_seconds = [0.55, 0.3]
    held = asyncio.create_task(client.create(request("held"), "r"))
    await asyncio.sleep(0.1)
    old = asyncio.create_task(client.create(request("old"), "r"))
    await asyncio.sleep(0.4)
    new = asyncio.create_task(client.create(request("new"), "r"))

    assert answer(await held) == "held"  # in 0.55 s of its 0.6
    # Old and new go together at 0.55 s, in a call of 0.3 s: past old's own deadline (0.7 s),
    # well within new's (1.1 s).
    assert answer(await old) == "DEADLINE_EXCEEDED"
    assert answer(await new) == "new"
    assert setup.conversations.batch_calls == [["held"], ["old", "new"]]
    await client.close()
