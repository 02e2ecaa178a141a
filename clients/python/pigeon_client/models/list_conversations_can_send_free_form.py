from typing import Literal

ListConversationsCanSendFreeForm = Literal["false", "true"]

LIST_CONVERSATIONS_CAN_SEND_FREE_FORM_VALUES: set[ListConversationsCanSendFreeForm] = {
    "false",
    "true",
}


def check_list_conversations_can_send_free_form(value: str) -> ListConversationsCanSendFreeForm:
    if value in LIST_CONVERSATIONS_CAN_SEND_FREE_FORM_VALUES:
        return value
    raise TypeError(
        f"Unexpected value {value!r}. Expected one of {LIST_CONVERSATIONS_CAN_SEND_FREE_FORM_VALUES!r}"
    )
