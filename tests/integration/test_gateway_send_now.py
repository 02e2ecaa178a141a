"""The gateway's client for synchronous sends (services/gateway/send_now_client.py) over real gRPC,
against a conversations stand-in: sends that start together share one BatchSendNow call,
each gets its own result as soon as it is ready, and a send alone, a large one, or every
send to an older conversations without the batch call goes as its own SendNow."""

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import grpc
import pytest_asyncio
from pigeon.conversations.v1 import conversations_pb2 as pb
from pigeon.conversations.v1 import conversations_pb2_grpc as pb_grpc
from pigeon.messages.v1 import content_pb2

from services.gateway.batched_calls import MAX_BATCHED_REQUEST_BYTES
from services.gateway.errors import ApiError
from services.gateway.send_now_client import SendNowClient
from tests.fixtures.conversations_standin import serving


@dataclass
class Conversations(pb_grpc.ConversationsServicer):
    """Answers each send with a message whose id is the request's `to`, after `to`'s
    milliseconds when it is "slow<ms>"; NOT_FOUND for `to = "missing"`; DEADLINE_EXCEEDED (sent,
    its outcome not stored) for `to = "unstored"`."""

    batch_calls: list[list[str]] = field(default_factory=list)
    request_ids: list[list[str]] = field(default_factory=list)
    single_calls: list[str] = field(default_factory=list)
    knows_batches: bool = True
    batch_attempts: int = 0

    async def _send(self, request: pb.SendNowRequest) -> pb.SendNowResponse:
        to = request.message.to
        if to.startswith("slow"):
            await asyncio.sleep(int(to.removeprefix("slow")) / 1000)
        if to in ("missing", "unstored"):
            raise LookupError(to)
        return pb.SendNowResponse(message=pb.Message(id=to, status=pb.MESSAGE_STATUS_SENT))

    async def SendNow(
        self, request: pb.SendNowRequest, context: grpc.aio.ServicerContext
    ) -> pb.SendNowResponse:
        self.single_calls.append(request.message.to)
        try:
            return await self._send(request)
        except LookupError as missing:
            await context.abort(*_status(str(missing)))
            raise

    async def BatchSendNow(
        self, request: pb.BatchSendNowRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.BatchSendNowResult]:
        self.batch_attempts += 1
        if not self.knows_batches:
            await context.abort(grpc.StatusCode.UNIMPLEMENTED, "Method not found!")
        self.batch_calls.append([r.message.to for r in request.requests])
        self.request_ids.append(list(request.request_ids))

        async def one(index: int) -> pb.BatchSendNowResult:
            try:
                return pb.BatchSendNowResult(index=index, response=await self._send(request.requests[index]))
            except LookupError as missing:
                code, details = _status(str(missing))
                return pb.BatchSendNowResult(
                    index=index, error=pb.ItemStatus(code=code.value[0], message=details)
                )

        for next_done in asyncio.as_completed([one(i) for i in range(len(request.requests))]):
            yield await next_done


def _status(to: str) -> tuple[grpc.StatusCode, str]:
    if to == "unstored":
        return grpc.StatusCode.DEADLINE_EXCEEDED, "sent, its outcome could not be stored"
    return grpc.StatusCode.NOT_FOUND, "no such conversation"


@dataclass
class Setup:
    conversations: Conversations
    client: SendNowClient


@pytest_asyncio.fixture
async def setup() -> AsyncIterator[Setup]:
    conversations = Conversations()
    async with serving(conversations) as stub:
        client = SendNowClient(stub, timeout_seconds=5)
        yield Setup(conversations, client)
        await client.close()


def send_now(to: str, body: str = "hi") -> pb.SendNowRequest:
    content = content_pb2.Content(type="text", body_json=f'{{"body": "{body}"}}'.encode())
    return pb.SendNowRequest(message=pb.CreateOutboundMessageRequest(account_id="a", to=to, content=content))


async def test_sends_that_start_together_share_a_call_and_none_waits_for_another(setup: Setup) -> None:
    finished: list[str] = []

    async def send(to: str, request_id: str) -> str:
        response = await setup.client.send(send_now(to), request_id)
        finished.append(response.message.id)
        return response.message.id

    ids = await asyncio.gather(send("slow300", "r0"), send("15550001", "r1"), send("15550002", "r2"))

    assert ids == ["slow300", "15550001", "15550002"]  # each caller its own answer
    assert setup.conversations.batch_calls == [["slow300", "15550001", "15550002"]]
    assert setup.conversations.request_ids == [["r0", "r1", "r2"]]
    assert setup.conversations.single_calls == []
    assert finished[-1] == "slow300", "the quick sends were answered before the slow one"


async def test_a_send_alone_is_a_plain_call(setup: Setup) -> None:
    response = await setup.client.send(send_now("15550001"), "r0")

    assert response.message.id == "15550001"
    assert setup.conversations.single_calls == ["15550001"]
    assert setup.conversations.batch_calls == []


async def test_a_failed_send_in_a_call_fails_alone_with_its_own_status(setup: Setup) -> None:
    ok, missing = await asyncio.gather(
        setup.client.send(send_now("15550001"), "r0"),
        setup.client.send(send_now("missing"), "r1"),
        return_exceptions=True,
    )

    assert isinstance(ok, pb.SendNowResponse) and ok.message.id == "15550001"
    assert isinstance(missing, ApiError) and missing.status == 404
    assert len(setup.conversations.batch_calls) == 1


async def test_a_large_send_goes_alone(setup: Setup) -> None:
    large = send_now("15550002", body="x" * MAX_BATCHED_REQUEST_BYTES)

    await asyncio.gather(
        setup.client.send(send_now("15550001"), "r0"),
        setup.client.send(large, "r1"),
        setup.client.send(send_now("15550003"), "r2"),
    )

    assert setup.conversations.single_calls == ["15550002"]
    assert setup.conversations.batch_calls == [["15550001", "15550003"]]


async def test_an_older_conversations_gets_one_call_per_send(setup: Setup) -> None:
    setup.conversations.knows_batches = False

    first = await asyncio.gather(*(setup.client.send(send_now(f"155500{n}"), "r") for n in range(3)))
    again = await asyncio.gather(*(setup.client.send(send_now(f"155501{n}"), "r") for n in range(3)))
    missing, x = await asyncio.gather(
        setup.client.send(send_now("missing"), "r"),
        setup.client.send(send_now("x"), "r"),
        return_exceptions=True,
    )

    assert [r.message.id for r in first + again] == [f"155500{n}" for n in range(3)] + [
        f"155501{n}" for n in range(3)
    ]
    assert sorted(setup.conversations.single_calls) == sorted(
        [f"155500{n}" for n in range(3)] + [f"155501{n}" for n in range(3)] + ["missing", "x"]
    )
    assert setup.conversations.batch_attempts == 1  # asked once, not again within the minute
    assert isinstance(missing, ApiError) and missing.status == 404
    assert isinstance(x, pb.SendNowResponse) and x.message.id == "x"


async def test_the_gateways_own_deadline_is_an_unknown_outcome_not_a_retry_later(setup: Setup) -> None:
    # Conversations goes on with a send after the gateway stops waiting: it may be sent.
    client = SendNowClient(setup.client.stub, timeout_seconds=0.2)
    try:
        batched = await asyncio.gather(
            *(client.send(send_now(f"slow100{n}"), "r") for n in range(3)), return_exceptions=True
        )
        alone = await asyncio.gather(client.send(send_now("slow1003"), "r"), return_exceptions=True)
    finally:
        await client.close()

    assert setup.conversations.batch_calls == [["slow1000", "slow1001", "slow1002"]]
    assert setup.conversations.single_calls == ["slow1003"]
    for error in batched + alone:
        assert isinstance(error, ApiError), error
        assert (error.status, error.code) == (504, "outcome_unknown")
        assert "same Idempotency-Key" in error.message


async def test_a_send_whose_outcome_could_not_be_stored_is_an_unknown_outcome(setup: Setup) -> None:
    # Alone and in a batch call: WhatsApp may have it, so never "retry later" (503).
    alone = await asyncio.gather(setup.client.send(send_now("unstored"), "r0"), return_exceptions=True)
    batched = await asyncio.gather(
        setup.client.send(send_now("unstored"), "r1"),
        setup.client.send(send_now("15550001"), "r2"),
        return_exceptions=True,
    )
    for error in (alone[0], batched[0]):
        assert isinstance(error, ApiError)
        assert (error.status, error.code) == (504, "outcome_unknown")
    assert setup.conversations.single_calls == ["unstored"] and len(setup.conversations.batch_calls) == 1
