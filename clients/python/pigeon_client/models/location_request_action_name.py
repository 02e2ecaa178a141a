from typing import Literal

LocationRequestActionName = Literal["send_location"]

LOCATION_REQUEST_ACTION_NAME_VALUES: set[LocationRequestActionName] = {
    "send_location",
}


def check_location_request_action_name(value: str) -> LocationRequestActionName:
    if value in LOCATION_REQUEST_ACTION_NAME_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {LOCATION_REQUEST_ACTION_NAME_VALUES!r}")
