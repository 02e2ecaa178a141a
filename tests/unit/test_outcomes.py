"""Recording what became of a send (services/conversations/use_cases/outcomes.py): recorded only
while the message is sending under its claim; a status webhook that got there first is the
outcome; otherwise why it was not recorded."""

from uuid import uuid4

import pytest

from services.conversations.domain.errors import FailedPrecondition, NotFound
from services.conversations.domain.model import Message, MessageStatus
from services.conversations.domain.outbound import SYNC_SEND_CLAIM
from services.conversations.use_cases.outcomes import Outcomes
from tests.unit.fakes import FakeMessageStore, new_message

ACCOUNT, CONVERSATION = uuid4(), uuid4()


@pytest.fixture
def store() -> FakeMessageStore:
    return FakeMessageStore()


@pytest.fixture
def outcomes(store: FakeMessageStore) -> Outcomes:
    return Outcomes(store, store)


def sending(store: FakeMessageStore, claim: int = SYNC_SEND_CLAIM) -> Message:
    return store.add(new_message(ACCOUNT, CONVERSATION, MessageStatus.SENDING), claim)


# --- sent ------------------------------------------------------------------------------


async def test_sent_is_recorded_with_its_whatsapp_id(store: FakeMessageStore, outcomes: Outcomes) -> None:
    message = sending(store)
    recorded = await outcomes.record_sent(ACCOUNT, message.id, "wamid.1")
    assert recorded is not None
    assert (recorded.status, recorded.wa_message_id) == (MessageStatus.SENT, "wamid.1")
    assert store.messages[message.id] == recorded


async def test_a_sync_outcome_is_recorded_under_claim_zero(
    store: FakeMessageStore, outcomes: Outcomes
) -> None:
    message = sending(store, claim=2)  # taken over by the outbox
    assert await outcomes.record_sent(ACCOUNT, message.id, "wamid.1") is None
    assert store.messages[message.id].status == MessageStatus.SENDING


async def test_an_outbox_outcome_is_recorded_under_its_claim(
    store: FakeMessageStore, outcomes: Outcomes
) -> None:
    message = sending(store, claim=3)
    assert await outcomes.record_sent(ACCOUNT, message.id, "wamid.1", claim=2) is None
    assert await outcomes.record_sent(ACCOUNT, message.id, "wamid.1", claim=3) is not None


async def test_sent_after_a_webhook_with_the_same_id_answers_the_message(
    store: FakeMessageStore, outcomes: Outcomes
) -> None:
    message = sending(store)
    store.change(message.id, status=MessageStatus.DELIVERED, wa_message_id="wamid.1")
    recorded = await outcomes.record_sent(ACCOUNT, message.id, "wamid.1")
    assert recorded is not None
    assert recorded.status == MessageStatus.DELIVERED


async def test_sent_after_a_webhook_with_another_id_is_not_recorded(
    store: FakeMessageStore, outcomes: Outcomes
) -> None:
    message = sending(store)
    store.change(message.id, status=MessageStatus.DELIVERED, wa_message_id="wamid.other")
    assert await outcomes.record_sent(ACCOUNT, message.id, "wamid.1") is None


async def test_sent_for_another_accounts_message_is_not_recorded(
    store: FakeMessageStore, outcomes: Outcomes
) -> None:
    message = sending(store)
    assert await outcomes.record_sent(uuid4(), message.id, "wamid.1") is None
    assert store.messages[message.id].status == MessageStatus.SENDING


# --- failed ----------------------------------------------------------------------------


async def test_failed_is_recorded_with_its_error(store: FakeMessageStore, outcomes: Outcomes) -> None:
    message = sending(store)
    recorded = await outcomes.record_failed(ACCOUNT, message.id, "131026", "undeliverable")
    assert recorded is not None
    assert (recorded.status, recorded.error_code, recorded.error_message) == (
        MessageStatus.FAILED,
        "131026",
        "undeliverable",
    )


@pytest.mark.parametrize("status", [MessageStatus.SENT, MessageStatus.DELIVERED, MessageStatus.READ])
async def test_failed_after_whatsapp_said_it_has_the_message_answers_the_message(
    store: FakeMessageStore, outcomes: Outcomes, status: MessageStatus
) -> None:
    message = sending(store)
    store.change(message.id, status=status, wa_message_id="wamid.1")
    recorded = await outcomes.record_failed(ACCOUNT, message.id, "timeout", "no answer")
    assert recorded is not None
    assert (recorded.status, recorded.error_code) == (status, None)


async def test_failed_after_whatsapps_own_failed_status_answers_whatsapps_failure(
    store: FakeMessageStore, outcomes: Outcomes
) -> None:
    message = sending(store)
    store.change(message.id, status=MessageStatus.FAILED, wa_message_id="wamid.1", error_code="131026")
    recorded = await outcomes.record_failed(ACCOUNT, message.id, "timeout", "no answer")
    assert recorded is not None
    assert (recorded.status, recorded.error_code) == (MessageStatus.FAILED, "131026")


async def test_failed_after_pigeon_failed_it_elsewhere_is_not_recorded(
    store: FakeMessageStore, outcomes: Outcomes
) -> None:
    message = sending(store)
    store.change(message.id, status=MessageStatus.FAILED, error_code="expired")  # no WhatsApp id
    assert await outcomes.record_failed(ACCOUNT, message.id, "timeout", "no answer") is None


async def test_failed_after_a_takeover_is_not_recorded(store: FakeMessageStore, outcomes: Outcomes) -> None:
    message = sending(store, claim=2)
    assert await outcomes.record_failed(ACCOUNT, message.id, "timeout", "no answer") is None
    assert store.messages[message.id].error_code is None


# --- why not ---------------------------------------------------------------------------


async def test_not_recorded_for_an_unknown_message_is_not_found(outcomes: Outcomes) -> None:
    assert isinstance(await outcomes.not_recorded(ACCOUNT, uuid4()), NotFound)


async def test_not_recorded_while_still_sending_is_a_takeover(
    store: FakeMessageStore, outcomes: Outcomes
) -> None:
    message = sending(store, claim=2)
    error = await outcomes.not_recorded(ACCOUNT, message.id)
    assert isinstance(error, FailedPrecondition)
    assert "taken over" in str(error)


async def test_not_recorded_for_a_message_not_sending_says_its_status(
    store: FakeMessageStore, outcomes: Outcomes
) -> None:
    message = store.add(new_message(ACCOUNT, CONVERSATION, MessageStatus.QUEUED), claim=None)
    error = await outcomes.not_recorded(ACCOUNT, message.id)
    assert isinstance(error, FailedPrecondition)
    assert "is queued, not sending" in str(error)
