from typing import Literal

InteractiveButtonsType = Literal["button"]

INTERACTIVE_BUTTONS_TYPE_VALUES: set[InteractiveButtonsType] = {
    "button",
}


def check_interactive_buttons_type(value: str) -> InteractiveButtonsType:
    if value in INTERACTIVE_BUTTONS_TYPE_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {INTERACTIVE_BUTTONS_TYPE_VALUES!r}")
