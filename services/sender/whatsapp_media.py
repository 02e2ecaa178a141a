"""The Cloud API's media calls, on CloudApiClient's pooled session: download a media file (an
inbound message's) and upload one (for a send).

Files run to 100 MB, so neither call holds one whole: a download is an async generator of
chunks, an upload streams the caller's chunks into its multipart body. No total timeout fits
such a file, so these calls have none: the connection must be made within the client's connect
timeout, and the next bytes must come within its call timeout. As with `send`, what WhatsApp or
the network does is a Failure, never an exception. The access token goes into the Authorization
header and nowhere else.
"""

import base64
import binascii
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass, replace
from urllib.parse import quote

import aiohttp
from aiohttp import hdrs
from aiohttp.payload import AsyncIterablePayload

from services.sender.whatsapp import (
    MAX_ANSWER_BYTES,
    CloudApiClient,
    as_int,
    as_str,
    bad_response,
    call_failure,
    log_failure,
    parse_error,
    parse_json,
    read_at_most,
)
from services.shared.vocabulary import FailureCode
from services.shared.whatsapp_errors import Failure, FailureClass, FailureKind

DEFAULT_CHUNK_SIZE = 256 * 1024


@dataclass(frozen=True, slots=True)
class MediaInfo:
    """What WhatsApp says of a media file. `url` works for a few minutes, with the same token."""

    url: str
    mime_type: str
    size: int
    # Lower-case hex SHA-256 of the bytes.
    sha256: str


async def download_media(
    client: CloudApiClient,
    phone_number_id: str,
    access_token: str,
    media_id: str,
    *,
    max_bytes: int,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> AsyncIterator[MediaInfo | bytes | Failure]:
    """Looks the media id up, then downloads its bytes.

    Yields first the MediaInfo, or a Failure and nothing more; then the bytes in order, in
    chunks of at most `chunk_size`. A Failure may end it after some bytes (the connection
    broke): the bytes before it are not the file. Whether the bytes match the size and SHA-256
    WhatsApp gave is for the caller, which keeps them, to check. A file over `max_bytes` is not
    downloaded (media_too_large); an id or URL WhatsApp does not know is media_not_found, both
    PERMANENT.
    """
    headers = {"Authorization": f"Bearer {access_token}"}
    async with aclosing(
        _download(client, phone_number_id, headers, media_id, max_bytes, chunk_size)
    ) as items:
        async for item in items:
            if isinstance(item, Failure):
                log_failure(phone_number_id, item, "whatsapp media download failed")
            yield item


async def _download(
    client: CloudApiClient,
    phone_number_id: str,
    headers: dict[str, str],
    media_id: str,
    max_bytes: int,
    chunk_size: int,
) -> AsyncGenerator[MediaInfo | bytes | Failure, None]:
    info = await _retrieve(client, phone_number_id, headers, media_id)
    yield info
    if isinstance(info, Failure):
        return
    if info.size > max_bytes:
        yield Failure(
            failure_class=FailureClass.PERMANENT,
            kind=None,
            code=FailureCode.MEDIA_TOO_LARGE,
            message=f"WhatsApp gives the file as {info.size} bytes, over the {max_bytes} taken",
        )
        return
    try:
        # A URL aiohttp cannot parse is its InvalidURL, a ClientError.
        async with client.session.get(info.url, headers=headers, timeout=_streaming(client)) as response:
            if response.status != 200:
                answer = await read_at_most(response, MAX_ANSWER_BYTES) or b""
                yield _not_found(parse_error(response.status, answer, response.headers.get("Retry-After")))
                return
            async for chunk in response.content.iter_chunked(chunk_size):
                yield chunk
    except (aiohttp.ClientError, OSError) as exc:  # TimeoutError is an OSError
        yield call_failure(client, exc)


async def _retrieve(
    client: CloudApiClient, phone_number_id: str, headers: dict[str, str], media_id: str
) -> MediaInfo | Failure:
    """GET /{media_id}: the download URL and what the file is. `phone_number_id` makes WhatsApp
    check that the media is that number's."""
    # Quoted whole, so that no media id can name another path.
    url = f"{client.api_root}/{quote(media_id, safe='')}"
    params = {"phone_number_id": phone_number_id}
    try:
        async with client.session.get(url, params=params, headers=headers) as response:
            status, retry_after = response.status, response.headers.get("Retry-After")
            answer = await read_at_most(response, MAX_ANSWER_BYTES)
    except (aiohttp.ClientError, OSError) as exc:
        return call_failure(client, exc)
    if answer is None:
        return bad_response(status, b"", f"answer over {MAX_ANSWER_BYTES} bytes")
    if not 200 <= status < 300:
        return _not_found(parse_error(status, answer, retry_after))
    data = parse_json(status, answer)
    if isinstance(data, Failure):
        return data
    link, mime_type = as_str(data.get("url")), as_str(data.get("mime_type"))
    # Meta's examples give file_size as a number and as a digit string.
    size, sha256 = as_int(data.get("file_size")), _sha256_hex(data.get("sha256"))
    # The token goes with the download: over HTTPS only, unless WhatsApp itself is plain HTTP (a
    # simulator on the same network).
    schemes = ("https://", "http://") if client.api_root.startswith("http://") else ("https://",)
    if not link.startswith(schemes) or not mime_type or size is None or sha256 is None:
        return bad_response(status, answer, "media answer without url, mime_type, file_size or sha256")
    return MediaInfo(link, mime_type, size, sha256)


async def upload_media(
    client: CloudApiClient,
    phone_number_id: str,
    access_token: str,
    *,
    mime_type: str,
    filename: str,
    size: int,
    chunks: AsyncIterator[bytes],
) -> str | Failure:
    """Uploads a file of `size` bytes, streamed from `chunks`, for a phone number's sends: WhatsApp's
    media id (usable for 30 days), or the Failure.

    The body is sent with its length, so `chunks` must add up to `size`: if they do not, or if
    they raise, that error is raised here (the caller's, not WhatsApp's), once the call is given up.
    Sending has no time limit of its own (the caller's deadline bounds it, as the chunks come from
    the caller); the answer must then come within the client's call timeout.
    """
    body = _Body(chunks, size)
    form = aiohttp.MultipartWriter("form-data")
    form.append("whatsapp").set_content_disposition("form-data", name="messaging_product")
    form.append(mime_type).set_content_disposition("form-data", name="type")
    # Meta goes by the file part's own Content-Type, so it is the MIME type too.
    file = form.append_payload(_SizedStream(body.stream(), size, content_type=mime_type))
    file.set_content_disposition("form-data", name="file", filename=filename)
    # Given here, or the session's default (application/json) would be the body's type.
    headers = {"Authorization": f"Bearer {access_token}", hdrs.CONTENT_TYPE: form.content_type}
    url = f"{client.api_root}/{phone_number_id}/media"
    result: str | Failure
    try:
        async with client.session.post(
            url, data=form, headers=headers, timeout=_streaming(client)
        ) as response:
            answer = await read_at_most(response, MAX_ANSWER_BYTES)
            result = _uploaded(response.status, answer, response.headers.get("Retry-After"))
    except (aiohttp.ClientError, OSError) as exc:
        if body.error is not None:
            raise body.error from None
        result = call_failure(client, exc)
    if isinstance(result, Failure):
        log_failure(phone_number_id, result, "whatsapp media upload failed")
    return result


def _uploaded(status: int, answer: bytes | None, retry_after: str | None) -> str | Failure:
    if answer is None:
        return bad_response(status, b"", f"answer over {MAX_ANSWER_BYTES} bytes")
    if not 200 <= status < 300:
        return parse_error(status, answer, retry_after)
    data = parse_json(status, answer)
    if isinstance(data, Failure):
        return data
    return as_str(data.get("id")) or bad_response(status, answer, "upload answer without id")


class _Body:
    """The caller's chunks as the upload sends them, held to `size`; keeps the error that stopped
    them, which aiohttp would otherwise report as a connection error."""

    def __init__(self, chunks: AsyncIterator[bytes], size: int) -> None:
        self._chunks = chunks
        self._size = size
        self.error: Exception | None = None

    async def stream(self) -> AsyncIterator[bytes]:
        sent = 0
        try:
            async for chunk in self._chunks:
                sent += len(chunk)
                if sent > self._size:
                    raise ValueError(f"the chunks run past the size given, {self._size} bytes")
                yield chunk
            if sent < self._size:
                raise ValueError(f"the chunks carry {sent} bytes, not the size given, {self._size}")
        except Exception as exc:
            self.error = exc
            raise


class _SizedStream(AsyncIterablePayload):
    """A streamed payload whose size is known, so the request goes with a Content-Length
    rather than chunked."""

    def __init__(self, value: AsyncIterator[bytes], size: int, *, content_type: str) -> None:
        super().__init__(value, content_type=content_type)
        self._size = size


def _streaming(client: CloudApiClient) -> aiohttp.ClientTimeout:
    """No total: the connection within the connect timeout, then each read within the call's."""
    call = client.session.timeout
    return aiohttp.ClientTimeout(total=None, connect=call.connect, sock_read=call.total)


def _not_found(failure: Failure) -> Failure:
    """A 404, or Graph's "does not exist" (code 100, subcode 33), as media_not_found: the media
    is gone for good. Other failures keep their code."""
    if failure.http_status == 404 or (failure.code == "100" and failure.subcode == 33):
        return replace(
            failure,
            failure_class=FailureClass.PERMANENT,
            kind=FailureKind.WHATSAPP_ERROR,
            code=FailureCode.MEDIA_NOT_FOUND,
        )
    return failure


def _sha256_hex(value: object) -> str | None:
    """Lower-case hex of a SHA-256 given in hex (Meta's retrieve answer) or base64 (its webhooks)."""
    if not isinstance(value, str):
        return None
    if len(value) == 64:
        try:
            return bytes.fromhex(value).hex()
        except ValueError:
            return None
    try:
        digest = base64.b64decode(value, validate=True)
    except binascii.Error:
        return None
    return digest.hex() if len(digest) == 32 else None
