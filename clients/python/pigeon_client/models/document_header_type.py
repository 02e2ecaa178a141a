from typing import Literal

DocumentHeaderType = Literal["document"]

DOCUMENT_HEADER_TYPE_VALUES: set[DocumentHeaderType] = {
    "document",
}


def check_document_header_type(value: str) -> DocumentHeaderType:
    if value in DOCUMENT_HEADER_TYPE_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {DOCUMENT_HEADER_TYPE_VALUES!r}")
