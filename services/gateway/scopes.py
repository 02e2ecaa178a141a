"""What each route needs an API key to be allowed (its scope), and what a key is allowed.

A route missing from the map is refused to every key (403): a new route must name its scope
here (tests/unit/test_scopes.py checks that every route does).
"""

from collections.abc import Iterable
from dataclasses import dataclass

from services.shared.vocabulary import API_KEY_SCOPES, ApiKeyScope

SEND, READ, WEBHOOKS = ApiKeyScope.SEND, ApiKeyScope.READ, ApiKeyScope.WEBHOOKS
WEBHOOK_ENDPOINTS = "/webhook-endpoints"

# (method, route pattern) -> scope. `send`: what acts on conversations (sends, the files they
# use, read receipts, template syncs, and the inbox's state, labels and notes: an agent's work);
# `read`: what only reads (and the live events).
ROUTE_SCOPES: dict[tuple[str, str], ApiKeyScope] = {
    ("POST", "/messages/send"): SEND,
    ("POST", "/messages/send-async"): SEND,
    ("POST", "/media"): SEND,
    ("POST", "/conversations/{conversation_id}/read"): SEND,
    ("POST", "/templates/sync"): SEND,
    ("PATCH", "/conversations/{conversation_id}"): SEND,
    ("PUT", "/conversations/{conversation_id}/labels/{label}"): SEND,
    ("DELETE", "/conversations/{conversation_id}/labels/{label}"): SEND,
    ("POST", "/conversations/{conversation_id}/notes"): SEND,
    ("GET", "/conversations/{conversation_id}/notes"): READ,
    ("GET", "/messages/{message_id}"): READ,
    ("GET", "/messages/search"): READ,
    ("GET", "/conversations"): READ,
    ("GET", "/conversations/{conversation_id}"): READ,
    ("GET", "/conversations/{conversation_id}/messages"): READ,
    ("GET", "/media/{media_id}"): READ,
    ("GET", "/templates"): READ,
    ("GET", "/ws"): READ,
}


def required_scope(method: str, route: str) -> ApiKeyScope | None:
    """The scope a request to `route` (its pattern) needs; None for a route not in the map.
    Every route under /webhook-endpoints needs `webhooks`, whatever its method."""
    if route == WEBHOOK_ENDPOINTS or route.startswith(WEBHOOK_ENDPOINTS + "/"):
        return WEBHOOKS
    return ROUTE_SCOPES.get(("GET" if method == "HEAD" else method, route))


@dataclass(frozen=True)
class KeyGrant:
    """What an API key that works grants: its account, and what it may do there."""

    account_id: str
    scopes: frozenset[ApiKeyScope]

    def allows(self, scope: ApiKeyScope | None) -> bool:
        return scope is not None and scope in self.scopes


def grant_of(account_id: str, scopes: Iterable[str]) -> KeyGrant:
    """A grant from conversations' answer. No scopes: a conversations older than scopes, where
    every key could do everything (a key created since has at least one)."""
    known = frozenset(ApiKeyScope(s) for s in scopes if s in API_KEY_SCOPES)
    return KeyGrant(account_id, known or frozenset(API_KEY_SCOPES))
