"""The stack stores secrets encrypted (SECRETS_KEYS, as `make run`): PostgreSQL holds only
ciphertext of acme's access token and app secret and of a webhook endpoint's signing secret,
while sends (the simulator checks the token), signed webhooks (tests/e2e/test_webhooks.py) and
signed deliveries (tests/e2e/test_outbound_webhooks.py) work as before."""

from sqlalchemy import text

from services.shared.secrets_at_rest import ACCESS_TOKEN, APP_SECRET, ENDPOINT_SECRET, PREFIX
from tests.fixtures.stack import Running


def auth(running: Running) -> dict[str, str]:
    return {"Authorization": f"Bearer {running.acme.api_key}"}


async def test_an_accounts_secrets_are_ciphertext_and_a_send_still_works(running: Running) -> None:
    acme = running.acme
    async with running.engine.connect() as connection:
        row = (
            await connection.execute(
                text("SELECT access_token, app_secret FROM accounts WHERE id = :a"), {"a": acme.account_id}
            )
        ).one()
    assert row.access_token.startswith(PREFIX) and row.app_secret.startswith(PREFIX)
    assert acme.access_token not in row.access_token and acme.app_secret not in row.app_secret
    assert running.secrets_box.decrypt(ACCESS_TOKEN, row.access_token) == acme.access_token
    assert running.secrets_box.decrypt(APP_SECRET, row.app_secret) == acme.app_secret
    body = {"to": acme.contact_wa_ids[0], "type": "text", "text": {"body": "sealed"}}
    async with running.http.post(
        f"{running.gateway}/messages/send", json=body, headers=auth(running)
    ) as answer:
        assert answer.status == 200, await answer.text()
        assert (await answer.json())["status"] == "sent"


async def test_a_webhook_endpoints_secret_is_ciphertext(running: Running) -> None:
    body = {"url": "https://crm.example.com/pigeon", "events": ["conversation.updated"]}
    async with running.http.post(
        f"{running.gateway}/webhook-endpoints", json=body, headers=auth(running)
    ) as answer:
        assert answer.status == 201, await answer.text()
        endpoint = await answer.json()
    try:
        async with running.engine.connect() as connection:
            stored = (
                await connection.execute(
                    text("SELECT secret FROM webhook_endpoints WHERE id = :e"), {"e": endpoint["id"]}
                )
            ).scalar_one()
        assert endpoint["secret"].startswith("whsec_") and stored.startswith(PREFIX)
        assert endpoint["secret"] not in stored
        assert running.secrets_box.decrypt(ENDPOINT_SECRET, stored) == endpoint["secret"]
    finally:
        async with running.http.delete(
            f"{running.gateway}/webhook-endpoints/{endpoint['id']}", headers=auth(running)
        ) as answer:
            assert answer.status == 204
