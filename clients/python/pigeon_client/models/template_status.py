from typing import Literal

TemplateStatus = Literal[
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

TEMPLATE_STATUS_VALUES: set[TemplateStatus] = {
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


def check_template_status(value: str) -> TemplateStatus:
    if value in TEMPLATE_STATUS_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {TEMPLATE_STATUS_VALUES!r}")
