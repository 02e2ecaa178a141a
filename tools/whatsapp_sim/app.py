"""An aiohttp stand-in for Meta's Graph API send and media endpoints and its webhooks, plus `/_sim/`
inspection and control.

pigeon's sender calls it over HTTP exactly as it calls Meta. Behaviour that tests need to
provoke is keyed on the recipient: `to == "1999" + code` answers that Graph error code,
`to == "1998" + N` answers after N extra milliseconds, `to == "1997" + code` is accepted and then
reported `failed` with that code by the status webhooks, and `to == "1996" + anything` is accepted
(its status webhooks sent as for any other) but the connection is closed without an answer: a
reset after the request was written, where the sender cannot know whether WhatsApp has it. The
hot path does a dict lookup, one orjson parse, a few type checks and a deque append, so
benchmarks measure pigeon, not this.

With `webhook_url` set, every accepted send to a number with an app secret is followed by signed
status webhooks (see `webhooks.py`); `/_sim/inbound` and `/_sim/webhook` send inbound messages
and arbitrary bodies, and `/_sim/webhooks` lists every POST made.

Templates (see `templates.py`): a catalog per WABA, listed at
`GET /{version}/{waba_id}/message_templates`, checked on every template send; `/_sim/templates`
adds one or changes its status (sending Meta's status-update webhook).

Media (see `media.py`): upload (`POST /{version}/{phone_number_id}/media`), retrieve and delete
(`GET`/`DELETE /{version}/{media_id}`) and the download URL the retrieve answers, with Meta's
types, size limits and lifetimes; an inbound message injected with `media` gets real bytes behind
a webhook media id. `/_sim/media/{media_id}/expire` and `/_sim/media/faults` provoke expiry and
failed downloads.
"""

import asyncio
import base64
import hmac
import itertools
import os
import random
import re
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import orjson
from aiohttp import web

from tools.whatsapp_sim.checks import Invalid, json_object, required, string
from tools.whatsapp_sim.config import PhoneNumber, SimConfig, parse_phone_number
from tools.whatsapp_sim.interactive import validate_interactive
from tools.whatsapp_sim.media import (
    ATTACHMENTS_PATH,
    MediaRoutes,
    MediaStore,
    keep_inbound_media,
    parse_inbound_media,
)
from tools.whatsapp_sim.templates import (
    TemplateCatalog,
    page,
    page_limit,
    parse_template,
    status_update_notification,
)
from tools.whatsapp_sim.webhooks import (
    Business,
    Delivery,
    StatusPlan,
    WebhookSender,
    inbound_value,
    notification,
    sign,
    status_sequence,
)

# Enough for long benchmarks without unbounded memory; the oldest records go first.
MAX_RECORDS = 200_000

_VERSION = re.compile(r"v\d+\.\d+")
_RECIPIENT = re.compile(r"\+?[0-9]{5,20}")
# Meta's business-scoped user id: country code, period, up to 128 alphanumerics ("ENT." for a parent).
_BSUID = re.compile(r"[A-Z]{2}\.(?:ENT\.)?[A-Za-z0-9]{1,128}")
_WA_ID = re.compile(r"[0-9]{5,20}")
_RESET_PREFIX = "1996"
_FAILED_PREFIX = "1997"
_DELAY_PREFIX = "1998"
_ERROR_PREFIX = "1999"

MEDIA_TYPES = frozenset({"image", "document", "audio", "video", "sticker"})
MESSAGE_TYPES = MEDIA_TYPES | {"text", "template", "reaction", "location", "contacts", "interactive"}
_CAPTION_TYPES = frozenset({"image", "video", "document"})
_TYPE_LIST = ", ".join(sorted(MESSAGE_TYPES))


@dataclass(slots=True)
class Record:
    """One POST to the messages route. The token is never kept.

    The body is kept as the raw bytes and parsed only when inspected: a parsed body costs about
    four times the memory, which matters at `MAX_RECORDS`.
    """

    received_at: float
    phone_number_id: str
    raw_body: bytes
    to: str | None = None
    answered_at: float | None = None
    status: int | None = None
    error_code: int | None = None
    wa_message_id: str | None = None

    def as_json(self) -> dict[str, Any]:
        try:
            body = orjson.loads(self.raw_body) if self.raw_body else None
        except orjson.JSONDecodeError:
            body = None
        return {
            "received_at": self.received_at,
            "answered_at": self.answered_at,
            "phone_number_id": self.phone_number_id,
            "to": self.to,
            "body": body,
            "status": self.status,
            "error_code": self.error_code,
            "wa_message_id": self.wa_message_id,
        }


@dataclass(slots=True)
class State:
    records: deque[Record]
    # Per phone number, monotonic times of the sends accepted in the last second.
    windows: dict[str, deque[float]]
    webhooks: WebhookSender
    media: MediaStore
    templates: TemplateCatalog = field(default_factory=TemplateCatalog)
    # (phone number id, wamid) of the customers' messages it sent, oldest first: what a read
    # receipt may name.
    inbound: dict[tuple[str, str], None] = field(default_factory=dict)

    def keep_inbound(self, phone_number_id: str, wamid: str) -> None:
        self.inbound[(phone_number_id, wamid)] = None
        if len(self.inbound) > MAX_RECORDS:
            del self.inbound[next(iter(self.inbound))]


CONFIG = web.AppKey("config", SimConfig)
STATE = web.AppKey("state", State)


# --- Graph errors ------------------------------------------------------------------------------


class ErrorInfo(NamedTuple):
    message: str
    details: str
    subcode: int | None = None


# Messages and details follow Meta's "Error codes" reference
# (developers.facebook.com/documentation/business-messaging/whatsapp/support/error-codes, as of
# September 2026): `details` as it gives them; the message is "(#code) <title>" with the titles of
# its earlier versions, which had a title column. Codes it never titled (newer ones) repeat the
# details as their title, as Meta's 131050 does in its webhooks. Graph-level codes (1, 2, 190)
# carry no "(#code)" prefix; every WhatsApp error's type is OAuthException.
_ERRORS: dict[int, ErrorInfo] = {
    1: ErrorInfo("An unknown error has occurred.", "Invalid request or possible server error."),
    2: ErrorInfo(
        "An unexpected error has occurred. Please retry your request later.",
        "Temporary due to downtime or due to being overloaded.",
    ),
    4: ErrorInfo("(#4) Application request limit reached", "The app has reached its API call rate limit."),
    10: ErrorInfo(
        "(#10) Application does not have permission for this action",
        "Permission is either not granted or has been removed.",
    ),
    100: ErrorInfo("(#100) Invalid parameter", "The request included unsupported or misspelled parameters."),
    190: ErrorInfo(
        "Error validating access token: Session has expired.", "Your access token has expired.", 463
    ),
    368: ErrorInfo(
        "(#368) Temporarily blocked for policies violations",
        "The WhatsApp Business Account has been restricted or disabled for violating a platform policy.",
    ),
    80007: ErrorInfo(
        "(#80007) Rate limit issues", "The WhatsApp Business Account has reached its rate limit."
    ),
    130403: ErrorInfo(
        "(#130403) Unable to deliver the message. This business has blocked the end user on WhatsApp",
        "Unable to deliver the message. This business has blocked the end user on WhatsApp",
    ),
    130429: ErrorInfo("(#130429) Rate limit hit", "Cloud API message throughput has been reached.", 2494055),
    130472: ErrorInfo(
        "(#130472) User's number is part of an experiment", "Message was not sent as part of an experiment."
    ),
    130497: ErrorInfo(
        "(#130497) Business account is restricted from messaging users in this country.",
        "The WhatsApp Business Account is restricted from messaging to users in certain countries.",
    ),
    131000: ErrorInfo("(#131000) Something went wrong", "Message failed to send due to an unknown error."),
    131005: ErrorInfo("(#131005) Access denied", "Permission is either not granted or has been removed."),
    131008: ErrorInfo(
        "(#131008) Required parameter is missing", "The request is missing a required parameter."
    ),
    131009: ErrorInfo("(#131009) Parameter value is not valid", "One or more parameter values are invalid."),
    131016: ErrorInfo(
        "(#131016) Service unavailable",
        "A service is temporarily unavailable. Please check the status page before retrying.",
    ),
    131021: ErrorInfo(
        "(#131021) Recipient cannot be sender", "Sender and recipient phone number is the same."
    ),
    131026: ErrorInfo(
        "(#131026) Message undeliverable",
        "Unable to deliver message: the recipient is not a WhatsApp user, has not accepted the latest "
        "terms of service, or uses an old WhatsApp version.",
    ),
    131031: ErrorInfo(
        "(#131031) Business Account locked",
        "The WhatsApp Business Account has been restricted or disabled for violating a platform policy.",
    ),
    131037: ErrorInfo(
        "(#131037) Display name approval needed",
        "The 555 business phone number used to send the request does not have an approved display name.",
    ),
    131042: ErrorInfo(
        "(#131042) Business eligibility payment issue", "There was an error related to your payment method."
    ),
    131045: ErrorInfo(
        "(#131045) Incorrect certificate", "Message failed to send due to a phone number registration error."
    ),
    131047: ErrorInfo(
        "(#131047) Re-engagement message",
        "Message failed to send because more than 24 hours have passed since the customer last replied "
        "to this number.",
    ),
    131048: ErrorInfo(
        "(#131048) Spam rate limit hit",
        "Message failed to send because there are restrictions on how many messages can be sent from "
        "this phone number.",
    ),
    131049: ErrorInfo(
        "(#131049) This message was not delivered to maintain healthy ecosystem engagement.",
        "In order to maintain a healthy ecosystem engagement, the message failed to be delivered.",
    ),
    131050: ErrorInfo(
        "(#131050) Unable to deliver the message. This recipient has chosen to stop receiving marketing "
        "messages on WhatsApp from your business.",
        "Unable to deliver the message. This recipient has chosen to stop receiving marketing messages "
        "on WhatsApp from your business.",
    ),
    131051: ErrorInfo("(#131051) Unsupported message type", "Unsupported message type."),
    131052: ErrorInfo("(#131052) Media download error", "Unable to download the media sent by the user."),
    131053: ErrorInfo("(#131053) Media upload error", "Unable to upload the media used in the message."),
    131055: ErrorInfo("(#131055) Method not allowed", "Only marketing template messages are supported"),
    131056: ErrorInfo(
        "(#131056) (Business Account, Consumer Account) pair rate limit hit",
        "Message failed to send because there were too many messages sent from this phone number to the "
        "same phone number in a short period of time.",
    ),
    131057: ErrorInfo("(#131057) Account in maintenance mode", "Business Account is in maintenance mode."),
    131063: ErrorInfo(
        "(#131063) Your template is categorized as Marketing, but marketing templates are currently "
        "disabled for your Cloud API configuration.",
        "Your template is categorized as Marketing, but marketing templates are currently disabled for "
        "your Cloud API configuration.",
    ),
    131064: ErrorInfo(
        "(#131064) Message failed to send because this account has reached its messaging limit due to "
        "template classification violations.",
        "Message failed to send because this account has reached its messaging limit due to template "
        "classification violations. This applies to both template messages and direct send messages.",
    ),
    132000: ErrorInfo(
        "(#132000) Number of parameters does not match the expected number of params",
        "The number of variable parameter values does not match the number defined in the template.",
    ),
    132001: ErrorInfo(
        "(#132001) Template name does not exist in the translation",
        "The template does not exist in the specified language or has not been approved.",
    ),
    132005: ErrorInfo("(#132005) Translated text too long", "Translated text is too long."),
    132007: ErrorInfo(
        "(#132007) Template Format Character Policy Violated", "Template content violates a WhatsApp policy."
    ),
    132012: ErrorInfo(
        "(#132012) Parameter format does not match format in the created template",
        "Variable parameter values formatted incorrectly.",
    ),
    132015: ErrorInfo(
        "(#132015) Template is Paused",
        "Template is paused due to low quality so it cannot be sent in a template message.",
    ),
    132016: ErrorInfo(
        "(#132016) Template is Disabled",
        "Template has been paused too many times due to low quality and is now permanently disabled.",
    ),
    132018: ErrorInfo(
        "(#132018) Template validation error", "There's an issue with the parameters in your template."
    ),
    132068: ErrorInfo("(#132068) Flow is blocked", "Flow is in blocked state."),
    132069: ErrorInfo(
        "(#132069) Flow is throttled",
        "Flow is in throttled state and 10 messages using this flow were already sent in the last hour.",
    ),
    133004: ErrorInfo("(#133004) Server Temporarily Unavailable", "Server is temporarily unavailable."),
    133010: ErrorInfo(
        "(#133010) Phone number Not Registered",
        "Phone number not registered on the WhatsApp Business Platform.",
    ),
    134011: ErrorInfo(
        "(#134011) Message failed to send because WhatsApp Payments terms of service acceptance is "
        "pending for this WhatsApp Business Account.",
        "Message failed to send because WhatsApp Payments terms of service acceptance is pending for "
        "this WhatsApp Business Account.",
    ),
    135000: ErrorInfo(
        "(#135000) Generic user error",
        "Message failed to send because of an unknown error with your request parameters.",
    ),
}
# The codes Meta documents, each with its own entry above.
DOCUMENTED_CODES = frozenset(_ERRORS)


def error_info(code: int) -> ErrorInfo:
    if (known := _ERRORS.get(code)) is not None:
        return known
    if 200 <= code <= 299:
        return ErrorInfo(
            f"(#{code}) Permissions error", "Permission is either not granted or has been removed."
        )
    return ErrorInfo(f"(#{code}) Simulated error", f"Simulated Graph error {code}.")


_CODE_PREFIX = re.compile(r"\(#\d+\) ")


def error_title(code: int) -> str:
    """The message without its "(#code) " prefix: the `title` of a webhook's error."""
    return _CODE_PREFIX.sub("", error_info(code).message, count=1)


# The HTTP status each code comes with, from the status column earlier versions of Meta's
# reference had (integrity and permission errors 403, 132001 404, 131045 and 131057 500, 133004
# 503); 400 for the rest. Rate limits answer 429, as the digest and clients see them.
_STATUS_OF_CODE = {
    190: 401,
    10: 403,
    368: 403,
    130497: 403,
    131005: 403,
    131031: 403,
    132001: 404,
    4: 429,
    80007: 429,
    130429: 429,
    131056: 429,
    1: 500,
    2: 500,
    131000: 500,
    131045: 500,
    131057: 500,
    131016: 503,
    133004: 503,
}


def http_status(code: int) -> int:
    """The HTTP status Meta pairs with a Graph error code; clients should branch on the code."""
    if 200 <= code <= 299:
        return 403
    return _STATUS_OF_CODE.get(code, 400)


# Default for graph_error's subcode: take it from the table.
_TABLE_SUBCODE = -1


def _fbtrace_id() -> str:
    return base64.urlsafe_b64encode(random.randbytes(9)).decode()


def graph_error(
    code: int,
    details: str | None = None,
    *,
    message: str | None = None,
    type_: str | None = None,
    subcode: int | None = _TABLE_SUBCODE,
    status: int | None = None,
) -> web.Response:
    """A Graph error response; unspecified parts come from `error_info(code)`.

    `subcode=None` leaves the (deprecated) subcode out even when the table has one.
    """
    known = error_info(code)
    error: dict[str, Any] = {
        "message": message or known.message,
        "type": type_ or "OAuthException",
        "code": code,
        "error_data": {"messaging_product": "whatsapp", "details": details or known.details},
        "fbtrace_id": _fbtrace_id(),
    }
    if subcode == _TABLE_SUBCODE:
        subcode = known.subcode
    if subcode is not None:
        error["error_subcode"] = subcode
    return web.Response(
        body=orjson.dumps({"error": error}),
        status=status or http_status(code),
        content_type="application/json",
    )


# --- request validation -----------------------------------------------------------------------


def validate_send(body: Any) -> str:
    """Checks a send body the way the Cloud API does; returns `to`, or `recipient` (a BSUID)
    when there is no `to` (Meta: either or both, `to` wins), raises Invalid."""
    if not isinstance(body, dict):
        raise Invalid(100, "The request body must be a JSON object.")
    product = required(body, "messaging_product", "messaging_product")
    if product != "whatsapp":
        raise Invalid(100, "Param messaging_product must be 'whatsapp'.")
    if "to" not in body and "recipient" in body:
        recipient = body["recipient"]
        if not isinstance(recipient, str) or not _BSUID.fullmatch(recipient):
            raise Invalid(
                100, "Param recipient must be a business-scoped user ID such as US.13491208655302741918."
            )
        to = recipient
    else:
        to = required(body, "to", "to")
        if not isinstance(to, str):
            raise Invalid(100, "Param to must be a string.")
        if not _RECIPIENT.fullmatch(to):
            # A BSUID in `to` included: Meta does not deliver it (partners report it silently
            # dropped); the simulator says so instead of pretending to send.
            raise Invalid(131009, "Param to must be a phone number: 5 to 20 digits, optionally after a '+'.")
    recipient_type = body.get("recipient_type")
    if recipient_type is not None and recipient_type != "individual":
        raise Invalid(100, "Param recipient_type must be 'individual'.")
    # Meta defaults a missing type to text.
    kind = body.get("type", "text")
    if not isinstance(kind, str) or kind not in MESSAGE_TYPES:
        raise Invalid(100, f"Param type must be one of {{{_TYPE_LIST}}}.")
    content = required(body, kind, kind)
    _VALIDATORS[kind](content, kind)
    context = body.get("context")
    if context is not None:
        message_id = json_object(context, "context").get("message_id")
        if not isinstance(message_id, str) or not message_id:
            raise Invalid(100, "Param context['message_id'] must be a non-empty string.")
    opaque = body.get("biz_opaque_callback_data")
    if opaque is not None:
        if not isinstance(opaque, str):
            raise Invalid(100, "Param biz_opaque_callback_data must be a string.")
        if len(opaque) > 128 and len(opaque.encode()) > 512:
            raise Invalid(131009, "Param biz_opaque_callback_data must be at most 512 bytes.")
    return to


def _text(content: Any, kind: str) -> None:
    text = json_object(content, kind)
    body = string(text, "body", "text['body']")
    if len(body) > 4096:
        raise Invalid(131009, "Param text['body'] must be at most 4096 characters long.")
    preview = text.get("preview_url")
    if preview is not None and not isinstance(preview, bool):
        raise Invalid(100, "Param text['preview_url'] must be a boolean.")


def _template(content: Any, kind: str) -> None:
    template = json_object(content, kind)
    string(template, "name", "template['name']")
    language = json_object(required(template, "language", "template['language']"), "template['language']")
    string(language, "code", "template['language']['code']")
    components = template.get("components")
    if components is None:
        return
    if not isinstance(components, list):
        raise Invalid(100, "Param template['components'] must be an array.")
    for index, component in enumerate(components):
        field = f"template['components'][{index}]"
        string(json_object(component, field), "type", f"{field}['type']")
        parameters = component.get("parameters", [])
        if not isinstance(parameters, list):
            raise Invalid(100, f"Param {field}['parameters'] must be an array.")
        for number, parameter in enumerate(parameters):
            string(
                json_object(parameter, f"{field}['parameters'][{number}]"),
                "type",
                f"{field}['parameters'][{number}]['type']",
            )


def _media(content: Any, kind: str) -> None:
    media = json_object(content, kind)
    has_link, has_id = "link" in media, "id" in media
    if not has_link and not has_id:
        raise Invalid(131008, f"Param {kind} must have a 'link' or an 'id'.")
    if has_link and has_id:
        raise Invalid(131009, f"Param {kind} must have only one of 'link' or 'id'.")
    reference = string(media, "link" if has_link else "id", f"{kind}['{'link' if has_link else 'id'}']")
    if has_link and not reference.startswith(("https://", "http://")):
        raise Invalid(131009, f"Param {kind}['link'] must be an http(s) URL.")
    if "caption" in media:
        if kind not in _CAPTION_TYPES:
            raise Invalid(100, f"Param {kind}['caption'] is not supported for {kind} messages.")
        if not isinstance(media["caption"], str):
            raise Invalid(100, f"Param {kind}['caption'] must be a string.")
    if "filename" in media:
        if kind != "document":
            raise Invalid(100, f"Param {kind}['filename'] is only supported for document messages.")
        if not isinstance(media["filename"], str):
            raise Invalid(100, "Param document['filename'] must be a string.")


def _reaction(content: Any, kind: str) -> None:
    reaction = json_object(content, kind)
    string(reaction, "message_id", "reaction['message_id']")
    # An empty emoji removes the reaction.
    string(reaction, "emoji", "reaction['emoji']", non_empty=False)


def _location(content: Any, kind: str) -> None:
    """Meta's "Location messages": latitude and longitude in decimal degrees (as numbers or
    numeric strings), name and address optional strings."""
    location = json_object(content, kind)
    for key, bound in (("latitude", 90), ("longitude", 180)):
        value = required(location, key, f"location['{key}']")
        try:
            degrees = float(value) if isinstance(value, str) else value
        except ValueError:
            degrees = None
        if isinstance(degrees, bool) or not isinstance(degrees, int | float):
            raise Invalid(100, f"Param location['{key}'] must be a number.")
        if not -bound <= degrees <= bound:
            raise Invalid(131009, f"Param location['{key}'] must be between -{bound} and {bound}.")
    for key in ("name", "address"):
        if key in location and not isinstance(location[key], str):
            raise Invalid(100, f"Param location['{key}'] must be a string.")


def _contacts(content: Any, kind: str) -> None:
    """Meta's "Contacts messages": up to 257 contacts, each with name['formatted_name']."""
    if not isinstance(content, list) or not content:
        raise Invalid(100, "Param contacts must be a non-empty array.")
    if len(content) > 257:
        raise Invalid(131009, "Param contacts must hold at most 257 contacts.")
    for index, item in enumerate(content):
        contact = json_object(item, f"contacts[{index}]")
        name = json_object(
            required(contact, "name", f"contacts[{index}]['name']"), f"contacts[{index}]['name']"
        )
        string(name, "formatted_name", f"contacts[{index}]['name']['formatted_name']")


_VALIDATORS = {
    "text": _text,
    "template": _template,
    "reaction": _reaction,
    "location": _location,
    "contacts": _contacts,
    "interactive": validate_interactive,
    **dict.fromkeys(MEDIA_TYPES, _media),
}


# --- the send endpoint ------------------------------------------------------------------------

# A per-process random prefix plus a counter: unique without a uuid per request. 7 + 8 bytes
# encode to 20 base64 characters without padding.
_WAMID_PREFIX = os.urandom(7)
_wamid_counter = itertools.count()


def _new_wamid() -> str:
    raw = _WAMID_PREFIX + next(_wamid_counter).to_bytes(8, "big")
    return "wamid." + base64.urlsafe_b64encode(raw).decode()


@dataclass(slots=True)
class Outcome:
    """How to answer a send: the response, the Graph error code or the wamid, and any extra delay."""

    response: web.Response
    error_code: int | None = None
    wamid: str | None = None
    extra_delay: float = 0.0
    # The status webhooks to send once answered; None when webhooks are off for this send.
    statuses: StatusPlan | None = None
    # Accepted, but the connection is closed instead of answering ("1996..." recipients).
    reset: bool = False


def _failed(code: int, details: str | None = None, **overrides: Any) -> Outcome:
    return Outcome(graph_error(code, details, **overrides), error_code=code)


def _error_trigger(digits: str) -> int | None:
    """The Graph error code asked for by a "1999<code>" recipient, if any."""
    if digits.startswith(_ERROR_PREFIX) and len(digits) > 4:
        return int(digits[4:])
    return None


def _failure_trigger(digits: str) -> int | None:
    """The error code a "1997<code>" recipient's `failed` status webhook carries, if any."""
    if digits.startswith(_FAILED_PREFIX) and len(digits) > 4:
        return int(digits[4:])
    return None


def _extra_delay(digits: str) -> float:
    """Seconds of extra delay asked for by a "1998<ms>" recipient."""
    if digits.startswith(_DELAY_PREFIX) and len(digits) > 4:
        return int(digits[4:]) / 1000.0
    return 0.0


def auth_error(request: web.Request, token: str) -> web.Response | None:
    """Graph's 190 unless the request's Bearer token is `token`; the media routes check with it too."""
    header = request.headers.get("Authorization", "")
    scheme, _, given = header.partition(" ")
    given = given.strip()
    if scheme.lower() != "bearer" or not given:
        return graph_error(
            190,
            "The request has no valid 'Authorization: Bearer <token>' header.",
            message="Invalid OAuth access token - Cannot parse access token",
            subcode=None,
        )
    if not hmac.compare_digest(given.encode(errors="surrogateescape"), token.encode()):
        return graph_error(
            190,
            "The access token does not belong to this phone number.",
            message="Error validating access token: The session has been invalidated.",
            subcode=460,
        )
    return None


def _admit(windows: dict[str, deque[float]], phone_number_id: str, mps: int) -> bool:
    """Sliding one-second window of accepted sends; O(1) amortised."""
    now = time.monotonic()
    window = windows.get(phone_number_id)
    if window is None:
        window = windows[phone_number_id] = deque()
    cutoff = now - 1.0
    while window and window[0] <= cutoff:
        window.popleft()
    if len(window) >= mps:
        return False
    window.append(now)
    return True


async def send_message(request: web.Request) -> web.Response:
    config = request.app[CONFIG]
    state = request.app[STATE]
    phone_number_id = request.match_info["phone_number_id"]
    # Appended on arrival so records stay in arrival order; completed as the request goes on.
    record = Record(time.time(), phone_number_id, b"")
    state.records.append(record)
    raw = record.raw_body = await request.read()
    try:
        body = orjson.loads(raw) if raw else None
    except orjson.JSONDecodeError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("to", body.get("recipient")), str):
        record.to = body.get("to", body.get("recipient"))

    outcome = _decide(request, config, state, phone_number_id, body)
    delay = outcome.extra_delay + config.latency.sample_seconds()
    if delay > 0:
        await asyncio.sleep(delay)
    record.answered_at = time.time()
    record.status = outcome.response.status
    record.error_code = outcome.error_code
    record.wa_message_id = outcome.wamid
    if outcome.statuses is not None:
        # A task, so the answer is not held back; Meta's first webhook may even beat it.
        state.webhooks.schedule_statuses(outcome.statuses)
    if outcome.reset and request.transport is not None:
        # The message is WhatsApp's now, but its answer is lost: the caller's read of the
        # response fails (aiohttp: ServerDisconnectedError).
        record.status = None
        request.transport.close()
    return outcome.response


def _decide(
    request: web.Request, config: SimConfig, state: State, phone_number_id: str, body: Any
) -> Outcome:
    """Decides the answer without waiting: path, then object, token, body, throughput, triggers."""
    version = request.match_info["version"]
    if not _VERSION.fullmatch(version):
        return _failed(
            2500, f"Unknown API version {version!r}.", message=f"Unknown path components: /{version}"
        )
    number = config.phone_numbers.get(phone_number_id)
    if number is None:
        message = (
            f"Unsupported post request. Object with ID '{phone_number_id}' does not exist, cannot be "
            "loaded due to missing permissions, or does not support this operation"
        )
        details = "The phone number ID is not registered with the simulator."
        return _failed(100, details, message=message, type_="GraphMethodException", subcode=33)
    if (denied := auth_error(request, number.access_token)) is not None:
        return Outcome(denied, error_code=190)
    if isinstance(body, dict) and "status" in body:
        return _read_receipt(state, phone_number_id, body)
    try:
        to = validate_send(body)
    except Invalid as exc:
        return _failed(exc.code, exc.details)
    if body.get("type", "text") == "template":
        waba_id = Business.of(phone_number_id, number).waba_id
        if (refused := state.templates.refusal(waba_id, body["template"])) is not None:
            return _failed(*refused)
    if not _admit(state.windows, phone_number_id, config.mps_for(number)):
        return _failed(130429)
    by_user_id = _BSUID.fullmatch(to) is not None
    digits = "" if by_user_id else to.removeprefix("+")
    if (code := _error_trigger(digits)) is not None:
        return _failed(code)
    if config.error_rate > 0 and random.random() < config.error_rate:
        return _failed(config.error_code)
    wamid = _new_wamid()
    payload = {
        "messaging_product": "whatsapp",
        # Meta's answer names a BSUID recipient by `user_id`, a phone number by `wa_id`.
        "contacts": [{"input": to, "user_id": to} if by_user_id else {"input": to, "wa_id": digits}],
        "messages": [{"id": wamid, "message_status": "accepted"}],
    }
    ok = web.Response(body=orjson.dumps(payload), content_type="application/json")
    statuses = None
    if config.webhook_url and number.app_secret:
        statuses = _status_plan(
            config, state, phone_number_id, number, wamid, to if by_user_id else digits, body
        )
    return Outcome(
        ok,
        wamid=wamid,
        extra_delay=_extra_delay(digits),
        statuses=statuses,
        reset=digits.startswith(_RESET_PREFIX),
    )


def _read_receipt(state: State, phone_number_id: str, body: dict[str, Any]) -> Outcome:
    """Marks a customer's message read, with a typing indicator when asked (Meta's "Typing
    indicators" page): {"messaging_product", "status": "read", "message_id", "typing_indicator"?:
    {"type": "text"}} answers {"success": true}."""
    try:
        product = required(body, "messaging_product", "messaging_product")
        if product != "whatsapp":
            raise Invalid(100, "Param messaging_product must be 'whatsapp'.")
        if body["status"] != "read":
            raise Invalid(100, "Param status must be 'read'.")
        message_id = string(body, "message_id", "message_id")
        typing = body.get("typing_indicator")
        if typing is not None and json_object(typing, "typing_indicator").get("type") != "text":
            raise Invalid(100, "Param typing_indicator['type'] must be 'text'.")
        if (phone_number_id, message_id) not in state.inbound:
            raise Invalid(100, f"Param message_id is not a message this phone number received: {message_id}.")
    except Invalid as exc:
        return _failed(exc.code, exc.details)
    return Outcome(web.Response(body=b'{"success":true}', content_type="application/json"))


def _copies(config: SimConfig) -> int:
    return 2 if config.webhook_duplicates else 1


def _status_plan(
    config: SimConfig,
    state: State,
    phone_number_id: str,
    number: PhoneNumber,
    wamid: str,
    recipient: str,
    body: dict[str, Any],
) -> StatusPlan:
    """`recipient`: the phone number's digits, or the BSUID sent to."""
    failure = None
    by_user_id = _BSUID.fullmatch(recipient) is not None
    if not by_user_id and (code := _failure_trigger(recipient)) is not None:
        failure = (code, error_title(code), error_info(code).details)
    elif (unknown := _unknown_media_id(state, phone_number_id, body)) is not None:
        # As Meta: the send is accepted, and its failed status says the media would not do.
        details = f"Media id {unknown} does not exist or has expired."
        failure = (131053, error_title(131053), details)
    return StatusPlan(
        business=Business.of(phone_number_id, number),
        url=config.webhook_url,
        wamid=wamid,
        recipient_id="" if by_user_id else recipient,
        recipient_user_id=recipient if by_user_id else "",
        biz_opaque_callback_data=body.get("biz_opaque_callback_data"),
        sequence=status_sequence(config, failing=failure is not None),
        copies=_copies(config),
        failure=failure,
    )


def _unknown_media_id(state: State, phone_number_id: str, body: dict[str, Any]) -> str | None:
    """The `id` of a media message's file when this phone number has no such media (any more)."""
    content = body.get(body.get("type", ""))
    if body.get("type") not in MEDIA_TYPES or not isinstance(content, dict) or "id" not in content:
        return None
    media = state.media.get(str(content["id"]))
    return None if media is not None and media.phone_number_id == phone_number_id else str(content["id"])


# --- /_sim/ control ---------------------------------------------------------------------------


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(data), status=status, content_type="application/json")


def _bad_request(message: str) -> web.Response:
    return _json({"error": message}, status=400)


async def _json_body(request: web.Request) -> Any:
    try:
        return orjson.loads(await request.read())
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"the body must be JSON: {exc}") from None


async def put_phone_number(request: web.Request) -> web.Response:
    """Registers or replaces a phone number; a fresh number also gets a fresh throughput window."""
    phone_number_id = request.match_info["phone_number_id"]
    try:
        number = parse_phone_number(phone_number_id, await _json_body(request))
    except ValueError as exc:  # includes a body that is not JSON
        return _bad_request(str(exc))
    request.app[CONFIG].phone_numbers[phone_number_id] = number
    request.app[STATE].windows.pop(phone_number_id, None)
    return web.Response(status=204)


async def get_requests(request: web.Request) -> web.Response:
    query = request.query
    phone_number_id = query.get("phone_number_id")
    to = query.get("to")
    since: float | None = None
    if "since" in query:
        try:
            since = float(query["since"])
        except ValueError:
            return _bad_request("since must be a unix time in seconds")
    matched = [
        record
        for record in request.app[STATE].records
        if (phone_number_id is None or record.phone_number_id == phone_number_id)
        and (to is None or record.to == to)
        and (since is None or record.received_at >= since)
    ]
    return _json({"requests": [record.as_json() for record in matched]})


async def delete_requests(request: web.Request) -> web.Response:
    request.app[STATE].records.clear()
    return web.Response(status=204)


async def get_config(request: web.Request) -> web.Response:
    return _json(request.app[CONFIG].public())


async def patch_config(request: web.Request) -> web.Response:
    config = request.app[CONFIG]
    try:
        changes = await _json_body(request)
        if not isinstance(changes, dict):
            raise ValueError("the body must be a JSON object")
        config.patch(changes)
    except ValueError as exc:
        return _bad_request(str(exc))
    return _json(config.public())


# --- /_sim/ webhooks ----------------------------------------------------------------------------

# The profile name of an injected inbound message that names none: Meta always sends one.
DEFAULT_PROFILE_NAME = "Test User"


def _webhook_url(config: SimConfig) -> str:
    if not config.webhook_url:
        raise ValueError('webhook_url is not set: PATCH /_sim/config {"webhook_url": ...} first')
    return config.webhook_url


def _registered(config: SimConfig, data: dict[str, Any]) -> tuple[str, PhoneNumber]:
    """The phone number the request names, which must be registered and have an app secret."""
    raw_id = data.get("phone_number_id")
    if isinstance(raw_id, bool) or not isinstance(raw_id, str | int):
        raise ValueError("phone_number_id is required")
    phone_number_id = str(raw_id)
    number = config.phone_numbers.get(phone_number_id)
    if number is None:
        raise ValueError(f"phone number {phone_number_id!r} is not registered")
    if not number.app_secret:
        raise ValueError(f"phone number {phone_number_id!r} has no app_secret to sign webhooks with")
    return phone_number_id, number


def _inbound_message(item: Any, sender: str, user_id: str, where: str) -> dict[str, Any]:
    """Meta's inbound message: from (when the phone number is shared), from_user_id (when the
    BSUID is given), id, timestamp, then the given fields. A given `id` or `timestamp` is
    kept, so a test can replay a message Meta already delivered."""
    if not isinstance(item, dict):
        raise ValueError(f"{where} must be a JSON object")
    kind = item.get("type")
    if not isinstance(kind, str) or not kind:
        raise ValueError(f"{where}['type'] must be a non-empty string")
    if "from" in item:
        raise ValueError(f"{where} must not have 'from': the sender is the top-level 'from'")
    wamid = item["id"] if "id" in item else _new_wamid()
    if not isinstance(wamid, str) or not wamid:
        raise ValueError(f"{where}['id'] must be a non-empty string")
    timestamp = item.get("timestamp", int(time.time()))
    if isinstance(timestamp, bool) or not isinstance(timestamp, str | int):
        raise ValueError(f"{where}['timestamp'] must be unix seconds")
    rest = {key: value for key, value in item.items() if key not in ("id", "timestamp")}
    who = ({"from": sender} if sender else {}) | ({"from_user_id": user_id} if user_id else {})
    return {**who, "id": wamid, "timestamp": str(timestamp), **rest}


async def post_inbound(request: web.Request) -> web.Response:
    """Sends Meta's webhook for messages from a customer and answers what pigeon answered.

    Body: {"phone_number_id", "from"?, "user_id"?, "username"?, "profile_name"?, "message": {...}}
    or "messages": [...] (one notification holding them all). "from" is the customer's phone
    number, "user_id" their business-scoped user id (BSUID): at least one; without "from" the
    customer is one whose phone number Meta withholds (a username user). A media message may give "media" (see
    `parse_inbound_media`) instead of its object: the simulator makes and keeps the bytes and
    sends Meta's object for them. Answers {"wa_message_id" or "wa_message_ids", "webhook_status"}:
    pigeon's HTTP status, null if it could not be reached; and with media, "media": {"id",
    "mime_type", "file_size", "sha256" (hex)} (a list in step with the ids, null for the others).
    """
    config = request.app[CONFIG]
    try:
        data = await _json_body(request)
        if not isinstance(data, dict):
            raise ValueError("the body must be a JSON object")
        url = _webhook_url(config)
        phone_number_id, number = _registered(config, data)
        sender = data.get("from", "")
        if not isinstance(sender, str) or (sender and not _WA_ID.fullmatch(sender)):
            raise ValueError("from must be the customer's wa_id: 5 to 20 digits")
        user_id = data.get("user_id", "")
        if not isinstance(user_id, str) or (user_id and not _BSUID.fullmatch(user_id)):
            raise ValueError("user_id must be a BSUID such as US.13491208655302741918")
        if not (sender or user_id):
            raise ValueError("give from (a phone number), user_id (a BSUID) or both")
        username = data.get("username", "")
        if not isinstance(username, str):
            raise ValueError("username must be a string")
        profile_name = data.get("profile_name", DEFAULT_PROFILE_NAME)
        if not isinstance(profile_name, str):
            raise ValueError("profile_name must be a string")
        single = "message" in data
        if single == ("messages" in data):
            raise ValueError("give either 'message' (an object) or 'messages' (a list)")
        if single:
            items = [data["message"]]
        elif isinstance(data["messages"], list) and data["messages"]:
            items = data["messages"]
        else:
            raise ValueError("messages must be a non-empty list")
        where = "message" if single else "messages[{}]"
        messages = [
            _inbound_message(item, sender, user_id, where.format(index)) for index, item in enumerate(items)
        ]
        specs = [parse_inbound_media(message, where.format(index)) for index, message in enumerate(messages)]
    except ValueError as exc:  # includes a body that is not JSON
        return _bad_request(str(exc))
    store = request.app[STATE].media
    media = [
        None if spec is None else keep_inbound_media(store, config, phone_number_id, message, spec)
        for message, spec in zip(messages, specs, strict=True)
    ]
    for message in messages:
        request.app[STATE].keep_inbound(phone_number_id, message["id"])
    business = Business.of(phone_number_id, number)
    value = inbound_value(sender, profile_name, messages, user_id, username)
    body = orjson.dumps(notification(business, value))
    delivery = Delivery("inbound", url, phone_number_id, body, sign(body, business.app_secret))
    status = await request.app[STATE].webhooks.deliver_now(delivery, _copies(config))
    ids = [message["id"] for message in messages]
    answer: dict[str, Any] = {"wa_message_id": ids[0]} if single else {"wa_message_ids": ids}
    if any(media):
        answer["media"] = media[0] if single else media
    return _json({**answer, "webhook_status": status})


async def post_raw_webhook(request: web.Request) -> web.Response:
    """POSTs a body exactly as given, for receivers' tests of odd or hostile payloads.

    Body: {"raw": "<body>", "phone_number_id"?, "sign"?: true, "signature"?, "retry"?: false}.
    "sign" signs with the number's app secret; "signature" is sent verbatim instead (a wrong one,
    say). No retries unless "retry": a test of a refused body wants one POST, not four.
    """
    config = request.app[CONFIG]
    try:
        data = await _json_body(request)
        if not isinstance(data, dict):
            raise ValueError("the body must be a JSON object")
        url = _webhook_url(config)
        raw = data.get("raw")
        if not isinstance(raw, str):
            raise ValueError("raw must be a string: the exact body to POST")
        sign_it, retry = data.get("sign", True), data.get("retry", False)
        if not isinstance(sign_it, bool) or not isinstance(retry, bool):
            raise ValueError("sign and retry must be true or false")
        signature = data.get("signature")
        if signature is not None and not isinstance(signature, str):
            raise ValueError("signature must be a string: the X-Hub-Signature-256 value to send")
        body = raw.encode()
        raw_id = data.get("phone_number_id")
        phone_number_id = "" if raw_id is None else str(raw_id)
        if signature is None and sign_it:
            phone_number_id, number = _registered(config, data)
            signature = sign(body, number.app_secret)
    except ValueError as exc:
        return _bad_request(str(exc))
    delivery = Delivery("raw", url, phone_number_id, body, signature)
    status = await request.app[STATE].webhooks.deliver_now(delivery, _copies(config), retry=retry)
    return _json({"webhook_status": status})


async def get_webhooks(request: web.Request) -> web.Response:
    """Every webhook POST attempt, oldest first; filters: kind, phone_number_id."""
    kind = request.query.get("kind")
    phone_number_id = request.query.get("phone_number_id")
    matched = [
        record
        for record in request.app[STATE].webhooks.records
        if (kind is None or record.delivery.kind == kind)
        and (phone_number_id is None or record.delivery.phone_number_id == phone_number_id)
    ]
    return _json({"webhooks": [record.as_json() for record in matched]})


async def delete_webhooks(request: web.Request) -> web.Response:
    request.app[STATE].webhooks.records.clear()
    return web.Response(status=204)


# --- templates ---------------------------------------------------------------------------------


def _numbers_of(config: SimConfig, waba_id: str) -> list[tuple[str, PhoneNumber]]:
    return [
        (phone_number_id, number)
        for phone_number_id, number in config.phone_numbers.items()
        if Business.of(phone_number_id, number).waba_id == waba_id
    ]


async def list_templates(request: web.Request) -> web.Response:
    """Meta's `GET /{waba_id}/message_templates`, with the token of a phone number of the WABA."""
    waba_id = request.match_info["waba_id"]
    numbers = _numbers_of(request.app[CONFIG], waba_id)
    if not numbers:
        message = (
            f"Unsupported get request. Object with ID '{waba_id}' does not exist, cannot be loaded due "
            "to missing permissions, or does not support this operation"
        )
        details = "The WABA id is not of a registered phone number."
        return graph_error(100, details, message=message, type_="GraphMethodException", subcode=33)
    denials = [auth_error(request, number.access_token) for _, number in numbers]
    if all(denial is not None for denial in denials):
        return denials[0]  # type: ignore[return-value]
    try:
        limit = page_limit(request.query.get("limit"))
    except ValueError as exc:
        return graph_error(100, f"Param limit is not valid: {exc}.")
    templates = list(request.app[STATE].templates.of(waba_id).values())
    url = request.url

    def next_url(after: str) -> str:
        return str(url.update_query(limit=str(limit), after=after))

    return _json(page(templates, limit, request.query.get("after", ""), next_url))


async def post_template(request: web.Request) -> web.Response:
    """Adds a template to a WABA, or replaces one (keeping its id, as an edit on Meta does), without
    a webhook; answers it as the listing shows it."""
    try:
        waba_id, template = parse_template(await _json_body(request))
    except ValueError as exc:
        return _bad_request(str(exc))
    templates = request.app[STATE].templates.of(waba_id)
    if (replaced := templates.get((template.name, template.language))) is not None:
        template.id = replaced.id
    templates[(template.name, template.language)] = template
    return _json(template.as_json(), status=201)


async def patch_template(request: web.Request) -> web.Response:
    """Changes a template's status: {"status", "reason"?}. With a webhook URL, sends Meta's
    `message_template_status_update` for it, signed with the app secret of a phone number of the
    WABA, and answers pigeon's HTTP status as "webhook_status"."""
    config, state = request.app[CONFIG], request.app[STATE]
    waba_id, name, language = (request.match_info[key] for key in ("waba_id", "name", "language"))
    template = state.templates.of(waba_id).get((name, language))
    if template is None:
        return _json({"error": f"no template {name} in {language} for WABA {waba_id}"}, status=404)
    try:
        data = await _json_body(request)
        if not isinstance(data, dict):
            raise ValueError("the body must be a JSON object")
        changed = parse_template({**template.as_json(), **data, "waba_id": waba_id})[1]
        reason = data.get("reason", "NONE")
        if not isinstance(reason, str):
            raise ValueError("reason must be a string")
    except ValueError as exc:
        return _bad_request(str(exc))
    template.status = changed.status
    answer: dict[str, Any] = {**template.as_json(), "webhook_status": None}
    signers = [(pn, number) for pn, number in _numbers_of(config, waba_id) if number.app_secret]
    if config.webhook_url and signers:
        phone_number_id, number = signers[0]
        body = orjson.dumps(status_update_notification(waba_id, template, reason))
        delivery = Delivery(
            "template", config.webhook_url, phone_number_id, body, sign(body, number.app_secret)
        )
        answer["webhook_status"] = await state.webhooks.deliver_now(delivery, _copies(config))
    return _json(answer)


async def health(request: web.Request) -> web.Response:
    return _json({"status": "ok"})


async def not_found(request: web.Request) -> web.Response:
    message = f"Unknown path components: {request.path}"
    return graph_error(2500, "No such endpoint in the simulator.", message=message, status=404)


async def _webhook_client(app: web.Application) -> AsyncIterator[None]:
    """One client session for every webhook, opened and closed with the app."""
    webhooks = app[STATE].webhooks
    await webhooks.start()
    yield
    await webhooks.close()


def create_app(config: SimConfig) -> web.Application:
    app = web.Application()
    app[CONFIG] = config
    store = MediaStore(config)
    app[STATE] = State(
        records=deque(maxlen=MAX_RECORDS),
        windows={},
        webhooks=WebhookSender(config.webhook_retries),
        media=store,
    )
    media = MediaRoutes(config, store, graph_error, auth_error)
    app.cleanup_ctx.append(_webhook_client)
    app.router.add_get("/_sim/health", health)
    app.router.add_get("/_sim/config", get_config)
    app.router.add_patch("/_sim/config", patch_config)
    app.router.add_get("/_sim/requests", get_requests)
    app.router.add_delete("/_sim/requests", delete_requests)
    app.router.add_put("/_sim/phone-numbers/{phone_number_id}", put_phone_number)
    app.router.add_post("/_sim/inbound", post_inbound)
    app.router.add_post("/_sim/webhook", post_raw_webhook)
    app.router.add_get("/_sim/webhooks", get_webhooks)
    app.router.add_delete("/_sim/webhooks", delete_webhooks)
    app.router.add_post("/_sim/templates", post_template)
    app.router.add_patch("/_sim/templates/{waba_id}/{name}/{language}", patch_template)
    app.router.add_post("/_sim/media/faults", media.add_faults)
    app.router.add_delete("/_sim/media/faults", media.clear_faults)
    app.router.add_post("/_sim/media/{media_id}/expire", media.expire)
    app.router.add_get(ATTACHMENTS_PATH, media.download)
    app.router.add_post("/{version}/{phone_number_id}/messages", send_message)
    # The version pattern keeps these off the /_sim/ paths; a path whose version is not one falls
    # through to not_found (2500), as on Meta.
    version = f"{{version:{_VERSION.pattern}}}"
    app.router.add_post(f"/{version}/{{phone_number_id}}/media", media.upload)
    app.router.add_get(f"/{version}/{{waba_id}}/message_templates", list_templates)
    app.router.add_get(f"/{version}/{{media_id}}", media.retrieve)
    app.router.add_delete(f"/{version}/{{media_id}}", media.delete)
    app.router.add_route("*", "/{tail:.*}", not_found)
    return app
