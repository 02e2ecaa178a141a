from typing import Literal

SendTextType = Literal["text"]

SEND_TEXT_TYPE_VALUES: set[SendTextType] = {
    "text",
}


def check_send_text_type(value: str) -> SendTextType:
    if value in SEND_TEXT_TYPE_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {SEND_TEXT_TYPE_VALUES!r}")
