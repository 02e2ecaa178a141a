"""Meta's media endpoints, as the simulator serves them: upload, retrieve, download, delete.

Shapes and rules follow Meta's "Media" reference and its "Supported Media Types" table: an upload
(multipart `messaging_product`, `type`, `file`) answers a media id; retrieving the id answers a
download URL that works for a few minutes, with the Bearer token of the number that owns the media;
ids expire (7 days for a webhook's, 30 for an upload's: `SimConfig`). The bytes are kept in memory,
under a byte budget that evicts the oldest first. Inbound media for `/_sim/inbound` is made here
too, and tests can make the next downloads fail (`/_sim/media/faults`).

The Graph error and the token check are the messages route's own, handed in by `create_app`
(`MediaRoutes`), so both routes answer alike.
"""

import base64
import binascii
import hashlib
import hmac
import itertools
import os
import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from aiohttp import BodyPartReader, hdrs, web

from tools.whatsapp_sim.config import SimConfig

KB = 1024
MB = 1024 * KB

_DOCUMENT_TYPES = (
    "text/plain",
    "application/pdf",
    "application/vnd.ms-excel",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/msword",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
)
# Meta's "Supported Media Types": the most bytes an upload of each MIME type may have.
SIZE_LIMITS: dict[str, int] = {
    **dict.fromkeys(("audio/aac", "audio/amr", "audio/mpeg", "audio/mp4", "audio/ogg"), 16 * MB),
    **dict.fromkeys(_DOCUMENT_TYPES, 100 * MB),
    **dict.fromkeys(("image/jpeg", "image/png"), 5 * MB),
    # Stickers: 500 KB animated, 100 KB static; the upload does not say which, so the larger.
    "image/webp": 500 * KB,
    # The table writes video/3gp, Meta's own error message video/3gpp: both pass.
    **dict.fromkeys(("video/mp4", "video/3gp", "video/3gpp"), 16 * MB),
}
MAX_MEDIA_BYTES = max(SIZE_LIMITS.values())

# The path of Meta's download URLs (lookaside.fbsbx.com), served by the simulator itself.
ATTACHMENTS_PATH = "/whatsapp_business/attachments/"
# Download URLs are signed with a secret of this process: a URL cannot be made up or altered.
_URL_SECRET = os.urandom(32)
_DOWNLOAD_CHUNK = 64 * KB
# The small form fields (messaging_product, type) are read up to this many bytes.
_FIELD_BYTES = 1024

# Meta's media ids are 15 or 16 digits; a random start and a counter keep them unique here.
_media_ids = itertools.count(random.randrange(10**15, 9 * 10**15))


class DownloadFault(StrEnum):
    """What a download does instead of answering the bytes."""

    HTTP_500 = "http_500"
    # Half the promised bytes, then the connection closes.
    BROKEN_BODY = "broken_body"


GraphError = Callable[..., web.Response]
# The messages route's token check: None when the request's Bearer token is the given one.
AuthCheck = Callable[[web.Request, str], web.Response | None]


@dataclass(slots=True)
class Media:
    """One kept file and who may see it (the number it came to, or that uploaded it)."""

    id: str
    phone_number_id: str
    mime_type: str
    data: bytes
    # The hex SHA-256 WhatsApp gives for the bytes (a wrong one when a test asks for it).
    sha256: str
    expires_at: float


class MediaStore:
    """Media by id, in memory, oldest first. Expired media is dropped when next looked up or
    when media is added; over `media_budget_bytes`, the oldest is evicted (and then answers like
    expired media). The newest stays even when it alone is over the budget."""

    def __init__(self, config: SimConfig) -> None:
        self._config = config
        self._media: dict[str, Media] = {}
        self._bytes = 0
        # What the next downloads do instead of answering the bytes, first first.
        self.download_faults: deque[DownloadFault] = deque()

    def add(
        self, phone_number_id: str, mime_type: str, data: bytes, lifetime: int, *, wrong_sha256: bool = False
    ) -> Media:
        now = time.time()
        for expired in [media.id for media in self._media.values() if media.expires_at <= now]:
            self.delete(expired)
        sha256 = hashlib.sha256(data).hexdigest()
        if wrong_sha256:
            sha256 = hashlib.sha256(sha256.encode()).hexdigest()
        media = Media(str(next(_media_ids)), phone_number_id, mime_type, data, sha256, now + lifetime)
        self._media[media.id] = media
        self._bytes += len(data)
        while self._bytes > self._config.media_budget_bytes and len(self._media) > 1:
            self.delete(next(iter(self._media)))
        return media

    def get(self, media_id: str) -> Media | None:
        media = self._media.get(media_id)
        if media is not None and media.expires_at <= time.time():
            self.delete(media_id)
            return None
        return media

    def delete(self, media_id: str) -> bool:
        media = self._media.pop(media_id, None)
        if media is None:
            return False
        self._bytes -= len(media.data)
        return True

    def clear(self) -> None:
        self._media.clear()
        self._bytes = 0
        self.download_faults.clear()


def _url_hash(media_id: str, ext: str) -> str:
    mac = hmac.new(_URL_SECRET, f"{media_id}:{ext}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac[:18]).decode()


class _Refused(Exception):
    """An upload Meta refuses with code 100 (HTTP 400)."""

    def __init__(self, message: str, details: str) -> None:
        super().__init__(details)
        self.message = message
        self.details = details


def _required(name: str) -> _Refused:
    return _Refused(f"(#100) The parameter {name} is required.", f"The parameter {name} is required.")


def _mime_type(raw: str) -> str:
    """The type and subtype, without parameters ("audio/ogg; codecs=opus" is audio/ogg)."""
    return raw.partition(";")[0].strip().lower()


async def _read_at_most(part: BodyPartReader, limit: int) -> bytes | None:
    """A part's bytes, or None once they pass `limit`: no more than limit + 1 bytes are read."""
    chunks: list[bytes] = []
    size = 0
    while chunk := await part.read_chunk(min(_DOWNLOAD_CHUNK, limit + 1 - size)):
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


@dataclass(frozen=True, slots=True)
class _Upload:
    fields: dict[str, str]
    data: bytes
    # The file part's own Content-Type, "" when it has none.
    file_type: str


async def _read_upload(request: web.Request) -> _Upload:
    """Reads the form as it streams in. Until the MIME type is known, the file may be as large as
    the largest type allows; after, as large as its type allows, and not a chunk more is read."""
    if request.content_type != "multipart/form-data":
        raise _Refused("(#100) Invalid parameter", "The request must be multipart/form-data.")
    try:
        reader = await request.multipart()
    except ValueError as exc:  # no boundary
        raise _Refused("(#100) Invalid parameter", str(exc)) from None
    fields: dict[str, str] = {}
    data: bytes | None = None
    file_type = ""
    async for part in reader:
        if not isinstance(part, BodyPartReader):
            raise _Refused("(#100) Invalid parameter", "Nested multipart bodies are not supported.")
        if part.name == "file" and data is None:
            file_type = _mime_type(part.headers.get(hdrs.CONTENT_TYPE, ""))
            if file_type and file_type not in SIZE_LIMITS:
                raise _unsupported(file_type)
            mime_type = file_type or _mime_type(fields.get("type", ""))
            data = await _read_at_most(part, SIZE_LIMITS.get(mime_type, MAX_MEDIA_BYTES))
            if data is None:
                raise _too_large(mime_type)
        elif part.name in ("messaging_product", "type"):
            value = await _read_at_most(part, _FIELD_BYTES)
            if value is None:
                raise _Refused("(#100) Invalid parameter", f"Param {part.name} is too long.")
            fields[part.name] = value.decode(errors="replace").strip()
        else:  # Graph ignores parameters it does not know
            await part.release()
    if not data:
        raise _required("file")
    return _Upload(fields, data, file_type)


def _unsupported(mime_type: str) -> _Refused:
    return _Refused(
        "(#100) Param file must be a file with one of the following types: "
        f"{', '.join(SIZE_LIMITS)}. Received file of type '{mime_type}'.",
        f"Unsupported media type {mime_type!r}.",
    )


def _too_large(mime_type: str) -> _Refused:
    limit = SIZE_LIMITS.get(mime_type, MAX_MEDIA_BYTES)
    return _Refused(
        "(#100) Invalid parameter",
        f"File Too Large: files of type {mime_type or 'unknown'} may have at most {limit} bytes.",
    )


class MediaRoutes:
    """The media endpoints' handlers, over one store and the live config."""

    def __init__(
        self, config: SimConfig, store: MediaStore, graph_error: GraphError, auth_error: AuthCheck
    ) -> None:
        self._config = config
        self._store = store
        self._graph_error = graph_error
        self._auth_error = auth_error

    def _not_found(self, method: str, object_id: str, status: int = 404) -> web.Response:
        message = (
            f"Unsupported {method} request. Object with ID '{object_id}' does not exist, cannot be "
            "loaded due to missing permissions, or does not support this operation."
        )
        details = "No such object for this access token (unknown, deleted or expired)."
        return self._graph_error(
            100, details, message=message, type_="GraphMethodException", subcode=33, status=status
        )

    async def upload(self, request: web.Request) -> web.Response:
        """POST /{version}/{phone_number_id}/media: the media id of the uploaded file."""
        phone_number_id = request.match_info["phone_number_id"]
        number = self._config.phone_numbers.get(phone_number_id)
        if number is None:
            return self._not_found("post", phone_number_id, status=400)
        if (denied := self._auth_error(request, number.access_token)) is not None:
            return denied
        try:
            upload = await _read_upload(request)
            product = upload.fields.get("messaging_product")
            if product is None:
                raise _required("messaging_product")
            if product != "whatsapp":
                raise _Refused("(#100) Invalid parameter", "Param messaging_product must be 'whatsapp'.")
            if "type" not in upload.fields:
                raise _required("type")
            # Meta goes by the file part's own type when it has one: an upload typed image/png
            # whose part says application/octet-stream is refused as the latter.
            mime_type = upload.file_type or _mime_type(upload.fields["type"])
            if mime_type not in SIZE_LIMITS:
                raise _unsupported(mime_type)
            if len(upload.data) > SIZE_LIMITS[mime_type]:
                raise _too_large(mime_type)
        except _Refused as exc:
            return self._graph_error(100, exc.details, message=exc.message)
        media = self._store.add(phone_number_id, mime_type, upload.data, self._config.uploaded_media_seconds)
        return web.json_response({"id": media.id})

    def _readable(self, request: web.Request, method: str) -> Media | web.Response:
        """The media the request names, if its token may see it. Graph hides what a valid token
        may not see: unknown, deleted, expired or another number's media is not found."""
        media_id = request.match_info["media_id"]
        media = self._store.get(media_id)
        number = self._config.phone_numbers.get(media.phone_number_id) if media is not None else None
        wanted = request.query.get("phone_number_id")
        if media is None or number is None or wanted not in (None, media.phone_number_id):
            return self._not_found(method, media_id)
        denied = self._auth_error(request, number.access_token)
        if denied is None:
            return media
        numbers = self._config.phone_numbers.values()
        if any(self._auth_error(request, other.access_token) is None for other in numbers):
            return self._not_found(method, media_id)
        return denied

    async def retrieve(self, request: web.Request) -> web.Response:
        """GET /{version}/{media_id}: a download URL and what the file is."""
        media = self._readable(request, "get")
        if isinstance(media, web.Response):
            return media
        ext = str(int(time.time()) + self._config.media_url_seconds)
        query = {"mid": media.id, "ext": ext, "hash": _url_hash(media.id, ext)}
        url = request.url.origin().with_path(ATTACHMENTS_PATH).with_query(query)
        return web.json_response(
            {
                "messaging_product": "whatsapp",
                "url": str(url),
                "mime_type": media.mime_type,
                "sha256": media.sha256,
                "file_size": len(media.data),
                "id": media.id,
            }
        )

    async def delete(self, request: web.Request) -> web.Response:
        """DELETE /{version}/{media_id}: the id is unknown from then on."""
        media = self._readable(request, "delete")
        if isinstance(media, web.Response):
            return media
        self._store.delete(media.id)
        return web.json_response({"success": True})

    async def download(self, request: web.Request) -> web.StreamResponse:
        """GET the retrieved URL, with the owner's Bearer token: the bytes, streamed in chunks."""
        query = request.query
        media_id, ext, given = query.get("mid", ""), query.get("ext", ""), query.get("hash", "")
        signed = ext.isdigit() and hmac.compare_digest(given.encode(), _url_hash(media_id, ext).encode())
        media = self._store.get(media_id) if signed and int(ext) >= time.time() else None
        number = self._config.phone_numbers.get(media.phone_number_id) if media is not None else None
        if media is None or number is None:
            return self._not_found("get", media_id)
        if (denied := self._auth_error(request, number.access_token)) is not None:
            return denied
        fault = self._store.download_faults.popleft() if self._store.download_faults else None
        if fault is DownloadFault.HTTP_500:
            return web.Response(status=500, text="Internal Server Error")
        response = web.StreamResponse(headers={hdrs.CONTENT_TYPE: media.mime_type})
        response.content_length = len(media.data)
        await response.prepare(request)
        end = len(media.data) // 2 if fault is DownloadFault.BROKEN_BODY else len(media.data)
        view = memoryview(media.data)
        for start in range(0, end, _DOWNLOAD_CHUNK):
            await response.write(view[start : min(start + _DOWNLOAD_CHUNK, end)])
        if fault is DownloadFault.BROKEN_BODY and request.transport is not None:
            request.transport.close()
            return response
        await response.write_eof()
        return response

    async def expire(self, request: web.Request) -> web.Response:
        """POST /_sim/media/{media_id}/expire: the id expires now (204), or 404 if unknown."""
        if not self._store.delete(request.match_info["media_id"]):
            return web.json_response({"error": "no such media"}, status=404)
        return web.Response(status=204)

    async def add_faults(self, request: web.Request) -> web.Response:
        """POST /_sim/media/faults {"fault": "http_500" | "broken_body", "count"?: 1}: the next
        `count` downloads answer HTTP 500, or half their bytes and then a closed connection.
        Answers {"pending": [...]}, the faults still to come."""
        try:
            data = await request.json()
        except ValueError:
            data = None
        fault = data.get("fault") if isinstance(data, dict) else None
        count = data.get("count", 1) if isinstance(data, dict) else None
        if (
            fault not in list(DownloadFault)
            or isinstance(count, bool)
            or not isinstance(count, int)
            or count < 1
        ):
            error = 'the body must be {"fault": "http_500" | "broken_body", "count"?: a positive integer}'
            return web.json_response({"error": error}, status=400)
        self._store.download_faults.extend([DownloadFault(fault)] * count)
        return web.json_response({"pending": list(self._store.download_faults)})

    async def clear_faults(self, request: web.Request) -> web.Response:
        """DELETE /_sim/media/faults: no more faults; downloads answer as they should."""
        self._store.download_faults.clear()
        return web.Response(status=204)


# --- inbound media (/_sim/inbound) -------------------------------------------------------------

# The MIME type of an injected message's media when the test names none.
_INBOUND_DEFAULT_TYPES = {
    "image": "image/jpeg",
    "document": "application/pdf",
    "audio": "audio/ogg",
    "video": "video/mp4",
    "sticker": "image/webp",
}
# The fields an injected media may carry besides its bytes, by message type.
_INBOUND_FIELDS: dict[str, dict[str, type]] = {
    "image": {"caption": str},
    "video": {"caption": str},
    "document": {"caption": str, "filename": str},
    "audio": {"voice": bool},
    "sticker": {"animated": bool},
}


@dataclass(frozen=True, slots=True)
class InboundMedia:
    """An injected message's `media`, checked: the bytes to keep and what the webhook shows."""

    kind: str
    mime_type: str
    data: bytes
    fields: dict[str, Any]
    wrong_sha256: bool


def parse_inbound_media(message: dict[str, Any], where: str) -> InboundMedia | None:
    """Takes the simulator's `media` out of an injected message and checks it; None without one.

    `media`: {"mime_type"?, "size" (random bytes) or "data_base64", "caption"?, "filename"?,
    "voice"?, "animated"?, "wrong_sha256"?}; raises ValueError naming what is wrong.
    """
    if "media" not in message:
        return None
    spec = message.pop("media")
    kind = message["type"]
    place = f"{where}['media']"
    if kind not in _INBOUND_FIELDS:
        raise ValueError(f"{place} is only for {', '.join(_INBOUND_FIELDS)} messages")
    if kind in message:
        raise ValueError(f"{where} must not have both 'media' and '{kind}'")
    if not isinstance(spec, dict):
        raise ValueError(f"{place} must be a JSON object")
    allowed = {"mime_type", "size", "data_base64", "wrong_sha256", *_INBOUND_FIELDS[kind]}
    if unknown := set(spec) - allowed:
        raise ValueError(f"{place} has fields a {kind} cannot have: {', '.join(sorted(unknown))}")
    mime_type = spec.get("mime_type", _INBOUND_DEFAULT_TYPES[kind])
    if not isinstance(mime_type, str) or not mime_type:
        raise ValueError(f"{place}['mime_type'] must be a non-empty string")
    fields = {name: spec[name] for name in _INBOUND_FIELDS[kind] if name in spec}
    for name, value in fields.items():
        if not isinstance(value, _INBOUND_FIELDS[kind][name]):
            raise ValueError(f"{place}['{name}'] must be a {_INBOUND_FIELDS[kind][name].__name__}")
    wrong_sha256 = spec.get("wrong_sha256", False)
    if not isinstance(wrong_sha256, bool):
        raise ValueError(f"{place}['wrong_sha256'] must be true or false")
    return InboundMedia(kind, mime_type, _inbound_bytes(spec, place), fields, wrong_sha256)


def _inbound_bytes(spec: dict[str, Any], place: str) -> bytes:
    """The given bytes, or random ones of the given size; 1 byte to 100 MB, as Meta delivers."""
    if ("size" in spec) == ("data_base64" in spec):
        raise ValueError(f"{place} needs either 'size' or 'data_base64'")
    if "size" in spec:
        size = spec["size"]
        if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= MAX_MEDIA_BYTES:
            raise ValueError(f"{place}['size'] must be an integer from 1 to {MAX_MEDIA_BYTES}")
        return random.randbytes(size)
    encoded = spec["data_base64"]
    try:
        data = base64.b64decode(encoded, validate=True) if isinstance(encoded, str) else b""
    except binascii.Error:
        data = b""
    if not 1 <= len(data) <= MAX_MEDIA_BYTES:
        raise ValueError(f"{place}['data_base64'] must be base64 of 1 to {MAX_MEDIA_BYTES} bytes")
    return data


def keep_inbound_media(
    store: MediaStore, config: SimConfig, phone_number_id: str, message: dict[str, Any], spec: InboundMedia
) -> dict[str, Any]:
    """Keeps the bytes under a webhook media id and puts Meta's media object in the message.
    Returns what the test needs to check pigeon's copy: id, mime_type, file_size, hex sha256."""
    media = store.add(
        phone_number_id,
        spec.mime_type,
        spec.data,
        config.webhook_media_seconds,
        wrong_sha256=spec.wrong_sha256,
    )
    given = spec.fields
    item: dict[str, Any] = {name: given[name] for name in ("caption", "filename") if name in given}
    # Webhooks carry the SHA-256 in base64, the retrieve answer in hex.
    sha256 = base64.b64encode(bytes.fromhex(media.sha256)).decode()
    item |= {"mime_type": spec.mime_type, "sha256": sha256, "id": media.id}
    # Meta's audio always says whether it is a voice note, a sticker whether it is animated.
    if spec.kind == "audio":
        item["voice"] = given.get("voice", False)
    if spec.kind == "sticker":
        item["animated"] = given.get("animated", False)
    message[spec.kind] = item
    return {
        "id": media.id,
        "mime_type": spec.mime_type,
        "file_size": len(spec.data),
        "sha256": hashlib.sha256(spec.data).hexdigest(),
    }
