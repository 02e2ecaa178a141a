from typing import Literal

SendRequestType = Literal[
    "audio",
    "contacts",
    "document",
    "image",
    "interactive",
    "location",
    "reaction",
    "sticker",
    "template",
    "text",
    "video",
]

SEND_REQUEST_TYPE_VALUES: set[SendRequestType] = {
    "audio",
    "contacts",
    "document",
    "image",
    "interactive",
    "location",
    "reaction",
    "sticker",
    "template",
    "text",
    "video",
}


def check_send_request_type(value: str) -> SendRequestType:
    if value in SEND_REQUEST_TYPE_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {SEND_REQUEST_TYPE_VALUES!r}")
