"""Who receives what: per-manager messages (their team's packs, subject and body in their locale, the team's
headline figures), checked so no message carries a pack of a rep outside the recipient's team.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path

import jinja2
import pandas as pd

from attain.packs.i18n import format_money, format_month, format_percent, translator

#: Subject and body templates: ``<kind>_subject.txt``, ``<kind>_body.txt``, ``<kind>_body.html``.
TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "report_templates" / "email"

_REVIEW_PACK_COLUMNS = ("person_id", "kind", "locale", "path", "sha256")
_ROSTER_COLUMNS = ("rep_id", "name", "email", "role", "manager_id", "team", "locale")


class DeliveryPlanError(ValueError):
    """The packs and the roster do not describe a message that may be sent."""


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
