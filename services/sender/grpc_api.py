"""The Sender servicer: checks a SendMessage request, hands it to the Cloud API client,
and turns the client's domain result into a SendMessageResponse. SendMessages does the same
for several messages at once, streaming each result as it comes.

gRPC status codes: a WhatsApp failure is a result (SendMessageResponse.failure), never a
failed call. The only error status this service returns itself is INVALID_ARGUMENT, for a
request that must not reach WhatsApp (see `_abort_invalid`; within SendMessages, an invalid
message's own result); anything else is grpc's own (e.g. CANCELLED, DEADLINE_EXCEEDED) or a
bug, surfacing as UNKNOWN.
"""

import logging
import time
from collections.abc import AsyncIterator
from typing import NoReturn

import grpc
import orjson
from pigeon.sender.v1 import sender_pb2, sender_pb2_grpc

from services.sender import grpc_media
from services.sender.checks import InvalidRequest, check_account
from services.sender.whatsapp import Accepted, CloudApiClient, SendResult
from services.sender.whatsapp_receipts import mark_read
from services.sender.whatsapp_templates import list_templates
from services.shared.failure_proto import failure_to_proto
from services.shared.logs import REQUEST_ID
from services.shared.one_call_per_turn import as_they_complete
from services.shared.vocabulary import ARRAY_CONTENT_TYPES, BSUID, MESSAGE_TYPES, RECIPIENT, FailureCode
from services.shared.whatsapp_errors import Failure, FailureClass, FailureKind

log = logging.getLogger(__name__)

SERVICE_NAME = sender_pb2.DESCRIPTOR.services_by_name["Sender"].full_name

_MAX_CALLBACK_DATA_BYTES = 512
_MAX_REPLY_TO_CHARS = 256

# Messages in one SendMessages call (the contract says so).
MAX_MESSAGES_PER_CALL = 256


class SenderServicer(sender_pb2_grpc.SenderServicer):
    def __init__(self, client: CloudApiClient) -> None:
        self._client = client

    async def SendMessage(
        self, request: sender_pb2.SendMessageRequest, context: grpc.aio.ServicerContext
    ) -> sender_pb2.SendMessageResponse:
        try:
            to = validate(request)
        except InvalidRequest as exc:
            await _abort_invalid(context, exc)
        return to_response(await self._send(request, to))

    async def SendMessages(
        self, request: sender_pb2.SendMessagesRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[sender_pb2.SendMessagesResult]:
        messages = request.messages
        if len(messages) > MAX_MESSAGES_PER_CALL:
            await _abort_invalid(
                context, InvalidRequest(f"at most {MAX_MESSAGES_PER_CALL} messages per call")
            )
        request_ids = request.request_ids

        async def one(index: int) -> sender_pb2.SendMessagesResult:
            if index < len(request_ids):
                REQUEST_ID.set(request_ids[index])  # this task's own context
            message = messages[index]
            try:
                to = validate(message)
            except InvalidRequest as exc:
                return sender_pb2.SendMessagesResult(index=index, invalid_argument=str(exc))
            try:
                response = to_response(await self._send(message, to))
            except Exception:
                # This message's alone: the others of the call go on.
                log.exception("sending a message failed")
                return sender_pb2.SendMessagesResult(index=index, internal_error="internal error")
            return sender_pb2.SendMessagesResult(index=index, response=response)

        async for result in as_they_complete([one(index) for index in range(len(messages))]):
            yield result

    async def DownloadMedia(
        self, request: sender_pb2.DownloadMediaRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[sender_pb2.DownloadMediaChunk]:
        try:
            async for chunk in grpc_media.download(self._client, request):
                yield chunk
        except InvalidRequest as exc:
            await _abort_invalid(context, exc)

    async def UploadMedia(
        self, requests: AsyncIterator[sender_pb2.UploadMediaChunk], context: grpc.aio.ServicerContext
    ) -> sender_pb2.UploadMediaResponse:
        try:
            return await grpc_media.upload(self._client, requests)
        except InvalidRequest as exc:
            await _abort_invalid(context, exc)

    async def MarkRead(
        self, request: sender_pb2.MarkReadRequest, context: grpc.aio.ServicerContext
    ) -> sender_pb2.MarkReadResponse:
        try:
            check_account(request.phone_number_id, request.access_token)
            if not request.message_id or len(request.message_id) > _MAX_REPLY_TO_CHARS:
                raise InvalidRequest(f"message_id must be 1 to {_MAX_REPLY_TO_CHARS} characters")
        except InvalidRequest as exc:
            await _abort_invalid(context, exc)
        failure = await mark_read(
            self._client, request.phone_number_id, request.access_token, request.message_id, request.typing
        )
        if failure is None:
            return sender_pb2.MarkReadResponse()
        return sender_pb2.MarkReadResponse(failure=failure_to_proto(failure))

    async def ListTemplates(
        self, request: sender_pb2.ListTemplatesRequest, context: grpc.aio.ServicerContext
    ) -> sender_pb2.ListTemplatesResponse:
        try:
            check_account(request.waba_id, request.access_token, "waba_id")
        except InvalidRequest as exc:
            await _abort_invalid(context, exc)
        listed = await list_templates(self._client, request.waba_id, request.access_token)
        if isinstance(listed, Failure):
            return sender_pb2.ListTemplatesResponse(failure=failure_to_proto(listed))
        templates = [
            sender_pb2.WhatsAppTemplate(
                id=t.id,
                name=t.name,
                language=t.language,
                status=t.status,
                category=t.category,
                parameter_format=t.parameter_format,
                components_json=t.components_json,
            )
            for t in listed
        ]
        return sender_pb2.ListTemplatesResponse(templates=sender_pb2.TemplateList(templates=templates))

    async def _send(self, request: sender_pb2.SendMessageRequest, to: str) -> SendResult:
        not_after = request.not_after_unix_seconds
        if not_after and time.time() > not_after:
            # The last moment the caller could check: what held the call up on its way here
            # (a busy sender, say) must not make it go out later than allowed.
            _warn_late(time.time() - not_after)
            return Failure(
                FailureClass.RETRYABLE,
                FailureKind.LATE,
                FailureCode.LATE_FOR_SLOT,
                f"not sent: {time.time() - not_after:.3f} s past the request's not_after time",
            )
        content = request.content
        return await self._client.send(
            phone_number_id=request.phone_number_id,
            access_token=request.access_token,
            to=to,
            message_type=content.type,
            body=content.body_json,
            reply_to=content.reply_to_wa_message_id,
            biz_opaque_callback_data=request.biz_opaque_callback_data,
            recipient="" if to else request.recipient_user_id,
        )


_last_late_warning = float("-inf")


def _warn_late(late_seconds: float) -> None:
    """At most one warning in 10 s: many late requests at once mean an overloaded sender, or
    its clock ahead of the caller's (the check compares wall clocks across hosts)."""
    global _last_late_warning
    now = time.monotonic()
    if now - _last_late_warning >= 10:
        _last_late_warning = now
        log.warning("a request came past its not_after time: not sent", extra={"late_seconds": late_seconds})


def validate(request: sender_pb2.SendMessageRequest) -> str:
    """Checks everything WhatsApp would reject or that could corrupt the call.

    Returns the recipient's phone number as the Cloud API wants it (digits only), "" for one
    named by recipient_user_id alone; raises InvalidRequest.
    """
    check_account(request.phone_number_id, request.access_token)
    recipient = RECIPIENT.fullmatch(request.to)
    if not request.to and not BSUID.fullmatch(request.recipient_user_id):
        raise InvalidRequest("to or recipient_user_id is required: a BSUID such as US.13491208655302741918")
    if request.to and recipient is None:
        raise InvalidRequest("to must be 5-15 digits, optionally after '+'")
    content = request.content
    if content.type not in MESSAGE_TYPES:
        raise InvalidRequest(f"content.type must be one of {', '.join(sorted(MESSAGE_TYPES))}")
    if not content.body_json:
        raise InvalidRequest("content.body_json is empty")
    # The client splices these bytes into the request verbatim, so they must be exactly
    # one JSON object: anything else could add or override keys of the request.
    try:
        body = orjson.loads(content.body_json)
    except orjson.JSONDecodeError:
        raise InvalidRequest("content.body_json is not valid UTF-8 JSON") from None
    if content.type in ARRAY_CONTENT_TYPES:
        if not isinstance(body, list):
            raise InvalidRequest(f"content.body_json of {content.type} must be a JSON array")
    elif not isinstance(body, dict):
        raise InvalidRequest("content.body_json must be a JSON object")
    if len(content.reply_to_wa_message_id) > _MAX_REPLY_TO_CHARS:
        raise InvalidRequest(f"content.reply_to_wa_message_id is longer than {_MAX_REPLY_TO_CHARS}")
    if len(request.biz_opaque_callback_data.encode()) > _MAX_CALLBACK_DATA_BYTES:
        raise InvalidRequest(f"biz_opaque_callback_data is longer than {_MAX_CALLBACK_DATA_BYTES} bytes")
    return recipient.group(1) if recipient else ""


async def _abort_invalid(context: grpc.aio.ServicerContext, error: InvalidRequest) -> NoReturn:
    await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(error))
    raise AssertionError("context.abort returned")  # abort always raises; this tells mypy


def to_response(result: SendResult) -> sender_pb2.SendMessageResponse:
    if isinstance(result, Accepted):
        return sender_pb2.SendMessageResponse(
            accepted=sender_pb2.Accepted(
                wa_message_id=result.wa_message_id,
                wa_id=result.wa_id,
                message_status=result.message_status,
            )
        )
    return sender_pb2.SendMessageResponse(failure=failure_to_proto(result))
