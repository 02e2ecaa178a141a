"""Settings read from the environment: the Unix socket paths (a bad one names its variable),
where metrics listen."""

import urllib.request

import pytest

from services.conversations.settings import ConversationsSettings, RetentionSettings
from services.gateway.settings import GatewaySettings
from services.sender.settings import SenderSettings
from services.shared.metrics import serve_metrics
from services.shared.settings import SettingsError
from tools.stack import free_port


@pytest.mark.parametrize("unset", [None, ""])
def test_no_unix_socket_unless_asked(monkeypatch: pytest.MonkeyPatch, unset: str | None) -> None:
    if unset is None:
        monkeypatch.delenv("SENDER_UNIX_SOCKET", raising=False)
    else:
        monkeypatch.setenv("SENDER_UNIX_SOCKET", unset)
    assert SenderSettings.from_env().unix_socket == ""


def test_the_longest_unix_socket_path_is_taken(monkeypatch: pytest.MonkeyPatch) -> None:
    path = "/" + "x" * 106  # 107 bytes: sockaddr_un's 108 with the NUL
    monkeypatch.setenv("SENDER_UNIX_SOCKET", path)
    assert SenderSettings.from_env().unix_socket == path


def test_a_unix_socket_path_is_taken_as_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SENDER_UNIX_SOCKET", "/run/pigeon/sender.sock")
    monkeypatch.setenv("DATABASE_URL", "postgresql://localhost/pigeon")
    monkeypatch.setenv("CONVERSATIONS_UNIX_SOCKET", "/run/pigeon/conversations.sock")
    assert SenderSettings.from_env().unix_socket == "/run/pigeon/sender.sock"
    assert ConversationsSettings.from_env().unix_socket == "/run/pigeon/conversations.sock"


@pytest.mark.parametrize("path", ["sender.sock", "run/sender.sock", "/" + "x" * 107])
def test_a_relative_or_too_long_unix_socket_path_is_refused(
    monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    monkeypatch.setenv("SENDER_UNIX_SOCKET", path)
    with pytest.raises(SettingsError, match="SENDER_UNIX_SOCKET"):
        SenderSettings.from_env()


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "0", "-1"])
def test_a_duration_must_be_a_finite_positive_number(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("RPC_TIMEOUT_SECONDS", value)
    with pytest.raises(SettingsError, match="RPC_TIMEOUT_SECONDS"):
        GatewaySettings.from_env()


@pytest.mark.parametrize("value", ["nan", "inf", "3600"])
def test_idempotency_keys_are_kept_a_finite_day_or_more(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://localhost/pigeon")
    monkeypatch.setenv("IDEMPOTENCY_KEEP_SECONDS", value)
    with pytest.raises(SettingsError, match="IDEMPOTENCY_KEEP_SECONDS"):
        ConversationsSettings.from_env()


def test_retention_defaults_are_the_documented_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://localhost/pigeon")
    day = 86400.0
    assert ConversationsSettings.from_env().retention == RetentionSettings(
        worker_enabled=True,
        every_seconds=300.0,
        batch_size=1000,
        pause_seconds=0.05,
        events_keep_seconds=7 * day,
        notifications_keep_seconds=7 * day,
        failed_notifications_keep_seconds=30 * day,
        pending_statuses_keep_seconds=7 * day,
        idempotency_keep_seconds=day,
    )
    monkeypatch.setenv("EVENTS_RETENTION_DAYS", "0.5")
    monkeypatch.setenv("RETENTION_BATCH_SIZE", "2")
    retention = ConversationsSettings.from_env().retention
    assert (retention.events_keep_seconds, retention.batch_size) == (day / 2, 2)
    monkeypatch.setenv("RETENTION_BATCH_SIZE", "0")
    with pytest.raises(SettingsError, match="RETENTION_BATCH_SIZE"):
        ConversationsSettings.from_env()


def test_the_body_limit_stays_inside_a_grpc_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAX_BODY_BYTES", str(3 * 1024 * 1024))
    assert GatewaySettings.from_env().max_body_bytes == 3 * 1024 * 1024
    monkeypatch.setenv("MAX_BODY_BYTES", str(4 * 1024 * 1024))
    with pytest.raises(SettingsError, match="MAX_BODY_BYTES"):
        GatewaySettings.from_env()


def test_a_lease_shorter_than_a_send_is_warned_about(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://localhost/pigeon")
    assert ConversationsSettings.from_env().lease_warnings() == []
    monkeypatch.setenv("LEASE_SECONDS", "3")
    (warning,) = ConversationsSettings.from_env().lease_warnings()
    assert warning.startswith("LEASE_SECONDS=3 ")
    monkeypatch.setenv("SEND_TIMEOUT_SECONDS", "1.5")  # + the 1 s horizon + the 0.3 s margin < 3 s
    assert ConversationsSettings.from_env().lease_warnings() == []


def test_metrics_listen_on_loopback_unless_told(monkeypatch: pytest.MonkeyPatch) -> None:
    # /metrics takes no credentials: another host reaches it only when an operator says so.
    monkeypatch.setenv("DATABASE_URL", "postgresql://localhost/pigeon")
    for name in ("CONVERSATIONS_METRICS_HOST", "SENDER_METRICS_HOST"):
        monkeypatch.delenv(name, raising=False)
    assert ConversationsSettings.from_env().metrics_host == "127.0.0.1"
    assert SenderSettings.from_env().metrics_host == "127.0.0.1"
    monkeypatch.setenv("CONVERSATIONS_METRICS_HOST", "0.0.0.0")
    monkeypatch.setenv("SENDER_METRICS_HOST", "10.1.2.3")
    assert ConversationsSettings.from_env().metrics_host == "0.0.0.0"
    assert SenderSettings.from_env().metrics_host == "10.1.2.3"


def test_the_metrics_server_binds_the_host_it_is_given() -> None:
    server = serve_metrics("127.0.0.1", free_port())
    assert server is not None
    try:
        assert server.server_address[0] == "127.0.0.1"
        with urllib.request.urlopen(
            f"http://127.0.0.1:{server.server_address[1]}/metrics", timeout=5
        ) as answer:
            assert b"grpc_server_handled_total" in answer.read()
    finally:
        server.shutdown()
        server.server_close()
    assert serve_metrics("127.0.0.1", 0) is None
