"""Generates the typed Python client (clients/python/pigeon_client/) from the OpenAPI document.

Run as `python -m tools.clientgen` (or `make client`) after changing the HTTP API, and commit
the result: tests/unit/test_client_current.py fails while the committed client differs from a
fresh one. The document is built here, in-process, as a gateway with default settings and the
admin routes serves it, whatever this shell's environment says; openapi-python-client (pinned in
the dev extras) turns it into code, formatted by ruff with fixed options, so the same document
always makes the same files.

Left out of the client: GET /ws, a WebSocket that OpenAPI cannot describe; the hand-written
clients/python/pigeon_events/ opens it with the client's base URL and API key.
"""

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any
from unittest import mock

from services.gateway.openapi import openapi_document
from services.gateway.settings import MIN_ADMIN_TOKEN_LENGTH, GatewaySettings

ROOT = Path(__file__).resolve().parent.parent
CLIENTS = ROOT / "clients" / "python"
PACKAGE = CLIENTS / "pigeon_client"
GENERATOR_CONFIG = CLIENTS / "openapi-python-client.yaml"
NOT_HTTP = "/ws"


def client_document() -> dict[str, Any]:
    # Any admin token makes the document list the /admin/ routes; it appears nowhere in it.
    environment = {"ADMIN_TOKEN": "x" * MIN_ADMIN_TOKEN_LENGTH}
    with mock.patch.dict(os.environ, environment, clear=True):
        settings = GatewaySettings.from_env()
    document = openapi_document(settings)
    document["paths"] = {path: item for path, item in document["paths"].items() if path != NOT_HTTP}
    return document


def generate(package: Path) -> subprocess.CompletedProcess[str]:
    """Writes the client into the folder `package` (replacing it), and returns the generator's run."""
    with tempfile.TemporaryDirectory() as scratch:
        document = Path(scratch) / "openapi.json"
        document.write_text(json.dumps(client_document(), indent=2))
        # The post hooks' `ruff` is this environment's.
        path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "openapi_python_client",
                "generate",
                "--path",
                str(document),
                "--output-path",
                str(package),
                "--config",
                str(GENERATOR_CONFIG),
                "--meta",
                "none",
                "--overwrite",
            ],
            env={**os.environ, "PATH": path},
            capture_output=True,
            text=True,
            check=True,
        )


def main() -> int:
    try:
        run = generate(PACKAGE)
    except subprocess.CalledProcessError as failed:
        print(failed.stdout, failed.stderr, sep="\n", file=sys.stderr)
        return 1
    print(run.stdout)
    print(f"generated the client into {PACKAGE.relative_to(ROOT)}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
