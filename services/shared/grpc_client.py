"""gRPC client channels as every pigeon caller opens them.

A target such as "dns:///sender:50052" resolves to every replica behind the name and
`round_robin` spreads calls over them. The name is resolved again whenever a
connection ends: when a replica goes away, and at least every minute because the
servers age their connections out (grpc_server.py), so new replicas are picked up.
"""

import grpc
import orjson

_SERVICE_CONFIG = orjson.dumps(
    {
        "loadBalancingConfig": [{"round_robin": {}}],
    }
).decode()


def open_channel(target: str) -> grpc.aio.Channel:
    return grpc.aio.insecure_channel(
        target,
        options=[
            ("grpc.service_config", _SERVICE_CONFIG),
            ("grpc.keepalive_time_ms", 20_000),
            ("grpc.keepalive_timeout_ms", 5_000),
            ("grpc.keepalive_permit_without_calls", 1),
            ("grpc.max_receive_message_length", 4 * 1024 * 1024),
            # Fail fast while a peer is down instead of queueing calls up to their deadline.
            ("grpc.initial_reconnect_backoff_ms", 200),
            ("grpc.max_reconnect_backoff_ms", 2_000),
        ],
    )
