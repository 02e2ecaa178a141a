"""gRPC client channels as every pigeon caller opens them.

A target such as "dns:///sender:50052" resolves to every replica behind the name and
`round_robin` spreads calls over them. The name is resolved again whenever a
connection ends: when a replica goes away, and at least every minute because the
servers age their connections out (grpc_server.py), so new replicas are picked up.

With TLS settings (grpc_tls.py) a channel verifies the server's certificate against the CA and
the target's host name, and presents this process's certificate when it has one; a "unix:"
target stays plaintext, as the servers' Unix socket listeners do.
"""

import grpc
import orjson

from services.shared.grpc_tls import GrpcTls

# Callers ping an idle connection this often, with or without calls in flight, so that a
# dead peer (or a NAT that forgot it) is found; grpc_server.py accepts pings this frequent.
KEEPALIVE_TIME_MS = 20_000

_SERVICE_CONFIG = orjson.dumps(
    {
        "loadBalancingConfig": [{"round_robin": {}}],
    }
).decode()


def open_channel(target: str, tls: GrpcTls | None, *, bdp_probe: bool = True) -> grpc.aio.Channel:
    options = channel_options(bdp_probe=bdp_probe)
    if tls is None or target.startswith("unix:"):
        return grpc.aio.insecure_channel(target, options=options)
    return grpc.aio.secure_channel(target, tls.channel_credentials(), options=options)


def channel_options(*, bdp_probe: bool = True) -> list[tuple[str, str | int]]:
    """Without `bdp_probe` a stream's flow-control window stays at gRPC's 64 KiB: a stream
    whose reader stops holds no more than that of received messages. With it (gRPC's
    default), fast streams grow their window to megabytes, each kept when the reader stops."""
    return [
        ("grpc.http2.bdp_probe", int(bdp_probe)),
        ("grpc.service_config", _SERVICE_CONFIG),
        ("grpc.keepalive_time_ms", KEEPALIVE_TIME_MS),
        ("grpc.keepalive_timeout_ms", 5_000),
        ("grpc.keepalive_permit_without_calls", 1),
        # Keep pinging a connection that carries no data (an idle WatchEvents stream).
        ("grpc.http2.max_pings_without_data", 0),
        ("grpc.max_receive_message_length", 4 * 1024 * 1024),
        # Fail fast while a peer is down instead of queueing calls up to their deadline.
        ("grpc.initial_reconnect_backoff_ms", 200),
        ("grpc.max_reconnect_backoff_ms", 2_000),
    ]
