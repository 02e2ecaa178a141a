"""Which accounts a claim serves when only a few workers are free: every account with due
messages gets its turn (the claim starts after the account where the last one ended and
wraps around), and an account whose pacing slots are all handed out does not take the
place of one that could send now. In a database of their own: any queued message left by
another test would be claimable too."""

import os
from collections.abc import AsyncIterator
from uuid import UUID

import pytest
import pytest_asyncio
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from services.conversations.adapters.database.database import Database
from services.conversations.domain.model import Content
from services.conversations.domain.pacing import NO_ACCOUNT
from services.conversations.migrate import sqlalchemy_url
from services.conversations.settings import SendPolicy
from services.conversations.use_cases.directory import Directory
from services.conversations.use_cases.outbound import OutboundMessages
from services.conversations.use_cases.outcomes import Outcomes
from services.conversations.use_cases.templates import Templates
from tests.fixtures.database import create_engine
from tools.seed import create_account
from tools.stack import drop_database, ensure_database, migrate

pytestmark = pytest.mark.asyncio(loop_scope="session")

TEMPLATE = Content("template", b'{"name": "hello_world", "language": {"code": "en_US"}}', "")
LEASE_SECONDS = 60.0
MARGIN_SECONDS = 0.3
HORIZON_SECONDS = 0.25


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def claims_database(postgres_server: str) -> AsyncIterator[str]:
    url = await ensure_database(postgres_server, f"pigeon_test_claims_{os.getpid()}", fresh=True)
    await migrate(url)
    yield url
    await drop_database(postgres_server, url)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def claims_engine(claims_database: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(sqlalchemy_url(claims_database), pool_size=4)
    yield engine
    await engine.dispose()


@pytest_asyncio.fixture(loop_scope="session")
async def store(claims_database: str, claims_engine: AsyncEngine) -> AsyncIterator[Database]:
    store = Database(claims_database, 2)
    yield store
    async with claims_engine.begin() as connection:  # each test starts with an empty queue
        await connection.execute(text("UPDATE messages SET status = 'failed' WHERE status <> 'failed'"))
        await connection.execute(text("UPDATE send_pacing SET next_slot_at = now()"))
    await store.close()


async def two_accounts_with_queued_messages(store: Database, engine: AsyncEngine) -> tuple[UUID, UUID]:
    """Two accounts, lower id first, with three queued messages each."""
    outbound = OutboundMessages(
        Directory(store.directory, 60.0), Templates(store.templates, 60.0), store.messages, SendPolicy()
    )
    accounts = [await create_account(engine, f"Claims {i}") for i in range(2)]
    for account in accounts:
        for _ in range(3):
            await outbound.create(
                UUID(account.account_id), UUID(account.conversation_ids[0]), "", TEMPLATE, queue=True
            )
    low, high = sorted(UUID(account.account_id) for account in accounts)
    return low, high


async def claim_one(store: Database, after_account: UUID) -> UUID:
    claimed = await store.outbox.claim(1, LEASE_SECONDS, MARGIN_SECONDS, HORIZON_SECONDS, after_account)
    assert len(claimed) == 1
    return claimed[0].account_id


async def test_claims_take_turns_between_accounts(store: Database, claims_engine: AsyncEngine) -> None:
    low, high = await two_accounts_with_queued_messages(store, claims_engine)
    assert await claim_one(store, NO_ACCOUNT) == low
    assert await claim_one(store, low) == high
    assert await claim_one(store, high) == low  # wrapped around


async def test_an_account_without_free_slots_leaves_its_turn_to_the_next(
    store: Database, claims_engine: AsyncEngine
) -> None:
    low, high = await two_accounts_with_queued_messages(store, claims_engine)
    async with claims_engine.begin() as connection:
        # Its slots are handed out for the next 10 s (a busy account at its rate).
        await connection.execute(
            text("UPDATE send_pacing SET next_slot_at = now() + interval '10 s' WHERE account_id = :account"),
            {"account": low},
        )
    assert await claim_one(store, NO_ACCOUNT) == high


async def test_a_write_under_a_released_claim_misses_the_claim_that_followed(
    store: Database, claims_engine: AsyncEngine
) -> None:
    # Released (late for its slot) and claimed again, the message is at the same attempt
    # number as before: only the claim id tells the two claims apart.
    low, _ = await two_accounts_with_queued_messages(store, claims_engine)
    async with claims_engine.begin() as connection:
        await connection.execute(
            text("UPDATE messages SET status = 'failed' WHERE account_id <> :account"), {"account": low}
        )
    stale = (await store.outbox.claim(1, LEASE_SECONDS, MARGIN_SECONDS, HORIZON_SECONDS))[0]
    await store.outbox.release([stale])
    async with claims_engine.begin() as connection:  # only the released one is due
        await connection.execute(
            text(
                "UPDATE messages SET next_attempt_at = now() + interval '1 h' WHERE id <> :id AND status = 'queued'"
            ),
            {"id": stale.id},
        )
        await connection.execute(text("UPDATE send_pacing SET next_slot_at = now()"))
    live = (await store.outbox.claim(1, LEASE_SECONDS, MARGIN_SECONDS, HORIZON_SECONDS))[0]
    assert (live.id, live.attempts) == (stale.id, stale.attempts)

    assert not await store.outbox.requeue(stale, 5.0, "131016", "a late failure")
    await store.outbox.release([stale])
    outcomes = Outcomes(store.messages, store.reads)
    failed = await outcomes.record_failed(stale.account_id, stale.id, "131016", "late", claim=stale.claim)
    assert failed is None
    async with claims_engine.connect() as connection:
        status = (
            await connection.execute(text("SELECT status FROM messages WHERE id = :id"), {"id": live.id})
        ).scalar()
    assert status == "sending"  # still the live claim's
    assert await outcomes.record_sent(live.account_id, live.id, "wamid.live", claim=live.claim) is not None


async def test_an_expired_lease_is_sent_again_only_after_the_reconcile_delay(
    store: Database, claims_engine: AsyncEngine
) -> None:
    # Its replica died after handing it to WhatsApp, maybe: a status webhook carrying pigeon's
    # id has the reconcile delay to settle it before it is claimed again.
    low, _ = await two_accounts_with_queued_messages(store, claims_engine)
    async with claims_engine.begin() as connection:
        await connection.execute(
            text("UPDATE messages SET status = 'failed' WHERE account_id <> :account"), {"account": low}
        )
    dead = (await store.outbox.claim(1, LEASE_SECONDS, MARGIN_SECONDS, HORIZON_SECONDS))[0]
    async with claims_engine.begin() as connection:
        await connection.execute(
            text("UPDATE messages SET status = 'failed' WHERE id <> :id AND status = 'queued'"),
            {"id": dead.id},
        )
        await connection.execute(
            text("UPDATE messages SET lease_expires_at = now() - interval '1 s' WHERE id = :id"),
            {"id": dead.id},
        )
        await connection.execute(text("UPDATE send_pacing SET next_slot_at = now()"))

    assert await store.outbox.requeue_expired_leases(30.0) == 1
    assert await store.outbox.claim(1, LEASE_SECONDS, MARGIN_SECONDS, HORIZON_SECONDS) == []
    async with claims_engine.connect() as connection:
        due_in = (
            await connection.execute(
                text("SELECT extract(epoch FROM next_attempt_at - now()) FROM messages WHERE id = :id"),
                {"id": dead.id},
            )
        ).scalar()
    assert 29 < due_in <= 30


async def test_a_paused_account_is_not_claimed_then_gives_one_probe_at_a_time(
    store: Database, claims_engine: AsyncEngine
) -> None:
    low, high = await two_accounts_with_queued_messages(store, claims_engine)
    await store.outbox.pause_account(low, 600.0)
    claimed = await store.outbox.claim(8, LEASE_SECONDS, MARGIN_SECONDS, 10.0, NO_ACCOUNT)
    assert {c.account_id for c in claimed} == {high} and not any(c.probe for c in claimed)
    # The idle worker sleeps until the pause ends, not until the paused messages' due time.
    until_due = await store.outbox.seconds_until_next_due()
    assert until_due is not None and 590 < until_due <= 600

    async with claims_engine.begin() as connection:  # the pause has passed
        await connection.execute(
            text("UPDATE send_pacing SET paused_until = now() - interval '1 s' WHERE account_id = :a"),
            {"a": low},
        )
    [probe] = await store.outbox.claim(8, LEASE_SECONDS, MARGIN_SECONDS, 10.0, NO_ACCOUNT)
    assert (probe.account_id, probe.probe) == (low, True)
    # While the probe is out, its lease holds the pause: no second probe.
    assert await store.outbox.claim(8, LEASE_SECONDS, MARGIN_SECONDS, 10.0, NO_ACCOUNT) == []
    # Without an answer from WhatsApp (it expired before the call, say), another probe goes.
    await store.outbox.pass_probe(low, LEASE_SECONDS)
    [second] = await store.outbox.claim(8, LEASE_SECONDS, MARGIN_SECONDS, 10.0, NO_ACCOUNT)
    assert (second.account_id, second.probe) == (low, True) and second.id != probe.id
    assert await store.outbox.claim(8, LEASE_SECONDS, MARGIN_SECONDS, 10.0, NO_ACCOUNT) == []
    await store.outbox.release([second])

    # Refused again: back to the queue with its attempt given back, and paused again.
    assert await store.outbox.requeue(probe, 0.0, "190", "token expired", attempt_given_back=True)
    await store.outbox.pause_account(low, 600.0)
    async with claims_engine.connect() as connection:
        attempts = (
            await connection.execute(text("SELECT attempts FROM messages WHERE id = :id"), {"id": probe.id})
        ).scalar()
    assert attempts == probe.attempts - 1
    assert await store.outbox.claim(8, LEASE_SECONDS, MARGIN_SECONDS, 10.0, NO_ACCOUNT) == []
    await store.outbox.pass_probe(low, LEASE_SECONDS)  # a new pause is not a probe's hold
    assert await store.outbox.claim(8, LEASE_SECONDS, MARGIN_SECONDS, 10.0, NO_ACCOUNT) == []

    # Ended (a probe taken, or a change to the account): all of its messages are claimed again.
    assert await store.outbox.end_account_pause(low)
    assert not await store.outbox.end_account_pause(low)
    claimed = await store.outbox.claim(8, LEASE_SECONDS, MARGIN_SECONDS, 10.0, NO_ACCOUNT)
    assert len(claimed) == 3 and {c.account_id for c in claimed} == {low}
