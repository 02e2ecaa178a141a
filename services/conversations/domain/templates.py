"""Message templates: what a send of one must carry, and why pigeon refuses one before any
WhatsApp call.

WhatsApp refuses a template send only after the round trip (Meta's "Error codes": 132001 no
such template in that language or not approved, 132015 paused, 132016 disabled, 132000 a
component's parameter count, 132012 a media header without its parameter). pigeon keeps each
account's templates as WhatsApp lists them and refuses those sends itself, each with a code of
its own (`RefusalCode`), and a marketing template to a contact who opted out of marketing
messages (what WhatsApp would refuse with 131050).

Parameters are counted per component as Meta's "Template components" says: a text header or
body takes one per distinct placeholder (`{{1}}`, or `{{first_name}}` for NAMED templates); a
media header (image, video, document, location) one of that kind; a URL button whose URL ends
in a placeholder, or a copy-code button, one, under its index.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import orjson

from services.shared.vocabulary import TEMPLATE_CATEGORIES, TEMPLATE_STATUSES, RefusalCode

APPROVED = "APPROVED"
MARKETING = "MARKETING"
# Status-update webhooks' events that are statuses; the others (FLAGGED, LOCKED, REINSTATED,
# UNARCHIVED) set none.
STATUSES = TEMPLATE_STATUSES
CATEGORIES = TEMPLATE_CATEGORIES
_POSITIONAL = re.compile(r"\{\{\s*\d+\s*\}\}")
_NAMED = re.compile(r"\{\{\s*[a-z_][a-z0-9_]*\s*\}\}")
MEDIA_HEADER_FORMATS = frozenset({"IMAGE", "VIDEO", "DOCUMENT", "LOCATION"})


@dataclass(frozen=True, slots=True)
class Template:
    name: str
    language: str
    whatsapp_id: str
    category: str
    status: str
    parameter_format: str
    components: list[dict[str, Any]]
    # Parameters a send gives each component: "header", "body", "button:<index>".
    parameter_counts: dict[str, int]


@dataclass(frozen=True, slots=True)
class Catalog:
    """An account's templates by (name, language); `synced` False: never listed, nothing to check."""

    synced: bool
    templates: Mapping[tuple[str, str], Template]


@dataclass(frozen=True, slots=True)
class ListedTemplate:
    """A template as the API lists it: with when pigeon last saw it change."""

    template: Template
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class DueListing:
    """An account whose templates are to be listed again. Holds a secret: never log it."""

    account_id: UUID
    waba_id: str
    access_token: str


@dataclass(frozen=True, slots=True)
class Refusal:
    code: RefusalCode
    message: str


def _placeholders(text: Any, parameter_format: str) -> int:
    pattern = _NAMED if parameter_format.upper() == "NAMED" else _POSITIONAL
    return len({match.replace(" ", "") for match in pattern.findall(str(text or ""))})


def parameter_counts(components: list[dict[str, Any]], parameter_format: str) -> dict[str, int]:
    """The parameters a send must give each component of a template WhatsApp listed."""
    counts: dict[str, int] = {}
    for component in components:
        kind = str(component.get("type", "")).upper()
        header_format = str(component.get("format", "TEXT")).upper()
        if kind == "HEADER" and header_format in MEDIA_HEADER_FORMATS:
            counts["header"] = 1
        elif kind in ("HEADER", "BODY"):
            counts[kind.lower()] = _placeholders(component.get("text"), parameter_format)
        elif kind == "BUTTONS":
            for index, button in enumerate(component.get("buttons") or []):
                button_type = str(button.get("type", "")).upper() if isinstance(button, dict) else ""
                url = button.get("url") if isinstance(button, dict) else None
                if button_type == "COPY_CODE" or (
                    button_type == "URL" and _placeholders(url, parameter_format)
                ):
                    counts[f"button:{index}"] = 1
    return {key: count for key, count in counts.items() if count}


def template_of(
    name: str,
    language: str,
    whatsapp_id: str,
    category: str,
    status: str,
    parameter_format: str,
    components_json: bytes,
) -> Template:
    """A template from WhatsApp's listing; components of an unexpected shape count as none."""
    parsed = orjson.loads(components_json) if components_json else []
    components = [c for c in parsed if isinstance(c, dict)] if isinstance(parsed, list) else []
    return Template(
        name,
        language,
        whatsapp_id,
        category.upper(),
        status.upper(),
        parameter_format.upper() or "POSITIONAL",
        components,
        parameter_counts(components, parameter_format),
    )


def _given_counts(components: Any) -> dict[str, int]:
    """The parameters a send's `template.components` give each component."""
    given: dict[str, int] = {}
    for component in components if isinstance(components, list) else []:
        if not isinstance(component, dict):
            continue
        kind = str(component.get("type", "")).lower()
        key = f"button:{component.get('index', '')}" if kind == "button" else kind
        parameters = component.get("parameters")
        given[key] = given.get(key, 0) + (len(parameters) if isinstance(parameters, list) else 0)
    return {key: count for key, count in given.items() if count}


def describe_counts(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{key}: {count}" for key, count in sorted(counts.items())) or "none"


def is_marketing(catalog: Catalog, content: dict[str, Any]) -> bool:
    """Whether the content names a MARKETING template of the catalog."""
    language = (content.get("language") or {}).get("code", "")
    template = catalog.templates.get((str(content.get("name", "")), str(language)))
    return template is not None and template.category == MARKETING


def refusal(catalog: Catalog, content: dict[str, Any], opted_out_of_marketing: bool) -> Refusal | None:
    """Why a send of this template content would fail at WhatsApp, if pigeon can tell."""
    if not catalog.synced:
        return None
    name = str(content.get("name", ""))
    language = str((content.get("language") or {}).get("code", ""))
    template = catalog.templates.get((name, language))
    if template is None:
        languages = sorted(lang for (known, lang) in catalog.templates if known == name)
        if not languages:
            return Refusal(RefusalCode.TEMPLATE_NOT_FOUND, f"no template named {name!r}")
        return Refusal(
            RefusalCode.TEMPLATE_LANGUAGE_NOT_FOUND,
            f"template {name!r} has no {language!r} version (it has {', '.join(languages)})",
        )
    if template.status != APPROVED:
        return Refusal(
            RefusalCode.TEMPLATE_NOT_APPROVED,
            f"template {name!r} ({language}) is {template.status}, not APPROVED",
        )
    given = _given_counts(content.get("components"))
    if given != template.parameter_counts:
        return Refusal(
            RefusalCode.TEMPLATE_PARAMETER_MISMATCH,
            f"template {name!r} ({language}) takes parameters {describe_counts(template.parameter_counts)};"
            f" the send gives {describe_counts(given)}",
        )
    if template.category == MARKETING and opted_out_of_marketing:
        return Refusal(
            RefusalCode.MARKETING_OPTED_OUT,
            "the contact asked WhatsApp to stop marketing messages; send a utility template or wait for "
            "them to resume",
        )
    return None


@dataclass(frozen=True, slots=True)
class TemplateStatusChange:
    """A `message_template_status_update` webhook's change: a template of a WABA changed status."""

    waba_id: str
    whatsapp_id: str
    name: str
    language: str
    # APPROVED, PAUSED, DISABLED, REJECTED, ...; or an event that is not a status (FLAGGED).
    event: str


TEMPLATE_STATUS_FIELD = "message_template_status_update"


def template_status_changes(payload: dict[str, Any]) -> list[TemplateStatusChange]:
    """Every template status change a notification carries; changes of odd shape are skipped."""
    found: list[TemplateStatusChange] = []
    entries = payload.get("entry")
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict) or not isinstance(entry.get("changes"), list):
            continue
        for change in entry["changes"]:
            if not isinstance(change, dict) or change.get("field") != TEMPLATE_STATUS_FIELD:
                continue
            value = change.get("value")
            if not isinstance(value, dict):
                continue
            found.append(
                TemplateStatusChange(
                    waba_id=str(entry.get("id", "")),
                    whatsapp_id=str(value.get("message_template_id", "")),
                    name=str(value.get("message_template_name", "")),
                    language=str(value.get("message_template_language", "")),
                    event=str(value.get("event", "")).upper(),
                )
            )
    return found


def businesses_named(payload: dict[str, Any]) -> list[str]:
    """The WABAs whose template changes a notification carries, in order, each once."""
    return list(
        dict.fromkeys(change.waba_id for change in template_status_changes(payload) if change.waba_id)
    )
