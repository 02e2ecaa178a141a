"""Outbound webhooks under the production rules (no OUTBOUND_WEBHOOK_ALLOW_INSECURE_URLS):
https only, and no loopback, private, link-local or metadata address, whether written in the
URL (refused at registration) or behind a name (refused when a delivery connects)."""

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from tests.e2e.test_outbound_webhooks import call, create_endpoint, deliveries, send_text, until
from tests.e2e.test_webhooks import new_account
from tests.fixtures.receiver import Receiver
from tests.fixtures.stack import Running, start_running


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def strict(postgres_server: str) -> AsyncIterator[Running]:
    async with start_running(
        postgres_server, "hooks-strict", {"OUTBOUND_WEBHOOK_ALLOW_INSECURE_URLS": "false"}
    ) as running:
        yield running


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/hook",
        "https://127.0.0.1/hook",
        "https://[::1]/hook",
        "https://10.0.0.7/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[::ffff:127.0.0.1]/hook",
        "https://0.0.0.0/hook",
    ],
)
async def test_urls_of_forbidden_addresses_are_refused(strict: Running, url: str) -> None:
    status, error = await call(
        strict, strict.acme, "POST", "/webhook-endpoints", {"url": url, "events": ["*"]}
    )
    assert status == 400, error
    assert error["error"]["code"] == "invalid_request"


async def test_a_name_that_resolves_to_loopback_is_refused_when_connecting(
    strict: Running, receiver: Receiver
) -> None:
    account = await new_account(strict, "Hooks strict")
    port = receiver.base.rsplit(":", 1)[1]
    endpoint = await create_endpoint(strict, account, f"https://localhost:{port}/inside", ["message.*"])
    await send_text(strict, account, account.contact_wa_ids[0], "never leaves")

    failed = await until(lambda: deliveries(strict, account, endpoint["id"], "?status=failed"))
    assert failed[0]["http_status"] is None and "address not allowed" in failed[0]["error"]
    status, attempt = await call(strict, account, "POST", f"/webhook-endpoints/{endpoint['id']}/test")
    assert status == 200 and attempt["succeeded"] is False and "address not allowed" in attempt["error"]
    assert await receiver.received() == []
