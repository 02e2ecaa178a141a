from typing import Literal

SendVideoType = Literal["video"]

SEND_VIDEO_TYPE_VALUES: set[SendVideoType] = {
    "video",
}


def check_send_video_type(value: str) -> SendVideoType:
    if value in SEND_VIDEO_TYPE_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {SEND_VIDEO_TYPE_VALUES!r}")
