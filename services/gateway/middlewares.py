"""Middlewares, outermost first: request id, errors as JSON, authentication (an API key and
its scopes; the admin token under /admin/)."""

import hmac
import logging
import re
import time
import uuid

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler
from aiohttp.web_protocol import RequestPayloadError
from prometheus_client import Counter, Histogram

from services.gateway.api_reference import ASSETS_PREFIX as API_REFERENCE_ASSETS
from services.gateway.context import ACCOUNT_ID, API_KEY_HASH, CLIENTS, REQUEST_ID, SETTINGS, grpc_metadata
from services.gateway.errors import ApiError, json_error
from services.gateway.ratelimit import RATE_LIMITER
from services.gateway.scopes import required_scope
from services.shared.api_keys import hash_api_key
from services.shared.logs import REQUEST_ID as LOG_REQUEST_ID
from services.shared.metrics import LATENCY_BUCKETS, OTHER

log = logging.getLogger("services.gateway")

# Meta authenticates webhooks by signature (checked by conversations), not by API key. The API's
# description and its reference for people (/docs and its files) are public too.
PUBLIC_PATHS = frozenset({"/healthz", "/readyz", "/openapi.json", "/docs", "/metrics", "/webhooks/whatsapp"})
# Administration's routes take the admin token (ADMIN_TOKEN), not an API key; without one set
# they are not there (404).
ADMIN_PREFIX = "/admin/"
CLIENT_CLOSED_REQUEST = 499
REQUEST_ID_PATTERN = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
# Keys are visible ASCII; anything else cannot be one (and would not encode for gRPC).
API_KEY_PATTERN = re.compile(r"[\x21-\x7e]{1,256}")


HTTP_REQUESTS = Counter("pigeon_http_requests_total", "HTTP requests served", ["route", "method", "status"])
HTTP_LATENCY = Histogram(
    "pigeon_http_request_duration_seconds",
    "Time to answer an HTTP request",
    ["route", "method"],
    buckets=LATENCY_BUCKETS,
)


@web.middleware
async def request_id(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Takes the caller's X-Request-ID (or makes one), returns it on every response, makes
    it the context of the logs, and counts and times the request by route."""
    given = request.headers.get("X-Request-ID", "")
    request[REQUEST_ID] = given if REQUEST_ID_PATTERN.fullmatch(given) else uuid.uuid4().hex
    LOG_REQUEST_ID.set(request[REQUEST_ID])
    started = time.perf_counter()
    response = await handler(request)
    response.headers["X-Request-ID"] = request[REQUEST_ID]
    # The route's pattern, not the path: ids would make a label per message. A method is
    # whatever token the client sends: the standard ones, or "other".
    route = request.match_info.route.resource.canonical if request.match_info.route.resource else "unmatched"
    method = request.method if request.method in hdrs.METH_ALL else OTHER
    HTTP_LATENCY.labels(route, method).observe(time.perf_counter() - started)
    HTTP_REQUESTS.labels(route, method, str(response.status)).inc()
    return response


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every failure leaves as the one JSON error shape; nothing leaks a stack trace."""
    try:
        return await handler(request)
    except ApiError as exc:
        if exc.status >= 500:
            log.warning(
                "request failed",
                extra={"request_id": request[REQUEST_ID], "path": request.path, "code": exc.code},
            )
        return exc.response()
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = {
            404: "not_found",
            405: "method_not_allowed",
            413: "body_too_large",
        }.get(exc.status, "http_error")
        message = exc.reason if exc.status != 413 else "request body is larger than the limit"
        return json_error(
            exc.status, code, message, None, {k: v for k, v in exc.headers.items() if k == "Allow"}
        )
    except RequestPayloadError:
        # Raised while reading the body: a Content-Encoding that does not decode, broken
        # chunked framing. The client's fault, not ours.
        return json_error(
            400, "malformed_json", "request body could not be read (Content-Encoding or framing)"
        )
    except ConnectionError:
        # The client went away mid-request (say, mid-upload): nobody reads this answer, and it is
        # no fault of ours. 499 is nginx's "client closed request", so metrics show what happened.
        log.debug("client disconnected", extra={"request_id": request[REQUEST_ID], "path": request.path})
        return json_error(CLIENT_CLOSED_REQUEST, "client_closed_request", "the client closed the connection")
    except Exception:
        log.exception("unexpected error", extra={"request_id": request[REQUEST_ID], "path": request.path})
        return json_error(500, "internal", "internal error; the request id identifies it in the logs")


def is_public(path: str) -> bool:
    """A path (or a route's pattern) served without an API key."""
    return path in PUBLIC_PATHS or path.startswith(API_REFERENCE_ASSETS)


@web.middleware
async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Resolves `Authorization: Bearer <api key>` to the caller's account, then takes one
    request from the key's rate limit. Only after authentication: a wrong or made-up key
    never spends the budget of a real one. Then the route's scope: 403 without it."""
    if is_public(request.path):
        return await handler(request)
    if request.path.startswith(ADMIN_PREFIX):
        return await _admin_only(request, handler)
    scheme, _, api_key = request.headers.get("Authorization", "").partition(" ")
    if request.path == "/ws" and not scheme and "token" in request.query:
        # Browsers cannot set headers on a WebSocket: the key may come as ?token=.
        scheme, api_key = "bearer", request.query["token"]
    api_key = api_key.strip()
    if scheme.lower() != "bearer" or not API_KEY_PATTERN.fullmatch(api_key):
        raise ApiError(401, "unauthenticated", "send the API key as 'Authorization: Bearer <key>'")
    key_hash = hash_api_key(api_key)
    grant = await request.app[CLIENTS].authenticate(key_hash, grpc_metadata(request))
    request[ACCOUNT_ID] = grant.account_id
    request[API_KEY_HASH] = key_hash
    limiter = request.app.get(RATE_LIMITER)
    if limiter is not None:
        retry_after = limiter.acquire(key_hash)
        if retry_after:
            raise ApiError(
                429,
                "rate_limited",
                "too many requests for this API key; retry after the Retry-After seconds",
                {"retry_after_seconds": retry_after},
                {"Retry-After": str(retry_after)},
            )
    resource = request.match_info.route.resource
    if resource is not None:  # else no route: the handler answers 404 or 405
        needed = required_scope(request.method, resource.canonical)
        if not grant.allows(needed):
            raise ApiError(
                403,
                "insufficient_scope",
                f"this API key may not do this: it lacks the scope {needed}",
                {"required_scope": needed, "scopes": sorted(grant.scopes)},
            )
    return await handler(request)


async def _admin_only(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The admin token, compared in constant time. Without ADMIN_TOKEN no admin route is
    registered: the handler answers 404 to anyone."""
    token = request.app[SETTINGS].admin_token
    if not token:
        return await handler(request)
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token.encode()):
        raise ApiError(401, "unauthenticated", "send the admin token as 'Authorization: Bearer <token>'")
    return await handler(request)
