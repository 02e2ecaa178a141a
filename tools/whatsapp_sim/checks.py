"""The simulator's checks of a send body's fields, as the Cloud API answers them: the error
code and the details Meta gives for a wrong JSON type (100), a missing parameter (131008) or an
unacceptable value (131009)."""

from typing import Any


class Invalid(Exception):
    """A send body Meta would reject: 100 for wrong JSON types or unsupported values,
    131008 for a missing required parameter, 131009 for a present but unacceptable value."""

    def __init__(self, code: int, details: str) -> None:
        super().__init__(details)
        self.code = code
        self.details = details


def required(obj: dict[str, Any], key: str, where: str) -> Any:
    value = obj.get(key)
    if value is None:
        raise Invalid(131008, f"The parameter {where} is required.")
    return value


def string(obj: dict[str, Any], key: str, where: str, *, non_empty: bool = True) -> str:
    value = required(obj, key, where)
    if not isinstance(value, str):
        raise Invalid(100, f"Param {where} must be a string.")
    if non_empty and not value:
        raise Invalid(131009, f"Param {where} must not be empty.")
    return value


def json_object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise Invalid(100, f"Param {where} must be a JSON object.")
    return value
