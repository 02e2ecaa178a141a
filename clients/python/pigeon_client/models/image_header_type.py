from typing import Literal

ImageHeaderType = Literal["image"]

IMAGE_HEADER_TYPE_VALUES: set[ImageHeaderType] = {
    "image",
}


def check_image_header_type(value: str) -> ImageHeaderType:
    if value in IMAGE_HEADER_TYPE_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {IMAGE_HEADER_TYPE_VALUES!r}")
