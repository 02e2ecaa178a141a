"""The media routes of the OpenAPI document (openapi.py): uploads, and files served back."""

from typing import Any

from services.gateway.openapi_parts import AUTHENTICATED, error_responses, header, id_parameter, json_body
from services.shared.media_types import MEDIA_LIMITS

MEDIA = {"$ref": "#/components/schemas/Media"}

MEDIA_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": (
        "A media file: one a customer sent (copied from WhatsApp, `pending` until then) or one "
        "uploaded with POST /media. `size` and `sha256` are null until it is stored."
    ),
    "required": ["id", "status", "mime_type", "size", "sha256", "filename", "caption", "failure_reason"],
    "properties": {
        "id": {"type": "string", "format": "uuid"},
        "status": {
            "type": "string",
            "enum": ["pending", "stored", "failed", "deleted"],
            "description": "deleted: its bytes were deleted after the retention (MEDIA_RETENTION_DAYS)",
        },
        "mime_type": {"type": "string"},
        "size": {"type": "integer", "minimum": 0, "nullable": True},
        "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$", "nullable": True},
        "filename": {"type": "string"},
        "caption": {"type": "string"},
        "failure_reason": {
            "type": "string",
            "nullable": True,
            "description": "Why it will not be stored: media_not_found (WhatsApp no longer has it), "
            "sha256_mismatch, size_mismatch, media_too_large, or WhatsApp's error code",
        },
    },
}

_TYPES = "; ".join(
    f"{message_type}: {', '.join(sorted(mime_types))} (at most {limit:,} bytes)"
    for message_type, (mime_types, limit) in MEDIA_LIMITS.items()
)


def media_paths() -> dict[str, Any]:
    return {
        "/media": {
            "post": {
                "summary": "Upload a file for sends (multipart/form-data)",
                "description": (
                    "The `file` part's Content-Type is its MIME type; a `filename` field before it "
                    f"overrides the part's file name. WhatsApp takes, by message type: {_TYPES}. "
                    "Nothing is kept unless the whole file arrives and passes."
                ),
                "requestBody": {
                    "required": True,
                    "content": {
                        "multipart/form-data": {
                            "schema": {
                                "type": "object",
                                "required": ["file"],
                                "properties": {
                                    "filename": {"type": "string", "maxLength": 255},
                                    "file": {"type": "string", "format": "binary"},
                                },
                            }
                        }
                    },
                },
                "responses": {
                    "201": {"description": "Stored", **json_body(MEDIA)},
                    **error_responses(*AUTHENTICATED, 400, 408, 413, 415),
                },
            }
        },
        "/media/{media_id}": {
            "get": {
                "summary": "A file's bytes",
                "description": (
                    "One `Range: bytes=...` is answered 206 (several ranges: the whole file). "
                    "With MEDIA_PRESIGNED_REDIRECT on and an S3 store: 307 to a short-lived URL."
                ),
                "parameters": [
                    id_parameter("media_id"),
                    {"name": "Range", "in": "header", "schema": {"type": "string"}},
                ],
                "responses": {
                    "200": _bytes("The file"),
                    "206": _bytes("The range asked for (Content-Range says which)"),
                    "304": {"description": "Not modified (If-None-Match names its ETag)"},
                    "307": {
                        "description": "Download it from the object store",
                        "headers": {"Location": header("")},
                    },
                    **error_responses(*AUTHENTICATED, 404, 409, 410, 416),
                },
            }
        },
    }


def _bytes(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "headers": {
            "ETag": header("The quoted lower-case hex SHA-256 of the whole file"),
            "Content-Disposition": header("attachment, with the file name"),
        },
        "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
    }
