"""The HTTP API fuzzed from its own OpenAPI document (schemathesis + Hypothesis).

Every documented operation gets generated requests, valid ones (positive) and invalid
ones (negative: wrong types, missing fields, out-of-range values, a missing API key),
sent to the running gateway with a real API key. Each answer must be:

- no server error (`not_a_server_error`): a 5xx is a bug, whatever the input;
- a documented status (`status_code_conformance`) with a body of the documented schema
  (`response_schema_conformance`) and media type (`content_type_conformance`);
- for the operations whose request body's schema is made from the models that decode it
  (MODEL_BODIES), a valid body is accepted (`positive_data_acceptance`): never the 400 of a
  validator stricter than its schema. Their 422s are WhatsApp's or the account's refusals (a
  closed window, an unknown template), so they count as accepted, as do 404 (a generated
  conversation_id) and the statuses schemathesis expects anyway. Their valid bodies hold no
  U+0000, which SendRequest's description refuses but no schema keyword can; and the rules
  that span several fields where no JSON Schema keyword reaches (CROSS_FIELD_RULES: unique
  ids, rows or parameters in all) are stated in the descriptions, so a 400 naming one of
  those fields is counted apart, not held against the schema.

A request whose line or a header is over aiohttp's 8190 bytes (the negative phase makes
such query strings now and then) is answered by aiohttp's HTTP parser with a plain-text
400, as the README documents; those are counted apart, not held to the schema.

Operations with path ids run twice: with generated UUIDs (mostly 404) and with the
fuzzing account's real ids, so that the 200 answers and their schemas are exercised too.

Left out: `GET /ws` (a WebSocket upgrade; tests/e2e/test_websocket.py covers it) and
`POST /webhooks/whatsapp`: nothing generated carries a valid `X-Hub-Signature-256`, so
every case would be the same 401 before any parsing (tests/e2e/test_webhooks.py covers
signed and unsigned notifications).

`FUZZ_EXAMPLES` sets the examples per operation and mode (default 10: about 30 s here);
`make fuzz` runs many more.
"""

import asyncio
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.core.failures import FailureGroup
from schemathesis.generation import GenerationMode
from schemathesis.openapi.checks import RejectedPositiveData
from schemathesis.schemas import APIOperation
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import text

from tests.fixtures.stack import Running
from tools.seed import SeededAccount, create_account

FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "10"))
EXCLUDED = {"GET /ws", "POST /webhooks/whatsapp"}
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance, content_type_conformance]
# Request bodies decoded into msgspec models whose schemas are the document's, and whose valid
# values pigeon accepts (a webhook endpoint's URL and events are judged by conversations: a 400).
MODEL_BODIES = {
    "POST /messages/send",
    "POST /messages/send-async",
    "POST /webhook-endpoints/{endpoint_id}/replay",
}
ACCEPTED = ["2xx", "401", "403", "404", "409", "422", "429", "5xx"]
CROSS_FIELD_RULES = {
    "interactive.action.buttons[].reply.id",
    "interactive.action.buttons[].reply.title",
    "interactive.action.sections",
    "interactive.action.sections[].rows[].id",
    "template.components",
}
CONFIG = SchemathesisConfig.from_dict(
    {
        "operations": [
            {
                "include-path-regex": "^/messages/send",
                "checks": {"positive_data_acceptance": {"expected-statuses": ACCEPTED}},
                # No JSON Schema says "no U+0000 in any string" of an open-ended object (a template's
                # parameters): SendRequest's description does, and valid data is made without it.
                "generation": {"allow-x00": False},
            }
        ]
    }
)
PARSER_LINE_LIMIT = 8190
# The simulator answers `to` = 1999<code> with that WhatsApp error and 1998<ms> after a
# delay (see README): scripted 502/504s, not bugs. Generated numbers are moved off them.
SIMULATOR_SCRIPTED = ("1998", "1999")


@dataclass
class Report:
    cases: int = 0
    rate_limited: int = 0
    cross_field: int = 0
    parser_refused: int = 0
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    # One entry per (operation, check, status): the first failure's text and a curl line.
    failures: dict[tuple[str, str, int], str] = field(default_factory=dict)

    def summary(self) -> str:
        server_errors = sum(n for (_, status), n in self.statuses.items() if status >= 500)
        lines = [
            f"fuzz: {self.cases} cases, {server_errors} answered 5xx, {len(self.failures)} distinct failures, "
            f"{self.rate_limited} retried after 429, {self.parser_refused} refused by the HTTP parser (too long), "
            f"{self.cross_field} valid bodies refused by a rule across fields"
        ]
        lines += [f"  {label} -> {status}: {n}" for (label, status), n in sorted(self.statuses.items())]
        return "\n".join(lines)


def refused_by_the_http_parser(response: Any) -> bool:
    """A request line or header over aiohttp's 8190 bytes is refused by its HTTP parser
    before any pigeon code runs, with a plain-text 400 (documented in the README); the
    negative phase generates such query strings now and then."""
    sent = response.request
    too_long = len(sent.method) + len(sent.url) + 10 > PARSER_LINE_LIMIT or any(
        len(name) + len(str(value)) + 2 > PARSER_LINE_LIMIT for name, value in sent.headers.items()
    )
    # schemathesis' response headers: lowercase names, a list of values each.
    content_type = response.headers.get("content-type", [""])[0]
    return bool(too_long and response.status_code == 400 and content_type.startswith("text/plain"))


def refused_across_fields(response: Any) -> bool:
    """A 400 for one of the rules no JSON Schema keyword can state (CROSS_FIELD_RULES)."""
    if response.status_code != 400:
        return False
    details = response.json()["error"]["details"] or {}
    return details.get("field") in CROSS_FIELD_RULES


def has_inputs(operation: APIOperation) -> bool:
    """Negative generation needs something to make invalid."""
    return bool(list(operation.iter_parameters()) or operation.body)


def avoid_scripted_numbers(body: Any) -> None:
    if isinstance(body, dict) and isinstance(body.get("to"), str):
        digits = body["to"].removeprefix("+")
        if digits.startswith(SIMULATOR_SCRIPTED):
            body["to"] = "1555" + digits[4:]


def fuzz_operation(
    operation: APIOperation,
    mode: GenerationMode,
    base_url: str,
    api_key: str,
    report: Report,
    *,
    path_parameters: dict[str, str] | None = None,
    conversation_id: str | None = None,
) -> None:
    session = requests.Session()
    headers = {"Authorization": f"Bearer {api_key}"}
    strategy = operation.as_strategy(generation_mode=mode, path_parameters=path_parameters)
    checks = CHECKS
    if mode is GenerationMode.POSITIVE and operation.label in MODEL_BODIES:
        checks = [*CHECKS, positive_data_acceptance]

    @settings(
        max_examples=FUZZ_EXAMPLES,
        deadline=None,
        database=None,
        # No shrinking: every failure is recorded as found, and the run goes on.
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case: Any) -> None:
        avoid_scripted_numbers(case.body)
        if conversation_id and isinstance(case.body, dict) and "conversation_id" in case.body:
            case.body["conversation_id"] = conversation_id
        response = case.call(base_url=base_url, session=session, headers=headers, timeout=30)
        # A careful client: wait as told and retry, so that the limit does not eat the run.
        while response.status_code == 429 and report.rate_limited < 1000:
            report.rate_limited += 1
            time.sleep(int(response.headers.get("Retry-After", "1")))
            response = case.call(base_url=base_url, session=session, headers=headers, timeout=30)
        report.cases += 1
        report.statuses[(operation.label, response.status_code)] += 1
        if refused_by_the_http_parser(response):
            report.parser_refused += 1
            return
        try:
            case.validate_response(response, checks=checks, headers=headers)
        except FailureGroup as group:
            for failure in group.exceptions:
                if isinstance(failure, RejectedPositiveData) and refused_across_fields(response):
                    report.cross_field += 1
                    continue
                key = (operation.label, type(failure).__name__, response.status_code)
                if key not in report.failures:
                    curl = case.as_curl_command(headers=headers)
                    report.failures[key] = f"{failure}\nanswer: {response.text[:1000]}\n{curl[:2000]}"

    run()


def fuzz(document: dict[str, Any], base_url: str, account: SeededAccount, real_ids: dict[str, str]) -> Report:
    schema = schemathesis.openapi.from_dict(document, config=CONFIG)
    report = Report()
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.label in EXCLUDED:
            continue
        modes = [GenerationMode.POSITIVE] + ([GenerationMode.NEGATIVE] if has_inputs(operation) else [])
        for mode in modes:
            fuzz_operation(operation, mode, base_url, account.api_key, report)
            names = {p.name for p in operation.path_parameters}
            if names and names <= set(real_ids):
                fuzz_operation(
                    operation,
                    mode,
                    base_url,
                    account.api_key,
                    report,
                    path_parameters={name: real_ids[name] for name in names},
                )
            if operation.body and mode is GenerationMode.POSITIVE:
                # Sends into a real conversation, whose contact wrote minutes ago: text goes out.
                fuzz_operation(
                    operation,
                    mode,
                    base_url,
                    account.api_key,
                    report,
                    conversation_id=account.conversation_ids[1],
                )
    return report


async def test_the_api_answers_every_generated_request_as_documented(running: Running) -> None:
    account = await create_account(running.engine, "Fuzz")  # its writes touch no other test's data
    await running.register(account)
    async with running.http.get(f"{running.gateway}/openapi.json") as response:
        document = await response.json()
    async with running.engine.connect() as connection:
        message_id = (
            await connection.execute(
                text("SELECT id FROM messages WHERE account_id = :a LIMIT 1"), {"a": account.account_id}
            )
        ).scalar_one()
    form = aiohttp.FormData()
    form.add_field("file", b"a text file to fetch", content_type="text/plain", filename="fuzz.txt")
    headers = {"Authorization": f"Bearer {account.api_key}"}
    async with running.http.post(f"{running.gateway}/media", data=form, headers=headers) as response:
        assert response.status == 201
        media_id = (await response.json())["id"]
    real_ids = {
        "conversation_id": account.conversation_ids[0],
        "message_id": str(message_id),
        "media_id": media_id,
    }

    report = await asyncio.to_thread(fuzz, document, running.gateway, account, real_ids)

    print(report.summary())
    assert not report.failures, "\n\n".join(
        f"{label} [{check}] answered {status}:\n{text}"
        for (label, check, status), text in report.failures.items()
    )
    assert report.cases >= 10 * FUZZ_EXAMPLES
    async with running.http.get(f"{running.gateway}/healthz") as response:
        assert response.status == 200
