from typing import Literal

SendContactsType = Literal["contacts"]

SEND_CONTACTS_TYPE_VALUES: set[SendContactsType] = {
    "contacts",
}


def check_send_contacts_type(value: str) -> SendContactsType:
    if value in SEND_CONTACTS_TYPE_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {SEND_CONTACTS_TYPE_VALUES!r}")
