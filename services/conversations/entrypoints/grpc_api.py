"""The gRPC face of the conversations service: protobuf in, use case call, protobuf out.

Ids are parsed here (one that is not a UUID cannot exist: NOT_FOUND), and domain and
database errors become gRPC status codes in `grpc_errors.py`'s `status_for`, and nowhere else.
"""

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import TypeVar

import grpc
from pigeon.conversations.v1 import conversations_pb2 as pb
from pigeon.conversations.v1 import conversations_pb2_grpc as pb_grpc

from services.conversations.domain.errors import (
    InvalidArgument,
)
from services.conversations.domain.model import MessageStatus
from services.conversations.entrypoints import grpc_media
from services.conversations.entrypoints.grpc_errors import abort_for, item_status_for, maps_errors
from services.conversations.entrypoints.protobuf import (
    content_from_proto,
    conversation_to_proto,
    expected_version,
    inbox_filter_from_proto,
    key_hash_from_proto,
    message_to_proto,
    note_to_proto,
    optional_id,
    parse_id,
    patch_from_proto,
    search_from_proto,
    window_filter_from_proto,
)
from services.conversations.use_cases import UseCases
from services.shared.failure_proto import failure_to_proto
from services.shared.logs import REQUEST_ID
from services.shared.one_call_per_turn import as_they_complete
from services.shared.timestamps import timestamp

log = logging.getLogger(__name__)

# The most requests one batch call may carry.
MAX_BATCH_REQUESTS = 256

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


class ConversationsServicer(pb_grpc.ConversationsServicer):
    def __init__(self, use_cases: UseCases) -> None:
        self.use = use_cases

    @maps_errors
    async def AuthenticateApiKey(
        self, request: pb.AuthenticateApiKeyRequest, context: grpc.aio.ServicerContext
    ) -> pb.AuthenticateApiKeyResponse:
        grant = await self.use.directory.authenticate(key_hash_from_proto(request))
        return pb.AuthenticateApiKeyResponse(
            account_id=str(grant.account_id), scopes=[str(s) for s in grant.scopes]
        )

    @maps_errors
    async def GetConversation(
        self, request: pb.GetConversationRequest, context: grpc.aio.ServicerContext
    ) -> pb.Conversation:
        conversation = await self.use.reading.conversation(
            parse_id(request.account_id, "account"), parse_id(request.conversation_id, "conversation")
        )
        return conversation_to_proto(conversation)

    @maps_errors
    async def ListConversations(
        self, request: pb.ListConversationsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListConversationsResponse:
        conversations, next_token = await self.use.reading.conversations(
            parse_id(request.account_id, "account"),
            request.page_size,
            request.page_token,
            window_filter_from_proto(request),
            inbox_filter_from_proto(request),
        )
        return pb.ListConversationsResponse(
            conversations=[conversation_to_proto(c) for c in conversations], next_page_token=next_token
        )

    @maps_errors
    async def GetMessage(
        self, request: pb.GetMessageRequest, context: grpc.aio.ServicerContext
    ) -> pb.Message:
        message = await self.use.reading.message(
            parse_id(request.account_id, "account"), parse_id(request.message_id, "message")
        )
        return message_to_proto(message)

    @maps_errors
    async def ListMessages(
        self, request: pb.ListMessagesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListMessagesResponse:
        messages, next_token = await self.use.reading.messages(
            parse_id(request.account_id, "account"),
            parse_id(request.conversation_id, "conversation"),
            request.page_size,
            request.page_token,
        )
        return pb.ListMessagesResponse(
            messages=[message_to_proto(m) for m in messages], next_page_token=next_token
        )

    @maps_errors
    async def SearchMessages(
        self, request: pb.SearchMessagesRequest, context: grpc.aio.ServicerContext
    ) -> pb.SearchMessagesResponse:
        messages, next_token = await self.use.reading.search(
            parse_id(request.account_id, "account"),
            search_from_proto(request),
            request.page_size,
            request.page_token,
        )
        return pb.SearchMessagesResponse(
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
        created = await self.use.outbound.create(
            parse_id(request.account_id, "account"),
            optional_id(request.conversation_id, "conversation"),
            request.to,
            content_from_proto(request.content),
            queue=request.queue,
            idempotency_key=request.idempotency_key,
            request_hash=request.request_hash,
        )
        message, target = created.message, created.target
        response = pb.CreateOutboundMessageResponse(
            message=message_to_proto(message), replayed=created.replayed
        )
        if message.status == MessageStatus.SENDING and not created.replayed:
            # Only a caller that is to deliver the message gets the token; a queued one's
            # stays here, for the outbox.
            response.target.CopyFrom(
                pb.SendTarget(
                    phone_number_id=target.phone_number_id,
                    access_token=target.access_token,
                    to=target.to,
                    recipient_user_id=target.recipient_user_id,
                )
            )
        return response

    @maps_errors
    async def SendNow(
        self, request: pb.SendNowRequest, context: grpc.aio.ServicerContext
    ) -> pb.SendNowResponse:
        return await self._send_now(request, context.time_remaining())

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
                response = await self._send_now(request.requests[index], context.time_remaining())
            except Exception as exc:
                return pb.BatchSendNowResult(index=index, error=item_status_for(exc))
            return pb.BatchSendNowResult(index=index, response=response)

        # Concurrently: their inserts, sender calls and outcomes go together, each as a batch.
        async for result in as_they_complete([send(index) for index in range(len(request.requests))]):
            yield result

    async def _send_now(self, request: pb.SendNowRequest, answer_within: float | None) -> pb.SendNowResponse:
        wanted = request.message
        if not wanted.content.type or not wanted.content.body_json:
            raise InvalidArgument("content.type and content.body_json are required")
        result = await self.use.send_now.send(
            parse_id(wanted.account_id, "account"),
            optional_id(wanted.conversation_id, "conversation"),
            wanted.to,
            content_from_proto(wanted.content),
            wanted.idempotency_key,
            wanted.request_hash,
            request_id=REQUEST_ID.get(),  # the caller's, from the metadata or the batch
            answer_within=answer_within,  # the caller's deadline
        )
        return pb.SendNowResponse(
            message=message_to_proto(result.message),
            replayed=result.replayed,
            failure=failure_to_proto(result.failure) if result.failure else None,
            store_ms=result.store_ms,
            whatsapp_ms=result.whatsapp_ms,
            record_ms=result.record_ms,
        )

    @maps_errors
    async def RecordSendOutcome(
        self, request: pb.RecordSendOutcomeRequest, context: grpc.aio.ServicerContext
    ) -> pb.Message:
        # The request's own faults first, then whether its ids can exist.
        outcome = request.WhichOneof("outcome")
        if outcome is None:
            raise InvalidArgument("an outcome (wa_message_id or failure) is required")
        if outcome == "wa_message_id" and not request.wa_message_id:
            raise InvalidArgument("wa_message_id is required")
        if outcome == "failure" and not request.failure.code:
            raise InvalidArgument("failure.code is required")
        account_id = parse_id(request.account_id, "account")
        message_id = parse_id(request.message_id, "message")
        if outcome == "wa_message_id":
            message = await self.use.outcomes.record_sent(account_id, message_id, request.wa_message_id)
        else:
            message = await self.use.outcomes.record_failed(
                account_id, message_id, request.failure.code, request.failure.message
            )
        if message is None:
            raise await self.use.outcomes.not_recorded(account_id, message_id)
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
        received = await self.use.webhooks.receive(request.body, request.signature)
        return pb.ReceiveWebhookResponse(notification_id=received.notification_id, ignored=received.ignored)

    @maps_errors
    async def MarkConversationRead(
        self, request: pb.MarkConversationReadRequest, context: grpc.aio.ServicerContext
    ) -> pb.Conversation:
        account_id = parse_id(request.account_id, "account")
        conversation_id = parse_id(request.conversation_id, "conversation")
        await self.use.webhooks.applier.mark_read(account_id, conversation_id)
        await self.use.read_receipts.send(account_id, conversation_id, request.typing)
        return conversation_to_proto(await self.use.reading.conversation(account_id, conversation_id))

    @maps_errors
    async def UpdateConversation(
        self, request: pb.UpdateConversationRequest, context: grpc.aio.ServicerContext
    ) -> pb.Conversation:
        account_id = parse_id(request.account_id, "account")
        conversation_id = parse_id(request.conversation_id, "conversation")
        await self.use.inbox.update(
            account_id, conversation_id, patch_from_proto(request), expected_version(request)
        )
        return conversation_to_proto(await self.use.reading.conversation(account_id, conversation_id))

    @maps_errors
    async def AddConversationLabel(
        self, request: pb.ConversationLabelRequest, context: grpc.aio.ServicerContext
    ) -> pb.Conversation:
        account_id = parse_id(request.account_id, "account")
        conversation_id = parse_id(request.conversation_id, "conversation")
        await self.use.inbox.label(account_id, conversation_id, request.label, expected_version(request))
        return conversation_to_proto(await self.use.reading.conversation(account_id, conversation_id))

    @maps_errors
    async def RemoveConversationLabel(
        self, request: pb.ConversationLabelRequest, context: grpc.aio.ServicerContext
    ) -> pb.Conversation:
        account_id = parse_id(request.account_id, "account")
        conversation_id = parse_id(request.conversation_id, "conversation")
        await self.use.inbox.unlabel(account_id, conversation_id, request.label, expected_version(request))
        return conversation_to_proto(await self.use.reading.conversation(account_id, conversation_id))

    @maps_errors
    async def AddConversationNote(
        self, request: pb.AddConversationNoteRequest, context: grpc.aio.ServicerContext
    ) -> pb.ConversationNote:
        note = await self.use.inbox.add_note(
            parse_id(request.account_id, "account"),
            parse_id(request.conversation_id, "conversation"),
            request.author,
            request.body,
        )
        return note_to_proto(note)

    @maps_errors
    async def ListConversationNotes(
        self, request: pb.ListConversationNotesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListConversationNotesResponse:
        notes, next_token = await self.use.inbox.notes(
            parse_id(request.account_id, "account"),
            parse_id(request.conversation_id, "conversation"),
            request.page_size,
            request.page_token,
        )
        return pb.ListConversationNotesResponse(
            notes=[note_to_proto(n) for n in notes], next_page_token=next_token
        )

    async def WatchEvents(
        self, request: pb.WatchEventsRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.Event]:
        try:
            account_id = parse_id(request.account_id, "account")
            async for event in self.use.events.watch(account_id, request.after_id):
                yield pb.Event(
                    id=event.id,
                    type=event.type,
                    data_json=event.data_json,
                    created_at=timestamp(event.created_at),
                )
        except Exception as exc:
            await abort_for(exc, context)

    @maps_errors
    async def GetMedia(self, request: pb.GetMediaRequest, context: grpc.aio.ServicerContext) -> pb.Media:
        return await grpc_media.get_media(self.use, request)

    async def ReadMedia(
        self, request: pb.ReadMediaRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.MediaChunk]:
        try:
            async for chunk in grpc_media.read_media(self.use, request):
                yield chunk
        except Exception as exc:
            await abort_for(exc, context)

    @maps_errors
    async def UploadMedia(
        self, requests: AsyncIterator[pb.UploadMediaRequest], context: grpc.aio.ServicerContext
    ) -> pb.Media:
        return await grpc_media.upload_media(self.use, requests)
