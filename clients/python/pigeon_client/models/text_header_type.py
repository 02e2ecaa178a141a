from typing import Literal

TextHeaderType = Literal["text"]

TEXT_HEADER_TYPE_VALUES: set[TextHeaderType] = {
    "text",
}


def check_text_header_type(value: str) -> TextHeaderType:
    if value in TEXT_HEADER_TYPE_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {TEXT_HEADER_TYPE_VALUES!r}")
