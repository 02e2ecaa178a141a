"""Validation of request bodies, before anything reaches a service.

Pure functions: bytes in, a typed command out, or an ApiError saying exactly which field is
wrong. A body is parsed by orjson (all of it: UTF-8, syntax, depth), then checked against its
msgspec model (send_models.py and beside each route), whose schema the OpenAPI document shows;
what no schema can say is checked here after. The send's shapes follow the WhatsApp Cloud API's
own, so its content goes to WhatsApp as encoded back from the model.
"""

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, get_args

import msgspec
import orjson
from msgspec import UNSET

from services.gateway.errors import ApiError, from_invalid_body
from services.gateway.fields import invalid
from services.gateway.interactive import INTERACTIVE_TYPES, Interactive, check_interactive
from services.gateway.send_models import (
    MAX_TEMPLATE_PARAMETERS,
    MAX_TEXT_LENGTH,
    AudioContent,
    ContactCard,
    Media,
    SendRequest,
    StickerContent,
    TemplateComponent,
    TemplateContent,
    TextContent,
)
from services.shared.vocabulary import MESSAGE_TYPES

# Levels of objects and arrays: deep enough for any WhatsApp message (templates nest about 6),
# far below parser limits.
MAX_JSON_DEPTH = 32
# A message's content as stored and sent (a text of 4096 four-byte characters is 16 KiB):
# pages of 100 messages and event backlogs stay well inside gRPC's 4 MiB messages.
MAX_CONTENT_BYTES = 32 * 1024


@dataclass(frozen=True, slots=True)
class SendCommand:
    account_id: str
    conversation_id: str
    to: str
    type: str
    body_json: bytes
    reply_to: str

    def fingerprint(self, route: str) -> bytes:
        """Identifies the request an Idempotency-Key comes with: same key, other request = conflict."""
        canonical = orjson.dumps(
            [route, self.conversation_id, self.to, self.type, self.body_json.decode(), self.reply_to]
        )
        return hashlib.sha256(canonical).digest()


# ASCII digits only: str.isdigit() also accepts characters such as "²" that int() refuses.
PAGE_SIZE = re.compile(r"[0-9]{1,3}")
EVENT_ID = re.compile(r"[0-9]{1,18}")
UUID_PATTERN = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def parse_page_size(raw: str) -> int:
    """The page_size query parameter: 1 to 100, or 0 (the service's default) when absent."""
    if not raw:
        return 0
    if not PAGE_SIZE.fullmatch(raw) or not 1 <= int(raw) <= 100:
        raise invalid("page_size must be an integer from 1 to 100", "page_size")
    return int(raw)


def parse_event_id(raw: str | None) -> int:
    """The since query parameter of /ws: an event id, or -1 (from now on) when absent."""
    if raw is None:
        return -1
    if not EVENT_ID.fullmatch(raw):
        raise invalid("since must be an event id (a non-negative integer)", "since")
    return int(raw)


MAX_IDEMPOTENCY_KEY_LENGTH = 255
IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")


def parse_idempotency_key(value: str | None) -> str:
    """The Idempotency-Key header: 1 to 255 visible ASCII characters, or absent."""
    if value is None:
        return ""
    if not IDEMPOTENCY_KEY.fullmatch(value):
        raise ApiError(
            400,
            "invalid_request",
            f"Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY_LENGTH} visible ASCII characters",
            {"field": "Idempotency-Key"},
        )
    return value


class ReadReceipt(msgspec.Struct):
    # Whether WhatsApp shows the customer the typing indicator too.
    typing: bool = False


def parse_read(raw: bytes) -> bool:
    """The body of POST /conversations/{id}/read: none, or {"typing": true | false}."""
    if not raw.strip():
        return False
    return decode_body(ReadReceipt, raw, {}).typing


def _nested_deeper(value: Any, most: int) -> bool:
    """Whether objects and arrays nest more than `most` levels in a JSON value (a scalar is
    none). The recursion stops at `most`, and the walk at the first one too deep."""
    if type(value) is dict:
        children: Any = value.values()
    elif type(value) is list:
        children = value
    else:
        return False
    if most == 0:
        return True
    for child in children:
        kind = type(child)
        if (kind is dict or kind is list) and _nested_deeper(child, most - 1):
            return True
    return False


NUL_MESSAGE = "{field} must not contain the character U+0000"


def _nul_field(value: Any, path: str) -> str | None:
    """The path of the first key or string holding U+0000, if any (recursion is bounded
    by MAX_JSON_DEPTH, checked before)."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        for key, child in value.items():
            field = f"{path}.{key}"
            if "\x00" in key:
                return field
            found = _nul_field(child, field)
            if found is not None:
                return found
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found = _nul_field(child, f"{path}[{index}]")
            if found is not None:
                return found
    return None


def parse_json_object(raw: bytes) -> dict[str, Any]:
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ApiError(400, "malformed_json", f"request body is not valid UTF-8 JSON: {exc}") from None
    if not isinstance(body, dict):
        raise ApiError(400, "malformed_json", "request body must be a JSON object")
    if _nested_deeper(body, MAX_JSON_DEPTH):
        raise ApiError(400, "malformed_json", f"request body is nested deeper than {MAX_JSON_DEPTH} levels")
    return body


T = TypeVar("T")


def decode_body(model: type[T], raw: bytes, choices: Mapping[str, Sequence[str]]) -> T:
    """A request body as its model (a Struct), or the ApiError that says what is wrong with it:
    400 malformed_json for anything but a JSON object (orjson reads it all, unknown fields too),
    else 400 invalid_request naming the field."""
    return convert_body(parse_json_object(raw), model, choices)


def convert_body(body: Any, model: Any, choices: Mapping[str, Sequence[str]], prefix: str = "") -> Any:
    """JSON already parsed, checked against its model (`prefix`: where it is in the body).
    A Struct class converts fastest: msgspec keeps what it learnt of it on the class."""
    try:
        return msgspec.convert(body, model)
    except msgspec.ValidationError as exc:
        raise from_invalid_body(exc, choices, prefix) from None


# The union's variants by their `type`: the body's own picks its model, the others are not tried.
SEND_VARIANTS = {variant.__struct_config__.tag: variant for variant in get_args(get_args(SendRequest)[0])}
# The values of the fields that take only some, for the message of a 400.
SEND_CHOICES = {"type": MESSAGE_TYPES, "interactive.type": INTERACTIVE_TYPES}
CONTENT_ENCODER = msgspec.json.Encoder()


def parse_send(raw: bytes) -> SendCommand:
    """A send's body: its shape checked against the model of its `type`, then what no schema
    says."""
    body = parse_json_object(raw)
    message_type = body.get("type")
    variant = SEND_VARIANTS.get(message_type) if isinstance(message_type, str) else None
    # No such type: the whole union says why (no type, not a string, none of them).
    send = convert_body(body, variant or SendRequest, SEND_CHOICES)
    assert isinstance(message_type, str)
    if (send.conversation_id is UNSET) == (send.to is UNSET):
        raise invalid("give exactly one of conversation_id or to", "conversation_id")
    content = getattr(send, message_type)
    _check_content(message_type, content)
    reply_to = "" if send.context is UNSET else send.context.message_id
    if "\x00" in reply_to:
        raise invalid(NUL_MESSAGE.format(field="context.message_id"), "context.message_id")
    body_json = CONTENT_ENCODER.encode(content)
    if len(body_json) > MAX_CONTENT_BYTES:
        raise ApiError(
            422,
            "content_too_large",
            f"the {message_type} content is {len(body_json)} bytes as JSON; at most {MAX_CONTENT_BYTES}",
            {"field": message_type, "max_bytes": MAX_CONTENT_BYTES},
        )
    # PostgreSQL stores no U+0000 in text or jsonb: refused here, naming the field, rather
    # than failing in the database. Only what is stored is checked (unknown fields are
    # ignored, NUL or not), and the walk runs only when the encoder wrote a \u0000 escape
    # (looked for only after a backslash: memchr finds none in most contents at once).
    if b"\\" in body_json and b"\\u0000" in body_json:
        field = _nul_field(msgspec.to_builtins(content), message_type) or message_type
        raise invalid(NUL_MESSAGE.format(field=field), field)
    to = "" if send.to is UNSET else send.to.removeprefix("+")
    return SendCommand(
        "" if send.account_id is UNSET else send.account_id,
        "" if send.conversation_id is UNSET else send.conversation_id,
        to,
        message_type,
        body_json,
        reply_to,
    )


def _check_content(message_type: str, content: Any) -> None:
    """What the send models cannot say about a content (its shape is checked already)."""
    if isinstance(content, TextContent):
        if len(content.body) > MAX_TEXT_LENGTH:
            raise ApiError(
                422,
                "text_too_long",
                f"text.body is {len(content.body)} characters; WhatsApp allows at most {MAX_TEXT_LENGTH}",
                {"field": "text.body", "max_length": MAX_TEXT_LENGTH},
            )
    elif isinstance(content, TemplateContent):
        if content.components is not UNSET:
            _check_components(content.components)
    elif isinstance(content, Media):
        _check_media(message_type, content)
    elif isinstance(content, list):
        for card in content:
            _drop_empty_parts(card)
    elif isinstance(content, Interactive):
        check_interactive(content)


COMPONENTS_TYPE = list[TemplateComponent]


def _check_components(components: list[dict[str, Any]]) -> None:
    """Template components are stored and sent as given (WhatsApp's own shapes, carousels and
    all), so checked here against the model rather than decoded into it."""
    checked = convert_body(components, COMPONENTS_TYPE, {}, "template.components")
    if sum(len(component.parameters) for component in checked) > MAX_TEMPLATE_PARAMETERS:
        raise invalid(
            f"templates take at most {MAX_TEMPLATE_PARAMETERS} parameters in all", "template.components"
        )


def _check_media(message_type: str, media: Media) -> None:
    references = (media.link, media.id, media.media_id)
    if sum(reference is not UNSET for reference in references) != 1:
        raise invalid(f"{message_type} needs exactly one of link, id or media_id", message_type)
    if media.media_id is not UNSET:
        media.media_id = media.media_id.lower()
    if isinstance(media, AudioContent | StickerContent) and media.caption is not UNSET:
        raise invalid(f"{message_type} messages take no caption", f"{message_type}.caption")


def _drop_empty_parts(card: ContactCard) -> None:
    """A contact's list items and org with no text are not sent."""
    for part in ("addresses", "emails", "phones", "urls"):
        setattr(card, part, [item for item in getattr(card, part) if any(msgspec.structs.astuple(item))])
    if card.org is not UNSET and not any(msgspec.structs.astuple(card.org)):
        card.org = UNSET
