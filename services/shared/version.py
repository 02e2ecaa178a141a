"""pigeon's version: the package's (pyproject.toml reads it from here) and the HTTP API's
(the OpenAPI document's `info.version`)."""

VERSION = "0.1.0"
