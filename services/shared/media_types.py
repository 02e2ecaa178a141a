"""The files WhatsApp takes, by message type: MIME types and size limits, from Meta's
"Supported Media Types" (Cloud API). The gateway refuses an upload outside them before
storing anything; conversations checks again as the bytes arrive.

Meta counts MB in powers of ten here: 5 MB is 5,000,000 bytes.
"""

from types import MappingProxyType
from urllib.parse import quote

_KB = 1000
_MB = 1000 * 1000

# Message type -> (its MIME types, its largest file).
MEDIA_LIMITS: MappingProxyType[str, tuple[frozenset[str], int]] = MappingProxyType(
    {
        "audio": (
            frozenset({"audio/aac", "audio/amr", "audio/mpeg", "audio/mp4", "audio/ogg"}),
            16 * _MB,
        ),
        "document": (
            frozenset(
                {
                    "text/plain",
                    "application/pdf",
                    "application/vnd.ms-excel",
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    "application/msword",
                    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                    "application/vnd.ms-powerpoint",
                    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
                }
            ),
            100 * _MB,
        ),
        "image": (frozenset({"image/jpeg", "image/png"}), 5 * _MB),
        # Animated stickers may be 500 KB, static ones 100 KB: only the larger is checked.
        "sticker": (frozenset({"image/webp"}), 500 * _KB),
        # Meta's table writes video/3gp; video/3gpp is the registered name.
        "video": (frozenset({"video/mp4", "video/3gp", "video/3gpp"}), 16 * _MB),
    }
)

# Any file WhatsApp could take: the largest of all limits.
LARGEST_MEDIA_BYTES = max(limit for _, limit in MEDIA_LIMITS.values())


def media_type_of(mime_type: str) -> str | None:
    """The message type a file of this MIME type is sent as; None when WhatsApp takes it for none.
    Parameters (`; charset=...`) and case are ignored."""
    bare = mime_type.split(";", 1)[0].strip().lower()
    for message_type, (mime_types, _) in MEDIA_LIMITS.items():
        if bare in mime_types:
            return message_type
    return None


def max_bytes_of(mime_type: str) -> int | None:
    """The largest file of this MIME type WhatsApp takes; None for a type it does not take."""
    message_type = media_type_of(mime_type)
    return None if message_type is None else MEDIA_LIMITS[message_type][1]


def attachment_disposition(filename: str) -> str:
    """`attachment` with the file name for every client (RFC 6266: an ASCII fallback, and the
    UTF-8 name in `filename*`). An attachment, not inline: a contact's file (HTML, SVG) must
    never be rendered as a page of pigeon's origin or the object store's."""
    fallback = "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in filename)
    return f"attachment; filename=\"{fallback or 'file'}\"; filename*=UTF-8''{quote(filename, safe='')}"
