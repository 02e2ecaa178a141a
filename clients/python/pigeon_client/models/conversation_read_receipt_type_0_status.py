from typing import Literal

ConversationReadReceiptType0Status = Literal["failed", "sent"]

CONVERSATION_READ_RECEIPT_TYPE_0_STATUS_VALUES: set[ConversationReadReceiptType0Status] = {
    "failed",
    "sent",
}


def check_conversation_read_receipt_type_0_status(value: str) -> ConversationReadReceiptType0Status:
    if value in CONVERSATION_READ_RECEIPT_TYPE_0_STATUS_VALUES:
        return value
    raise TypeError(
        f"Unexpected value {value!r}. Expected one of {CONVERSATION_READ_RECEIPT_TYPE_0_STATUS_VALUES!r}"
    )
