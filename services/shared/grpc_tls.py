"""TLS, and optionally mutual TLS, on the gRPC connections between pigeon's services.

One design for every process: GRPC_TLS_CA is the CA that signs every service's certificate, and
GRPC_TLS_CERT / GRPC_TLS_KEY are this process's own certificate and key. A server (conversations,
the sender) presents its certificate; a caller verifies the server's against the CA and, when it
has a certificate, presents it too. With GRPC_TLS_REQUIRE_CLIENT_CERT=true a server refuses any
caller without a certificate the CA signed (the handshake fails: the caller sees UNAVAILABLE), so
every process of a mutual-TLS deployment sets all four. None set: plaintext, as on loopback.

Unix socket listeners and "unix:" targets stay plaintext: the socket is local, guarded by its
file's permissions.
"""

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

import grpc
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from services.shared.settings import SettingsError, env, parse_bool

T = TypeVar("T")

CA = "GRPC_TLS_CA"
CERT = "GRPC_TLS_CERT"
KEY = "GRPC_TLS_KEY"
REQUIRE_CLIENT_CERT = "GRPC_TLS_REQUIRE_CLIENT_CERT"


@dataclass(frozen=True)
class GrpcTls:
    # PEM: the CA certificate(s) peers are verified with; this process's chain and key (or none).
    ca: bytes
    cert_chain: bytes | None
    private_key: bytes | None = field(repr=False)
    require_client_cert: bool

    def server_credentials(self) -> grpc.ServerCredentials:
        if self.cert_chain is None or self.private_key is None:
            raise ValueError("a server needs a certificate and its key")
        return grpc.ssl_server_credentials(
            [(self.private_key, self.cert_chain)],
            root_certificates=self.ca if self.require_client_cert else None,
            require_client_auth=self.require_client_cert,
        )

    def channel_credentials(self) -> grpc.ChannelCredentials:
        return grpc.ssl_channel_credentials(
            root_certificates=self.ca, private_key=self.private_key, certificate_chain=self.cert_chain
        )


def grpc_tls_from_env(*, serving: bool) -> GrpcTls | None:
    """The process's TLS settings, None when none is set. `serving`: the process is a gRPC
    server and so needs a certificate. A half-set combination raises SettingsError."""
    ca_path = env(CA, "")
    cert_path = env(CERT, "")
    key_path = env(KEY, "")
    require_client_cert = env(REQUIRE_CLIENT_CERT, False, parse_bool)
    if not (ca_path or cert_path or key_path or require_client_cert):
        return None
    if not ca_path:
        raise SettingsError(
            f"{CA} is required with {CERT}, {KEY} or {REQUIRE_CLIENT_CERT} (the CA peers are verified with)"
        )
    if bool(cert_path) != bool(key_path):
        raise SettingsError(f"{CERT} and {KEY} go together: set both or neither")
    if not cert_path and serving:
        raise SettingsError(f"{CERT} and {KEY} are required with {CA}: this service serves gRPC over TLS")
    if not cert_path and require_client_cert:
        raise SettingsError(
            f"{CERT} and {KEY} are required with {REQUIRE_CLIENT_CERT}=true: callers present them"
        )
    ca = _read(CA, ca_path)
    _check(CA, lambda: x509.load_pem_x509_certificates(ca))
    if not cert_path:
        return GrpcTls(ca, None, None, require_client_cert)
    cert_chain, private_key = _read(CERT, cert_path), _read(KEY, key_path)
    certificate = _check(CERT, lambda: x509.load_pem_x509_certificates(cert_chain)[0])
    key = _check(KEY, lambda: serialization.load_pem_private_key(private_key, password=None))
    if _public_bytes(key.public_key()) != _public_bytes(certificate.public_key()):
        raise SettingsError(f"{KEY}={key_path!r} is not the key of {CERT}={cert_path!r}")
    return GrpcTls(ca, cert_chain, private_key, require_client_cert)


def _read(name: str, path: str) -> bytes:
    try:
        with open(os.path.expanduser(path), "rb") as file:
            return file.read()
    except OSError as exc:
        raise SettingsError(f"{name}={path!r} cannot be read: {exc.strerror}") from None


def _check(name: str, load: Callable[[], T]) -> T:
    try:
        return load()
    except ValueError as exc:
        raise SettingsError(f"{name} is not a PEM file of the expected kind: {exc}") from None


def _public_bytes(key: PublicKeyTypes) -> bytes:
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def grpc_tls_mode(tls: GrpcTls | None) -> str:
    """For the start-up log line: "off", "tls" or "mutual"."""
    if tls is None:
        return "off"
    return "mutual" if tls.require_client_cert else "tls"
