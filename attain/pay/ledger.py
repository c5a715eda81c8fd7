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

import numpy as np
import pandas as pd

from attain.pay.balances import _clawbacks, _draws, draw_balances, settle_balances
from attain.pay.bonuses import _cap_lines, _milestone_bonus, _penalty, _spiff
from attain.pay.commission import _commission
from attain.pay.explain import sentence
from attain.pay.lines import _STAGE_BALANCE, _STAGE_PLAN_CAP, BALANCE_KINDS, LEDGER_COLUMNS, _block, _Month, of_month
from attain.pay.plans import Plan, PlanBook
from attain.periods import parse_month
from attain.roster import active_in_month, roster_as_of
from attain.settings import Settings

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
        earlier = pd.concat(blocks, ignore_index=True) if blocks else _block([], "", "", 0, explanation=[], stage=0)
        if comp.kind == "penalty":
            produced = _penalty(ctx, plan, comp, roster, stage * 10, earlier)
        else:
            produced = _COMPONENT_FUNCS[comp.kind](ctx, plan, comp, roster, stage * 10)
        if comp.cap_minor is not None and produced:
            produced += _cap_lines(
                pd.concat(produced),
                comp.cap_minor,
                comp.id,
                sentence("cap.component", id=comp.id),
                plan.currency,
                stage * 10,
            )
        blocks += produced
    if plan.cap_minor is not None and blocks:
        blocks += _cap_lines(
            pd.concat(blocks),
            plan.cap_minor,
            "plan_cap",
            sentence("cap.plan", id=plan.plan_id),
            plan.currency,
            _STAGE_PLAN_CAP,
        )
    current = pd.concat(blocks, ignore_index=True) if blocks else _block([], "", "", 0, explanation=[], stage=0)
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
