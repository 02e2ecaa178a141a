"""Delivering one message the outbox claimed: wait for its pacing slot, send it, record what
became of it (sent; failed for good; or queued again: `domain/retries.py` decides), and pause
the recipient or the whole account when WhatsApp says so. A paused account's probe (the one
message claimed once its pause passed) ends the pause when WhatsApp takes it.

Every write is made under the claim (its id, which no later claim of the message repeats): a
claim another replica took over after its lease ran out, or claimed again after a release,
stays with its new owner.
"""

import asyncio
import logging
from collections.abc import Callable

from services.conversations.domain.model import Accepted, ClaimedMessage, MessageStatus, OutgoingMessage
from services.conversations.domain.retries import (
    Fail,
    RetryPolicy,
    account_pause_seconds,
    after_failure,
    recipient_pause_seconds,
)
from services.conversations.metrics import OUTBOX_LATE_FOR_SLOT, OUTBOX_OUTCOMES, OUTBOX_RETRIES
from services.conversations.settings import OutboxSettings
from services.conversations.use_cases.directory import Directory
from services.conversations.use_cases.outcomes import OUTCOME_WRITE_MARGIN_SECONDS, Outcomes, retried_until
from services.conversations.use_cases.ports import OutboxPort, SenderPort
from services.shared.metrics import failure_code_label
from services.shared.vocabulary import FailureCode
from services.shared.whatsapp_errors import Failure, FailureKind

log = logging.getLogger(__name__)


class OutboxDelivery:
    def __init__(
        self,
        directory: Directory,
        outbox: OutboxPort,
        outcomes: Outcomes,
        sender: SenderPort,
        settings: OutboxSettings,
    ) -> None:
        self.directory = directory
        self.outbox = outbox
        self.outcomes = outcomes
        self.sender = sender
        self.settings = settings
        self.policy = RetryPolicy(
            settings.max_attempts,
            settings.retry_base_seconds,
            settings.retry_max_seconds,
            settings.reconcile_seconds,
            settings.account_pause_seconds,
        )

    async def attempt(
        self, message: ClaimedMessage, claimed_at: float, handed_over: Callable[[], None]
    ) -> None:
        """One delivery; `claimed_at` is the loop time the claim answered. `handed_over` is
        called as the request goes to the sender: from then on WhatsApp may have it."""
        loop = asyncio.get_running_loop()
        slot = claimed_at + message.send_delay_seconds
        if slot > loop.time():
            await asyncio.sleep(slot - loop.time())
        if message.expires_in_seconds <= loop.time() - claimed_at:
            await self._fail(message, FailureCode.EXPIRED, "not sent within its validity period")
            await self._probe_answered(message, None)
            return
        margin = self.settings.pacing_margin_seconds
        if loop.time() - slot > margin / 2:
            # This process stalled past the slot: sent now, it could bunch with the next
            # slots and exceed the account's rate. Back to the queue for a new slot.
            OUTBOX_LATE_FOR_SLOT.inc()
            await self.outbox.release([message])
            await self._probe_answered(message, None)
            return
        account = await self.directory.account(message.account_id)
        outgoing = OutgoingMessage(
            account.phone_number_id,
            account.access_token,
            message.contact_wa_id,
            message.content,
            message.id,
            message.account_id,
            # The sender checks the slot again just before the WhatsApp call: a call held up
            # on its way (a busy sender) must not go out later than the margin allows either.
            send_by=slot + margin * 3 / 4,
            recipient_user_id=message.contact_user_id,
        )
        handed_over()
        answer = await self.sender.send(outgoing)
        if isinstance(answer, Accepted):
            # WhatsApp has it now: losing this write would send it again, so keep trying
            # while the claim lasts (a database restart, say).
            recorded = await retried_until(
                claimed_at + self.settings.lease_seconds - OUTCOME_WRITE_MARGIN_SECONDS,
                lambda: self.outcomes.record_sent(
                    message.account_id, message.id, answer.wa_message_id, claim=message.claim
                ),
            )
            self._count(message, "sent", "", recorded is not None)
        else:
            await self._after_failure(message, claimed_at, answer)
        await self._probe_answered(message, answer)

    async def _after_failure(self, message: ClaimedMessage, claimed_at: float, failure: Failure) -> None:
        if failure.kind == FailureKind.LATE:
            OUTBOX_LATE_FOR_SLOT.inc()
        elapsed = asyncio.get_running_loop().time() - claimed_at
        decision = after_failure(failure, message.attempts, elapsed, message.expires_in_seconds, self.policy)
        account_pause = account_pause_seconds(failure, self.policy)
        if account_pause:
            # Every queued message of the account waits, whatever becomes of this one; paused
            # first, so that no claim takes this one back in between.
            await self.outbox.pause_account(message.account_id, account_pause)
            log.warning(
                "account paused: WhatsApp refused the account itself; a change to the account resumes it",
                extra={
                    "account_id": str(message.account_id),
                    "code": failure.code,
                    "pause_seconds": account_pause,
                },
            )
        if isinstance(decision, Fail):
            await self._fail(message, decision.code, decision.text)
        elif await self.outbox.requeue(
            message,
            decision.delay_seconds,
            decision.code,
            decision.text,
            attempt_given_back=decision.account_pause,
        ):
            OUTBOX_RETRIES.labels(failure_code_label(decision.code)).inc()
        else:
            self._count(message, "requeued", decision.code, recorded=False)
        pause = recipient_pause_seconds(failure)
        if pause:
            # The recipient's other queued messages wait too, one pause after another.
            await self.outbox.pause_recipient(message, pause)

    async def _probe_answered(self, message: ClaimedMessage, answer: Accepted | Failure | None) -> None:
        """After a paused account's probe (None: it was never sent): WhatsApp answering it ends
        the pause, unless it refused the account again (paused anew); without an answer, the
        next claim takes another probe. Failing here leaves it to the probe's hold to lapse."""
        if not message.probe or (isinstance(answer, Failure) and account_pause_seconds(answer, self.policy)):
            return
        try:
            if isinstance(answer, Accepted) or (
                answer is not None and answer.kind == FailureKind.WHATSAPP_ERROR
            ):
                if await self.outbox.end_account_pause(message.account_id):
                    log.info(
                        "account pause ended: WhatsApp answered its probe",
                        extra={"account_id": str(message.account_id)},
                    )
            else:
                await self.outbox.pass_probe(message.account_id, self.settings.lease_seconds)
        except Exception:
            log.exception(
                "account pause not updated after its probe", extra={"account_id": str(message.account_id)}
            )

    async def _fail(self, message: ClaimedMessage, code: str, text: str) -> None:
        recorded = await self.outcomes.record_failed(
            message.account_id, message.id, code, text, claim=message.claim
        )
        # Not recorded: the claim was taken over, or a status webhook found WhatsApp has it.
        self._count(message, "failed", code, recorded is not None and recorded.status == MessageStatus.FAILED)

    @staticmethod
    def _count(message: ClaimedMessage, outcome: str, code: str, recorded: bool) -> None:
        if recorded:
            OUTBOX_OUTCOMES.labels(outcome, failure_code_label(code)).inc()
            return
        # The claim was lost (its lease ran out and another replica took the message over):
        # the new owner's outcome stands. After a `sent`, WhatsApp may get the message twice.
        OUTBOX_OUTCOMES.labels("superseded", "").inc()
        log.warning(
            "outcome not recorded: the claim was taken over",
            extra={"message_id": str(message.id), "outcome": outcome, "code": code},
        )
