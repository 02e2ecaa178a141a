from typing import Literal

CallToActionActionName = Literal["cta_url"]

CALL_TO_ACTION_ACTION_NAME_VALUES: set[CallToActionActionName] = {
    "cta_url",
}


def check_call_to_action_action_name(value: str) -> CallToActionActionName:
    if value in CALL_TO_ACTION_ACTION_NAME_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {CALL_TO_ACTION_ACTION_NAME_VALUES!r}")
