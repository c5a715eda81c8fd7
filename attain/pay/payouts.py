"""Payouts: what each rep is paid for a month, as sums of their ledger lines.

``payable = earnings + draws + adjustments + carried``, each a sum of ``incentive_ledger``
lines (earnings: components, caps, penalties, clawbacks; draws: draw advances,
draw recoveries and guarantee top-ups; adjustments: late corrections of closed
months; carried: a negative month carried forward and balances recovered, see
``attain.pay.ledger.settle_balances``). The outstanding recoverable-draw balance and
the outstanding carried balance are carried from the earlier months' lines.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from attain.pay.balances import carried_balances, draw_balances
from attain.pay.lines import BALANCE_KINDS, DRAW_KINDS, of_month
from attain.roster import roster_as_of

PAYOUT_COLUMNS = [
    "month",
    "rep_id",
    "name",
    "email",
    "currency",
    "earnings_minor",
    "draws_minor",
    "adjustments_minor",
    "carried_minor",
    "payable_minor",
    "draw_balance_minor",
    "carried_balance_minor",
]
_PARTS = ["earnings_minor", "draws_minor", "adjustments_minor", "carried_minor"]


def payouts(ledger: pd.DataFrame, reps: pd.DataFrame, month: str, history: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per rep with ledger lines in ``month`` (``history``: earlier months' lines, for the balances)."""
    lines = of_month(ledger, month)
    kind = lines["kind"]
    group = np.select(
        [kind.isin(DRAW_KINDS), kind == "adjustment", kind.isin(BALANCE_KINDS)],
        ["draws_minor", "adjustments_minor", "carried_minor"],
        "earnings_minor",
    )
    sums = lines.assign(_group=group).pivot_table(
        index=["rep_id", "currency"], columns="_group", values="amount_minor", aggfunc="sum", fill_value=0
    )
    sums = sums.reindex(columns=_PARTS, fill_value=0)
    out = sums.reset_index()
    out["payable_minor"] = out[_PARTS].sum(axis=1)
    earlier = history[history["month"] < month] if history is not None and len(history) else None
    upto = pd.concat([earlier, lines]) if earlier is not None else lines
    out["draw_balance_minor"] = draw_balances(upto).reindex(out["rep_id"]).fillna(0).to_numpy()
    carried = carried_balances(upto).groupby(level="rep_id").sum()
    out["carried_balance_minor"] = carried.reindex(out["rep_id"]).fillna(0).to_numpy()
    people = roster_as_of(reps, month).set_index("rep_id")
    out["name"] = people["name"].reindex(out["rep_id"]).fillna("").to_numpy()
    out["email"] = people["email"].reindex(out["rep_id"]).fillna("").to_numpy()
    out["month"] = month
    money = [c for c in PAYOUT_COLUMNS if c.endswith("_minor")]
    return out[PAYOUT_COLUMNS].astype(dict.fromkeys(money, np.int64)).reset_index(drop=True)
