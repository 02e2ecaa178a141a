"""Templates' rules (domain/templates.py) and their listing (use_cases/templates.py), with fakes."""

from typing import Any
from uuid import uuid4

import orjson
import pytest

from services.conversations.domain.errors import Refused
from services.conversations.domain.model import Content
from services.conversations.domain.templates import (
    Catalog,
    Template,
    parameter_counts,
    refusal,
    template_of,
    template_status_changes,
)
from services.conversations.settings import TemplateSettings
from services.conversations.use_cases.templates import Templates, TemplateSync
from services.shared.vocabulary import RefusalCode
from services.shared.whatsapp_errors import Failure, FailureClass, FailureKind
from tests.unit.fakes import FakeTemplateSender, FakeTemplateStore

SETTINGS = TemplateSettings(worker_enabled=True, sync_every_seconds=900, retry_seconds=60)


def listed(
    name: str,
    language: str = "en",
    *,
    category: str = "UTILITY",
    status: str = "APPROVED",
    components: list[dict[str, Any]] | None = None,
    parameter_format: str = "POSITIONAL",
) -> Template:
    return template_of(
        name, language, "1" + name, category, status, parameter_format, orjson.dumps(components or [])
    )


def test_parameters_are_counted_per_component_as_meta_says() -> None:
    components: list[dict[str, Any]] = [
        {"type": "HEADER", "format": "TEXT", "text": "Order {{1}}"},
        {"type": "BODY", "text": "Hi {{1}}, {{2}} and {{ 2 }} again, {{3}}"},
        {"type": "FOOTER", "text": "no {{4}} counted here"},
        {
            "type": "BUTTONS",
            "buttons": [
                {"type": "QUICK_REPLY", "text": "Stop"},
                {"type": "URL", "url": "https://x.example/{{1}}"},
                {"type": "URL", "url": "https://x.example/static"},
                {"type": "COPY_CODE", "example": "SAVE10"},
            ],
        },
    ]
    assert parameter_counts(components, "POSITIONAL") == {
        "header": 1,
        "body": 3,
        "button:1": 1,
        "button:3": 1,
    }
    assert parameter_counts([{"type": "HEADER", "format": "VIDEO"}], "POSITIONAL") == {"header": 1}
    named = [{"type": "BODY", "text": "Hi {{first_name}}, {{order_id}}; {{1}} is not a name"}]
    assert parameter_counts(named, "NAMED") == {"body": 2}


def test_refusals_name_what_whatsapp_would_refuse() -> None:
    body: list[dict[str, Any]] = [{"type": "BODY", "text": "Hi {{1}}"}]
    catalog = Catalog(
        True,
        {
            ("greet", "en"): listed("greet", components=body),
            ("greet", "pt_BR"): listed("greet", "pt_BR", components=body),
            ("paused", "en"): listed("paused", status="PAUSED"),
            ("promo", "en"): listed("promo", category="MARKETING"),
        },
    )
    one = [{"type": "body", "parameters": [{"type": "text", "text": "Ann"}]}]

    def code(content: dict[str, object], opted_out: bool = False) -> RefusalCode | None:
        found = refusal(catalog, content, opted_out)
        return found.code if found else None

    assert code({"name": "greet", "language": {"code": "en"}, "components": one}) is None
    assert code({"name": "nope", "language": {"code": "en"}}) == RefusalCode.TEMPLATE_NOT_FOUND
    missing = refusal(catalog, {"name": "greet", "language": {"code": "de"}}, False)
    assert (
        missing and missing.code == RefusalCode.TEMPLATE_LANGUAGE_NOT_FOUND and "en, pt_BR" in missing.message
    )
    assert code({"name": "paused", "language": {"code": "en"}}) == RefusalCode.TEMPLATE_NOT_APPROVED
    assert code({"name": "greet", "language": {"code": "en"}}) == RefusalCode.TEMPLATE_PARAMETER_MISMATCH
    two = [{"type": "body", "parameters": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}]
    assert code({"name": "greet", "language": {"code": "en"}, "components": two}) == (
        RefusalCode.TEMPLATE_PARAMETER_MISMATCH
    )
    extra = [{"type": "header", "parameters": [{"type": "text", "text": "x"}]}, *one]
    assert code({"name": "greet", "language": {"code": "en"}, "components": extra}) == (
        RefusalCode.TEMPLATE_PARAMETER_MISMATCH
    )
    assert code({"name": "promo", "language": {"code": "en"}}) is None
    assert (
        code({"name": "promo", "language": {"code": "en"}}, opted_out=True) == RefusalCode.MARKETING_OPTED_OUT
    )
    assert code({"name": "greet", "language": {"code": "en"}, "components": one}, opted_out=True) is None
    # Never listed: nothing to check against.
    assert refusal(Catalog(False, {}), {"name": "nope", "language": {"code": "en"}}, True) is None


def test_template_status_changes_are_read_from_their_field_only() -> None:
    value = {
        "event": "paused",
        "message_template_id": 123,
        "message_template_name": "greet",
        "message_template_language": "en",
        "reason": "NONE",
    }
    payload = {
        "entry": [
            {"id": "waba-1", "changes": [{"field": "message_template_status_update", "value": value}, None]},
            {"id": "waba-2", "changes": [{"field": "messages", "value": value}]},
            "odd",
        ]
    }
    (change,) = template_status_changes(payload)
    assert (change.waba_id, change.whatsapp_id, change.name, change.language, change.event) == (
        "waba-1",
        "123",
        "greet",
        "en",
        "PAUSED",
    )


async def test_a_listing_replaces_the_catalog_and_a_failure_keeps_it() -> None:
    store, sender = FakeTemplateStore(), FakeTemplateSender()
    account_id = uuid4()
    store.add_account(account_id, "waba-1")
    sender.listings["waba-1"] = [listed("greet"), listed("greet")]
    sync = TemplateSync(store, sender, SETTINGS)
    assert await sync.sync_due() == 1
    catalog = await store.catalog(account_id)
    assert catalog.synced and list(catalog.templates) == [("greet", "en")]

    sender.listings["waba-1"] = Failure(
        FailureClass.NEEDS_OPERATOR, FailureKind.WHATSAPP_ERROR, "190", "expired"
    )
    await store.sync_now(account_id)
    assert await sync.sync_due() == 1
    assert store.failures[account_id] == "190: expired"
    assert list((await store.catalog(account_id)).templates) == [("greet", "en")]
    assert await sync.sync_due() == 0


async def test_a_refused_send_raises_and_other_types_pass() -> None:
    store = FakeTemplateStore()
    account_id = uuid4()
    store.add_account(account_id, "waba-1")
    await store.replace(account_id, [listed("greet")], 900)
    templates = Templates(store, 60.0)
    conversation_id = uuid4()
    await templates.check(account_id, conversation_id, Content("text", b'{"body": "no template"}', ""))
    greet = b'{"name": "greet", "language": {"code": "en"}}'
    await templates.check(account_id, conversation_id, Content("template", greet, ""))
    with pytest.raises(Refused) as refused:
        gone = b'{"name": "gone", "language": {"code": "en"}}'
        await templates.check(account_id, conversation_id, Content("template", gone, ""))
    assert refused.value.code == RefusalCode.TEMPLATE_NOT_FOUND
    assert str(refused.value).startswith("template_not_found: ")


async def test_a_marketing_template_to_a_contact_who_opted_out_is_refused() -> None:
    store = FakeTemplateStore()
    account_id, opted_out, other = uuid4(), uuid4(), uuid4()
    store.add_account(account_id, "waba-1")
    await store.replace(account_id, [listed("promo", category="MARKETING"), listed("receipt")], 900)
    store.opted_out.add(opted_out)
    templates = Templates(store, 60.0)
    promo = Content("template", b'{"name": "promo", "language": {"code": "en"}}', "")
    with pytest.raises(Refused) as refused:
        await templates.check(account_id, opted_out, promo)
    assert refused.value.code == RefusalCode.MARKETING_OPTED_OUT
    await templates.check(account_id, other, promo)
    receipt = b'{"name": "receipt", "language": {"code": "en"}}'
    await templates.check(account_id, opted_out, Content("template", receipt, ""))
