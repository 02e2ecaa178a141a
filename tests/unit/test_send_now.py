"""A synchronous send in one call (services/conversations/use_cases/send_now.py): stored, sent
after its pacing slot, its outcome recorded; a replay or a refusal calls nobody; a caller
that goes away does not stop it halfway."""

import asyncio
from uuid import UUID

import pytest

from services.conversations.domain.errors import FailedPrecondition, OutcomeUnknown, Unavailable
from services.conversations.domain.model import Accepted, MessageStatus, OutgoingMessage
from services.conversations.settings import SendPolicy
from services.conversations.use_cases.directory import Directory
from services.conversations.use_cases.outbound import OutboundMessages
from services.conversations.use_cases.outcomes import Outcomes
from services.conversations.use_cases.send_now import SendNow, SendNowResult
from services.conversations.use_cases.templates import Templates
from services.shared.vocabulary import FailureCode
from services.shared.whatsapp_errors import Failure, FailureClass, FailureKind
from tests.unit.fakes import (
    TEXT,
    FakeDirectoryStore,
    FakeMessageStore,
    FakeSender,
    FakeTemplateStore,
    new_account,
)

MARGIN = 0.04
UNDELIVERABLE = Failure(FailureClass.PERMANENT, FailureKind.WHATSAPP_ERROR, "131026", "undeliverable")
TIMEOUT = Failure(FailureClass.RETRYABLE, FailureKind.TIMEOUT, FailureCode.TIMEOUT, "no answer in time")


class World:
    def __init__(self, sender: FakeSender, margin: float, lease: float = 60.0) -> None:
        self.directory_store = FakeDirectoryStore()
        self.store = FakeMessageStore()
        self.sender = sender
        self.account = self.directory_store.add_account(new_account())
        self.conversation = self.directory_store.add_conversation(self.account.id, "15550001111")
        directory = Directory(self.directory_store, 60.0)
        policy = SendPolicy(pacing_margin_seconds=margin, sync_lease_seconds=lease)
        self.send_now = SendNow(
            OutboundMessages(directory, Templates(FakeTemplateStore(), 60.0), self.store, policy),
            Outcomes(self.store, self.store),
            sender,
        )

    async def send(
        self, key: str = "", request_hash: bytes = b"h", answer_within: float | None = None
    ) -> SendNowResult:
        return await self.send_now.send(
            self.account.id,
            self.conversation.id,
            "",
            TEXT,
            key,
            request_hash,
            request_id="req-1",
            answer_within=answer_within,
        )


def world(*answers: Accepted | Failure, margin: float = MARGIN) -> World:
    return World(FakeSender(*answers), margin)


async def test_an_accepted_send_is_recorded_sent() -> None:
    w = world()
    result = await w.send()
    assert (result.message.status, result.failure, result.replayed) == (MessageStatus.SENT, None, False)
    assert result.message.wa_message_id == f"wamid.{result.message.id}"
    assert w.store.messages[result.message.id] == result.message


async def test_the_sender_gets_the_message_for_the_conversations_contact() -> None:
    w = world()
    result = await w.send()
    [sent] = w.sender.sent
    assert sent == OutgoingMessage(
        w.account.phone_number_id,
        w.account.access_token,
        "15550001111",
        TEXT,
        result.message.id,
        w.account.id,
    )
    assert w.sender.request_ids == ["req-1"]


async def test_a_failed_send_is_recorded_failed_with_the_failure() -> None:
    w = world(UNDELIVERABLE)
    result = await w.send()
    assert result.failure == UNDELIVERABLE
    assert (result.message.status, result.message.error_code) == (MessageStatus.FAILED, "131026")


async def test_a_failure_after_a_webhook_said_whatsapp_has_it_is_no_failure() -> None:
    w = world(TIMEOUT)

    def delivered_meanwhile(message: OutgoingMessage) -> None:
        w.store.change(message.message_id, status=MessageStatus.DELIVERED, wa_message_id="wamid.1")

    w.sender.meanwhile = delivered_meanwhile
    result = await w.send()
    assert result.failure is None
    assert result.message.status == MessageStatus.DELIVERED


async def test_an_accepted_send_that_whatsapp_reported_failed_first_answers_the_failed_message() -> None:
    w = world()

    def failed_meanwhile(message: OutgoingMessage) -> None:
        # WhatsApp's `failed` status, matched by pigeon's id, before the outcome was written.
        w.store.change(
            message.message_id,
            status=MessageStatus.FAILED,
            wa_message_id=f"wamid.{message.message_id}",
            error_code="131026",
        )

    w.sender.meanwhile = failed_meanwhile
    result = await w.send()
    assert (result.message.status, result.message.error_code) == (MessageStatus.FAILED, "131026")


async def test_a_send_taken_over_meanwhile_raises_failed_precondition() -> None:
    w = world()

    def taken_over(message: OutgoingMessage) -> None:
        w.store.claims[message.message_id] = 1  # the outbox took it over

    w.sender.meanwhile = taken_over
    with pytest.raises(FailedPrecondition, match="taken over"):
        await w.send()


async def test_a_send_refused_by_the_store_calls_nobody() -> None:
    w = world()
    w.store.refusal = (FailureCode.REENGAGEMENT_REQUIRED, "outside the 24 h window")
    result = await w.send()
    assert w.sender.sent == []
    assert (result.message.status, result.failure) == (MessageStatus.FAILED, None)
    assert w.store.outcomes == []


async def test_a_replay_answers_the_original_and_calls_nobody_again() -> None:
    w = world()
    original = await w.send(key="k1")
    replay = await w.send(key="k1")
    assert replay.replayed
    assert replay.message == original.message
    assert len(w.sender.sent) == 1


async def test_a_send_waits_for_its_pacing_slot() -> None:
    w = world()
    w.store.send_delay_seconds = 0.03  # more than a quarter of the margin
    started = asyncio.get_running_loop().time()
    await w.send()
    assert w.sender.sent_at[0] - started >= 0.029


async def test_a_send_whose_slot_is_within_a_quarter_margin_goes_at_once() -> None:
    w = world(margin=0.4)
    w.store.send_delay_seconds = 0.1  # a quarter of the margin: no wait (a wait would take 0.1 s)
    started = asyncio.get_running_loop().time()
    await w.send()
    assert w.sender.sent_at[0] - started < 0.05


async def test_a_send_whose_caller_went_away_is_still_sent_and_recorded() -> None:
    w = world()
    w.sender.gate = asyncio.Event()
    caller = asyncio.ensure_future(w.send())
    await asyncio.wait_for(w.sender.called.wait(), 1.0)
    caller.cancel()
    with pytest.raises(asyncio.CancelledError):
        await caller
    w.sender.gate.set()
    await w.send_now.drain(timeout_seconds=1.0)
    [message_id] = [m.message_id for m in w.sender.sent]
    assert w.store.messages[message_id].status == MessageStatus.SENT


async def test_drain_gives_up_after_its_timeout() -> None:
    w = world()
    w.sender.gate = asyncio.Event()
    caller = asyncio.ensure_future(w.send())
    await asyncio.wait_for(w.sender.called.wait(), 1.0)
    await w.send_now.drain(timeout_seconds=0.01)
    message_id: UUID = w.sender.sent[0].message_id
    assert w.store.messages[message_id].status == MessageStatus.SENDING
    w.sender.gate.set()
    assert (await caller).message.status == MessageStatus.SENT


# --- the outcome write fails (the database away) -----------------------------------------


async def test_an_outcome_write_that_fails_for_a_moment_is_retried_within_the_deadline() -> None:
    w = world()
    w.store.record_faults = [Unavailable("database unavailable")] * 2
    result = await w.send(answer_within=2.0)
    assert result.message.status == MessageStatus.SENT
    assert len(w.store.outcomes) == 3


async def test_an_outcome_not_written_by_the_deadline_is_unknown_and_still_written_after() -> None:
    # WhatsApp has the message: answered "retry later" the client would send it again, and
    # left `sending` the outbox would too once the lease ran out.
    w = world()
    w.store.record_faults = [Unavailable("database unavailable")] * 4  # 0.1 + 0.2 + 0.4 + 0.8 s
    with pytest.raises(OutcomeUnknown):
        await w.send(answer_within=0.5)
    [message] = w.store.messages.values()
    assert message.status == MessageStatus.SENDING
    await w.send_now.drain(5.0)
    assert (message.status, w.store.messages[message.id].status) == (
        MessageStatus.SENDING,
        MessageStatus.SENT,
    )


async def test_an_outcome_write_gives_up_before_the_lease_ends() -> None:
    w = World(FakeSender(), MARGIN, lease=1.2)
    w.store.record_faults = [Unavailable("database unavailable")] * 100
    started = asyncio.get_running_loop().time()
    with pytest.raises(OutcomeUnknown):
        await w.send(answer_within=10.0)
    # The lease (1.2 s) less the write's margin (1 s): after it the outbox may own the message.
    assert asyncio.get_running_loop().time() - started < 0.5
