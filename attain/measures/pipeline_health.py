"""Pipeline health for month M, per rep and rolled up to team, manager, region and company.

Deals count for their owner (``owner_id``), whatever the credit splits: pipeline
health describes the deals a rep runs, not the credit they earn.

- ``won_count`` / ``lost_count``: deals won / lost with a close date in M.
- ``win_rate`` = won / (won + lost) closed in M (NaN when none closed).
- ``avg_won_minor``: the won deals' amounts converted to the owner's plan currency at
  M's rate (each deal rounded half-up once), summed, divided by ``won_count`` rounded
  half-up (<NA> when nothing was won).
- ``median_cycle_days``: median of close date - created date in days over the won deals
  of M that have a created date.
- ``open_count`` / ``open_pipeline_minor``: deals open at M's end (the snapshot's
  ``open`` stage), amounts converted at M's rate.
- ``coverage`` = open pipeline / next month's revenue target (``next_month_target_minor``,
  the target in force for M+1: rep and team rows as in force, other scopes the sum of
  their members' rep targets). NaN without a positive target.

Roll-ups use the hierarchy in force in M; money is never summed across currencies,
so a scope with members in several plan currencies gets one row per currency.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from attain import money, periods
from attain.fx import to_plan_currency
from attain.measures.attainment import scope_targets
from attain.periods import month_keys
from attain.roster import SCOPES, active_in_month, memberships, roster_by_month
from attain.settings import Settings

PIPELINE_COLUMNS = [
    "month",
    "scope",
    "scope_id",
    "won_count",
    "lost_count",
    "win_rate",
    "avg_won_minor",
    "currency",
    "median_cycle_days",
    "open_count",
    "open_pipeline_minor",
    "next_month_target_minor",
    "coverage",
]
_KEYS = ["scope", "scope_id", "currency"]


def pipeline_health(
    deals: pd.DataFrame,
    in_force: pd.DataFrame,
    reps: pd.DataFrame,
    fx_rates: pd.DataFrame | None,
    month: str,
    settings: Settings,
) -> pd.DataFrame:
    """The ``pipeline_health`` table of partition ``month`` (``in_force`` must include month M+1)."""
    roster = roster_by_month(reps, [month])
    closed_month = month_keys(deals["close_date"])
    won = deals["stage"].eq("won") & closed_month.eq(month)
    lost = deals["stage"].eq("lost") & closed_month.eq(month)
    open_ = deals["stage"].eq("open")
    columns = ["deal_id", "owner_id", "amount_minor", "currency", "stage", "created_date", "close_date"]
    rows = deals.loc[won | lost | open_, columns].assign(month=month)
    rows = rows.merge(
        roster[["rep_id", "currency"]].rename(columns={"rep_id": "owner_id", "currency": "plan_currency"}),
        on="owner_id",
        how="left",
    )
    unknown = rows.loc[rows["plan_currency"].isna(), "owner_id"].unique()
    if len(unknown):
        raise ValueError(
            f"deals: owner_id {sorted(map(str, unknown))[:5]} not in the reps roster; fix owner_id or add the rep"
        )
    converted, _ = to_plan_currency(
        rows["amount_minor"], rows["currency"], rows["plan_currency"], rows["month"], fx_rates, settings
    )
    stage = rows["stage"].to_numpy()
    cycle = (rows["close_date"] - rows["created_date"]).dt.days
    facts = pd.DataFrame(
        {
            "month": month,
            "rep_id": rows["owner_id"].to_numpy(),
            "currency": rows["plan_currency"].to_numpy(),
            "won": stage == "won",
            "lost": stage == "lost",
            "open": stage == "open",
            "won_minor": np.where(stage == "won", converted, 0),
            "open_minor": np.where(stage == "open", converted, 0),
            "cycle": cycle.where(rows["stage"].eq("won")).to_numpy(dtype=float),
        }
    )
    active = roster[active_in_month(roster, month)]
    zero = pd.DataFrame(
        {
            "month": month,
            "rep_id": active["rep_id"].to_numpy(),
            "currency": active["currency"].to_numpy(),
            "won": False,
            "lost": False,
            "open": False,
            "won_minor": 0,
            "open_minor": 0,
            "cycle": np.nan,
        }
    )
    scopes = memberships(roster)
    facts = pd.concat([facts, zero], ignore_index=True)
    # Counts and sums per rep first, then per scope: the deal rows are never repeated for each scope a rep
    # belongs to (five or more), which at 10M deals would not fit in memory. Only the won deals' cycles, whose
    # median does not add up, are joined to the scopes row by row.
    per_rep = facts.groupby(["month", "rep_id", "currency"], sort=False).agg(
        won_count=("won", "sum"),
        lost_count=("lost", "sum"),
        won_minor=("won_minor", "sum"),
        open_count=("open", "sum"),
        open_pipeline_minor=("open_minor", "sum"),
    )
    table = (
        per_rep.reset_index().merge(scopes, on=["month", "rep_id"]).groupby(_KEYS, sort=False).sum(numeric_only=True)
    )
    cycles = facts.loc[facts["won"], ["month", "rep_id", "currency", "cycle"]].merge(scopes, on=["month", "rep_id"])
    table["median_cycle_days"] = cycles.groupby(_KEYS)["cycle"].median().reindex(table.index)
    table = table.drop(columns="row").reset_index()
    closed = table["won_count"] + table["lost_count"]
    table["win_rate"] = (table["won_count"] / closed.where(closed > 0)).astype(float)
    has_won = table["won_count"] > 0
    avg = money.div_half_up(table["won_minor"].to_numpy(np.int64), np.maximum(table["won_count"].to_numpy(np.int64), 1))
    table["avg_won_minor"] = pd.array(avg, dtype="Int64")
    table.loc[~has_won, "avg_won_minor"] = pd.NA

    next_month = periods.add_months(month, 1)
    upcoming = in_force[in_force["month"].eq(next_month) & in_force["metric"].eq("revenue")]
    targets = scope_targets(upcoming, scopes.assign(month=next_month)).drop(columns=["month", "metric"])
    targets = targets.rename(columns={"target": "next_month_target_minor"})
    table = table.merge(targets, on=_KEYS, how="left")
    target = table["next_month_target_minor"].astype("Float64")
    table["coverage"] = (table["open_pipeline_minor"] / target.where(target > 0)).astype(float)
    table = table.astype(
        {
            "won_count": np.int64,
            "lost_count": np.int64,
            "open_count": np.int64,
            "open_pipeline_minor": np.int64,
            "next_month_target_minor": "Int64",
        }
    )
    order = {s: i for i, s in enumerate(SCOPES)}
    table = table.assign(month=month, _s=table["scope"].map(order)).sort_values(["_s", "scope_id", "currency"])
    return table[PIPELINE_COLUMNS].reset_index(drop=True)
