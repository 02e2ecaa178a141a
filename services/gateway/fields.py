"""A wrong field of a request is a 400 that names it (`details.field`): shared by the request
parsers (validation.py, list_params.py, interactive.py, ...) for the rules their models' decoders
cannot check (errors.from_invalid_body words the decoders' own)."""

from services.gateway.errors import ApiError


def invalid(message: str, field: str) -> ApiError:
    return ApiError(400, "invalid_request", message, {"field": field})
