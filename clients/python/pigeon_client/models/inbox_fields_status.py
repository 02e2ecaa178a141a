from typing import Literal

InboxFieldsStatus = Literal["open", "pending", "resolved", "snoozed"]

INBOX_FIELDS_STATUS_VALUES: set[InboxFieldsStatus] = {
    "open",
    "pending",
    "resolved",
    "snoozed",
}


def check_inbox_fields_status(value: str) -> InboxFieldsStatus:
    if value in INBOX_FIELDS_STATUS_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {INBOX_FIELDS_STATUS_VALUES!r}")
