from typing import Literal

UpdateConversationBodyStatus = Literal["open", "pending", "resolved", "snoozed"]

UPDATE_CONVERSATION_BODY_STATUS_VALUES: set[UpdateConversationBodyStatus] = {
    "open",
    "pending",
    "resolved",
    "snoozed",
}


def check_update_conversation_body_status(value: str) -> UpdateConversationBodyStatus:
    if value in UPDATE_CONVERSATION_BODY_STATUS_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {UPDATE_CONVERSATION_BODY_STATUS_VALUES!r}")
