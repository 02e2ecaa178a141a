"""The gRPC face of the conversations service: protobuf in, use case call, protobuf out.

Domain errors become gRPC status codes here, in `_STATUS_BY_ERROR`, and nowhere else.
"""

import asyncio
import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

import asyncpg
import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from pigeon.conversations.v1 import conversations_pb2 as pb
from pigeon.conversations.v1 import conversations_pb2_grpc as pb_grpc
from pigeon.messages.v1 import content_pb2

from services.conversations.database_errors import database_unavailable
from services.conversations.direct import DirectSender
from services.conversations.domain import (
    Conflict,
    Content,
    Conversation,
    Direction,
    DomainError,
    FailedPrecondition,
    InvalidArgument,
    Message,
    MessageStatus,
    NotFound,
    Unauthenticated,
)
from services.conversations.events import EventHub
from services.conversations.inbox import Inbox, parse_id
from services.conversations.webhooks import Webhooks
from services.shared.logs import REQUEST_ID
from services.shared.turn_batching import as_they_complete

log = logging.getLogger(__name__)

# The most requests one BatchCreateOutboundMessages or BatchSendNow call may carry.
MAX_BATCH_REQUESTS = 256

_STATUS_BY_ERROR: dict[type[DomainError], grpc.StatusCode] = {
    NotFound: grpc.StatusCode.NOT_FOUND,
    InvalidArgument: grpc.StatusCode.INVALID_ARGUMENT,
    Unauthenticated: grpc.StatusCode.UNAUTHENTICATED,
    FailedPrecondition: grpc.StatusCode.FAILED_PRECONDITION,
    Conflict: grpc.StatusCode.ALREADY_EXISTS,
}

# Failures to reach PostgreSQL: the caller may retry once the database is back.
_DIRECTION = {Direction.OUTBOUND: pb.DIRECTION_OUTBOUND, Direction.INBOUND: pb.DIRECTION_INBOUND}
_STATUS = {
    MessageStatus.QUEUED: pb.MESSAGE_STATUS_QUEUED,
    MessageStatus.SENDING: pb.MESSAGE_STATUS_SENDING,
    MessageStatus.SENT: pb.MESSAGE_STATUS_SENT,
    MessageStatus.DELIVERED: pb.MESSAGE_STATUS_DELIVERED,
    MessageStatus.READ: pb.MESSAGE_STATUS_READ,
    MessageStatus.FAILED: pb.MESSAGE_STATUS_FAILED,
    MessageStatus.RECEIVED: pb.MESSAGE_STATUS_RECEIVED,
}

Response = TypeVar("Response")
Handler = Callable[[Any, Any, grpc.aio.ServicerContext], Awaitable[Response]]


def maps_errors(handler: Handler[Response]) -> Handler[Response]:
    """Turns domain and database errors raised by a handler into gRPC statuses."""

    @functools.wraps(handler)
    async def wrapper(self: Any, request: Any, context: grpc.aio.ServicerContext) -> Response:
        try:
            return await handler(self, request, context)
        except Exception as exc:
            await abort_for(exc, context)
        raise AssertionError("context.abort always raises")

    return wrapper


def status_for(exc: Exception) -> tuple[grpc.StatusCode, str]:
    """The status of a domain or database error; re-raises anything else."""
    if isinstance(exc, DomainError):
        return _STATUS_BY_ERROR[type(exc)], str(exc)
    if isinstance(exc, asyncpg.exceptions.DataError):
        # A value PostgreSQL refuses to store (a \u0000 in JSON, say): the caller's input.
        return grpc.StatusCode.INVALID_ARGUMENT, f"a value could not be stored: {exc}"
    if not database_unavailable(exc):
        raise exc
    log.warning("database unavailable", extra={"error": type(exc).__name__})
    return grpc.StatusCode.UNAVAILABLE, "database unavailable"


async def abort_for(exc: Exception, context: grpc.aio.ServicerContext) -> None:
    """Ends the call with the status of a domain or database error; re-raises anything else."""
    await context.abort(*status_for(exc))


def item_status_for(exc: Exception) -> pb.ItemStatus:
    """One item's failure in a batch call: as `status_for`, and an unexpected error is that
    item's INTERNAL (logged) rather than every item's."""
    try:
        code, text = status_for(exc)
    except Exception:
        log.exception("a batch item failed")
        code, text = grpc.StatusCode.INTERNAL, "internal error"
    return pb.ItemStatus(code=code.value[0], message=text)


Request = TypeVar("Request")
Answer = TypeVar("Answer")
Result = TypeVar("Result")


async def each_concurrently(
    requests: Sequence[Request],
    handle: Callable[[Request], Awaitable[Answer]],
    answered: Callable[[Answer], Result],
    failed: Callable[[pb.ItemStatus], Result],
    request_ids: Sequence[str] = (),
) -> list[Result]:
    """A batch call's requests, handled concurrently (their statements then share one batch),
    each with its own result, or the status its own call would have ended with."""
    if len(requests) > MAX_BATCH_REQUESTS:
        raise InvalidArgument(f"at most {MAX_BATCH_REQUESTS} requests in one batch")

    async def one(index: int, request: Request) -> Result:
        if index < len(request_ids):
            REQUEST_ID.set(request_ids[index])  # this item's task only
        try:
            return answered(await handle(request))
        except Exception as exc:
            return failed(item_status_for(exc))

    return list(await asyncio.gather(*(one(index, request) for index, request in enumerate(requests))))


def _timestamp(value: datetime | None) -> Timestamp | None:
    if value is None:
        return None
    timestamp = Timestamp()
    timestamp.FromDatetime(value)
    return timestamp


def message_to_proto(message: Message) -> pb.Message:
    return pb.Message(
        id=str(message.id),
        conversation_id=str(message.conversation_id),
        direction=_DIRECTION[message.direction],
        content=content_pb2.Content(
            type=message.content.type,
            body_json=message.content.body_json,
            reply_to_wa_message_id=message.content.reply_to_wa_message_id,
        ),
        status=_STATUS[message.status],
        wa_message_id=message.wa_message_id or "",
        error_code=message.error_code or "",
        error_message=message.error_message or "",
        created_at=_timestamp(message.created_at),
        sent_at=_timestamp(message.sent_at),
        delivered_at=_timestamp(message.delivered_at),
        read_at=_timestamp(message.read_at),
        failed_at=_timestamp(message.failed_at),
        contact_wa_id=message.contact_wa_id,
    )


def conversation_to_proto(conversation: Conversation) -> pb.Conversation:
    return pb.Conversation(
        id=str(conversation.id),
        account_id=str(conversation.account_id),
        contact_wa_id=conversation.contact_wa_id,
        contact_name=conversation.contact_name,
        created_at=_timestamp(conversation.created_at),
        last_message_at=_timestamp(conversation.last_message_at),
        last_inbound_at=_timestamp(conversation.last_inbound_at),
        unread_count=conversation.unread_count,
    )


class ConversationsServicer(pb_grpc.ConversationsServicer):
    def __init__(self, inbox: Inbox, events: EventHub, webhooks: Webhooks, direct: DirectSender) -> None:
        self.inbox = inbox
        self.events = events
        self.webhooks = webhooks
        self.direct = direct

    @maps_errors
    async def AuthenticateApiKey(
        self, request: pb.AuthenticateApiKeyRequest, context: grpc.aio.ServicerContext
    ) -> pb.AuthenticateApiKeyResponse:
        account_id = await self.inbox.authenticate(request.api_key)
        return pb.AuthenticateApiKeyResponse(account_id=str(account_id))

    @maps_errors
    async def GetConversation(
        self, request: pb.GetConversationRequest, context: grpc.aio.ServicerContext
    ) -> pb.Conversation:
        conversation = await self.inbox.get_conversation(request.account_id, request.conversation_id)
        return conversation_to_proto(conversation)

    @maps_errors
    async def ListConversations(
        self, request: pb.ListConversationsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListConversationsResponse:
        conversations, next_token = await self.inbox.list_conversations(
            request.account_id, request.page_size, request.page_token
        )
        return pb.ListConversationsResponse(
            conversations=[conversation_to_proto(c) for c in conversations], next_page_token=next_token
        )

    @maps_errors
    async def GetMessage(
        self, request: pb.GetMessageRequest, context: grpc.aio.ServicerContext
    ) -> pb.Message:
        return message_to_proto(await self.inbox.get_message(request.account_id, request.message_id))

    @maps_errors
    async def ListMessages(
        self, request: pb.ListMessagesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListMessagesResponse:
        messages, next_token = await self.inbox.list_messages(
            request.account_id, request.conversation_id, request.page_size, request.page_token
        )
        return pb.ListMessagesResponse(
            messages=[message_to_proto(m) for m in messages], next_page_token=next_token
        )

    @maps_errors
    async def CreateOutboundMessage(
        self, request: pb.CreateOutboundMessageRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateOutboundMessageResponse:
        return await self._create_outbound(request)

    @maps_errors
    async def BatchCreateOutboundMessages(
        self, request: pb.BatchCreateOutboundMessagesRequest, context: grpc.aio.ServicerContext
    ) -> pb.BatchCreateOutboundMessagesResponse:
        results = await each_concurrently(
            request.requests,
            self._create_outbound,
            lambda created: pb.CreateOutboundMessageResult(created=created),
            lambda error: pb.CreateOutboundMessageResult(error=error),
            request.request_ids,
        )
        return pb.BatchCreateOutboundMessagesResponse(results=results)

    async def _create_outbound(
        self, request: pb.CreateOutboundMessageRequest
    ) -> pb.CreateOutboundMessageResponse:
        if not request.content.type or not request.content.body_json:
            raise InvalidArgument("content.type and content.body_json are required")
        content = Content(
            request.content.type, request.content.body_json, request.content.reply_to_wa_message_id
        )
        message, target, replayed = await self.inbox.create_outbound(
            request.account_id,
            request.conversation_id,
            request.to,
            content,
            queue=request.queue,
            idempotency_key=request.idempotency_key,
            request_hash=request.request_hash,
        )
        response = pb.CreateOutboundMessageResponse(message=message_to_proto(message), replayed=replayed)
        if message.status == MessageStatus.SENDING and not replayed:
            # Only a caller that is to deliver the message gets the token; a queued one's
            # stays here, for the outbox.
            response.target.CopyFrom(
                pb.SendTarget(
                    phone_number_id=target.phone_number_id, access_token=target.access_token, to=target.to
                )
            )
        return response

    @maps_errors
    async def SendNow(
        self, request: pb.SendNowRequest, context: grpc.aio.ServicerContext
    ) -> pb.SendNowResponse:
        return await self._send_now(request)

    async def BatchSendNow(
        self, request: pb.BatchSendNowRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.BatchSendNowResult]:
        if len(request.requests) > MAX_BATCH_REQUESTS:
            await abort_for(InvalidArgument(f"at most {MAX_BATCH_REQUESTS} requests in one batch"), context)
        request_ids = list(request.request_ids)

        async def send(index: int) -> pb.BatchSendNowResult:
            if index < len(request_ids):
                REQUEST_ID.set(request_ids[index])  # this item's task only
            try:
                response = await self._send_now(request.requests[index])
            except Exception as exc:
                return pb.BatchSendNowResult(index=index, error=item_status_for(exc))
            return pb.BatchSendNowResult(index=index, response=response)

        # Concurrently: their inserts, sender calls and outcomes go together, each as a batch.
        async for result in as_they_complete([send(index) for index in range(len(request.requests))]):
            yield result

    async def _send_now(self, request: pb.SendNowRequest) -> pb.SendNowResponse:
        wanted = request.message
        if not wanted.content.type or not wanted.content.body_json:
            raise InvalidArgument("content.type and content.body_json are required")
        result = await self.direct.send(
            wanted.account_id,
            wanted.conversation_id,
            wanted.to,
            Content(wanted.content.type, wanted.content.body_json, wanted.content.reply_to_wa_message_id),
            wanted.idempotency_key,
            wanted.request_hash,
            request_id=REQUEST_ID.get(),  # the caller's, from the metadata or the batch
        )
        return pb.SendNowResponse(
            message=message_to_proto(result.message),
            replayed=result.replayed,
            failure=result.failure,
            store_ms=result.store_ms,
            whatsapp_ms=result.whatsapp_ms,
            record_ms=result.record_ms,
        )

    @maps_errors
    async def RecordSendOutcome(
        self, request: pb.RecordSendOutcomeRequest, context: grpc.aio.ServicerContext
    ) -> pb.Message:
        outcome = request.WhichOneof("outcome")
        if outcome == "wa_message_id":
            message = await self.inbox.record_sent(
                request.account_id, request.message_id, request.wa_message_id
            )
        elif outcome == "failure":
            message = await self.inbox.record_failed(
                request.account_id, request.message_id, request.failure.code, request.failure.message
            )
        else:
            raise InvalidArgument("an outcome (wa_message_id or failure) is required")
        return message_to_proto(message)

    @maps_errors
    async def ReceiveWebhook(
        self, request: pb.ReceiveWebhookRequest, context: grpc.aio.ServicerContext
    ) -> pb.ReceiveWebhookResponse:
        return await self._receive_webhook(request)

    @maps_errors
    async def ReceiveWebhooks(
        self, request: pb.ReceiveWebhooksRequest, context: grpc.aio.ServicerContext
    ) -> pb.ReceiveWebhooksResponse:
        results = await each_concurrently(
            request.requests,
            self._receive_webhook,
            lambda received: pb.ReceiveWebhookResult(received=received),
            lambda error: pb.ReceiveWebhookResult(error=error),
        )
        return pb.ReceiveWebhooksResponse(results=results)

    async def _receive_webhook(self, request: pb.ReceiveWebhookRequest) -> pb.ReceiveWebhookResponse:
        received = await self.webhooks.receive(request.body, request.signature)
        return pb.ReceiveWebhookResponse(notification_id=received.notification_id, ignored=received.ignored)

    @maps_errors
    async def MarkConversationRead(
        self, request: pb.MarkConversationReadRequest, context: grpc.aio.ServicerContext
    ) -> pb.Conversation:
        await self.webhooks.applier.mark_read(
            parse_id(request.account_id, "account"), parse_id(request.conversation_id, "conversation")
        )
        return conversation_to_proto(
            await self.inbox.get_conversation(request.account_id, request.conversation_id)
        )

    async def WatchEvents(
        self, request: pb.WatchEventsRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.Event]:
        try:
            account_id = parse_id(request.account_id, "account")
            async for event in self.events.watch(account_id, request.after_id):
                yield pb.Event(
                    id=event.id,
                    type=event.type,
                    data_json=event.data_json,
                    created_at=_timestamp(event.created_at),
                )
        except Exception as exc:
            await abort_for(exc, context)
