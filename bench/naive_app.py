"""The design pigeon replaces, as a yardstick: `python -m bench.naive_app`.

One process serves POST /messages/send the usual way: authenticate the key, read the
conversation, read the account, call WhatsApp, insert the message, update the
conversation, one after the other, each its own round trip, nothing cached. It is
written the way such an app usually is (a request-scoped SQLAlchemy session, the stdlib
JSON codec) but not carelessly: one shared HTTP session, and no database connection
held during the WhatsApp call. bench.sync_send --naive drives it with the same load as
pigeon, in the same run, so the two can be compared on one machine on one day.

Environment: DATABASE_URL, WHATSAPP_BASE_URL, NAIVE_PORT. Only the benchmark uses it.
"""

import json
import os
import uuid
from datetime import UTC, datetime

import aiohttp
import uvloop
from aiohttp import web
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from services.conversations.migrate import sqlalchemy_url
from services.shared.api_keys import hash_api_key

_API_KEY = text("SELECT account_id FROM api_keys WHERE key_hash = :key_hash AND revoked_at IS NULL")
_CONVERSATION = text(
    """
    SELECT c.id, k.wa_id FROM conversations c JOIN contacts k ON k.id = c.contact_id
    WHERE c.id = :conversation_id AND c.account_id = :account_id
    """
)
_ACCOUNT = text("SELECT phone_number_id, access_token FROM accounts WHERE id = :account_id")
_INSERT_MESSAGE = text(
    """
    INSERT INTO messages (id, account_id, conversation_id, direction, contact_wa_id, type, body,
                          status, wa_message_id, sent_at)
    VALUES (:id, :account_id, :conversation_id, 'outbound', :wa_id, :type, CAST(:body AS jsonb),
            'sent', :wa_message_id, now())
    """
)
_TOUCH_CONVERSATION = text(
    "UPDATE conversations SET last_message_at = now(), last_activity_at = now() WHERE id = :conversation_id"
)

SESSIONS = web.AppKey("sessions", async_sessionmaker[AsyncSession])
HTTP = web.AppKey("http", aiohttp.ClientSession)


def error(status: int, code: str) -> web.Response:
    return web.json_response({"error": {"code": code}}, status=status)


async def send(request: web.Request) -> web.Response:
    sessions, http = request.app[SESSIONS], request.app[HTTP]
    wanted = json.loads(await request.read())
    api_key = request.headers.get("Authorization", "").removeprefix("Bearer ")
    async with sessions() as session:
        account_id = (await session.execute(_API_KEY, {"key_hash": hash_api_key(api_key)})).scalar()
        if account_id is None:
            return error(401, "unauthenticated")
        conversation = (
            await session.execute(
                _CONVERSATION, {"conversation_id": wanted["conversation_id"], "account_id": account_id}
            )
        ).one_or_none()
        if conversation is None:
            return error(404, "not_found")
        account = (await session.execute(_ACCOUNT, {"account_id": account_id})).one()
    payload = {
        "messaging_product": "whatsapp",
        "to": conversation.wa_id,
        "type": wanted["type"],
        wanted["type"]: wanted[wanted["type"]],
    }
    async with http.post(
        f"{os.environ['WHATSAPP_BASE_URL']}/v21.0/{account.phone_number_id}/messages",
        json=payload,
        headers={"Authorization": f"Bearer {account.access_token}"},
    ) as response:
        if response.status != 200:
            return error(502, "whatsapp_failed")
        answer = await response.json()
    message = {
        "id": str(uuid.uuid4()),
        "conversation_id": wanted["conversation_id"],
        "status": "sent",
        "wa_message_id": answer["messages"][0]["id"],
        "sent_at": datetime.now(UTC).isoformat(),
    }
    async with sessions() as session:
        await session.execute(
            _INSERT_MESSAGE,
            {
                "id": message["id"],
                "account_id": account_id,
                "conversation_id": conversation.id,
                "wa_id": conversation.wa_id,
                "type": wanted["type"],
                "body": json.dumps(wanted[wanted["type"]]),
                "wa_message_id": message["wa_message_id"],
            },
        )
        await session.commit()
        await session.execute(_TOUCH_CONVERSATION, {"conversation_id": conversation.id})
        await session.commit()
    return web.json_response(message)


async def resources(app: web.Application):  # type: ignore[no-untyped-def]
    engine = create_async_engine(
        sqlalchemy_url(os.environ["DATABASE_URL"]), pool_size=20, max_overflow=0, pool_timeout=30
    )
    app[SESSIONS] = async_sessionmaker(engine, expire_on_commit=False)
    app[HTTP] = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1024))
    yield
    await app[HTTP].close()
    await engine.dispose()


def main() -> None:
    app = web.Application()
    app.cleanup_ctx.append(resources)
    app.router.add_post("/messages/send", send)
    web.run_app(
        app,
        host="127.0.0.1",
        port=int(os.environ["NAIVE_PORT"]),
        access_log=None,
        print=None,
        loop=uvloop.new_event_loop(),
    )


if __name__ == "__main__":
    main()
