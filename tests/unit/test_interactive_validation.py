"""The gateway's checks of interactive messages against Meta's limits: what passes is the
Cloud API's shape with only the known fields; what does not is a 400 naming the field."""

from typing import Any

import pytest

from tests.fixtures.interactive_messages import (
    INTERACTIVE_BUTTONS,
    INTERACTIVE_CTA,
    INTERACTIVE_LIST,
    INTERACTIVE_LOCATION_REQUEST,
    with_value,
)
from tests.unit.test_validation import TO, assert_invalid, content, send


def interactive(message: dict[str, Any]) -> dict[str, Any]:
    return {"to": TO, "type": "interactive", "interactive": message}


@pytest.mark.parametrize(
    "message", [INTERACTIVE_BUTTONS, INTERACTIVE_LIST, INTERACTIVE_CTA, INTERACTIVE_LOCATION_REQUEST]
)
def test_each_type_within_the_limits_passes_as_it_came(message: dict[str, Any]) -> None:
    command = send(interactive(message))
    assert command.type == "interactive"
    assert content(command) == message


def test_unknown_fields_are_dropped() -> None:
    message = with_value(INTERACTIVE_BUTTONS, "action.buttons.0.reply.color", "red")
    message["extra"] = True
    assert content(send(interactive(message))) == INTERACTIVE_BUTTONS


@pytest.mark.parametrize(
    ("message", "field"),
    [
        (with_value(INTERACTIVE_BUTTONS, "type", "carousel"), "interactive.type"),
        (with_value(INTERACTIVE_BUTTONS, "body", None), "interactive.body"),
        (with_value(INTERACTIVE_BUTTONS, "body.text", "x" * 1025), "interactive.body.text"),
        (with_value(INTERACTIVE_BUTTONS, "footer.text", "x" * 61), "interactive.footer.text"),
        (
            with_value(INTERACTIVE_BUTTONS, "header", {"type": "text", "text": "x" * 61}),
            "interactive.header.text",
        ),
        (with_value(INTERACTIVE_BUTTONS, "header", {"type": "sticker"}), "interactive.header.type"),
        (
            with_value(INTERACTIVE_BUTTONS, "header.image", {"link": "ftp://a"}),
            "interactive.header.image.link",
        ),
        (
            with_value(INTERACTIVE_BUTTONS, "header.image", {"link": "https://a", "id": "1"}),
            "interactive.header.image",
        ),
        (
            with_value(INTERACTIVE_BUTTONS, "action.buttons", INTERACTIVE_BUTTONS["action"]["buttons"] * 2),
            "interactive.action.buttons",
        ),
        (with_value(INTERACTIVE_BUTTONS, "action.buttons", []), "interactive.action.buttons"),
        (
            with_value(INTERACTIVE_BUTTONS, "action.buttons.1.reply.id", "yes"),
            "interactive.action.buttons[].reply.id",
        ),
        (
            with_value(INTERACTIVE_BUTTONS, "action.buttons.1.reply.title", "Yes"),
            "interactive.action.buttons[].reply.title",
        ),
        (
            with_value(INTERACTIVE_BUTTONS, "action.buttons.0.reply.title", "x" * 21),
            "interactive.action.buttons[0].reply.title",
        ),
        (
            with_value(INTERACTIVE_BUTTONS, "action.buttons.0.reply.id", "x" * 257),
            "interactive.action.buttons[0].reply.id",
        ),
        (
            with_value(INTERACTIVE_LIST, "header", {"type": "image", "image": {"id": "1"}}),
            "interactive.header.type",
        ),
        (with_value(INTERACTIVE_LIST, "action.button", "x" * 21), "interactive.action.button"),
        (
            with_value(INTERACTIVE_LIST, "action.sections.1.title", None),
            "interactive.action.sections[1].title",
        ),
        (
            with_value(INTERACTIVE_LIST, "action.sections.0.title", "x" * 25),
            "interactive.action.sections[0].title",
        ),
        (
            with_value(INTERACTIVE_LIST, "action.sections.0.rows.0.title", "x" * 25),
            "interactive.action.sections[0].rows[0].title",
        ),
        (
            with_value(INTERACTIVE_LIST, "action.sections.0.rows.0.description", "x" * 73),
            "interactive.action.sections[0].rows[0].description",
        ),
        (
            with_value(INTERACTIVE_LIST, "action.sections.0.rows.0.id", "x" * 201),
            "interactive.action.sections[0].rows[0].id",
        ),
        (
            with_value(
                INTERACTIVE_LIST, "action.sections.0.rows", [{"id": f"r{n}", "title": "t"} for n in range(10)]
            ),
            "interactive.action.sections",
        ),
        (
            with_value(INTERACTIVE_LIST, "action.sections.1.rows.0.id", "tea"),
            "interactive.action.sections[].rows[].id",
        ),
        (
            with_value(INTERACTIVE_LIST, "action.sections", [{"rows": [{"id": "a", "title": "A"}]}] * 11),
            "interactive.action.sections",
        ),
        (with_value(INTERACTIVE_CTA, "action.name", "open"), "interactive.action.name"),
        (
            with_value(INTERACTIVE_CTA, "action.parameters.display_text", "x" * 21),
            "interactive.action.parameters.display_text",
        ),
        (
            with_value(INTERACTIVE_CTA, "action.parameters.url", "javascript:x"),
            "interactive.action.parameters.url",
        ),
        (with_value(INTERACTIVE_LOCATION_REQUEST, "footer", {"text": "no"}), "interactive.footer"),
        (with_value(INTERACTIVE_LOCATION_REQUEST, "action.name", "send_address"), "interactive.action.name"),
    ],
)
def test_past_a_limit_is_400_naming_the_field(message: dict[str, Any], field: str) -> None:
    assert_invalid(interactive(message), field)
