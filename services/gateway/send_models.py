"""The body of a send (POST /messages/send and /messages/send-async) as msgspec models: one per
message type, told apart by `type` (a tagged union), each with the object of that name in the
WhatsApp Cloud API's shape. msgspec checks every shape, length and pattern here; the
OpenAPI document's SendRequest is made from the same models (openapi_schemas.py). What a
schema cannot say is checked after decoding (validation.py): exactly one target, one media
reference, the 422 limits, parameters in all, U+0000.

Unknown fields are ignored, and a content is encoded back from its model: only the known
fields reach WhatsApp (but template components go as given).
"""

from typing import Annotated, Any

from msgspec import UNSET, Meta, Struct, UnsetType

from services.gateway.interactive import NOT_TAKEN, InteractiveContent, Url
from services.gateway.models import REF_PREFIX, whole
from services.shared.vocabulary import BSUID, RECIPIENT

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
# A recipient: a phone number ("+" and 15 digits), or a BSUID (2 + "." + "ENT." + 128).
MAX_RECIPIENT_CHARACTERS = 135
MAX_TEMPLATE_COMPONENTS = 10
MAX_TEMPLATE_PARAMETERS = 100
MAX_ID_LENGTH = 256
# Meta gives no limit for a location's name and address: pigeon's, as for a caption.
MAX_LOCATION_TEXT_LENGTH = 1024
# Meta: "up to 257 contacts" a message. Its parts have no stated limits: pigeon's.
MAX_CONTACTS = 257
MAX_CONTACT_ITEMS = 20
MAX_CONTACT_TEXT_LENGTH = 1024

Id = Annotated[str, Meta(min_length=1, max_length=MAX_ID_LENGTH)]
# A file uploaded with POST /media.
PigeonMediaId = Annotated[
    str,
    whole("[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}", "the id POST /media answered (a UUID)"),
]
ContactText = Annotated[str, Meta(max_length=MAX_CONTACT_TEXT_LENGTH)]
# Said in the schema of each use; checked after decoding (validation.py).
ONE_MEDIA_REFERENCE = Meta(
    extra_json_schema={"oneOf": [{"required": ["link"]}, {"required": ["id"]}, {"required": ["media_id"]}]}
)


class Content(Struct, kw_only=True, omit_defaults=True):
    """A message's content: encoded back without absent or empty optional fields."""


class TextContent(Struct):
    # Longer is 422 text_too_long (validation.py), not a shape's 400.
    body: Annotated[str, Meta(min_length=1, extra_json_schema={"maxLength": MAX_TEXT_LENGTH})]
    # Sent even when false, as WhatsApp's own examples do.
    preview_url: bool = False


class TemplateLanguage(Struct):
    code: Annotated[str, whole("[a-zA-Z]{2,3}(?:_[a-zA-Z0-9]{2,4})?", "a language code such as en or en_US")]


class TemplateComponent(Struct):
    """A template component as WhatsApp takes it: checked, then stored and sent as given."""

    type: Annotated[str, Meta(min_length=1, max_length=32)]
    parameters: Annotated[list[dict[str, Any]], Meta(max_length=MAX_TEMPLATE_PARAMETERS)] = []


class TemplateContent(Content):
    name: Annotated[str, whole("[a-z0-9_]{1,512}", "lowercase letters, digits and underscores")]
    language: TemplateLanguage
    components: (
        Annotated[
            list[
                Annotated[dict[str, Any], Meta(extra_json_schema={"$ref": f"{REF_PREFIX}TemplateComponent"})]
            ],
            Meta(
                max_length=MAX_TEMPLATE_COMPONENTS,
                description=f"At most {MAX_TEMPLATE_PARAMETERS} parameters in all components together; "
                "sent to WhatsApp as given",
            ),
        ]
        | UnsetType
    ) = UNSET


class Media(Content):
    """Exactly one of link, id (WhatsApp's media id) or media_id (pigeon's: a file uploaded
    with POST /media, which pigeon uploads to WhatsApp as needed)."""

    link: Url | UnsetType = UNSET
    id: Id | UnsetType = UNSET
    media_id: PigeonMediaId | UnsetType = UNSET


class CaptionedMedia(Media):
    caption: Annotated[str, Meta(max_length=MAX_CAPTION_LENGTH)] = ""


class ImageContent(CaptionedMedia):
    pass


class VideoContent(CaptionedMedia):
    pass


class DocumentContent(CaptionedMedia):
    filename: Annotated[str, Meta(max_length=240)] = ""


class AudioContent(Media):
    caption: Annotated[Any, NOT_TAKEN] | UnsetType = UNSET


class StickerContent(Media):
    caption: Annotated[Any, NOT_TAKEN] | UnsetType = UNSET


class ReactionContent(Struct):
    message_id: Id
    # An empty emoji removes the reaction, as in the Cloud API.
    emoji: Annotated[str, Meta(max_length=16, description="Empty removes the reaction")] = ""


class LocationContent(Content):
    """Latitude and longitude in decimal degrees; the address shows only with a name."""

    latitude: Annotated[float, Meta(ge=-90, le=90)]
    longitude: Annotated[float, Meta(ge=-180, le=180)]
    name: Annotated[str, Meta(max_length=MAX_LOCATION_TEXT_LENGTH)] = ""
    address: Annotated[str, Meta(max_length=MAX_LOCATION_TEXT_LENGTH)] = ""


# Meta's "Contacts messages": the parts of a contact card, each with the fields WhatsApp shows.
class ContactName(Content):
    formatted_name: Annotated[str, Meta(min_length=1, max_length=MAX_CONTACT_TEXT_LENGTH)]
    first_name: ContactText = ""
    last_name: ContactText = ""
    middle_name: ContactText = ""
    suffix: ContactText = ""
    prefix: ContactText = ""


class ContactAddress(Content):
    street: ContactText = ""
    city: ContactText = ""
    state: ContactText = ""
    zip: ContactText = ""
    country: ContactText = ""
    country_code: ContactText = ""
    type: ContactText = ""


class ContactEmail(Content):
    email: ContactText = ""
    type: ContactText = ""


class ContactPhone(Content):
    phone: ContactText = ""
    type: ContactText = ""
    wa_id: ContactText = ""


class ContactUrl(Content):
    url: ContactText = ""
    type: ContactText = ""


class ContactOrg(Content):
    company: ContactText = ""
    department: ContactText = ""
    title: ContactText = ""


class ContactCard(Content):
    name: ContactName
    addresses: Annotated[list[ContactAddress], Meta(max_length=MAX_CONTACT_ITEMS)] = []
    emails: Annotated[list[ContactEmail], Meta(max_length=MAX_CONTACT_ITEMS)] = []
    phones: Annotated[list[ContactPhone], Meta(max_length=MAX_CONTACT_ITEMS)] = []
    urls: Annotated[list[ContactUrl], Meta(max_length=MAX_CONTACT_ITEMS)] = []
    org: ContactOrg | UnsetType = UNSET
    birthday: Annotated[str, whole("[0-9]{4}-[0-9]{2}-[0-9]{2}", "a date, YYYY-MM-DD")] | UnsetType = UNSET


class ReplyContext(Struct):
    message_id: Id


class Send(Struct, kw_only=True, tag_field="type"):
    """Exactly one of conversation_id, or to (with an optional account_id, which must be the
    API key's) to open a conversation with a new contact."""

    conversation_id: Annotated[str, Meta(min_length=1, max_length=64)] | UnsetType = UNSET
    account_id: Annotated[str, Meta(min_length=1, max_length=64)] | UnsetType = UNSET
    to: (
        Annotated[
            str,
            whole(
                f"{RECIPIENT.pattern}|{BSUID.pattern}",
                "a phone number in E.164 digits (15551234567) or a business-scoped user id "
                "(US.13491208655302741918): the conversation with that contact, opened if new",
                max_length=MAX_RECIPIENT_CHARACTERS,
            ),
        ]
        | UnsetType
    ) = UNSET
    context: ReplyContext | UnsetType = UNSET


class SendText(Send, tag="text"):
    text: TextContent


class SendTemplate(Send, tag="template"):
    template: TemplateContent


class SendImage(Send, tag="image"):
    image: Annotated[ImageContent, ONE_MEDIA_REFERENCE]


class SendDocument(Send, tag="document"):
    document: Annotated[DocumentContent, ONE_MEDIA_REFERENCE]


class SendAudio(Send, tag="audio"):
    audio: Annotated[AudioContent, ONE_MEDIA_REFERENCE]


class SendVideo(Send, tag="video"):
    video: Annotated[VideoContent, ONE_MEDIA_REFERENCE]


class SendSticker(Send, tag="sticker"):
    sticker: Annotated[StickerContent, ONE_MEDIA_REFERENCE]


class SendReaction(Send, tag="reaction"):
    reaction: ReactionContent


class SendLocation(Send, tag="location"):
    location: LocationContent


class SendContacts(Send, tag="contacts"):
    contacts: Annotated[list[ContactCard], Meta(min_length=1, max_length=MAX_CONTACTS)]


class SendInteractive(Send, tag="interactive"):
    interactive: InteractiveContent


SendRequest = Annotated[
    SendText
    | SendTemplate
    | SendImage
    | SendDocument
    | SendAudio
    | SendVideo
    | SendSticker
    | SendReaction
    | SendLocation
    | SendContacts
    | SendInteractive,
    Meta(
        description=(
            "A message in the WhatsApp Cloud API's shape: `type` and the object of that name. Give "
            "exactly one of conversation_id, or to (with an optional account_id, which must be the "
            "API key's) to open a conversation with a new contact. Unknown fields are ignored (but "
            "`template.components` is stored and sent to WhatsApp as given); strings holding U+0000 "
            "and template components nested deeper than 32 levels are refused, and so is content "
            "over 32 KiB as JSON (422 content_too_large)."
        ),
        extra_json_schema={
            "oneOf": [{"required": ["conversation_id"]}, {"required": ["to"]}],
            "example": {"conversation_id": "3f0c9a52-...", "type": "text", "text": {"body": "Hello!"}},
        },
    ),
]
