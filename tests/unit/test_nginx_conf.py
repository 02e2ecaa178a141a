"""deploy/nginx.conf (compose's proxy) keeps the caller's request id as the gateway would, reuses
its connections to the gateways, and asks for an upgrade for WebSockets only.

No nginx is needed: the file is parsed with crossplane (nginx's own grammar) and the directives
that decide each property are evaluated here the way nginx evaluates them: proxy_set_header is
inherited from the enclosing block only by a location that sets none of its own, and a map gives
its first matching key's value, else its default.
"""

import re
from pathlib import Path
from typing import Any

import crossplane
import pytest
import yaml

from services.gateway.middlewares import REQUEST_ID_PATTERN

ROOT = Path(__file__).resolve().parents[2]
NGINX_CONF = ROOT / "deploy" / "nginx.conf"

Block = list[dict[str, Any]]


def parse() -> Block:
    parsed = crossplane.parse(str(NGINX_CONF), single=True, comments=False)
    assert parsed["status"] == "ok", parsed["errors"]
    return parsed["config"][0]["parsed"]


CONFIG = parse()
HTTP = next(d["block"] for d in CONFIG if d["directive"] == "http")
SERVERS = [d["block"] for d in HTTP if d["directive"] == "server"]


def directives(block: Block, name: str) -> list[dict[str, Any]]:
    return [d for d in block if d["directive"] == name]


def proxying_locations() -> list[tuple[str, Block, list[Block]]]:
    """(path, location block, enclosing blocks innermost first) of each location that proxies."""
    found = []
    for server in SERVERS:
        for location in directives(server, "location"):
            if directives(location["block"], "proxy_pass"):
                found.append((" ".join(location["args"]), location["block"], [server, HTTP]))
    return found


def proxy_headers(location: Block, enclosing: list[Block]) -> dict[str, str]:
    for block in [location, *enclosing]:
        headers = directives(block, "proxy_set_header")
        if headers:
            return {d["args"][0].lower(): d["args"][1] for d in headers}
    return {}


def inherited(location: Block, enclosing: list[Block], name: str) -> list[str] | None:
    for block in [location, *enclosing]:
        found = directives(block, name)
        if found:
            return found[-1]["args"]
    return None


def evaluate(value: str, variables: dict[str, str]) -> str:
    """A header's value for a request whose variables ($http_*, $request_id) are given: a literal,
    a request variable, or a variable made by a map of the http block."""
    if not value.startswith("$"):
        return value
    name = value.removeprefix("$")
    for map_directive in directives(HTTP, "map"):
        source, target = map_directive["args"]
        if target == value:
            given = evaluate(source, variables)
            default = ""
            for entry in map_directive["block"]:
                key, result = entry["directive"], entry["args"][0]
                if key == "default":
                    default = result
                elif (key.startswith("~") and re.search(key[1:], given)) or key == given:
                    return evaluate(result, variables)
            return evaluate(default, variables)
    return variables.get(name, "")


def request(**headers: str) -> dict[str, str]:
    variables = {"request_id": "0123456789abcdef0123456789abcdef"}
    variables.update({f"http_{name}": value for name, value in headers.items()})
    return variables


LOCATIONS = proxying_locations()


def test_the_proxied_locations_are_found() -> None:
    assert {path for path, _, _ in LOCATIONS} >= {"/", "= /ws", "= /media", "/media/"}


@pytest.mark.parametrize(
    "given",
    [
        "abc-123",
        "4bf92f3577b34da6a3ce929d0e0e4736",
        "trace.id:7_x",
        "x" * 128,
        "x" * 129,
        "two words",
        "",
        "id\u00e9",
        "a;b",
        "id/1",
    ],
)
@pytest.mark.parametrize("location", LOCATIONS, ids=lambda entry: entry[0])
def test_x_request_id_is_the_callers_whenever_the_gateway_would_keep_it(location, given: str) -> None:
    _, block, enclosing = location
    value = proxy_headers(block, enclosing)["x-request-id"]
    sent = evaluate(value, request(x_request_id=given))
    if REQUEST_ID_PATTERN.fullmatch(given):
        assert sent == given
    else:
        assert sent == "0123456789abcdef0123456789abcdef", "nginx's own $request_id"


def test_the_access_log_records_the_id_sent_to_the_gateway() -> None:
    (server,) = SERVERS
    sent = proxy_headers(server, [HTTP])["x-request-id"]
    formats = {d["args"][0]: "".join(d["args"][1:]) for d in directives(HTTP, "log_format")}
    (access_log,) = directives(HTTP, "access_log")
    assert sent in formats[access_log["args"][1]]


@pytest.mark.parametrize("location", LOCATIONS, ids=lambda entry: entry[0])
def test_connections_to_the_gateways_are_kept_for_reuse(location) -> None:
    _, block, enclosing = location
    (proxy_pass,) = directives(block, "proxy_pass")
    target = proxy_pass["args"][0]
    # A variable in proxy_pass resolves the name at each request and bypasses upstream blocks,
    # their keepalive included.
    assert "$" not in target
    upstreams = {d["args"][0]: d["block"] for d in directives(HTTP, "upstream")}
    upstream = upstreams[target.removeprefix("http://")]
    assert int(directives(upstream, "keepalive")[0]["args"][0]) > 0
    # Replicas come and go: the name is re-resolved, which needs a shared zone.
    assert directives(upstream, "zone")
    assert all("resolve" in server["args"] for server in directives(upstream, "server"))
    # Keepalive to an upstream takes HTTP/1.1 and no "Connection: close".
    assert inherited(block, enclosing, "proxy_http_version") == ["1.1"]
    connection = proxy_headers(block, enclosing).get("connection")
    assert connection is not None, "nginx sends Connection: close unless told otherwise"
    assert evaluate(connection, request()) == ""


def test_websocket_handshakes_are_passed_on_with_an_upgrade() -> None:
    (ws,) = [(block, enclosing) for path, block, enclosing in LOCATIONS if path == "= /ws"]
    headers = proxy_headers(*ws)
    handshake = request(upgrade="websocket", connection="Upgrade")
    assert evaluate(headers["upgrade"], handshake) == "websocket"
    assert evaluate(headers["connection"], handshake).lower() == "upgrade"
    # The gateway pings every 20 s; a socket stays open far longer than an API call.
    assert int(inherited(*ws, "proxy_read_timeout")[0].removesuffix("s")) >= 3600


def test_compose_pins_an_nginx_that_resolves_upstream_names() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    proxy = compose["services"]["proxy"]
    assert "./deploy/nginx.conf:/etc/nginx/nginx.conf:ro" in proxy["volumes"]
    match = re.fullmatch(r"nginx:(\d+)\.(\d+)(?:\.(\d+))?[\w.-]*@sha256:[0-9a-f]{64}", proxy["image"])
    assert match, "the image is pinned by digest"
    # `resolve` in an upstream block's server: open source nginx 1.27.3 and later (a tag without
    # a patch number promises only .0).
    assert tuple(int(part or 0) for part in match.groups()) >= (1, 27, 3)
