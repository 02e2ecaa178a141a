from typing import Literal

SendRequestInteractiveActionName = Literal["cta_url", "send_location"]

SEND_REQUEST_INTERACTIVE_ACTION_NAME_VALUES: set[SendRequestInteractiveActionName] = {
    "cta_url",
    "send_location",
}


def check_send_request_interactive_action_name(value: str) -> SendRequestInteractiveActionName:
    if value in SEND_REQUEST_INTERACTIVE_ACTION_NAME_VALUES:
        return value
    raise TypeError(
        f"Unexpected value {value!r}. Expected one of {SEND_REQUEST_INTERACTIVE_ACTION_NAME_VALUES!r}"
    )
