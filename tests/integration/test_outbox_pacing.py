"""A delivery that wakes too late for its pacing slot (its process stalled) goes back to
the queue for a new slot instead of calling WhatsApp: sent late, it would bunch with the
next slots and exceed the account's messages-per-second. On time, it is sent. A release
never undoes a claim that another replica has taken over since."""

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

import pytest
import pytest_asyncio
from pigeon.sender.v1 import sender_pb2
from prometheus_client import REGISTRY
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from services.conversations.adapters.database.database import Database
from services.conversations.adapters.sender_client import Sender
from services.conversations.domain.model import ClaimedMessage, Content, MessageStatus
from services.conversations.settings import OutboxSettings, SendPolicy
from services.conversations.use_cases.delivery import OutboxDelivery
from services.conversations.use_cases.directory import Directory
from services.conversations.use_cases.outbound import OutboundMessages
from services.conversations.use_cases.outcomes import Outcomes
from services.conversations.use_cases.templates import Templates
from tools.seed import SeededAccount

TEMPLATE = Content("template", b'{"name": "hello_world", "language": {"code": "en_US"}}', "")

SETTINGS = OutboxSettings(
    concurrency=4,
    max_attempts=3,
    retry_base_seconds=1.0,
    retry_max_seconds=2.0,
    lease_seconds=60.0,
    send_timeout_seconds=5.0,
    pacing_margin_seconds=0.3,
    pacing_horizon_seconds=0.25,
)


class RecordingSender:
    """Stands in for the sender service's gRPC client: records calls, WhatsApp accepts each,
    unless `late` (then the sender's answer to a call past its not_after time)."""

    def __init__(self) -> None:
        self.calls: list[sender_pb2.SendMessageRequest] = []
        self.late = False

    async def send(
        self, request: sender_pb2.SendMessageRequest, request_id: str = ""
    ) -> sender_pb2.SendMessageResponse:
        self.calls.append(request)
        if self.late:
            failure = sender_pb2.Failure(
                failure_class=sender_pb2.FAILURE_CLASS_RETRYABLE,
                kind=sender_pb2.FAILURE_KIND_LATE,
                code="late_for_slot",
            )
            return sender_pb2.SendMessageResponse(failure=failure)
        return sender_pb2.SendMessageResponse(
            accepted=sender_pb2.Accepted(wa_message_id=f"wamid.{len(self.calls)}")
        )


@pytest_asyncio.fixture(loop_scope="session")
async def pacing(
    database: str,
) -> AsyncIterator[tuple[Database, OutboundMessages, OutboxDelivery, RecordingSender]]:
    store = Database(database, 2)
    directory = Directory(store.directory, 60.0)
    outbound = OutboundMessages(directory, Templates(store.templates, 60.0), store.messages, SendPolicy())
    sender = RecordingSender()
    outcomes = Outcomes(store.messages, store.reads)
    delivery = OutboxDelivery(directory, store.outbox, outcomes, Sender(sender), SETTINGS)  # type: ignore[arg-type]
    yield store, outbound, delivery, sender
    await store.close()


def attempt(delivery: OutboxDelivery, message: ClaimedMessage, answered: float) -> Any:
    return delivery.attempt(message, answered, handed_over=lambda: None)


async def claimed(
    engine: AsyncEngine, outbound: OutboundMessages, account: SeededAccount, send_delay_seconds: float
) -> ClaimedMessage:
    """A queued message, claimed as a dispatcher's claim would (sending, attempt 1)."""
    message = (
        await outbound.create(
            UUID(account.account_id), UUID(account.conversation_ids[0]), "", TEMPLATE, queue=True
        )
    ).message
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "UPDATE messages SET status = 'sending', attempts = 1, claim = 1, lease_expires_at = now() + interval '1 minute'"
                " WHERE id = :id"
            ),
            {"id": message.id},
        )
    return ClaimedMessage(
        id=message.id,
        account_id=UUID(account.account_id),
        contact_wa_id=message.contact_wa_id,
        content=message.content,
        attempts=1,
        claim=1,
        send_delay_seconds=send_delay_seconds,
        expires_in_seconds=3600.0,
    )


async def take_over(engine: AsyncEngine, message_id: UUID) -> None:
    """What another replica's takeover of a claim leaves: the message sending under a new claim."""
    async with engine.begin() as connection:
        await connection.execute(
            text("UPDATE messages SET attempts = 2, claim = 2 WHERE id = :id"), {"id": message_id}
        )


def superseded_outcomes() -> float:
    return (
        REGISTRY.get_sample_value("pigeon_outbox_outcomes_total", {"outcome": "superseded", "code": ""})
        or 0.0
    )


async def state(engine: AsyncEngine, message_id: UUID) -> tuple[str, int]:
    async with engine.connect() as connection:
        row = (
            await connection.execute(
                text("SELECT status, attempts FROM messages WHERE id = :id"), {"id": message_id}
            )
        ).one()
    return row.status, row.attempts


@pytest.mark.asyncio(loop_scope="session")
async def test_a_delivery_too_late_for_its_slot_goes_back_to_the_queue(
    engine: AsyncEngine,
    account: SeededAccount,
    pacing: tuple[Database, OutboundMessages, OutboxDelivery, RecordingSender],
) -> None:
    _, outbound, delivery, sender = pacing
    late = await claimed(engine, outbound, account, send_delay_seconds=0.0)
    # The claim answered longer ago than half the margin: the slot has passed.
    answered = asyncio.get_running_loop().time() - SETTINGS.pacing_margin_seconds
    await attempt(delivery, late, answered)
    assert sender.calls == []
    # Queued again, its attempt not counted: the next claim gives it a new slot.
    assert await state(engine, late.id) == (MessageStatus.QUEUED.value, 0)


@pytest.mark.asyncio(loop_scope="session")
async def test_a_delivery_on_time_waits_for_its_slot_and_is_sent(
    engine: AsyncEngine,
    account: SeededAccount,
    pacing: tuple[Database, OutboundMessages, OutboxDelivery, RecordingSender],
) -> None:
    _, outbound, delivery, sender = pacing
    on_time = await claimed(engine, outbound, account, send_delay_seconds=0.2)
    loop = asyncio.get_running_loop()
    answered = loop.time()
    await attempt(delivery, on_time, answered)
    assert loop.time() >= answered + 0.2
    assert [call.biz_opaque_callback_data for call in sender.calls] == [str(on_time.id)]
    assert await state(engine, on_time.id) == (MessageStatus.SENT.value, 1)
    # The sender may start the WhatsApp call until three quarters of the margin after the slot.
    slot_wall_time = time.time() - (loop.time() - (answered + 0.2))
    assert sender.calls[0].not_after_unix_seconds == pytest.approx(
        slot_wall_time + SETTINGS.pacing_margin_seconds * 3 / 4, abs=0.05
    )


@pytest.mark.asyncio(loop_scope="session")
async def test_a_delivery_the_sender_found_too_late_goes_back_to_the_queue(
    engine: AsyncEngine,
    account: SeededAccount,
    pacing: tuple[Database, OutboundMessages, OutboxDelivery, RecordingSender],
) -> None:
    _, outbound, delivery, sender = pacing
    sender.late = True
    held_up = await claimed(engine, outbound, account, send_delay_seconds=0.0)
    await attempt(delivery, held_up, asyncio.get_running_loop().time())
    sender.late = False
    assert [call.biz_opaque_callback_data for call in sender.calls][-1:] == [str(held_up.id)]
    # Not sent: queued again for a later slot, the attempt counted and its cause recorded.
    assert await state(engine, held_up.id) == (MessageStatus.QUEUED.value, 1)
    async with engine.connect() as connection:
        code = await connection.scalar(
            text("SELECT error_code FROM messages WHERE id = :id"), {"id": held_up.id}
        )
    assert code == "late_for_slot"


@pytest.mark.asyncio(loop_scope="session")
async def test_a_release_leaves_a_claim_taken_over_since(
    engine: AsyncEngine,
    account: SeededAccount,
    pacing: tuple[Database, OutboundMessages, OutboxDelivery, RecordingSender],
) -> None:
    store, outbound, _, _ = pacing
    mine = await claimed(engine, outbound, account, send_delay_seconds=0.0)
    await take_over(engine, mine.id)
    await store.outbox.release([mine])
    assert await state(engine, mine.id) == (MessageStatus.SENDING.value, 2)


@pytest.mark.asyncio(loop_scope="session")
async def test_an_outcome_for_a_claim_taken_over_is_counted_and_leaves_the_new_claim(
    engine: AsyncEngine,
    account: SeededAccount,
    pacing: tuple[Database, OutboundMessages, OutboxDelivery, RecordingSender],
) -> None:
    _, outbound, delivery, sender = pacing
    before = superseded_outcomes()
    mine = await claimed(engine, outbound, account, send_delay_seconds=0.0)
    await take_over(engine, mine.id)
    await attempt(delivery, mine, asyncio.get_running_loop().time())
    assert [call.biz_opaque_callback_data for call in sender.calls][-1:] == [str(mine.id)]
    assert await state(engine, mine.id) == (MessageStatus.SENDING.value, 2)
    assert superseded_outcomes() == before + 1


@pytest.mark.asyncio(loop_scope="session")
async def test_an_outcome_a_status_webhook_already_recorded_is_not_a_takeover(
    engine: AsyncEngine,
    account: SeededAccount,
    pacing: tuple[Database, OutboundMessages, OutboxDelivery, RecordingSender],
) -> None:
    _, outbound, delivery, sender = pacing
    before = superseded_outcomes()
    mine = await claimed(engine, outbound, account, send_delay_seconds=0.0)
    async with engine.begin() as connection:  # WhatsApp's `delivered` came before the outcome write
        await connection.execute(
            text("UPDATE messages SET status = 'delivered', wa_message_id = :wamid WHERE id = :id"),
            {"id": mine.id, "wamid": f"wamid.{len(sender.calls) + 1}"},
        )
    await attempt(delivery, mine, asyncio.get_running_loop().time())
    assert await state(engine, mine.id) == (MessageStatus.DELIVERED.value, 1)
    assert superseded_outcomes() == before


@pytest.mark.asyncio(loop_scope="session")
async def test_after_a_pair_rate_limit_the_recipients_messages_take_turns(
    engine: AsyncEngine,
    account: SeededAccount,
    pacing: tuple[Database, OutboundMessages, OutboxDelivery, RecordingSender],
) -> None:
    store, outbound, _, _ = pacing
    queued = [
        (
            await outbound.create(
                UUID(account.account_id), UUID(account.conversation_ids[1]), "", TEMPLATE, queue=True
            )
        ).message
        for _ in range(3)
    ]
    first = queued[0]
    claimed = ClaimedMessage(first.id, first.account_id, first.contact_wa_id, TEMPLATE, 1, 1, 0.0, 60.0)
    await store.outbox.pause_recipient(claimed, 6.0)
    async with engine.connect() as connection:
        waits = (
            (
                await connection.execute(
                    text(
                        "SELECT extract(epoch FROM next_attempt_at - now()) FROM messages"
                        " WHERE id = ANY(CAST(:ids AS uuid[])) ORDER BY created_at, id"
                    ),
                    {"ids": [m.id for m in queued]},
                )
            )
            .scalars()
            .all()
        )
    # One pause apart, oldest first: not all due again at the same moment.
    assert [round(float(wait)) for wait in waits] == [6, 12, 18]
