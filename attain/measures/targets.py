"""Targets in force: effective-dated adjustments, proration, team targets and their warnings.

- The target measured for a (scope, scope_id, month, metric) is the row with the latest
  ``effective_date <= month end`` (on equal dates the later file row wins). Every row
  stays in the history with an ``in_force`` flag, its reason and author.
- A blank amount is an explicit "no target": it is in force like a number (``target``
  <NA>), so the rep is not reported as missing a target.
- Rep targets are prorated by employment in the month (the roster row in force for
  that month): ``"days"`` scales by employed days / days in month, rounded half-up once
  to the minor unit (revenue) or to a whole count; ``"whole_months"`` keeps the full
  target when the rep is employed on the 15th of the month and sets it to 0 otherwise.
- A team's target is its own in-force figure when one is set, otherwise the sum of its
  members' (prorated) rep targets in that month. When both exist and disagree, a row
  goes to ``warnings``.
- Revenue targets are in the scope's plan currency: a rep's roster currency; for a team
  the most common currency of its members that month (ties: alphabetical first; a team
  with no members falls back to the base currency). Members in another currency are
  left out of that team's member sum, so a mixed-currency team is never summed across
  currencies.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import numpy as np
import pandas as pd

from attain import money, periods
from attain.periods import month_bounds
from attain.roster import active_in_month, roster_as_of, roster_by_month, team_currency
from attain.settings import Settings

METRICS = ("revenue", "won_deals", "new_accounts")
PRORATION_RULES = ("days", "whole_months")
IN_FORCE_COLUMNS = [
    "scope",
    "scope_id",
    "month",
    "metric",
    "currency",
    "target",
    "full_target",
    "employed_days",
    "days_in_month",
    "proration",
    "source",
    "effective_date",
    "reason",
    "author",
]
WARNING_COLUMNS = ["team", "month", "metric", "currency", "set_amount", "members_sum", "difference"]


@dataclass(frozen=True)
class TargetsInForce:
    """What :func:`targets_in_force` measures against, and how it got there.

    - ``in_force``: one row per (scope, scope_id, month, metric) in force at month end
      (columns ``IN_FORCE_COLUMNS``; ``target`` Int64, <NA> = explicit no target).
    - ``history``: every target row of those months with ``in_force`` (bool).
    - ``warnings``: team targets set explicitly that disagree with their members' sum.
    """

    in_force: pd.DataFrame
    history: pd.DataFrame
    warnings: pd.DataFrame


def _amounts_minor(rows: pd.DataFrame) -> pd.Series:
    """The target amount as Int64: minor units of ``currency`` for revenue, a count otherwise.

    Uses the validated ``target`` column when present (docs/data-model.md); otherwise
    parses the ``amount`` decimal text per distinct (amount, currency) pair. Blank =
    <NA> (explicit no target).
    """
    if "target" in rows:
        return rows["target"].astype("Int64")
    if rows.empty:
        return pd.Series(pd.array([], dtype="Int64"), index=rows.index)
    text = rows["amount"].fillna("").astype(str).str.strip()
    unit = rows["currency"].where(rows["metric"].eq("revenue"), "")
    pairs = pd.MultiIndex.from_arrays([text, unit])
    codes, uniques = pd.factorize(pairs)
    values = [_parse_amount(a, c, rows, text) for a, c in uniques]
    return pd.Series(pd.array(values, dtype="Int64")[codes], index=rows.index)


def _parse_amount(amount: str, currency: str, rows: pd.DataFrame, text: pd.Series) -> int | None:
    if amount == "":
        return None
    try:
        if currency:
            return money.to_minor(amount, currency)
        value = Decimal(amount)
        if value != value.to_integral_value() or value < 0:
            raise InvalidOperation
        return int(value)
    except (money.MoneyError, InvalidOperation):
        where = rows.loc[text == amount].iloc[0]
        raise ValueError(
            f"targets: amount {amount!r} for {where['scope']} {where['scope_id']}, {where['month']}, "
            f"{where['metric']} is not a valid {'amount in ' + currency if currency else 'whole count'}; "
            "write a non-negative number (counts without decimals)"
        ) from None


def _pick_in_force(targets: pd.DataFrame, months: list[str]) -> pd.DataFrame:
    """Target rows of ``months`` with the ``in_force`` flag (latest effective date <= month end)."""
    rows = targets[targets["month"].astype(str).isin(months)].copy()
    rows["effective_date"] = pd.to_datetime(rows["effective_date"])
    _, month_end = month_bounds(rows["month"].astype(str), rows.index)
    order = ["scope", "scope_id", "month", "metric", "effective_date"]
    if "source_row" in rows:
        order.append("source_row")
    rows = rows.sort_values(order, kind="stable")
    effective = rows["effective_date"].le(month_end.loc[rows.index])
    latest = rows[effective].drop_duplicates(["scope", "scope_id", "month", "metric"], keep="last").index
    rows["in_force"] = rows.index.isin(latest)
    return rows


def _prorate(rep_rows: pd.DataFrame, roster: pd.DataFrame, proration: dict[str, str] | None) -> pd.DataFrame:
    """Scale rep targets by employment in their month (see the module docstring)."""
    emp = roster[["month", "rep_id", "hire_date", "leave_date"]].rename(columns={"rep_id": "scope_id"})
    rows = rep_rows.merge(emp, on=["month", "scope_id"], how="left")
    start, end = month_bounds(rows["month"], rows.index)
    first = pd.to_datetime(rows["hire_date"]).where(lambda d: d > start, start)
    leave = pd.to_datetime(rows["leave_date"])
    last = leave.where(leave.notna() & (leave < end), end)
    days = ((last - first).dt.days + 1).clip(lower=0).fillna(0).astype(np.int64)
    dim = ((end - start).dt.days + 1).astype(np.int64)
    rule = rows["scope_id"].map(proration or {}).fillna("days")
    unknown = sorted(set(rule) - set(PRORATION_RULES))
    if unknown:
        raise ValueError(f"proration rule {unknown} is not one of {PRORATION_RULES}")
    mid = start + pd.Timedelta(days=14)
    employed_mid = pd.to_datetime(rows["hire_date"]).le(mid) & (leave.isna() | leave.ge(mid))
    full = rows["full_target"]
    by_days = pd.array(
        money.div_half_up(full.fillna(0).to_numpy(np.int64) * days.to_numpy(), dim.to_numpy()), dtype="Int64"
    )
    whole = full.where(employed_mid, 0)
    target = pd.Series(by_days, index=rows.index).where(rule.eq("days"), whole)
    return rows.assign(
        target=target.where(full.notna()).astype("Int64"),
        employed_days=days.astype("Int64"),
        days_in_month=dim,
        proration=rule,
    ).drop(columns=["hire_date", "leave_date"])


def targets_in_force(
    targets: pd.DataFrame,
    reps: pd.DataFrame,
    months: list[str],
    settings: Settings,
    proration: dict[str, str] | None = None,
) -> TargetsInForce:
    """Targets in force at each month end of ``months``, prorated, with team targets and warnings.

    ``proration`` maps rep_id to ``"days"`` (default) or ``"whole_months"`` (the plan's rule).
    """
    months = list(months)
    roster = roster_by_month(reps, months)
    roster["team"] = roster["team"].fillna("").astype(str)
    team_ccy = team_currency(roster)
    history = _pick_in_force(targets, months)

    rep_ccy = roster[["month", "rep_id", "currency"]].rename(columns={"rep_id": "scope_id"})
    cur = history[["scope", "scope_id", "month"]].merge(rep_ccy, on=["month", "scope_id"], how="left")["currency"]
    team_cur = history[["scope_id", "month"]].merge(
        team_ccy.rename(columns={"team": "scope_id"}), on=["month", "scope_id"], how="left"
    )["currency"]
    derived = pd.Series(
        np.where(
            history["scope"].eq("rep").to_numpy(), cur.to_numpy(), team_cur.fillna(settings.base_currency).to_numpy()
        ),
        index=history.index,
    )
    unknown = history.loc[history["scope"].eq("rep") & derived.isna(), "scope_id"].unique()
    if len(unknown):
        raise ValueError(
            f"targets: rep scope_id {sorted(unknown)[:5]} not in the reps roster; fix scope_id or add the rep"
        )
    given = history["currency"].fillna("") if "currency" in history else pd.Series("", index=history.index)
    history["currency"] = given.where(given.ne(""), derived)  # validated targets carry the currency of ``target``

    chosen = history[history["in_force"]].copy()
    chosen["full_target"] = _amounts_minor(chosen)
    chosen["currency"] = chosen["currency"].where(chosen["metric"].eq("revenue"), "")
    keep = ["scope", "scope_id", "month", "metric", "currency", "full_target", "effective_date", "reason", "author"]
    rep_rows = _prorate(chosen.loc[chosen["scope"].eq("rep"), keep], roster, proration).assign(source="set")

    team_of = roster[["month", "rep_id", "team", "currency"]].rename(
        columns={"rep_id": "scope_id", "currency": "rep_ccy"}
    )
    members = rep_rows.merge(team_of, on=["month", "scope_id"]).merge(
        team_ccy.rename(columns={"currency": "team_ccy"}), on=["month", "team"]
    )
    members = members[members["metric"].ne("revenue") | members["rep_ccy"].eq(members["team_ccy"])]
    sums = (
        members.groupby(["team", "month", "metric", "currency"])["target"]
        .sum(min_count=1)
        .rename("members_sum")
        .reset_index()
        .rename(columns={"team": "scope_id"})
    )
    set_rows = chosen.loc[chosen["scope"].eq("team"), keep].rename(columns={"full_target": "set_amount"})
    teams = set_rows.merge(sums, on=["scope_id", "month", "metric", "currency"], how="outer")
    explicit = teams["effective_date"].notna()
    teams["target"] = teams["set_amount"].where(explicit, teams["members_sum"]).astype("Int64")
    teams = teams.assign(
        scope="team",
        source=np.where(explicit, "set", "members_sum"),
        full_target=teams["target"],
        employed_days=pd.array([pd.NA] * len(teams), dtype="Int64"),
        days_in_month=pd.NA,
        proration="",
    )
    disagree = (
        explicit
        & teams["set_amount"].notna()
        & teams["members_sum"].notna()
        & teams["set_amount"].ne(teams["members_sum"])
    )
    warnings = (
        teams.loc[disagree.fillna(False)]
        .rename(columns={"scope_id": "team"})
        .assign(difference=lambda t: (t["set_amount"] - t["members_sum"]).astype("Int64"))[WARNING_COLUMNS]
        .reset_index(drop=True)
    )

    in_force = pd.concat([rep_rows[IN_FORCE_COLUMNS], teams[IN_FORCE_COLUMNS]], ignore_index=True)
    in_force["target"] = in_force["target"].astype("Int64")
    in_force["full_target"] = in_force["full_target"].astype("Int64")
    history = history.reset_index(drop=True)
    return TargetsInForce(
        in_force=in_force.sort_values(["month", "scope", "scope_id", "metric"]).reset_index(drop=True),
        history=history,
        warnings=warnings,
    )


def months_needed(month: str) -> list[str]:
    """The months whose targets partition ``month`` measures: the 12-month trend (which
    holds QTD and YTD) and the next month (pipeline coverage)."""
    return [*periods.trailing(month, 12), periods.add_months(month, 1)]


def reps_without_targets(reps: pd.DataFrame, in_force: pd.DataFrame, month: str) -> pd.DataFrame:
    """Reps employed in ``month`` with neither a rep target nor an explicit "no target" row."""
    roster = roster_as_of(reps, month)
    active = roster[active_in_month(roster, month)]
    covered = in_force.loc[in_force["scope"].eq("rep") & in_force["month"].eq(month), "scope_id"]
    missing = active[~active["rep_id"].isin(covered)]
    return missing.assign(month=month)[["month", "rep_id", "name", "team"]].reset_index(drop=True)


def describe_missing(missing: pd.DataFrame, month: str) -> str | None:
    """What to do about the people :func:`reps_without_targets` found (None when there are none)."""
    if missing.empty:
        return None
    people = ", ".join(f"{r.rep_id} ({r.name})" for r in missing.head(20).itertuples())
    more = f" and {len(missing) - 20:,} more" if len(missing) > 20 else ""
    return (
        f"targets: no target in force for {month} for {people}{more}; add a row per person to targets "
        f'(scope rep, month {month}, metric revenue), or one with a blank amount for an explicit "no target" '
        "(a manager without a personal quota, say)"
    )
