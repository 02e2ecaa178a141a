from typing import Literal

SendInteractiveType = Literal["interactive"]

SEND_INTERACTIVE_TYPE_VALUES: set[SendInteractiveType] = {
    "interactive",
}


def check_send_interactive_type(value: str) -> SendInteractiveType:
    if value in SEND_INTERACTIVE_TYPE_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {SEND_INTERACTIVE_TYPE_VALUES!r}")
