"""Shared pieces of the ledger's components: line columns and kinds, the month context, line blocks, gates."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pandas as pd

from attain.pay import explain
from attain.pay.explain import Sentence
from attain.pay.plans import Component, Condition
from attain.settings import Settings

LEDGER_COLUMNS = [
    "month",
    "rep_id",
    "plan_id",
    "currency",
    "component",
    "kind",
    "deal_ids",
    "base_minor",
    "band",
    "rate",
    "amount_minor",
    "explanation",
    "for_month",
    "line_no",
    # issue 13 item 1: the explanation's facts, rendered in the reader's language by the packs (attain.pay.explain)
    "reason_code",
    "explain_args",
]
#: Kinds paid as draws; payouts report them apart from earnings (every other kind but adjustments and balances).
DRAW_KINDS = ("draw", "draw_recovery", "guarantee")
#: Kinds that carry a negative month forward and recover it from later months; payouts report them apart.
BALANCE_KINDS = ("carry_forward", "recovery")
CLAWBACK_SOURCE_KINDS = ("commission", "spiff")
_INT64_MAX = np.iinfo(np.int64).max
_STAGE_PLAN_CAP, _STAGE_CLAWBACK, _STAGE_DRAW, _STAGE_BALANCE = 10_000, 20_000, 30_000, 40_000
#: Attainment-table scope of a plan's ``scope``/``team`` wording.
_ATTAINMENT_SCOPE = {"rep": "rep", "team": "team", "managed": "manager", "own": "team"}


def _run_starts(*keys: np.ndarray) -> np.ndarray:
    """Start positions of the runs of equal consecutive keys (arrays already sorted by them)."""
    if not len(keys[0]):
        return np.zeros(0, dtype=np.int64)
    change = np.zeros(len(keys[0]), dtype=bool)
    change[0] = True
    for key in keys:
        change[1:] |= key[1:] != key[:-1]
    return np.flatnonzero(change)


def _join_runs(ids: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """``";"``-joined ids of each run starting at ``starts``."""
    if not len(starts):
        return np.zeros(0, dtype=object)
    ends = np.r_[starts[1:], len(ids)]
    return np.array([";".join(ids[a:b]) for a, b in zip(starts, ends, strict=True)], dtype=object)


# ---------------------------------------------------------------------------- inputs


def of_month(frame: pd.DataFrame, month: str) -> pd.DataFrame:
    """The rows of ``month``; a frame without a ``month`` column is taken as that month's already."""
    return frame[frame["month"] == month] if "month" in frame.columns else frame


def _ceil_fraction(values: np.ndarray, frac: Fraction) -> np.ndarray:
    """``ceil(values x frac)`` exactly, for int64 ``values``."""
    return -((-values * frac.numerator) // frac.denominator)


@dataclass
class _Month:
    """One month's inputs, indexed once for all components."""

    month: str
    settings: Settings
    credited: pd.DataFrame
    attainment: pd.DataFrame
    satisfaction: pd.DataFrame

    def __post_init__(self) -> None:
        self._deal_cache: dict[tuple[str, ...], tuple[pd.DataFrame, pd.Index]] = {}
        att = self.attainment
        self._att = (
            {
                key: grp.set_index("scope_id")[["actual", "target"]]
                for key, grp in att.groupby(["scope", "metric", "period"], sort=False)
            }
            if len(att)
            else {}
        )

    def period_months(self, comp: Component) -> list[str] | None:
        """Months a component pays on this month; ``None`` when it does not pay this month."""
        if comp.period == "month":
            return [self.month]
        qtd = self.settings.calendar.qtd(self.month)
        return qtd if len(qtd) == 3 else None

    def attainment_key(self, comp: Component) -> str:
        return "month" if comp.period == "month" else "qtd"

    def deals(self, months: list[str], reps: pd.Index, roles: tuple[str, ...]) -> pd.DataFrame:
        """Credited rows of ``months`` for ``reps`` in ``roles``, sorted by rep, close date, deal id.

        The sort is the accumulation order of marginal tiers; it is done once per
        set of months, and each rep's rows stay together (column ``rep_code``).
        """
        key = tuple(months)
        if key not in self._deal_cache:
            rows = self.credited[self.credited["credit_month"].isin(months)]
            rows = rows[["rep_id", "deal_id", "role", "close_date", "product", "credit_minor"]]
            codes, uniques = pd.factorize(rows["rep_id"])
            deal_rank = np.empty(len(rows), dtype=np.int64)
            deal_rank[np.argsort(rows["deal_id"].to_numpy(dtype=str), kind="stable")] = np.arange(len(rows))
            order = np.lexsort((deal_rank, rows["close_date"].to_numpy(dtype="datetime64[ns]"), codes))
            rows = rows.iloc[order].assign(rep_code=codes[order], role=rows["role"].iloc[order].astype("category"))
            self._deal_cache[key] = (rows, pd.Index(uniques))
        rows, uniques = self._deal_cache[key]
        mask = uniques.isin(reps)[rows["rep_code"].to_numpy()] & rows["role"].isin(roles).to_numpy()
        return rows[mask]

    def actual_target(self, scope: str, metric: str, period: str, ids: pd.Index) -> tuple[np.ndarray, np.ndarray]:
        """Actual and target (int64; target -1 where none) for ``ids`` of a scope."""
        table = self._att.get((scope, metric, period))
        if table is None:
            return np.zeros(len(ids), dtype=np.int64), np.full(len(ids), -1, dtype=np.int64)
        table = table[~table.index.duplicated()].reindex(ids)
        actual = pd.to_numeric(table["actual"]).fillna(0).to_numpy(dtype=np.int64)
        target = pd.to_numeric(table["target"]).fillna(-1).to_numpy(dtype=np.int64)
        return actual, target


# ---------------------------------------------------------------------------- line blocks


def _block(
    rep_id, component, kind: str, amount, *, deal_ids="", base=0, band="", rate="", explanation, stage: int, sub=0
) -> pd.DataFrame:
    """A frame of statement lines (columns broadcast from scalars). ``explanation``: one sentence
    (``attain.pay.explain``) per line, or one for all; stored as its English text, code and arguments."""
    rep_id = np.asarray(rep_id, dtype=object)
    n = len(rep_id)
    sentences = [explanation] * n if isinstance(explanation, dict) else list(explanation)

    def column(value, dtype=object) -> np.ndarray:
        return np.broadcast_to(np.asarray(value, dtype=dtype), n).copy()

    return pd.DataFrame(
        {
            "rep_id": rep_id,
            "component": column(component),
            "kind": kind,
            "deal_ids": column(deal_ids),
            "base_minor": column(base, np.int64),
            "band": column(band),
            "rate": column(rate),
            "amount_minor": column(amount, np.int64),
            "explanation": np.array([explain.english(t) for t in sentences], dtype=object).reshape(n),
            "reason_code": np.array([t["code"] for t in sentences], dtype=object).reshape(n),
            "explain_args": np.array([explain.args_json(t) for t in sentences], dtype=object).reshape(n),
            "_stage": stage,
            "_sub": column(sub, np.int64),
        },
        index=pd.RangeIndex(n),
    )


# ---------------------------------------------------------------------------- conditions


def _condition(ctx: _Month, cond: Condition, roster: pd.DataFrame) -> tuple[np.ndarray, list[Sentence]]:
    """Whether ``cond`` holds for each rep of ``roster`` and a sentence stating the figure."""
    n = len(roster)
    limit = cond.at_least if cond.at_least is not None else cond.below
    assert limit is not None  # the plan loader requires at_least or below on every condition
    op = ">=" if cond.at_least is not None else "<"
    if cond.measure in ("attainment", "actual"):
        ids = pd.Index(roster["team"] if cond.scope == "team" else roster.index)
        actual, target = ctx.actual_target(_ATTAINMENT_SCOPE[cond.scope], cond.metric, cond.period, ids)
        period = explain.sentence(f"term.{cond.period.upper() if cond.period != 'month' else 'month'}")
        label = explain.sentence(
            f"condition.{cond.scope}", period=period, metric=explain.sentence(f"term.{cond.metric}")
        )
        if cond.measure == "actual":
            reached = actual >= int(limit)
            holds = reached if op == ">=" else ~reached

            def figure(value: int) -> list | int:
                return explain.money(value, cond.currency) if cond.metric == "revenue" else int(value)

            return holds, [
                explain.sentence("condition.actual", label=label, value=figure(a), op=op, limit=figure(int(limit)))
                for a in actual
            ]
        frac = Fraction(limit)
        has = target > 0
        reached = actual * frac.denominator >= target * frac.numerator
        holds = np.where(has, reached if op == ">=" else ~reached, cond.if_no_data)
        texts = [
            explain.sentence(
                "condition.attainment", label=label, att=explain.att(a, t), op=op, limit=explain.pct(limit)
            )
            if t > 0
            else explain.sentence("condition.no_target", label=label)
            for a, t in zip(actual, target, strict=True)
        ]
        return holds.astype(bool), texts
    sat = ctx.satisfaction
    if "rep_id" not in sat.columns:  # no survey data at all
        sat = pd.DataFrame(columns=["rep_id", "enough", cond.measure])
    if "window" in sat.columns:
        sat = sat[sat["window"] == cond.window]
    sat = sat.drop_duplicates("rep_id").set_index("rep_id").reindex(roster.index)
    values = sat[cond.measure]
    enough = sat["enough"].fillna(False).astype(bool) & values.notna()
    holds, texts = np.empty(n, dtype=bool), []
    name = explain.sentence(f"term.{cond.measure}")
    for i, (ok, value) in enumerate(zip(enough, values, strict=True)):
        if not ok:
            holds[i] = cond.if_no_data
            texts.append(explain.sentence("condition.few_responses", measure=name))
            continue
        exact = Decimal(repr(float(value)))
        holds[i] = exact >= limit if op == ">=" else exact < limit
        unit = "%" if cond.measure == "csat_pct" else ""
        texts.append(
            explain.sentence(
                "condition.score",
                measure=name,
                value=f"{exact.normalize():f}{unit}",
                op=op,
                limit=f"{limit.normalize():f}{unit}",
            )
        )
    return holds, texts


def _gates(
    ctx: _Month, comp: Component, roster: pd.DataFrame
) -> tuple[np.ndarray, np.ndarray, list[Sentence | None], list[Sentence | None]]:
    """(component allowed, accelerators allowed, the failed conditions) per rep of ``roster``."""
    n = len(roster)
    whole, accel = np.ones(n, dtype=bool), np.ones(n, dtype=bool)
    whole_why: list[Sentence | None] = [None] * n
    accel_why: list[Sentence | None] = [None] * n
    for gate in comp.gates:
        holds, texts = _condition(ctx, gate.condition, roster)
        target, why = (whole, whole_why) if gate.applies_to == "component" else (accel, accel_why)
        for i in np.flatnonzero(~holds & target):
            why[i] = texts[i]
        target &= holds
    return whole, accel, whole_why, accel_why
