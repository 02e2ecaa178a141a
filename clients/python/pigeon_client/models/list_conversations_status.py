from typing import Literal

ListConversationsStatus = Literal["open", "pending", "resolved", "snoozed"]

LIST_CONVERSATIONS_STATUS_VALUES: set[ListConversationsStatus] = {
    "open",
    "pending",
    "resolved",
    "snoozed",
}


def check_list_conversations_status(value: str) -> ListConversationsStatus:
    if value in LIST_CONVERSATIONS_STATUS_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {LIST_CONVERSATIONS_STATUS_VALUES!r}")
