"""Mailers: compose a message, write it to the outbox or send it over SMTP; failures classified as
temporary (retried) or permanent (reported).
"""

from __future__ import annotations

import hashlib
import re
import smtplib
import ssl
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from pathlib import Path

from attain.delivery.messages import Outgoing
from attain.files import write_atomic

#: The environment variable holding the SMTP password (never written in a config file), named in messages; the
#: Dagster resource reads it (``pipelines.resources``), this module never does.
PASSWORD_ENV = "ATTAIN_SMTP_PASSWORD"


class DeliveryFailure(Exception):
    """One message could not be delivered; ``str()`` says why, for the log and the report."""


class TemporaryFailure(DeliveryFailure):
    """The server may accept the message later (4xx, refused connection, timeout): retry."""


class PermanentFailure(DeliveryFailure):
    """Retrying will not help (5xx, bad address, wrong credentials): log and move on."""


# ---------------------------------------------------------------------------------------------- mailers


def compose(msg: Outgoing, from_addr: str, reply_to: str | None = None) -> EmailMessage:
    """The MIME message: text and HTML alternatives plus the pack files, read and fingerprinted now.

    A file whose bytes no longer match the fingerprint recorded in ``review_packs`` is refused: the log
    must describe exactly what was sent.
    """
    if not msg.to.email:
        raise PermanentFailure(
            f"no e-mail address for {msg.to.person_id} ({msg.to.name}) in the roster; "
            f"fill the reps file's email column and re-run"
        )
    try:
        to = Address(display_name=msg.to.name, addr_spec=msg.to.email)
        if not to.domain or not to.username:
            raise ValueError("missing user or domain")
    except (ValueError, IndexError) as err:
        raise PermanentFailure(
            f"bad address {msg.to.email!r} for {msg.to.person_id} in the roster ({err}); "
            f"fix the reps file's email column and re-run"
        ) from None
    email = EmailMessage(policy=policy.SMTP)
    email["From"] = from_addr
    email["To"] = to
    if reply_to:
        email["Reply-To"] = reply_to
    email["Subject"] = msg.subject
    email["Date"] = formatdate(localtime=False, usegmt=True)
    email["Message-ID"] = msg.message_id
    email.set_content(msg.text)
    email.add_alternative(msg.html, subtype="html")
    names = [a.path.name for a in msg.attachments]
    for a in msg.attachments:
        data = a.path.read_bytes()
        if hashlib.sha256(data).hexdigest() != a.sha256:
            raise PermanentFailure(
                f"{a.path} changed after it was rendered (its sha256 no longer matches "
                f"review_packs); re-render the packs for {msg.month} before sending"
            )
        name = a.path.name if names.count(a.path.name) == 1 else f"{a.person_id}-{a.path.name}"
        email.add_attachment(data, maintype="application", subtype="pdf", filename=name)
    return email


class Mailer:
    """Composes an ``Outgoing`` with the configured From/Reply-To and hands it to ``_transmit``."""

    def __init__(self, from_addr: str, reply_to: str | None = None) -> None:
        self.from_addr = from_addr
        self.reply_to = reply_to

    def send(self, msg: Outgoing) -> str:
        """Deliver one message; return what happened (for the log) or raise a ``DeliveryFailure``."""
        return self._transmit(compose(msg, self.from_addr, self.reply_to), msg)

    def _transmit(self, email: EmailMessage, msg: Outgoing) -> str:
        raise NotImplementedError


class OutboxMailer(Mailer):
    """Writes each message as ``<folder>/<month>/<recipient>-<id>.eml``: the demo needs no mail server.

    The file name comes from the Message-ID, and each file is written to a temporary name and renamed,
    so writing the same message twice leaves one complete file.
    """

    def __init__(
        self, folder: Path | str, from_addr: str = "Attain <attain@localhost>", reply_to: str | None = None
    ) -> None:
        super().__init__(from_addr, reply_to)
        self.folder = Path(folder)

    def path_for(self, msg: Outgoing) -> Path:
        """Where ``msg`` is written: named after its recipient and Message-ID."""
        digest = hashlib.sha256(msg.message_id.encode()).hexdigest()[:10]
        person = re.sub(r"[^A-Za-z0-9_.-]", "_", msg.to.person_id)
        return self.folder / msg.month / f"{person}-{digest}.eml"

    def _transmit(self, email: EmailMessage, msg: Outgoing) -> str:
        target = self.path_for(msg)
        write_atomic(target, email.as_bytes())
        return f"written to {target}"


class SmtpMailer(Mailer):
    """Sends through an SMTP server, one connection per message.

    ``security``: ``"starttls"`` (upgrade a plain connection, usually port 587), ``"ssl"`` (TLS from the
    start, usually 465) or ``"none"`` (local relays only). Certificates are verified (``cafile`` adds a
    private CA). ``password`` is given by the caller (the Dagster resource resolves ``ATTAIN_SMTP_PASSWORD``);
    a ``username`` without one is a permanent failure that names the variable.
    """

    def __init__(
        self,
        host: str,
        port: int,
        security: str = "starttls",
        username: str | None = None,
        password: str | None = None,
        from_addr: str = "Attain <attain@localhost>",
        reply_to: str | None = None,
        timeout: float = 30.0,
        cafile: str | None = None,
    ) -> None:
        if security not in ("starttls", "ssl", "none"):
            raise ValueError(f"SMTP security must be starttls, ssl or none, not {security!r}")
        super().__init__(from_addr, reply_to)
        self.host, self.port, self.security, self.timeout = host, int(port), security, timeout
        self.username = username
        self.password = password
        self.cafile = cafile

    def _connect(self) -> smtplib.SMTP:
        context = ssl.create_default_context(cafile=self.cafile)
        if self.security == "ssl":
            return smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        if self.security == "starttls":
            smtp.starttls(context=context)
        return smtp

    def _transmit(self, email: EmailMessage, msg: Outgoing) -> str:
        where = f"{self.host}:{self.port}"
        try:
            with self._connect() as smtp:
                if self.username:
                    if self.password is None:
                        raise PermanentFailure(f"no SMTP password: set the environment variable {PASSWORD_ENV}")
                    smtp.login(self.username, self.password)
                smtp.send_message(email, from_addr=parseaddr(self.from_addr)[1], to_addrs=[msg.to.email])
        except smtplib.SMTPRecipientsRefused as err:
            code, reply = next(iter(err.recipients.values()))
            raise _classified(code, f"{where} refused {msg.to.email}: {code} {_text(reply)}") from None
        except smtplib.SMTPAuthenticationError as err:
            raise PermanentFailure(
                f"{where} refused the login of {self.username!r}: {err.smtp_code} "
                f"{_text(err.smtp_error)}; check the user and {PASSWORD_ENV}"
            ) from None
        except smtplib.SMTPResponseException as err:
            raise _classified(err.smtp_code, f"{where} answered {err.smtp_code} {_text(err.smtp_error)}") from None
        except smtplib.SMTPNotSupportedError as err:
            raise PermanentFailure(
                f"{where}: {err}; check the security setting (starttls, ssl or none) against what the server expects"
            ) from None
        except ssl.SSLError as err:
            raise PermanentFailure(
                f"TLS with {where} failed: {err}; check the security setting and the server certificate"
            ) from None
        except smtplib.SMTPServerDisconnected as err:
            raise TemporaryFailure(f"{where} closed the connection: {err}") from None
        except smtplib.SMTPException as err:  # e.g. no authentication method in common
            raise PermanentFailure(f"{where}: {err}; check the SMTP settings") from None
        except OSError as err:  # refused, timed out, unreachable network, DNS
            raise TemporaryFailure(f"{where} unreachable: {type(err).__name__} {err}".rstrip()) from None
        return f"accepted by {where}"


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


def _classified(code: int, detail: str) -> DeliveryFailure:
    """SMTP reply codes: 4xx temporary (retry), anything else a permanent refusal."""
    return TemporaryFailure(detail) if 400 <= code < 500 else PermanentFailure(detail)
