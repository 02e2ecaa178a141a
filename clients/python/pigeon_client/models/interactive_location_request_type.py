from typing import Literal

InteractiveLocationRequestType = Literal["location_request_message"]

INTERACTIVE_LOCATION_REQUEST_TYPE_VALUES: set[InteractiveLocationRequestType] = {
    "location_request_message",
}


def check_interactive_location_request_type(value: str) -> InteractiveLocationRequestType:
    if value in INTERACTIVE_LOCATION_REQUEST_TYPE_VALUES:
        return value
    raise TypeError(
        f"Unexpected value {value!r}. Expected one of {INTERACTIVE_LOCATION_REQUEST_TYPE_VALUES!r}"
    )
