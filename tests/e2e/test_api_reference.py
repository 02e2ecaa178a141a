"""GET /docs: the API reference for people, served by the gateway without an API key, from
files of a package (no CDN), with a Content-Security-Policy that refuses inline scripts, and
static files a browser caches and revalidates."""

import re

from tests.fixtures.stack import Running


async def test_the_reference_page_is_public_and_allows_only_its_own_scripts(running: Running) -> None:
    async with running.http.get(f"{running.gateway}/docs") as response:
        assert response.status == 200
        assert response.content_type == "text/html"
        page = await response.text()
        policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self';" in policy and "default-src 'none'" in policy and "unsafe" not in policy
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page, re.S)
    assert scripts and all('src="docs/' in attributes and not body.strip() for attributes, body in scripts)
    # Nothing from another origin: every link is one of the gateway's.
    assert not re.search(r"(src|href)=\"(https?:)?//", page)


async def test_its_files_are_served_cacheable_and_revalidated(running: Running) -> None:
    async with running.http.get(f"{running.gateway}/docs") as response:
        page = await response.text()
    links = re.findall(r"(?:src|href)=\"(docs/[^\"]+)\"", page)
    assert set(links) == {
        "docs/swagger-ui.css",
        "docs/favicon-32x32.png",
        "docs/swagger-ui-bundle.js",
        "docs/api-reference.js",
    }
    for link in links:
        async with running.http.get(f"{running.gateway}/{link}") as response:
            assert response.status == 200, link
            assert response.headers["Cache-Control"] == "public, max-age=86400"
            etag = response.headers["ETag"]
            assert len(await response.read()) > 0
        async with running.http.get(f"{running.gateway}/{link}", headers={"If-None-Match": etag}) as response:
            assert response.status == 304, link
    async with running.http.get(f"{running.gateway}/docs/api-reference.js") as response:
        assert 'url: "openapi.json"' in await response.text()


async def test_only_the_named_files_are_served(running: Running) -> None:
    for path in ("/docs/index.html", "/docs/swagger-editor-bundle.js", "/docs/..%2Fopenapi.json", "/docs/"):
        async with running.http.get(f"{running.gateway}{path}") as response:
            assert response.status == 404, path
            assert (await response.json())["error"]["code"] == "not_found"
