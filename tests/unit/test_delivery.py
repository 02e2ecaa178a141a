"""One delivery of a message the outbox claimed (services/conversations/use_cases/delivery.py):
sent at its slot and recorded under its claim; queued again, failed for good, or released,
as the failure and the clock say."""

import asyncio
import itertools
from dataclasses import replace
from uuid import uuid4

import pytest
from prometheus_client import REGISTRY

from services.conversations.domain.model import Accepted, ClaimedMessage, Message, MessageStatus
from services.conversations.domain.retries import PAIR_RATE_LIMIT_CODE, PAIR_RATE_LIMIT_PAUSE_SECONDS
from services.conversations.settings import OutboxSettings
from services.conversations.use_cases.delivery import OutboxDelivery
from services.conversations.use_cases.directory import Directory
from services.conversations.use_cases.outcomes import Outcomes
from services.shared.vocabulary import FailureCode
from services.shared.whatsapp_errors import Failure, FailureClass, FailureKind
from tests.unit.fakes import (
    TEXT,
    FakeDirectoryStore,
    FakeMessageStore,
    FakeOutbox,
    FakeSender,
    new_account,
    new_message,
)

SETTINGS = OutboxSettings(
    concurrency=8,
    max_attempts=3,
    retry_base_seconds=1.0,
    retry_max_seconds=60.0,
    lease_seconds=60.0,
    send_timeout_seconds=15.0,
    pacing_margin_seconds=0.2,
    pacing_horizon_seconds=1.0,
)
RETRYABLE = Failure(FailureClass.RETRYABLE, FailureKind.WHATSAPP_ERROR, "131000", "something went wrong")
PERMANENT = Failure(FailureClass.PERMANENT, FailureKind.WHATSAPP_ERROR, "131026", "undeliverable")
PAIR_LIMITED = Failure(
    FailureClass.RETRYABLE, FailureKind.WHATSAPP_ERROR, PAIR_RATE_LIMIT_CODE, "too many to one user"
)
TOKEN_EXPIRED = Failure(FailureClass.NEEDS_OPERATOR, FailureKind.WHATSAPP_ERROR, "190", "token expired")
LATE = Failure(FailureClass.RETRYABLE, FailureKind.LATE, FailureCode.LATE_FOR_SLOT, "too late for its slot")


class World:
    def __init__(self, *answers: Accepted | Failure, settings: OutboxSettings = SETTINGS) -> None:
        self.directory_store = FakeDirectoryStore()
        self.store = FakeMessageStore()
        self.outbox = FakeOutbox()
        self.sender = FakeSender(*answers)
        self.account = self.directory_store.add_account(new_account())
        self.delivery = OutboxDelivery(
            Directory(self.directory_store, 60.0),
            self.outbox,
            Outcomes(self.store, self.store),
            self.sender,
            settings,
        )
        self.handed_over = 0
        self.claims = itertools.count(1)

    def claimed(
        self, attempts: int = 1, send_delay: float = 0.0, expires_in: float = 3600.0
    ) -> ClaimedMessage:
        """A message claimed as attempt number `attempts`: `sending` under its claim in the store."""
        claim = next(self.claims)
        message = self.store.add(new_message(self.account.id, uuid4(), MessageStatus.SENDING), claim)
        return ClaimedMessage(
            message.id, self.account.id, message.contact_wa_id, TEXT, attempts, claim, send_delay, expires_in
        )

    async def attempt(self, claim: ClaimedMessage, claimed_ago: float = 0.0) -> Message:
        def handed_over() -> None:
            self.handed_over += 1

        await self.delivery.attempt(claim, asyncio.get_running_loop().time() - claimed_ago, handed_over)
        return self.store.messages[claim.id]


# --- sent ------------------------------------------------------------------------------


async def test_an_accepted_message_is_recorded_sent_under_its_claim() -> None:
    w = World()
    claim = w.claimed(attempts=2)
    message = await w.attempt(claim)
    assert (message.status, message.wa_message_id) == (MessageStatus.SENT, f"wamid.{claim.id}")
    assert [o.claim for o in w.store.outcomes] == [claim.claim]
    assert w.handed_over == 1


async def test_the_sender_gets_the_accounts_number_and_a_time_limit_within_the_margin() -> None:
    w = World()
    claim = w.claimed()
    before = asyncio.get_running_loop().time()
    await w.attempt(claim)
    [sent] = w.sender.sent
    assert (sent.phone_number_id, sent.access_token, sent.to, sent.message_id) == (
        w.account.phone_number_id,
        w.account.access_token,
        claim.contact_wa_id,
        claim.id,
    )
    assert sent.send_by is not None
    assert before + 0.15 <= sent.send_by <= w.sender.sent_at[0] + 0.15


async def test_a_message_waits_for_its_slot() -> None:
    w = World()
    started = asyncio.get_running_loop().time()
    await w.attempt(w.claimed(send_delay=0.03))
    assert w.sender.sent_at[0] - started >= 0.029


async def test_a_sent_outcome_for_a_claim_taken_over_is_not_recorded() -> None:
    w = World()
    claim = w.claimed(attempts=1)
    w.store.claims[claim.id] = claim.claim + 100  # another replica's claim now
    message = await w.attempt(claim)
    assert message.status == MessageStatus.SENDING


async def test_a_sent_outcome_is_written_again_while_the_database_is_away() -> None:
    w = World()
    w.store.record_faults.append(ConnectionError("database restarting"))
    message = await w.attempt(w.claimed())
    assert message.status == MessageStatus.SENT
    assert len(w.store.outcomes) == 2


async def test_a_sent_outcome_is_given_up_when_the_lease_is_about_to_end() -> None:
    w = World(settings=replace(SETTINGS, lease_seconds=1.0))
    w.store.record_faults.append(ConnectionError("database restarting"))
    with pytest.raises(ConnectionError):
        await w.attempt(w.claimed())
    assert len(w.store.outcomes) == 1


# --- failed ----------------------------------------------------------------------------


async def test_a_retryable_failure_is_queued_again_with_a_backoff() -> None:
    w = World(RETRYABLE)
    claim = w.claimed(attempts=1)
    message = await w.attempt(claim)
    [(message_id, delay, code, text)] = w.outbox.requeued
    assert (message_id, code, text) == (claim.id, "131000", "something went wrong")
    assert 0.5 <= delay <= 1.0  # attempt 1: between half the base and the base
    assert message.status == MessageStatus.SENDING  # the requeue is the outbox's write
    assert w.outbox.paused == []


async def test_a_permanent_failure_fails_the_message() -> None:
    w = World(PERMANENT)
    claim = w.claimed(attempts=2)
    message = await w.attempt(claim)
    assert (message.status, message.error_code, message.error_message) == (
        MessageStatus.FAILED,
        "131026",
        "undeliverable",
    )
    assert w.outbox.requeued == []
    assert [o.claim for o in w.store.outcomes] == [claim.claim]


async def test_the_last_attempt_fails_the_message() -> None:
    w = World(RETRYABLE)
    message = await w.attempt(w.claimed(attempts=SETTINGS.max_attempts))
    assert (message.status, message.error_code) == (MessageStatus.FAILED, "131000")
    assert w.outbox.requeued == []


async def test_a_retry_due_after_the_validity_period_fails_the_message_expired() -> None:
    w = World(RETRYABLE)
    message = await w.attempt(w.claimed(expires_in=0.4))  # the retry is due 0.5 s to 1 s later
    assert (message.status, message.error_code) == (MessageStatus.FAILED, FailureCode.EXPIRED)


async def test_the_pair_rate_limit_pauses_the_recipients_other_messages() -> None:
    w = World(PAIR_LIMITED)
    claim = w.claimed()
    await w.attempt(claim)
    [(_, delay, code, _)] = w.outbox.requeued
    assert (delay, code) == (PAIR_RATE_LIMIT_PAUSE_SECONDS, PAIR_RATE_LIMIT_CODE)
    assert w.outbox.paused == [(w.account.id, claim.contact_wa_id, PAIR_RATE_LIMIT_PAUSE_SECONDS)]


async def test_the_recipient_is_paused_even_when_the_message_fails_for_good() -> None:
    w = World(PAIR_LIMITED)
    claim = w.claimed(attempts=SETTINGS.max_attempts)
    message = await w.attempt(claim)
    assert message.status == MessageStatus.FAILED
    assert w.outbox.paused == [(w.account.id, claim.contact_wa_id, PAIR_RATE_LIMIT_PAUSE_SECONDS)]


async def test_an_expired_access_token_pauses_the_account_even_on_the_last_attempt() -> None:
    w = World(TOKEN_EXPIRED, settings=replace(SETTINGS, account_pause_seconds=120.0))
    claim = w.claimed(attempts=SETTINGS.max_attempts, expires_in=60.0)
    message = await w.attempt(claim)
    assert message.status == MessageStatus.SENDING  # the requeue is the outbox's write
    assert w.outbox.requeued == [(claim.id, 0.0, "190", "token expired")]
    assert w.outbox.attempts_given_back == [claim.id]
    assert w.outbox.accounts_paused == [(w.account.id, 120.0)]
    assert w.outbox.paused == [] and w.outbox.pauses_ended == []


async def test_other_operator_failures_fail_the_message_and_pause_nothing() -> None:
    w = World(
        Failure(FailureClass.NEEDS_OPERATOR, FailureKind.WHATSAPP_ERROR, "131053", "media upload failed")
    )
    message = await w.attempt(w.claimed())
    assert (message.status, message.error_code) == (MessageStatus.FAILED, "131053")
    assert w.outbox.accounts_paused == []


@pytest.mark.parametrize(
    ("answer", "outcome"),
    [
        (None, "ended"),  # taken
        (PERMANENT, "ended"),  # refused for this message alone: the account is fine
        (TOKEN_EXPIRED, "paused again"),
        (Failure(FailureClass.RETRYABLE, FailureKind.TIMEOUT, FailureCode.TIMEOUT, "no answer"), "passed on"),
    ],
)
async def test_a_probe_ends_the_accounts_pause_when_whatsapp_answers_it_otherwise(
    answer: Failure | None, outcome: str
) -> None:
    w = World(*([answer] if answer else []))
    await w.attempt(replace(w.claimed(), probe=True))
    assert w.outbox.pauses_ended == ([w.account.id] if outcome == "ended" else [])
    assert w.outbox.probes_passed == ([w.account.id] if outcome == "passed on" else [])
    assert bool(w.outbox.accounts_paused) == (outcome == "paused again")


async def test_a_message_that_is_no_probe_ends_no_pause() -> None:
    w = World()
    await w.attempt(w.claimed())
    assert w.outbox.pauses_ended == [] and w.outbox.probes_passed == []


@pytest.mark.parametrize("never_sent", ["expired", "late"])
async def test_a_probe_never_sent_passes_the_probe_on_at_once(never_sent: str) -> None:
    w = World()
    claim = replace(w.claimed(expires_in=0.0 if never_sent == "expired" else 3600.0), probe=True)
    await w.attempt(claim, claimed_ago=1.0 if never_sent == "late" else 0.0)
    assert w.sender.sent == []
    assert w.outbox.probes_passed == [w.account.id] and w.outbox.pauses_ended == []


async def test_a_probe_taken_is_recorded_sent_even_when_its_pause_cannot_be_ended() -> None:
    w = World()
    w.outbox.database_down = True
    message = await w.attempt(replace(w.claimed(), probe=True))
    assert message.status == MessageStatus.SENT
    assert w.outbox.pauses_ended == []  # left to the probe's hold to lapse


async def test_the_sender_late_for_the_slot_queues_it_again_as_an_attempt() -> None:
    w = World(LATE)
    claim = w.claimed()
    await w.attempt(claim)
    assert [(m, code) for m, _, code, _ in w.outbox.requeued] == [(claim.id, FailureCode.LATE_FOR_SLOT)]


async def test_a_requeue_for_a_claim_taken_over_changes_nothing_else() -> None:
    w = World(RETRYABLE)
    w.outbox.still_claimed = False
    message = await w.attempt(w.claimed())
    assert len(w.outbox.requeued) == 1
    assert message.status == MessageStatus.SENDING


# --- before any call -------------------------------------------------------------------


async def test_a_message_expired_by_its_slot_fails_without_a_call() -> None:
    w = World()
    message = await w.attempt(w.claimed(expires_in=1.0), claimed_ago=1.0)
    assert (message.status, message.error_code) == (MessageStatus.FAILED, FailureCode.EXPIRED)
    assert (w.sender.sent, w.handed_over) == ([], 0)


async def test_a_message_woken_late_for_its_slot_is_released_without_a_call() -> None:
    w = World()
    claim = w.claimed()
    late = SETTINGS.pacing_margin_seconds * 0.6  # over half the margin
    message = await w.attempt(claim, claimed_ago=late)
    assert w.outbox.released == [claim.id]
    assert (w.sender.sent, w.handed_over) == ([], 0)
    assert message.status == MessageStatus.SENDING
    assert w.store.outcomes == []


async def test_a_message_a_little_late_for_its_slot_is_sent() -> None:
    w = World()
    message = await w.attempt(w.claimed(), claimed_ago=SETTINGS.pacing_margin_seconds / 4)
    assert message.status == MessageStatus.SENT
    assert w.outbox.released == []


# --- metrics ---------------------------------------------------------------------------


def outbox_count(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_an_unknown_whatsapp_code_is_counted_as_other_and_kept_on_the_message() -> None:
    invented = Failure(FailureClass.PERMANENT, FailureKind.WHATSAPP_ERROR, "424242", "new to pigeon")
    failed = {"outcome": "failed"}
    before = outbox_count("pigeon_outbox_outcomes_total", **failed, code="other")
    w = World(invented)
    message = await w.attempt(w.claimed())
    assert message.error_code == "424242"
    assert outbox_count("pigeon_outbox_outcomes_total", **failed, code="other") == before + 1
    assert outbox_count("pigeon_outbox_outcomes_total", **failed, code="424242") == 0


async def test_a_retry_after_an_unknown_code_is_counted_as_other() -> None:
    invented = Failure(FailureClass.RETRYABLE, FailureKind.WHATSAPP_ERROR, "424243", "try again")
    before = outbox_count("pigeon_outbox_retries_total", code="other")
    known_before = outbox_count("pigeon_outbox_retries_total", code="131000")
    w = World(invented, RETRYABLE)
    await w.attempt(w.claimed(attempts=1))
    await w.attempt(w.claimed(attempts=1))
    assert [code for _, _, code, _ in w.outbox.requeued] == ["424243", "131000"]
    assert outbox_count("pigeon_outbox_retries_total", code="other") == before + 1
    assert outbox_count("pigeon_outbox_retries_total", code="131000") == known_before + 1
    assert outbox_count("pigeon_outbox_retries_total", code="424243") == 0
