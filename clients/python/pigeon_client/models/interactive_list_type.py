from typing import Literal

InteractiveListType = Literal["list"]

INTERACTIVE_LIST_TYPE_VALUES: set[InteractiveListType] = {
    "list",
}


def check_interactive_list_type(value: str) -> InteractiveListType:
    if value in INTERACTIVE_LIST_TYPE_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {INTERACTIVE_LIST_TYPE_VALUES!r}")
