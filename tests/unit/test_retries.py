"""What the outbox does after a failed attempt (services/conversations/domain/retries.py): retry
later and when, or fail for good and with which code; and the recipient's pause after
WhatsApp's pair rate limit; and the account's pause after a failure only an operator can mend."""

import pytest

from services.conversations.domain.retries import (
    PAIR_RATE_LIMIT_CODE,
    PAIR_RATE_LIMIT_PAUSE_SECONDS,
    Fail,
    Retry,
    RetryPolicy,
    account_pause_seconds,
    after_failure,
    backoff_seconds,
    recipient_pause_seconds,
)
from services.shared.vocabulary import FailureCode
from services.shared.whatsapp_errors import Failure, FailureClass, FailureKind, classify

POLICY = RetryPolicy(
    max_attempts=5,
    retry_base_seconds=1.0,
    retry_max_seconds=30.0,
    reconcile_seconds=30.0,
    account_pause_seconds=300.0,
)
# Long enough that the validity period never decides, unless a test says otherwise.
AN_HOUR = 3600.0


def failure(
    failure_class: FailureClass = FailureClass.RETRYABLE,
    code: str = "131000",
    retry_after: float = 0.0,
    kind: FailureKind | None = FailureKind.WHATSAPP_ERROR,
) -> Failure:
    return Failure(failure_class, kind, code, f"error {code}", retry_after_seconds=retry_after)


def highest(low: float, high: float) -> float:
    return high


def lowest(low: float, high: float) -> float:
    return low


# --- for good or again -----------------------------------------------------------------


@pytest.mark.parametrize("failure_class", [FailureClass.PERMANENT, FailureClass.NEEDS_OPERATOR])
def test_a_failure_that_is_not_retryable_fails_at_once_with_its_own_code(
    failure_class: FailureClass,
) -> None:
    decision = after_failure(failure(failure_class, "131026"), 1, 0.0, AN_HOUR, POLICY)
    assert decision == Fail("131026", "error 131026")


def test_reengagement_required_fails_with_pigeons_code() -> None:
    decision = after_failure(failure(FailureClass.REENGAGEMENT_REQUIRED, "131047"), 1, 0.0, AN_HOUR, POLICY)
    assert decision == Fail(FailureCode.REENGAGEMENT_REQUIRED, "error 131047")


def test_an_unknown_outcome_waits_the_reconcile_delay_not_the_backoff() -> None:
    # WhatsApp may have it: a status webhook gets RECONCILE_SECONDS to settle it first.
    unknown = failure(code=FailureCode.UNKNOWN_OUTCOME, kind=FailureKind.UNKNOWN_OUTCOME)
    decision = after_failure(unknown, 1, 0.0, AN_HOUR, POLICY, jitter=highest)
    assert decision == Retry(30.0, FailureCode.UNKNOWN_OUTCOME, "error unknown_outcome")
    later = after_failure(unknown, 4, 0.0, AN_HOUR, POLICY, jitter=highest)
    assert isinstance(later, Retry) and later.delay_seconds == 30.0


def test_a_retryable_failure_is_retried_with_its_code_and_text() -> None:
    decision = after_failure(failure(code="131000"), 1, 0.0, AN_HOUR, POLICY, jitter=highest)
    assert decision == Retry(1.0, "131000", "error 131000")


def test_a_sender_late_for_its_slot_is_retried_as_an_attempt() -> None:
    late = failure(code=FailureCode.LATE_FOR_SLOT, kind=FailureKind.LATE)
    assert isinstance(after_failure(late, 1, 0.0, AN_HOUR, POLICY), Retry)
    assert isinstance(after_failure(late, POLICY.max_attempts, 0.0, AN_HOUR, POLICY), Fail)


def test_the_last_attempt_gives_up_with_the_failures_code() -> None:
    assert isinstance(after_failure(failure(), POLICY.max_attempts - 1, 0.0, AN_HOUR, POLICY), Retry)
    decision = after_failure(failure(code="131000"), POLICY.max_attempts, 0.0, AN_HOUR, POLICY)
    assert isinstance(decision, Fail)
    assert decision.code == "131000"
    assert decision.text == f"gave up after {POLICY.max_attempts} attempts: error 131000"


def test_a_retry_due_after_the_validity_period_expires_the_message() -> None:
    # Attempt 3: the delay is 4 s (highest jitter); 10 s into a 13 s validity period.
    decision = after_failure(failure(code="131000"), 3, 10.0, 13.0, POLICY, jitter=highest)
    assert isinstance(decision, Fail)
    assert decision.code == FailureCode.EXPIRED
    assert "131000" in decision.text


def test_a_retry_due_within_the_validity_period_is_kept() -> None:
    decision = after_failure(failure(), 3, 10.0, 14.5, POLICY, jitter=highest)
    assert decision == Retry(4.0, "131000", "error 131000")


# --- when ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("attempt", "ceiling"), [(1, 1.0), (2, 2.0), (3, 4.0), (5, 16.0), (6, 30.0), (20, 30.0)]
)
def test_backoff_doubles_per_attempt_up_to_the_cap(attempt: int, ceiling: float) -> None:
    assert backoff_seconds(attempt, 1.0, 30.0, jitter=highest) == ceiling
    assert backoff_seconds(attempt, 1.0, 30.0, jitter=lowest) == ceiling / 2


def test_the_jitter_is_drawn_between_half_the_ceiling_and_the_ceiling() -> None:
    asked: list[tuple[float, float]] = []

    def jitter(low: float, high: float) -> float:
        asked.append((low, high))
        return 2.5

    assert backoff_seconds(3, 1.0, 30.0, jitter=jitter) == 2.5
    assert asked == [(2.0, 4.0)]


def test_the_default_jitter_stays_within_its_bounds() -> None:
    delays = {backoff_seconds(4, 1.0, 30.0) for _ in range(200)}
    assert all(4.0 <= delay <= 8.0 for delay in delays)
    assert len(delays) > 1


def test_retry_after_is_honoured_even_beyond_the_cap() -> None:
    decision = after_failure(failure(retry_after=45.0), 1, 0.0, AN_HOUR, POLICY, jitter=highest)
    assert isinstance(decision, Retry)
    assert decision.delay_seconds == 45.0


def test_a_retry_after_shorter_than_the_backoff_changes_nothing() -> None:
    decision = after_failure(failure(retry_after=0.5), 3, 0.0, AN_HOUR, POLICY, jitter=highest)
    assert isinstance(decision, Retry)
    assert decision.delay_seconds == 4.0


def test_retry_after_counts_against_the_validity_period() -> None:
    decision = after_failure(failure(retry_after=120.0), 1, 0.0, 60.0, POLICY, jitter=lowest)
    assert isinstance(decision, Fail)
    assert decision.code == FailureCode.EXPIRED


# --- the pair rate limit ---------------------------------------------------------------


def test_the_pair_rate_limit_pauses_the_recipient_for_at_least_metas_interval() -> None:
    assert recipient_pause_seconds(failure(code=PAIR_RATE_LIMIT_CODE)) == PAIR_RATE_LIMIT_PAUSE_SECONDS
    assert recipient_pause_seconds(failure(code=PAIR_RATE_LIMIT_CODE, retry_after=9.0)) == 9.0


@pytest.mark.parametrize("code", ["131000", "130429", FailureCode.TIMEOUT.value])
def test_other_failures_pause_no_recipient(code: str) -> None:
    assert recipient_pause_seconds(failure(code=code, retry_after=9.0)) == 0.0


def test_a_message_that_met_the_pair_rate_limit_waits_at_least_the_pause() -> None:
    decision = after_failure(failure(code=PAIR_RATE_LIMIT_CODE), 1, 0.0, AN_HOUR, POLICY, jitter=highest)
    assert decision == Retry(
        PAIR_RATE_LIMIT_PAUSE_SECONDS, PAIR_RATE_LIMIT_CODE, f"error {PAIR_RATE_LIMIT_CODE}"
    )


# --- the account's pause ---------------------------------------------------------------


@pytest.mark.parametrize("code", ["190", "131048", "131037", "131045", "133010"])
def test_a_failure_of_the_whole_account_requeues_at_once_without_an_attempt(code: str) -> None:
    operator = failure(classify(int(code)), code)
    assert operator.failure_class == FailureClass.NEEDS_OPERATOR
    assert account_pause_seconds(operator, POLICY) == 300.0
    # Even past the attempts limit and the validity period: the message did nothing wrong, and
    # the account's pause holds it (a claim after the pause fails it if it expired meanwhile).
    decision = after_failure(operator, POLICY.max_attempts, 10.0, 60.0, POLICY)
    assert decision == Retry(0.0, code, f"error {code}", account_pause=True)


@pytest.mark.parametrize("code", ["131053", "131049", "132015", "131026", "131000", "131056"])
def test_other_failures_pause_no_account(code: str) -> None:
    assert account_pause_seconds(failure(classify(int(code)), code), POLICY) == 0.0
