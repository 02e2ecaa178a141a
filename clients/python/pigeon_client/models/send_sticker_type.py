from typing import Literal

SendStickerType = Literal["sticker"]

SEND_STICKER_TYPE_VALUES: set[SendStickerType] = {
    "sticker",
}


def check_send_sticker_type(value: str) -> SendStickerType:
    if value in SEND_STICKER_TYPE_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {SEND_STICKER_TYPE_VALUES!r}")
