from typing import Literal

VideoHeaderType = Literal["video"]

VIDEO_HEADER_TYPE_VALUES: set[VideoHeaderType] = {
    "video",
}


def check_video_header_type(value: str) -> VideoHeaderType:
    if value in VIDEO_HEADER_TYPE_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {VIDEO_HEADER_TYPE_VALUES!r}")
