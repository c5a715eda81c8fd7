"""Delivery of the month's review packs by e-mail, exactly once.

Three steps, each a plain function or class with no Dagster import:

1. ``plan_messages``: who receives what. Each manager gets one message with their manager pack and the
   rep packs of *their* team (roster ``manager_id`` == the manager), subject and body in the manager's
   locale with the team's headline figures; optionally each rep gets their own pack. The plan is checked
   (``check_recipients``) so no message can carry a pack of a rep outside the recipient's team.
2. A mailer sends one composed message: ``OutboxMailer`` writes ``.eml`` files (the embedded default, no
   mail server needed), ``SmtpMailer`` talks to a real server (STARTTLS, SSL or plain; the password is passed
   in, by the Dagster resource from the environment variable ``ATTAIN_SMTP_PASSWORD``). Mailers classify
   failures as temporary (4xx, connection refused, timeout: retried) or permanent (5xx, bad address: reported).
3. ``deliver`` sends the plan through a mailer and the ``DeliveryLog`` (a warehouse table written in
   transactions) so that a re-run never sends a delivered message again, a run killed half-way resumes
   where it stopped, and packs that changed after delivery are reported rather than silently re-sent.
   The reasoning is written up in docs/delivery.md.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import smtplib
import ssl
import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from functools import cache
from pathlib import Path

import jinja2
import pandas as pd

from attain.files import write_atomic
from attain.i18n import format_money, format_month, format_percent, translator

#: The environment variable holding the SMTP password (never written in a config file), named in messages; the
#: Dagster resource reads it (``pipelines.resources``), this module never does.
PASSWORD_ENV = "ATTAIN_SMTP_PASSWORD"

#: Subject and body templates: ``<kind>_subject.txt``, ``<kind>_body.txt``, ``<kind>_body.html``.
TEMPLATES_DIR = Path(__file__).resolve().parents[1] / "report_templates" / "email"

#: Outcomes a ``deliveries`` row can have. ``sending`` marks an attempt whose answer is not yet recorded.
OUTCOMES = ("sending", "sent", "resent", "failed", "skipped")

_REVIEW_PACK_COLUMNS = ("person_id", "kind", "locale", "path", "sha256")
_ROSTER_COLUMNS = ("rep_id", "name", "email", "role", "manager_id", "team", "locale")


class DeliveryPlanError(ValueError):
    """The packs and the roster do not describe a message that may be sent."""


class DeliveryFailure(Exception):
    """One message could not be delivered; ``str()`` says why, for the log and the report."""


class TemporaryFailure(DeliveryFailure):
    """The server may accept the message later (4xx, refused connection, timeout): retry."""


class PermanentFailure(DeliveryFailure):
    """Retrying will not help (5xx, bad address, wrong credentials): log and move on."""


@dataclass(frozen=True)
class Recipient:
    """A person a message is addressed to, in their own language."""

    person_id: str
    name: str
    email: str
    locale: str


@dataclass(frozen=True)
class Attachment:
    """One pack file: whose it is, where it is, and the fingerprint recorded when it was rendered."""

    person_id: str
    kind: str  # rep | manager
    name: str  # path relative to the output folder, as in ``review_packs``
    path: Path
    sha256: str


@dataclass(frozen=True)
class Headline:
    """The figures a manager reads in the body: team revenue attainment and what the team is paid."""

    attainment: float | None
    payable: tuple[tuple[str, int], ...]  # (currency, payable minor units) per plan currency


@dataclass(frozen=True)
class Outgoing:
    """One message to send: a manager's team packs, or a rep's copy of their own pack."""

    manager_id: str
    month: str
    to: Recipient
    kind: str  # manager | rep_copy
    attachments: tuple[Attachment, ...]
    subject: str
    text: str
    html: str
    message_id: str
    headline: Headline | None = None

    @property
    def key(self) -> tuple[str, str, str]:
        """What "the same message" means across runs: (month, manager_id, recipient person_id)."""
        return (self.month, self.manager_id, self.to.person_id)

    @property
    def fingerprints(self) -> list[dict[str, str]]:
        """The attachments as logged: ``[{"name", "sha256"}]`` sorted by name."""
        return sorted(({"name": a.name, "sha256": a.sha256} for a in self.attachments), key=lambda item: item["name"])


# --------------------------------------------------------------------------------------------- planning


def headlines(attainment: pd.DataFrame, payouts: pd.DataFrame, reps: pd.DataFrame) -> pd.DataFrame:
    """The ``headlines`` table ``plan_messages`` reads: ``manager_id, attainment, currency, payable_minor``.

    From one month's attainment and payouts tables (the partition) and the roster in force that month.
    ``attainment`` is the team's revenue attainment for the month (the attainment table's
    ``scope="manager"`` row; NaN without a target). ``payable_minor`` sums the payouts of the manager's
    team members (roster ``manager_id`` == manager), one row per plan currency; money is never summed
    across currencies.
    """
    for name, table in (("attainment", attainment), ("payouts", payouts)):
        if "month" in table.columns and table["month"].nunique() > 1:
            raise DeliveryPlanError(
                f"headlines need one month's {name} table, got months {', '.join(sorted(table['month'].unique()))}"
            )
    att = attainment.loc[
        (attainment["scope"] == "manager") & (attainment["metric"] == "revenue") & (attainment["period"] == "month"),
        ["scope_id", "attainment"],
    ].rename(columns={"scope_id": "manager_id"})
    paid = payouts[["rep_id", "currency", "payable_minor"]].merge(
        reps[["rep_id", "manager_id"]], on="rep_id", how="inner"
    )
    paid = paid.loc[paid["manager_id"].fillna("") != ""]  # people at the top are nobody's team
    paid = paid.groupby(["manager_id", "currency"], as_index=False)["payable_minor"].sum()
    out = att.merge(paid, on="manager_id", how="outer")
    out["payable_minor"] = out["payable_minor"].astype("Int64")
    return out[["manager_id", "attainment", "currency", "payable_minor"]].sort_values(
        ["manager_id", "currency"], ignore_index=True
    )


def _require(df: pd.DataFrame, columns: Iterable[str], table: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise DeliveryPlanError(
            f"table {table!r} lacks column(s) {', '.join(missing)}; see docs/data-model.md for its columns"
        )


def _message_id(month: str, manager_id: str, recipient: str, kind: str, fingerprints: list[dict[str, str]]) -> str:
    """Same month, recipient and pack bytes -> same Message-ID, so a duplicate is recognisable."""
    payload = json.dumps([month, manager_id, recipient, kind, fingerprints], sort_keys=True)
    return f"<{hashlib.sha256(payload.encode()).hexdigest()[:32]}@attain>"


@cache
def _environment(locale: str, templates_dir: Path) -> jinja2.Environment:
    """One Jinja2 environment per locale with its gettext installed; HTML templates autoescaped."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates_dir),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        keep_trailing_newline=True,
    )
    # The method is added by the jinja2.ext.i18n extension, which Jinja's type hints cannot know.
    env.install_gettext_translations(translator(locale, "email"), newstyle=True)  # type: ignore[attr-defined]
    return env


def _render(kind: str, locale: str, context: dict, templates_dir: Path) -> tuple[str, str, str]:
    env = _environment(locale, templates_dir)
    subject = " ".join(env.get_template(f"{kind}_subject.txt").render(context).split())
    text = env.get_template(f"{kind}_body.txt").render(context)
    html = env.get_template(f"{kind}_body.html").render(context)
    return subject, text, html


def _headline(rows: pd.DataFrame) -> Headline:
    ratios = rows["attainment"].dropna()
    paid = rows.dropna(subset=["currency"])
    return Headline(
        attainment=float(ratios.iloc[0]) if len(ratios) else None,
        payable=tuple((str(c), int(m)) for c, m in zip(paid["currency"], paid["payable_minor"], strict=True)),
    )


def plan_messages(
    month: str,
    review_packs: pd.DataFrame,
    reps: pd.DataFrame,
    headlines: pd.DataFrame,
    out_dir: Path,
    *,
    copy_to_reps: bool = False,
    failed_packs: Sequence[dict] = (),
    templates_dir: Path = TEMPLATES_DIR,
) -> list[Outgoing]:
    """The messages of ``month``: one per manager pack, plus each rep's own pack when ``copy_to_reps``.

    ``review_packs``: the review_packs table (paths relative to ``out_dir``; rows of other months are
    ignored, and without a ``month`` column all rows are taken as ``month``'s). ``reps``: the roster in
    force that month (one row per rep_id). ``headlines``: the ``headlines()`` table. A manager's message
    carries their manager pack and the rep packs of the reps whose ``manager_id`` is that manager,
    nothing else; the result is checked with ``check_recipients`` before it is returned.
    ``failed_packs``: packs that could not be made (``person_id, kind, reason``, from ``render_packs``). A
    manager whose own pack or a member's pack failed still gets the other packs, and the body names each
    failed pack of that team with its reason (never one of another team).
    """
    _require(review_packs, _REVIEW_PACK_COLUMNS, "review_packs")
    _require(reps, _ROSTER_COLUMNS, "reps")
    _require(headlines, ("manager_id", "attainment", "currency", "payable_minor"), "headlines")
    doubled = reps.loc[reps["rep_id"].duplicated(), "rep_id"].tolist()
    if doubled:
        raise DeliveryPlanError(
            f"the roster has several rows for rep_id {', '.join(map(str, doubled))}; "
            f"pass the roster in force for {month} (one row per rep)"
        )
    packs = review_packs.loc[review_packs["month"] == month] if "month" in review_packs else review_packs
    twice = packs.loc[packs.duplicated(["person_id", "kind"]), ["person_id", "kind"]]
    if len(twice):
        raise DeliveryPlanError(
            f"review_packs for {month} lists several {twice['kind'].iloc[0]} packs for "
            f"{twice['person_id'].iloc[0]}; keep one pack per person and kind"
        )
    shared = packs.groupby("path")["person_id"].nunique()
    if (shared > 1).any():
        raise DeliveryPlanError(
            f"review_packs for {month}: file(s) {', '.join(shared[shared > 1].index)} "
            f"are listed for several people; re-render the packs"
        )
    roster = reps.assign(
        manager_id=reps["manager_id"].fillna("").astype(str), email=reps["email"].fillna("").astype(str)
    )
    packs = packs.merge(
        roster[["rep_id", "name", "email", "manager_id", "team"]], left_on="person_id", right_on="rep_id", how="left"
    )
    unknown = packs.loc[packs["rep_id"].isna(), "person_id"].tolist()
    if unknown:
        raise DeliveryPlanError(
            f"review_packs for {month} has packs for {', '.join(map(str, unknown))}, "
            f"who are not in the roster in force that month; fix reps or the packs"
        )
    packs = packs.sort_values(["kind", "person_id"])
    out_dir = Path(out_dir)

    def attachment(row) -> Attachment:
        return Attachment(str(row.person_id), str(row.kind), str(row.path), out_dir / str(row.path), str(row.sha256))

    people = roster.set_index("rep_id")
    rep_packs = packs.loc[packs["kind"] == "rep"]
    team_packs = dict(tuple(rep_packs.groupby("manager_id")))
    heads = dict(tuple(headlines.groupby("manager_id")))
    manager_packs = {row.person_id: row for row in packs.loc[packs["kind"] == "manager"].itertuples(index=False)}
    failed_of: dict[str, list[str]] = {}  # manager -> reasons of the failed packs of their team
    for failure in failed_packs:
        person = str(failure["person_id"])
        manager_id = person if failure["kind"] == "manager" else people["manager_id"].get(person, "")
        if manager_id in people.index:
            failed_of.setdefault(manager_id, []).append(str(failure["reason"]))
    messages: list[Outgoing] = []
    for manager_id in sorted(manager_packs.keys() | {m for m in failed_of if people.loc[m, "role"] == "manager"}):
        manager = people.loc[manager_id]
        to = Recipient(str(manager_id), str(manager["name"]), str(manager["email"]), str(manager["locale"]))
        team = team_packs.get(manager_id, rep_packs.iloc[0:0])
        own = (attachment(manager_packs[manager_id]),) if manager_id in manager_packs else ()
        files = (*own, *(attachment(r) for r in team.itertuples(index=False)))
        headline = _headline(heads.get(manager_id, headlines.iloc[0:0]))
        context = {
            "name": to.name,
            "month": format_month(month, to.locale),
            "teams": ", ".join(sorted(set(team["team"].dropna().astype(str)))) or str(manager["team"]),
            "attainment": format_percent(headline.attainment, to.locale),
            "payable": [format_money(m, c, to.locale) for c, m in headline.payable],
            "files": [
                {"name": a.path.name, "person": str(people.loc[a.person_id, "name"]), "kind": a.kind} for a in files
            ],
            "failed": failed_of.get(manager_id, []),
        }
        messages.append(_outgoing(month, to.person_id, to, "manager", files, context, headline, templates_dir))
    if copy_to_reps:
        for row in rep_packs.itertuples(index=False):
            rep = people.loc[row.person_id]
            to = Recipient(str(row.person_id), str(rep["name"]), str(rep["email"]), str(rep["locale"]))
            context = {
                "name": to.name,
                "month": format_month(month, to.locale),
                "files": [{"name": Path(str(row.path)).name}],
            }
            messages.append(
                _outgoing(month, str(row.manager_id), to, "rep_copy", (attachment(row),), context, None, templates_dir)
            )
    check_recipients(messages, reps)
    return messages


def _outgoing(
    month: str,
    manager_id: str,
    to: Recipient,
    kind: str,
    files: tuple[Attachment, ...],
    context: dict,
    headline: Headline | None,
    templates_dir: Path,
) -> Outgoing:
    subject, text, html = _render(kind, to.locale, context, templates_dir)
    draft = Outgoing(manager_id, month, to, kind, files, subject, text, html, "", headline)
    return replace(draft, message_id=_message_id(month, manager_id, to.person_id, kind, draft.fingerprints))


def check_recipients(messages: Sequence[Outgoing], reps: pd.DataFrame) -> None:
    """Refuse a plan in which anybody would receive a pack that is not theirs to see.

    A manager message may carry the manager's own manager pack and rep packs of reps whose roster
    ``manager_id`` is that manager; a rep copy only the rep's own pack. Checked against the roster
    independently of how the plan was built, so a planning bug cannot leak a pack.
    """
    manager_of = dict(zip(reps["rep_id"].astype(str), reps["manager_id"].fillna("").astype(str), strict=True))
    for msg in messages:
        for a in msg.attachments:
            if msg.kind == "manager":
                allowed = (a.kind == "manager" and a.person_id == msg.to.person_id) or (
                    a.kind == "rep" and manager_of.get(a.person_id) == msg.to.person_id
                )
            else:
                allowed = a.kind == "rep" and a.person_id == msg.to.person_id
            if not allowed:
                raise DeliveryPlanError(
                    f"refusing to send {a.name} ({a.kind} pack of {a.person_id}) to {msg.to.person_id} "
                    f"for {msg.month}: {a.person_id} is not in their team in the roster in force that month"
                )


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


# ---------------------------------------------------------------------------------------------- the log


@dataclass
class LoggedDelivery:
    """One row of the delivery log."""

    month: str
    manager_id: str
    recipient: str
    address: str
    message_id: str
    attachments: list[dict[str, str]]
    outcome: str
    detail: str
    attempts: int
    sent_at: dt.datetime | None
    logged_at: dt.datetime


class DeliveryLog:
    """The ``deliveries`` table: every delivery attempt of every message and its outcome.

    ``con`` is a DB-API connection with ``?`` parameters in autocommit mode (the DuckDB warehouse in
    practice). Each change is its own transaction, so the table is never half-written. Rows are
    appended per run; a ``sending`` row (attempt started, answer not yet recorded) is updated in place
    with the final outcome.
    """

    _COLUMNS = (
        "month",
        "manager_id",
        "recipient",
        "address",
        "message_id",
        "attachments",
        "outcome",
        "detail",
        "attempts",
        "sent_at",
        "logged_at",
    )

    def __init__(self, con, table: str = "deliveries") -> None:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*", table):
            raise ValueError(f"{table!r} is not a table name")
        self.con, self.table = con, table
        self._write(f"""CREATE TABLE IF NOT EXISTS {table} (
            month VARCHAR NOT NULL, manager_id VARCHAR NOT NULL, recipient VARCHAR NOT NULL,
            address VARCHAR NOT NULL, message_id VARCHAR NOT NULL, attachments VARCHAR NOT NULL,
            outcome VARCHAR NOT NULL CHECK (outcome IN ({", ".join(f"'{o}'" for o in OUTCOMES)})),
            detail VARCHAR NOT NULL, attempts INTEGER NOT NULL,
            sent_at TIMESTAMP, logged_at TIMESTAMP NOT NULL)""")

    @contextmanager
    def _transaction(self):
        """Everything inside commits together or not at all (also on KeyboardInterrupt)."""
        self.con.execute("BEGIN TRANSACTION")
        try:
            yield self.con
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        self.con.execute("COMMIT")

    def _write(self, sql: str, params: Sequence = ()) -> None:
        with self._transaction() as con:
            con.execute(sql, list(params))

    def _insert(self, values: Sequence) -> None:
        self._write(
            f"INSERT INTO {self.table} ({', '.join(self._COLUMNS)}) VALUES ({', '.join('?' * len(self._COLUMNS))})",
            values,
        )

    def history(self, months: Iterable[str] | None = None) -> list[LoggedDelivery]:
        """Rows of ``months`` (all when None), oldest first."""
        sql = f"SELECT {', '.join(self._COLUMNS)} FROM {self.table}"
        params: list[str] = []
        if months is not None:
            params = sorted(set(months))
            sql += f" WHERE month IN ({', '.join('?' * len(params))})" if params else " WHERE FALSE"
        rows = self.con.execute(sql + " ORDER BY logged_at, rowid", params).fetchall()
        return [
            LoggedDelivery(*(json.loads(v) if c == "attachments" else v for c, v in zip(self._COLUMNS, r, strict=True)))
            for r in rows
        ]

    def records(self, month: str | None = None) -> pd.DataFrame:
        """The log as a DataFrame (for the UI and the run summary)."""
        rows = self.history(None if month is None else [month])
        out = pd.DataFrame([r.__dict__ for r in rows], columns=list(self._COLUMNS))
        out["attachments"] = out["attachments"].map(json.dumps)
        return out

    def start(self, msg: Outgoing) -> None:
        """Record that ``msg`` is about to be sent (reusing a ``sending`` row left by an interrupted run)."""
        values = [msg.to.email, msg.message_id, json.dumps(msg.fingerprints)]
        pending = self.con.execute(
            f"SELECT count(*) FROM {self.table} WHERE month=? AND manager_id=? AND recipient=? AND outcome='sending'",
            list(msg.key),
        ).fetchone()[0]
        if pending:
            self._write(
                f"UPDATE {self.table} SET address=?, message_id=?, attachments=?, logged_at=? "
                f"WHERE month=? AND manager_id=? AND recipient=? AND outcome='sending'",
                [*values, _now(), *msg.key],
            )
        else:
            self._insert([*msg.key, *values, "sending", "attempt started", 0, None, _now()])

    def attempt(self, msg: Outgoing) -> None:
        """Count one transmission of the pending message (before it is made)."""
        self._write(
            f"UPDATE {self.table} SET attempts = attempts + 1 WHERE month=? AND manager_id=? "
            f"AND recipient=? AND outcome='sending'",
            list(msg.key),
        )

    def finish(self, msg: Outgoing, outcome: str, detail: str) -> None:
        """Record the server's answer on the pending row: sent, resent, failed or skipped."""
        sent_at = _now() if outcome in ("sent", "resent") else None
        self._write(
            f"UPDATE {self.table} SET outcome=?, detail=?, sent_at=?, logged_at=? WHERE month=? "
            f"AND manager_id=? AND recipient=? AND outcome='sending'",
            [outcome, detail, sent_at, _now(), *msg.key],
        )

    def record(self, msg: Outgoing, outcome: str, detail: str) -> None:
        """Append a row for a decision that involved no transmission (a changed pack left unsent)."""
        self._insert(
            [*msg.key, msg.to.email, msg.message_id, json.dumps(msg.fingerprints), outcome, detail, 0, None, _now()]
        )


def _now() -> dt.datetime:
    """UTC wall-clock time without tzinfo (the log's timestamps are UTC)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


# ------------------------------------------------------------------------------------------- delivering


@dataclass(frozen=True)
class DeliveryResult:
    """What became of one planned message in this run."""

    message: Outgoing
    outcome: str  # sent | resent | failed | skipped
    detail: str
    attempts: int = 0
    message_id: str = ""

    def __str__(self) -> str:
        to = self.message.to
        return f"{self.message.month} {to.person_id} ({to.name} <{to.email}>): {self.outcome}: {self.detail}"


@dataclass
class DeliveryReport:
    """The run's deliveries: ``sent`` (resent included), ``skipped`` (already delivered), ``failed``
    (with the reason), ``changed`` (delivered earlier with other pack bytes: not re-sent)."""

    sent: list[DeliveryResult] = field(default_factory=list)
    skipped: list[DeliveryResult] = field(default_factory=list)
    failed: list[DeliveryResult] = field(default_factory=list)
    changed: list[DeliveryResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing failed and no changed pack awaits a decision."""
        return not self.failed and not self.changed

    def summary(self) -> str:
        """Plain text for the end of a run: the counts, then one line per failure or changed pack."""
        lines = [
            f"deliveries: {len(self.sent)} sent, {len(self.skipped)} already sent, "
            f"{len(self.failed)} failed, {len(self.changed)} changed since sent"
        ]
        lines += [f"  FAILED {r.message.to.person_id} <{r.message.to.email}>: {r.detail}" for r in self.failed]
        lines += [f"  CHANGED {r.message.to.person_id}: {r.detail}" for r in self.changed]
        return "\n".join(lines)


def _changes(before: list[dict[str, str]], now: list[dict[str, str]]) -> str:
    old = {a["name"]: a["sha256"] for a in before}
    new = {a["name"]: a["sha256"] for a in now}
    parts = [f"{n} changed" for n in sorted(old.keys() & new.keys()) if old[n] != new[n]]
    parts += [f"{n} added" for n in sorted(new.keys() - old.keys())]
    parts += [f"{n} removed" for n in sorted(old.keys() - new.keys())]
    return ", ".join(parts)


def packs_in_no_message(deliveries: pd.DataFrame, review_packs: pd.DataFrame) -> list[str]:
    """Paths of the month's packs that no logged message carries (``deliveries``: the log's records).

    A rep whose manager has no manager pack (one who left, or a team lead on the roster as a rep) would
    otherwise have a pack that reaches nobody, silently.
    """
    carried = {a["name"] for text in deliveries["attachments"] for a in json.loads(text or "[]")}
    return sorted(set(review_packs.loc[~review_packs["path"].astype(str).isin(carried), "path"]))


def deliver(
    messages: Sequence[Outgoing],
    mailer: Mailer,
    log: DeliveryLog,
    *,
    resend: bool = False,
    retries: int = 4,
    backoff: float = 2.0,
    sleep: Callable[[float], None] = time.sleep,
) -> DeliveryReport:
    """Send each planned message at most once per (month, manager, recipient), recording every step.

    - Already sent with the same pack fingerprints: skipped (``resend=True`` sends again with a new
      Message-ID and logs ``resent``).
    - Sent earlier with other fingerprints: reported in ``changed`` and logged ``skipped``, not sent
      (``resend=True`` sends the new packs).
    - Left ``sending`` by an interrupted run: sent again with the *same* Message-ID.
    - Temporary failures are retried ``retries`` times, waiting ``backoff * 2**n`` seconds; permanent
      failures are logged ``failed`` and the other messages still go out. After a message ran out of
      retries, the next ones get one attempt each until one goes through, so a server that is down for
      the whole run costs one backoff sequence, not one per message.
    Only an interruption (KeyboardInterrupt, SystemExit, a crash) stops the loop; it leaves at most one
    ``sending`` row, which the next run completes.
    """
    keys = [m.key for m in messages]
    if len(set(keys)) < len(keys):
        raise ValueError("the plan holds the same (month, manager, recipient) twice; plan with plan_messages")
    report = DeliveryReport()
    history = log.history({m.month for m in messages})
    delivered: dict[tuple[str, str, str], list[LoggedDelivery]] = {}
    last: dict[tuple[str, str, str], LoggedDelivery] = {}
    for row in history:
        key = (row.month, row.manager_id, row.recipient)
        last[key] = row
        if row.outcome in ("sent", "resent"):
            delivered.setdefault(key, []).append(row)
    server_down = False
    for msg in messages:
        sends = delivered.get(msg.key, [])
        latest = last.get(msg.key)
        pending = latest if latest is not None and latest.outcome == "sending" else None
        resumed = pending is not None and pending.attachments == msg.fingerprints
        if resumed and pending is not None:
            message_id = pending.message_id  # interrupted: the same message again, recognisably
        elif sends and not resend:
            if sends[-1].attachments == msg.fingerprints:
                report.skipped.append(
                    DeliveryResult(
                        msg,
                        "skipped",
                        f"already sent {sends[-1].sent_at:%Y-%m-%d %H:%M} UTC as {sends[-1].message_id}",
                        0,
                        sends[-1].message_id,
                    )
                )
                continue
            detail = (
                f"packs changed since sent {sends[-1].sent_at:%Y-%m-%d %H:%M} UTC "
                f"({_changes(sends[-1].attachments, msg.fingerprints)}); not re-sent: re-send "
                f"explicitly (resend) if the recipient should get the new packs"
            )
            assert latest is not None  # sends is not empty, so the log has a latest entry for the message
            if pending is not None:
                log.finish(msg, "skipped", "interrupted run superseded: " + detail)
            elif latest.outcome != "skipped" or latest.message_id != msg.message_id:
                log.record(msg, "skipped", detail)
            report.changed.append(DeliveryResult(msg, "skipped", detail, 0, msg.message_id))
            continue
        elif sends:
            message_id = msg.message_id.replace("@", f".r{len(sends)}@", 1)
        else:
            message_id = msg.message_id
        outcome = "resent" if sends else "sent"
        sending = replace(msg, message_id=message_id)
        log.start(sending)
        result, server_down = _send_with_retries(
            sending, mailer, log, outcome, 0 if server_down else retries, backoff, sleep
        )
        if resumed and result.outcome != "failed":
            result = replace(result, detail=result.detail + "; completes an interrupted run (same Message-ID)")
        log.finish(msg, result.outcome, result.detail)
        (report.failed if result.outcome == "failed" else report.sent).append(result)
    return report


def _send_with_retries(
    msg: Outgoing,
    mailer: Mailer,
    log: DeliveryLog,
    outcome: str,
    retries: int,
    backoff: float,
    sleep: Callable[[float], None],
) -> tuple[DeliveryResult, bool]:
    """One message through the mailer; True as well when it failed only because retries ran out."""
    attempt = 0
    while True:
        attempt += 1
        log.attempt(msg)
        try:
            detail = mailer.send(msg)
            return DeliveryResult(msg, outcome, detail, attempt, msg.message_id), False
        except PermanentFailure as err:
            return DeliveryResult(msg, "failed", str(err), attempt, msg.message_id), False
        except TemporaryFailure as err:
            if attempt > retries:
                tries = f"{attempt} attempts" if attempt > 1 else "1 attempt (the previous message ran out of retries)"
                failed = DeliveryResult(msg, "failed", f"gave up after {tries}: {err}", attempt, msg.message_id)
                return failed, True
            sleep(backoff * 2 ** (attempt - 1))
