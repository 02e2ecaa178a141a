"""GRPC_TLS_* settings (services/shared/grpc_tls.py): off unless set, every service reads them,
and half-set combinations or unreadable files stop a service at start, naming the variable."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from services.conversations.settings import ConversationsSettings
from services.gateway.settings import GatewaySettings
from services.sender.settings import SenderSettings
from services.shared.grpc_tls import grpc_tls_from_env, grpc_tls_mode
from services.shared.settings import SettingsError
from tools.grpc_certs import write_certificates

VARIABLES = ("GRPC_TLS_CA", "GRPC_TLS_CERT", "GRPC_TLS_KEY", "GRPC_TLS_REQUIRE_CLIENT_CERT")


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("certs")
    write_certificates(folder, ["sender", "gateway"])
    return folder


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", "postgresql://localhost/pigeon")
    yield


def set_env(monkeypatch: pytest.MonkeyPatch, **values: str) -> None:
    for name, value in values.items():
        monkeypatch.setenv(f"GRPC_TLS_{name}", value)


def test_plaintext_unless_told() -> None:
    assert ConversationsSettings.from_env().grpc_tls is None
    assert SenderSettings.from_env().grpc_tls is None
    assert GatewaySettings.from_env().grpc_tls is None


def test_every_service_reads_mutual_tls(monkeypatch: pytest.MonkeyPatch, certs: Path) -> None:
    set_env(
        monkeypatch,
        CA=str(certs / "ca.pem"),
        CERT=str(certs / "sender.pem"),
        KEY=str(certs / "sender-key.pem"),
        REQUIRE_CLIENT_CERT="true",
    )
    for settings in (ConversationsSettings.from_env(), SenderSettings.from_env(), GatewaySettings.from_env()):
        assert settings.grpc_tls is not None
        assert settings.grpc_tls.ca == (certs / "ca.pem").read_bytes()
        assert settings.grpc_tls.cert_chain == (certs / "sender.pem").read_bytes()
        assert grpc_tls_mode(settings.grpc_tls) == "mutual"
        assert "PRIVATE KEY" not in repr(settings)


def test_a_caller_may_verify_servers_without_a_certificate_of_its_own(
    monkeypatch: pytest.MonkeyPatch, certs: Path
) -> None:
    set_env(monkeypatch, CA=str(certs / "ca.pem"))
    tls = GatewaySettings.from_env().grpc_tls
    assert tls is not None and tls.cert_chain is None and grpc_tls_mode(tls) == "tls"
    with pytest.raises(SettingsError, match="GRPC_TLS_CERT and GRPC_TLS_KEY are required"):
        SenderSettings.from_env()


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"CERT": "sender.pem", "KEY": "sender-key.pem"}, "GRPC_TLS_CA is required"),
        ({"REQUIRE_CLIENT_CERT": "true"}, "GRPC_TLS_CA is required"),
        ({"CA": "ca.pem", "CERT": "sender.pem"}, "GRPC_TLS_CERT and GRPC_TLS_KEY go together"),
        ({"CA": "ca.pem", "KEY": "sender-key.pem"}, "GRPC_TLS_CERT and GRPC_TLS_KEY go together"),
        ({"CA": "ca.pem", "REQUIRE_CLIENT_CERT": "true"}, "required with GRPC_TLS_REQUIRE_CLIENT_CERT"),
        ({"CA": "missing.pem"}, "GRPC_TLS_CA='.*missing.pem' cannot be read"),
        ({"CA": "sender-key.pem"}, "GRPC_TLS_CA is not a PEM file"),
        ({"CA": "ca.pem", "CERT": "sender-key.pem", "KEY": "sender-key.pem"}, "GRPC_TLS_CERT is not a PEM"),
        ({"CA": "ca.pem", "CERT": "sender.pem", "KEY": "gateway-key.pem"}, "is not the key of GRPC_TLS_CERT"),
        ({"REQUIRE_CLIENT_CERT": "maybe"}, "GRPC_TLS_REQUIRE_CLIENT_CERT='maybe' is not valid"),
    ],
)
def test_a_half_set_or_broken_combination_is_refused(
    monkeypatch: pytest.MonkeyPatch, certs: Path, values: dict[str, str], message: str
) -> None:
    paths = {
        name: value if name == "REQUIRE_CLIENT_CERT" else str(certs / value) for name, value in values.items()
    }
    set_env(monkeypatch, **paths)
    with pytest.raises(SettingsError, match=message):
        grpc_tls_from_env(serving=False)
