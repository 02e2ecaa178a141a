"""Which scope each route needs (services/gateway/scopes.py), and the map's completeness: every
route of the gateway that takes an API key names its scope."""

import pytest

from services.gateway.app import create_app
from services.gateway.middlewares import ADMIN_PREFIX, is_public
from services.gateway.scopes import grant_of, required_scope
from services.gateway.settings import GatewaySettings
from services.shared.vocabulary import API_KEY_SCOPES, ApiKeyScope


@pytest.mark.parametrize(
    ("method", "route", "scope"),
    [
        ("POST", "/messages/send", "send"),
        ("POST", "/messages/send-async", "send"),
        ("POST", "/media", "send"),
        ("POST", "/conversations/{conversation_id}/read", "send"),
        ("GET", "/conversations", "read"),
        ("HEAD", "/conversations", "read"),
        ("GET", "/messages/{message_id}", "read"),
        ("GET", "/media/{media_id}", "read"),
        ("GET", "/ws", "read"),
        ("GET", "/templates", "read"),
        ("POST", "/webhook-endpoints", "webhooks"),
        ("GET", "/webhook-endpoints/{endpoint_id}/deliveries", "webhooks"),
        ("DELETE", "/webhook-endpoints/{endpoint_id}", "webhooks"),
    ],
)
def test_each_route_needs_its_scope(method: str, route: str, scope: str) -> None:
    assert required_scope(method, route) == scope


def test_a_route_not_in_the_map_is_allowed_to_no_key() -> None:
    assert required_scope("POST", "/conversations") is None
    assert required_scope("GET", "/webhook-endpointsX") is None
    assert not grant_of("a", API_KEY_SCOPES).allows(None)


def test_every_route_that_takes_an_api_key_names_its_scope(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADMIN_TOKEN", "t" * 40)
    app = create_app(GatewaySettings.from_env())
    missing = [
        (route.method, route.resource.canonical)
        for route in app.router.routes()
        if route.resource is not None
        and not is_public(route.resource.canonical)
        and not route.resource.canonical.startswith(ADMIN_PREFIX)
        and required_scope(route.method, route.resource.canonical) is None
    ]
    assert missing == []


def test_a_grant_without_scopes_comes_from_a_conversations_older_than_scopes() -> None:
    assert grant_of("a", []).scopes == frozenset(ApiKeyScope)
    assert grant_of("a", ["read", "unknown"]).scopes == {ApiKeyScope.READ}
