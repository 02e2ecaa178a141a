from typing import Literal

SendImageType = Literal["image"]

SEND_IMAGE_TYPE_VALUES: set[SendImageType] = {
    "image",
}


def check_send_image_type(value: str) -> SendImageType:
    if value in SEND_IMAGE_TYPE_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {SEND_IMAGE_TYPE_VALUES!r}")
