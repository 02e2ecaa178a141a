"""The callers' keepalive pings and what the servers accept agree: a server that refuses them
answers with a too_many_pings GOAWAY, cutting long-lived WatchEvents streams."""

from services.shared.grpc_client import channel_options
from services.shared.grpc_server import server_options


def test_servers_accept_the_pings_callers_send_on_idle_connections() -> None:
    client = dict(channel_options())
    server = dict(server_options())

    assert client["grpc.keepalive_permit_without_calls"] == 1
    assert client["grpc.http2.max_pings_without_data"] == 0  # also on a stream that sends nothing
    assert server["grpc.keepalive_permit_without_calls"] == 1
    assert server["grpc.http2.min_recv_ping_interval_without_data_ms"] <= client["grpc.keepalive_time_ms"]
    assert server["grpc.http2.min_recv_ping_interval_without_data_ms"] >= 10_000


def test_a_channel_without_bdp_probing_keeps_its_windows_small() -> None:
    assert dict(channel_options())["grpc.http2.bdp_probe"] == 1  # gRPC's own default
    assert dict(channel_options(bdp_probe=False))["grpc.http2.bdp_probe"] == 0
