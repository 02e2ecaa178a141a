"""This service's client of the sender: sends that start together share one gRPC call.

A unary call costs the caller and the sender about as much CPU as the WhatsApp request it
carries, and the sender's grpc.aio server takes in calls one at a time. Sends that start in
the same turn of the event loop (a group-committed insert wakes all its callers at once; the
outbox's paced slots fall due together) go in one `SendMessages` call, whose results stream
back each as soon as WhatsApp answers it (`services/shared/one_call_per_turn.py`). A send alone,
or a large one, goes as a plain `SendMessage`.
"""

import asyncio
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from dataclasses import dataclass

import grpc
from pigeon.messages.v1 import content_pb2
from pigeon.sender.v1 import sender_pb2, sender_pb2_grpc

from services.conversations.domain.media import Media, MediaFile
from services.conversations.domain.model import Accepted, OutgoingMessage
from services.conversations.domain.templates import Template, template_of
from services.shared.failure_proto import failure_from_proto
from services.shared.one_call_per_turn import OneCallPerTurn, streamed_results
from services.shared.vocabulary import FailureCode, sender_call_failed
from services.shared.whatsapp_errors import Failure, FailureClass, FailureKind

log = logging.getLogger(__name__)

# Below the sender's limit of 256 per call; more go in further calls of the same turn.
MAX_MESSAGES_PER_CALL = 64
# A larger request goes alone, so a call stays far below gRPC's 4 MiB message limit.
MAX_SHARED_REQUEST_BYTES = 16 * 1024
# A 100 MB document at a slow 1 MB/s, with room to spare; the sender gives up on a stalled
# download much sooner (its read timeout).
MEDIA_CALL_TIMEOUT_SECONDS = 300.0
# An upload runs inside a send, which holds its message's lease (60 s by default, both ways of
# sending): it must end well within it, or another replica could take the message over and send
# it too. 100 MB at 3.3 MB/s; a slower upload fails the send for a retry (media_unavailable).
MEDIA_UPLOAD_TIMEOUT_SECONDS = 30.0
# A template listing is every page of it (up to 40 calls to WhatsApp).
LIST_TEMPLATES_TIMEOUT_SECONDS = 120.0


class SenderCallError(Exception):
    """The sender gave no result for a message (the call failed, or the message was
    invalid): not a WhatsApp failure, which is a result."""

    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        super().__init__(f"{code.name}: {details}")
        self.code = code
        self.details = details

    @property
    def refusal(self) -> str | None:
        """Why the sender refused the request itself (INVALID_ARGUMENT): a permanent failure,
        trying again would change nothing. None for any other failure of the call."""
        if self.code != grpc.StatusCode.INVALID_ARGUMENT:
            return None
        return f"the sender refused the request: {self.details}"


@dataclass(frozen=True)
class _Send:
    request: sender_pb2.SendMessageRequest
    request_id: str


class SenderClient:
    def __init__(self, stub: sender_pb2_grpc.SenderStub, timeout_seconds: float) -> None:
        self.stub = stub
        self.timeout_seconds = timeout_seconds
        self._calls = OneCallPerTurn(
            "sender_calls",
            self._send_one,
            self._send_many,
            max_batch=MAX_MESSAGES_PER_CALL,
            alone=lambda send: send.request.ByteSize() > MAX_SHARED_REQUEST_BYTES,
            call_failed=_call_failed,
        )

    async def send(
        self, request: sender_pb2.SendMessageRequest, request_id: str = ""
    ) -> sender_pb2.SendMessageResponse:
        """WhatsApp's answer through the sender; raises SenderCallError when there is none.
        Cancelling it abandons this send (see OneCallPerTurn.submit)."""
        return await self._calls.submit(_Send(request, request_id))

    async def _send_one(self, send: _Send) -> sender_pb2.SendMessageResponse:
        metadata = (("x-request-id", send.request_id),) if send.request_id else ()
        try:
            return await self.stub.SendMessage(send.request, timeout=self.timeout_seconds, metadata=metadata)
        except grpc.aio.AioRpcError as exc:
            raise _call_error(exc) from None

    def _send_many(
        self, sends: Sequence[_Send]
    ) -> AsyncIterator[tuple[int, sender_pb2.SendMessageResponse | Exception]]:
        call = self.stub.SendMessages(
            sender_pb2.SendMessagesRequest(
                messages=[send.request for send in sends],
                request_ids=[send.request_id for send in sends],
            ),
            timeout=self.timeout_seconds,
        )
        return streamed_results(call, _outcome, _call_error)

    async def close(self) -> None:
        await self._calls.close()


def _outcome(result: sender_pb2.SendMessagesResult) -> sender_pb2.SendMessageResponse | SenderCallError:
    """One message's result, as its own SendMessage call would have ended."""
    kind = result.WhichOneof("result")
    if kind == "response":
        return result.response
    if kind == "invalid_argument":
        return SenderCallError(grpc.StatusCode.INVALID_ARGUMENT, result.invalid_argument)
    return SenderCallError(grpc.StatusCode.UNKNOWN, result.internal_error or "no result")


def _call_error(error: grpc.aio.AioRpcError) -> SenderCallError:
    return SenderCallError(error.code(), error.details() or "")


def _call_failed(error: Exception | None) -> Exception:
    if isinstance(error, SenderCallError):
        return error
    if error is None:
        return SenderCallError(grpc.StatusCode.INTERNAL, "the sender gave no result for the message")
    log.error("a call to the sender failed", extra={"error": repr(error)})
    return SenderCallError(grpc.StatusCode.UNKNOWN, "the call to the sender failed")


def send_request(message: OutgoingMessage) -> sender_pb2.SendMessageRequest:
    """The sender's request for a message: the one place it is built."""
    request = sender_pb2.SendMessageRequest(
        phone_number_id=message.phone_number_id,
        access_token=message.access_token,
        to=message.to,
        recipient_user_id=message.recipient_user_id,
        content=content_pb2.Content(
            type=message.content.type,
            body_json=message.content.body_json,
            reply_to_wa_message_id=message.content.reply_to_wa_message_id,
        ),
        biz_opaque_callback_data=str(message.message_id),
    )
    if message.send_by is not None:
        # As a wall-clock time: the sender compares it with its own clock (NTP keeps hosts
        # within milliseconds of each other).
        seconds_left = message.send_by - asyncio.get_running_loop().time()
        request.not_after_unix_seconds = time.time() + seconds_left
    return request


def call_failure(error: SenderCallError) -> Failure:
    """The sender gave no answer of WhatsApp's: as a failure of the send. After a deadline
    WhatsApp may have the message all the same."""
    if error.refusal is not None:
        return Failure(FailureClass.PERMANENT, None, FailureCode.SENDER_REFUSED, error.refusal)
    if error.code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return Failure(
            FailureClass.RETRYABLE,
            FailureKind.TIMEOUT,
            FailureCode.TIMEOUT,
            "the sender did not answer before the deadline",
        )
    return Failure(
        FailureClass.RETRYABLE,
        FailureKind.CONNECTION,
        sender_call_failed(error.code.name),
        f"the sender service failed: {error.code.name}",
    )


class Sender:
    """What the use cases send through: a message in, WhatsApp's answer (or the reason there
    was none) out, never a protobuf."""

    def __init__(self, client: SenderClient) -> None:
        self.client = client

    async def send(self, message: OutgoingMessage, request_id: str = "") -> Accepted | Failure:
        try:
            response = await self.client.send(send_request(message), request_id)
        except SenderCallError as exc:
            return call_failure(exc)
        if response.HasField("accepted"):
            return Accepted(response.accepted.wa_message_id)
        return failure_from_proto(response.failure)

    async def download_media(
        self, phone_number_id: str, access_token: str, wa_media_id: str, max_bytes: int
    ) -> AsyncGenerator[MediaFile | bytes | Failure, None]:
        """What WhatsApp says of the file, then its bytes, or a failure (first, or after some
        bytes, which are then to be dropped); ends after a failure."""
        call = self.client.stub.DownloadMedia(
            sender_pb2.DownloadMediaRequest(
                phone_number_id=phone_number_id,
                access_token=access_token,
                media_id=wa_media_id,
                max_bytes=max_bytes,
            ),
            timeout=MEDIA_CALL_TIMEOUT_SECONDS,
        )
        try:
            async for chunk in call:
                part = chunk.WhichOneof("part")
                if part == "file":
                    yield MediaFile(chunk.file.mime_type, chunk.file.size, chunk.file.sha256)
                elif part == "failure":
                    yield failure_from_proto(chunk.failure)
                    return
                else:
                    yield chunk.data
        except grpc.aio.AioRpcError as exc:
            yield call_failure(_call_error(exc))
        finally:
            call.cancel()

    async def upload_media(
        self, phone_number_id: str, access_token: str, media: Media, chunks: AsyncIterator[bytes]
    ) -> str | Failure:
        """WhatsApp's id for the file, streamed from `chunks`, or why not. An error `chunks`
        raise (the object store) is raised here, the call given up."""
        call = self.client.stub.UploadMedia(timeout=MEDIA_UPLOAD_TIMEOUT_SECONDS)
        header = sender_pb2.UploadMediaHeader(
            phone_number_id=phone_number_id,
            access_token=access_token,
            mime_type=media.mime_type,
            filename=media.filename,
            size=media.size or 0,
        )
        try:
            await call.write(sender_pb2.UploadMediaChunk(header=header))
            async for chunk in chunks:
                await call.write(sender_pb2.UploadMediaChunk(data=chunk))
            await call.done_writing()
            response = await call
        except grpc.aio.AioRpcError as exc:
            return call_failure(_call_error(exc))
        finally:
            if not call.done():
                call.cancel()
        if response.WhichOneof("result") == "media_id":
            return str(response.media_id)
        return failure_from_proto(response.failure)

    async def mark_read(
        self, phone_number_id: str, access_token: str, message_id: str, typing: bool
    ) -> Failure | None:
        request = sender_pb2.MarkReadRequest(
            phone_number_id=phone_number_id, access_token=access_token, message_id=message_id, typing=typing
        )
        try:
            response = await self.client.stub.MarkRead(request, timeout=self.client.timeout_seconds)
        except grpc.aio.AioRpcError as exc:
            return call_failure(_call_error(exc))
        return failure_from_proto(response.failure) if response.HasField("failure") else None

    async def list_templates(self, waba_id: str, access_token: str) -> list[Template] | Failure:
        request = sender_pb2.ListTemplatesRequest(waba_id=waba_id, access_token=access_token)
        try:
            # Every page of the listing in one call: more time than one send.
            response = await self.client.stub.ListTemplates(request, timeout=LIST_TEMPLATES_TIMEOUT_SECONDS)
        except grpc.aio.AioRpcError as exc:
            return call_failure(_call_error(exc))
        if response.HasField("failure"):
            return failure_from_proto(response.failure)
        return [
            template_of(t.name, t.language, t.id, t.category, t.status, t.parameter_format, t.components_json)
            for t in response.templates.templates
        ]
