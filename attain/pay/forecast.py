"""Earnings forecast: what a rep's open pipeline could pay this period, and what the next step is worth.

A projection, never a ledger line: it runs the month's own pay rules (``attain.pay.ledger.compute_ledger`` on
recomputed attainment) on credit that has not happened, and reports differences to the real statement:

- ``expected_payout_minor``: the statement's total if every open deal of the rep closed in the month at the
  historical win rate (credit = converted amount x win rate, rounded half-up per deal). The win rate is the
  rep's own over the won and lost deals of the 12 months ending with the month, when the rep closed at least
  ``MIN_CLOSED`` deals in them; else the company's.
- ``payout_at_target_minor``: the statement's total at exactly 100% of the month's revenue target (when the
  rep is below it; at or above it, the total as it is).
- ``next_step`` (``band``, ``accelerator``, ``threshold``, ``milestone`` or ``gate``), ``next_step_at`` (the
  fraction of target, decimal text), ``next_step_component`` and ``next_step_minor``: the nearest
  revenue-attainment threshold of the rep's plan not reached yet (a commission band or accelerator, a
  threshold, a milestone bonus, a gate on the rep's own revenue attainment) and the credit still needed to
  reach it: ``ceil(target x fraction) - credit``, the same integer comparison the ledger makes. The pack
  words it in the reader's language ("12,400.00 more reaches the 120% accelerator of commission").

Each projection is the real total plus the difference the extra credit makes to a ledger computed without
adjustments, so adjustments and balances of the real statement are kept as they are. Money is int64 minor
units throughout.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pandas as pd

from attain import periods
from attain.fx import to_plan_currency
from attain.measures.attainment import attainment as attainment_table
from attain.money import div_half_up
from attain.pay.ledger import compute_ledger
from attain.pay.plans import Component, PlanBook
from attain.roster import active_in_month, roster_as_of
from attain.settings import Settings

#: Closed deals a rep needs in the 12 months for their own win rate to be used.
MIN_CLOSED = 5
FORECAST_COLUMNS = [
    "month",
    "rep_id",
    "currency",
    "open_count",
    "open_pipeline_minor",
    "win_rate",
    "win_rate_basis",
    "expected_credit_minor",
    "payout_now_minor",
    "expected_payout_minor",
    "target_minor",
    "credit_minor",
    "payout_at_target_minor",
    "next_step",
    "next_step_at",
    "next_step_component",
    "next_step_minor",
]


@dataclass(frozen=True)
class MonthState:
    """Everything the ledger of the month was computed from."""

    month: str
    plans: PlanBook
    reps: pd.DataFrame
    deals: pd.DataFrame
    fx_rates: pd.DataFrame | None
    in_force: pd.DataFrame
    credited: pd.DataFrame
    satisfaction: pd.DataFrame
    clawback_events: pd.DataFrame
    history: pd.DataFrame | None
    settings: Settings


def earnings_forecast(state: MonthState, attainment: pd.DataFrame, ledger: pd.DataFrame) -> pd.DataFrame:
    """The ``earnings_forecast`` table: one row per rep with a plan employed in the month.

    ``attainment`` and ``ledger`` are the month's real tables (the statement total is the sum of the rep's
    ``ledger`` lines).
    """
    month = state.month
    roster = roster_as_of(state.reps, month)
    roster = roster[active_in_month(roster, month) & roster["plan_id"].fillna("").astype(str).ne("")]
    if roster.empty:
        return pd.DataFrame(columns=FORECAST_COLUMNS)
    reps = roster[["rep_id", "currency", "plan_id"]].astype({"plan_id": str}).reset_index(drop=True)
    revenue = attainment[(attainment["scope"] == "rep") & (attainment["metric"] == "revenue")]
    revenue = revenue[revenue["period"] == "month"].set_index("scope_id")
    reps["target_minor"] = revenue["target"].reindex(reps["rep_id"]).astype("Int64").to_numpy()
    reps["credit_minor"] = revenue["actual"].reindex(reps["rep_id"]).fillna(0).astype(np.int64).to_numpy()

    open_deals, rates = _open_pipeline(state, reps)
    reps = reps.merge(rates, on="rep_id", how="left")
    per_rep = open_deals.groupby("rep_id").agg(
        open_count=("deal_id", "size"), open_pipeline_minor=("amount_minor", "sum"), expected=("credit_minor", "sum")
    )
    reps["open_count"] = per_rep["open_count"].reindex(reps["rep_id"]).fillna(0).astype(np.int64).to_numpy()
    reps["open_pipeline_minor"] = (
        per_rep["open_pipeline_minor"].reindex(reps["rep_id"]).fillna(0).astype(np.int64).to_numpy()
    )
    reps["expected_credit_minor"] = per_rep["expected"].reindex(reps["rep_id"]).fillna(0).astype(np.int64).to_numpy()

    now = ledger.groupby("rep_id")["amount_minor"].sum() if not ledger.empty else pd.Series(dtype=np.int64)
    reps["payout_now_minor"] = now.reindex(reps["rep_id"]).fillna(0).astype(np.int64).to_numpy()
    base = _totals(state, state.credited)
    pipeline = _totals(state, pd.concat([state.credited, open_deals.drop(columns="amount_minor")], ignore_index=True))
    short = (reps["target_minor"].fillna(0).astype(np.int64) - reps["credit_minor"]).clip(lower=0)
    lump = _credit_rows(state, reps.assign(credit_minor=short.to_numpy())[short.to_numpy() > 0], "TO-TARGET")
    at_target = _totals(state, pd.concat([state.credited, lump], ignore_index=True))
    for column, scenario in (("expected_payout_minor", pipeline), ("payout_at_target_minor", at_target)):
        delta = scenario.reindex(reps["rep_id"]).fillna(0) - base.reindex(reps["rep_id"]).fillna(0)
        reps[column] = reps["payout_now_minor"] + delta.astype(np.int64).to_numpy()

    thresholds = {
        plan_id: _thresholds(state.plans.for_rep(plan_id, month).components) for plan_id in set(reps["plan_id"])
    }
    steps = [_next_step(thresholds[r.plan_id], r.target_minor, r.credit_minor) for r in reps.itertuples()]
    for i, column in enumerate(("next_step", "next_step_at", "next_step_component")):
        reps[column] = [s[i] for s in steps]
    reps["next_step_minor"] = pd.array([s[3] for s in steps], dtype="Int64")
    return reps.assign(month=month)[FORECAST_COLUMNS].sort_values("rep_id").reset_index(drop=True)


def _open_pipeline(state: MonthState, reps: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(the reps' open deals as credited rows weighted by win rate, plus ``amount_minor``; the win rate per rep)."""
    deals = state.deals
    months = set(periods.trailing(state.month, 12))
    closed = deals[deals["stage"].isin(["won", "lost"]) & periods.month_keys(deals["close_date"]).isin(months)]
    won = closed["stage"].eq("won").groupby(closed["owner_id"]).agg(["sum", "size"])
    company = Fraction(int(won["sum"].sum()), max(int(won["size"].sum()), 1))
    rates = []
    for rep_id in reps["rep_id"]:
        wins, count = (int(won.at[rep_id, "sum"]), int(won.at[rep_id, "size"])) if rep_id in won.index else (0, 0)
        own = count >= MIN_CLOSED
        rates.append((rep_id, Fraction(wins, count) if own else company, "rep" if own else "company"))
    rate_of = {rep: rate for rep, rate, _ in rates}
    table = pd.DataFrame(
        {
            "rep_id": [r[0] for r in rates],
            "win_rate": [float(r[1]) for r in rates],
            "win_rate_basis": [r[2] for r in rates],
        }
    )
    mine = deals[deals["stage"].eq("open") & deals["owner_id"].isin(rate_of)]
    currency = reps.set_index("rep_id")["currency"].reindex(mine["owner_id"]).to_numpy()
    converted, _ = to_plan_currency(
        mine["amount_minor"],
        mine["currency"],
        pd.Series(currency, index=mine.index),
        pd.Series(state.month, index=mine.index),
        state.fx_rates,
        state.settings,
    )
    converted = np.asarray(converted, dtype=np.int64)
    owners = mine["owner_id"]
    numerator = owners.map({rep: rate.numerator for rep, rate in rate_of.items()}).to_numpy(np.int64)
    denominator = owners.map({rep: rate.denominator for rep, rate in rate_of.items()}).to_numpy(np.int64)
    weighted = div_half_up(converted * numerator, denominator)
    rows = pd.DataFrame({"rep_id": mine["owner_id"].to_numpy(), "credit_minor": weighted, "currency": currency})
    credited = _credit_rows(state, rows, "", deal_ids=mine["deal_id"].to_numpy(), products=mine["product"].to_numpy())
    return credited.assign(amount_minor=converted), table


def _credit_rows(
    state: MonthState,
    rows: pd.DataFrame,
    prefix: str,
    deal_ids: np.ndarray | None = None,
    products: np.ndarray | None = None,
) -> pd.DataFrame:
    """``credited_deals`` rows crediting ``rows.credit_minor`` to ``rows.rep_id`` at the month's last day."""
    n = len(rows)
    ids = deal_ids if deal_ids is not None else np.array([f"{prefix}-{r}" for r in rows["rep_id"]], dtype=object)
    return pd.DataFrame(
        {
            "month": state.month,
            "credit_month": state.month,
            "deal_id": ids,
            "rep_id": rows["rep_id"].to_numpy(),
            "role": "owner",
            "share": "100",
            "close_date": pd.Timestamp(periods.month_end(state.month)),
            "product": products if products is not None else np.full(n, "", dtype=object),
            "account": "",
            "deal_currency": rows["currency"].to_numpy(),
            "deal_amount_minor": rows["credit_minor"].to_numpy(np.int64),
            "plan_currency": rows["currency"].to_numpy(),
            "fx_rate": "1",
            "credit_minor": rows["credit_minor"].to_numpy(np.int64),
        }
    )[state.credited.columns]


def _totals(state: MonthState, credited: pd.DataFrame) -> pd.Series:
    """Each rep's statement total (no adjustments) with ``credited`` as the month's credit."""
    att = attainment_table(credited, state.deals, state.in_force, state.reps, state.month, state.settings)
    lines = compute_ledger(
        state.month,
        state.plans,
        state.reps,
        credited,
        att,
        state.satisfaction,
        state.clawback_events,
        state.history,
        state.settings,
    )
    return lines.groupby("rep_id")["amount_minor"].sum() if not lines.empty else pd.Series(dtype=np.int64)


def _next_step(thresholds: list[tuple[str, Fraction, str]], target, credit: int) -> tuple[str, str, str, int | None]:
    """(kind, fraction, component) of the nearest of the rep's plan ``thresholds`` not reached yet, and the
    credit still needed to reach it; blanks when there is none or no target."""
    if target is None or pd.isna(target) or int(target) <= 0:
        return "", "", "", None
    best: tuple[int, str, Fraction, str] | None = None
    for kind, fraction, component in thresholds:
        needed = -(-int(target) * fraction.numerator // fraction.denominator) - credit
        if needed > 0 and (best is None or needed < best[0]):
            best = (needed, kind, fraction, component)
    if best is None:
        return "", "", "", None
    needed, kind, fraction, component = best
    return kind, str(Decimal(fraction.numerator) / Decimal(fraction.denominator)), component, needed


def _thresholds(components: tuple[Component, ...]) -> list[tuple[str, Fraction, str]]:
    """(kind, fraction of the month's revenue target, component id) of each attainment threshold of the
    plan's monthly revenue components."""
    found = []
    for comp in components:
        if comp.period != "month" or comp.metric != "revenue":
            continue
        if comp.kind == "commission" and comp.basis == "attainment":
            found += [("accelerator" if b.accelerator else "band", b.lower, comp.id) for b in comp.bands[1:]]
            if comp.threshold:
                found.append(("threshold", comp.threshold, comp.id))
        if comp.kind == "bonus":
            found += [("milestone", m.at, comp.id) for m in comp.milestones]
        for gate in comp.gates:
            cond = gate.condition
            rep_month = (cond.measure, cond.metric, cond.period, cond.scope) == (
                "attainment",
                "revenue",
                "month",
                "rep",
            )
            if rep_month and cond.at_least is not None:
                found.append(("gate", Fraction(cond.at_least), comp.id))
    return found
