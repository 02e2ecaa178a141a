"""The conversations service over real gRPC, in process, against real PostgreSQL."""

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg
import grpc
import orjson
import pytest
import pytest_asyncio
from google.protobuf.timestamp_pb2 import Timestamp
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from pigeon.conversations.v1 import conversations_pb2 as pb
from pigeon.conversations.v1 import conversations_pb2_grpc as pb_grpc
from pigeon.messages.v1 import content_pb2
from pigeon.sender.v1.sender_pb2_grpc import SenderStub
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from services.conversations.__main__ import SERVICE_NAME
from services.conversations.adapters.database.database import Database
from services.conversations.adapters.listener import Listener
from services.conversations.adapters.media_store.filesystem import FilesystemMediaStore
from services.conversations.adapters.sender_client import Sender, SenderClient
from services.conversations.domain.model import Accepted, Content, OutgoingMessage
from services.conversations.entrypoints.grpc_api import MAX_BATCH_REQUESTS, ConversationsServicer
from services.conversations.settings import SendPolicy
from services.conversations.use_cases import UseCases
from services.conversations.use_cases.send_now import SendNow
from services.conversations.wiring import use_cases
from services.shared.api_keys import hash_api_key
from services.shared.group_commit import GroupCommit
from services.shared.grpc_server import build_server
from tools.seed import SeededAccount, create_account


@dataclass
class Service:
    stub: pb_grpc.ConversationsStub
    channel: grpc.aio.Channel
    use: UseCases
    database: Database


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def service(
    engine: AsyncEngine, database: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Service]:
    db = Database(database, 10)
    listener = Listener(database)
    # No sender here: SendNow is tested end to end (tests/e2e/test_sync_send.py).
    unreachable = grpc.aio.insecure_channel("127.0.0.1:9")
    sender = Sender(SenderClient(SenderStub(unreachable), timeout_seconds=1))
    store = FilesystemMediaStore(str(tmp_path_factory.mktemp("media")))
    cases = use_cases(db, listener, sender, sender, store, cache_ttl_seconds=60, policy=SendPolicy())
    await listener.start()
    servicer = ConversationsServicer(cases)
    server, _, port = await build_server(
        [lambda s: pb_grpc.add_ConversationsServicer_to_server(servicer, s)], [SERVICE_NAME], "127.0.0.1:0"
    )
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    yield Service(pb_grpc.ConversationsStub(channel), channel, cases, db)
    cases.events.close()
    await channel.close()
    await server.stop(None)
    await listener.stop()
    await unreachable.close()
    await db.close()


class StatementCounter:
    """Counts the statements the send path sends to PostgreSQL (each one round trip): the
    test of "one round trip"."""

    def __init__(self, database: Database) -> None:
        self.statements: list[str] = []
        self.params: list[dict[str, Any]] = []
        self.pools = [database._statements, database._batches]

    def __enter__(self) -> "StatementCounter":
        for pool in self.pools:
            run = pool.run

            async def counted(query: Any, run: Any = run, **params: Any) -> Any:
                self.statements.append(query.sql)
                self.params.append(params)
                return await run(query, **params)

            pool.run = counted  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        for pool in self.pools:
            del pool.run


def text_content(body: str = "Hello") -> content_pb2.Content:
    return content_pb2.Content(type="text", body_json=orjson.dumps({"body": body, "preview_url": False}))


async def create(service: Service, account: SeededAccount, **fields: Any) -> pb.CreateOutboundMessageResponse:
    fields.setdefault("content", text_content())
    return await service.stub.CreateOutboundMessage(
        pb.CreateOutboundMessageRequest(account_id=account.account_id, **fields)
    )


async def expect_status(code: grpc.StatusCode, call: Any) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    assert caught.value.code() == code, caught.value.details()
    return caught.value


def by_hash(api_key: str) -> pb.AuthenticateApiKeyRequest:
    return pb.AuthenticateApiKeyRequest(key_hash=hash_api_key(api_key))


async def test_authenticate_api_key(service: Service, account: SeededAccount) -> None:
    response = await service.stub.AuthenticateApiKey(by_hash(account.api_key))
    assert response.account_id == account.account_id
    await expect_status(
        grpc.StatusCode.UNAUTHENTICATED, service.stub.AuthenticateApiKey(by_hash(account.api_key + "x"))
    )


async def test_a_raw_key_from_an_older_gateway_still_authenticates(
    service: Service, account: SeededAccount
) -> None:
    request = pb.AuthenticateApiKeyRequest(api_key=account.api_key)  # deprecated, kept for upgrades
    assert (await service.stub.AuthenticateApiKey(request)).account_id == account.account_id


@pytest.mark.parametrize("key_hash", [b"\x00", b"\x01" * 31, b"\x01" * 33])
async def test_a_key_hash_of_another_length_is_invalid(service: Service, key_hash: bytes) -> None:
    await expect_status(
        grpc.StatusCode.INVALID_ARGUMENT,
        service.stub.AuthenticateApiKey(pb.AuthenticateApiKeyRequest(key_hash=key_hash)),
    )


async def test_revoked_key_is_refused(service: Service, engine: AsyncEngine) -> None:
    account = await create_account(engine, "Revoked", conversations=0)
    async with engine.connect() as connection:
        await connection.execute(
            text("UPDATE api_keys SET revoked_at = now() WHERE account_id = :a"), {"a": account.account_id}
        )
    await expect_status(
        grpc.StatusCode.UNAUTHENTICATED,
        service.stub.AuthenticateApiKey(by_hash(account.api_key)),
    )


async def test_a_cached_key_revoked_by_hand_stops_working_within_a_second(
    service: Service, engine: AsyncEngine
) -> None:
    account = await create_account(engine, "Revoked later", conversations=0)
    request = by_hash(account.api_key)
    await service.stub.AuthenticateApiKey(request)
    misses = service.use.directory.api_keys.stats.misses
    await service.stub.AuthenticateApiKey(request)
    assert service.use.directory.api_keys.stats.misses == misses  # served from the cache
    async with engine.connect() as connection:
        await connection.execute(
            text("UPDATE api_keys SET revoked_at = now() WHERE account_id = :a"), {"a": account.account_id}
        )
    started = asyncio.get_running_loop().time()
    while True:
        try:
            await service.stub.AuthenticateApiKey(request)
        except grpc.aio.AioRpcError as exc:
            assert exc.code() == grpc.StatusCode.UNAUTHENTICATED
            break
        assert asyncio.get_running_loop().time() - started < 1.0, "revocation not seen within 1 s"
        await asyncio.sleep(0.01)


async def test_create_outbound_stores_sending_message_and_moves_conversation(
    service: Service, account: SeededAccount, engine: AsyncEngine
) -> None:
    conversation_id = account.conversation_ids[0]
    created = await create(
        service, account, conversation_id=conversation_id, content=text_content("Hi there")
    )

    message = created.message
    assert message.status == pb.MESSAGE_STATUS_SENDING
    assert message.direction == pb.DIRECTION_OUTBOUND
    assert message.conversation_id == conversation_id
    assert orjson.loads(message.content.body_json) == {"body": "Hi there", "preview_url": False}
    assert created.target.phone_number_id == account.phone_number_id
    assert created.target.access_token == account.access_token
    assert created.target.to == account.contact_wa_ids[0]
    async with engine.connect() as connection:
        row = (
            await connection.execute(
                text(
                    "SELECT m.status, m.body->>'body' AS body, m.created_at, c.last_message_at "
                    "FROM messages m JOIN conversations c ON c.id = m.conversation_id WHERE m.id = :id"
                ),
                {"id": message.id},
            )
        ).one()
    assert row.status == "sending"
    assert row.body == "Hi there"
    # Same statement, same now(): the conversation moved exactly to the message's time.
    assert row.last_message_at == row.created_at


async def test_create_outbound_is_one_statement_when_cached(
    service: Service, account: SeededAccount, engine: AsyncEngine
) -> None:
    await create(service, account, conversation_id=account.conversation_ids[1])  # warms the caches
    with StatementCounter(service.database) as counter:
        await create(service, account, conversation_id=account.conversation_ids[1])
    assert len(counter.statements) == 1
    assert "INSERT INTO messages" in counter.statements[0]
    assert "UPDATE conversations" in counter.statements[0]


async def test_concurrent_misses_load_a_conversation_once(
    service: Service, account: SeededAccount, engine: AsyncEngine
) -> None:
    conversation_id = account.conversation_ids[2]
    with StatementCounter(service.database) as counter:
        created = await asyncio.gather(
            *(create(service, account, conversation_id=conversation_id) for _ in range(20))
        )
    lookups = [s for s in counter.statements if "FROM conversations c JOIN contacts" in s]
    assert len(lookups) == 1
    # The 20 inserts went to PostgreSQL in batches, every message stored once.
    inserts = [s for s in counter.statements if "INSERT INTO messages" in s]
    assert 1 <= len(inserts) < 20
    ids = [r.message.id for r in created]
    async with engine.connect() as connection:
        stored = await connection.scalar(
            text("SELECT count(*) FROM messages WHERE id = ANY(CAST(:ids AS uuid[]))"), {"ids": ids}
        )
    assert len(set(ids)) == stored == 20


async def rows_waiting(batches: GroupCommit[Any, Any], count: int) -> None:
    """Until `count` rows wait for the statement in flight. A fixed sleep was not enough on a
    loaded machine: a row for a new contact, say, first writes the contact."""
    deadline = asyncio.get_running_loop().time() + 30
    while len(batches._waiting) < count:
        assert asyncio.get_running_loop().time() < deadline, "the rows did not arrive"
        await asyncio.sleep(0.01)


async def held_batch(
    service: Service,
    account: SeededAccount,
    database: str,
    conversation: str,
    calls: list[Any],
    batched: int,
) -> tuple[list[Any], list[int]]:
    """Runs `calls` (coroutines) while a lock on `conversation` holds an insert in flight,
    so that the `batched` of them that reach the insert wait for it and then share a
    statement. Their results, and the size of each insert statement that ran."""
    await create(service, account, conversation_id=conversation)  # warms the caches
    with StatementCounter(service.database) as counter:
        locker = await asyncpg.connect(database)
        try:
            async with locker.transaction():
                await locker.execute(
                    "SELECT 1 FROM conversations WHERE id = $1 FOR UPDATE", UUID(conversation)
                )
                in_flight = asyncio.ensure_future(create(service, account, conversation_id=conversation))
                await asyncio.sleep(0.1)
                answers = [asyncio.ensure_future(call) for call in calls]
                await rows_waiting(service.database.messages._inserts, batched)
                await asyncio.sleep(0.1)  # time for a row too many to arrive
                assert not in_flight.done()
        finally:
            await locker.close()
        await in_flight
        results = await asyncio.gather(*answers, return_exceptions=True)
    return results, [len(params["message_ids"]) for params in counter.params if "message_ids" in params]


async def test_content_over_32_kib_is_refused_before_it_is_stored(
    service: Service, account: SeededAccount, engine: AsyncEngine
) -> None:
    # Internal callers reach this without the gateway's validation.
    big = orjson.dumps({"body": "x" * (32 * 1024)})
    error = await expect_status(
        grpc.StatusCode.INVALID_ARGUMENT,
        create(
            service,
            account,
            conversation_id=account.conversation_ids[0],
            content=content_pb2.Content(type="text", body_json=big),
        ),
    )
    assert "32768 bytes" in (error.details() or "")
    async with engine.connect() as connection:
        stored = await connection.scalar(
            text("SELECT count(*) FROM messages WHERE account_id = :a AND length(body::text) > 32768"),
            {"a": account.account_id},
        )
    assert stored == 0


async def test_each_row_of_a_batch_gets_its_own_answer(
    service: Service, account: SeededAccount, other_account: SeededAccount, engine: AsyncEngine, database: str
) -> None:
    """Rows that share a statement: sending, queued, a contact whose window is closed, one
    idempotency key twice with the same body; and, refused before any insert, another
    account's conversation and a \\u0000 PostgreSQL could not store."""
    mine = account.conversation_ids[0]
    calls = [
        create(service, account, conversation_id=mine, content=text_content("first")),
        create(service, account, conversation_id=mine, idempotency_key="batch-key", request_hash=b"h"),
        create(service, account, conversation_id=mine, idempotency_key="batch-key", request_hash=b"h"),
        create(service, account, conversation_id=mine, content=text_content("last"), queue=True),
        create(service, account, to="15550004242", content=text_content("never wrote")),
        create(service, account, conversation_id=other_account.conversation_ids[0]),
        create(
            service,
            account,
            conversation_id=mine,
            content=content_pb2.Content(type="text", body_json=b'{"body": "nul \\u0000 here"}'),
        ),
    ]
    results, batch_sizes = await held_batch(service, account, database, mine, calls, batched=5)
    assert batch_sizes == [1, 5]  # the held insert, then the five rows together

    first, keyed, replay, queued, closed, foreign, nul = results
    assert isinstance(nul, grpc.aio.AioRpcError) and nul.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert isinstance(foreign, grpc.aio.AioRpcError) and foreign.code() == grpc.StatusCode.NOT_FOUND
    assert first.message.status == pb.MESSAGE_STATUS_SENDING
    assert queued.message.status == pb.MESSAGE_STATUS_QUEUED
    assert (closed.message.status, closed.message.error_code) == (
        pb.MESSAGE_STATUS_FAILED,
        "reengagement_required",
    )
    assert keyed.message.id == replay.message.id and {keyed.replayed, replay.replayed} == {False, True}
    ids = [first.message.id, keyed.message.id, queued.message.id, closed.message.id]
    async with engine.connect() as connection:
        stored = await connection.scalar(
            text("SELECT count(*) FROM messages WHERE id = ANY(CAST(:ids AS uuid[]))"), {"ids": ids}
        )
        keys = await connection.scalar(
            text("SELECT count(*) FROM idempotency_keys WHERE account_id = :a AND key = 'batch-key'"),
            {"a": account.account_id},
        )
    assert stored == 4 and keys == 1


async def test_a_row_that_fails_its_batch_fails_alone(
    service: Service, account: SeededAccount, engine: AsyncEngine, database: str
) -> None:
    """A body that is not JSON fails the whole statement; each row then runs alone."""
    mine = account.conversation_ids[1]
    calls = [
        create(service, account, conversation_id=mine, content=text_content("before")),
        create(
            service, account, conversation_id=mine, content=content_pb2.Content(type="text", body_json=b"{no")
        ),
        create(service, account, conversation_id=mine, content=text_content("after")),
    ]
    results, batch_sizes = await held_batch(service, account, database, mine, calls, batched=3)
    assert batch_sizes == [1, 3, 1, 1, 1]
    before, broken, after = results
    assert isinstance(broken, grpc.aio.AioRpcError) and broken.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert before.message.status == after.message.status == pb.MESSAGE_STATUS_SENDING


async def test_a_batch_call_answers_each_request_as_if_alone(
    service: Service, account: SeededAccount, other_account: SeededAccount, engine: AsyncEngine
) -> None:
    """BatchCreateOutboundMessages: each request gets the answer (or the status) its own
    CreateOutboundMessage call would have, in order, and the stored ones share one insert."""
    mine = account.conversation_ids[2]
    await create(service, account, conversation_id=mine)  # warms the caches

    def request(**fields: Any) -> pb.CreateOutboundMessageRequest:
        fields.setdefault("content", text_content())
        return pb.CreateOutboundMessageRequest(account_id=account.account_id, **fields)

    requests = [
        request(conversation_id=mine, content=text_content("sending")),
        request(conversation_id=mine, queue=True),
        request(conversation_id=other_account.conversation_ids[0]),
        request(conversation_id=mine, content=content_pb2.Content()),
        request(conversation_id=mine, idempotency_key="batch-call", request_hash=b"one", queue=True),
        request(conversation_id=mine, idempotency_key="batch-call", request_hash=b"two", queue=True),
        request(
            conversation_id=mine,
            content=content_pb2.Content(type="text", body_json=b'{"body": "nul \\u0000 here"}'),
        ),
    ]
    with StatementCounter(service.database) as counter:
        response = await service.stub.BatchCreateOutboundMessages(
            pb.BatchCreateOutboundMessagesRequest(requests=requests, request_ids=[f"r{i}" for i in range(7)])
        )
    sending, queued, foreign, empty, *same_key, nul = response.results
    # One key with two bodies in one call: one request wins it, the other is refused.
    keyed, reused = sorted(same_key, key=lambda r: r.WhichOneof("result") != "created")
    outcomes = [r.WhichOneof("result") for r in (sending, queued, foreign, empty, keyed, reused, nul)]
    assert outcomes == ["created", "created", "error", "error", "created", "error", "error"]
    assert sending.created.message.status == pb.MESSAGE_STATUS_SENDING
    assert sending.created.target.phone_number_id == account.phone_number_id
    assert queued.created.message.status == pb.MESSAGE_STATUS_QUEUED
    assert not queued.created.HasField("target")  # the outbox delivers it: no token leaves
    assert keyed.created.message.status == pb.MESSAGE_STATUS_QUEUED and not keyed.created.replayed
    assert foreign.error.code == grpc.StatusCode.NOT_FOUND.value[0]
    assert empty.error.code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    assert "content.type" in empty.error.message
    assert reused.error.code == grpc.StatusCode.ALREADY_EXISTS.value[0]
    assert nul.error.code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    # The four rows went to PostgreSQL in one statement (the key reused with another body too).
    assert [len(p["message_ids"]) for p in counter.params if "message_ids" in p] == [4]

    ids = [sending.created.message.id, queued.created.message.id, keyed.created.message.id]
    async with engine.connect() as connection:
        stored = await connection.scalar(
            text("SELECT count(*) FROM messages WHERE id = ANY(CAST(:ids AS uuid[]))"), {"ids": ids}
        )
        foreign_rows = await connection.scalar(
            text("SELECT count(*) FROM messages WHERE conversation_id = :c AND direction = 'outbound'"),
            {"c": other_account.conversation_ids[0]},
        )
    assert (stored, foreign_rows) == (3, 0)

    # A replay in a later batch call answers the original.
    winner = requests[4 + list(response.results[4:6]).index(keyed)]
    again = await service.stub.BatchCreateOutboundMessages(
        pb.BatchCreateOutboundMessagesRequest(requests=[winner])
    )
    assert again.results[0].created.replayed
    assert again.results[0].created.message.id == keyed.created.message.id


async def test_a_batch_call_over_its_limit_is_refused_whole(service: Service, account: SeededAccount) -> None:
    request = pb.CreateOutboundMessageRequest(
        account_id=account.account_id, conversation_id=account.conversation_ids[2], content=text_content()
    )
    with StatementCounter(service.database) as counter:
        await expect_status(
            grpc.StatusCode.INVALID_ARGUMENT,
            service.stub.BatchCreateOutboundMessages(
                pb.BatchCreateOutboundMessagesRequest(requests=[request] * (MAX_BATCH_REQUESTS + 1))
            ),
        )
    assert counter.statements == []
    empty = await service.stub.BatchCreateOutboundMessages(pb.BatchCreateOutboundMessagesRequest())
    assert list(empty.results) == []


async def test_create_outbound_to_new_contact_opens_one_conversation(
    service: Service, account: SeededAccount
) -> None:
    # A template: the contact never wrote, so free-form text would be refused (24 h window).
    template = content_pb2.Content(
        type="template", body_json=orjson.dumps({"name": "order_update", "language": {"code": "en"}})
    )
    first = await create(service, account, to="15550001111", content=template)
    second = await create(service, account, to="+15550001111")
    assert first.message.conversation_id == second.message.conversation_id
    assert first.message.status == pb.MESSAGE_STATUS_SENDING
    assert first.target.to == "15550001111"
    # Refused by the window: nobody is to deliver it, so no target (and no token) comes back.
    assert second.message.status == pb.MESSAGE_STATUS_FAILED
    assert not second.HasField("target")
    conversation = await service.stub.GetConversation(
        pb.GetConversationRequest(
            account_id=account.account_id, conversation_id=first.message.conversation_id
        )
    )
    assert conversation.contact_wa_id == "15550001111"
    assert not conversation.HasField("last_inbound_at")


async def test_another_accounts_conversation_is_not_found_and_nothing_is_written(
    service: Service, account: SeededAccount, other_account: SeededAccount, engine: AsyncEngine
) -> None:
    foreign = other_account.conversation_ids[0]
    await expect_status(grpc.StatusCode.NOT_FOUND, create(service, account, conversation_id=foreign))
    await expect_status(
        grpc.StatusCode.NOT_FOUND,
        service.stub.GetConversation(
            pb.GetConversationRequest(account_id=account.account_id, conversation_id=foreign)
        ),
    )
    await expect_status(
        grpc.StatusCode.NOT_FOUND,
        service.stub.ListMessages(
            pb.ListMessagesRequest(account_id=account.account_id, conversation_id=foreign)
        ),
    )
    async with engine.connect() as connection:
        count = (
            await connection.execute(
                text("SELECT count(*) FROM messages WHERE conversation_id = :c AND direction = 'outbound'"),
                {"c": foreign},
            )
        ).scalar_one()
    assert count == 0


async def test_bad_requests(service: Service, account: SeededAccount) -> None:
    await expect_status(grpc.StatusCode.INVALID_ARGUMENT, create(service, account))
    await expect_status(grpc.StatusCode.INVALID_ARGUMENT, create(service, account, to="12ab"))
    await expect_status(grpc.StatusCode.NOT_FOUND, create(service, account, conversation_id="not-a-uuid"))
    await expect_status(
        grpc.StatusCode.INVALID_ARGUMENT,
        create(service, account, conversation_id=account.conversation_ids[0], content=content_pb2.Content()),
    )


async def test_an_outcome_without_its_wamid_or_code_is_invalid_and_changes_nothing(
    service: Service, account: SeededAccount
) -> None:
    sending = (await create(service, account, conversation_id=account.conversation_ids[0])).message
    for outcome in (
        pb.RecordSendOutcomeRequest(account_id=account.account_id, message_id=sending.id, wa_message_id=""),
        pb.RecordSendOutcomeRequest(
            account_id=account.account_id, message_id=sending.id, failure=pb.SendOutcomeFailure(code="")
        ),
        pb.RecordSendOutcomeRequest(account_id=account.account_id, message_id=sending.id),
        # The request's own fault first, even with an id that cannot exist.
        pb.RecordSendOutcomeRequest(account_id=account.account_id, message_id="not-a-uuid", wa_message_id=""),
    ):
        await expect_status(grpc.StatusCode.INVALID_ARGUMENT, service.stub.RecordSendOutcome(outcome))
    message = await service.stub.GetMessage(
        pb.GetMessageRequest(account_id=account.account_id, message_id=sending.id)
    )
    assert message.status == pb.MESSAGE_STATUS_SENDING


async def test_record_send_outcome(service: Service, account: SeededAccount) -> None:
    sent = (await create(service, account, conversation_id=account.conversation_ids[0])).message
    failed = (await create(service, account, conversation_id=account.conversation_ids[0])).message

    recorded = await service.stub.RecordSendOutcome(
        pb.RecordSendOutcomeRequest(
            account_id=account.account_id, message_id=sent.id, wa_message_id="wamid.A1"
        )
    )
    assert recorded.status == pb.MESSAGE_STATUS_SENT
    assert recorded.wa_message_id == "wamid.A1"
    assert recorded.HasField("sent_at")

    recorded = await service.stub.RecordSendOutcome(
        pb.RecordSendOutcomeRequest(
            account_id=account.account_id,
            message_id=failed.id,
            failure=pb.SendOutcomeFailure(code="131026", message="Message undeliverable"),
        )
    )
    assert recorded.status == pb.MESSAGE_STATUS_FAILED
    assert (recorded.error_code, recorded.error_message) == ("131026", "Message undeliverable")
    assert recorded.HasField("failed_at")

    # An outcome is recorded once: a second one finds the message no longer sending.
    await expect_status(
        grpc.StatusCode.FAILED_PRECONDITION,
        service.stub.RecordSendOutcome(
            pb.RecordSendOutcomeRequest(
                account_id=account.account_id, message_id=sent.id, wa_message_id="wamid.B2"
            )
        ),
    )
    message = await service.stub.GetMessage(
        pb.GetMessageRequest(account_id=account.account_id, message_id=sent.id)
    )
    assert message.wa_message_id == "wamid.A1"


async def test_a_late_sync_outcome_leaves_a_send_the_outbox_took_over(
    service: Service, account: SeededAccount, engine: AsyncEngine
) -> None:
    stalled = (await create(service, account, conversation_id=account.conversation_ids[0])).message
    async with engine.begin() as connection:
        # What a takeover after the sync send's lease ran out leaves: the outbox's own claim.
        await connection.execute(
            text(
                "UPDATE messages SET attempts = 2, claim = nextval('message_claims') WHERE id = :id AND status = 'sending'"
            ),
            {"id": stalled.id},
        )
    for outcome in (
        pb.RecordSendOutcomeRequest(
            account_id=account.account_id, message_id=stalled.id, wa_message_id="wamid.LATE"
        ),
        pb.RecordSendOutcomeRequest(
            account_id=account.account_id,
            message_id=stalled.id,
            failure=pb.SendOutcomeFailure(code="timeout", message="late"),
        ),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await service.stub.RecordSendOutcome(outcome)
        assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert "taken over" in (refused.value.details() or "")
    message = await service.stub.GetMessage(
        pb.GetMessageRequest(account_id=account.account_id, message_id=stalled.id)
    )
    assert (message.status, message.wa_message_id, message.error_code) == (pb.MESSAGE_STATUS_SENDING, "", "")


async def test_outcomes_sharing_a_statement_each_get_their_own_answer(
    service: Service, account: SeededAccount, other_account: SeededAccount, database: str
) -> None:
    conversation = account.conversation_ids[1]
    sent, failed, twice, held = [
        (await create(service, account, conversation_id=conversation)).message for _ in range(4)
    ]
    foreign = (
        await create(service, other_account, conversation_id=other_account.conversation_ids[1])
    ).message

    def outcome(message: pb.Message, account_id: str, **fields: Any) -> Any:
        return service.stub.RecordSendOutcome(
            pb.RecordSendOutcomeRequest(account_id=account_id, message_id=message.id, **fields)
        )

    # Started later: a gRPC call starts when it is made.
    calls = [
        lambda: outcome(sent, account.account_id, wa_message_id="wamid.S1"),
        lambda: outcome(
            failed, account.account_id, failure=pb.SendOutcomeFailure(code="131026", message="no")
        ),
        lambda: outcome(twice, account.account_id, wa_message_id="wamid.T1"),
        lambda: outcome(twice, account.account_id, wa_message_id="wamid.T2"),
        lambda: outcome(foreign, account.account_id, wa_message_id="wamid.F1"),
    ]
    with StatementCounter(service.database) as counter:
        # A lock on one message holds the first outcome in flight; the others wait and go together.
        locker = await asyncpg.connect(database)
        try:
            async with locker.transaction():
                await locker.execute("SELECT 1 FROM messages WHERE id = $1 FOR UPDATE", UUID(held.id))
                in_flight = asyncio.ensure_future(outcome(held, account.account_id, wa_message_id="wamid.H1"))
                await asyncio.sleep(0.1)
                answers = [asyncio.ensure_future(call()) for call in calls]
                await rows_waiting(service.database.messages._outcomes, len(calls))
                assert not in_flight.done()
        finally:
            await locker.close()
        assert (await in_flight).status == pb.MESSAGE_STATUS_SENT
        results = await asyncio.gather(*answers, return_exceptions=True)
    batch_sizes = [len(params["message_ids"]) for params in counter.params if "wa_message_ids" in params]
    assert batch_sizes[:2] == [1, 5]

    recorded_sent, recorded_failed, first, second, other = results
    assert isinstance(recorded_sent, pb.Message) and isinstance(recorded_failed, pb.Message)
    assert (recorded_sent.status, recorded_sent.wa_message_id) == (pb.MESSAGE_STATUS_SENT, "wamid.S1")
    assert not recorded_sent.error_code and not recorded_sent.HasField("failed_at")
    assert (recorded_failed.status, recorded_failed.error_code) == (pb.MESSAGE_STATUS_FAILED, "131026")
    assert not recorded_failed.wa_message_id and not recorded_failed.HasField("sent_at")
    # One of the two outcomes for a message is recorded; the other finds it no longer sending.
    outcomes = [r for r in (first, second) if isinstance(r, pb.Message)]
    refused = [r for r in (first, second) if isinstance(r, grpc.aio.AioRpcError)]
    assert len(outcomes) == 1 and outcomes[0].wa_message_id in ("wamid.T1", "wamid.T2")
    assert len(refused) == 1 and refused[0].code() == grpc.StatusCode.FAILED_PRECONDITION
    assert isinstance(other, grpc.aio.AioRpcError) and other.code() == grpc.StatusCode.NOT_FOUND
    untouched = await service.stub.GetMessage(
        pb.GetMessageRequest(account_id=other_account.account_id, message_id=foreign.id)
    )
    assert untouched.status == pb.MESSAGE_STATUS_SENDING


async def test_another_account_cannot_read_or_record_a_message(
    service: Service, account: SeededAccount, other_account: SeededAccount
) -> None:
    message = (await create(service, account, conversation_id=account.conversation_ids[0])).message
    await expect_status(
        grpc.StatusCode.NOT_FOUND,
        service.stub.GetMessage(
            pb.GetMessageRequest(account_id=other_account.account_id, message_id=message.id)
        ),
    )
    await expect_status(
        grpc.StatusCode.NOT_FOUND,
        service.stub.RecordSendOutcome(
            pb.RecordSendOutcomeRequest(
                account_id=other_account.account_id, message_id=message.id, wa_message_id="wamid.X"
            )
        ),
    )
    still = await service.stub.GetMessage(
        pb.GetMessageRequest(account_id=account.account_id, message_id=message.id)
    )
    assert still.status == pb.MESSAGE_STATUS_SENDING


async def test_list_conversations_pages_newest_activity_first(service: Service, engine: AsyncEngine) -> None:
    account = await create_account(engine, "Paging", conversations=5)
    # Activity on the oldest conversation makes it the newest.
    await create(service, account, conversation_id=account.conversation_ids[4])
    seen: list[str] = []
    token = ""
    pages = 0
    while True:
        page = await service.stub.ListConversations(
            pb.ListConversationsRequest(account_id=account.account_id, page_size=2, page_token=token)
        )
        pages += 1
        seen += [c.id for c in page.conversations]
        token = page.next_page_token
        if not token:
            break
    assert pages == 3
    ids = account.conversation_ids
    # Seeded conversation i had its last activity i minutes ago.
    assert seen == [ids[4], ids[0], ids[1], ids[2], ids[3]]


async def test_list_conversations_filters_on_the_service_window(
    service: Service, engine: AsyncEngine
) -> None:
    account = await create_account(engine, "Windows", conversations=3)
    ids = account.conversation_ids
    # The customers wrote 5 minutes ago (seeded), 30 hours ago, never.
    async with engine.connect() as connection:
        await connection.execute(
            text("UPDATE conversations SET last_inbound_at = now() - interval '30 hours' WHERE id = :id"),
            {"id": ids[1]},
        )
        await connection.execute(
            text("UPDATE conversations SET last_inbound_at = NULL WHERE id = :id"), {"id": ids[2]}
        )

    async def listed(**window: Any) -> list[pb.Conversation]:
        page = await service.stub.ListConversations(
            pb.ListConversationsRequest(account_id=account.account_id, page_size=1, **window)
        )
        found = list(page.conversations)
        while page.next_page_token:
            page = await service.stub.ListConversations(
                pb.ListConversationsRequest(
                    account_id=account.account_id, page_size=1, page_token=page.next_page_token, **window
                )
            )
            found += page.conversations
        return found

    every = await listed()
    assert [c.id for c in every] == ids
    assert [c.can_send_free_form for c in every] == [True, False, False]
    assert [c.HasField("window_expires_at") for c in every] == [True, True, False]
    opened = every[0]
    assert opened.window_expires_at.ToSeconds() - opened.last_inbound_at.ToSeconds() == 24 * 3600
    assert [c.id for c in await listed(can_send_free_form=True)] == ids[:1]
    assert [c.id for c in await listed(can_send_free_form=False)] == ids[1:]
    # Closing between a day ago and now: the one who wrote 30 hours ago (closed 6 hours ago).
    day_ago, now = Timestamp(), Timestamp()
    now.GetCurrentTime()
    day_ago.FromSeconds(now.ToSeconds() - 24 * 3600)
    assert [c.id for c in await listed(window_expires_after=day_ago, window_expires_before=now)] == ids[1:2]
    assert [c.id for c in await listed(window_expires_before=now)] == ids[1:]
    await expect_status(
        grpc.StatusCode.INVALID_ARGUMENT,
        service.stub.ListConversations(
            pb.ListConversationsRequest(
                account_id=account.account_id, window_expires_after=now, window_expires_before=day_ago
            )
        ),
    )


async def test_list_messages_pages_newest_first(service: Service, account: SeededAccount) -> None:
    conversation_id = account.conversation_ids[1]
    created = [
        (
            await create(service, account, conversation_id=conversation_id, content=text_content(f"m{i}"))
        ).message.id
        for i in range(3)
    ]
    first = await service.stub.ListMessages(
        pb.ListMessagesRequest(account_id=account.account_id, conversation_id=conversation_id, page_size=2)
    )
    second = await service.stub.ListMessages(
        pb.ListMessagesRequest(
            account_id=account.account_id,
            conversation_id=conversation_id,
            page_size=2,
            page_token=first.next_page_token,
        )
    )
    assert [m.id for m in first.messages] == created[::-1][:2]
    # Then the oldest outbound message and the seeded inbound one, and no further page.
    assert second.messages[0].id == created[0]
    assert [m.direction for m in second.messages] == [pb.DIRECTION_OUTBOUND, pb.DIRECTION_INBOUND]
    assert second.next_page_token == ""


async def test_page_size_and_token_are_validated(service: Service, account: SeededAccount) -> None:
    await expect_status(
        grpc.StatusCode.INVALID_ARGUMENT,
        service.stub.ListConversations(
            pb.ListConversationsRequest(account_id=account.account_id, page_size=101)
        ),
    )
    await expect_status(
        grpc.StatusCode.INVALID_ARGUMENT,
        service.stub.ListConversations(
            pb.ListConversationsRequest(account_id=account.account_id, page_token="!!garbage!!")
        ),
    )


async def test_health_and_reflection(service: Service) -> None:
    health = health_pb2_grpc.HealthStub(service.channel)
    response = await health.Check(health_pb2.HealthCheckRequest(service=SERVICE_NAME))
    assert response.status == health_pb2.HealthCheckResponse.SERVING

    reflection = reflection_pb2_grpc.ServerReflectionStub(service.channel)
    responses = reflection.ServerReflectionInfo(
        iter([reflection_pb2.ServerReflectionRequest(list_services="")])
    )
    names = [s.name async for r in responses for s in r.list_services_response.service]
    assert SERVICE_NAME in names
    assert "grpc.health.v1.Health" in names


async def test_batch_send_now_answers_each_send_on_its_own(
    service: Service, account: SeededAccount, other_account: SeededAccount, engine: AsyncEngine
) -> None:
    def send(**fields: Any) -> pb.SendNowRequest:
        fields.setdefault("content", text_content())
        return pb.SendNowRequest(
            message=pb.CreateOutboundMessageRequest(account_id=account.account_id, **fields)
        )

    mine = account.conversation_ids[2]
    request = pb.BatchSendNowRequest(
        requests=[
            send(conversation_id=mine, content=text_content("now")),
            send(conversation_id=other_account.conversation_ids[0]),
            send(conversation_id=mine, content=content_pb2.Content()),
        ],
        request_ids=["r0", "r1", "r2"],
    )

    results = {result.index: result async for result in service.stub.BatchSendNow(request)}

    assert sorted(results) == [0, 1, 2]
    # This service's sender is unreachable: the send is stored and fails as SendNow's would.
    sent = results[0].response
    assert sent.message.status == pb.MESSAGE_STATUS_FAILED
    assert sent.failure.code == "sender_unavailable"
    assert results[1].error.code == grpc.StatusCode.NOT_FOUND.value[0]
    assert results[2].error.code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    async with engine.connect() as connection:
        stored = await connection.scalar(
            text("SELECT error_code FROM messages WHERE id = :id"), {"id": sent.message.id}
        )
    assert stored == "sender_unavailable"


async def test_a_batch_send_now_over_its_limit_is_refused_whole(
    service: Service, account: SeededAccount
) -> None:
    wanted = pb.CreateOutboundMessageRequest(
        account_id=account.account_id, conversation_id=account.conversation_ids[2], content=text_content()
    )
    request = pb.BatchSendNowRequest(requests=[pb.SendNowRequest(message=wanted)] * (MAX_BATCH_REQUESTS + 1))
    with StatementCounter(service.database) as counter, pytest.raises(grpc.aio.AioRpcError) as raised:
        [result async for result in service.stub.BatchSendNow(request)]
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert counter.statements == []


class HeldSender:
    """A sender whose answer (accepted) waits until released."""

    def __init__(self) -> None:
        self.called = asyncio.Event()
        self.release = asyncio.Event()

    async def send(self, message: OutgoingMessage, request_id: str = "") -> Accepted:
        self.called.set()
        await self.release.wait()
        return Accepted("wamid.HELD")


@pytest.mark.parametrize("leaves", ["while_storing", "while_sending"])
async def test_a_sync_send_whose_caller_left_is_sent_and_recorded(
    service: Service, account: SeededAccount, engine: AsyncEngine, leaves: str
) -> None:
    sender = HeldSender()
    direct = SendNow(service.use.outbound, service.use.outcomes, sender)
    body = f'{{"body": "left {leaves}", "preview_url": false}}'.encode()
    caller = asyncio.ensure_future(
        direct.send(
            UUID(account.account_id),
            UUID(account.conversation_ids[2]),
            "",
            Content("text", body, ""),
            "",
            b"",
        )
    )
    if leaves == "while_storing":
        await asyncio.sleep(0)  # cancelled before the insert has answered
    else:
        await asyncio.wait_for(sender.called.wait(), 5)  # WhatsApp may have the message
    caller.cancel()  # e.g. the gateway's call was cancelled
    sender.release.set()
    await direct.drain(5)

    async with engine.connect() as connection:
        row = (
            await connection.execute(
                text("SELECT status, wa_message_id FROM messages WHERE body->>'body' = :b"),
                {"b": f"left {leaves}"},
            )
        ).one()
    assert (row.status, row.wa_message_id) == ("sent", "wamid.HELD")
