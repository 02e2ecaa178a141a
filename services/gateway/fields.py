"""A wrong field of a request is a 400 that names it (`details.field`): shared by the request
parsers (validation.py, list_params.py, interactive.py, ...) for the rules their models cannot
say (errors.from_invalid_body words msgspec's own)."""

from services.gateway.errors import ApiError


def invalid(message: str, field: str) -> ApiError:
    return ApiError(400, "invalid_request", message, {"field": field})
