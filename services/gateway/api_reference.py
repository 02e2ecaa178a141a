"""GET /docs: the HTTP API's reference for people, Swagger UI over /openapi.json.

Swagger UI's files come from the swagger-ui-py package (its static/ folder), not from a CDN: the
page works offline and behind a firewall, and shows only what this gateway serves. Only the files
named in ASSETS are served, never a folder, each with an ETag and a day of caching. The page
allows this gateway's own scripts only (no inline script, no other origin): its start-up code
is a file of its own, static/api-reference.js.
"""

import importlib.util
from pathlib import Path

from aiohttp import web

DOCS_PATH = "/docs"
ASSETS_PREFIX = "/docs/"


def _swagger_ui_files() -> Path:
    # Found, not imported: the package's Python part (templates for other frameworks) is not used.
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or spec.origin is None:
        raise RuntimeError("the swagger-ui-py package is not installed")
    return Path(spec.origin).parent / "static"


SWAGGER_UI = _swagger_ui_files()
ASSETS = {
    "swagger-ui.css": SWAGGER_UI / "swagger-ui.css",
    "swagger-ui-bundle.js": SWAGGER_UI / "swagger-ui-bundle.js",
    "favicon-32x32.png": SWAGGER_UI / "favicon-32x32.png",
    "api-reference.js": Path(__file__).parent / "static" / "api-reference.js",
}
# Relative links: the page works behind a proxy that serves the API under a path prefix.
PAGE = b"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>pigeon HTTP API</title>
<link rel="stylesheet" href="docs/swagger-ui.css">
<link rel="icon" type="image/png" href="docs/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="docs/swagger-ui-bundle.js"></script>
<script src="docs/api-reference.js"></script>
</body>
</html>
"""
# Nothing inline, no other origin. Swagger UI draws its icons as data: images, and fetches the
# document and the "Try it out" calls from here. (Checked in Chromium with a report-uri: the page
# and expanded operations render with no violation.)
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
ASSET_CACHE_CONTROL = "public, max-age=86400"

routes = web.RouteTableDef()


@routes.get(DOCS_PATH)
async def api_reference(request: web.Request) -> web.Response:
    return web.Response(
        body=PAGE,
        content_type="text/html",
        charset="utf-8",
        headers={
            "Content-Security-Policy": CONTENT_SECURITY_POLICY,
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-cache",
        },
    )


@routes.get(ASSETS_PREFIX + "{asset}")
async def api_reference_asset(request: web.Request) -> web.StreamResponse:
    path = ASSETS.get(request.match_info["asset"])
    if path is None:
        raise web.HTTPNotFound()
    return web.FileResponse(
        path, headers={"Cache-Control": ASSET_CACHE_CONTROL, "X-Content-Type-Options": "nosniff"}
    )
