"""The incentive ledger: every pay component of every rep's plan, one row per statement line.

``compute_ledger`` turns one month's credited deals, attainment, satisfaction and
clawback events into the ``incentive_ledger`` table of docs/data-model.md. Work is
vectorised over all reps of a plan at once (numpy over deal rows, one pass per
component); only the explanations are formatted per line.

Order of a rep's statement (``line_no``): the plan's components in the order
written (each followed by its own ``cap`` line), the plan cap, clawbacks, the
draw or guarantee, then the carried balance (``carry_forward``/``recovery``).
Money is int64 minor units; each line is rounded half-up once
(``attain.money.apply_ratio(s)``) and every total is a sum of lines.

Rules a rep can check by hand (docs/plans.md has worked examples):
- Marginal tiers: the rep's credit of the period is accumulated in close-date then
  deal-id order; each slice is paid at the rate of the band it falls in, one line
  per band, so a deal crossing a boundary is listed on two lines. A band boundary
  on attainment is ``ceil(target x fraction)`` minor units: credit reaches a band
  when ``credit >= target x fraction`` compared exactly as integers.
- Retroactive tiers: the band reached by the period's total credit pays on all of it.
- Per-deal tiers: each deal is tiered on its own credit from zero.
- Quarterly components pay in the last month of the fiscal quarter on QTD figures.
- Clawbacks: a cancellation recorded this month, within the plan's window, gives a
  negative line per line that paid on the deal, at that line's rate.
- Negative months: a month whose lines sum below zero (clawbacks larger than
  earnings) pays nothing: a ``carry_forward`` line brings it to zero and the amount
  becomes a balance, recovered from later positive months by ``recovery`` lines
  (oldest carried month first, each naming that month in ``for_month``), exactly
  like a recoverable draw balance.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pandas as pd

from attain.money import apply_ratio, apply_ratios, format_minor, money_text
from attain.periods import month_end, parse_month
from attain.plans import Band, Component, Condition, Plan, PlanBook
from attain.roster import active_in_month, roster_as_of
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
]
#: Kinds paid as draws; payouts report them apart from earnings (every other kind but adjustments and balances).
DRAW_KINDS = ("draw", "draw_recovery", "guarantee")
#: Kinds that carry a negative month forward and recover it from later months; payouts report them apart.
BALANCE_KINDS = ("carry_forward", "recovery")
CLAWBACK_SOURCE_KINDS = ("commission", "spiff")
_INT64_MAX = np.iinfo(np.int64).max
_STAGE_PLAN_CAP, _STAGE_CLAWBACK, _STAGE_DRAW, _STAGE_BALANCE = 10_000, 20_000, 30_000, 40_000
_DEALS_IN_EXPLANATION = 5
#: Attainment-table scope of a plan's ``scope``/``team`` wording.
_ATTAINMENT_SCOPE = {"rep": "rep", "team": "team", "managed": "manager", "own": "team"}


# ---------------------------------------------------------------------------- formatting


@functools.lru_cache(maxsize=4096)
def percent_text(value: Decimal | Fraction) -> str:
    """An exact ratio as a percentage with no trailing zeros: 0.075 -> ``"7.5%"``."""
    if isinstance(value, Fraction):
        value = Decimal(value.numerator) / Decimal(value.denominator)
    text = format((Decimal(value) * 100).normalize(), "f")
    return f"{text}%"


def attainment_text(actual: int, target: int) -> str:
    """Attainment to one decimal, rounded half-up from the exact integers: ``"92.5%"``."""
    tenths = (2 * 1000 * int(actual) + int(target)) // (2 * int(target))
    return f"{tenths / 10:.1f}%"


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


def _deals_text(ids: str) -> str:
    parts = ids.split(";") if ids else []
    shown = ", ".join(parts[:_DEALS_IN_EXPLANATION])
    more = len(parts) - _DEALS_IN_EXPLANATION
    return f"deal{'s' if len(parts) > 1 else ''} {shown}" + (f" and {more} more" if more > 0 else "")


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
    """A frame of statement lines (columns broadcast from scalars)."""
    rep_id = np.asarray(rep_id, dtype=object)
    n = len(rep_id)

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
            "explanation": column(explanation),
            "_stage": stage,
            "_sub": column(sub, np.int64),
        },
        index=pd.RangeIndex(n),
    )


# ---------------------------------------------------------------------------- conditions


def _condition(ctx: _Month, cond: Condition, roster: pd.DataFrame) -> tuple[np.ndarray, list[str]]:
    """Whether ``cond`` holds for each rep of ``roster`` and a sentence stating the figure."""
    n = len(roster)
    limit = cond.at_least if cond.at_least is not None else cond.below
    assert limit is not None  # the plan loader requires at_least or below on every condition
    op = ">=" if cond.at_least is not None else "<"
    if cond.measure in ("attainment", "actual"):
        ids = pd.Index(roster["team"] if cond.scope == "team" else roster.index)
        actual, target = ctx.actual_target(_ATTAINMENT_SCOPE[cond.scope], cond.metric, cond.period, ids)
        who = {"rep": "", "team": "team ", "managed": "managed team "}[cond.scope]
        label = f"{who}{cond.period.upper() if cond.period != 'month' else 'month'} {cond.metric}"
        if cond.measure == "actual":
            reached = actual >= int(limit)
            holds = reached if op == ">=" else ~reached

            def figure(value: int) -> str:
                return money_text(value, cond.currency) if cond.metric == "revenue" else str(int(value))

            return holds, [f"{label} {figure(a)} (needs {op} {figure(int(limit))})" for a in actual]
        frac = Fraction(limit)
        has = target > 0
        reached = actual * frac.denominator >= target * frac.numerator
        holds = np.where(has, reached if op == ">=" else ~reached, cond.if_no_data)
        texts = [
            f"{label} attainment {attainment_text(a, t)} (needs {op} {percent_text(limit)})"
            if t > 0
            else f"{label} attainment: no target"
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
    name = {"csat_pct": "CSAT", "csat_mean": "CSAT mean", "nps": "NPS"}[cond.measure]
    for i, (ok, value) in enumerate(zip(enough, values, strict=True)):
        if not ok:
            holds[i] = cond.if_no_data
            texts.append(f"{name}: not enough responses")
            continue
        exact = Decimal(repr(float(value)))
        holds[i] = exact >= limit if op == ">=" else exact < limit
        unit = "%" if cond.measure == "csat_pct" else ""
        texts.append(f"{name} {exact.normalize():f}{unit} (needs {op} {limit.normalize():f}{unit})")
    return holds, texts


def _gates(ctx: _Month, comp: Component, roster: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, list[str], list[str]]:
    """(component allowed, accelerators allowed, reason texts) per rep of ``roster``."""
    n = len(roster)
    whole, accel = np.ones(n, dtype=bool), np.ones(n, dtype=bool)
    whole_why, accel_why = [""] * n, [""] * n
    for gate in comp.gates:
        holds, texts = _condition(ctx, gate.condition, roster)
        target, why = (whole, whole_why) if gate.applies_to == "component" else (accel, accel_why)
        for i in np.flatnonzero(~holds & target):
            why[i] = texts[i]
        target &= holds
    return whole, accel, whole_why, accel_why


# ---------------------------------------------------------------------------- components


def _band_labels(comp: Component, currency: str) -> list[str]:
    labels = []
    for k, band in enumerate(comp.bands):
        upper = comp.bands[k + 1].lower if k + 1 < len(comp.bands) else None
        if comp.basis == "attainment":
            low, high = percent_text(band.lower), percent_text(upper) if upper is not None else None
        else:
            low = format_minor(int(band.lower), currency, grouped=True)
            high = format_minor(int(upper), currency, grouped=True) if upper is not None else None
        labels.append(f"{low}-{high}" if high else f"{low}+")
    return labels


def _effective_rates(bands: tuple[Band, ...]) -> list[Decimal]:
    """The rate each band pays when its accelerators are withheld: the last non-accelerator rate."""
    rates, last = [], bands[0].rate
    for band in bands:
        if not band.accelerator:
            last = band.rate
        rates.append(last if band.accelerator else band.rate)
    return rates


def _tier_slices(
    method: str,
    rep_pos: np.ndarray,
    credit: np.ndarray,
    deal_id: np.ndarray,
    lowers: np.ndarray,
    uppers: np.ndarray,
    total: np.ndarray,
) -> pd.DataFrame:
    """Cut each deal's credit into band slices and sum them into statement lines.

    Deals arrive in accumulation order, each rep's together (``rep_pos``: the rep's
    row in ``lowers``/``uppers``, the band bounds in minor units). Marginal: a deal
    covers ``[credit before it, credit after it)`` of its rep's period; per deal:
    ``[0, its credit)``; retroactive: all of it falls in the band its rep's
    ``total`` reached. Returns one row per line: ``rep``, ``band``, ``base``,
    ``deal_ids`` (in accumulation order) and ``first_row`` (its first deal).
    """
    row = np.arange(len(credit))
    group = rep_pos
    start, end = np.zeros_like(credit), credit
    if method == "per_deal":
        group = row
        lowers, uppers = lowers[:1], uppers[:1]  # amount bands: the same for every rep
    elif method == "marginal":
        end = np.cumsum(credit)
        first = np.r_[True, rep_pos[1:] != rep_pos[:-1]] if len(rep_pos) else np.zeros(0, dtype=bool)
        end = end - (np.maximum.accumulate(np.where(first, end - credit, 0)) if len(end) else end)
        start = end - credit
    reached = (total[:, None] >= lowers).sum(axis=1) - 1
    bounds_of = np.zeros_like(rep_pos) if method == "per_deal" else rep_pos
    pieces = []
    for k in range(lowers.shape[1]):
        if method == "retroactive":
            part = np.where(reached[rep_pos] == k, credit, 0)
        else:
            part = np.clip(np.minimum(end, uppers[bounds_of, k]) - np.maximum(start, lowers[bounds_of, k]), 0, None)
        sel = np.flatnonzero(part > 0)
        pieces.append((group[sel], np.full(len(sel), k), sel, part[sel]))
    grp, band_of, row_of, part = (np.concatenate(p) for p in zip(*pieces, strict=True))
    order = np.lexsort((row_of, band_of, grp))
    grp, band_of, row_of, part = grp[order], band_of[order], row_of[order], part[order]
    starts = _run_starts(grp, band_of)
    return pd.DataFrame(
        {
            "rep": rep_pos[row_of[starts]],
            "band": band_of[starts],
            "base": np.add.reduceat(part, starts) if len(starts) else part[:0],
            "deal_ids": _join_runs(deal_id[row_of], starts),
            "first_row": row_of[starts],
        }
    )


def _commission(ctx: _Month, plan: Plan, comp: Component, roster: pd.DataFrame, stage: int) -> list[pd.DataFrame]:
    months = ctx.period_months(comp)
    if months is None:
        return []
    ccy, n_reps, n_bands = plan.currency, len(roster), len(comp.bands)
    deals = ctx.deals(months, roster.index, comp.roles)
    rep_pos = pd.Index(roster.index).get_indexer(deals["rep_id"])
    credit = deals["credit_minor"].to_numpy(dtype=np.int64)
    deal_id = deals["deal_id"].to_numpy(dtype=object)
    total = np.zeros(n_reps, dtype=np.int64)
    np.add.at(total, rep_pos, credit)
    _, target = ctx.actual_target("rep", "revenue", ctx.attainment_key(comp), pd.Index(roster.index))
    period_name = months[-1] if len(months) == 1 else f"{ctx.settings.calendar.quarter_label(ctx.month)} (QTD)"

    # band lower bounds per rep (n_reps x n_bands) in minor units
    if comp.basis == "attainment":
        lowers = np.stack([_ceil_fraction(np.maximum(target, 0), b.lower) for b in comp.bands], axis=1)
    else:
        lowers = np.tile(np.array([int(b.lower) for b in comp.bands], dtype=np.int64), (n_reps, 1))
    uppers = np.concatenate([lowers[:, 1:], np.full((n_reps, 1), _INT64_MAX, dtype=np.int64)], axis=1)

    whole_ok, accel_ok, whole_why, accel_why = _gates(ctx, comp, roster)
    # a single band from 0 without a threshold is a flat rate: no level of the target matters, so none is needed
    flat = len(comp.bands) == 1 and comp.threshold is None
    no_target = (target <= 0) & (comp.basis == "attainment") & (not flat)
    below_threshold = np.zeros(n_reps, dtype=bool)
    if comp.threshold is not None and comp.basis == "attainment":
        thr = comp.threshold
        below_threshold = ~no_target & (total * thr.denominator < target * thr.numerator)
    elif comp.threshold is not None:
        below_threshold = total < int(comp.threshold)
    paying = whole_ok & ~no_target & ~below_threshold & (total > 0)

    keep = paying[rep_pos]
    rep_pos, credit, deal_id = rep_pos[keep], credit[keep], deal_id[keep]
    lines = _tier_slices(comp.method, rep_pos, credit, deal_id, lowers, uppers, total)
    rep_idx = lines["rep"].to_numpy(dtype=np.int64)
    band_idx = lines["band"].to_numpy(dtype=np.int64)
    base = lines["base"].to_numpy(dtype=np.int64)
    full_rates = np.array([b.rate for b in comp.bands], dtype=object)
    withheld = np.array(_effective_rates(comp.bands), dtype=object)
    rates = np.where(accel_ok[rep_idx], full_rates[band_idx], withheld[band_idx])
    amounts = apply_ratios(base, rates)
    labels = _band_labels(comp, ccy)
    rep_ids = roster.index.to_numpy()
    explanations = []
    for r, k, b, rate, ids, first_row in zip(
        rep_idx, band_idx, base, rates, lines["deal_ids"], lines["first_row"], strict=True
    ):
        band = comp.bands[k]
        if comp.method == "per_deal":
            scope = f"of deal {ids}'s {money_text(credit[first_row], ccy)} credit in the {labels[k]} {ccy} band"
        elif flat:
            scope = f"of {period_name} credit ({_deals_text(ids)})"
        elif comp.method == "retroactive":
            reach = (
                f"attainment {attainment_text(total[r], target[r])}"
                if comp.basis == "attainment"
                else f"total credit {money_text(total[r], ccy)}"
            )
            scope = f"all credit of {period_name}: {reach} reached the {labels[k]} band ({_deals_text(ids)})"
        elif comp.basis == "attainment":
            where = (
                f"between {percent_text(band.lower)} and {percent_text(comp.bands[k + 1].lower)}"
                if k + 1 < n_bands
                else f"above {percent_text(band.lower)}"
            )
            scope = (
                f"of credit {where} of the {money_text(target[r], ccy)} target of {period_name} ({_deals_text(ids)})"
            )
        else:
            scope = f"of {period_name} credit in the {labels[k]} {ccy} band ({_deals_text(ids)})"
        text = f"{percent_text(Decimal(rate))} x {money_text(b, ccy)} {scope}"
        if band.accelerator and not accel_ok[r]:
            text += f"; accelerator rate {percent_text(band.rate)} withheld: {accel_why[r]}"
        explanations.append(text)
    blocks = [
        _block(
            rep_ids[rep_idx],
            comp.id,
            "commission",
            amounts,
            deal_ids=lines["deal_ids"].to_numpy(),
            base=base,
            band=np.array(labels, dtype=object)[band_idx],
            rate=[str(r) for r in rates],
            explanation=explanations,
            stage=stage,
            sub=lines["first_row"].to_numpy() * n_bands + band_idx if comp.method == "per_deal" else band_idx,
        )
    ]

    # reps that earn nothing on this component get one zero line saying why
    reasons = []
    for i in np.flatnonzero(~paying):
        if not whole_ok[i]:
            reasons.append((i, f"Not paid: {whole_why[i]}."))
        elif no_target[i]:
            reasons.append(
                (
                    i,
                    f"No revenue target for {period_name}: the attainment bands cannot be applied; "
                    "ask sales operations to set one.",
                )
            )
        elif below_threshold[i] and comp.basis == "attainment":
            reasons.append(
                (
                    i,
                    f"Attainment {attainment_text(total[i], target[i])} is below the "
                    f"{percent_text(comp.threshold)} threshold: nothing is paid.",
                )
            )
        elif below_threshold[i]:
            assert comp.threshold is not None  # below_threshold is all False without one
            reasons.append(
                (
                    i,
                    f"Credit {money_text(total[i], ccy)} is below the "
                    f"{money_text(int(comp.threshold), ccy)} threshold: nothing is paid.",
                )
            )
        else:
            reasons.append((i, f"No credited revenue in {period_name}."))
    if reasons:
        idx = np.array([i for i, _ in reasons])
        blocks.append(
            _block(
                rep_ids[idx],
                comp.id,
                "commission",
                0,
                base=total[idx],
                explanation=[t for _, t in reasons],
                stage=stage,
            )
        )
    return blocks


def _milestone_bonus(ctx: _Month, plan: Plan, comp: Component, roster: pd.DataFrame, stage: int) -> list[pd.DataFrame]:
    months = ctx.period_months(comp)
    if months is None:
        return []
    scope = _ATTAINMENT_SCOPE[comp.team] if comp.kind == "team_bonus" else "rep"
    ids = pd.Index(roster["team"] if scope == "team" else roster.index)
    actual, target = ctx.actual_target(scope, comp.metric, ctx.attainment_key(comp), ids)
    whole_ok, _, whole_why, _ = _gates(ctx, comp, roster)
    rep_ids = roster.index.to_numpy()
    who = {"team": "team {team}'s", "manager": "your managed team's", "rep": "your"}[scope]
    period_name = "month" if comp.period == "month" else "QTD"
    has = target > 0
    reached = np.stack([actual * m.at.denominator >= target * m.at.numerator for m in comp.milestones], axis=1)
    reached &= has[:, None]
    if comp.pay == "highest":
        top = reached & ~np.c_[reached[:, 1:], np.zeros((len(roster), 1), dtype=bool)]
        reached = top
    blocks, zero_idx, zero_text = [], [], []
    teams = roster["team"].astype(str).to_numpy() if "team" in roster else np.full(len(roster), "")
    for j, milestone in enumerate(comp.milestones):
        sel = np.flatnonzero(reached[:, j] & whole_ok)
        texts = [
            f"Milestone bonus: {who.format(team=teams[i])} {period_name} {comp.metric} attainment "
            f"{attainment_text(actual[i], target[i])} reached {percent_text(milestone.at)}"
            for i in sel
        ]
        blocks.append(
            _block(
                rep_ids[sel],
                comp.id,
                comp.kind,
                milestone.amount_minor,
                base=actual[sel],
                band=f"{percent_text(milestone.at)}+",
                explanation=texts,
                stage=stage,
                sub=j,
            )
        )
    for i in np.flatnonzero(~reached.any(axis=1) | ~whole_ok):
        zero_idx.append(i)
        if not whole_ok[i]:
            zero_text.append(f"Not paid: {whole_why[i]}.")
        elif not has[i]:
            zero_text.append(
                f"No {comp.metric} target for {who.format(team=teams[i])} {period_name}: no milestone can be reached."
            )
        else:
            subject = who.format(team=teams[i])
            zero_text.append(
                f"{subject[:1].upper()}{subject[1:]} {period_name} {comp.metric} attainment "
                f"{attainment_text(actual[i], target[i])} is below the first milestone "
                f"({percent_text(comp.milestones[0].at)})."
            )
    if zero_idx:
        idx = np.array(zero_idx)
        blocks.append(_block(rep_ids[idx], comp.id, comp.kind, 0, base=actual[idx], explanation=zero_text, stage=stage))
    return blocks


def _spiff(ctx: _Month, plan: Plan, comp: Component, roster: pd.DataFrame, stage: int) -> list[pd.DataFrame]:
    months = ctx.period_months(comp)
    if months is None:
        return []
    deals = ctx.deals(months, roster.index, comp.roles)
    mask = deals["credit_minor"] >= comp.min_credit_minor
    if comp.products:
        mask &= deals["product"].isin(comp.products)
    if comp.deal_ids:
        mask &= deals["deal_id"].isin(comp.deal_ids)
    if comp.valid_from is not None:
        mask &= deals["close_date"] >= pd.Timestamp(comp.valid_from)
    if comp.valid_until is not None:
        mask &= deals["close_date"] <= pd.Timestamp(comp.valid_until)
    whole_ok, _, _, _ = _gates(ctx, comp, roster)
    ok_reps = roster.index[whole_ok]
    qualifying = deals[mask & deals["rep_id"].isin(ok_reps)]
    if qualifying.empty:
        return []
    reps_sorted = qualifying["rep_id"].to_numpy()
    starts = _run_starts(qualifying["rep_code"].to_numpy())  # deals() keeps each rep's rows together
    per_rep = pd.DataFrame(
        {
            "n": np.diff(np.r_[starts, len(reps_sorted)]),
            "base": np.add.reduceat(qualifying["credit_minor"].to_numpy(dtype=np.int64), starts),
            "deal_ids": _join_runs(qualifying["deal_id"].to_numpy(dtype=object), starts),
        },
        index=reps_sorted[starts],
    )
    ccy = plan.currency
    what = []
    if comp.products:
        what.append(f"product {', '.join(comp.products)}")
    if comp.valid_from or comp.valid_until:
        what.append(f"closed {comp.valid_from or '...'} to {comp.valid_until or '...'}")
    rule = f" ({'; '.join(what)})" if what else ""
    base = per_rep["base"].to_numpy(dtype=np.int64)
    if comp.per_deal_minor is not None:
        amounts = per_rep["n"].to_numpy(dtype=np.int64) * comp.per_deal_minor
        texts = [
            f"SPIFF: {n} qualifying deal{'s' if n > 1 else ''}{rule} x {money_text(comp.per_deal_minor, ccy)} "
            f"({_deals_text(ids)})"
            for n, ids in zip(per_rep["n"], per_rep["deal_ids"], strict=True)
        ]
        rate = ""
    else:
        assert comp.rate is not None  # the plan loader requires per_deal_minor or rate on a SPIFF
        amounts = apply_ratio(base, comp.rate)
        texts = [
            f"SPIFF: {percent_text(comp.rate)} x {money_text(b, ccy)} of credit on qualifying deals{rule} "
            f"({_deals_text(ids)})"
            for b, ids in zip(base, per_rep["deal_ids"], strict=True)
        ]
        rate = str(comp.rate)
    return [
        _block(
            per_rep.index.to_numpy(),
            comp.id,
            "spiff",
            amounts,
            deal_ids=per_rep["deal_ids"].to_numpy(),
            base=base,
            rate=rate,
            explanation=texts,
            stage=stage,
        )
    ]


def _penalty(
    ctx: _Month, plan: Plan, comp: Component, roster: pd.DataFrame, stage: int, earlier: pd.DataFrame
) -> list[pd.DataFrame]:
    assert comp.when is not None  # the plan loader requires a condition on every penalty
    holds, texts = _condition(ctx, comp.when, roster)
    whole_ok, _, _, _ = _gates(ctx, comp, roster)
    hit = holds & whole_ok
    if not hit.any():
        return []
    ccy, rep_ids = plan.currency, roster.index.to_numpy()
    sel = np.flatnonzero(hit)
    if comp.multiplier is not None:
        position = [c.id for c in plan.components].index(comp.id)
        before = [c.id for c in plan.components[:position] if c.kind != "penalty"]
        applies = list(comp.applies_to) or before
        pay = earlier[earlier["component"].isin(applies)].groupby("rep_id")["amount_minor"].sum()
        variable = np.maximum(pay.reindex(rep_ids[sel]).fillna(0).to_numpy(dtype=np.int64), 0)
        cut = Decimal(1) - comp.multiplier
        amounts = -apply_ratio(variable, cut)
        explanation = [
            f"Penalty: {texts[i]}: variable pay {money_text(v, ccy)} ({', '.join(applies)}) "
            f"x {comp.multiplier.normalize():f}, a reduction of {percent_text(cut)}"
            for i, v in zip(sel, variable, strict=True)
        ]
        return [
            _block(
                rep_ids[sel],
                comp.id,
                "penalty",
                amounts,
                base=variable,
                rate=str(cut),
                explanation=explanation,
                stage=stage,
            )
        ]
    assert comp.amount_minor is not None  # a penalty without a multiplier has an amount (the plan loader requires one)
    explanation = [f"Penalty: {texts[i]}: fixed deduction of {money_text(comp.amount_minor, ccy)}" for i in sel]
    return [_block(rep_ids[sel], comp.id, "penalty", -comp.amount_minor, explanation=explanation, stage=stage)]


def _cap_lines(
    lines: pd.DataFrame, cap_minor: int, component: str, what: str, currency: str, stage: int
) -> list[pd.DataFrame]:
    """A negative ``cap`` line for each rep whose ``lines`` sum above ``cap_minor``."""
    if lines.empty:
        return []
    totals = lines.groupby("rep_id", sort=True)["amount_minor"].sum()
    over = totals[totals > cap_minor]
    if over.empty:
        return []
    cut = cap_minor - over.to_numpy(dtype=np.int64)
    texts = [
        f"Cap: {what} pays at most {money_text(cap_minor, currency)}; "
        f"{money_text(t, currency)} earned, {money_text(-c, currency)} cut off"
        for t, c in zip(over.to_numpy(), cut, strict=True)
    ]
    return [
        _block(
            over.index.to_numpy(),
            component,
            "cap",
            cut,
            base=over.to_numpy(dtype=np.int64),
            explanation=texts,
            stage=stage,
            sub=1_000_000,
        )
    ]


# ---------------------------------------------------------------------------- clawbacks


def _clawbacks(
    ctx: _Month, plan: Plan, roster: pd.DataFrame, events: pd.DataFrame, paid: pd.DataFrame
) -> list[pd.DataFrame]:
    """Negative lines for cancellations recorded this month, at the rate each paid line used."""
    events = events[events["rep_id"].isin(roster.index)]
    if events.empty:
        return []
    ccy, rule = plan.currency, plan.clawback
    events = events.assign(deal_id=events["deal_id"].astype(str))
    cancelled = pd.to_datetime(events["cancelled_date"])
    closed = pd.to_datetime(events["close_date"])
    days = (cancelled - closed).dt.days.to_numpy()
    if rule is None:
        inside = np.zeros(len(events), dtype=bool)
        window = "this plan has no clawback window"
    elif rule.window_days is not None:
        inside = days <= rule.window_days
        window = f"the {rule.window_days}-day clawback window"
    else:
        inside = (cancelled <= closed + pd.DateOffset(months=rule.window_months)).to_numpy()
        window = f"the {rule.window_months}-month clawback window"
    sources = paid[
        paid["kind"].isin(CLAWBACK_SOURCE_KINDS) & (paid["amount_minor"] != 0) & paid["rep_id"].isin(events["rep_id"])
    ]
    if rule is not None and rule.components:
        sources = sources[sources["component"].isin(rule.components)]
    listed = _listed_deals(sources)
    inside_events = events[inside].reset_index(drop=True).reset_index(names="event")
    matched = inside_events.merge(listed, on=["rep_id", "deal_id"]).merge(
        sources.drop(columns=["rep_id", "month", "deal_ids"], errors="ignore"),
        left_on="line",
        right_index=True,
        suffixes=("", "_paid"),
    )
    matched["rate"] = matched["rate"].fillna("").astype(str)
    slices = _slices_paid(ctx, matched, paid)
    blocks = []
    if len(matched):
        base = slices
        per_deal = matched["rate"] == ""
        rates = matched["rate"].where(~per_deal, "0").to_numpy(dtype=object)
        amounts = -apply_ratios(base, rates)
        flat = (matched["amount_minor"] // matched["n_deals"]).to_numpy(dtype=np.int64)
        amounts = np.where(per_deal, -flat, amounts)
        texts = []
        matched["band"] = matched["band"].fillna("").astype(str)
        for m, b, a in zip(matched.itertuples(), base, amounts, strict=True):
            how = (
                f"{percent_text(Decimal(m.rate))} x {money_text(b, ccy)}"
                if m.rate != ""
                else f"{money_text(-a, ccy)} per deal"
            )
            cancelled, closed = pd.Timestamp(m.cancelled_date), pd.Timestamp(m.close_date)
            texts.append(
                f"Clawback: deal {m.deal_id} closed {closed:%Y-%m-%d}, cancelled {cancelled:%Y-%m-%d} "
                f"({(cancelled - closed).days} days, within {window}): returns {how} paid in "
                f"{m.month_paid} ({m.component}{', band ' + m.band if m.band else ''})"
            )
        blocks.append(
            _block(
                matched["rep_id"].to_numpy(),
                matched["component"].to_numpy(),
                "clawback",
                amounts,
                deal_ids=matched["deal_id"].to_numpy(),
                base=base,
                band=matched["band"].to_numpy(),
                rate=matched["rate"].to_numpy(),
                explanation=texts,
                stage=_STAGE_CLAWBACK,
                sub=matched["event"].to_numpy(),
            )
        )
    unpaid = ~inside_events["event"].isin(matched["event"])
    outside = events[~inside]
    notes = [
        (
            r.rep_id,
            r.deal_id,
            f"Deal {r.deal_id} cancelled {pd.Timestamp(r.cancelled_date):%Y-%m-%d}, "
            f"outside {window}: nothing is clawed back.",
        )
        for r in outside.itertuples()
    ]
    notes += [
        (
            r.rep_id,
            r.deal_id,
            f"Deal {r.deal_id} cancelled {pd.Timestamp(r.cancelled_date):%Y-%m-%d}: "
            "no commission or SPIFF was paid on it, nothing to claw back.",
        )
        for r in inside_events[unpaid].itertuples()
    ]
    if notes:
        blocks.append(
            _block(
                [n[0] for n in notes],
                "clawback",
                "clawback",
                0,
                deal_ids=[n[1] for n in notes],
                explanation=[n[2] for n in notes],
                stage=_STAGE_CLAWBACK,
                sub=10**9,
            )
        )
    return blocks


def _listed_deals(lines: pd.DataFrame) -> pd.DataFrame:
    """One row per (line, deal id listed on it): ``line`` (index of ``lines``), ``rep_id``, ``deal_id``, ``n_deals``."""
    ids = lines["deal_ids"].fillna("").astype(str)
    counts = (ids.str.count(";") + 1).to_numpy()
    flat = ";".join(ids).split(";") if len(ids) else []
    return pd.DataFrame(
        {
            "line": np.repeat(lines.index.to_numpy(), counts),
            "rep_id": np.repeat(lines["rep_id"].to_numpy(), counts),
            "deal_id": np.array(flat, dtype=object),
            "n_deals": np.repeat(counts, counts),
        }
    )


def _slices_paid(ctx: _Month, matched: pd.DataFrame, paid: pd.DataFrame) -> np.ndarray:
    """How much of each cancelled deal's credit each matched paid line covered.

    A line listing only this deal covered its ``base``; a deal on one line was paid
    there on all its credit. A deal on several lines of one component and month
    straddled band boundaries (marginal tiers): the lines of a marginal component
    cover the credit from zero without gaps, so the boundary after a line is the
    sum of the bases up to it, and the deal's start is the credit of the deals
    listed before it (from ``credited_deals``). Its first line covered
    ``boundary - start``, lines listing only it their base, the last line the rest.
    """
    matched = matched.reset_index(drop=True)
    keys = ["event", "component", "month_paid"]
    credit = matched["credit_minor"].to_numpy(dtype=np.int64)
    single = (matched["n_deals"] == 1).to_numpy()
    slices = np.where(single, matched["base_minor"].to_numpy(dtype=np.int64), credit)
    lines_per_deal = matched.groupby(keys)["line"].transform("size").to_numpy()
    straddled = np.flatnonzero(lines_per_deal > 1)
    if not len(straddled):
        return slices
    involved = matched["rep_id"].iloc[straddled].unique()
    credits = ctx.credited[ctx.credited["rep_id"].isin(involved)]
    credit_of = credits.drop_duplicates(["rep_id", "deal_id"]).set_index(["rep_id", "deal_id"])["credit_minor"]
    paid = paid[paid["rep_id"].isin(involved) & (paid["deal_ids"] != "")]
    for _, group in matched.iloc[straddled].groupby(keys):
        group = group.sort_values("sub_paid")
        first = group.iloc[0]
        siblings = paid[
            (paid["rep_id"] == first["rep_id"])
            & (paid["component"] == first["component"])
            & (paid["month_paid"] == first["month_paid"])
        ].sort_values("sub_paid")
        before: list[str] = []
        for ids in siblings.loc[siblings["sub_paid"] <= first["sub_paid"], "deal_ids"]:
            for deal in ids.split(";"):
                if deal == first["deal_id"]:
                    break
                if deal not in before:
                    before.append(deal)
        known = [credit_of.get((first["rep_id"], d)) for d in before]
        if any(k is None for k in known):  # earlier credit no longer known: all at the first line's rate
            slices[group.index.to_numpy()] = [int(first["credit_minor"])] + [0] * (len(group) - 1)
            continue
        boundary = int(siblings.loc[siblings["sub_paid"] <= first["sub_paid"], "base_minor"].sum())
        total = int(first["credit_minor"])
        parts = [min(max(boundary - sum(int(k) for k in known), 0), total)]
        parts += [int(b) for b in group["base_minor"].iloc[1:-1]]
        parts.append(max(total - sum(parts), 0))
        slices[group.index.to_numpy()] = parts
    return slices


# ---------------------------------------------------------------------------- draws


def _draws(ctx: _Month, plan: Plan, roster: pd.DataFrame, earned: pd.Series, balance: pd.Series) -> list[pd.DataFrame]:
    """Recoverable draw advances and recoveries, or guarantee top-ups, per rep."""
    rep_ids = roster.index.to_numpy()
    ccy = plan.currency
    earnings = earned.reindex(rep_ids).fillna(0).to_numpy(dtype=np.int64)
    owed = balance.reindex(rep_ids).fillna(0).to_numpy(dtype=np.int64)
    draw = plan.draw
    active = np.zeros(len(rep_ids), dtype=bool)
    amount = 0
    if draw is not None:
        in_dates = (draw.from_month or "0000-01") <= ctx.month <= (draw.until_month or "9999-12")
        active[:] = in_dates
        if draw.first_months:
            hired = pd.to_datetime(roster["hire_date"]).dt.strftime("%Y-%m").fillna("0000-01").to_numpy()
            y, m = parse_month(ctx.month)
            served = np.array([(y * 12 + m) - (int(h[:4]) * 12 + int(h[5:7])) for h in hired])
            active &= (served >= 0) & (served < draw.first_months)
        amount = draw.amount_minor
    blocks = []
    if draw is not None and draw.kind == "guarantee":
        top = np.where(active, np.maximum(amount - earnings, 0), 0)
        sel = np.flatnonzero(top > 0)
        texts = [
            f"Guarantee: earnings {money_text(earnings[i], ccy)} topped up to the "
            f"{money_text(amount, ccy)} guarantee (not recovered later)"
            for i in sel
        ]
        blocks.append(
            _block(
                rep_ids[sel], "draw", "guarantee", top[sel], base=earnings[sel], explanation=texts, stage=_STAGE_DRAW
            )
        )
        floor = np.zeros(len(rep_ids), dtype=np.int64)
    else:
        recoverable = active if draw is not None else np.zeros(len(rep_ids), dtype=bool)
        advance = np.where(recoverable, np.maximum(amount - earnings, 0), 0)
        sel = np.flatnonzero(advance > 0)
        texts = [
            f"Recoverable draw: earnings {money_text(earnings[i], ccy)} below the {money_text(amount, ccy)} draw; "
            f"{money_text(advance[i], ccy)} advanced, outstanding balance now "
            f"{money_text(owed[i] + advance[i], ccy)}"
            for i in sel
        ]
        blocks.append(
            _block(rep_ids[sel], "draw", "draw", advance[sel], base=earnings[sel], explanation=texts, stage=_STAGE_DRAW)
        )
        floor = np.where(recoverable, amount, 0)
    recover = np.minimum(owed, np.maximum(earnings - floor, 0))
    sel = np.flatnonzero(recover > 0)
    texts = [
        f"Draw recovery: {money_text(recover[i], ccy)} of earnings above "
        f"{money_text(floor[i], ccy)} recovers the outstanding {money_text(owed[i], ccy)} draw; "
        f"balance now {money_text(owed[i] - recover[i], ccy)}"
        for i in sel
    ]
    blocks.append(
        _block(
            rep_ids[sel],
            "draw",
            "draw_recovery",
            -recover[sel],
            base=earnings[sel],
            explanation=texts,
            stage=_STAGE_DRAW,
            sub=1,
        )
    )
    return blocks


def _balances(lines: pd.DataFrame | None, kinds: tuple[str, ...], keys: list[str]) -> pd.Series:
    """Outstanding balance per ``keys``: the sum of the ``kinds`` lines (amounts paid out minus recovered)."""
    if lines is None or lines.empty:
        index = pd.MultiIndex.from_tuples([], names=keys) if len(keys) > 1 else pd.Index([], name=keys[0])
        return pd.Series(dtype=np.int64, index=index)
    chosen = lines[lines["kind"].isin(kinds)]
    return chosen.groupby(keys)["amount_minor"].sum().astype(np.int64)


def draw_balances(lines: pd.DataFrame) -> pd.Series:
    """Outstanding recoverable-draw balance per rep: advances minus recoveries over ``lines``."""
    return _balances(lines, ("draw", "draw_recovery"), ["rep_id"])


def carried_balances(lines: pd.DataFrame | None) -> pd.Series:
    """Outstanding carried balance per (``rep_id``, ``for_month`` it was carried from): carried minus recovered."""
    owed = _balances(lines, BALANCE_KINDS, ["rep_id", "for_month"])
    return owed[owed != 0]


# ---------------------------------------------------------------------------- carried balances


def settle_balances(
    lines: pd.DataFrame, month: str, history: pd.DataFrame | None, roster: pd.DataFrame
) -> pd.DataFrame:
    """The ``carry_forward`` and ``recovery`` lines of ``month`` (the policy of docs/plans.md, "Negative months").

    ``lines``: the month's other lines (``rep_id``, ``plan_id``, ``currency``, ``amount_minor``), adjustments
    included; ``history``: earlier months' lines, whose balance lines give what is still owed per month carried
    from; ``roster``: the month's roster rows (``rep_id``, ``leave_date``). Per rep, when the lines sum below zero
    nothing is paid: a line of ``-total`` brings the month to zero and becomes a balance. When they sum above
    zero, outstanding balances are recovered from it, oldest month first, one line per month recovered (its
    ``for_month``), never more than the month pays. A rep who leaves by the end of ``month`` with a balance
    still owed gets a zero line saying so: the balance is reported for finance, never forgiven silently.
    Each line's ``base_minor`` is the amount it was measured on (the month's total, or what was left of it).
    """
    owed = carried_balances(history[history["month"] < month] if history is not None and len(history) else None)
    totals = lines.groupby("rep_id", sort=True)["amount_minor"].sum()
    owing = set(owed.index.get_level_values("rep_id")) if len(owed) else set()
    first = lines.drop_duplicates("rep_id").set_index("rep_id")
    end = pd.Timestamp(month_end(month))
    leave = (
        pd.to_datetime(roster.set_index("rep_id")["leave_date"]) if "leave_date" in roster else pd.Series(dtype=object)
    )
    rows = []
    for rep, total in totals[(totals < 0) | totals.index.isin(list(owing))].items():
        total = int(total)
        ccy = first.at[rep, "currency"]
        sources = owed.loc[rep].sort_index() if rep in owing else pd.Series(dtype=np.int64)
        outstanding = int(sources.sum())

        def line(kind: str, amount: int, base: int, text: str, source: str = month) -> None:
            rows.append(
                {
                    # line() is called only inside this iteration, so the loop's rep and ccy are the right ones.
                    "rep_id": rep,  # noqa: B023
                    "plan_id": first.at[rep, "plan_id"],  # noqa: B023
                    "currency": ccy,  # noqa: B023
                    "kind": kind,
                    "amount_minor": amount,
                    "base_minor": base,
                    "explanation": text,
                    "for_month": source,
                }
            )

        if total < 0:
            outstanding -= total
            line(
                "carry_forward",
                -total,
                total,
                f"Carried forward: this month's lines sum to {money_text(total, ccy)} (more recovered than earned), "
                f"so nothing is paid and {money_text(-total, ccy)} becomes a balance recovered from later earnings; "
                f"balance now {money_text(outstanding, ccy)}",
            )
        left = max(total, 0)
        for source, balance in sources.items():
            take = min(int(balance), left)
            if take <= 0:
                break
            outstanding -= take
            line(
                "recovery",
                -take,
                left,
                f"Recovery of the balance carried forward from {source}: {money_text(take, ccy)} of this month's "
                f"{money_text(left, ccy)} payable; {money_text(int(balance) - take, ccy)} of it still to recover",
                source,
            )
            left -= take
        gone = leave.get(rep, pd.NaT)
        if outstanding > 0 and pd.notna(gone) and pd.Timestamp(gone) <= end:
            line(
                "recovery",
                0,
                outstanding,
                f"Not recovered: the rep leaves on {pd.Timestamp(gone):%Y-%m-%d} with {money_text(outstanding, ccy)} "
                "of carried balance outstanding; it is reported here for finance to settle, not forgiven",
            )
    out = pd.DataFrame(
        rows,
        columns=["rep_id", "plan_id", "currency", "kind", "amount_minor", "base_minor", "explanation", "for_month"],
    )
    return out.assign(component="balance", deal_ids="", band="", rate="").astype(
        {"amount_minor": np.int64, "base_minor": np.int64}
    )


# ---------------------------------------------------------------------------- the ledger


_COMPONENT_FUNCS = {
    "commission": _commission,
    "bonus": _milestone_bonus,
    "team_bonus": _milestone_bonus,
    "spiff": _spiff,
}


def compute_ledger(
    month: str,
    plans: PlanBook,
    reps: pd.DataFrame,
    credited: pd.DataFrame,
    attainment: pd.DataFrame,
    satisfaction: pd.DataFrame,
    clawback_events: pd.DataFrame,
    history: pd.DataFrame | None,
    settings: Settings | None = None,
) -> pd.DataFrame:
    """The ``incentive_ledger`` of ``month`` for every rep with a plan.

    - ``credited``: ``credited_deals`` (rows of every credit month it holds; quarterly
      components read the quarter's months, clawbacks of straddled deals look up credit).
    - ``history``: ledger lines of earlier months (closed months from the frozen
      ledger): draw and carried balances and the lines clawbacks reverse.
    A rep is included when employed in the month or when a cancellation of theirs is recorded.
    """
    settings = settings or Settings()
    parse_month(month)
    history = history if history is not None and len(history) else pd.DataFrame(columns=LEDGER_COLUMNS)
    history = history[history["month"] < month]
    events = of_month(clawback_events, month)
    roster = _payees(roster_as_of(reps, month), month, events)
    ctx = _Month(month, settings, credited, attainment, satisfaction)
    balance = draw_balances(history)
    currencies = credited.groupby(["rep_id", "plan_currency"], sort=False).size().reset_index()
    frames = []
    for plan_id, members in roster.groupby("plan_id", sort=True):
        plan = plans.for_rep(plan_id, month)
        members = members.set_index("rep_id")
        _check_currency(plan, members, currencies)
        lines = _plan_lines(ctx, plan, members, events, history, balance)
        if not lines.empty:
            frames.append(lines.assign(plan_id=plan.plan_id, currency=plan.currency))
    if not frames:
        return pd.DataFrame(
            {c: pd.Series(dtype=np.int64 if c.endswith("_minor") or c == "line_no" else object) for c in LEDGER_COLUMNS}
        )
    ledger = pd.concat(frames, ignore_index=True)
    settled = settle_balances(ledger, month, history, roster)
    ledger = pd.concat([ledger, settled.assign(_stage=_STAGE_BALANCE, _sub=np.arange(len(settled)))], ignore_index=True)
    ledger = ledger.sort_values(["rep_id", "_stage", "_sub"], kind="mergesort").reset_index(drop=True)
    ledger["month"] = month
    ledger["for_month"] = ledger["for_month"].fillna(month) if "for_month" in ledger else month
    ledger["line_no"] = ledger.groupby("rep_id").cumcount().astype(np.int64) + 1
    return ledger[LEDGER_COLUMNS].astype({"base_minor": np.int64, "amount_minor": np.int64})


def _payees(roster: pd.DataFrame, month: str, events: pd.DataFrame) -> pd.DataFrame:
    """Reps with a plan who were employed in ``month`` or have a cancellation recorded in it."""
    roster = roster[roster["plan_id"].fillna("").astype(str) != ""]
    employed = active_in_month(roster, month)
    recorded = roster["rep_id"].isin(events["rep_id"]) if len(events) else False
    return roster[employed | recorded]


def _check_currency(plan: Plan, members: pd.DataFrame, currencies: pd.DataFrame) -> None:
    """Refuse credit in another currency than the plan's (``currencies``: rep_id, plan_currency pairs)."""
    rows = currencies[currencies["rep_id"].isin(members.index) & (currencies["plan_currency"] != plan.currency)]
    if len(rows):
        bad = rows.iloc[0]
        raise ValueError(
            f"credited_deals: plan_currency: rep {bad['rep_id']} is credited in {bad['plan_currency']} "
            f"but plan {plan.plan_id} ({plan.source}) pays in {plan.currency}; set the rep's currency in the "
            f"roster to {plan.currency} or assign a plan in {bad['plan_currency']}"
        )


def _plan_lines(
    ctx: _Month, plan: Plan, roster: pd.DataFrame, events: pd.DataFrame, history: pd.DataFrame, balance: pd.Series
) -> pd.DataFrame:
    """Every line of the reps of one plan, with ``_stage``/``_sub`` ordering columns."""
    blocks: list[pd.DataFrame] = []
    for stage, comp in enumerate(plan.components):
        earlier = pd.concat(blocks, ignore_index=True) if blocks else _block([], "", "", 0, explanation="", stage=0)
        if comp.kind == "penalty":
            produced = _penalty(ctx, plan, comp, roster, stage * 10, earlier)
        else:
            produced = _COMPONENT_FUNCS[comp.kind](ctx, plan, comp, roster, stage * 10)
        if comp.cap_minor is not None and produced:
            produced += _cap_lines(
                pd.concat(produced), comp.cap_minor, comp.id, f"component {comp.id}", plan.currency, stage * 10
            )
        blocks += produced
    if plan.cap_minor is not None and blocks:
        blocks += _cap_lines(
            pd.concat(blocks), plan.cap_minor, "plan_cap", f"plan {plan.plan_id}", plan.currency, _STAGE_PLAN_CAP
        )
    current = pd.concat(blocks, ignore_index=True) if blocks else _block([], "", "", 0, explanation="", stage=0)
    if len(events):
        paid = pd.concat(
            [
                history.assign(month_paid=history["month"]).rename(columns={"line_no": "sub_paid"}),
                current.assign(month_paid=ctx.month, sub_paid=current["_sub"]),
            ],
            ignore_index=True,
        )
        blocks += _clawbacks(ctx, plan, roster, events, paid)
    earned = pd.concat(blocks).groupby("rep_id")["amount_minor"].sum() if blocks else pd.Series(dtype=np.int64)
    blocks += _draws(ctx, plan, roster, earned, balance)
    blocks = [b for b in blocks if len(b)]
    return pd.concat(blocks, ignore_index=True) if blocks else current.iloc[0:0]


def with_adjustments(
    ledger: pd.DataFrame,
    adjustments: pd.DataFrame,
    history: pd.DataFrame | None = None,
    reps: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """``ledger`` with adjustment lines appended after each rep's own lines, ``line_no`` renumbered.

    Adjustments change what the month pays, so its balance lines are settled again over the lines with the
    adjustments (:func:`settle_balances`, from ``history``'s balances and ``reps``' leave dates) and come last.
    """
    month = ledger["month"].iloc[0] if len(ledger) else adjustments["month"].iloc[0]
    own = ledger[~ledger["kind"].isin(BALANCE_KINDS)]
    roster = roster_as_of(reps, month) if reps is not None else pd.DataFrame(columns=["rep_id", "leave_date"])
    combined = pd.concat([own.assign(_adj=0), adjustments.assign(_adj=1)], ignore_index=True)
    settled = settle_balances(combined, month, history, roster)
    combined = pd.concat(
        [combined, settled.assign(month=month, _adj=2, line_no=np.arange(len(settled)))], ignore_index=True
    )
    combined = combined.sort_values(["rep_id", "_adj", "line_no"], kind="mergesort").reset_index(drop=True)
    combined["line_no"] = combined.groupby("rep_id").cumcount().astype(np.int64) + 1
    return combined[LEDGER_COLUMNS]
