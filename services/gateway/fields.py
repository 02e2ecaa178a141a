"""The fields of a JSON body, each read with its checks: a wrong one is a 400 that names it
(`details.field`). Shared by the request parsers (validation.py, interactive.py, ...)."""

from typing import Any

from services.gateway.errors import ApiError


def invalid(message: str, field: str) -> ApiError:
    return ApiError(400, "invalid_request", message, {"field": field})


def string_field(
    obj: dict[str, Any], key: str, field: str, *, required: bool = True, max_length: int = 0
) -> str:
    """A string; "" when absent and not required. A required one must not be empty."""
    value = obj.get(key)
    if value is None:
        if required:
            raise invalid(f"{field} is required", field)
        return ""
    if not isinstance(value, str):
        raise invalid(f"{field} must be a string", field)
    if required and not value:
        raise invalid(f"{field} must not be empty", field)
    if max_length and len(value) > max_length:
        raise invalid(f"{field} must be at most {max_length} characters", field)
    return value


def object_field(obj: dict[str, Any], key: str, field: str) -> dict[str, Any]:
    value = obj.get(key)
    if not isinstance(value, dict):
        raise invalid(f"{field} must be an object", field)
    return value


def list_field(obj: dict[str, Any], key: str, field: str, most: int) -> list[Any]:
    """A list of 1 to `most` items."""
    value = obj.get(key)
    if not isinstance(value, list) or not 1 <= len(value) <= most:
        raise invalid(f"{field} must be a list of 1 to {most}", field)
    return value
