from typing import Literal

SendDocumentType = Literal["document"]

SEND_DOCUMENT_TYPE_VALUES: set[SendDocumentType] = {
    "document",
}


def check_send_document_type(value: str) -> SendDocumentType:
    if value in SEND_DOCUMENT_TYPE_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {SEND_DOCUMENT_TYPE_VALUES!r}")
