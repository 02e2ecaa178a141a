"""The team inbox in PostgreSQL (migration 0019, inbox.sql, reads.sql): changes under the row
lock with their events and versions, a stale If-Match refused, snoozes reopened by the job and
by inbound messages, notes, and GET /conversations' inbox filters, page by page, each served by
its index."""

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg
import orjson
import pytest
import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncEngine

from services.conversations.adapters.database.database import Database
from services.conversations.adapters.database.reads import SQL
from services.conversations.domain.errors import InvalidArgument, NotFound, VersionMismatch
from services.conversations.domain.inbox import ContactQuery, InboxFilter, InboxPatch
from services.conversations.domain.model import Conversation, Page
from services.conversations.domain.pages import decode_page_token, one_page
from services.conversations.domain.service_window import NO_FILTER, WindowFilter
from services.conversations.use_cases.directory import Directory
from services.conversations.use_cases.inbox import Inbox
from tests.integration.test_service_window import GENERIC_PLAN_OF
from tools.seed import create_account

HOUR = timedelta(hours=1)


@pytest_asyncio.fixture(loop_scope="session")
async def connection(database: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(database)
    yield connection
    await connection.close()


@pytest_asyncio.fixture(loop_scope="session")
async def db(database: str) -> AsyncIterator[Database]:
    db = Database(database, 2)
    yield db
    await db.close()


@pytest.fixture
def inbox(db: Database) -> Inbox:
    return Inbox(db.inbox, Directory(db.directory, 0.0))


async def conversation(db: Database, account_id: UUID, conversation_id: UUID) -> Conversation:
    found = await db.reads.get_conversation(account_id, conversation_id)
    assert found is not None
    return found


async def updates(connection: asyncpg.Connection, conversation_id: UUID) -> list[dict[str, Any]]:
    """The data of the conversation's conversation.updated events, oldest first."""
    rows = await connection.fetch(
        "SELECT data::text FROM events WHERE conversation_id = $1 AND type = 'conversation.updated' ORDER BY id",
        conversation_id,
    )
    return [orjson.loads(row["data"]) for row in rows]


async def test_a_change_moves_the_version_and_tells_what_changed(
    db: Database, inbox: Inbox, engine: AsyncEngine, connection: asyncpg.Connection
) -> None:
    account = await create_account(engine, "Inbox changes", conversations=1)
    account_id, conversation_id = UUID(account.account_id), UUID(account.conversation_ids[0])
    before = await conversation(db, account_id, conversation_id)
    assert (before.inbox.status, before.inbox.assignee, before.inbox.labels) == ("open", "", ())

    await inbox.update(
        account_id, conversation_id, InboxPatch(status="resolved", assignee="agent-7"), before.version
    )
    await inbox.label(account_id, conversation_id, "vip", None)

    after = await conversation(db, account_id, conversation_id)
    assert (after.inbox.status, after.inbox.assignee, after.inbox.labels) == ("resolved", "agent-7", ("vip",))
    assert after.version == before.version + 2
    first, second = await updates(connection, conversation_id)
    assert first["changes"] == {
        "status": {"from": "open", "to": "resolved"},
        "assignee": {"from": None, "to": "agent-7"},
    }
    assert (first["status"], first["assignee"], first["version"]) == (
        "resolved",
        "agent-7",
        before.version + 1,
    )
    assert second["changes"] == {"labels": {"from": [], "to": ["vip"]}}


async def test_a_stale_version_is_refused_and_changes_nothing(
    db: Database, inbox: Inbox, engine: AsyncEngine, connection: asyncpg.Connection
) -> None:
    account = await create_account(engine, "Inbox versions", conversations=1)
    account_id, conversation_id = UUID(account.account_id), UUID(account.conversation_ids[0])
    read = (await conversation(db, account_id, conversation_id)).version
    await inbox.update(account_id, conversation_id, InboxPatch(status="pending"), read)

    with pytest.raises(VersionMismatch):
        await inbox.update(account_id, conversation_id, InboxPatch(status="resolved"), read)
    with pytest.raises(VersionMismatch):
        await inbox.label(account_id, conversation_id, "vip", read)

    after = await conversation(db, account_id, conversation_id)
    assert (after.inbox.status, after.inbox.labels, after.version) == ("pending", (), read + 1)
    assert len(await updates(connection, conversation_id)) == 1


async def test_any_change_of_the_row_moves_the_version_and_a_no_op_does_not(
    db: Database, inbox: Inbox, engine: AsyncEngine, connection: asyncpg.Connection
) -> None:
    """A read, a new message: a write based on what was read before them is stale."""
    account = await create_account(engine, "Inbox any change", conversations=1)
    account_id, conversation_id = UUID(account.account_id), UUID(account.conversation_ids[0])
    read = (await conversation(db, account_id, conversation_id)).version
    async with db.webhooks.transaction() as transaction:
        await transaction.mark_read(account_id, conversation_id)
    assert (await conversation(db, account_id, conversation_id)).version == read + 1
    await connection.execute(
        "UPDATE conversations SET unread_count = unread_count WHERE id = $1", conversation_id
    )
    assert (await conversation(db, account_id, conversation_id)).version == read + 1

    with pytest.raises(VersionMismatch):
        await inbox.update(account_id, conversation_id, InboxPatch(status="resolved"), read)


async def test_another_accounts_conversation_is_not_found(
    db: Database, inbox: Inbox, engine: AsyncEngine
) -> None:
    mine = await create_account(engine, "Inbox mine", conversations=1)
    theirs = await create_account(engine, "Inbox theirs", conversations=1)
    account_id, conversation_id = UUID(mine.account_id), UUID(theirs.conversation_ids[0])
    with pytest.raises(NotFound):
        await inbox.update(account_id, conversation_id, InboxPatch(status="resolved"), None)
    with pytest.raises(NotFound):
        await inbox.label(account_id, conversation_id, "vip", None)
    with pytest.raises(NotFound):
        await inbox.add_note(account_id, conversation_id, "", "a note")
    with pytest.raises(NotFound):
        await inbox.notes(account_id, conversation_id, 10, "")


async def test_notes_are_kept_newest_first_by_pages(db: Database, inbox: Inbox, engine: AsyncEngine) -> None:
    account = await create_account(engine, "Inbox notes", conversations=1)
    account_id, conversation_id = UUID(account.account_id), UUID(account.conversation_ids[0])
    before = await conversation(db, account_id, conversation_id)
    for text in ("first", "second", "third"):
        await inbox.add_note(account_id, conversation_id, "agent-7", text)
    with pytest.raises(InvalidArgument):
        await inbox.add_note(account_id, conversation_id, "", " ")

    page, token = await inbox.notes(account_id, conversation_id, 2, "")
    rest, last = await inbox.notes(account_id, conversation_id, 2, token)

    assert [n.body for n in page + rest] == ["third", "second", "first"]
    assert last == ""
    assert {n.author for n in page + rest} == {"agent-7"}
    # A note is no change of the conversation.
    assert (await conversation(db, account_id, conversation_id)).version == before.version


async def test_a_snooze_that_ran_out_reads_open_and_the_job_reopens_it(
    db: Database, inbox: Inbox, engine: AsyncEngine, connection: asyncpg.Connection
) -> None:
    account = await create_account(engine, "Inbox snoozes", conversations=2)
    account_id = UUID(account.account_id)
    due, later = (UUID(c) for c in account.conversation_ids)
    for conversation_id in (due, later):
        await inbox.update(
            account_id,
            conversation_id,
            InboxPatch(status="snoozed", snoozed_until=datetime.now(UTC) + HOUR),
            None,
        )
    ran_out_at = datetime(2026, 1, 1, tzinfo=UTC)
    await connection.execute("UPDATE conversations SET snoozed_until = $2 WHERE id = $1", due, ran_out_at)

    shown = await conversation(db, account_id, due)
    assert (shown.inbox.status, shown.inbox.snoozed_until) == ("open", None)
    snoozed = await db.reads.list_conversations(
        account_id, 10, None, NO_FILTER, InboxFilter(status="snoozed")
    )
    assert [c.id for c in snoozed] == [later]

    reopened = 0
    while (batch := await inbox.reopen_due(100)) > 0:
        reopened += batch

    assert reopened >= 1  # this one, and any another test left due
    stored = await connection.fetchrow("SELECT status, snoozed_until FROM conversations WHERE id = $1", due)
    assert tuple(stored) == ("open", None)
    assert (await conversation(db, account_id, later)).inbox.status == "snoozed"
    event = (await updates(connection, due))[-1]
    assert event["status"] == "open"
    assert event["changes"] == {
        "status": {"from": "snoozed", "to": "open"},
        "snoozed_until": {"from": "2026-01-01T00:00:00.000000Z", "to": None},
    }
    opened = await db.reads.list_conversations(account_id, 10, None, NO_FILTER, InboxFilter(status="open"))
    assert [c.id for c in opened] == [due]


@pytest.mark.parametrize("status", ["resolved", "snoozed", "pending"])
async def test_an_inbound_message_reopens_a_resolved_or_snoozed_conversation(
    db: Database, inbox: Inbox, engine: AsyncEngine, connection: asyncpg.Connection, status: str
) -> None:
    account = await create_account(engine, f"Inbox reopen {status}", conversations=1)
    account_id, conversation_id = UUID(account.account_id), UUID(account.conversation_ids[0])
    snoozed_until = datetime(2099, 1, 1, tzinfo=UTC) if status == "snoozed" else None
    await inbox.update(
        account_id, conversation_id, InboxPatch(status=status, snoozed_until=snoozed_until), None
    )

    async with db.webhooks.transaction() as transaction:
        [touched] = await transaction.touch_conversations([conversation_id], [datetime.now(UTC)], [1])

    resource = orjson.loads(touched.resource)
    after = await conversation(db, account_id, conversation_id)
    if status == "pending":
        assert after.inbox.status == "pending"
        assert "changes" not in resource
        return
    assert (after.inbox.status, after.inbox.snoozed_until) == ("open", None)
    expected: dict[str, Any] = {"status": {"from": status, "to": "open"}}
    if status == "snoozed":
        expected["snoozed_until"] = {"from": "2099-01-01T00:00:00.000000Z", "to": None}
    assert resource["changes"] == expected
    assert resource["status"] == "open"


# --- GET /conversations' inbox filters ---------------------------------------------------------


async def all_pages(
    db: Database, account_id: UUID, inbox: InboxFilter, page_size: int, window: WindowFilter = NO_FILTER
) -> list[UUID]:
    listed: list[UUID] = []
    page = None
    while True:
        found = await db.reads.list_conversations(account_id, page_size + 1, page, window, inbox)
        rows, token = one_page(found, page_size, lambda c: Page(c.last_activity_at, c.id))
        listed += [c.id for c in rows]
        if not token:
            return listed
        page = decode_page_token(token)


async def test_each_filter_keeps_its_conversations_page_by_page(
    db: Database, inbox: Inbox, engine: AsyncEngine, connection: asyncpg.Connection
) -> None:
    account = await create_account(engine, "Inbox filters", conversations=8)
    account_id = UUID(account.account_id)
    ids = [UUID(c) for c in account.conversation_ids]  # most recently active first
    await connection.execute(
        "UPDATE contacts k SET profile_name = 'Ada Lovelace', user_id = 'US.4242' FROM conversations c "
        "WHERE c.id = $1 AND k.id = c.contact_id",
        ids[5],
    )
    for index in (0, 2, 4):
        await inbox.update(account_id, ids[index], InboxPatch(status="resolved"), None)
    for index in (1, 2, 6):
        await inbox.update(account_id, ids[index], InboxPatch(assignee="agent-7"), None)
    for index in (2, 3, 7):
        await inbox.label(account_id, ids[index], "vip", None)
    for index in (0, 1, 2, 3):
        async with db.webhooks.transaction() as transaction:
            await transaction.mark_read(account_id, ids[index])

    def kept(*indexes: int) -> list[UUID]:
        return [ids[i] for i in sorted(indexes)]

    cases = [
        (InboxFilter(status="resolved"), kept(0, 2, 4)),
        (InboxFilter(status="open"), kept(1, 3, 5, 6, 7)),
        (InboxFilter(assignee="agent-7"), kept(1, 2, 6)),
        (InboxFilter(assignee=""), kept(0, 3, 4, 5, 7)),
        (InboxFilter(label="vip"), kept(2, 3, 7)),
        (InboxFilter(unread=True), kept(4, 5, 6, 7)),
        (InboxFilter(status="resolved", assignee="agent-7", label="vip"), kept(2)),
        (InboxFilter(label="vip", unread=True), kept(7)),
        (InboxFilter(q=ContactQuery("ada")), kept(5)),
        (InboxFilter(q=ContactQuery("US.4242")), kept(5)),
        (InboxFilter(q=ContactQuery("+" + account.contact_wa_ids[6])), kept(6)),
        (InboxFilter(q=ContactQuery("customer"), status="resolved"), kept(0, 2, 4)),
        (InboxFilter(q=ContactQuery("nobody")), []),
    ]
    for chosen, expected in cases:
        assert await all_pages(db, account_id, chosen, 2) == expected, chosen
    window = WindowFilter(can_send_free_form=True)
    assert await all_pages(db, account_id, InboxFilter(status="resolved"), 1, window) == kept(0, 2, 4)


# --- each filter served by its index ----------------------------------------------------------

# An account's conversations, the g-th one's last activity g minutes ago: one in 4 resolved, one
# in 10 assigned to "agent-<g % 7>" (the rest unassigned), one in 50 labelled "vip", one in 100
# unread, named "Customer <g>".
MANY_CONVERSATIONS = """
WITH contact AS (
    INSERT INTO contacts (account_id, wa_id, user_id, profile_name)
    SELECT $1, '1777' || lpad(g::text, 8, '0'), 'US.777' || g, 'Customer ' || g
    FROM generate_series(1, $2::int) AS g
    RETURNING id, wa_id
)
INSERT INTO conversations (account_id, contact_id, last_activity_at, status, assignee, labels, unread_count)
SELECT $1, id, now() - g * interval '1 minute',
       CASE WHEN g % 4 = 0 THEN 'resolved' ELSE 'open' END,
       CASE WHEN g % 10 = 0 THEN 'agent-' || g % 7 ELSE '' END,
       CASE WHEN g % 50 = 0 THEN ARRAY['vip'] ELSE '{}' END,
       CASE WHEN g % 100 = 0 THEN 1 ELSE 0 END
FROM (SELECT id, right(wa_id, 8)::int AS g FROM contact) AS numbered
"""


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def many_conversations(engine: AsyncEngine, database: str) -> UUID:
    account_id = UUID((await create_account(engine, "Many inbox states", conversations=1)).account_id)
    connection = await asyncpg.connect(database)
    try:
        await connection.execute(MANY_CONVERSATIONS, account_id, 20000)
        await connection.execute("ANALYZE conversations; ANALYZE contacts")
    finally:
        await connection.close()
    return account_id


NO_INBOX = {"status": None, "assignee": None, "label": None, "unread": False}


@pytest.mark.parametrize("generic", [False, True], ids=["plan-for-the-values", "plan-for-any-values"])
@pytest.mark.parametrize(
    ("statement", "values", "index"),
    [
        (
            "list_conversations_by_status",
            {"status": "resolved"},
            "Index Scan using conversations_account_status_idx",
        ),
        (
            "list_conversations_by_assignee",
            {"assignee": ""},
            # Most conversations are unassigned: walking them all by activity, filtered, is as
            # short a walk, and the statistics of the moment may choose it.
            "Index Scan using conversations_account_(assignee|activity)_idx",
        ),
        (
            "list_conversations_by_assignee",
            {"assignee": "agent-3", "status": "open"},
            "Index Scan using conversations_account_assignee_idx",
        ),
        ("list_conversations_unread", {"unread": True}, "Index Scan using conversations_account_unread_idx"),
        (
            "list_conversations_by_label",
            {"label": "vip"},
            "Bitmap Index Scan on conversations_account_labels_idx",
        ),
        ("list_conversations_by_contact", {"q": "customer 12"}, "contacts_account_name_idx"),
        ("list_conversations_by_contact", {"q": "17770000012"}, "contacts_account_wa_id_key"),
    ],
    ids=["status", "unassigned", "assignee-and-status", "unread", "label", "q-name", "q-phone"],
)
async def test_an_index_serves_each_inbox_filter(
    connection: asyncpg.Connection,
    many_conversations: UUID,
    generic: bool,
    statement: str,
    values: dict[str, Any],
    index: str,
) -> None:
    """The statement the read store runs for the filter, planned for its values and, as a
    prepared statement may come to be, for any values, over an account of 20,000 conversations."""
    query = getattr(SQL, statement)
    arguments: dict[str, Any] = {
        "account_id": many_conversations,
        "limit": 21,
        "can_send_free_form": None,
        "window_expires_before": None,
        "after_time": None,
        "after_id": None,
        **NO_INBOX,
        **values,
    }
    if "window_expires_after" in query.parameters:
        arguments["window_expires_after"] = None
    if "q" in values:
        contact = ContactQuery(values["q"])
        arguments |= {"q_wa_id": contact.wa_id, "q_user_id": contact.user_id}
    if generic:
        await connection.execute(GENERIC_PLAN_OF)
        rows = await connection.fetch("SELECT * FROM pg_temp.generic_plan_of($1)", query.sql)
    else:
        rows = await connection.fetch(f"EXPLAIN {query.sql}", *query.arguments(arguments))
    plan = "\n".join(row[0] for row in rows)
    assert re.search(index, plan), plan
    assert "Seq Scan on conversations" not in plan, plan
