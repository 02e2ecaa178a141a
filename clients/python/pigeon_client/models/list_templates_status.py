from typing import Literal

ListTemplatesStatus = Literal[
    "APPROVED",
    "ARCHIVED",
    "DELETED",
    "DISABLED",
    "IN_APPEAL",
    "LIMIT_EXCEEDED",
    "PAUSED",
    "PENDING",
    "PENDING_DELETION",
    "REJECTED",
]

LIST_TEMPLATES_STATUS_VALUES: set[ListTemplatesStatus] = {
    "APPROVED",
    "ARCHIVED",
    "DELETED",
    "DISABLED",
    "IN_APPEAL",
    "LIMIT_EXCEEDED",
    "PAUSED",
    "PENDING",
    "PENDING_DELETION",
    "REJECTED",
}


def check_list_templates_status(value: str) -> ListTemplatesStatus:
    if value in LIST_TEMPLATES_STATUS_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {LIST_TEMPLATES_STATUS_VALUES!r}")
