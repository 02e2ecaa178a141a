"""The shape every pigeon gRPC server shares, after grpc's own asyncio examples:
the service, the standard health service and reflection on one `grpc.aio` server,
started, then stopped with a grace period on SIGTERM or SIGINT.
"""

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable, Iterable

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_health.v1.health import aio as health_aio
from grpc_reflection.v1alpha import reflection

from services.shared.grpc_client import KEEPALIVE_TIME_MS
from services.shared.grpc_tls import GrpcTls
from services.shared.metrics import ServerInterceptor

log = logging.getLogger(__name__)

# The health service name of the process itself: SERVING from start until SIGTERM, whatever its
# dependencies (report_health never changes it). A liveness probe checks it, so that a database
# outage, which turns the other names NOT_SERVING, restarts no replica (deploy/kubernetes/).
LIVENESS_SERVICE = "liveness"

# Register a servicer on a server, e.g. sender_pb2_grpc.add_SenderServicer_to_server bound to a servicer.
Registration = Callable[[grpc.aio.Server], None]


def server_options(max_message_bytes: int = 4 * 1024 * 1024) -> list[tuple[str, int]]:
    return [
        ("grpc.max_receive_message_length", max_message_bytes),
        ("grpc.max_send_message_length", max_message_bytes),
        ("grpc.so_reuseport", 0),
        # Clients reconnect at least every minute, and so resolve dns:///name again: replicas
        # added since are picked up. Calls in flight, streams included, may go on (a day).
        ("grpc.max_connection_age_ms", 60_000),
        ("grpc.max_connection_age_grace_ms", 86_400_000),
        # Accept the callers' keepalive pings (grpc_client.py), calls or not; by default a
        # server allows one per 5 minutes without data and answers more with a too_many_pings
        # GOAWAY. Half the callers' interval leaves room for timer jitter.
        ("grpc.keepalive_permit_without_calls", 1),
        ("grpc.http2.min_recv_ping_interval_without_data_ms", KEEPALIVE_TIME_MS // 2),
        # Fixed HTTP/2 windows: with BDP probing a fast client (the gateway streaming uploads)
        # widens them, and gRPC holds the bytes this process has not consumed yet, so memory grew
        # with the size of files in flight (bench/media.py). Messages here are small or streamed
        # in 256 KiB chunks over a LAN: the default windows carry them as fast.
        ("grpc.http2.bdp_probe", 0),
    ]


async def build_server(
    registrations: Iterable[Registration],
    service_names: Iterable[str],
    bind: str,
    unix_socket: str = "",
    tls: GrpcTls | None = None,
) -> tuple[grpc.aio.Server, health_aio.HealthServicer, int]:
    """Builds and starts a server listening on `bind` ("host:port", port 0 picks one), and
    on the Unix domain socket `unix_socket` too when given: callers on the same host reach
    it as "unix:<path>", without the kernel's TCP work (docs/benchmarks.md measures it). The
    path must be this process's own: another server binding it would take it over.

    With `tls`, `bind` takes TLS only (and callers' certificates when it requires them); the
    Unix socket stays plaintext: it is local, guarded by its file's permissions.

    Returns the server, its health servicer (so the caller can report NOT_SERVING)
    and the port actually bound.
    """
    server = grpc.aio.server(options=server_options(), interceptors=[ServerInterceptor()])
    for register in registrations:
        register(server)
    health_servicer = health_aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    names = list(service_names)
    reflection.enable_server_reflection([*names, health.SERVICE_NAME, reflection.SERVICE_NAME], server)
    port = server.add_secure_port(bind, tls.server_credentials()) if tls else server.add_insecure_port(bind)
    if port == 0:
        raise RuntimeError(f"could not bind gRPC server to {bind}")
    if unix_socket and server.add_insecure_port(f"unix:{unix_socket}") == 0:
        raise RuntimeError(f"could not bind gRPC server to the Unix socket {unix_socket}")
    await server.start()
    for name in ["", LIVENESS_SERVICE, *names]:
        await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    return server, health_servicer, port


async def wait_for_shutdown_signal() -> None:
    """Returns on the first SIGTERM or SIGINT."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


async def serve_until_signalled(
    server: grpc.aio.Server,
    health_servicer: health_aio.HealthServicer,
    grace_seconds: float,
    on_stop: Callable[[], Awaitable[None]] | None = None,
    on_signal: Callable[[], None] | None = None,
) -> None:
    """on_signal runs first (e.g. ending endless streams so they don't hold the grace
    period), then the server drains its calls, then on_stop releases resources."""
    await wait_for_shutdown_signal()
    log.info("shutting down", extra={"grace_seconds": grace_seconds})
    if on_signal is not None:
        on_signal()
    # Tell load balancers first, then let in-flight calls finish.
    await health_servicer.enter_graceful_shutdown()
    await server.stop(grace_seconds)
    if on_stop is not None:
        await on_stop()


async def report_health(
    health_servicer: health_aio.HealthServicer,
    service_names: Iterable[str],
    probe: Callable[[], Awaitable[None]],
    every_seconds: float = 2.0,
    timeout_seconds: float = 1.0,
) -> None:
    """Runs forever: SERVING while `probe` (e.g. a database ping) succeeds, NOT_SERVING
    while it fails, so callers and load balancers route around this replica until its
    dependency is back."""
    names = ["", *service_names]
    serving = True
    while True:
        try:
            await asyncio.wait_for(probe(), timeout_seconds)
            healthy = True
        except Exception:
            healthy = False
        if healthy != serving:
            serving = healthy
            status = (
                health_pb2.HealthCheckResponse.SERVING
                if healthy
                else health_pb2.HealthCheckResponse.NOT_SERVING
            )
            log.warning("health changed", extra={"serving": healthy})
            for name in names:
                await health_servicer.set(name, status)
        await asyncio.sleep(every_seconds)
