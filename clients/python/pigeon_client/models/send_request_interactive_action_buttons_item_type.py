from typing import Literal

SendRequestInteractiveActionButtonsItemType = Literal["reply"]

SEND_REQUEST_INTERACTIVE_ACTION_BUTTONS_ITEM_TYPE_VALUES: set[SendRequestInteractiveActionButtonsItemType] = {
    "reply",
}


def check_send_request_interactive_action_buttons_item_type(
    value: str,
) -> SendRequestInteractiveActionButtonsItemType:
    if value in SEND_REQUEST_INTERACTIVE_ACTION_BUTTONS_ITEM_TYPE_VALUES:
        return value
    raise TypeError(
        f"Unexpected value {value!r}. Expected one of {SEND_REQUEST_INTERACTIVE_ACTION_BUTTONS_ITEM_TYPE_VALUES!r}"
    )
