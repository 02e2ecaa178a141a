from typing import Literal

SendRequestInteractiveType = Literal["button", "cta_url", "list", "location_request_message"]

SEND_REQUEST_INTERACTIVE_TYPE_VALUES: set[SendRequestInteractiveType] = {
    "button",
    "cta_url",
    "list",
    "location_request_message",
}


def check_send_request_interactive_type(value: str) -> SendRequestInteractiveType:
    if value in SEND_REQUEST_INTERACTIVE_TYPE_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {SEND_REQUEST_INTERACTIVE_TYPE_VALUES!r}")
