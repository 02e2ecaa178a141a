"""An account pause end to end: when WhatsApp refuses the account itself (here a real 190 from
the simulator, the access token no longer valid), the outbox holds every queued message of the
account back instead of failing them; a new token through /admin/ sends them at once, and
otherwise one probe at a time, once per pause, finds when WhatsApp takes them again."""

import asyncio
import itertools
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import orjson
import pytest_asyncio
from sqlalchemy import text

from tests.e2e.test_operability import sample, scrape
from tests.fixtures.stack import Running, start_running
from tools.seed import SeededAccount, create_account

ADMIN_TOKEN = secrets.token_hex(32)
TEMPLATE = {"type": "template", "template": {"name": "order_update", "language": {"code": "en"}}}


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def administered(postgres_server: str) -> AsyncIterator[Running]:
    # A pause far longer than the test: only the change to the account can end it.
    env = {"ADMIN_TOKEN": ADMIN_TOKEN, "ACCOUNT_PAUSE_SECONDS": "600"}
    async with start_running(postgres_server, "account-pause", env) as running:
        yield running


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def briefly_paused(postgres_server: str) -> AsyncIterator[Running]:
    async with start_running(postgres_server, "account-probes", {"ACCOUNT_PAUSE_SECONDS": "1"}) as running:
        yield running


async def change_access_token(running: Running, account: SeededAccount, token: str) -> None:
    async with running.http.patch(
        f"{running.gateway}/admin/accounts/{account.account_id}",
        json={"access_token": token},
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
    ) as response:
        assert response.status == 200, await response.text()


async def send_later(running: Running, account: SeededAccount, to: str) -> str:
    async with running.http.post(
        f"{running.gateway}/messages/send-async",
        data=orjson.dumps({"to": to, **TEMPLATE}),
        headers={"Authorization": f"Bearer {account.api_key}"},
    ) as response:
        assert response.status == 202
        return str((await response.json())["id"])


async def message(running: Running, account: SeededAccount, message_id: str) -> dict[str, Any]:
    async with running.http.get(
        f"{running.gateway}/messages/{message_id}", headers={"Authorization": f"Bearer {account.api_key}"}
    ) as response:
        assert response.status == 200
        return dict(await response.json())


async def until(running: Running, account: SeededAccount, ids: list[str], done: Any) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 15
    while True:
        current = [await message(running, account, i) for i in ids]
        if all(done(m) for m in current):
            return current
        assert time.monotonic() < deadline, [
            (m["status"], m.get("error"), m.get("contact_wa_id")) for m in current
        ]
        await asyncio.sleep(0.1)


async def paused_accounts(running: Running, expected: float) -> None:
    """Until conversations' gauge (refreshed every second) shows `expected` paused accounts."""
    deadline = time.monotonic() + 10
    while (
        sample(
            await scrape(running, running.stack.conversations_metrics_port), "pigeon_outbox_paused_accounts"
        )
        != expected
    ):
        assert time.monotonic() < deadline, f"pigeon_outbox_paused_accounts never {expected}"
        await asyncio.sleep(0.2)


async def requests_for(running: Running, account: SeededAccount) -> list[dict[str, Any]]:
    return await running.simulator_requests(phone_number_id=account.phone_number_id)


async def test_a_refused_token_holds_the_queue_until_a_new_token_sends_it(administered: Running) -> None:
    account = await create_account(administered.engine, "Paused", conversations=0)
    await administered.register(account)
    await change_access_token(administered, account, "EAAG-no-longer-valid")

    refused_id = await send_later(administered, account, "15550009101")
    # Refused with 190, then queued and waiting, showing why: not failed.
    [waiting] = await until(
        administered,
        account,
        [refused_id],
        lambda m: m["status"] == "queued" and (m.get("error") or {}).get("code") == "190",
    )
    assert "access token" in waiting["error"]["message"].lower(), waiting
    [refused] = await requests_for(administered, account)
    assert refused["status"] == 401
    # Sends accepted during the pause wait too, without a call.
    later_ids = [await send_later(administered, account, to) for to in ("15550009102", "15550009103")]
    await asyncio.sleep(1.0)  # the retry policy alone would have tried again within 0.3 s
    assert len(await requests_for(administered, account)) == 1
    assert {(await message(administered, account, i))["status"] for i in later_ids} == {"queued"}
    await paused_accounts(administered, 1)

    await change_access_token(administered, account, account.access_token)
    ids = [refused_id, *later_ids]
    sent = await until(administered, account, ids, lambda m: m["status"] == "sent")
    assert all(m["wa_message_id"].startswith("wamid.") for m in sent)
    await paused_accounts(administered, 0)
    assert len(await requests_for(administered, account)) == 4
    async with administered.engine.connect() as connection:
        attempts = (
            await connection.execute(
                text("SELECT attempts FROM messages WHERE id = ANY(CAST(:ids AS uuid[]))"), {"ids": ids}
            )
        ).scalars()
        # The refused attempts were the account's, not the messages': given back.
        assert sorted(attempts) == [1, 1, 1]


async def test_after_each_pause_one_probe_goes_until_whatsapp_takes_it(briefly_paused: Running) -> None:
    running = briefly_paused
    account = await create_account(running.engine, "Probed", conversations=0)
    # pigeon holds a token WhatsApp refuses, as after Meta invalidated it.
    await running.register(replace(account, access_token="EAAG-the-one-meta-expects"))
    ids = [await send_later(running, account, f"1555000920{n}") for n in range(4)]
    await asyncio.sleep(3.5)  # three pauses of 1 s, each followed by one probe
    refused = await requests_for(running, account)
    assert {r["status"] for r in refused} == {401}
    arrivals = sorted(float(r["received_at"]) for r in refused)
    # The first claim's messages all went (the pause came with their answers); after that one
    # probe per pause, never two together.
    probes = [t for t in arrivals if t > arrivals[0] + 0.5]
    assert 2 <= len(probes) <= 4, arrivals
    assert all(b - a >= 0.9 for a, b in itertools.pairwise(probes)), arrivals

    # WhatsApp takes the token again (for 131048, Meta lifting its limit is the same): the next
    # probe goes through and ends the pause, with no change to the account.
    await running.register(account)
    sent = await until(running, account, ids, lambda m: m["status"] == "sent")
    assert len(sent) == 4
