"""Incentive plans as YAML files: parsing, validation and effective-dated versions.

A plan file (``plans/*.yaml``, documented for analysts in docs/plans.md) names a
plan id, its currency and a list of pay components. It is validated entirely on
load: an error names the file, the key path and what to write instead, so the
analyst can fix the file without reading code. Numbers in plan files are read as
exact ``Decimal`` (never floats); attainment fractions and rates may be written
as ``0.5`` or ``"50%"``.

A plan id may have several versions, each ``effective_from`` a month (one YAML
document per version, in one file or several); the version in force for a month
is the latest whose ``effective_from`` is on or before it.

A version may say who approved it (``version``, ``approved_by``, ``approved_at``, optional): a month run with a
version that has no approval is paid, with a warning (``unapproved``). The book keeps the SHA-256 of each file's
bytes, which the month's ``plan_versions`` table records (``plan_versions``).
"""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from attain.money import MoneyError, minor_digits, to_minor
from attain.periods import PeriodError, parse_month

COMPONENT_KINDS = ("commission", "bonus", "spiff", "team_bonus", "penalty")
TIER_METHODS = ("marginal", "retroactive", "per_deal")
TIER_BASES = ("attainment", "amount")
PERIODS = ("month", "quarter")
METRICS = ("revenue", "won_deals", "new_accounts")
ROLES = ("owner", "split", "overlay")
MEASURES = ("attainment", "actual", "csat_pct", "csat_mean", "nps")
ATTAINMENT_PERIODS = ("month", "qtd", "ytd")


class PlanError(ValueError):
    """A plan file that cannot be used; ``str(e)`` is ``"<file>: <key.path>: <what to do>"``."""


@dataclass(frozen=True)
class Band:
    """One row of a tier table: from ``lower`` (fraction of target, or minor units) at ``rate``."""

    lower: Fraction
    rate: Decimal
    accelerator: bool


@dataclass(frozen=True)
class Condition:
    """A test on one measure of a rep (or the rep's team) used by gates and penalties.

    ``measure`` is ``attainment`` (of ``metric`` over ``period``: compared as
    integers, actual x denominator vs target x numerator), ``actual`` (the
    figure itself: minor units of ``currency`` for revenue, a count otherwise), or ``csat_pct``,
    ``csat_mean``, ``nps`` from the satisfaction table. The test is
    ``value >= at_least`` or ``value < below``. ``if_no_data`` says whether the
    test holds when there is no target or not enough survey responses.
    """

    measure: str
    metric: str
    period: str
    scope: str
    at_least: Decimal | None
    below: Decimal | None
    if_no_data: bool
    window: str
    currency: str = ""


@dataclass(frozen=True)
class Gate:
    """A condition that must hold for the whole component or only for its accelerator bands."""

    condition: Condition
    applies_to: str  # "component" | "accelerators"


@dataclass(frozen=True)
class Milestone:
    """A bonus of ``amount_minor`` paid when attainment reaches ``at``."""

    at: Fraction
    amount_minor: int


@dataclass(frozen=True)
class Component:
    """One pay component of a plan (one or more statement lines per rep and period)."""

    id: str
    kind: str
    period: str = "month"
    metric: str = "revenue"
    roles: tuple[str, ...] = ROLES
    # commission
    method: str = "marginal"
    basis: str = "attainment"
    bands: tuple[Band, ...] = ()
    threshold: Fraction | None = None
    gates: tuple[Gate, ...] = ()
    cap_minor: int | None = None
    # bonus, team_bonus
    milestones: tuple[Milestone, ...] = ()
    pay: str = "each"
    team: str = "own"  # team_bonus: "own" (the roster team) or "managed" (everyone reporting to the person)
    # spiff
    products: tuple[str, ...] = ()
    deal_ids: tuple[str, ...] = ()
    valid_from: dt.date | None = None
    valid_until: dt.date | None = None
    min_credit_minor: int = 0
    per_deal_minor: int | None = None
    rate: Decimal | None = None
    # penalty
    when: Condition | None = None
    multiplier: Decimal | None = None
    amount_minor: int | None = None
    applies_to: tuple[str, ...] = ()


@dataclass(frozen=True)
class Draw:
    """A recoverable draw or a non-recoverable guarantee of ``amount_minor`` per month.

    It is in force from ``from_month`` to ``until_month`` (inclusive, blank = open)
    and, when ``first_months`` is set, only in the first N months of employment.
    """

    kind: str  # "recoverable" | "guarantee"
    amount_minor: int
    from_month: str | None
    until_month: str | None
    first_months: int | None


@dataclass(frozen=True)
class Clawback:
    """Cancellations within the window claw back what ``components`` paid (blank = all)."""

    window_days: int | None
    window_months: int | None
    components: tuple[str, ...]


@dataclass(frozen=True)
class Plan:
    """One version of an incentive plan."""

    plan_id: str
    name: str
    currency: str
    effective_from: str | None
    target_incentive_minor: int | None
    components: tuple[Component, ...]
    cap_minor: int | None
    draw: Draw | None
    clawback: Clawback | None
    source: str
    # issue 14 item 4: who approved this version, and its own version label (all optional)
    version: str | None = None
    approved_by: str | None = None
    approved_at: str | None = None

    @property
    def approved(self) -> bool:
        """Whether the version says who approved it and when."""
        return bool(self.approved_by and self.approved_at)


#: Columns of the ``plan_versions`` table: the plan version each plan id of a month's ledger used.
PLAN_VERSION_COLUMNS = [
    "month",
    "plan_id",
    "effective_from",
    "version",
    "approved_by",
    "approved_at",
    "source",
    "sha256",
]


@dataclass
class PlanBook:
    """Every plan version loaded from a folder, plus the file texts (for fingerprints) and their SHA-256."""

    versions: dict[str, list[Plan]] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)
    hashes: dict[str, str] = field(default_factory=dict)

    @property
    def plan_ids(self) -> list[str]:
        """The plan ids defined, sorted."""
        return sorted(self.versions)

    def for_rep(self, plan_id: str, month: str) -> Plan:
        """The version of ``plan_id`` in force in ``month``."""
        parse_month(month)
        if plan_id not in self.versions:
            known = ", ".join(self.plan_ids) or "none"
            raise PlanError(
                f"reps: plan_id: no plan file defines plan_id {plan_id!r}; "
                f"known plan ids: {known}. Add plans/{plan_id}.yaml or fix the roster"
            )
        in_force = [p for p in self.versions[plan_id] if (p.effective_from or "0000-01") <= month]
        if not in_force:
            first = self.versions[plan_id][0]
            raise PlanError(
                f"{first.source}: effective_from: plan {plan_id!r} starts in {first.effective_from}, "
                f"after {month}; add a version effective from {month} or earlier"
            )
        return in_force[-1]


# ---------------------------------------------------------------------------- YAML


class _DecimalLoader(yaml.SafeLoader):
    """SafeLoader that reads YAML floats as exact Decimals."""


def _construct_decimal(loader: yaml.SafeLoader, node: yaml.Node) -> Decimal | str:
    text = str(loader.construct_scalar(node)).replace("_", "")
    try:
        return Decimal(text)
    except InvalidOperation:
        return text


_DecimalLoader.add_constructor("tag:yaml.org,2002:float", _construct_decimal)


def load_plans(plans_dir: Path | str) -> PlanBook:
    """Load and validate every ``*.yaml`` / ``*.yml`` plan file in ``plans_dir``."""
    folder = Path(plans_dir)
    if not folder.is_dir():
        raise PlanError(f"{folder}: (folder): the plans folder does not exist; create it with one YAML file per plan")
    return load_plan_files(sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")]))


def load_plan_files(paths: list[Path]) -> PlanBook:
    """Load and validate the plan files ``paths`` as one book (a folder's files, or a single file)."""
    book = PlanBook()
    seen: dict[tuple[str, str | None], str] = {}
    for path in paths:
        data = path.read_bytes()
        text = data.decode("utf-8")
        book.texts[path.name] = text
        book.hashes[path.name] = hashlib.sha256(data).hexdigest()
        for plan in parse_plan_text(text, path.name):
            key = (plan.plan_id, plan.effective_from)
            if key in seen:
                raise PlanError(
                    f"{path.name}: effective_from: plan {plan.plan_id!r} effective from "
                    f"{plan.effective_from or '(always)'} is also defined in {seen[key]}; "
                    "give each version its own effective_from month"
                )
            seen[key] = path.name
            book.versions.setdefault(plan.plan_id, []).append(plan)
    for versions in book.versions.values():
        versions.sort(key=lambda p: p.effective_from or "0000-01")
    return book


def plan_versions(book: PlanBook, plan_ids: list[str], month: str) -> pd.DataFrame:
    """The ``plan_versions`` rows of ``month``: for each plan id, the version in force, its approval and the
    SHA-256 of the file that defines it (so a ledger line traces back to the exact plan text)."""
    rows = []
    for plan_id in sorted(set(plan_ids)):
        plan = book.for_rep(plan_id, month)
        rows.append(
            [
                month,
                plan.plan_id,
                plan.effective_from or "",
                plan.version or "",
                plan.approved_by or "",
                plan.approved_at or "",
                plan.source,
                book.hashes.get(plan.source, ""),
            ]
        )
    return pd.DataFrame(rows, columns=PLAN_VERSION_COLUMNS, dtype=object)


def unapproved(versions: pd.DataFrame) -> list[str]:
    """A warning per row of a ``plan_versions`` table whose version says nobody approved it."""
    missing = versions[(versions["approved_by"] == "") | (versions["approved_at"] == "")]
    return [
        f"plan {row.plan_id!r} ({row.source}, version {row.version or '(none)'}, in force in {row.month}) is not "
        "approved: add approved_by and approved_at to the plan file once it is"
        for row in missing.itertuples()
    ]


def parse_plan_text(text: str, source: str) -> list[Plan]:
    """Parse the YAML documents of one file into validated plan versions."""
    try:
        documents = [d for d in yaml.load_all(text, Loader=_DecimalLoader) if d is not None]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "(file)"
        raise PlanError(
            f"{source}: {where}: not valid YAML ({getattr(exc, 'problem', exc)}); "
            "check indentation and that each key is followed by ': '"
        ) from None
    if not documents:
        raise PlanError(f"{source}: (file): the file is empty; write at least plan_id, currency and components")
    return [_Reader(source).plan(doc) for doc in documents]


class _Reader:
    """Validates one YAML document, raising PlanError with the key path on the first problem."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, path: str, message: str) -> PlanError:
        return PlanError(f"{self.source}: {path}: {message}")

    def mapping(self, value: Any, path: str, allowed: tuple[str, ...], required: tuple[str, ...] = ()) -> dict:
        if not isinstance(value, dict):
            raise self.fail(path, f"expected keys ({', '.join(allowed)}), found {value!r}")
        for key in value:
            if key not in allowed:
                close = difflib.get_close_matches(str(key), allowed, n=1)
                hint = f"did you mean {close[0]!r}? " if close else ""
                raise self.fail(
                    f"{path}.{key}".lstrip("."), f"unknown key; {hint}allowed keys here: {', '.join(allowed)}"
                )
        for key in required:
            if value.get(key) in (None, ""):
                raise self.fail(f"{path}.{key}".lstrip("."), "required key is missing or blank")
        return value

    def choice(self, value: Any, path: str, options: tuple[str, ...]) -> str:
        if value not in options:
            raise self.fail(path, f"{value!r} is not allowed; write one of: {', '.join(options)}")
        return value

    def text(self, value: Any, path: str) -> str:
        if not isinstance(value, (str, int)) or isinstance(value, bool) or str(value).strip() == "":
            raise self.fail(path, f"expected a text value, found {value!r}")
        return str(value).strip()

    def decimal(self, value: Any, path: str, percent_ok: bool = True) -> Decimal:
        """A number; ``"7.5%"`` means 0.075 when ``percent_ok``."""
        if isinstance(value, bool):
            raise self.fail(path, f"expected a number, found {value!r}")
        raw = str(value).strip().replace(",", "")
        scale = Decimal(1)
        if percent_ok and raw.endswith("%"):
            raw, scale = raw[:-1].strip(), Decimal("0.01")
        try:
            number = Decimal(raw)
        except InvalidOperation:
            example = 'a decimal such as 0.06 or "6%"' if percent_ok else "a decimal such as 12.5"
            raise self.fail(path, f"{value!r} is not a number; write {example}") from None
        if not number.is_finite():
            raise self.fail(path, f"{value!r} is not a finite number")
        return number * scale

    def fraction(self, value: Any, path: str) -> Fraction:
        """An attainment level: ``"80%"`` or ``0.8``; a bare number above 10 is taken for a slip."""
        number = self.decimal(value, path)
        if number < 0:
            raise self.fail(path, f"{value!r} is negative; attainment fractions start at 0")
        if number > 10 and not str(value).strip().endswith("%"):
            raise self.fail(
                path,
                f"{value!r} would mean {number * 100}% of target; "
                f'write it as a percentage ("{number}%") or a fraction ({number / 100})',
            )
        return Fraction(number)

    def rate(self, value: Any, path: str) -> Decimal:
        """A rate: ``"6%"`` or ``0.06``; a bare number above 1 (``6``) is taken for a slip."""
        number = self.decimal(value, path)
        if number < 0:
            raise self.fail(path, f'{value!r} is negative; a rate is 0 or more (e.g. 0.06 or "6%")')
        if number > 1 and not str(value).strip().endswith("%"):
            percent = number * 100
            raise self.fail(
                path,
                f'{value!r} would mean {percent}%; write "{number}%" or {number / 100} '
                f'(or "{percent}%" if more than 100% is really meant)',
            )
        return number

    def money(self, value: Any, path: str, currency: str) -> int:
        if isinstance(value, bool) or (isinstance(value, str) and value.strip().endswith("%")):
            raise self.fail(path, f"expected an amount in {currency}, found {value!r}")
        try:
            minor = to_minor(str(value).strip().replace(",", ""), currency)
        except MoneyError as exc:
            raise self.fail(
                path, f"{exc}; write an amount in {currency} such as 1500" + (".00" if minor_digits(currency) else "")
            ) from None
        if minor < 0:
            raise self.fail(path, f"{value!r} is negative; write a positive amount")
        return minor

    def month(self, value: Any, path: str) -> str:
        try:
            parse_month(str(value))
        except PeriodError as exc:
            raise self.fail(path, str(exc)) from None
        return str(value)

    def date(self, value: Any, path: str) -> dt.date:
        if isinstance(value, dt.date):
            return value
        try:
            return dt.date.fromisoformat(str(value))
        except ValueError:
            raise self.fail(path, f"{value!r} is not a date; write YYYY-MM-DD, for example 2025-03-31") from None

    def integer(self, value: Any, path: str) -> int:
        if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).isdigit():
            raise self.fail(path, f"expected a whole number of 0 or more, found {value!r}")
        return int(value)

    def strings(self, value: Any, path: str) -> tuple[str, ...]:
        items = value if isinstance(value, list) else [value]
        return tuple(self.text(v, f"{path}[{i}]") for i, v in enumerate(items))

    # -- plan ------------------------------------------------------------------------

    def plan(self, doc: Any) -> Plan:
        doc = self.mapping(
            doc,
            "",
            (
                "plan_id",
                "name",
                "currency",
                "effective_from",
                "target_incentive",
                "cap",
                "draw",
                "clawback",
                "components",
                "version",
                "approved_by",
                "approved_at",
            ),
            ("plan_id", "currency", "components"),
        )
        currency = self.text(doc["currency"], "currency").upper()
        try:
            minor_digits(currency)
        except MoneyError as exc:
            raise self.fail("currency", str(exc)) from None
        comps_raw = doc["components"]
        if not isinstance(comps_raw, list) or not comps_raw:
            raise self.fail("components", "expected a list of components, each starting with '- id: ...'")
        components = tuple(self.component(c, f"components[{i}]", currency) for i, c in enumerate(comps_raw))
        ids = [c.id for c in components]
        for i, cid in enumerate(ids):
            if cid in ids[:i] or cid == "plan_cap":
                raise self.fail(
                    f"components[{i}].id", f"id {cid!r} is used twice or reserved; give each component its own id"
                )
        for i, comp in enumerate(components):
            for target in comp.applies_to:
                if target not in ids[:i]:
                    raise self.fail(
                        f"components[{i}].applies_to",
                        f"{target!r} is not a component listed before this penalty; "
                        f"write ids from: {', '.join(ids[:i]) or '(none)'}",
                    )
        clawback = self.clawback(doc.get("clawback"), ids) if doc.get("clawback") is not None else None
        return Plan(
            plan_id=self.text(doc["plan_id"], "plan_id"),
            name=str(doc.get("name") or doc["plan_id"]),
            currency=currency,
            effective_from=self.month(doc["effective_from"], "effective_from") if doc.get("effective_from") else None,
            target_incentive_minor=(
                self.money(doc["target_incentive"], "target_incentive", currency)
                if doc.get("target_incentive") is not None
                else None
            ),
            components=components,
            cap_minor=self.money(doc["cap"], "cap", currency) if doc.get("cap") is not None else None,
            draw=self.draw(doc["draw"], currency) if doc.get("draw") is not None else None,
            clawback=clawback,
            source=self.source,
            version=self.label(doc["version"], "version") if doc.get("version") is not None else None,
            approved_by=self.text(doc["approved_by"], "approved_by") if doc.get("approved_by") is not None else None,
            approved_at=self.moment(doc["approved_at"], "approved_at") if doc.get("approved_at") is not None else None,
        )

    def label(self, value: Any, path: str) -> str:
        """A version label: text or a number (``3``, ``2027.1``, ``"v3"``), kept as written."""
        if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)) or str(value).strip() == "":
            raise self.fail(path, f'expected a version label such as 3 or "2027-01 rev 2", found {value!r}')
        return str(value).strip()

    def moment(self, value: Any, path: str) -> str:
        """A date or date-time (``2026-11-20`` or ``2026-11-20T14:30:00Z``), as ISO text."""
        if isinstance(value, dt.date):  # YAML reads both dates and date-times
            return value.isoformat()
        text = str(value).strip()
        try:
            dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise self.fail(
                path, f"{value!r} is not a date; write YYYY-MM-DD or YYYY-MM-DDTHH:MM, for example 2026-11-20"
            ) from None
        return text

    def draw(self, raw: Any, currency: str) -> Draw:
        raw = self.mapping(raw, "draw", ("kind", "amount", "from", "until", "first_months"), ("kind", "amount"))
        return Draw(
            kind=self.choice(raw["kind"], "draw.kind", ("recoverable", "guarantee")),
            amount_minor=self.money(raw["amount"], "draw.amount", currency),
            from_month=self.month(raw["from"], "draw.from") if raw.get("from") else None,
            until_month=self.month(raw["until"], "draw.until") if raw.get("until") else None,
            first_months=self.integer(raw["first_months"], "draw.first_months") if raw.get("first_months") else None,
        )

    def clawback(self, raw: Any, ids: list[str]) -> Clawback:
        raw = self.mapping(raw, "clawback", ("window_days", "window_months", "components"))
        if (raw.get("window_days") is None) == (raw.get("window_months") is None):
            raise self.fail("clawback", "write exactly one of window_days or window_months")
        comps = self.strings(raw["components"], "clawback.components") if raw.get("components") else ()
        for i, cid in enumerate(comps):
            if cid not in ids:
                raise self.fail(
                    f"clawback.components[{i}]", f"{cid!r} is not a component id; use one of: {', '.join(ids)}"
                )
        days, months = raw.get("window_days"), raw.get("window_months")
        return Clawback(
            window_days=self.integer(days, "clawback.window_days") if days is not None else None,
            window_months=self.integer(months, "clawback.window_months") if months is not None else None,
            components=comps,
        )

    def condition(self, raw: Any, path: str, comparison: str, currency: str) -> Condition:
        raw = self.mapping(
            raw,
            path,
            ("measure", "metric", "period", "scope", comparison, "if_no_data", "window"),
            ("measure", comparison),
        )
        measure = self.choice(raw["measure"], f"{path}.measure", MEASURES)
        metric = self.choice(raw.get("metric", "revenue"), f"{path}.metric", METRICS)
        if measure == "actual" and metric == "revenue":
            limit = Decimal(self.money(raw[comparison], f"{path}.{comparison}", currency))
        elif measure == "actual":
            limit = Decimal(self.integer(raw[comparison], f"{path}.{comparison}"))
        elif measure == "attainment":
            self.fraction(raw[comparison], f"{path}.{comparison}")  # refuses 80 meant as 80%
            limit = self.decimal(raw[comparison], f"{path}.{comparison}")
        else:
            limit = self.decimal(raw[comparison], f"{path}.{comparison}", percent_ok=False)
        return Condition(
            measure=measure,
            metric=metric,
            currency=currency,
            period=self.choice(raw.get("period", "month"), f"{path}.period", ATTAINMENT_PERIODS),
            scope=self.choice(raw.get("scope", "rep"), f"{path}.scope", ("rep", "team", "managed")),
            at_least=limit if comparison == "at_least" else None,
            below=limit if comparison == "below" else None,
            if_no_data=self.choice(
                raw.get("if_no_data", "pass" if comparison == "at_least" else "no_penalty"),
                f"{path}.if_no_data",
                ("pass", "fail") if comparison == "at_least" else ("no_penalty", "penalty"),
            )
            in ("pass", "penalty"),
            window=self.choice(raw.get("window", "month"), f"{path}.window", ("month", "trailing_12")),
        )

    def component(self, raw: Any, path: str, currency: str) -> Component:
        if not isinstance(raw, dict):
            raise self.fail(path, "expected a component with keys id and kind")
        kind = self.choice(raw.get("kind"), f"{path}.kind", COMPONENT_KINDS)
        common = ("id", "kind", "period", "metric", "roles", "cap", "gates")
        per_kind = {
            "commission": ("method", "basis", "tiers", "threshold"),
            "bonus": ("milestones", "pay"),
            "team_bonus": ("milestones", "pay", "team"),
            "spiff": ("products", "deal_ids", "valid_from", "valid_until", "min_credit", "per_deal", "rate"),
            "penalty": ("when", "multiplier", "amount", "applies_to"),
        }[kind]
        raw = self.mapping(raw, path, common + per_kind, ("id",))
        cid = self.text(raw["id"], f"{path}.id")
        metric = self.choice(raw.get("metric", "revenue"), f"{path}.metric", METRICS)
        values: dict[str, Any] = {
            "id": cid,
            "kind": kind,
            "metric": metric,
            "period": self.choice(raw.get("period", "month"), f"{path}.period", PERIODS),
            "cap_minor": self.money(raw["cap"], f"{path}.cap", currency) if raw.get("cap") is not None else None,
        }
        if raw.get("roles") is not None:
            values["roles"] = tuple(
                self.choice(r, f"{path}.roles[{i}]", ROLES)
                for i, r in enumerate(self.strings(raw["roles"], f"{path}.roles"))
            )
        gates = raw.get("gates") or []
        if not isinstance(gates, list):
            raise self.fail(f"{path}.gates", "expected a list of gates, each starting with '- measure: ...'")
        values["gates"] = tuple(self.gate(g, f"{path}.gates[{i}]", currency) for i, g in enumerate(gates))
        if kind == "commission":
            self._commission(raw, path, currency, metric, values)
        elif kind in ("bonus", "team_bonus"):
            self._milestones(raw, path, currency, values)
        elif kind == "spiff":
            self._spiff(raw, path, currency, values)
        else:
            self._penalty(raw, path, currency, values)
        return Component(**values)

    def gate(self, raw: Any, path: str, currency: str) -> Gate:
        applies = "component"
        if isinstance(raw, dict) and "applies_to" in raw:
            raw = dict(raw)
            applies = self.choice(raw.pop("applies_to"), f"{path}.applies_to", ("component", "accelerators"))
        return Gate(self.condition(raw, path, "at_least", currency), applies)

    def _commission(self, raw: dict, path: str, currency: str, metric: str, values: dict) -> None:
        if metric != "revenue":
            raise self.fail(
                f"{path}.metric",
                "commission is paid on credited revenue; write metric: revenue "
                "(use a bonus for won_deals or new_accounts)",
            )
        method = values["method"] = self.choice(raw.get("method", "marginal"), f"{path}.method", TIER_METHODS)
        basis = values["basis"] = self.choice(raw.get("basis", "attainment"), f"{path}.basis", TIER_BASES)
        tiers = raw.get("tiers")
        if not isinstance(tiers, list) or not tiers:
            raise self.fail(f"{path}.tiers", "expected a list of bands, e.g. '- {from: 0%, rate: 4%}'")
        bands = []
        for i, band in enumerate(tiers):
            bpath = f"{path}.tiers[{i}]"
            band = self.mapping(band, bpath, ("from", "rate", "accelerator"), ("rate",))
            if "from" not in band:
                raise self.fail(f"{bpath}.from", "required key is missing; the first band starts from 0")
            lower = self.level(band["from"], f"{bpath}.from", basis, currency)
            accel = band.get("accelerator", basis == "attainment" and lower >= 1)
            if not isinstance(accel, bool):
                raise self.fail(f"{bpath}.accelerator", "write true or false")
            bands.append(Band(lower, self.rate(band["rate"], f"{bpath}.rate"), accel))
        if bands[0].lower != 0:
            raise self.fail(f"{path}.tiers[0].from", "the first band must start from 0")
        for i in range(1, len(bands)):
            if bands[i].lower <= bands[i - 1].lower:
                raise self.fail(f"{path}.tiers[{i}].from", "bands must be listed in increasing order of 'from'")
        if method == "per_deal" and basis != "amount":
            raise self.fail(f"{path}.basis", "per_deal tiers are on each deal's own amount; write basis: amount")
        values["bands"] = tuple(bands)
        if raw.get("threshold") is not None:  # a level of the target, or an amount of credit on amount bands
            values["threshold"] = self.level(raw["threshold"], f"{path}.threshold", basis, currency)

    def level(self, value: object, path: str, basis: str, currency: str) -> Fraction:
        """A band boundary or threshold: a fraction of the target on ``basis: attainment``, else an amount of
        credit in minor units of ``currency``."""
        return self.fraction(value, path) if basis == "attainment" else Fraction(self.money(value, path, currency))

    def _milestones(self, raw: dict, path: str, currency: str, values: dict) -> None:
        items = raw.get("milestones")
        if not isinstance(items, list) or not items:
            raise self.fail(f"{path}.milestones", "expected a list, e.g. '- {at: 100%, amount: 1000}'")
        milestones = []
        for i, item in enumerate(items):
            mpath = f"{path}.milestones[{i}]"
            item = self.mapping(item, mpath, ("at", "amount"), ("at", "amount"))
            milestones.append(
                Milestone(
                    self.fraction(item["at"], f"{mpath}.at"), self.money(item["amount"], f"{mpath}.amount", currency)
                )
            )
        values["milestones"] = tuple(sorted(milestones, key=lambda m: m.at))
        values["pay"] = self.choice(raw.get("pay", "each"), f"{path}.pay", ("each", "highest"))
        if "team" in raw:
            values["team"] = self.choice(raw["team"], f"{path}.team", ("own", "managed"))

    def _spiff(self, raw: dict, path: str, currency: str, values: dict) -> None:
        if (raw.get("per_deal") is None) == (raw.get("rate") is None):
            raise self.fail(
                path, "write exactly one of per_deal (an amount per qualifying deal) or rate (on their credit)"
            )
        if raw.get("per_deal") is not None:
            values["per_deal_minor"] = self.money(raw["per_deal"], f"{path}.per_deal", currency)
        else:
            values["rate"] = self.rate(raw["rate"], f"{path}.rate")
        if raw.get("products") is not None:
            values["products"] = self.strings(raw["products"], f"{path}.products")
        if raw.get("deal_ids") is not None:
            values["deal_ids"] = self.strings(raw["deal_ids"], f"{path}.deal_ids")
        for key in ("valid_from", "valid_until"):
            if raw.get(key) is not None:
                values[key] = self.date(raw[key], f"{path}.{key}")
        if raw.get("min_credit") is not None:
            values["min_credit_minor"] = self.money(raw["min_credit"], f"{path}.min_credit", currency)
        if raw.get("roles") is None:
            values["roles"] = ("owner", "split")

    def _penalty(self, raw: dict, path: str, currency: str, values: dict) -> None:
        if raw.get("when") is None:
            raise self.fail(
                f"{path}.when",
                "required: the condition that triggers the penalty, e.g. '{measure: csat_mean, below: 3.5}'",
            )
        values["when"] = self.condition(raw["when"], f"{path}.when", "below", currency)
        if (raw.get("multiplier") is None) == (raw.get("amount") is None):
            raise self.fail(path, "write exactly one of multiplier (variable pay x multiplier, e.g. 0.9) or amount")
        if raw.get("multiplier") is not None:
            mult = self.decimal(raw["multiplier"], f"{path}.multiplier")
            if not 0 <= mult <= 1:
                raise self.fail(f"{path}.multiplier", f"{mult} is outside 0-1; 0.9 keeps 90% of variable pay")
            values["multiplier"] = mult
        else:
            values["amount_minor"] = self.money(raw["amount"], f"{path}.amount", currency)
        if raw.get("applies_to") is not None:
            values["applies_to"] = self.strings(raw["applies_to"], f"{path}.applies_to")
