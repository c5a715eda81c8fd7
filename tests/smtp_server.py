"""A real SMTP server for the delivery tests: aiosmtpd on 127.0.0.1, AUTH and STARTTLS required.

The certificate is self-signed and generated per test session with ``cryptography``; clients trust it
through ``SmtpTestServer.cafile``, so certificate verification stays on. Faults are injected on the
handler: ``reject`` answers an address with a permanent code, ``temporary_failures`` answers the next N
DATA commands with 451, and the server can be started late or not at all (connection refused).
``silent_listener`` accepts TCP connections and never speaks (a timeout).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import ssl
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

USER = "attain"
PASSWORD = "correct horse"


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost plus its key, as PEM files in ``folder``."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "smtp-cert.pem", folder / "smtp-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on (connecting to it is refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class Received:
    """One message the server accepted."""

    mail_from: str
    rcpt_tos: list[str]
    data: bytes


class RecordingHandler:
    """Keeps every accepted message; answers with the injected faults."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.reject: dict[str, str] = {}
        self.temporary_failures = 0
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.reject:
            return self.reject[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            if self.temporary_failures > 0:
                self.temporary_failures -= 1
                return "451 4.3.0 Temporary local problem, try again later"
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"


def _authenticate(server, session, envelope, mechanism, auth_data) -> AuthResult:
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == USER.encode()
        and auth_data.password == PASSWORD.encode()
    )
    return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 itself


class SmtpTestServer:
    """aiosmtpd on 127.0.0.1:``port`` requiring STARTTLS and then AUTH (user ``USER``, ``PASSWORD``).

    ``implicit_tls=True``: TLS from the first byte instead (the ``ssl`` security mode, port 465 style).
    """

    def __init__(self, cert: tuple[Path, Path], port: int | None = None, implicit_tls: bool = False) -> None:
        self.cafile = str(cert[0])
        self.port = port or free_port()
        self.handler = RecordingHandler()
        self.tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.tls.load_cert_chain(*map(str, cert))
        self.implicit_tls = implicit_tls
        self.controller: Controller | None = None

    def start(self) -> None:
        # aiosmtpd only counts STARTTLS as TLS for AUTH; with implicit TLS every byte is encrypted anyway
        tls = (
            {"ssl_context": self.tls, "auth_require_tls": False}
            if self.implicit_tls
            else {"tls_context": self.tls, "require_starttls": True, "auth_require_tls": True}
        )
        self.controller = Controller(
            self.handler,
            hostname="127.0.0.1",
            port=self.port,
            authenticator=_authenticate,
            server_hostname="localhost",
            **tls,
        )
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def received(self) -> list[Received]:
        return self.handler.received


@contextmanager
def silent_listener():
    """A port that accepts connections and never answers: every client times out."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield sock.getsockname()[1]
