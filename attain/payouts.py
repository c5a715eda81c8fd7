"""Payouts: what each rep is paid for a month, as sums of their ledger lines.

``payable = earnings + draws + adjustments``, each a sum of ``incentive_ledger``
lines (earnings: components, caps, penalties, clawbacks; draws: draw advances,
draw recoveries and guarantee top-ups; adjustments: late corrections of closed
months). The outstanding recoverable-draw balance is carried from the earlier
months' lines.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from attain.credit import roster_as_of
from attain.ledger import DRAW_KINDS, draw_balances, of_month

PAYOUT_COLUMNS = ["month", "rep_id", "name", "email", "currency", "earnings_minor", "draws_minor",
                  "adjustments_minor", "payable_minor", "draw_balance_minor"]


def payouts(ledger: pd.DataFrame, reps: pd.DataFrame, month: str,
            history: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per rep with ledger lines in ``month`` (``history``: earlier months' lines, for the draw balance)."""
    lines = of_month(ledger, month)
    kind = lines["kind"]
    group = np.where(kind.isin(DRAW_KINDS), "draws_minor",
                     np.where(kind == "adjustment", "adjustments_minor", "earnings_minor"))
    sums = (lines.assign(_group=group)
            .pivot_table(index=["rep_id", "currency"], columns="_group", values="amount_minor",
                         aggfunc="sum", fill_value=0))
    sums = sums.reindex(columns=["earnings_minor", "draws_minor", "adjustments_minor"], fill_value=0)
    out = sums.reset_index()
    out["payable_minor"] = out[["earnings_minor", "draws_minor", "adjustments_minor"]].sum(axis=1)
    earlier = history[history["month"] < month] if history is not None and len(history) else None
    balance = draw_balances(pd.concat([earlier, lines]) if earlier is not None else lines)
    out["draw_balance_minor"] = balance.reindex(out["rep_id"]).fillna(0).to_numpy()
    people = roster_as_of(reps, month).set_index("rep_id")
    out["name"] = people["name"].reindex(out["rep_id"]).fillna("").to_numpy()
    out["email"] = people["email"].reindex(out["rep_id"]).fillna("").to_numpy()
    out["month"] = month
    money = [c for c in PAYOUT_COLUMNS if c.endswith("_minor")]
    return out[PAYOUT_COLUMNS].astype({c: np.int64 for c in money}).reset_index(drop=True)
