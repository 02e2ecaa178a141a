"""Administration end to end: accounts and API keys made over HTTP (/admin/, behind
ADMIN_TOKEN) and with the `pigeon-admin` command work at once on the gateway; a revoked key is
refused within the gateway's cache window; a key outside its scopes gets 403; without
ADMIN_TOKEN there are no /admin/ routes."""

import asyncio
import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest_asyncio

from tests.fixtures.stack import Running, start_running

ADMIN_TOKEN = secrets.token_hex(32)
AUTH_CACHE_TTL_SECONDS = 1.0


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def administered(postgres_server: str) -> AsyncIterator[Running]:
    env = {"ADMIN_TOKEN": ADMIN_TOKEN, "AUTH_CACHE_TTL_SECONDS": str(AUTH_CACHE_TTL_SECONDS)}
    async with start_running(postgres_server, "admin", env) as running:
        yield running


def admin_headers(token: str = ADMIN_TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def phone_number_id() -> str:
    return "6" + "".join(secrets.choice("0123456789") for _ in range(14))


async def admin(running: Running, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    async with running.http.request(
        method, f"{running.gateway}{path}", json=body, headers=admin_headers()
    ) as response:
        return response.status, await response.json()


async def status_with(
    running: Running, api_key: str, method: str = "GET", path: str = "/conversations"
) -> int:
    async with running.http.request(
        method, f"{running.gateway}{path}", headers={"Authorization": f"Bearer {api_key}"}, json={}
    ) as response:
        return response.status


async def test_an_account_and_key_made_over_http_work_and_a_revoked_key_stops(administered: Running) -> None:
    status, account = await admin(
        administered,
        "POST",
        "/admin/accounts",
        {
            "name": "Onboarded",
            "phone_number_id": phone_number_id(),
            "waba_id": "5550001",
            "access_token": "EAAG-onboarded",
            "app_secret": "onboarded-app-secret",
            "messages_per_second": 40,
        },
    )
    assert status == 201, account
    assert "access_token" not in account and "app_secret" not in account
    assert "EAAG-onboarded" not in json.dumps(account)
    status, key = await admin(administered, "POST", f"/admin/accounts/{account['id']}/api-keys", {})
    assert status == 201, key
    assert key["api_key"].startswith(key["prefix"]) and key["scopes"] == ["send", "read", "webhooks"]
    assert await status_with(administered, key["api_key"]) == 200  # at once

    status, listed = await admin(administered, "GET", f"/admin/api-keys?prefix={key['prefix']}")
    assert status == 200 and [k["id"] for k in listed["api_keys"]] == [key["id"]]
    assert "api_key" not in listed["api_keys"][0]

    status, revoked = await admin(administered, "POST", f"/admin/api-keys/{key['id']}/revoke")
    assert status == 200 and revoked["revoked_at"] is not None
    started = time.monotonic()
    while await status_with(administered, key["api_key"]) != 401:
        assert time.monotonic() - started < AUTH_CACHE_TTL_SECONDS + 2, "revoked key still works"
        await asyncio.sleep(0.1)

    status, updated = await admin(
        administered, "PATCH", f"/admin/accounts/{account['id']}", {"messages_per_second": 12}
    )
    assert (status, updated["messages_per_second"], updated["active_api_keys"]) == (200, 12, 0)


async def test_a_key_outside_its_scopes_gets_403(administered: Running) -> None:
    account = administered.acme.account_id
    _, reader = await admin(administered, "POST", f"/admin/accounts/{account}/api-keys", {"scopes": ["read"]})
    assert await status_with(administered, reader["api_key"]) == 200
    async with administered.http.post(
        f"{administered.gateway}/messages/send",
        headers={"Authorization": f"Bearer {reader['api_key']}"},
        json={"to": "15551234567", "type": "text", "text": {"body": "not allowed"}},
    ) as response:
        assert response.status == 403
        error = (await response.json())["error"]
    assert error["code"] == "insufficient_scope" and error["details"]["required_scope"] == "send"
    assert await status_with(administered, reader["api_key"], "GET", "/webhook-endpoints") == 403
    _, hooks = await admin(
        administered, "POST", f"/admin/accounts/{account}/api-keys", {"scopes": ["webhooks"]}
    )
    assert await status_with(administered, hooks["api_key"], "GET", "/webhook-endpoints") == 200
    assert await status_with(administered, hooks["api_key"]) == 403


async def test_admin_routes_take_only_the_admin_token(administered: Running) -> None:
    for headers in ({}, admin_headers("x" * 64), {"Authorization": f"Bearer {administered.acme.api_key}"}):
        async with administered.http.get(
            f"{administered.gateway}/admin/accounts", headers=headers
        ) as response:
            assert response.status == 401
    status, body = await admin(administered, "POST", "/admin/accounts", {"name": "No number"})
    assert status == 400 and body["error"]["details"]["field"] == "phone_number_id"
    status, body = await admin(
        administered,
        "POST",
        "/admin/accounts",
        {"name": "x", "phone_number_id": "12ab", "access_token": "t", "app_secret": "s"},
    )
    assert status == 400 and "phone_number_id" in body["error"]["message"]
    async with administered.http.get(f"{administered.gateway}/openapi.json") as response:
        assert "/admin/accounts" in (await response.json())["paths"]


async def test_without_an_admin_token_there_are_no_admin_routes(running: Running) -> None:
    for headers in ({}, admin_headers()):
        async with running.http.get(f"{running.gateway}/admin/accounts", headers=headers) as response:
            assert response.status == 404
    async with running.http.get(f"{running.gateway}/openapi.json") as response:
        assert not any(p.startswith("/admin/") for p in (await response.json())["paths"])


def pigeon_admin(running: Running, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DATABASE_URL": running.stack.database_url,
        "SECRETS_KEYS": running.stack.secrets_keys,
    }
    command = [sys.executable, "-m", "services.conversations.entrypoints.admin_cli", *args]
    return subprocess.run(command, input=stdin, capture_output=True, text=True, env=env, timeout=60)


async def test_the_command_onboards_a_number_whose_key_works(administered: Running) -> None:
    created = await asyncio.to_thread(
        pigeon_admin,
        administered,
        "accounts",
        "create",
        "--name",
        "From the command",
        "--phone-number-id",
        phone_number_id(),
        "--access-token",
        "-",
        "--app-secret",
        "-",
        stdin="EAAG-from-stdin\ncommand-app-secret\n",
    )
    assert created.returncode == 0, created.stderr
    account = json.loads(created.stdout)
    assert "EAAG-from-stdin" not in created.stdout and "command-app-secret" not in created.stdout
    keyed = await asyncio.to_thread(
        pigeon_admin, administered, "keys", "create", account["id"], "--scopes", "read,send"
    )
    assert keyed.returncode == 0, keyed.stderr
    key = json.loads(keyed.stdout)
    assert key["scopes"] == ["send", "read"]
    assert await status_with(administered, key["api_key"]) == 200
    revoked = await asyncio.to_thread(pigeon_admin, administered, "keys", "revoke", key["id"])
    assert revoked.returncode == 0, revoked.stderr
    started = time.monotonic()
    while await status_with(administered, key["api_key"]) != 401:
        assert time.monotonic() - started < AUTH_CACHE_TTL_SECONDS + 2, "revoked key still works"
        await asyncio.sleep(0.1)
    refused = await asyncio.to_thread(
        pigeon_admin, administered, "accounts", "update", account["id"], "--app-secret", ""
    )
    assert refused.returncode == 1 and "app_secret" in refused.stderr
