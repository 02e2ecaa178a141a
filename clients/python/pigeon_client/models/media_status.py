from typing import Literal

MediaStatus = Literal["deleted", "failed", "pending", "stored"]

MEDIA_STATUS_VALUES: set[MediaStatus] = {
    "deleted",
    "failed",
    "pending",
    "stored",
}


def check_media_status(value: str) -> MediaStatus:
    if value in MEDIA_STATUS_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {MEDIA_STATUS_VALUES!r}")
