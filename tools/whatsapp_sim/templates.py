"""Message templates, as Meta keeps them per WhatsApp Business Account (WABA).

- `GET /{version}/{waba_id}/message_templates` lists them, paged with cursors (`limit`,
  `after`), answering `{"data": [...], "paging": {"cursors": {"before", "after"}, "next"?}}`
  ("Message Templates" in Meta's Business Management API reference). The token must be one of a
  phone number of that WABA.
- A template send is refused as Meta refuses it ("Error codes"): 132001 when no template has that
  name in that language or it is not approved, 132015 when it is paused, 132016 when it is
  disabled, 132012 when a media header gets no parameter, and 132000 when a component gets
  another number of parameters than its placeholders take.
- `POST /_sim/templates` adds or replaces one; `PATCH /_sim/templates/{waba_id}/{name}/{language}`
  changes its status and, with `webhook_url` set, sends the `message_template_status_update`
  webhook Meta sends (signed with the app secret of a phone number of that WABA).

Every WABA starts with Meta's sample `hello_world` (en_US) and an `order_update` (en, en_US),
without parameters.
"""

import itertools
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web

# Meta's template statuses (its Business SDK's list).
STATUSES = frozenset(
    {
        "APPROVED",
        "ARCHIVED",
        "DELETED",
        "DISABLED",
        "IN_APPEAL",
        "LIMIT_EXCEEDED",
        "PAUSED",
        "PENDING",
        "PENDING_DELETION",
        "REJECTED",
    }
)
CATEGORIES = frozenset({"MARKETING", "UTILITY", "AUTHENTICATION"})
# Meta's page size when no `limit` is given, and the most it takes.
DEFAULT_LIMIT = 25
MAX_LIMIT = 1000
_POSITIONAL = re.compile(r"\{\{\s*(\d+)\s*\}\}")
_NAMED = re.compile(r"\{\{\s*([a-z_][a-z0-9_]*)\s*\}\}")
_MEDIA_HEADERS = frozenset({"IMAGE", "VIDEO", "DOCUMENT", "LOCATION"})
# Buttons whose value is given at send time: a URL's dynamic suffix, a coupon code.
_BUTTONS_WITH_PARAMETER = frozenset({"URL", "COPY_CODE"})
_ids = itertools.count(1_000_000_000_000_001)


@dataclass(slots=True)
class Template:
    id: str
    name: str
    language: str
    category: str
    status: str
    components: list[dict[str, Any]]
    parameter_format: str = "POSITIONAL"

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "parameter_format": self.parameter_format,
            "components": self.components,
            "language": self.language,
            "status": self.status,
            "category": self.category,
            "id": self.id,
        }

    def media_header(self) -> str:
        """The header's media format (IMAGE, ...), or "" for a text header or none."""
        for component in self.components:
            if (
                str(component.get("type", "")).upper() == "HEADER"
                and component.get("format") in _MEDIA_HEADERS
            ):
                return str(component["format"])
        return ""

    def expected_parameters(self) -> dict[str, int]:
        """Parameters each send component must carry: "header", "body", "button:<index>"."""
        placeholders = _NAMED if self.parameter_format == "NAMED" else _POSITIONAL
        expected: dict[str, int] = {}
        for component in self.components:
            kind = str(component.get("type", "")).upper()
            if kind == "BODY" or (kind == "HEADER" and component.get("format", "TEXT") == "TEXT"):
                expected[kind.lower()] = len(set(placeholders.findall(str(component.get("text", "")))))
            elif kind == "HEADER" and component.get("format") in _MEDIA_HEADERS:
                expected["header"] = 1
            elif kind == "BUTTONS":
                for index, button in enumerate(component.get("buttons") or []):
                    kind = str(button.get("type", "")).upper()
                    if kind in _BUTTONS_WITH_PARAMETER and (
                        kind == "COPY_CODE" or placeholders.search(str(button.get("url", "")))
                    ):
                        expected[f"button:{index}"] = 1
        return expected


def sample_templates() -> list[Template]:
    hello = [
        {"type": "HEADER", "format": "TEXT", "text": "Hello World"},
        {
            "type": "BODY",
            "text": "Welcome and congratulations!! This message demonstrates your ability to "
            "send a WhatsApp message notification from the Cloud API, hosted by Meta.",
        },
        {"type": "FOOTER", "text": "WhatsApp Business Platform sample message"},
    ]
    order = [{"type": "BODY", "text": "Your order is on its way."}]
    return [
        Template(str(next(_ids)), "hello_world", "en_US", "UTILITY", "APPROVED", hello),
        Template(str(next(_ids)), "order_update", "en", "UTILITY", "APPROVED", order),
        Template(str(next(_ids)), "order_update", "en_US", "UTILITY", "APPROVED", order),
    ]


def given_parameters(components: Any) -> dict[str, int]:
    """Parameters a send's `template.components` give, keyed as `expected_parameters`."""
    given: dict[str, int] = {}
    for component in components if isinstance(components, list) else []:
        kind = str(component.get("type", "")).lower()
        key = f"button:{component.get('index', '')}" if kind == "button" else kind
        given[key] = given.get(key, 0) + len(component.get("parameters") or [])
    return given


@dataclass(slots=True)
class TemplateCatalog:
    """Every WABA's templates, keyed by (name, language), in the order they were added."""

    by_waba: dict[str, dict[tuple[str, str], Template]] = field(default_factory=dict)

    def of(self, waba_id: str) -> dict[tuple[str, str], Template]:
        templates = self.by_waba.get(waba_id)
        if templates is None:
            templates = self.by_waba[waba_id] = {(t.name, t.language): t for t in sample_templates()}
        return templates

    def refusal(self, waba_id: str, template: dict[str, Any]) -> tuple[int, str] | None:
        """The Graph error (code, details) Meta answers a send of `template` with, if any."""
        name = str(template.get("name"))
        language = str((template.get("language") or {}).get("code"))
        found = self.of(waba_id).get((name, language))
        if found is None or found.status not in ("APPROVED", "PAUSED", "DISABLED"):
            return 132001, f"template name ({name}) does not exist in {language}"
        if found.status == "PAUSED":
            return 132015, f"Template {name} is paused."
        if found.status == "DISABLED":
            return 132016, f"Template {name} is disabled."
        expected = found.expected_parameters()
        given = given_parameters(template.get("components"))
        if found.media_header() and not given.get("header"):
            return 132012, f"header: Format mismatch, expected {found.media_header()}, received UNKNOWN"
        for key in sorted(expected.keys() | given.keys()):
            if expected.get(key, 0) != given.get(key, 0):
                return 132000, (
                    f"{key} has {expected.get(key, 0)} parameters in template {name}, "
                    f"{given.get(key, 0)} were given."
                )
        return None


def parse_template(data: Any) -> tuple[str, Template]:
    """(waba_id, template) from `POST /_sim/templates`: {"waba_id", "name", "language",
    "category", "components", "status"?, "parameter_format"?}; raises ValueError."""
    if not isinstance(data, dict):
        raise ValueError("the body must be a JSON object")
    strings = {}
    for key in ("waba_id", "name", "language", "category"):
        value = data.get(key)
        if not isinstance(value, str) or not value:
            raise ValueError(f"{key} must be a non-empty string")
        strings[key] = value
    if strings["category"] not in CATEGORIES:
        raise ValueError(f"category must be one of {', '.join(sorted(CATEGORIES))}")
    status = data.get("status", "APPROVED")
    if status not in STATUSES:
        raise ValueError(f"status must be one of {', '.join(sorted(STATUSES))}")
    parameter_format = data.get("parameter_format", "POSITIONAL")
    if parameter_format not in ("POSITIONAL", "NAMED"):
        raise ValueError("parameter_format must be POSITIONAL or NAMED")
    components = data.get("components", [])
    if not isinstance(components, list) or not all(isinstance(c, dict) for c in components):
        raise ValueError("components must be a list of objects")
    template = Template(
        str(next(_ids)),
        strings["name"],
        strings["language"],
        strings["category"],
        status,
        components,
        parameter_format,
    )
    return strings["waba_id"], template


def status_update_value(template: Template, reason: str) -> dict[str, Any]:
    """The `value` of a `message_template_status_update` change (Meta's webhooks reference)."""
    return {
        "event": template.status,
        "message_template_id": int(template.id),
        "message_template_name": template.name,
        "message_template_language": template.language,
        "reason": reason or "NONE",
        "message_template_category": template.category,
    }


def status_update_notification(waba_id: str, template: Template, reason: str) -> dict[str, Any]:
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": waba_id,
                "time": int(time.time()),
                "changes": [
                    {
                        "field": "message_template_status_update",
                        "value": status_update_value(template, reason),
                    }
                ],
            }
        ],
    }


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(data), status=status, content_type="application/json")


def page(templates: list[Template], limit: int, after: str, next_url: Callable[[str], str]) -> dict[str, Any]:
    """One page of Meta's cursor paging: the cursors are the first and last template's ids."""
    start = 0
    if after:
        ids = [t.id for t in templates]
        start = ids.index(after) + 1 if after in ids else len(templates)
    chunk = templates[start : start + limit]
    answer: dict[str, Any] = {"data": [t.as_json() for t in chunk]}
    if chunk:
        answer["paging"] = {"cursors": {"before": chunk[0].id, "after": chunk[-1].id}}
        if start + limit < len(templates):
            answer["paging"]["next"] = next_url(chunk[-1].id)
    return answer


def page_limit(raw: str | None) -> int:
    """The `limit` query parameter; raises ValueError."""
    if raw is None:
        return DEFAULT_LIMIT
    limit = int(raw)
    if not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be between 1 and {MAX_LIMIT}")
    return limit
