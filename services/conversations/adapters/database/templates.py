"""Message templates (`templates.sql`): each account's as WhatsApp last listed them, and the
due-time queue of those listings."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
import orjson

from services.conversations.adapters.database.pool import StatementPool
from services.conversations.adapters.database.queries import Queries
from services.conversations.domain.templates import Catalog, DueListing, ListedTemplate, Template
from services.shared.secrets_at_rest import ACCESS_TOKEN, SecretBox

SQL = Queries("templates.sql")


def _template(row: asyncpg.Record) -> Template:
    return Template(
        name=row["name"],
        language=row["language"],
        whatsapp_id=row["whatsapp_id"],
        category=row["category"],
        status=row["status"],
        parameter_format=row["parameter_format"],
        components=orjson.loads(row["components"]),
        parameter_counts=orjson.loads(row["parameter_counts"]),
    )


class TemplateStore:
    def __init__(self, pool: StatementPool, secrets: SecretBox) -> None:
        self.pool = pool
        self.secrets = secrets

    async def claim_due(self, limit: int, lease_seconds: float) -> list[DueListing]:
        found = await self.pool.run(SQL.claim_template_syncs, limit=limit, lease_seconds=lease_seconds)
        return [
            DueListing(r["account_id"], r["waba_id"], self.secrets.decrypt(ACCESS_TOKEN, r["access_token"]))
            for r in found
        ]

    async def replace(
        self, account_id: UUID, templates: Sequence[Template], sync_every_seconds: float
    ) -> None:
        columns: dict[str, list[Any]] = {
            "names": [t.name for t in templates],
            "languages": [t.language for t in templates],
            "whatsapp_ids": [t.whatsapp_id for t in templates],
            "categories": [t.category for t in templates],
            "statuses": [t.status for t in templates],
            "parameter_formats": [t.parameter_format for t in templates],
            "components": [orjson.dumps(t.components).decode() for t in templates],
            "parameter_counts": [orjson.dumps(t.parameter_counts).decode() for t in templates],
        }
        await self.pool.run(
            SQL.replace_templates, account_id=account_id, sync_every_seconds=sync_every_seconds, **columns
        )

    async def failed(self, account_id: UUID, failure: str, retry_seconds: float) -> None:
        await self.pool.run(
            SQL.template_sync_failed, account_id=account_id, failure=failure, retry_seconds=retry_seconds
        )

    async def sync_now(self, account_id: UUID) -> None:
        await self.pool.run(SQL.sync_templates_now, account_id=account_id)

    async def catalog(self, account_id: UUID) -> Catalog:
        found = await self.pool.run(SQL.account_templates, account_id=account_id)
        templates = {(r["name"], r["language"]): _template(r) for r in found if r["name"] is not None}
        return Catalog(synced=bool(found) and found[0]["synced"], templates=templates)

    async def list_page(
        self,
        account_id: UUID,
        limit: int,
        after: tuple[str, str] | None,
        status: str | None,
        category: str | None,
        name: str | None,
    ) -> list[ListedTemplate]:
        found = await self.pool.run(
            SQL.list_templates,
            account_id=account_id,
            limit=limit,
            after_name=after[0] if after else None,
            after_language=after[1] if after else None,
            status=status,
            category=category,
            name=name,
        )
        return [ListedTemplate(_template(r), r["updated_at"]) for r in found]

    async def marketing_opt_out(self, account_id: UUID, conversation_id: UUID) -> bool:
        found = await self.pool.run(
            SQL.marketing_opt_out, account_id=account_id, conversation_id=conversation_id
        )
        return bool(found and found[0]["marketing_opt_out"])

    async def sync_state(self, account_id: UUID) -> tuple[datetime | None, str]:
        found = await self.pool.run(SQL.template_sync_state, account_id=account_id)
        return (found[0]["synced_at"], found[0]["failure"]) if found else (None, "")
