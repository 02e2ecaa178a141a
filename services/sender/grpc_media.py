"""The sender's media calls (see grpc_api.py's servicer): a file copied from WhatsApp in
chunks, a file uploaded to WhatsApp from chunks. What WhatsApp answers is a result, as for
sends; INVALID_ARGUMENT only for a request that must not reach WhatsApp."""

from collections.abc import AsyncIterator

from pigeon.sender.v1 import sender_pb2

from services.sender.checks import InvalidRequest, check_account
from services.sender.whatsapp import CloudApiClient
from services.sender.whatsapp_media import MediaInfo, download_media, upload_media
from services.shared.failure_proto import failure_to_proto
from services.shared.media_types import LARGEST_MEDIA_BYTES
from services.shared.whatsapp_errors import Failure

# Chunks of a download: far below gRPC's 4 MiB message limit, large enough to cost little per byte.
CHUNK_BYTES = 256 * 1024


async def download(
    client: CloudApiClient, request: sender_pb2.DownloadMediaRequest
) -> AsyncIterator[sender_pb2.DownloadMediaChunk]:
    check_account(request.phone_number_id, request.access_token)
    if not request.media_id or "/" in request.media_id or "?" in request.media_id:
        raise InvalidRequest("media_id must be WhatsApp's media id")
    parts = download_media(
        client,
        request.phone_number_id,
        request.access_token,
        request.media_id,
        max_bytes=request.max_bytes or LARGEST_MEDIA_BYTES,
        chunk_size=CHUNK_BYTES,
    )
    async for part in parts:
        if isinstance(part, MediaInfo):
            file = sender_pb2.MediaFile(mime_type=part.mime_type, size=part.size, sha256=part.sha256)
            yield sender_pb2.DownloadMediaChunk(file=file)
        elif isinstance(part, Failure):
            yield sender_pb2.DownloadMediaChunk(failure=failure_to_proto(part))
        else:
            yield sender_pb2.DownloadMediaChunk(data=part)


async def upload(
    client: CloudApiClient, requests: AsyncIterator[sender_pb2.UploadMediaChunk]
) -> sender_pb2.UploadMediaResponse:
    first = await anext(requests, None)
    if first is None or first.WhichOneof("part") != "header":
        raise InvalidRequest("the first message of an upload is its header")
    header = first.header
    check_account(header.phone_number_id, header.access_token)
    if not 0 < header.size <= LARGEST_MEDIA_BYTES:
        raise InvalidRequest(f"size must be 1 to {LARGEST_MEDIA_BYTES} bytes")
    problems: list[str] = []

    async def data() -> AsyncIterator[bytes]:
        # A wrong request stops the bytes short: WhatsApp then refuses the upload, and the
        # call answers INVALID_ARGUMENT whatever WhatsApp said.
        counted = 0
        async for request in requests:
            counted += len(request.data)
            if request.WhichOneof("part") != "data" or counted > header.size:
                problems.append("only the first message is a header, and the bytes add up to its size")
                return
            yield request.data
        if counted != header.size:
            problems.append(f"{counted} bytes, not the header's size of {header.size}")

    result = await upload_media(
        client,
        header.phone_number_id,
        header.access_token,
        mime_type=header.mime_type,
        filename=header.filename,
        size=header.size,
        chunks=data(),
    )
    if problems:
        raise InvalidRequest(problems[0])
    if isinstance(result, Failure):
        return sender_pb2.UploadMediaResponse(failure=failure_to_proto(result))
    return sender_pb2.UploadMediaResponse(media_id=result)
