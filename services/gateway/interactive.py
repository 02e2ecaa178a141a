"""`interactive` messages as msgspec models, with Meta's limits (the Cloud API's "Interactive
reply buttons", "Interactive list", "Interactive CTA URL button" and "Location request"
messages): a 400 names the field. What passes is encoded back from the models: the known
fields only, in the Cloud API's own shape.

Meta's limits relied on: a header of at most 60 characters (text) or a media by `link` or `id`
(image, video, document; a list takes a text header only); a body of 1 to 1024 characters,
required; a footer of at most 60; 1 to 3 reply buttons, each with an id of at most 256
characters and a title of at most 20, both unique; a list's button text of at most 20, 1 to 10
sections with at most 10 rows in all, a section title of at most 24 (required when there are
several sections), a row's id of at most 200 characters (unique), title at most 24,
description at most 72; a CTA's display text of at most 20 and an http(s) URL; a location
request with a body only. What a schema cannot say (unique ids and titles, rows in all, a
section title when there are several, one media reference) is `check_interactive`'s.
"""

from typing import Annotated, Any, Literal

from msgspec import UNSET, Meta, Struct, UnsetType

from services.gateway.fields import invalid
from services.gateway.models import whole

MAX_HEADER_TEXT = 60
MAX_BODY_TEXT = 1024
MAX_FOOTER_TEXT = 60
MAX_BUTTONS = 3
MAX_BUTTON_ID = 256
MAX_BUTTON_TITLE = 20
MAX_LIST_BUTTON = 20
MAX_SECTIONS = 10
MAX_ROWS = 10
MAX_SECTION_TITLE = 24
MAX_ROW_ID = 200
MAX_ROW_TITLE = 24
MAX_ROW_DESCRIPTION = 72
MAX_DISPLAY_TEXT = 20
MAX_URL = 2048
# Meta states none for a header document's file name: pigeon's, as for a caption.
MAX_FILENAME = 1024


HeaderText = Annotated[str, Meta(min_length=1, max_length=MAX_HEADER_TEXT)]
BodyText = Annotated[str, Meta(min_length=1, max_length=MAX_BODY_TEXT)]
FooterText = Annotated[str, Meta(min_length=1, max_length=MAX_FOOTER_TEXT)]
Url = Annotated[str, whole("https?://.*", "an http(s) URL", max_length=MAX_URL)]

# Refused where the message takes none (a location request's header): any value is a 400.
NOT_TAKEN = Meta(extra_json_schema={"not": {}})
ONE_REFERENCE = Meta(
    description="One of link (http or https) or id",
    extra_json_schema={"oneOf": [{"required": ["link"]}, {"required": ["id"]}]},
)


class HeaderMedia(Struct, omit_defaults=True):
    link: Url | UnsetType = UNSET
    id: Annotated[str, Meta(min_length=1, max_length=MAX_URL)] | UnsetType = UNSET


class HeaderDocumentFile(HeaderMedia):
    filename: Annotated[str, Meta(min_length=1, max_length=MAX_FILENAME)] | UnsetType = UNSET


class TextHeader(Struct, tag="text", tag_field="type"):
    text: HeaderText


class ImageHeader(Struct, tag="image", tag_field="type"):
    image: Annotated[HeaderMedia, ONE_REFERENCE]


class VideoHeader(Struct, tag="video", tag_field="type"):
    video: Annotated[HeaderMedia, ONE_REFERENCE]


class DocumentHeader(Struct, tag="document", tag_field="type"):
    document: Annotated[HeaderDocumentFile, ONE_REFERENCE]


MediaHeader = TextHeader | ImageHeader | VideoHeader | DocumentHeader


class InteractiveBody(Struct):
    text: BodyText


class InteractiveFooter(Struct):
    text: FooterText


class ButtonReply(Struct):
    id: Annotated[str, Meta(min_length=1, max_length=MAX_BUTTON_ID)]
    title: Annotated[str, Meta(min_length=1, max_length=MAX_BUTTON_TITLE)]


class ReplyButton(Struct, kw_only=True):
    type: Literal["reply"] = "reply"
    reply: ButtonReply


class ButtonsAction(Struct):
    buttons: Annotated[list[ReplyButton], Meta(min_length=1, max_length=MAX_BUTTONS)]


class ListRow(Struct, omit_defaults=True):
    id: Annotated[str, Meta(min_length=1, max_length=MAX_ROW_ID)]
    title: Annotated[str, Meta(min_length=1, max_length=MAX_ROW_TITLE)]
    description: Annotated[str, Meta(max_length=MAX_ROW_DESCRIPTION)] = ""


class ListSection(Struct, kw_only=True, omit_defaults=True):
    title: Annotated[str, Meta(max_length=MAX_SECTION_TITLE, description="Required with several")] = ""
    rows: Annotated[list[ListRow], Meta(min_length=1, max_length=MAX_ROWS)]


class ListAction(Struct):
    button: Annotated[str, Meta(min_length=1, max_length=MAX_LIST_BUTTON)]
    sections: Annotated[
        list[ListSection],
        Meta(min_length=1, max_length=MAX_SECTIONS, description=f"At most {MAX_ROWS} rows in all"),
    ]


class CallToActionParameters(Struct):
    display_text: Annotated[str, Meta(min_length=1, max_length=MAX_DISPLAY_TEXT)]
    url: Url


class CallToActionAction(Struct):
    name: Literal["cta_url"]
    parameters: CallToActionParameters


class LocationRequestAction(Struct):
    name: Literal["send_location"]


class Interactive(Struct, kw_only=True, omit_defaults=True, tag_field="type"):
    """Unknown fields are dropped."""


class InteractiveButtons(Interactive, kw_only=True, tag="button"):
    header: MediaHeader | UnsetType = UNSET
    footer: InteractiveFooter | UnsetType = UNSET
    body: InteractiveBody
    action: ButtonsAction


# Each section's title is required when there are several (check_interactive).
TITLED_WHEN_SEVERAL = Meta(
    extra_json_schema={
        "anyOf": [
            {"properties": {"sections": {"maxItems": 1}}},
            {
                "properties": {
                    "sections": {"items": {"required": ["title"], "properties": {"title": {"minLength": 1}}}}
                }
            },
        ]
    }
)


class InteractiveList(Interactive, kw_only=True, tag="list"):
    header: TextHeader | UnsetType = UNSET
    footer: InteractiveFooter | UnsetType = UNSET
    body: InteractiveBody
    action: Annotated[ListAction, TITLED_WHEN_SEVERAL]


class InteractiveCallToAction(Interactive, kw_only=True, tag="cta_url"):
    header: MediaHeader | UnsetType = UNSET
    footer: InteractiveFooter | UnsetType = UNSET
    body: InteractiveBody
    action: CallToActionAction


class InteractiveLocationRequest(Interactive, kw_only=True, tag="location_request_message"):
    header: Annotated[Any, NOT_TAKEN] | UnsetType = UNSET
    footer: Annotated[Any, NOT_TAKEN] | UnsetType = UNSET
    body: InteractiveBody
    action: LocationRequestAction


INTERACTIVE_TYPES = tuple(
    str(variant.__struct_config__.tag)
    for variant in (InteractiveButtons, InteractiveList, InteractiveCallToAction, InteractiveLocationRequest)
)
InteractiveContent = Annotated[
    InteractiveButtons | InteractiveList | InteractiveCallToAction | InteractiveLocationRequest,
    Meta(
        description=(
            "Meta's interactive messages: `button` (1 to 3 reply buttons, ids and titles unique), `list` "
            f"(1 to {MAX_SECTIONS} sections, at most {MAX_ROWS} rows in all, row ids unique; a section "
            "title is required when there are several; a text header only), `cta_url`, "
            "`location_request_message` (a body only). Unknown fields are dropped."
        )
    ),
]


def check_interactive(message: Interactive) -> None:
    """What the models cannot say; their shapes are checked already."""
    if isinstance(message, InteractiveLocationRequest):
        for key in ("header", "footer"):
            if getattr(message, key) is not UNSET:
                raise invalid(f"a location request takes no {key}", f"interactive.{key}")
        return
    header = getattr(message, "header", UNSET)
    if isinstance(header, ImageHeader | VideoHeader | DocumentHeader):
        kind = str(header.__struct_config__.tag)
        media = getattr(header, kind)
        if (media.link is UNSET) == (media.id is UNSET):
            field = f"interactive.header.{kind}"
            raise invalid(f"{field} takes one of link or id", field)
    if isinstance(message, InteractiveButtons):
        _check_buttons(message.action)
    elif isinstance(message, InteractiveList):
        _check_sections(message.action)


def _unique(values: list[str], field: str) -> None:
    if len(set(values)) != len(values):
        raise invalid(f"{field} must be unique within the message", field)


def _check_buttons(action: ButtonsAction) -> None:
    replies = [button.reply for button in action.buttons]
    _unique([reply.id for reply in replies], "interactive.action.buttons[].reply.id")
    _unique([reply.title for reply in replies], "interactive.action.buttons[].reply.title")


def _check_sections(action: ListAction) -> None:
    if len(action.sections) > 1:
        for index, section in enumerate(action.sections):
            if not section.title:
                field = f"interactive.action.sections[{index}].title"
                raise invalid(f"{field} is required when a list has several sections", field)
    row_ids = [row.id for section in action.sections for row in section.rows]
    if len(row_ids) > MAX_ROWS:
        raise invalid(
            f"a list has at most {MAX_ROWS} rows in all its sections", "interactive.action.sections"
        )
    _unique(row_ids, "interactive.action.sections[].rows[].id")
