from typing import Literal

SendRequestInteractiveHeaderType = Literal["document", "image", "text", "video"]

SEND_REQUEST_INTERACTIVE_HEADER_TYPE_VALUES: set[SendRequestInteractiveHeaderType] = {
    "document",
    "image",
    "text",
    "video",
}


def check_send_request_interactive_header_type(value: str) -> SendRequestInteractiveHeaderType:
    if value in SEND_REQUEST_INTERACTIVE_HEADER_TYPE_VALUES:
        return value
    raise TypeError(
        f"Unexpected value {value!r}. Expected one of {SEND_REQUEST_INTERACTIVE_HEADER_TYPE_VALUES!r}"
    )
