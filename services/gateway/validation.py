"""Validation of request bodies, before anything reaches a service.

Pure functions: bytes in, a typed command out, or an ApiError saying exactly which
field is wrong. The accepted shapes follow the WhatsApp Cloud API's own, so a valid
body passes to WhatsApp without being rebuilt.
"""

import hashlib
import re
from dataclasses import dataclass
from typing import Any

import orjson

from services.gateway.errors import ApiError
from services.gateway.fields import invalid, object_field, string_field
from services.gateway.interactive import parse_interactive
from services.shared.vocabulary import (
    BSUID,
    MESSAGE_TYPES,
    RECIPIENT,
)

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
# A recipient: a phone number ("+" and 15 digits), or a BSUID (2 + "." + "ENT." + 128).
MAX_RECIPIENT_CHARACTERS = 135
MAX_TEMPLATE_COMPONENTS = 10
MAX_TEMPLATE_PARAMETERS = 100
MAX_ID_LENGTH = 256
# Deep enough for any WhatsApp message (templates nest about 6), far below parser limits.
MAX_JSON_DEPTH = 32
# A message's content as stored and sent (a text of 4096 four-byte characters is 16 KiB):
# pages of 100 messages and event backlogs stay well inside gRPC's 4 MiB messages.
MAX_CONTENT_BYTES = 32 * 1024
# Meta gives no limit for a location's name and address: pigeon's, as for a caption.
MAX_LOCATION_TEXT_LENGTH = 1024
# Meta: "up to 257 contacts" a message. Its parts have no stated limits: pigeon's.
MAX_CONTACTS = 257
MAX_CONTACT_ITEMS = 20
MAX_CONTACT_TEXT_LENGTH = 1024
TEMPLATE_NAME = re.compile(r"^[a-z0-9_]{1,512}$")
LANGUAGE_CODE = re.compile(r"^[a-zA-Z]{2,3}(_[a-zA-Z0-9]{2,4})?$")


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


def parse_read(raw: bytes) -> bool:
    """The body of POST /conversations/{id}/read: none, or {"typing": true | false}."""
    if not raw.strip():
        return False
    typing = parse_json_object(raw).get("typing", False)
    if not isinstance(typing, bool):
        raise invalid("typing must be true or false", "typing")
    return typing


def _depth(value: Any) -> int:
    """Nesting depth of a JSON value, without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if isinstance(node, dict):
            stack.extend((child, depth + 1) for child in node.values())
        elif isinstance(node, list):
            stack.extend((child, depth + 1) for child in node)
    return deepest


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
    if _depth(body) > MAX_JSON_DEPTH:
        raise ApiError(400, "malformed_json", f"request body is nested deeper than {MAX_JSON_DEPTH} levels")
    return body


def _text(body: dict[str, Any]) -> dict[str, Any]:
    text = object_field(body, "text", "text")
    message = string_field(text, "body", "text.body")
    if len(message) > MAX_TEXT_LENGTH:
        raise ApiError(
            422,
            "text_too_long",
            f"text.body is {len(message)} characters; WhatsApp allows at most {MAX_TEXT_LENGTH}",
            {"field": "text.body", "max_length": MAX_TEXT_LENGTH},
        )
    preview_url = text.get("preview_url", False)
    if not isinstance(preview_url, bool):
        raise invalid("text.preview_url must be a boolean", "text.preview_url")
    return {"body": message, "preview_url": preview_url}


def _template(body: dict[str, Any]) -> dict[str, Any]:
    template = object_field(body, "template", "template")
    name = string_field(template, "name", "template.name")
    if not TEMPLATE_NAME.fullmatch(name):
        raise invalid("template.name must be lowercase letters, digits and underscores", "template.name")
    language = object_field(template, "language", "template.language")
    code = string_field(language, "code", "template.language.code")
    if not LANGUAGE_CODE.fullmatch(code):
        raise invalid("template.language.code must look like en or en_US", "template.language.code")
    result: dict[str, Any] = {"name": name, "language": {"code": code}}
    components = template.get("components")
    if components is not None:
        if not isinstance(components, list) or len(components) > MAX_TEMPLATE_COMPONENTS:
            raise invalid(
                f"template.components must be a list of at most {MAX_TEMPLATE_COMPONENTS} objects",
                "template.components",
            )
        parameters = 0
        for index, component in enumerate(components):
            field = f"template.components[{index}]"
            if not isinstance(component, dict):
                raise invalid(f"{field} must be an object", field)
            string_field(component, "type", f"{field}.type", max_length=32)
            component_parameters = component.get("parameters", [])
            if not isinstance(component_parameters, list) or not all(
                isinstance(p, dict) for p in component_parameters
            ):
                raise invalid(f"{field}.parameters must be a list of objects", f"{field}.parameters")
            parameters += len(component_parameters)
        if parameters > MAX_TEMPLATE_PARAMETERS:
            raise invalid(
                f"templates take at most {MAX_TEMPLATE_PARAMETERS} parameters in all", "template.components"
            )
        result["components"] = components
    return result


def _media(body: dict[str, Any], media_type: str) -> dict[str, Any]:
    media = object_field(body, media_type, media_type)
    link = string_field(media, "link", f"{media_type}.link", required=False, max_length=2048)
    media_id = string_field(media, "id", f"{media_type}.id", required=False, max_length=MAX_ID_LENGTH)
    # A file uploaded with POST /media: the send goes with WhatsApp's id for it.
    pigeon_id = string_field(media, "media_id", f"{media_type}.media_id", required=False, max_length=36)
    if [bool(link), bool(media_id), bool(pigeon_id)].count(True) != 1:
        raise invalid(f"{media_type} needs exactly one of link, id or media_id", media_type)
    if link and not link.startswith(("https://", "http://")):
        raise invalid(f"{media_type}.link must be an http(s) URL", f"{media_type}.link")
    if pigeon_id and not UUID_PATTERN.fullmatch(pigeon_id):
        raise invalid(f"{media_type}.media_id must be the id POST /media answered", f"{media_type}.media_id")
    result = {"link": link} if link else {"id": media_id} if media_id else {"media_id": pigeon_id.lower()}
    if media_type in ("image", "video", "document"):
        caption = string_field(
            media, "caption", f"{media_type}.caption", required=False, max_length=MAX_CAPTION_LENGTH
        )
        if caption:
            result["caption"] = caption
    elif "caption" in media:
        raise invalid(f"{media_type} messages take no caption", f"{media_type}.caption")
    if media_type == "document":
        filename = string_field(media, "filename", "document.filename", required=False, max_length=240)
        if filename:
            result["filename"] = filename
    return result


def _reaction(body: dict[str, Any]) -> dict[str, Any]:
    reaction = object_field(body, "reaction", "reaction")
    message_id = string_field(reaction, "message_id", "reaction.message_id", max_length=MAX_ID_LENGTH)
    # An empty emoji removes the reaction, as in the Cloud API.
    emoji = string_field(reaction, "emoji", "reaction.emoji", required=False, max_length=16)
    return {"message_id": message_id, "emoji": emoji}


def _location(body: dict[str, Any]) -> dict[str, Any]:
    """Meta's location message: latitude and longitude in decimal degrees, an optional name and
    address (the address shows only with a name)."""
    location = object_field(body, "location", "location")
    result: dict[str, Any] = {}
    for key, bound in (("latitude", 90), ("longitude", 180)):
        value = location.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float) or not -bound <= value <= bound:
            raise invalid(f"location.{key} must be a number from -{bound} to {bound}", f"location.{key}")
        result[key] = value
    for key in ("name", "address"):
        text = string_field(
            location, key, f"location.{key}", required=False, max_length=MAX_LOCATION_TEXT_LENGTH
        )
        if text:
            result[key] = text
    return result


# Meta's "Contacts messages": the parts of a contact card, each with the fields WhatsApp shows.
CONTACT_NAME_FIELDS = ("formatted_name", "first_name", "last_name", "middle_name", "suffix", "prefix")
CONTACT_LISTS = {
    "addresses": ("street", "city", "state", "zip", "country", "country_code", "type"),
    "emails": ("email", "type"),
    "phones": ("phone", "type", "wa_id"),
    "urls": ("url", "type"),
}
CONTACT_ORG_FIELDS = ("company", "department", "title")
BIRTHDAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _strings(obj: dict[str, Any], keys: tuple[str, ...], field: str) -> dict[str, str]:
    """The given keys of an object that hold non-empty strings (each at most 1024 characters)."""
    kept = {}
    for key in keys:
        value = string_field(obj, key, f"{field}.{key}", required=False, max_length=MAX_CONTACT_TEXT_LENGTH)
        if value:
            kept[key] = value
    return kept


def _contacts(body: dict[str, Any]) -> list[dict[str, Any]]:
    """Meta's contacts message: 1 to 257 contact cards, each with a name.formatted_name; other
    parts kept as WhatsApp takes them, unknown fields dropped."""
    cards = body.get("contacts")
    if not isinstance(cards, list) or not 1 <= len(cards) <= MAX_CONTACTS:
        raise invalid(f"contacts must be a list of 1 to {MAX_CONTACTS} contacts", "contacts")
    result = []
    for index, card in enumerate(cards):
        field = f"contacts[{index}]"
        if not isinstance(card, dict):
            raise invalid(f"{field} must be an object", field)
        name = _strings(object_field(card, "name", f"{field}.name"), CONTACT_NAME_FIELDS, f"{field}.name")
        if "formatted_name" not in name:
            raise invalid(f"{field}.name.formatted_name is required", f"{field}.name.formatted_name")
        contact: dict[str, Any] = {"name": name}
        for part, keys in CONTACT_LISTS.items():
            items = card.get(part, [])
            if not isinstance(items, list) or len(items) > MAX_CONTACT_ITEMS:
                raise invalid(
                    f"{field}.{part} must be a list of at most {MAX_CONTACT_ITEMS}", f"{field}.{part}"
                )
            kept = []
            for number, item in enumerate(items):
                if not isinstance(item, dict):
                    raise invalid(f"{field}.{part}[{number}] must be an object", f"{field}.{part}[{number}]")
                if strings := _strings(item, keys, f"{field}.{part}[{number}]"):
                    kept.append(strings)
            if kept:
                contact[part] = kept
        if "org" in card and (
            org := _strings(object_field(card, "org", f"{field}.org"), CONTACT_ORG_FIELDS, f"{field}.org")
        ):
            contact["org"] = org
        birthday = string_field(card, "birthday", f"{field}.birthday", required=False, max_length=10)
        if birthday:
            if not BIRTHDAY.fullmatch(birthday):
                raise invalid(f"{field}.birthday must be YYYY-MM-DD", f"{field}.birthday")
            contact["birthday"] = birthday
        result.append(contact)
    return result


def parse_send(raw: bytes) -> SendCommand:
    body = parse_json_object(raw)
    message_type = string_field(body, "type", "type")
    if message_type not in MESSAGE_TYPES:
        raise invalid(f"type must be one of {', '.join(MESSAGE_TYPES)}", "type")
    account_id = string_field(body, "account_id", "account_id", required=False, max_length=64)
    conversation_id = string_field(body, "conversation_id", "conversation_id", required=False, max_length=64)
    to = string_field(body, "to", "to", required=False, max_length=MAX_RECIPIENT_CHARACTERS)
    if bool(conversation_id) == bool(to):
        raise invalid("give exactly one of conversation_id or to", "conversation_id")
    if to and not (RECIPIENT.fullmatch(to) or BSUID.fullmatch(to)):
        raise invalid(
            "to must be a phone number in E.164 digits (15551234567) or a business-scoped user id "
            "(US.13491208655302741918)",
            "to",
        )
    content: dict[str, Any] | list[dict[str, Any]]
    if message_type == "text":
        content = _text(body)
    elif message_type == "template":
        content = _template(body)
    elif message_type == "reaction":
        content = _reaction(body)
    elif message_type == "location":
        content = _location(body)
    elif message_type == "contacts":
        content = _contacts(body)
    elif message_type == "interactive":
        content = parse_interactive(body)
    else:
        content = _media(body, message_type)
    reply_to = ""
    if "context" in body:
        context = object_field(body, "context", "context")
        reply_to = string_field(context, "message_id", "context.message_id", max_length=MAX_ID_LENGTH)
        if "\x00" in reply_to:
            raise invalid(NUL_MESSAGE.format(field="context.message_id"), "context.message_id")
    body_json = orjson.dumps(content)
    if len(body_json) > MAX_CONTENT_BYTES:
        raise ApiError(
            422,
            "content_too_large",
            f"the {message_type} content is {len(body_json)} bytes as JSON; at most {MAX_CONTENT_BYTES}",
            {"field": message_type, "max_bytes": MAX_CONTENT_BYTES},
        )
    # PostgreSQL stores no U+0000 in text or jsonb: refused here, naming the field, rather
    # than failing in the database. Only what is stored is checked (unknown fields are
    # ignored, NUL or not), and the walk runs only when orjson wrote a \u0000 escape.
    if b"\\u0000" in body_json:
        field = _nul_field(content, message_type) or message_type
        raise invalid(NUL_MESSAGE.format(field=field), field)
    return SendCommand(account_id, conversation_id, to.removeprefix("+"), message_type, body_json, reply_to)
