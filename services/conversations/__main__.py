"""`python -m services.conversations`: the conversations gRPC service."""

import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable

from pigeon.conversations.v1 import conversations_pb2, conversations_pb2_grpc
from pigeon.sender.v1 import sender_pb2_grpc

from services.conversations.database import webhook_store
from services.conversations.direct import DirectSender
from services.conversations.events import EventHub
from services.conversations.grpc_api import ConversationsServicer
from services.conversations.inbox import CACHE_CHANNEL, Inbox
from services.conversations.metrics import register_caches
from services.conversations.notifications import Listener, asyncpg_dsn
from services.conversations.outbox import Dispatcher
from services.conversations.sender_client import SenderClient
from services.conversations.settings import ConversationsSettings
from services.conversations.store import Store, create_engine
from services.conversations.webhooks import Webhooks
from services.shared import logs, runtime
from services.shared.grpc_client import open_channel
from services.shared.grpc_server import build_server, report_health, serve_until_signalled
from services.shared.metrics import serve_metrics
from services.shared.settings import SettingsError

log = logging.getLogger("services.conversations")

SERVICE_NAME = conversations_pb2.DESCRIPTOR.services_by_name["Conversations"].full_name


async def serve(settings: ConversationsSettings) -> None:
    # The engine serves the outbox's claims and bulk statements and the webhook store: a
    # quarter of the connections; the hot statements get DB_POOL_SIZE of their own.
    engine = create_engine(settings.database_url, max(2, settings.db_pool_size // 4))
    store = Store(engine, settings.db_pool_size)
    inbox = Inbox(store, settings.cache_ttl_seconds, settings.send_policy)
    listener = Listener(asyncpg_dsn(settings.database_url))
    # Writes by any replica (or by hand) reach every replica's caches within milliseconds.
    listener.subscribe(CACHE_CHANNEL, inbox.forget)
    listener.on_reconnect(inbox.forget_everything)
    events = EventHub(store, listener)
    sender_channel = open_channel(settings.sender_target)
    # One client for both kinds of send: sync sends and the outbox's share its calls.
    sender = SenderClient(sender_pb2_grpc.SenderStub(sender_channel), settings.outbox.send_timeout_seconds)
    dispatcher = Dispatcher(store, inbox, sender, listener, settings.outbox)
    webhook_statements = webhook_store.webhook_pool(settings.database_url)
    webhook_rows = webhook_store.WebhookStore(webhook_statements)
    webhooks = Webhooks(webhook_rows, inbox)
    listener.subscribe(CACHE_CHANNEL, webhooks.forget_secrets)
    listener.on_reconnect(webhooks.forget_secrets)
    direct = DirectSender(inbox, sender)
    servicer = ConversationsServicer(inbox, events, webhooks, direct)
    server, health, port = await build_server(
        [lambda server: conversations_pb2_grpc.add_ConversationsServicer_to_server(servicer, server)],
        [SERVICE_NAME],
        settings.bind,
        metrics_name="conversations",
        unix_socket=settings.unix_socket,
    )
    register_caches(
        {
            "api_keys": inbox.api_keys,
            "accounts": inbox.accounts,
            "conversations": inbox.conversations,
            "conversations_by_contact": inbox.conversations_by_contact,
        }
    )
    serve_metrics(settings.metrics_port)
    health_task = asyncio.create_task(report_health(health, [SERVICE_NAME], store.ping))
    await listener.start()
    await webhooks.start()
    if settings.dispatcher_enabled:
        await dispatcher.start()
    log.info("conversations serving", extra={"bind": settings.bind, "port": port})

    async def stop() -> None:
        # The gRPC server has stopped taking calls; now the background work, in this order.
        # Each step runs even if one before it failed: a step skipped could cut sends in flight.
        health_task.cancel()
        steps: list[tuple[str, Callable[[], Awaitable[object]]]] = []
        if settings.dispatcher_enabled:
            steps.append(("outbox", lambda: dispatcher.stop(settings.grace_seconds)))
        steps += [
            ("webhooks", webhooks.stop),
            ("listener", listener.stop),
            # Sync sends already handed to WhatsApp record their outcomes before the sender goes.
            ("sync sends", lambda: direct.drain(settings.outbox.send_timeout_seconds + 1)),
            ("sender client", sender.close),
            ("sender channel", sender_channel.close),
            ("statements", store.close),
            ("webhook statements", webhook_statements.close),
            ("engine", engine.dispose),
        ]
        for name, step in steps:
            try:
                await step()
            except Exception:
                log.exception("shutdown step failed", extra={"step": name})

    def stop_starting_work() -> None:
        events.close()  # endless streams would hold the grace period
        dispatcher.stop_claiming()  # deliveries in flight finish during it

    await serve_until_signalled(
        server, health, settings.grace_seconds, on_stop=stop, on_signal=stop_starting_work
    )


def main() -> int:
    try:
        settings = ConversationsSettings.from_env()
    except SettingsError as exc:
        print(f"conversations: {exc}", file=sys.stderr)
        return 2
    logs.configure("conversations", settings.log_level)
    for warning in settings.lease_warnings():
        log.warning(warning)
    runtime.run(serve(settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
