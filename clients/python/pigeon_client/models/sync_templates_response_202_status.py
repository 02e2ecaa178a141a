from typing import Literal

SyncTemplatesResponse202Status = Literal["scheduled"]

SYNC_TEMPLATES_RESPONSE_202_STATUS_VALUES: set[SyncTemplatesResponse202Status] = {
    "scheduled",
}


def check_sync_templates_response_202_status(value: str) -> SyncTemplatesResponse202Status:
    if value in SYNC_TEMPLATES_RESPONSE_202_STATUS_VALUES:
        return value
    raise TypeError(
        f"Unexpected value {value!r}. Expected one of {SYNC_TEMPLATES_RESPONSE_202_STATUS_VALUES!r}"
    )
