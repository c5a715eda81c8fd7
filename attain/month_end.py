"""One month's ledger from one snapshot of the inputs, and the adjustments owed to closed months.

The Dagster assets run these stages one by one so each table is stored and checked. Period close needs the
same chain for an *earlier* month, recomputed from the current snapshot, to see what late or corrected
data changed there: ``month_ledger`` is that chain, and ``closed_month_adjustments`` turns the changes
into adjustment lines of the first open month after the closed ones.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from attain import attainment, credit, ledger, period_close, satisfaction, targets
from attain.periods import add_months
from attain.plans import PlanBook
from attain.settings import Settings
from attain.validation import Inputs

#: How far back a closed month is still re-checked for late data.
ADJUSTMENT_HORIZON = 12


def month_ledger(
    inputs: Inputs, plans: PlanBook, month: str, settings: Settings, history: pd.DataFrame | None
) -> pd.DataFrame:
    """The ledger of ``month`` computed from ``inputs`` alone: credit, targets, attainment, CSAT, pay."""
    credited = credit.credited_deals(inputs.deals, inputs.credit_splits, inputs.reps, inputs.fx_rates, month, settings)
    events = credit.clawback_events(inputs.deals, inputs.credit_splits, inputs.reps, inputs.fx_rates, month, settings)
    in_force = targets.targets_in_force(inputs.targets, inputs.reps, targets.months_needed(month), settings).in_force
    measured = attainment.attainment(credited, inputs.deals, in_force, inputs.reps, month, settings)
    scores = satisfaction.satisfaction(inputs.surveys, inputs.deals, inputs.reps, month, settings)
    return ledger.compute_ledger(month, plans, inputs.reps, credited, measured, scores, events, history, settings)


def closed_run(month: str, is_closed: Callable[[str], bool]) -> list[str]:
    """The closed months immediately before ``month`` (most recent first), whose adjustments it carries."""
    run: list[str] = []
    previous = add_months(month, -1)
    while len(run) < ADJUSTMENT_HORIZON and is_closed(previous):
        run.append(previous)
        previous = add_months(previous, -1)
    return run


def closed_month_adjustments(
    inputs: Inputs,
    plans: PlanBook,
    month: str,
    settings: Settings,
    frozen: dict[str, pd.DataFrame],
    history: pd.DataFrame,
) -> pd.DataFrame:
    """Adjustment lines in ``month`` for each closed month in ``frozen`` that the snapshot now sees differently.

    ``frozen`` maps each closed month of :func:`closed_run` to its frozen ledger. Adjustments already paid
    for a closed month (in the frozen ledgers of the closed months after it) are deducted, so a difference
    is settled exactly once.
    """
    parts = []
    already = pd.concat(frozen.values(), ignore_index=True) if frozen else pd.DataFrame()
    for closed in sorted(frozen):
        earlier = history[history["month"] < closed] if not history.empty else history
        recomputed = month_ledger(inputs, plans, closed, settings, earlier)
        recomputed = recomputed.assign(month=closed)
        later = already[already["month"] > closed] if not already.empty else already
        parts.append(period_close.adjustment_lines(frozen[closed], recomputed, later, closed, month))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
