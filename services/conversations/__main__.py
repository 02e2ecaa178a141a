"""`python -m services.conversations`: the conversations gRPC service.

Reads its settings, builds its parts (`wiring.py`), serves until SIGTERM, then stops them in
order.
"""

import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable

from pigeon.conversations.v1 import (
    admin_pb2,
    admin_pb2_grpc,
    conversations_pb2,
    conversations_pb2_grpc,
    templates_pb2,
    templates_pb2_grpc,
    webhook_endpoints_pb2,
    webhook_endpoints_pb2_grpc,
)

from services.conversations.entrypoints.grpc_admin import AdminServicer
from services.conversations.entrypoints.grpc_api import ConversationsServicer
from services.conversations.entrypoints.grpc_templates import TemplatesServicer
from services.conversations.entrypoints.grpc_webhook_endpoints import WebhookEndpointsServicer
from services.conversations.metrics import register_caches
from services.conversations.settings import ConversationsSettings
from services.conversations.wiring import build
from services.shared import logs, runtime, tracing
from services.shared.grpc_server import build_server, report_health, serve_until_signalled
from services.shared.grpc_tls import grpc_tls_mode
from services.shared.metrics import serve_metrics
from services.shared.settings import SettingsError

log = logging.getLogger("services.conversations")

SERVICE_NAME = conversations_pb2.DESCRIPTOR.services_by_name["Conversations"].full_name
TEMPLATES_NAME = templates_pb2.DESCRIPTOR.services_by_name["Templates"].full_name
ADMIN_NAME = admin_pb2.DESCRIPTOR.services_by_name["Admin"].full_name
WEBHOOK_ENDPOINTS_NAME = webhook_endpoints_pb2.DESCRIPTOR.services_by_name["WebhookEndpoints"].full_name


async def serve(settings: ConversationsSettings) -> None:
    parts = await build(settings)
    servicer = ConversationsServicer(parts.use_cases)
    endpoints = WebhookEndpointsServicer(parts.webhook_endpoints)
    templates = TemplatesServicer(parts.use_cases.templates)
    admin = AdminServicer(parts.use_cases.admin)
    server, health, port = await build_server(
        [
            lambda server: conversations_pb2_grpc.add_ConversationsServicer_to_server(servicer, server),
            lambda server: webhook_endpoints_pb2_grpc.add_WebhookEndpointsServicer_to_server(
                endpoints, server
            ),
            lambda server: templates_pb2_grpc.add_TemplatesServicer_to_server(templates, server),
            lambda server: admin_pb2_grpc.add_AdminServicer_to_server(admin, server),
        ],
        [SERVICE_NAME, WEBHOOK_ENDPOINTS_NAME, TEMPLATES_NAME, ADMIN_NAME],
        settings.bind,
        unix_socket=settings.unix_socket,
        tls=settings.grpc_tls,
    )
    directory = parts.use_cases.directory
    register_caches(
        {
            "api_keys": directory.api_keys,
            "accounts": directory.accounts,
            "conversations": directory.conversations,
            "conversations_by_contact": directory.conversations_by_contact,
            "templates": parts.use_cases.templates.catalogs,
        }
    )
    serve_metrics(settings.metrics_host, settings.metrics_port)
    health_task = asyncio.create_task(report_health(health, [SERVICE_NAME], parts.database.directory.ping))
    await parts.listener.start()
    await parts.use_cases.webhooks.start()
    if settings.outbox_worker_enabled:
        await parts.outbox_worker.start()
    if settings.media_worker_enabled:
        await parts.media_worker.start()
    if settings.outbound_webhooks.worker_enabled:
        await parts.webhook_worker.start()
    if settings.templates.worker_enabled:
        await parts.template_worker.start()
    if settings.retention.worker_enabled:
        await parts.retention_worker.start()
    await parts.snooze_worker.start()
    log.info(
        "conversations serving",
        extra={"bind": settings.bind, "port": port, "tls": grpc_tls_mode(settings.grpc_tls)},
    )

    async def stop() -> None:
        # The gRPC server has stopped taking calls; now the background work, in this order.
        # Each step runs even if one before it failed: a step skipped could cut sends in flight.
        health_task.cancel()
        steps: list[tuple[str, Callable[[], Awaitable[object]]]] = []
        if settings.outbox_worker_enabled:
            steps.append(("outbox", lambda: parts.outbox_worker.stop(settings.grace_seconds)))
        if settings.media_worker_enabled:
            steps.append(("media", lambda: parts.media_worker.stop(settings.grace_seconds)))
        if settings.outbound_webhooks.worker_enabled:
            steps.append(("outbound webhooks", lambda: parts.webhook_worker.stop(settings.grace_seconds)))
        if settings.templates.worker_enabled:
            steps.append(("templates", parts.template_worker.stop))
        if settings.retention.worker_enabled:
            steps.append(("retention", parts.retention_worker.stop))
        steps += [
            ("snoozes", parts.snooze_worker.stop),
            ("webhooks", parts.use_cases.webhooks.stop),
            ("listener", parts.listener.stop),
            # Sync sends already handed to WhatsApp record their outcomes before the sender goes.
            ("sync sends", lambda: parts.use_cases.send_now.drain(settings.outbox.send_timeout_seconds + 1)),
            ("sender", parts.close_sender),
            ("media store", parts.media_store.close),
            ("webhook http", parts.webhook_http.close),
            ("database", parts.database.close),
        ]
        for name, step in steps:
            try:
                await step()
            except Exception:
                log.exception("shutdown step failed", extra={"step": name})

    def stop_starting_work() -> None:
        parts.use_cases.events.close()  # endless streams would hold the grace period
        parts.outbox_worker.stop_claiming()  # deliveries in flight finish during it
        parts.media_worker.stop_claiming()
        parts.webhook_worker.stop_claiming()

    await serve_until_signalled(
        server, health, settings.grace_seconds, on_stop=stop, on_signal=stop_starting_work
    )


def main() -> int:
    try:
        settings = ConversationsSettings.from_env()
        tracing_settings = tracing.TracingSettings.from_env("conversations")
    except SettingsError as exc:
        print(f"conversations: {exc}", file=sys.stderr)
        return 2
    logs.configure("conversations", settings.log_level)
    tracing.install(tracing_settings)
    for warning in settings.lease_warnings():
        log.warning(warning)
    runtime.run(serve(settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
