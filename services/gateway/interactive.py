"""Validation of `interactive` messages against Meta's limits (the Cloud API's "Interactive
reply buttons", "Interactive list", "Interactive CTA URL button" and "Location request"
messages), before anything is stored: a 400 names the field. What passes is rebuilt from the
known fields only, in the Cloud API's own shape.

Meta's limits relied on: a header of at most 60 characters (text) or a media by `link` or `id`
(image, video, document; a list takes a text header only); a body of 1 to 1024 characters,
required; a footer of at most 60; 1 to 3 reply buttons, each with an id of at most 256
characters and a title of at most 20, both unique; a list's button text of at most 20, 1 to 10
sections with at most 10 rows in all, a section title of at most 24 (required when there are
several sections), a row's id of at most 200 characters (unique), title at most 24,
description at most 72; a CTA's display text of at most 20 and an http(s) URL; a location
request with a body only.
"""

from typing import Any

from services.gateway.fields import invalid, list_field, object_field, string_field

INTERACTIVE_TYPES = ("button", "list", "cta_url", "location_request_message")
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
HEADER_MEDIA = ("image", "video", "document")


def parse_interactive(body: dict[str, Any]) -> dict[str, Any]:
    interactive = object_field(body, "interactive", "interactive")
    kind = string_field(interactive, "type", "interactive.type")
    if kind not in INTERACTIVE_TYPES:
        raise invalid(f"interactive.type must be one of {', '.join(INTERACTIVE_TYPES)}", "interactive.type")
    result: dict[str, Any] = {"type": kind}
    if kind == "location_request_message":
        for key in ("header", "footer"):
            if key in interactive:
                raise invalid(f"a location request takes no {key}", f"interactive.{key}")
    else:
        if "header" in interactive:
            result["header"] = _header(interactive, text_only=kind == "list")
        if "footer" in interactive:
            footer = object_field(interactive, "footer", "interactive.footer")
            result["footer"] = {
                "text": string_field(footer, "text", "interactive.footer.text", max_length=MAX_FOOTER_TEXT)
            }
    text = object_field(interactive, "body", "interactive.body")
    result["body"] = {"text": string_field(text, "text", "interactive.body.text", max_length=MAX_BODY_TEXT)}
    action = object_field(interactive, "action", "interactive.action")
    result["action"] = _ACTIONS[kind](action)
    return result


def _header(interactive: dict[str, Any], text_only: bool) -> dict[str, Any]:
    header = object_field(interactive, "header", "interactive.header")
    kinds = ("text",) if text_only else ("text", *HEADER_MEDIA)
    kind = string_field(header, "type", "interactive.header.type")
    if kind not in kinds:
        raise invalid(f"interactive.header.type must be one of {', '.join(kinds)}", "interactive.header.type")
    if kind == "text":
        text = string_field(header, "text", "interactive.header.text", max_length=MAX_HEADER_TEXT)
        return {"type": "text", "text": text}
    field = f"interactive.header.{kind}"
    media = object_field(header, kind, field)
    references = [key for key in ("link", "id") if key in media]
    if len(references) != 1:
        raise invalid(f"{field} takes one of link or id", field)
    reference = string_field(media, references[0], f"{field}.{references[0]}", max_length=MAX_URL)
    if references[0] == "link" and not reference.startswith(("https://", "http://")):
        raise invalid(f"{field}.link must be an http(s) URL", f"{field}.link")
    kept: dict[str, Any] = {references[0]: reference}
    if kind == "document" and "filename" in media:
        kept["filename"] = string_field(media, "filename", f"{field}.filename", max_length=MAX_FILENAME)
    return {"type": kind, kind: kept}


def _unique(values: list[str], field: str) -> None:
    if len(set(values)) != len(values):
        raise invalid(f"{field} must be unique within the message", field)


def _buttons(action: dict[str, Any]) -> dict[str, Any]:
    buttons: list[dict[str, Any]] = []
    ids: list[str] = []
    titles: list[str] = []
    for index, item in enumerate(list_field(action, "buttons", "interactive.action.buttons", MAX_BUTTONS)):
        field = f"interactive.action.buttons[{index}]"
        if not isinstance(item, dict):
            raise invalid(f"{field} must be an object", field)
        if item.get("type", "reply") != "reply":
            raise invalid(f"{field}.type must be reply", f"{field}.type")
        reply = object_field(item, "reply", f"{field}.reply")
        button_id = string_field(reply, "id", f"{field}.reply.id", max_length=MAX_BUTTON_ID)
        title = string_field(reply, "title", f"{field}.reply.title", max_length=MAX_BUTTON_TITLE)
        buttons.append({"type": "reply", "reply": {"id": button_id, "title": title}})
        ids.append(button_id)
        titles.append(title)
    _unique(ids, "interactive.action.buttons[].reply.id")
    _unique(titles, "interactive.action.buttons[].reply.title")
    return {"buttons": buttons}


def _sections(action: dict[str, Any]) -> dict[str, Any]:
    button = string_field(action, "button", "interactive.action.button", max_length=MAX_LIST_BUTTON)
    sections_in = list_field(action, "sections", "interactive.action.sections", MAX_SECTIONS)
    sections, row_ids = [], []
    for index, item in enumerate(sections_in):
        field = f"interactive.action.sections[{index}]"
        if not isinstance(item, dict):
            raise invalid(f"{field} must be an object", field)
        section: dict[str, Any] = {}
        title = string_field(
            item, "title", f"{field}.title", required=len(sections_in) > 1, max_length=MAX_SECTION_TITLE
        )
        if title:
            section["title"] = title
        rows = []
        for number, row in enumerate(list_field(item, "rows", f"{field}.rows", MAX_ROWS)):
            row_field = f"{field}.rows[{number}]"
            if not isinstance(row, dict):
                raise invalid(f"{row_field} must be an object", row_field)
            kept = {
                "id": string_field(row, "id", f"{row_field}.id", max_length=MAX_ROW_ID),
                "title": string_field(row, "title", f"{row_field}.title", max_length=MAX_ROW_TITLE),
            }
            description = string_field(
                row, "description", f"{row_field}.description", required=False, max_length=MAX_ROW_DESCRIPTION
            )
            if description:
                kept["description"] = description
            rows.append(kept)
            row_ids.append(kept["id"])
        section["rows"] = rows
        sections.append(section)
    if len(row_ids) > MAX_ROWS:
        raise invalid(
            f"a list has at most {MAX_ROWS} rows in all its sections", "interactive.action.sections"
        )
    _unique(row_ids, "interactive.action.sections[].rows[].id")
    return {"button": button, "sections": sections}


def _call_to_action(action: dict[str, Any]) -> dict[str, Any]:
    if action.get("name") != "cta_url":
        raise invalid("interactive.action.name must be cta_url", "interactive.action.name")
    parameters = object_field(action, "parameters", "interactive.action.parameters")
    display_text = string_field(
        parameters, "display_text", "interactive.action.parameters.display_text", max_length=MAX_DISPLAY_TEXT
    )
    url = string_field(parameters, "url", "interactive.action.parameters.url", max_length=MAX_URL)
    if not url.startswith(("https://", "http://")):
        raise invalid(
            "interactive.action.parameters.url must be an http(s) URL", "interactive.action.parameters.url"
        )
    return {"name": "cta_url", "parameters": {"display_text": display_text, "url": url}}


def _location_request(action: dict[str, Any]) -> dict[str, Any]:
    if action.get("name") != "send_location":
        raise invalid("interactive.action.name must be send_location", "interactive.action.name")
    return {"name": "send_location"}


_ACTIONS = {
    "button": _buttons,
    "list": _sections,
    "cta_url": _call_to_action,
    "location_request_message": _location_request,
}
