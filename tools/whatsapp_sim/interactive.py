"""Interactive messages as the Cloud API checks them (Meta's "Interactive reply buttons",
"Interactive list", "Interactive CTA URL button" and "Location request" messages): the
simulator refuses what Meta would, with its error codes (see checks.py)."""

from typing import Any

from tools.whatsapp_sim.checks import Invalid, json_object, required, string

_TYPES = ("button", "list", "cta_url", "location_request_message")


def _text(obj: dict[str, Any], key: str, where: str, most: int, *, optional: bool = False) -> str:
    if optional and key not in obj:
        return ""
    value = string(obj, key, where)
    if len(value) > most:
        raise Invalid(131009, f"Param {where} must be at most {most} characters long.")
    return value


def _array(obj: dict[str, Any], key: str, where: str, most: int) -> list[Any]:
    value = required(obj, key, where)
    if not isinstance(value, list):
        raise Invalid(100, f"Param {where} must be an array.")
    if not 1 <= len(value) <= most:
        raise Invalid(131009, f"Param {where} must have between 1 and {most} elements.")
    return value


def _unique(values: list[str], where: str) -> None:
    if len(set(values)) != len(values):
        raise Invalid(131009, f"Param {where} must be unique.")


def _header(interactive: dict[str, Any], kind: str) -> None:
    header = json_object(interactive["header"], "interactive['header']")
    header_type = string(header, "type", "interactive['header']['type']")
    allowed = ("text",) if kind == "list" else ("text", "image", "video", "document")
    if header_type not in allowed:
        raise Invalid(131009, f"Param interactive['header']['type'] must be one of {{{', '.join(allowed)}}}.")
    if header_type == "text":
        _text(header, "text", "interactive['header']['text']", 60)
        return
    media = json_object(required(header, header_type, f"interactive['header']['{header_type}']"), header_type)
    if ("link" in media) == ("id" in media):
        raise Invalid(131009, f"Param interactive['header']['{header_type}'] must have a 'link' or an 'id'.")


def validate_interactive(content: Any, kind: str) -> None:
    interactive = json_object(content, kind)
    interactive_type = string(interactive, "type", "interactive['type']")
    if interactive_type not in _TYPES:
        raise Invalid(100, f"Param interactive['type'] must be one of {{{', '.join(_TYPES)}}}.")
    if interactive_type == "location_request_message" and (
        "header" in interactive or "footer" in interactive
    ):
        raise Invalid(
            100, "Param interactive['header'] and ['footer'] are not supported for location requests."
        )
    if "header" in interactive:
        _header(interactive, interactive_type)
    if "footer" in interactive:
        _text(
            json_object(interactive["footer"], "interactive['footer']"),
            "text",
            "interactive['footer']['text']",
            60,
        )
    body = json_object(required(interactive, "body", "interactive['body']"), "interactive['body']")
    _text(body, "text", "interactive['body']['text']", 1024)
    action = json_object(required(interactive, "action", "interactive['action']"), "interactive['action']")
    if interactive_type == "button":
        buttons = _array(action, "buttons", "interactive['action']['buttons']", 3)
        ids, titles = [], []
        for index, item in enumerate(buttons):
            where = f"interactive['action']['buttons'][{index}]"
            button = json_object(item, where)
            if button.get("type") != "reply":
                raise Invalid(100, f"Param {where}['type'] must be 'reply'.")
            reply = json_object(required(button, "reply", f"{where}['reply']"), f"{where}['reply']")
            ids.append(_text(reply, "id", f"{where}['reply']['id']", 256))
            titles.append(_text(reply, "title", f"{where}['reply']['title']", 20))
        _unique(ids, "interactive['action']['buttons'][]['reply']['id']")
        _unique(titles, "interactive['action']['buttons'][]['reply']['title']")
    elif interactive_type == "list":
        _text(action, "button", "interactive['action']['button']", 20)
        sections = _array(action, "sections", "interactive['action']['sections']", 10)
        row_ids: list[str] = []
        for index, item in enumerate(sections):
            where = f"interactive['action']['sections'][{index}]"
            section = json_object(item, where)
            _text(section, "title", f"{where}['title']", 24, optional=len(sections) == 1)
            for number, row in enumerate(_array(section, "rows", f"{where}['rows']", 10)):
                row_where = f"{where}['rows'][{number}]"
                row_object = json_object(row, row_where)
                row_ids.append(_text(row_object, "id", f"{row_where}['id']", 200))
                _text(row_object, "title", f"{row_where}['title']", 24)
                _text(row_object, "description", f"{row_where}['description']", 72, optional=True)
        if len(row_ids) > 10:
            raise Invalid(
                131009, "Param interactive['action']['sections'] must have at most 10 rows in total."
            )
        _unique(row_ids, "interactive['action']['sections'][]['rows'][]['id']")
    elif interactive_type == "cta_url":
        if action.get("name") != "cta_url":
            raise Invalid(100, "Param interactive['action']['name'] must be 'cta_url'.")
        parameters = json_object(
            required(action, "parameters", "interactive['action']['parameters']"),
            "interactive['action']['parameters']",
        )
        _text(parameters, "display_text", "interactive['action']['parameters']['display_text']", 20)
        url = string(parameters, "url", "interactive['action']['parameters']['url']")
        if not url.startswith(("https://", "http://")):
            raise Invalid(131009, "Param interactive['action']['parameters']['url'] must be a URL.")
    elif action.get("name") != "send_location":
        raise Invalid(100, "Param interactive['action']['name'] must be 'send_location'.")
