"""Applying webhook notifications, many at a time.

A verified notification is stored and applied in one transaction, together with those that
arrive meanwhile (group commit): a handful of statements on arrays for the whole batch
(inbound messages, statuses, events, the notifications' rows) instead of a handful per
notification, and one commit. So it is applied before Meta gets its 200. A notification that
cannot be applied is stored all the same, `received`, for the sweep (`apply_stored`), which
also applies what an older version or a failed apply left. What a batch keeps:

- *Statuses only move forward*, whatever order they arrive in, also within one batch: each
  message's reports are folded in one order (`domain/statuses.py`).
- *Duplicates change nothing*: inbound messages are unique by WhatsApp id; a status that
  does not move its message is ignored and makes no event.
- *One event per real change*: a message moved by several statuses of one batch gets one
  event (its final status); a conversation that received messages gets one
  conversation.updated after its message.received events.
- *A notification changes only the accounts whose secret signed it* (`changes_in`).
- *One bad notification does not fail the others*: a batch that fails for a reason one
  notification may carry is applied again one notification at a time. A notification that
  still fails, for a reason of its own, is tried again by the sweep and after five failures
  ends `failed`, its bytes kept.
- *One contact per user*: a user is known by a phone number, a business-scoped user id
  (BSUID) or both, matched by BSUID first; a message naming both fills in the one its
  contact lacked. System messages that give a user a new number or BSUID move the contact
  to them (before the batch's messages are stored), so its conversation and history stay.
- *The latest marketing preference wins*, by the webhook's own time.
- *Deadlocks between batches are rare*: rows are mostly locked in one order (conversations
  and messages by id, event counters by account); one lost is retried.
"""

import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

from services.conversations.domain.errors import NotFound, Unavailable
from services.conversations.domain.notifications import NewEvent, Notification, Sender, StoredInbound
from services.conversations.domain.statuses import Delivery, StatusReport, advance
from services.conversations.domain.templates import template_status_changes
from services.conversations.domain.webhook_changes import (
    Changes,
    Inbound,
    StatusUpdate,
    changes_in,
    phone_numbers_named,
    with_identities_changed,
)
from services.conversations.metrics import WEBHOOKS
from services.conversations.use_cases.contact_identities import change_identities, record_preferences, user_of
from services.conversations.use_cases.ports import (
    ConversationCache,
    LostDeadlock,
    WebhookStorePort,
    WebhookTransactionPort,
)
from services.shared.group_commit import GroupCommit

log = logging.getLogger(__name__)

# Applying a notification that keeps failing for a reason of its own (not a lost
# database) is given up after this many tries: it ends "failed", its bytes kept.
MAX_APPLY_ATTEMPTS = 5
# Batches that touch the same rows can deadlock; the loser is applied again.
DEADLOCK_RETRIES = 3
PENDING_MATCH_LIMIT = 500
# The most notifications in one transaction, and transactions under way at once: one's
# statements run in PostgreSQL while the next batch is prepared.
MAX_BATCH = 256
BATCHES_IN_FLIGHT = 2

T = TypeVar("T")


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:500]


async def _retrying_deadlocks(run: Callable[[], Awaitable[T]]) -> T:
    for attempt in range(DEADLOCK_RETRIES + 1):
        try:
            return await run()
        except Exception as exc:
            if not isinstance(exc, LostDeadlock) or attempt == DEADLOCK_RETRIES:
                raise
    raise AssertionError("unreachable")


class WebhookApplier:
    def __init__(self, store: WebhookStorePort, conversations: ConversationCache) -> None:
        self.store = store
        self.conversations = conversations
        self._arrivals: GroupCommit[Notification, int | Exception] = GroupCommit(
            "webhook_arrivals",
            self.store_and_apply,
            max_in_flight=BATCHES_IN_FLIGHT,
            max_batch=MAX_BATCH,
            # store_and_apply sorts out failures itself; what it raises is every item's.
            one_row_may_fail=lambda _: False,
        )

    async def receive(self, notification: Notification) -> int:
        """Stores and applies a new notification with those that arrive meanwhile; its id.
        Raises only when the database is away: then nothing was stored."""
        stored = await self._arrivals.submit(notification)
        if isinstance(stored, Exception):
            raise stored
        return stored

    async def close(self) -> None:
        await self._arrivals.close()

    async def store_and_apply(self, batch: Sequence[Notification]) -> list[int | Exception]:
        """New notifications, stored and applied in one transaction; each one's id, or why it
        was not stored. Raises when nothing of the batch was stored (the database away)."""
        try:
            return list(await _retrying_deadlocks(lambda: self._store_and_apply(batch)))
        except Exception as exc:
            if isinstance(exc, Unavailable):
                raise
            if len(batch) > 1:
                # Which notification failed the batch is unknown: each is applied alone, and
                # answered alone (some may be stored before the database goes away).
                log.debug(
                    "a batch of %d notifications failed (%s); applying them one by one", len(batch), exc
                )
                return [await self._store_and_apply_alone(n) for n in batch]
            log.error("applying a webhook notification failed; kept for the sweep", exc_info=exc)
            return [
                await self.store.store_unapplied(batch[0].body, list(batch[0].signed_for), _error_text(exc))
            ]

    async def _store_and_apply_alone(self, notification: Notification) -> int | Exception:
        try:
            [stored] = await self.store_and_apply([notification])
        except Exception as exc:
            return exc
        return stored

    async def apply_stored(self, batch: Sequence[Notification]) -> None:
        """Notifications stored but not applied (the sweep's); never raises. What cannot be
        applied stays `received` (the database away) or has the failure counted."""
        try:
            await _retrying_deadlocks(lambda: self._apply_stored(batch))
        except Exception as exc:
            if isinstance(exc, Unavailable):
                log.warning("applying webhook notifications failed: database unavailable", exc_info=exc)
            elif len(batch) > 1:
                for notification in batch:
                    await self.apply_stored([notification])
            else:
                await self._count_failure(batch[0].id, exc)

    async def _count_failure(self, notification_id: int, exc: Exception) -> None:
        log.error(
            "applying a webhook notification failed", exc_info=exc, extra={"notification_id": notification_id}
        )
        try:
            if await self.store.count_failed_apply(notification_id, MAX_APPLY_ATTEMPTS, _error_text(exc)):
                WEBHOOKS.labels("failed").inc()
        except Exception:
            log.exception("recording a failed webhook notification failed")

    async def _store_and_apply(self, batch: Sequence[Notification]) -> list[int]:
        async with self.store.transaction() as transaction:
            reports, touched = await self._apply(transaction, batch)
            ids = await transaction.store_applied(
                [n.body for n in batch], [list(n.signed_for) for n in batch], reports
            )
        self._applied(len(batch), touched)
        return ids

    async def _apply_stored(self, batch: Sequence[Notification]) -> None:
        async with self.store.transaction() as transaction:
            owned = await transaction.lock_notifications([n.id for n in batch])
            mine = [n for n in batch if n.id in owned]  # the others: applied already, or elsewhere
            if not mine:
                return
            reports, touched = await self._apply(transaction, mine)
            await transaction.finish_notifications(
                [n.id for n in mine],
                ["applied" if n.payload is not None else "malformed" for n in mine],
                reports,
            )
        self._applied(len(mine), touched)

    def _applied(self, count: int, touched: list[tuple[UUID, UUID, str]]) -> None:
        WEBHOOKS.labels("applied").inc(count)
        for account_id, conversation_id, wa_id in touched:
            # The 24 h window moved: the send path must not keep the old last_inbound_at.
            self.conversations.forget_conversation_with(account_id, conversation_id, wa_id)

    async def _apply(
        self, transaction: WebhookTransactionPort, batch: Sequence[Notification]
    ) -> tuple[list[dict[str, Any]], list[tuple[UUID, UUID, str]]]:
        """Applies the notifications' changes; what each one's did, and the conversations
        that got inbound messages."""
        numbers = list(
            dict.fromkeys(number for n in batch if n.payload for number in phone_numbers_named(n.payload))
        )
        # From the table, not the secrets in memory: current even for an account just added.
        accounts = await transaction.accounts_by_phone_number(numbers)
        changes = [
            changes_in(n.payload, accounts, set(n.signed_for)) if n.payload is not None else Changes()
            for n in batch
        ]
        outcomes = [Counter(c.counts) for c in changes]
        for outcome, c in zip(outcomes, changes, strict=True):
            for name, items in (("identity_changes", c.identity_changes), ("preferences", c.preferences)):
                if items:
                    outcome[name] += len(items)
        identity_changes = [i for c in changes for i in c.identity_changes]
        touched = await change_identities(transaction, identity_changes)
        inbound = [(index, m) for index, c in enumerate(changes) for m in c.inbound]
        stored, touched_by_inbound = await store_inbound(
            transaction, with_identities_changed(identity_changes, [m for _, m in inbound])
        )
        touched += touched_by_inbound
        await record_preferences(transaction, [p for c in changes for p in c.preferences])
        for (index, _), was_stored in zip(inbound, stored, strict=True):
            outcomes[index]["messages_stored" if was_stored else "messages_duplicate"] += 1
        statuses = [(index, s) for index, c in enumerate(changes) for s in c.statuses]
        results = await apply_statuses(transaction, [s for _, s in statuses])
        for (index, _), result in zip(statuses, results, strict=True):
            outcomes[index][f"statuses_{result}"] += 1
        for index, notification in enumerate(batch):
            template_changes = template_status_changes(notification.payload) if notification.payload else []
            if template_changes:
                reached = await transaction.apply_template_statuses(
                    template_changes, list(notification.signed_for)
                )
                outcomes[index]["template_changes"] += len(template_changes)
                outcomes[index]["template_accounts"] += reached
        return [_report(n, c, o) for n, c, o in zip(batch, changes, outcomes, strict=True)], touched

    async def match_pending(self) -> int:
        """Applies statuses kept pending whose message is now known (its send outcome stored)."""
        async with self.store.transaction() as transaction:
            updates = await transaction.matchable_pending(PENDING_MATCH_LIMIT)
            if updates:
                await apply_statuses(transaction, updates)
                await transaction.forget_pending(updates)
        return len(updates)

    async def mark_read(self, account_id: UUID, conversation_id: UUID) -> None:
        async with self.store.transaction() as transaction:
            resource = await transaction.mark_read(account_id, conversation_id)
            if resource is None:
                raise NotFound(f"conversation {conversation_id} not found")
            transaction.events.append(
                NewEvent(account_id, "conversation.updated", None, conversation_id, resource)
            )


def _report(notification: Notification, changes: Changes, outcome: Counter[str]) -> dict[str, Any]:
    """What applying a notification found, as its row keeps it."""
    if notification.payload is None:
        return {"error": "not a JSON object"}
    report: dict[str, Any] = dict(outcome)
    if changes.unknown_numbers:
        report["unknown_phone_numbers"] = changes.unknown_numbers
        log.warning(
            "webhook for a phone number of no account it is signed for",
            extra={"phone_number_ids": changes.unknown_numbers},
        )
    if changes.counts["errors"]:
        log.warning("webhook reports errors")
    return report


async def store_inbound(
    transaction: WebhookTransactionPort, messages: Sequence[Inbound]
) -> tuple[list[bool], list[tuple[UUID, UUID, str]]]:
    """Stores inbound messages; for each, whether it was new (not a duplicate), and the
    (account, conversation, contact's wa_id) of each conversation that got one. Its events:
    the new messages' message.received, then one conversation.updated per conversation."""
    if not messages:
        return [], []
    # A contact's messages keep their order; senders are taken in (account, wa_id, user_id) order.
    unique: dict[tuple[UUID, str], Inbound] = {}
    for message in sorted(messages, key=user_of):
        unique.setdefault((message.account_id, message.wa_message_id), message)
    senders: dict[tuple[UUID, str, str], Sender] = {}
    for message in unique.values():
        known = senders.get(user_of(message))
        senders[user_of(message)] = Sender(
            *user_of(message),
            profile_name=message.profile_name or (known.profile_name if known else ""),
            username=message.username or (known.username if known else ""),
        )
    users = list(senders)
    await transaction.identify_contacts(users)
    opened = dict(zip(users, await transaction.open_conversations([senders[u] for u in users]), strict=True))
    conversations = {user: conversation_id for user, (conversation_id, _) in opened.items()}
    contact_wa_ids = {conversation_id: wa_id for conversation_id, wa_id in opened.values()}
    rows = list(unique.values())
    inserted = await transaction.insert_inbound(rows, [conversations[user_of(m)] for m in rows])
    if not inserted:
        return [False] * len(messages), []
    new = {(row.account_id, row.wa_message_id) for row in inserted}
    # Per conversation, in the order they first got a message: its new messages, its sender,
    # the newest message's time.
    per_conversation: dict[UUID, list[StoredInbound]] = {}
    for row in inserted:
        per_conversation.setdefault(row.conversation_id, []).append(row)
    sender: dict[UUID, tuple[UUID, str]] = {}
    newest: dict[UUID, datetime] = {}
    for message in rows:
        conversation_id = conversations[user_of(message)]
        if (message.account_id, message.wa_message_id) in new:
            sender[conversation_id] = (message.account_id, contact_wa_ids[conversation_id])
            newest[conversation_id] = max(newest.get(conversation_id, message.sent_at), message.sent_at)
    ids = sorted(per_conversation)
    touched = await transaction.touch_conversations(
        ids, [newest[i] for i in ids], [len(per_conversation[i]) for i in ids]
    )
    resources = {conversation.id: conversation.resource for conversation in touched}
    for conversation_id, stored_rows in per_conversation.items():
        account_id = sender[conversation_id][0]
        for row in stored_rows:
            transaction.events.append(
                NewEvent(account_id, "message.received", row.message_id, conversation_id, row.resource)
            )
        transaction.events.append(
            NewEvent(account_id, "conversation.updated", None, conversation_id, resources[conversation_id])
        )
    # The first of duplicates within the batch counts as stored, the others as duplicates.
    seen: set[tuple[UUID, str]] = set()
    stored = []
    for message in messages:
        key = (message.account_id, message.wa_message_id)
        stored.append(key in new and key not in seen)
        seen.add(key)
    return stored, [
        (account_id, conversation_id, wa_id) for conversation_id, (account_id, wa_id) in sender.items()
    ]


async def apply_statuses(transaction: WebhookTransactionPort, updates: Sequence[StatusUpdate]) -> list[str]:
    """Applies delivery statuses; for each: "applied" (it moved its message), "ignored" (a
    duplicate, or late: not forward) or "pending" (no such message yet: kept for later)."""
    if not updates:
        return []
    targets = await transaction.lock_status_targets(updates)
    found: dict[UUID, Delivery] = {}
    reports: dict[UUID, list[tuple[int, StatusReport]]] = {}
    matched = [False] * len(updates)
    for target in targets:
        matched[target.update_index] = True
        report = updates[target.update_index].report
        current = target.delivery
        # Matched by pigeon's own id: only while the message has no other WhatsApp id.
        if target.direction != "outbound" or current.wa_message_id not in (None, report.wa_message_id):
            continue
        found[target.message_id] = current
        reports.setdefault(target.message_id, []).append((target.update_index, report))
    moved_any = [False] * len(updates)
    changed: list[tuple[UUID, Delivery]] = []
    for message_id, pairs in reports.items():
        pairs.sort(key=lambda pair: pair[0])  # the order they came in: the first of equals wins
        state, moved = advance(found[message_id], [report for _, report in pairs])
        for (index, _), did in zip(pairs, moved, strict=True):
            moved_any[index] = moved_any[index] or did
        if any(moved):
            changed.append((message_id, state))
    if changed:
        for row in await transaction.update_deliveries(changed):
            transaction.events.append(
                NewEvent(
                    row.account_id, f"message.{row.status}", row.message_id, row.conversation_id, row.resource
                )
            )
    unknown = [u for u, was_matched in zip(updates, matched, strict=True) if not was_matched]
    if unknown:
        await transaction.keep_pending(unknown)
    return [
        "applied" if moved else ("ignored" if was_matched else "pending")
        for moved, was_matched in zip(moved_any, matched, strict=True)
    ]
