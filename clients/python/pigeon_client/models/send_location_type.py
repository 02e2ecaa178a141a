from typing import Literal

SendLocationType = Literal["location"]

SEND_LOCATION_TYPE_VALUES: set[SendLocationType] = {
    "location",
}


def check_send_location_type(value: str) -> SendLocationType:
    if value in SEND_LOCATION_TYPE_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {SEND_LOCATION_TYPE_VALUES!r}")
