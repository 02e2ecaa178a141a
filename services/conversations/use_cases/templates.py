"""Message templates: each account's kept as WhatsApp lists them, to list them and to check
template sends before any WhatsApp call (`domain/templates.py` says what is refused).

`TemplateSync` lists the templates of accounts whose listing is due: every
TEMPLATE_SYNC_EVERY_SECONDS, at once for a new account or a changed WABA id, and at once after a
`message_template_status_update` webhook (which also sets the template's new status itself, so
that a paused template is refused without waiting for the listing). `Templates` keeps each
account's catalog in a TTL cache, dropped on every replica when a listing or a webhook changed it
(a `pigeon_cache` notification, "templates:<account id>").
"""

import base64
import binascii
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import orjson

from services.conversations.domain.errors import InvalidArgument, Refused
from services.conversations.domain.model import Content
from services.conversations.domain.pages import page_limit
from services.conversations.domain.templates import (
    CATEGORIES,
    STATUSES,
    Catalog,
    ListedTemplate,
    Template,
    is_marketing,
    refusal,
)
from services.conversations.settings import TemplateSettings
from services.conversations.use_cases.ports import TemplateSenderPort, TemplateStorePort
from services.shared.cache import TtlCache
from services.shared.whatsapp_errors import Failure

log = logging.getLogger(__name__)

TEMPLATES_CHANNEL = "pigeon_templates"
# A listing is every page of it: claimed for longer than the sender's call may take.
LISTING_LEASE_SECONDS = 180.0


@dataclass(frozen=True, slots=True)
class TemplatePage:
    templates: list[ListedTemplate]
    next_page_token: str
    # When the account's templates were last listed from WhatsApp (None: never), and why the
    # last try failed ("" when it did not).
    synced_at: datetime | None
    sync_failure: str


def _encode_after(template: Template) -> str:
    raw = orjson.dumps([template.name, template.language])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_after(token: str) -> tuple[str, str] | None:
    if not token:
        return None
    try:
        name, language = orjson.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        return str(name), str(language)
    except (ValueError, TypeError, binascii.Error):
        raise InvalidArgument("page_token is not a token this API returned") from None


def _one_of(value: str, allowed: tuple[str, ...], name: str) -> str | None:
    if not value:
        return None
    if value.upper() not in allowed:
        raise InvalidArgument(f"{name} must be one of {', '.join(allowed)}")
    return value.upper()


class Templates:
    def __init__(self, store: TemplateStorePort, cache_ttl_seconds: float) -> None:
        self.store = store
        self.catalogs: TtlCache[UUID, Catalog] = TtlCache(cache_ttl_seconds)

    async def catalog(self, account_id: UUID) -> Catalog:
        return await self.catalogs.get(account_id, lambda: self.store.catalog(account_id))

    async def check(self, account_id: UUID, conversation_id: UUID, content: Content) -> None:
        """Raises Refused when WhatsApp would refuse this template send; other types pass. The
        contact's marketing opt-out is read only for a MARKETING template."""
        if content.type != "template":
            return
        template: Any = orjson.loads(content.body_json)
        if not isinstance(template, dict):
            return  # the gateway's validation refuses it; the sender would too
        catalog = await self.catalog(account_id)
        opted_out = is_marketing(catalog, template) and await self.store.marketing_opt_out(
            account_id, conversation_id
        )
        found = refusal(catalog, template, opted_out)
        if found is not None:
            raise Refused(found.code, found.message)

    async def list(
        self, account_id: UUID, page_size: int, page_token: str, status: str, category: str, name: str
    ) -> TemplatePage:
        limit = page_limit(page_size)
        found = await self.store.list_page(
            account_id,
            limit + 1,
            _decode_after(page_token),
            _one_of(status, STATUSES, "status"),
            _one_of(category, CATEGORIES, "category"),
            name or None,
        )
        synced_at, failure = await self.store.sync_state(account_id)
        next_token = _encode_after(found[limit - 1].template) if len(found) > limit else ""
        return TemplatePage(found[:limit], next_token, synced_at, failure)

    async def sync_now(self, account_id: UUID) -> None:
        await self.store.sync_now(account_id)

    def forget(self, notification: str) -> None:
        """Drops an account's catalog on a "templates:<account id>" `pigeon_cache` notification."""
        kind, _, rest = notification.partition(":")
        if kind == "templates":
            try:
                self.catalogs.invalidate(UUID(rest))
            except ValueError:
                return

    def forget_everything(self) -> None:
        self.catalogs.clear()


class TemplateSync:
    def __init__(
        self, store: TemplateStorePort, sender: TemplateSenderPort, settings: TemplateSettings
    ) -> None:
        self.store = store
        self.sender = sender
        self.settings = settings

    async def sync_due(self, limit: int = 8) -> int:
        """Lists the templates of up to `limit` accounts whose listing is due; how many were due."""
        due = await self.store.claim_due(limit, LISTING_LEASE_SECONDS)
        for listing in due:
            listed = await self.sender.list_templates(listing.waba_id, listing.access_token)
            if isinstance(listed, Failure):
                log.warning(
                    "template listing failed",
                    extra={
                        "account_id": str(listing.account_id),
                        "code": listed.code,
                        "error": listed.message,
                    },
                )
                reason = f"{listed.code}: {listed.message}"[:500]
                await self.store.failed(listing.account_id, reason, self.settings.retry_seconds)
                continue
            # Meta's listing has one template per (name, language); a repeat would fail the upsert.
            unique = {(t.name, t.language): t for t in listed}
            await self.store.replace(
                listing.account_id, list(unique.values()), self.settings.sync_every_seconds
            )
        return len(due)
