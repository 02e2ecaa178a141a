"""The conversations service's parts, built and connected: the adapters (PostgreSQL, the
object store, the sender, the LISTEN connection, HTTP to customers' endpoints), the use cases
on them, the workers of the outbox, the media copies, the outbound webhooks and retention."""

import uuid
from dataclasses import dataclass

import grpc
from pigeon.sender.v1 import sender_pb2_grpc

from services.conversations.adapters.database.database import Database
from services.conversations.adapters.listener import Listener
from services.conversations.adapters.media_store import open_media_store
from services.conversations.adapters.sender_client import Sender, SenderClient
from services.conversations.adapters.webhook_http import WebhookHttp
from services.conversations.domain.media import CopyPolicy
from services.conversations.entrypoints.media_worker import MediaWorker
from services.conversations.entrypoints.outbox_worker import OutboxWorker
from services.conversations.entrypoints.retention_worker import RetentionWorker
from services.conversations.entrypoints.snooze_worker import SnoozeWorker
from services.conversations.entrypoints.template_sync_worker import TemplateSyncWorker
from services.conversations.entrypoints.webhook_delivery_worker import WebhookDeliveryWorker
from services.conversations.settings import (
    ConversationsSettings,
    MediaSettings,
    OutboundWebhookSettings,
    OutboxSettings,
    SendPolicy,
    TemplateSettings,
)
from services.conversations.use_cases import UseCases
from services.conversations.use_cases.admin import Administration
from services.conversations.use_cases.delivery import OutboxDelivery
from services.conversations.use_cases.directory import CACHE_CHANNEL, Directory
from services.conversations.use_cases.events import EventHub
from services.conversations.use_cases.inbox import Inbox
from services.conversations.use_cases.media_copies import MediaCopies
from services.conversations.use_cases.media_files import MediaFiles
from services.conversations.use_cases.media_sends import SendsWithPigeonMedia
from services.conversations.use_cases.outbound import OutboundMessages
from services.conversations.use_cases.outcomes import Outcomes
from services.conversations.use_cases.ports import MediaStore, ReadReceiptSenderPort, SenderPort
from services.conversations.use_cases.read_receipts import ReadReceipts
from services.conversations.use_cases.reading import Reading
from services.conversations.use_cases.send_now import SendNow
from services.conversations.use_cases.templates import Templates, TemplateSync
from services.conversations.use_cases.webhook_deliveries import EndpointDeliveries
from services.conversations.use_cases.webhook_endpoints import WebhookEndpoints
from services.conversations.use_cases.webhooks import Webhooks
from services.shared.grpc_client import open_channel


@dataclass
class Parts:
    database: Database
    listener: Listener
    use_cases: UseCases
    outbox_worker: OutboxWorker
    media_worker: MediaWorker
    media_store: MediaStore
    sender_client: SenderClient
    sender_channel: grpc.aio.Channel
    webhook_endpoints: WebhookEndpoints
    webhook_worker: WebhookDeliveryWorker
    webhook_http: WebhookHttp
    template_worker: TemplateSyncWorker
    retention_worker: RetentionWorker
    snooze_worker: SnoozeWorker

    async def close_sender(self) -> None:
        await self.sender_client.close()
        await self.sender_channel.close()


def use_cases(
    database: Database,
    listener: Listener,
    sender: SenderPort,
    receipt_sender: ReadReceiptSenderPort,
    media_store: MediaStore,
    cache_ttl_seconds: float,
    policy: SendPolicy,
    presign_seconds: int = 300,
) -> UseCases:
    directory = Directory(database.directory, cache_ttl_seconds)
    # Writes by any replica (or by hand) reach every replica's caches within milliseconds.
    listener.subscribe(CACHE_CHANNEL, directory.forget)
    listener.on_reconnect(directory.forget_everything)
    templates = Templates(database.templates, cache_ttl_seconds)
    listener.subscribe(CACHE_CHANNEL, templates.forget)
    listener.on_reconnect(templates.forget_everything)
    outbound = OutboundMessages(directory, templates, database.messages, policy)
    outcomes = Outcomes(database.messages, database.reads)
    webhooks = Webhooks(database.webhooks, directory)
    listener.subscribe(CACHE_CHANNEL, webhooks.forget_secrets)
    listener.on_reconnect(webhooks.forget_secrets)
    return UseCases(
        directory=directory,
        outbound=outbound,
        send_now=SendNow(outbound, outcomes, sender),
        outcomes=outcomes,
        reading=Reading(directory, database.reads),
        events=EventHub(database.events, listener),
        webhooks=webhooks,
        media=MediaFiles(database.media, media_store, presign_seconds),
        read_receipts=ReadReceipts(directory, database.webhooks, receipt_sender),
        templates=templates,
        admin=Administration(database.admin),
        inbox=Inbox(database.inbox, directory),
    )


def outbox_worker(
    database: Database, listener: Listener, sender: SenderPort, cases: UseCases, settings: OutboxSettings
) -> OutboxWorker:
    delivery = OutboxDelivery(cases.directory, database.outbox, cases.outcomes, sender, settings)
    return OutboxWorker(database.outbox, delivery, listener, settings)


def media_worker(
    database: Database,
    listener: Listener,
    sender: Sender,
    media_store: MediaStore,
    cases: UseCases,
    settings: MediaSettings,
) -> MediaWorker:
    policy = CopyPolicy(settings.retry_base_seconds, settings.retry_max_seconds)
    copies = MediaCopies(cases.directory, database.media, media_store, sender, policy)
    return MediaWorker(database.media, copies, cases.media, listener, settings)


def outbound_webhooks(
    database: Database, listener: Listener, http: WebhookHttp, settings: OutboundWebhookSettings
) -> tuple[WebhookEndpoints, WebhookDeliveryWorker]:
    deliveries = EndpointDeliveries(database.webhook_endpoints, http, settings, owner=uuid.uuid4())
    return (
        WebhookEndpoints(database.webhook_endpoints, http, settings),
        WebhookDeliveryWorker(database.webhook_endpoints, deliveries, listener, settings),
    )


def template_worker(
    database: Database, listener: Listener, sender: Sender, settings: TemplateSettings
) -> TemplateSyncWorker:
    return TemplateSyncWorker(TemplateSync(database.templates, sender, settings), listener)


async def build(settings: ConversationsSettings) -> Parts:
    database = Database(settings.database_url, settings.db_pool_size, settings.secrets)
    listener = Listener(settings.database_url)
    sender_channel = open_channel(settings.sender_target, settings.grpc_tls)
    # One client for both kinds of send: sync sends and the outbox's share its calls.
    sender_client = SenderClient(
        sender_pb2_grpc.SenderStub(sender_channel), settings.outbox.send_timeout_seconds
    )
    sender = Sender(sender_client)
    media = settings.media
    media_store = await open_media_store(
        media.store,
        root=media.root,
        s3_endpoint_url=media.s3_endpoint_url,
        s3_bucket=media.s3_bucket,
        s3_region=media.s3_region,
        s3_access_key_id=media.s3_access_key_id,
        s3_secret_access_key=media.s3_secret_access_key,
    )
    # Both kinds of send go through it: a message may name a file of pigeon's.
    sending = SendsWithPigeonMedia(sender, database.media, media_store)
    cases = use_cases(
        database,
        listener,
        sending,
        sender,
        media_store,
        settings.cache_ttl_seconds,
        settings.send_policy,
        media.presign_seconds,
    )
    hooks = settings.outbound_webhooks
    webhook_http = WebhookHttp(
        hooks.timeout_seconds, hooks.allow_insecure_urls, hooks.concurrency * hooks.parallelism
    )
    endpoints, webhook_worker = outbound_webhooks(database, listener, webhook_http, hooks)
    return Parts(
        database,
        listener,
        cases,
        outbox_worker(database, listener, sending, cases, settings.outbox),
        media_worker(database, listener, sender, media_store, cases, media),
        media_store,
        sender_client,
        sender_channel,
        endpoints,
        webhook_worker,
        webhook_http,
        template_worker(database, listener, sender, settings.templates),
        RetentionWorker(database.retention, settings.retention),
        SnoozeWorker(cases.inbox),
    )
