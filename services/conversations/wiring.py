"""The conversations service's parts, built and connected: the adapters (PostgreSQL, the
sender, the LISTEN connection), the use cases on them, the outbox's worker."""

from dataclasses import dataclass

import grpc
from pigeon.sender.v1 import sender_pb2_grpc

from services.conversations.adapters.database.database import Database
from services.conversations.adapters.listener import Listener
from services.conversations.adapters.sender_client import Sender, SenderClient
from services.conversations.entrypoints.outbox_worker import OutboxWorker
from services.conversations.settings import ConversationsSettings, OutboxSettings, SendPolicy
from services.conversations.use_cases import UseCases
from services.conversations.use_cases.delivery import OutboxDelivery
from services.conversations.use_cases.directory import CACHE_CHANNEL, Directory
from services.conversations.use_cases.events import EventHub
from services.conversations.use_cases.outbound import OutboundMessages
from services.conversations.use_cases.outcomes import Outcomes
from services.conversations.use_cases.reading import Reading
from services.conversations.use_cases.send_now import SendNow
from services.conversations.use_cases.webhooks import Webhooks
from services.shared.grpc_client import open_channel


@dataclass
class Parts:
    database: Database
    listener: Listener
    use_cases: UseCases
    outbox_worker: OutboxWorker
    sender_client: SenderClient
    sender_channel: grpc.aio.Channel

    async def close_sender(self) -> None:
        await self.sender_client.close()
        await self.sender_channel.close()


def use_cases(
    database: Database,
    listener: Listener,
    sender: Sender,
    cache_ttl_seconds: float,
    policy: SendPolicy,
) -> UseCases:
    directory = Directory(database.directory, cache_ttl_seconds)
    # Writes by any replica (or by hand) reach every replica's caches within milliseconds.
    listener.subscribe(CACHE_CHANNEL, directory.forget)
    listener.on_reconnect(directory.forget_everything)
    outbound = OutboundMessages(directory, database.messages, policy)
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
    )


def outbox_worker(
    database: Database, listener: Listener, sender: Sender, cases: UseCases, settings: OutboxSettings
) -> OutboxWorker:
    delivery = OutboxDelivery(cases.directory, database.outbox, cases.outcomes, sender, settings)
    return OutboxWorker(database.outbox, delivery, listener, settings)


def build(settings: ConversationsSettings) -> Parts:
    database = Database(settings.database_url, settings.db_pool_size)
    listener = Listener(settings.database_url)
    sender_channel = open_channel(settings.sender_target)
    # One client for both kinds of send: sync sends and the outbox's share its calls.
    sender_client = SenderClient(
        sender_pb2_grpc.SenderStub(sender_channel), settings.outbox.send_timeout_seconds
    )
    sender = Sender(sender_client)
    cases = use_cases(database, listener, sender, settings.cache_ttl_seconds, settings.send_policy)
    worker = outbox_worker(database, listener, sender, cases, settings.outbox)
    return Parts(database, listener, cases, worker, sender_client, sender_channel)
