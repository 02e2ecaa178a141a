"""Media over HTTP: `POST /media` uploads a file, `GET /media/{id}` serves one back.

Bytes stream through in chunks both ways (client ↔ gateway ↔ conversations ↔ object
store): no file is ever whole in the gateway's memory. An upload is checked here first (its
MIME type, then its size as it comes) so that a wrong one is refused before anything is
kept; conversations checks again.
"""

import asyncio
import logging
import re
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing, asynccontextmanager

import aiohttp
import grpc
from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError
from pigeon.conversations.v1 import conversations_pb2 as pb

from services.gateway.context import ACCOUNT_ID, CLIENTS, REQUEST_ID, SETTINGS, grpc_metadata
from services.gateway.errors import ApiError, from_grpc
from services.gateway.handlers import ask_conversations, json_response
from services.gateway.resources import media_json
from services.shared.media_types import LARGEST_MEDIA_BYTES, attachment_disposition, max_bytes_of

routes = web.RouteTableDef()
log = logging.getLogger(__name__)

CHUNK_BYTES = 256 * 1024
MAX_FILENAME_BYTES = 1024
MAX_FILENAME_CHARACTERS = 255
# Room for the multipart framing around the file.
MULTIPART_OVERHEAD_BYTES = 64 * 1024
DELETED = "the file was deleted after the retention period"
_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


@routes.post("/media")
async def upload_media(request: web.Request) -> web.Response:
    """A multipart/form-data upload: the `file` part (its Content-Type is the MIME type), and
    optionally a `filename` field before it. 201 with the stored file."""
    if request.content_length is not None and request.content_length > (
        LARGEST_MEDIA_BYTES + MULTIPART_OVERHEAD_BYTES
    ):
        raise ApiError(413, "file_too_large", f"no file WhatsApp takes is over {LARGEST_MEDIA_BYTES} bytes")
    if not request.content_type.startswith("multipart/form-data"):
        raise ApiError(400, "invalid_request", "an upload is multipart/form-data with a `file` part")
    try:
        reader = await request.multipart()
        filename = ""
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader):
                raise ApiError(400, "invalid_request", "nested multipart is not an upload")
            if part.name == "filename":
                filename = await _filename(part)
            elif part.name == "file":
                media = await _store(
                    request, part, filename or (part.filename or "")[:MAX_FILENAME_CHARACTERS]
                )
                return json_response(media_json(media), status=201)
    except (
        ValueError,
        AssertionError,
        HttpProcessingError,
        aiohttp.ClientError,
        asyncio.IncompleteReadError,
        ConnectionError,
    ):
        # aiohttp's multipart reader raises these for a malformed or cut-off body.
        raise ApiError(400, "invalid_request", "the multipart body is malformed or was cut off") from None
    raise ApiError(400, "invalid_request", "the upload has no `file` part")


async def _filename(part: BodyPartReader) -> str:
    """The `filename` field, read no further than its limit."""
    raw = b""
    while chunk := await part.read_chunk(MAX_FILENAME_BYTES):
        raw += chunk
        if len(raw) > MAX_FILENAME_BYTES:
            raise ApiError(400, "invalid_request", f"filename is over {MAX_FILENAME_BYTES} bytes")
    return raw.decode("utf-8", errors="replace").replace("\x00", "")[:MAX_FILENAME_CHARACTERS]


async def _store(request: web.Request, part: BodyPartReader, filename: str) -> pb.Media:
    mime_type = part.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
    limit = max_bytes_of(mime_type)
    if limit is None:
        raise ApiError(
            415,
            "unsupported_media_type",
            f"WhatsApp takes no file of type {mime_type or '(none given)'!r}: see the docs for the list",
        )
    # No deadline for the whole call (a large file on a slow link takes what it takes): each
    # step must make progress within the idle limit instead.
    idle = request.app[SETTINGS].media_timeout_seconds
    call = request.app[CLIENTS].conversations.UploadMedia(metadata=grpc_metadata(request))
    try:
        header = pb.UploadMediaHeader(account_id=request[ACCOUNT_ID], mime_type=mime_type, filename=filename)
        async with _stall_is(503, idle):
            await call.write(pb.UploadMediaRequest(header=header))
        size = 0
        while True:
            async with _stall_is(408, idle):
                chunk = await part.read_chunk(CHUNK_BYTES)
            if not chunk:
                break
            size += len(chunk)
            if size > limit:
                raise ApiError(413, "file_too_large", f"a {mime_type} file may be at most {limit} bytes")
            async with _stall_is(503, idle):
                await call.write(pb.UploadMediaRequest(data=chunk))
        if size == 0:
            raise ApiError(400, "invalid_request", "the file is empty")
        async with _stall_is(503, idle):
            await call.done_writing()
            media: pb.Media = await call
        return media
    except grpc.aio.AioRpcError as exc:
        raise from_grpc(exc, "conversations") from None
    finally:
        # Anything short of the answer (too large, cut off, the client gone) keeps nothing.
        if not call.done():
            call.cancel()


# HEAD would stream the bytes too (StreamResponse does not drop them): not served.
@routes.get("/media/{media_id}", allow_head=False)
async def get_media(request: web.Request) -> web.StreamResponse:
    """The file's bytes; a single `Range` gets 206; with presigned redirects on (and an object
    store that has them), a 307 to the store instead."""
    clients = request.app[CLIENTS]
    account_id, media_id = request[ACCOUNT_ID], request.match_info["media_id"]
    media = await ask_conversations(
        request,
        clients.conversations.GetMedia,
        pb.GetMediaRequest(
            account_id=account_id, media_id=media_id, presign=request.app[SETTINGS].media_presigned_redirect
        ),
    )
    if media.status == pb.MEDIA_STATUS_PENDING:
        raise ApiError(
            409, "media_pending", "the file is not copied yet", media_json(media), {"Retry-After": "5"}
        )
    if media.status == pb.MEDIA_STATUS_DELETED:
        raise ApiError(410, "media_deleted", DELETED, media_json(media))
    if media.status != pb.MEDIA_STATUS_STORED:
        raise ApiError(
            410, "media_failed", f"the file could not be kept: {media.failure_reason}", media_json(media)
        )
    if media.download_url:
        raise web.HTTPTemporaryRedirect(media.download_url)
    etag = f'"{media.sha256}"'
    headers = {
        "ETag": etag,
        "Accept-Ranges": "bytes",
        "Cache-Control": "private, max-age=86400, immutable",
        "Content-Disposition": attachment_disposition(media.filename),
        "X-Request-ID": request[REQUEST_ID],
    }
    if etag in request.headers.get("If-None-Match", ""):
        return web.Response(status=304, headers=headers)
    start, end = _range(request, media.size, etag)
    if end - start < media.size:
        headers["Content-Range"] = f"bytes {start}-{end - 1}/{media.size}"
    wanted = pb.ReadMediaRequest(account_id=account_id, media_id=media_id, offset=start, length=end - start)
    idle = request.app[SETTINGS].media_timeout_seconds
    async with aclosing(_read(request, wanted)) as chunks:
        # The first chunk before any header: a store that is down still answers a JSON 503.
        first = await anext(chunks, b"")
        response = web.StreamResponse(status=206 if "Content-Range" in headers else 200, headers=headers)
        response.content_type = media.mime_type
        response.content_length = end - start
        await response.prepare(request)
        try:
            async with asyncio.timeout(idle):
                await response.write(first)
            async for chunk in chunks:
                async with asyncio.timeout(idle):
                    await response.write(chunk)
        except (ApiError, TimeoutError) as exc:
            # The headers are out: no error answer can follow. The connection is cut, so that
            # the client sees a short body, never a whole-looking one.
            log.warning("media download cut off", extra={"request_id": request[REQUEST_ID]})
            if request.transport is not None:
                request.transport.abort()
            raise ConnectionResetError("media download cut off") from exc
    await response.write_eof()
    return response


async def _read(request: web.Request, wanted: pb.ReadMediaRequest) -> AsyncGenerator[bytes, None]:
    """The file's chunks; no deadline for the whole call, but each chunk within the idle limit."""
    call = request.app[CLIENTS].conversations.ReadMedia(wanted, metadata=grpc_metadata(request))
    chunks = aiter(call)
    try:
        while True:
            async with _stall_is(503, request.app[SETTINGS].media_timeout_seconds):
                chunk = await anext(chunks, None)
            if chunk is None:
                return
            yield chunk.data
    except grpc.aio.AioRpcError as exc:
        if exc.code() == grpc.StatusCode.FAILED_PRECONDITION:
            # Stored when asked, no longer when read: deleted in between, past the retention.
            details = {"id": wanted.media_id, "status": "deleted"}
            raise ApiError(410, "media_deleted", DELETED, details) from None
        raise from_grpc(exc, "conversations") from None
    finally:
        call.cancel()


@asynccontextmanager
async def _stall_is(status: int, seconds: float) -> AsyncIterator[None]:
    """A step of a transfer that must make progress within `seconds`: 408 when the client
    stalls, 503 when pigeon's side does."""
    try:
        async with asyncio.timeout(seconds):
            yield
    except TimeoutError:
        if status == 408:
            raise ApiError(408, "upload_stalled", f"no bytes of the upload for {seconds:g} s") from None
        raise ApiError(503, "service_unavailable", "the conversations service stalled, retry later") from None


def _range(request: web.Request, size: int, etag: str) -> tuple[int, int]:
    """The [start, end) a `Range: bytes=...` header asks for; the whole file without one (or
    with one this does not serve: several ranges, or an If-Range that no longer matches)."""
    header = request.headers.get("Range")
    if not header or request.headers.get("If-Range", etag) != etag:
        return 0, size
    match = _RANGE.fullmatch(header.strip())
    if match is None or not any(match.groups()):
        return 0, size
    first, last = match.groups()
    if not first:  # the last N bytes
        start, end = max(0, size - int(last)), size
    else:
        start, end = int(first), min(size, int(last) + 1) if last else size
    if start >= end:
        raise ApiError(
            416,
            "range_not_satisfiable",
            f"the file has {size} bytes",
            None,
            {"Content-Range": f"bytes */{size}"},
        )
    return start, end
