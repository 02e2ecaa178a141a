"""What the outbox does after a queued message's attempt failed: try again later (when), or
fail it for good (with which code); after WhatsApp's pair rate limit, hold back the recipient's
other queued messages; and after a failure that stops every send of the account (an expired
access token, say), how long the account pauses, the message itself requeued rather than failed.

Pure: the failure, the attempt number, the time left in the message's validity period and
the policy in; the decision out. The randomness of the backoff's jitter is a parameter.
"""

import random
from collections.abc import Callable
from dataclasses import dataclass

from services.shared.vocabulary import FailureCode
from services.shared.whatsapp_errors import ACCOUNT_PAUSE_CODES, Failure, FailureClass, FailureKind

# 131056: too many messages to one user. Meta documents about one every 6 s before it.
PAIR_RATE_LIMIT_CODE = "131056"
PAIR_RATE_LIMIT_PAUSE_SECONDS = 6.0

Jitter = Callable[[float, float], float]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int
    retry_base_seconds: float
    retry_max_seconds: float
    # After an unknown outcome (WhatsApp may have the message), how long a status webhook
    # carrying pigeon's id has to settle it before it is sent again.
    reconcile_seconds: float
    # How long an account's queued messages wait after a failure only an operator can mend
    # for the whole account (`ACCOUNT_PAUSE_CODES`); a change to the account ends it sooner.
    account_pause_seconds: float


@dataclass(frozen=True, slots=True)
class Retry:
    """Back to the queue, due after `delay_seconds`; the failure recorded on the row."""

    delay_seconds: float
    code: str
    text: str
    # The failure was the account's (ACCOUNT_PAUSE_CODES), not the message's: this attempt is
    # given back (the account's pause holds every queued message of it meanwhile).
    account_pause: bool = False


@dataclass(frozen=True, slots=True)
class Fail:
    """Failed for good."""

    code: str
    text: str


def backoff_seconds(
    attempt: int, base: float, cap: float, retry_after: float = 0.0, jitter: Jitter = random.uniform
) -> float:
    """Exponential backoff with equal jitter (between half the ceiling and the ceiling), never
    sooner than WhatsApp asked."""
    ceiling = min(cap, base * 2 ** (attempt - 1))
    return max(retry_after, jitter(ceiling / 2, ceiling))


def recipient_pause_seconds(failure: Failure) -> float:
    """After WhatsApp's pair rate limit, how long each of the recipient's other queued messages
    waits after the one before it (paused alike, they would all fall due together and meet the
    limit again together); 0 after any other failure."""
    if failure.code != PAIR_RATE_LIMIT_CODE:
        return 0.0
    return max(failure.retry_after_seconds, PAIR_RATE_LIMIT_PAUSE_SECONDS)


def account_pause_seconds(failure: Failure, policy: RetryPolicy) -> float:
    """After a failure that stops every send of the account until an operator mends it, how
    long all of its queued messages wait; 0 after any other failure."""
    if failure.failure_class != FailureClass.NEEDS_OPERATOR or not failure.code.isdigit():
        return 0.0
    return policy.account_pause_seconds if int(failure.code) in ACCOUNT_PAUSE_CODES else 0.0


def after_failure(
    failure: Failure,
    attempts: int,
    elapsed_seconds: float,
    expires_in_seconds: float,
    policy: RetryPolicy,
    jitter: Jitter = random.uniform,
) -> Retry | Fail:
    """The decision after attempt number `attempts` failed, `elapsed_seconds` after the claim
    of a message whose validity period ends `expires_in_seconds` after it."""
    if failure.failure_class == FailureClass.REENGAGEMENT_REQUIRED:
        return Fail(FailureCode.REENGAGEMENT_REQUIRED, failure.message)
    if account_pause_seconds(failure, policy):
        # Due at once, however many attempts it had: the account's pause holds it, and a claim
        # after the pause fails it if its validity period ended meanwhile.
        return Retry(0.0, failure.code, failure.message, account_pause=True)
    if failure.failure_class != FailureClass.RETRYABLE:
        return Fail(failure.code, failure.message)
    # A call too late for its slot (not sent) is retryable too, and counted as an attempt:
    # a cause that persists (the sender's clock ahead) ends visibly failed, not cycling.
    retry_after = max(failure.retry_after_seconds, recipient_pause_seconds(failure))
    if failure.kind == FailureKind.UNKNOWN_OUTCOME:
        delay = max(retry_after, policy.reconcile_seconds)
    else:
        delay = backoff_seconds(
            attempts, policy.retry_base_seconds, policy.retry_max_seconds, retry_after, jitter
        )
    if attempts >= policy.max_attempts:
        return Fail(failure.code, f"gave up after {attempts} attempts: {failure.message}")
    if elapsed_seconds + delay >= expires_in_seconds:
        return Fail(
            FailureCode.EXPIRED,
            f"not sent within its validity period; last error {failure.code}: {failure.message}",
        )
    return Retry(delay, failure.code, failure.message)
