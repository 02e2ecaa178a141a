"""Validation of the send body: the exact command built from valid bodies, and the exact
error (status, code, field) for each invalid one."""

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from services.gateway.errors import ApiError
from services.gateway.list_params import (
    InboxFilter,
    MessageSearch,
    WindowFilter,
    parse_if_match,
    parse_inbox_filter,
    parse_inbox_patch,
    parse_message_search,
    parse_window_filter,
)
from services.gateway.validation import SendCommand, parse_json_object, parse_send

TO = "15551234567"
CONVERSATION_ID = "0b7c3f7e-4a7e-4d0f-9c39-5d2f8f1c2a10"


def send(body: dict[str, Any]) -> SendCommand:
    return parse_send(orjson.dumps(body))


def content(command: SendCommand) -> Any:
    return orjson.loads(command.body_json)


def rejected(body: dict[str, Any] | bytes) -> ApiError:
    raw = body if isinstance(body, bytes) else orjson.dumps(body)
    with pytest.raises(ApiError) as caught:
        parse_send(raw)
    return caught.value


def assert_invalid(body: dict[str, Any] | bytes, field: str) -> ApiError:
    error = rejected(body)
    assert (error.status, error.code) == (400, "invalid_request")
    assert error.details == {"field": field}
    return error


def text_to(body: str = "hi", **extra: Any) -> dict[str, Any]:
    return {"to": TO, "type": "text", "text": {"body": body}, **extra}


# --- valid bodies ----------------------------------------------------------------------


def test_text_to_a_phone_number() -> None:
    command = send({"to": TO, "type": "text", "text": {"body": "hello"}})

    assert command == SendCommand(
        account_id="",
        conversation_id="",
        to=TO,
        type="text",
        body_json=command.body_json,
        reply_to="",
    )
    assert content(command) == {"body": "hello", "preview_url": False}


def test_text_with_preview_url_true() -> None:
    command = send({"to": TO, "type": "text", "text": {"body": "see https://x.org", "preview_url": True}})

    assert content(command) == {"body": "see https://x.org", "preview_url": True}


def test_text_to_a_conversation_with_account_id() -> None:
    command = send(
        {
            "account_id": "acc-1",
            "conversation_id": CONVERSATION_ID,
            "type": "text",
            "text": {"body": "hi"},
        }
    )

    assert command.account_id == "acc-1"
    assert command.conversation_id == CONVERSATION_ID
    assert command.to == ""
    assert command.type == "text"
    assert command.reply_to == ""
    assert content(command) == {"body": "hi", "preview_url": False}


def test_leading_plus_is_stripped_from_to() -> None:
    assert send(text_to() | {"to": "+15551234567"}).to == "15551234567"


@pytest.mark.parametrize("to", ["12345", "1" * 15, "+" + "9" * 15, "+12345"])
def test_to_length_bounds_accepted(to: str) -> None:
    assert send(text_to() | {"to": to}).to == to.removeprefix("+")


def test_text_of_exactly_4096_characters_is_accepted() -> None:
    body = "a" * 4096

    assert content(send(text_to(body))) == {"body": body, "preview_url": False}


def test_text_length_counts_characters_not_bytes() -> None:
    body = "é" * 4096  # 8192 bytes in UTF-8, 4096 characters

    assert content(send(text_to(body)))["body"] == body


def test_template_with_components() -> None:
    components = [
        {"type": "header", "parameters": [{"type": "image", "image": {"link": "https://x.org/a.png"}}]},
        {"type": "body", "parameters": [{"type": "text", "text": "Ada"}, {"type": "text", "text": "42"}]},
        {"type": "button", "sub_type": "quick_reply", "index": "0", "parameters": [{"type": "payload"}]},
    ]
    command = send(
        {
            "to": TO,
            "type": "template",
            "template": {"name": "order_update_2", "language": {"code": "en_US"}, "components": components},
        }
    )

    assert command.type == "template"
    assert command.to == TO
    assert content(command) == {
        "name": "order_update_2",
        "language": {"code": "en_US"},
        "components": components,
    }


def test_template_without_components_has_no_components_key() -> None:
    command = send({"to": TO, "type": "template", "template": {"name": "hello", "language": {"code": "pt"}}})

    assert content(command) == {"name": "hello", "language": {"code": "pt"}}


def test_template_with_empty_components_keeps_the_empty_list() -> None:
    command = send(
        {
            "to": TO,
            "type": "template",
            "template": {"name": "hello", "language": {"code": "en"}, "components": []},
        }
    )

    assert content(command) == {"name": "hello", "language": {"code": "en"}, "components": []}


def test_template_with_exactly_100_parameters_and_10_components_is_accepted() -> None:
    components = [
        {"type": "body", "parameters": [{"type": "text", "text": str(i)} for i in range(10)]}
        for _ in range(10)
    ]
    command = send(
        {
            "to": TO,
            "type": "template",
            "template": {"name": "t", "language": {"code": "en"}, "components": components},
        }
    )

    assert content(command)["components"] == components


def test_content_over_32_kib_is_refused_and_the_longest_text_fits() -> None:
    parameters = [{"type": "text", "text": "x" * 400} for _ in range(100)]  # 40 KB of parameters
    error = rejected(
        {
            "to": TO,
            "type": "template",
            "template": {
                "name": "t",
                "language": {"code": "en"},
                "components": [{"type": "body", "parameters": parameters}],
            },
        }
    )
    assert (error.status, error.code) == (422, "content_too_large")
    assert error.details == {"field": "template", "max_bytes": 32 * 1024}
    # 4096 characters of four UTF-8 bytes each: the largest text there is.
    assert len(send(text_to("\U0001f600" * 4096)).body_json) > 16 * 1024


def test_image_by_link() -> None:
    command = send({"to": TO, "type": "image", "image": {"link": "https://cdn.example.com/cat.jpg"}})

    assert command.type == "image"
    assert content(command) == {"link": "https://cdn.example.com/cat.jpg"}


def test_image_by_http_link() -> None:
    command = send({"to": TO, "type": "image", "image": {"link": "http://cdn.example.com/cat.jpg"}})

    assert content(command) == {"link": "http://cdn.example.com/cat.jpg"}


def test_image_by_id_with_caption() -> None:
    command = send({"to": TO, "type": "image", "image": {"id": "1234567890", "caption": "a cat"}})

    assert content(command) == {"id": "1234567890", "caption": "a cat"}


def test_image_with_empty_caption_omits_it() -> None:
    command = send({"to": TO, "type": "image", "image": {"id": "1234567890", "caption": ""}})

    assert content(command) == {"id": "1234567890"}


def test_image_caption_of_exactly_1024_characters_is_accepted() -> None:
    command = send({"to": TO, "type": "image", "image": {"id": "1", "caption": "c" * 1024}})

    assert content(command) == {"id": "1", "caption": "c" * 1024}


def test_document_with_filename_and_caption() -> None:
    command = send(
        {
            "to": TO,
            "type": "document",
            "document": {"link": "https://x.org/r.pdf", "filename": "report.pdf", "caption": "Q3"},
        }
    )

    assert command.type == "document"
    assert content(command) == {"link": "https://x.org/r.pdf", "caption": "Q3", "filename": "report.pdf"}


def test_audio_by_id() -> None:
    command = send({"to": TO, "type": "audio", "audio": {"id": "audio-1"}})

    assert command.type == "audio"
    assert content(command) == {"id": "audio-1"}


def test_video_by_link_with_caption() -> None:
    command = send({"to": TO, "type": "video", "video": {"link": "https://x.org/v.mp4", "caption": "clip"}})

    assert command.type == "video"
    assert content(command) == {"link": "https://x.org/v.mp4", "caption": "clip"}


def test_sticker_by_id() -> None:
    command = send({"to": TO, "type": "sticker", "sticker": {"id": "st-9"}})

    assert command.type == "sticker"
    assert content(command) == {"id": "st-9"}


def test_filename_is_ignored_for_non_documents() -> None:
    command = send({"to": TO, "type": "image", "image": {"id": "1", "filename": "x.png"}})

    assert content(command) == {"id": "1"}


def test_reaction_with_emoji() -> None:
    command = send({"to": TO, "type": "reaction", "reaction": {"message_id": "wamid.ABC", "emoji": "👍"}})

    assert command.type == "reaction"
    assert content(command) == {"message_id": "wamid.ABC", "emoji": "👍"}


def test_reaction_with_empty_emoji_removes_the_reaction() -> None:
    command = send({"to": TO, "type": "reaction", "reaction": {"message_id": "wamid.ABC", "emoji": ""}})

    assert content(command) == {"message_id": "wamid.ABC", "emoji": ""}


def test_reply_context_sets_reply_to() -> None:
    command = send(text_to("re") | {"context": {"message_id": "wamid.ORIGINAL"}})

    assert command.reply_to == "wamid.ORIGINAL"
    assert content(command) == {"body": "re", "preview_url": False}


def test_unknown_extra_fields_are_ignored_and_not_forwarded() -> None:
    command = send(
        {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": TO,
            "type": "text",
            "text": {"body": "hi", "unknown": 1},
            "image": {"link": "https://x.org/ignored.jpg"},
            "extra": {"nested": True},
        }
    )

    assert command == SendCommand("", "", TO, "text", b'{"body":"hi","preview_url":false}', "")


def test_unknown_extra_fields_in_template_are_ignored_and_not_forwarded() -> None:
    command = send(
        {
            "to": TO,
            "type": "template",
            "template": {
                "name": "t",
                "namespace": "ns",
                "language": {"code": "en", "policy": "deterministic"},
            },
        }
    )

    assert content(command) == {"name": "t", "language": {"code": "en"}}


# --- parse_json_object -----------------------------------------------------------------


def test_parse_json_object_returns_the_object() -> None:
    assert parse_json_object(b'{"a": [1, 2], "b": null}') == {"a": [1, 2], "b": None}


@pytest.mark.parametrize("raw", [b"{not json", b"", b'{"type": "text",}', b'{"a": "\\ud800"}'], ids=str)
def test_malformed_json(raw: bytes) -> None:
    with pytest.raises(ApiError) as caught:
        parse_json_object(raw)

    assert (caught.value.status, caught.value.code) == (400, "malformed_json")
    assert caught.value.details is None
    assert caught.value.message.startswith("request body is not valid UTF-8 JSON: ")


def test_invalid_utf8_is_malformed_json() -> None:
    error = rejected(b'{"to": "15551234567", "type": "text", "text": {"body": "\xff\xfe"}}')

    assert (error.status, error.code) == (400, "malformed_json")
    assert error.details is None


@pytest.mark.parametrize("raw", [b"[]", b'[{"type": "text"}]', b'"text"', b"null", b"42", b"true"])
def test_non_object_json_is_malformed(raw: bytes) -> None:
    error = rejected(raw)

    assert (error.status, error.code) == (400, "malformed_json")
    assert error.message == "request body must be a JSON object"
    assert error.details is None


# --- type, recipient -------------------------------------------------------------------


def test_missing_type() -> None:
    error = assert_invalid({"to": TO, "text": {"body": "hi"}}, "type")

    assert error.message == "type is required"


def test_null_type_is_missing() -> None:
    assert_invalid({"to": TO, "type": None, "text": {"body": "hi"}}, "type")


def test_empty_type() -> None:
    error = assert_invalid({"to": TO, "type": "", "text": {"body": "hi"}}, "type")

    assert error.message.startswith("type must be one of text, template, ")


def test_type_not_a_string() -> None:
    error = assert_invalid({"to": TO, "type": 1, "text": {"body": "hi"}}, "type")

    assert error.message == "type must be a string"


@pytest.mark.parametrize("message_type", ["TEXT", "Interactive", "contact"])
def test_unknown_type(message_type: str) -> None:
    error = assert_invalid({"to": TO, "type": message_type}, "type")

    assert error.message == (
        "type must be one of text, template, image, document, audio, video, sticker, reaction, location, "
        "contacts, interactive"
    )


CARD = {
    "name": {"formatted_name": "Ada Lovelace", "first_name": "Ada", "nickname": "dropped"},
    "phones": [{"phone": "+44 20 7946 0000", "type": "WORK", "wa_id": "442079460000"}],
    "emails": [{"email": "ada@example.com", "type": "WORK"}],
    "addresses": [{"street": "12 St James's Square", "city": "London", "country_code": "GB"}],
    "org": {"company": "Analytical Engines", "title": "Countess"},
    "urls": [{"url": "https://example.com"}],
    "birthday": "1815-12-10",
    "extra": "dropped",
}


def test_contacts_keep_the_parts_whatsapp_shows() -> None:
    command = parse_send(orjson.dumps({"to": TO, "type": "contacts", "contacts": [CARD]}))
    [card] = orjson.loads(command.body_json)
    assert card["name"] == {"formatted_name": "Ada Lovelace", "first_name": "Ada"}
    assert card["phones"] == CARD["phones"] and card["org"] == CARD["org"]
    assert card["birthday"] == "1815-12-10" and "extra" not in card


@pytest.mark.parametrize(
    ("contacts", "field"),
    [
        ([], "contacts"),
        ({"name": {"formatted_name": "A"}}, "contacts"),
        ([{"name": {"formatted_name": "A"}}] * 258, "contacts"),
        ([{"phones": []}], "contacts[0].name"),
        ([{"name": {"first_name": "A"}}], "contacts[0].name.formatted_name"),
        ([{"name": {"formatted_name": "A"}, "birthday": "10/12/1815"}], "contacts[0].birthday"),
        ([{"name": {"formatted_name": "A"}, "phones": "+1555"}], "contacts[0].phones"),
        ([{"name": {"formatted_name": "A"}, "emails": [{"email": 7}]}], "contacts[0].emails[0].email"),
    ],
)
def test_contacts_outside_what_whatsapp_takes(contacts: Any, field: str) -> None:
    assert_invalid({"to": TO, "type": "contacts", "contacts": contacts}, field)


def test_a_location_keeps_what_whatsapp_takes() -> None:
    location = {"latitude": -33.8568, "longitude": 151.2153, "name": "Opera House", "address": "Sydney"}
    command = parse_send(orjson.dumps({"to": TO, "type": "location", "location": {**location, "zoom": 3}}))
    assert orjson.loads(command.body_json) == location
    command = parse_send(
        orjson.dumps({"to": TO, "type": "location", "location": {"latitude": 0, "longitude": 0}})
    )
    assert orjson.loads(command.body_json) == {"latitude": 0, "longitude": 0}


@pytest.mark.parametrize(
    ("location", "field"),
    [
        ({"longitude": 1}, "location.latitude"),
        ({"latitude": 90.5, "longitude": 1}, "location.latitude"),
        ({"latitude": 1, "longitude": -181}, "location.longitude"),
        ({"latitude": "52.5", "longitude": 1}, "location.latitude"),
        ({"latitude": True, "longitude": 1}, "location.latitude"),
        ({"latitude": 1, "longitude": 1, "name": 7}, "location.name"),
        ({"latitude": 1, "longitude": 1, "address": "x" * 1025}, "location.address"),
    ],
)
def test_a_location_outside_what_whatsapp_takes(location: dict[str, Any], field: str) -> None:
    assert_invalid({"to": TO, "type": "location", "location": location}, field)


def test_both_conversation_id_and_to() -> None:
    error = assert_invalid(text_to() | {"conversation_id": CONVERSATION_ID}, "conversation_id")

    assert error.message == "give exactly one of conversation_id or to"


def test_neither_conversation_id_nor_to() -> None:
    assert_invalid({"type": "text", "text": {"body": "hi"}}, "conversation_id")


def test_empty_conversation_id_and_empty_to_is_neither() -> None:
    assert_invalid(
        {"conversation_id": "", "to": "", "type": "text", "text": {"body": "hi"}}, "conversation_id"
    )


@pytest.mark.parametrize(
    "to",
    ["1234", "1" * 16, "+", "++15551234567", "1555 123 4567", "1555-1234567", "abcdefg", "15551234567+"],
)
def test_bad_to(to: str) -> None:
    assert_invalid(text_to() | {"to": to}, "to")


def test_to_given_as_a_number() -> None:
    error = assert_invalid(text_to() | {"to": 15551234567}, "to")

    assert error.message == "to must be a string"


def test_to_longer_than_a_bsuid_is_rejected_as_too_long() -> None:
    error = assert_invalid(text_to() | {"to": "US." + "1" * 133}, "to")

    assert error.message == "to must be at most 135 characters"


@pytest.mark.parametrize("to", ["US.13491208655302741918", "US.ENT.11815799212886844830", "BR." + "a1" * 64])
def test_a_business_scoped_user_id_is_a_recipient(to: str) -> None:
    assert send(text_to() | {"to": to}).to == to


@pytest.mark.parametrize("to", ["us.1349", "US.", "USA.1349", "US.13-49", "US.ENT.", "US." + "1" * 129])
def test_bad_business_scoped_user_ids(to: str) -> None:
    assert_invalid(text_to() | {"to": to}, "to")


def test_conversation_id_longer_than_64_characters() -> None:
    assert_invalid({"conversation_id": "c" * 65, "type": "text", "text": {"body": "hi"}}, "conversation_id")


def test_account_id_not_a_string() -> None:
    assert_invalid(text_to() | {"account_id": 7}, "account_id")


def test_to_with_trailing_newline_is_rejected() -> None:
    assert_invalid(text_to() | {"to": TO + "\n"}, "to")


# --- text ------------------------------------------------------------------------------


@pytest.mark.parametrize("text", [None, "hi", ["hi"], 5], ids=["missing", "string", "list", "number"])
def test_text_object_missing_or_not_an_object(text: Any) -> None:
    body: dict[str, Any] = {"to": TO, "type": "text"}
    if text is not None:
        body["text"] = text
    error = assert_invalid(body, "text")

    assert error.message == ("text is required" if text is None else "text must be an object")


def test_text_body_missing() -> None:
    error = assert_invalid({"to": TO, "type": "text", "text": {}}, "text.body")

    assert error.message == "text.body is required"


def test_text_body_empty() -> None:
    error = assert_invalid(text_to(""), "text.body")

    assert error.message == "text.body must not be empty"


@pytest.mark.parametrize("body", [5, True, ["hi"], {"a": 1}])
def test_text_body_not_a_string(body: Any) -> None:
    error = assert_invalid({"to": TO, "type": "text", "text": {"body": body}}, "text.body")

    assert error.message == "text.body must be a string"


def test_text_of_4097_characters_is_too_long() -> None:
    error = rejected(text_to("a" * 4097))

    assert (error.status, error.code) == (422, "text_too_long")
    assert error.details == {"field": "text.body", "max_length": 4096}
    assert error.message == "text.body is 4097 characters; WhatsApp allows at most 4096"


@pytest.mark.parametrize("preview_url", ["true", "false", "1", 1, 0, None, [True]])
def test_preview_url_must_be_a_boolean(preview_url: Any) -> None:
    body = {"to": TO, "type": "text", "text": {"body": "hi", "preview_url": preview_url}}
    error = assert_invalid(body, "text.preview_url")

    assert error.message == "text.preview_url must be a boolean"


# --- template --------------------------------------------------------------------------


def template_to(template: dict[str, Any]) -> dict[str, Any]:
    return {"to": TO, "type": "template", "template": template}


def test_template_object_missing() -> None:
    assert_invalid({"to": TO, "type": "template"}, "template")


@pytest.mark.parametrize("name", ["Hello", "hello-world", "hello world", "héllo", "a" * 513])
def test_template_bad_name(name: str) -> None:
    error = assert_invalid(template_to({"name": name, "language": {"code": "en"}}), "template.name")

    assert error.message == "template.name must be lowercase letters, digits and underscores"


def test_template_name_of_512_characters_is_accepted() -> None:
    command = send(template_to({"name": "a" * 512, "language": {"code": "en"}}))

    assert content(command)["name"] == "a" * 512


def test_template_name_missing() -> None:
    assert_invalid(template_to({"language": {"code": "en"}}), "template.name")


def test_template_missing_language() -> None:
    error = assert_invalid(template_to({"name": "hello"}), "template.language")

    assert error.message == "template.language is required"


def test_template_language_as_a_string() -> None:
    assert_invalid(template_to({"name": "hello", "language": "en"}), "template.language")


def test_template_missing_language_code() -> None:
    assert_invalid(template_to({"name": "hello", "language": {}}), "template.language.code")


@pytest.mark.parametrize("code", ["e", "english", "en-US", "en_", "en_USAAA", "12"])
def test_template_bad_language_code(code: str) -> None:
    error = assert_invalid(
        template_to({"name": "hello", "language": {"code": code}}), "template.language.code"
    )

    assert error.message == "template.language.code must be a language code such as en or en_US"


def test_template_name_with_trailing_newline_is_rejected() -> None:
    assert_invalid(template_to({"name": "hello\n", "language": {"code": "en"}}), "template.name")


def test_template_language_code_with_trailing_newline_is_rejected() -> None:
    assert_invalid(template_to({"name": "hello", "language": {"code": "en\n"}}), "template.language.code")


@pytest.mark.parametrize("components", [{"type": "body"}, "body", 3])
def test_template_components_not_a_list(components: Any) -> None:
    body = template_to({"name": "t", "language": {"code": "en"}, "components": components})
    assert_invalid(body, "template.components")


def test_template_too_many_components() -> None:
    components = [{"type": "body"} for _ in range(11)]
    error = assert_invalid(
        template_to({"name": "t", "language": {"code": "en"}, "components": components}),
        "template.components",
    )

    assert error.message == "template.components must have at most 10 items"


def test_template_component_not_an_object() -> None:
    components = [{"type": "body"}, "header"]
    assert_invalid(
        template_to({"name": "t", "language": {"code": "en"}, "components": components}),
        "template.components[1]",
    )


def test_template_component_without_type() -> None:
    components = [{"parameters": []}]
    assert_invalid(
        template_to({"name": "t", "language": {"code": "en"}, "components": components}),
        "template.components[0].type",
    )


def test_template_component_type_too_long() -> None:
    components = [{"type": "x" * 33}]
    assert_invalid(
        template_to({"name": "t", "language": {"code": "en"}, "components": components}),
        "template.components[0].type",
    )


@pytest.mark.parametrize(
    ("parameters", "field", "message"),
    [
        ({"type": "text"}, "template.components[1].parameters", "must be an array"),
        ("x", "template.components[1].parameters", "must be an array"),
        ([{"type": "text"}, "x"], "template.components[1].parameters[1]", "must be an object"),
    ],
)
def test_template_component_parameters_not_a_list_of_objects(
    parameters: Any, field: str, message: str
) -> None:
    components = [{"type": "header"}, {"type": "body", "parameters": parameters}]
    error = assert_invalid(
        template_to({"name": "t", "language": {"code": "en"}, "components": components}), field
    )

    assert error.message == f"{field} {message}"


def test_template_more_than_100_parameters_in_all() -> None:
    components = [
        {"type": "body", "parameters": [{"type": "text", "text": "p"} for _ in range(50)]},
        {"type": "header", "parameters": [{"type": "text", "text": "p"} for _ in range(51)]},
    ]
    error = assert_invalid(
        template_to({"name": "t", "language": {"code": "en"}, "components": components}),
        "template.components",
    )

    assert error.message == "templates take at most 100 parameters in all"


def test_deeply_nested_template_parameter_is_a_client_error() -> None:
    # Built as text: orjson itself refuses to serialize this deep.
    nested = '{"a": ' * 300 + "1" + "}" * 300
    raw = (
        '{"to": "15551234567", "type": "template", "template": {"name": "t", "language": {"code": "en"}, '
        '"components": [{"type": "body", "parameters": [' + nested + "]}]}}"
    ).encode()

    error = rejected(raw)

    assert error.status == 400
    assert error.code in ("invalid_request", "malformed_json")


# --- media -----------------------------------------------------------------------------


@pytest.mark.parametrize("media_type", ["image", "document", "audio", "video", "sticker"])
def test_media_object_missing(media_type: str) -> None:
    assert_invalid({"to": TO, "type": media_type}, media_type)


@pytest.mark.parametrize("media_type", ["image", "document", "audio", "video", "sticker"])
def test_media_with_both_link_and_id(media_type: str) -> None:
    body = {"to": TO, "type": media_type, media_type: {"link": "https://x.org/f", "id": "1"}}
    error = assert_invalid(body, media_type)

    assert error.message == f"{media_type} needs exactly one of link, id or media_id"


MEDIA_ID = "3f0c9a52-1d2e-4c5b-8a6f-0123456789ab"


@pytest.mark.parametrize("other", [{"link": "https://x.org/f"}, {"id": "1"}])
def test_media_id_goes_alone(other: dict[str, str]) -> None:
    assert_invalid({"to": TO, "type": "image", "image": {"media_id": MEDIA_ID, **other}}, "image")


def test_a_media_id_is_pigeons_uuid() -> None:
    assert_invalid({"to": TO, "type": "image", "image": {"media_id": "1234"}}, "image.media_id")
    command = parse_send(orjson.dumps({"to": TO, "type": "image", "image": {"media_id": MEDIA_ID.upper()}}))
    assert orjson.loads(command.body_json) == {"media_id": MEDIA_ID}


@pytest.mark.parametrize("media", [{}, {"caption": "only a caption"}])
def test_media_with_neither_link_nor_id(media: dict[str, Any]) -> None:
    assert_invalid({"to": TO, "type": "image", "image": media}, "image")


def test_an_empty_media_reference_is_invalid_not_absent() -> None:
    error = assert_invalid({"to": TO, "type": "image", "image": {"link": "", "id": "1"}}, "image.link")

    assert error.message == "image.link must be an http(s) URL"


@pytest.mark.parametrize(
    "link", ["ftp://x.org/a.jpg", "x.org/a.jpg", "file:///etc/passwd", "HTTPS://x.org/a.jpg", "//x.org/a"]
)
def test_media_link_must_be_http(link: str) -> None:
    error = assert_invalid({"to": TO, "type": "video", "video": {"link": link}}, "video.link")

    assert error.message == "video.link must be an http(s) URL"


def test_media_link_not_a_string() -> None:
    assert_invalid({"to": TO, "type": "image", "image": {"link": 1}}, "image.link")


def test_media_link_too_long() -> None:
    link = "https://x.org/" + "a" * (2049 - len("https://x.org/"))
    assert_invalid({"to": TO, "type": "image", "image": {"link": link}}, "image.link")


def test_media_link_of_2048_characters_is_accepted() -> None:
    link = "https://x.org/" + "a" * (2048 - len("https://x.org/"))

    assert content(send({"to": TO, "type": "image", "image": {"link": link}})) == {"link": link}


def test_media_id_too_long() -> None:
    assert_invalid({"to": TO, "type": "image", "image": {"id": "1" * 257}}, "image.id")


@pytest.mark.parametrize("media_type", ["audio", "sticker"])
def test_caption_on_media_without_captions(media_type: str) -> None:
    body = {"to": TO, "type": media_type, media_type: {"id": "1", "caption": "no"}}
    error = assert_invalid(body, f"{media_type}.caption")

    assert error.message == f"{media_type} messages take no caption"


def test_empty_caption_on_audio_is_still_rejected() -> None:
    assert_invalid({"to": TO, "type": "audio", "audio": {"id": "1", "caption": ""}}, "audio.caption")


def test_caption_too_long() -> None:
    body = {"to": TO, "type": "image", "image": {"id": "1", "caption": "c" * 1025}}
    error = assert_invalid(body, "image.caption")

    assert error.message == "image.caption must be at most 1024 characters"


def test_caption_not_a_string() -> None:
    assert_invalid({"to": TO, "type": "document", "document": {"id": "1", "caption": 3}}, "document.caption")


def test_document_filename_too_long() -> None:
    body = {"to": TO, "type": "document", "document": {"id": "1", "filename": "f" * 241}}
    assert_invalid(body, "document.filename")


# --- reaction, context -----------------------------------------------------------------


def test_reaction_object_missing() -> None:
    assert_invalid({"to": TO, "type": "reaction"}, "reaction")


def test_reaction_without_message_id() -> None:
    error = assert_invalid({"to": TO, "type": "reaction", "reaction": {"emoji": "👍"}}, "reaction.message_id")

    assert error.message == "reaction.message_id is required"


def test_reaction_with_empty_message_id() -> None:
    body = {"to": TO, "type": "reaction", "reaction": {"message_id": "", "emoji": "👍"}}
    assert_invalid(body, "reaction.message_id")


def test_reaction_emoji_not_a_string() -> None:
    body = {"to": TO, "type": "reaction", "reaction": {"message_id": "wamid.A", "emoji": 1}}
    assert_invalid(body, "reaction.emoji")


def test_reaction_emoji_too_long() -> None:
    body = {"to": TO, "type": "reaction", "reaction": {"message_id": "wamid.A", "emoji": "x" * 17}}
    assert_invalid(body, "reaction.emoji")


def test_context_without_message_id() -> None:
    error = assert_invalid(text_to() | {"context": {}}, "context.message_id")

    assert error.message == "context.message_id is required"


def test_context_with_empty_message_id() -> None:
    assert_invalid(text_to() | {"context": {"message_id": ""}}, "context.message_id")


@pytest.mark.parametrize("context", ["wamid.A", None, ["wamid.A"]])
def test_context_not_an_object(context: Any) -> None:
    assert_invalid(text_to() | {"context": context}, "context")


def test_context_message_id_too_long() -> None:
    assert_invalid(text_to() | {"context": {"message_id": "m" * 257}}, "context.message_id")


def test_content_is_checked_before_context() -> None:
    assert_invalid({"to": TO, "type": "text", "text": {}, "context": {}}, "text.body")


def test_the_shape_is_checked_before_the_recipient() -> None:
    # The decoder checks each field's shape as it reads it; the one-target rule comes after.
    assert_invalid({"type": "text", "text": {}}, "text.body")
    assert_invalid({"type": "text", "text": {"body": "hi"}}, "conversation_id")


# --- GET /conversations' window filter -------------------------------------------------


def test_no_window_parameters_is_no_filter() -> None:
    assert parse_window_filter({}) == WindowFilter(None, None, None)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2026-11-25T14:03:07Z", datetime(2026, 11, 25, 14, 3, 7, tzinfo=UTC)),
        ("2026-11-25t14:03:07.5z", datetime(2026, 11, 25, 14, 3, 7, 500000, tzinfo=UTC)),
        ("2026-11-25T19:33:07.123456789+05:30", datetime(2026, 11, 25, 14, 3, 7, 123456, tzinfo=UTC)),
        ("2026-11-25T10:03:07-04:00", datetime(2026, 11, 25, 14, 3, 7, tzinfo=UTC)),
    ],
)
def test_window_times_are_rfc_3339_read_in_utc(raw: str, expected: datetime) -> None:
    window = parse_window_filter({"can_send_free_form": "true", "window_expires_after": raw})
    assert window == WindowFilter(True, expected, None)
    assert window.window_expires_after is not None and window.window_expires_after.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "2026-11-25",  # no time
        "2026-11-25T14:03:07",  # no offset
        "2026-11-25 14:03:07Z",  # a space: what an unencoded "+" in a query string reads as
        "2026-11-25T14:03:07 05:30",
        "20261125T140307Z",  # ISO 8601's basic format, not RFC 3339
        "2026-02-30T14:03:07Z",  # no such day
        "2026-11-25T14:03:60Z",  # leap seconds are not kept
        "2026-11-25T14:03:07.1234567890Z",
        "0001-01-01T00:30:00+01:00",  # before year 1 in UTC
        "9999-12-31T23:30:00-01:00",  # after 9999 in UTC
        "2026-11-25T14:03:07Z\x00",
    ],
)
@pytest.mark.parametrize("field", ["window_expires_after", "window_expires_before"])
def test_a_window_time_that_is_not_rfc_3339_names_its_parameter(raw: str, field: str) -> None:
    with pytest.raises(ApiError) as caught:
        parse_window_filter({field: raw})
    assert (caught.value.status, caught.value.code, caught.value.details) == (
        400,
        "invalid_request",
        {"field": field},
    )


@pytest.mark.parametrize("raw", ["", "True", "1", "yes", "true "])
def test_can_send_free_form_is_true_or_false(raw: str) -> None:
    with pytest.raises(ApiError) as caught:
        parse_window_filter({"can_send_free_form": raw})
    assert caught.value.details == {"field": "can_send_free_form"}
    assert parse_window_filter({"can_send_free_form": "false"}).can_send_free_form is False


@pytest.mark.parametrize("before", ["2026-11-25T14:03:07Z", "2026-11-25T15:03:07+02:00"])
def test_an_empty_window_range_names_its_upper_bound(before: str) -> None:
    with pytest.raises(ApiError) as caught:
        parse_window_filter({"window_expires_after": "2026-11-25T14:03:07Z", "window_expires_before": before})
    assert caught.value.details == {"field": "window_expires_before"}


# The team inbox's requests: PATCH bodies, If-Match, GET /conversations' inbox filters.


def test_a_patch_body_gives_the_fields_it_names() -> None:
    patch = parse_inbox_patch(b'{"status": "snoozed", "snoozed_until": "2026-12-09T13:00:00+01:00"}')
    assert (patch.status, patch.snoozed_until, patch.assignee) == (
        "snoozed",
        datetime(2026, 12, 9, 12, 0, tzinfo=UTC),
        None,
    )
    assert parse_inbox_patch(b'{"assignee": null}').assignee == ""
    assert parse_inbox_patch(b'{"assignee": "agent-7"}').assignee == "agent-7"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"{}", "status"),
        (b'{"status": "closed"}', "status"),
        (b'{"unread_count": 0}', "unread_count"),
        (b'{"snoozed_until": 5}', "snoozed_until"),
        (b'{"snoozed_until": "tomorrow"}', "snoozed_until"),
        (b'{"assignee": ""}', "assignee"),
        (b'{"assignee": 7}', "assignee"),
        (b'{"assignee": "a\\u0000b"}', "assignee"),
    ],
)
def test_a_bad_patch_body_names_its_field(body: bytes, field: str) -> None:
    with pytest.raises(ApiError) as raised:
        parse_inbox_patch(body)
    assert (raised.value.status, raised.value.details) == (400, {"field": field})


def test_if_match_is_a_quoted_version_or_any() -> None:
    assert parse_if_match(None) is None
    assert parse_if_match("*") is None
    assert parse_if_match('"12"') == 12
    for bad in ("12", 'W/"12"', '"x"', '"1", "2"'):
        with pytest.raises(ApiError) as raised:
            parse_if_match(bad)
        assert raised.value.details == {"field": "If-Match"}


def test_the_inbox_filters_of_a_list() -> None:
    assert parse_inbox_filter({}) == InboxFilter(None, None, None, False, None)
    chosen = parse_inbox_filter(
        {"status": "open", "unassigned": "true", "label": "vip", "unread": "true", "q": "Ada"}
    )
    assert chosen == InboxFilter("open", "", "vip", True, "Ada")
    assert parse_inbox_filter({"assignee": "agent-7"}).assignee == "agent-7"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"status": "closed"}, "status"),
        ({"assignee": ""}, "assignee"),
        ({"assignee": "a", "unassigned": "true"}, "unassigned"),
        ({"unread": "yes"}, "unread"),
        ({"label": "a b"}, "label"),
        ({"q": ""}, "q"),
        ({"q": "x" * 101}, "q"),
        ({"q": "a\x00"}, "q"),
    ],
)
def test_a_bad_inbox_filter_names_its_parameter(query: dict[str, str], field: str) -> None:
    with pytest.raises(ApiError) as raised:
        parse_inbox_filter(query)
    assert (raised.value.status, raised.value.details) == (400, {"field": field})


def test_the_parameters_of_a_search() -> None:
    assert parse_message_search({"q": "refund"}) == MessageSearch("refund", "", None, None)
    conversation = "0b8a5a3e-5f55-4d5e-9a59-3f1c2b6f9d10"
    chosen = parse_message_search(
        {
            "q": '"late parcel" -refund',
            "conversation_id": conversation,
            "since": "2026-11-25T14:03:07Z",
            "until": "2026-11-25T20:03:07+05:30",
        }
    )
    moment = datetime(2026, 11, 25, 14, 3, 7, tzinfo=UTC)
    assert chosen == MessageSearch(
        '"late parcel" -refund', conversation, moment, moment + timedelta(minutes=30)
    )


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({}, "q"),
        ({"q": ""}, "q"),
        ({"q": "x" * 201}, "q"),
        ({"q": "a\x00"}, "q"),
        ({"q": "a", "conversation_id": ""}, "conversation_id"),
        ({"q": "a", "conversation_id": "not-a-uuid"}, "conversation_id"),
        ({"q": "a", "since": "yesterday"}, "since"),
        ({"q": "a", "until": "2026-11-25"}, "until"),
        ({"q": "a", "since": "2026-11-25T14:03:07Z", "until": "2026-11-25T14:03:07Z"}, "until"),
    ],
)
def test_a_bad_search_names_its_parameter(query: dict[str, str], field: str) -> None:
    with pytest.raises(ApiError) as raised:
        parse_message_search(query)
    assert (raised.value.status, raised.value.details) == (400, {"field": field})
