"""`python -m services.conversations`: the conversations gRPC service."""

import logging
import sys

from pigeon.conversations.v1 import conversations_pb2, conversations_pb2_grpc

from services.conversations.grpc_api import ConversationsServicer
from services.conversations.inbox import Inbox
from services.conversations.settings import ConversationsSettings
from services.conversations.store import Store, create_engine
from services.shared import logs, runtime
from services.shared.grpc_server import build_server, serve_until_signalled
from services.shared.settings import SettingsError

log = logging.getLogger("services.conversations")

SERVICE_NAME = conversations_pb2.DESCRIPTOR.services_by_name["Conversations"].full_name


async def serve(settings: ConversationsSettings) -> None:
    engine = create_engine(settings.database_url, settings.db_pool_size)
    inbox = Inbox(Store(engine), settings.cache_ttl_seconds)
    servicer = ConversationsServicer(inbox)
    server, health, port = await build_server(
        [lambda server: conversations_pb2_grpc.add_ConversationsServicer_to_server(servicer, server)],
        [SERVICE_NAME],
        settings.bind,
    )
    log.info("conversations serving", extra={"bind": settings.bind, "port": port})
    await serve_until_signalled(server, health, settings.grace_seconds, on_stop=engine.dispose)


def main() -> int:
    try:
        settings = ConversationsSettings.from_env()
    except SettingsError as exc:
        print(f"conversations: {exc}", file=sys.stderr)
        return 2
    logs.configure("conversations", settings.log_level)
    runtime.run(serve(settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
