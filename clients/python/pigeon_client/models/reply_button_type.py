from typing import Literal

ReplyButtonType = Literal["reply"]

REPLY_BUTTON_TYPE_VALUES: set[ReplyButtonType] = {
    "reply",
}


def check_reply_button_type(value: str) -> ReplyButtonType:
    if value in REPLY_BUTTON_TYPE_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {REPLY_BUTTON_TYPE_VALUES!r}")
