from typing import Literal

InteractiveCallToActionType = Literal["cta_url"]

INTERACTIVE_CALL_TO_ACTION_TYPE_VALUES: set[InteractiveCallToActionType] = {
    "cta_url",
}


def check_interactive_call_to_action_type(value: str) -> InteractiveCallToActionType:
    if value in INTERACTIVE_CALL_TO_ACTION_TYPE_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {INTERACTIVE_CALL_TO_ACTION_TYPE_VALUES!r}")
