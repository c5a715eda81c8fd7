"""The roster: who is on it in month M, with which team, manager and plan currency.

The reps file keeps one row per person and ``valid_from`` month; a later row records a
change (team move, new manager, new plan currency). Employment is recorded apart, in
``hire_date`` and ``leave_date``. So "the roster in month M" is two questions, each
answered once here and used by credit, targets, attainment, review, validation and
the rest:

* **Which row is in force** (:func:`roster_by_month`, :func:`roster_as_of`): the row
  with the latest ``valid_from <= M`` (blank = always valid). For a month before a
  rep's first ``valid_from`` the rep's *earliest* row is in force. ``valid_from`` says
  when a row's details start to apply, not when the person joined (that is
  ``hire_date``), so a rep whose rows are all dated still has a team and a plan
  currency in an earlier month: a deal they closed then is credited in that currency,
  validation checks the FX rate that conversion needs, and the rep's pack shows it.
  Dropping the rep instead (the rule review and validation used to have) would lose
  that deal's credit silently, or pass validation and fail at credit.
* **Who is employed** (:func:`active_in_month`): at least one day between
  ``hire_date`` and ``leave_date`` falls in the month.

:func:`roster_for_month` combines both: the people on the roster in a month, as the
review and the packs list them. :func:`memberships` lists every scope each rep rolls up
to in that month, and :func:`team_currency` the currency of a team's revenue target.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from attain.periods import month_bounds

#: Scopes a rep's figures roll up to, in report order.
SCOPES = ("rep", "team", "manager", "region", "company")
#: ``scope_id`` of the single company-wide scope.
COMPANY = "company"


def _valid_from(reps: pd.DataFrame) -> pd.Series:
    if "valid_from" not in reps:
        return pd.Series("", index=reps.index, dtype=object)
    return reps["valid_from"].fillna("").astype(str).str.strip()


def roster_by_month(reps: pd.DataFrame, months: list[str]) -> pd.DataFrame:
    """The roster row in force for each rep in each of ``months`` (adds a ``month`` column).

    This is THE rule (see the module docstring): the row with the latest
    ``valid_from <= month`` (blank = always valid); for a month before a rep's first
    ``valid_from`` the earliest row. Every rep appears once per month, employed or not.
    """
    roster = reps.assign(valid_from=_valid_from(reps)).sort_values(["rep_id", "valid_from"], kind="stable")
    rep_ids = roster["rep_id"].to_numpy()
    starts = np.flatnonzero(np.r_[True, rep_ids[1:] != rep_ids[:-1]]) if len(roster) else np.array([], dtype=np.int64)
    valid_from = roster["valid_from"].to_numpy(dtype=object)
    position = np.arange(len(roster))
    chosen = []
    for month in months:
        eligible = np.where((valid_from == "") | (valid_from <= month), position, -1)
        latest = np.maximum.reduceat(eligible, starts) if len(starts) else eligible
        chosen.append(np.where(latest >= 0, latest, starts))
    picked = np.concatenate(chosen) if chosen else np.array([], dtype=np.int64)
    out = roster.iloc[picked].reset_index(drop=True)
    out.insert(0, "month", np.repeat(np.asarray(list(months), dtype=object), len(starts)))
    return out


def roster_as_of(reps: pd.DataFrame, month: str) -> pd.DataFrame:
    """The roster row in force per rep for ``month`` (see :func:`roster_by_month`)."""
    return roster_by_month(reps, [month]).drop(columns="month")


def active_in_month(roster: pd.DataFrame, month: str | pd.Series) -> pd.Series:
    """Whether each roster row was employed on at least one day of its month.

    Employed means ``hire_date <= last day`` and (no ``leave_date`` or ``leave_date >=
    first day``): a rep hired on the 20th or leaving on the 3rd is on that month's roster.
    """
    start, end = month_bounds(month, roster.index)
    leave = pd.to_datetime(roster["leave_date"]) if "leave_date" in roster else pd.Series(pd.NaT, index=roster.index)
    return pd.to_datetime(roster["hire_date"]).le(end) & (leave.isna() | leave.ge(start))


def roster_for_month(reps: pd.DataFrame, month: str) -> pd.DataFrame:
    """The people on the roster in ``month``: the row in force of each rep employed that month.

    Indexed by ``rep_id`` (also kept as a column), sorted by it.
    """
    roster = roster_as_of(reps, month)
    return roster[active_in_month(roster, month)].set_index("rep_id", drop=False)


def memberships(roster_months: pd.DataFrame) -> pd.DataFrame:
    """Every scope each rep belongs to in each month: ``month, rep_id, scope, scope_id, row``.

    ``row`` is the position of the rep's row in ``roster_months`` (for integer joins).
    ``roster_months`` is :func:`roster_by_month` output. Scopes: the rep itself, its
    team, its region, the company, and every manager above it (the whole subtree of a
    manager: a person with at least one report; the manager's own figures count in
    their subtree). Managers are followed through ``manager_id`` within the same month.
    """
    base = roster_months[["month", "rep_id"]].assign(row=np.arange(len(roster_months)))
    parts = [
        base.assign(scope="rep", scope_id=roster_months["rep_id"]),
        base.assign(scope="team", scope_id=roster_months["team"].fillna("").astype(str)),
        base.assign(scope="region", scope_id=roster_months["region"].fillna("").astype(str)),
        base.assign(scope="company", scope_id=COMPANY),
        _manager_subtrees(roster_months),
    ]
    return pd.concat(parts, ignore_index=True)[["month", "rep_id", "scope", "scope_id", "row"]]


def _manager_subtrees(roster_months: pd.DataFrame) -> pd.DataFrame:
    """``month, rep_id, row, scope="manager", scope_id`` for every manager at or above each rep."""
    links = roster_months[["month", "rep_id", "manager_id"]].copy()
    links["manager_id"] = links["manager_id"].fillna("").astype(str)
    managers = links.loc[links["manager_id"] != "", ["month", "manager_id"]].drop_duplicates()
    managers = managers.rename(columns={"manager_id": "ancestor"})
    parent = links.rename(columns={"rep_id": "ancestor", "manager_id": "next"})
    level = links[["month", "rep_id"]].assign(ancestor=links["rep_id"], row=np.arange(len(links)))
    found = [level]
    for _ in range(len(links["rep_id"].unique()) + 1):
        level = level.merge(parent, on=["month", "ancestor"])
        level = level.loc[level["next"] != "", ["month", "rep_id", "row", "next"]].rename(columns={"next": "ancestor"})
        if level.empty:
            break
        found.append(level)
    else:
        cycle = level.head(3).to_dict("records")
        raise ValueError(
            f"reps: manager_id forms a cycle (for example {cycle}); fix manager_id so the chain ends at the top"
        )
    chains = pd.concat(found, ignore_index=True).merge(managers, on=["month", "ancestor"])
    return chains.rename(columns={"ancestor": "scope_id"}).assign(scope="manager")


def team_currency(roster_months: pd.DataFrame) -> pd.DataFrame:
    """``month, team, currency``: the currency of each team's revenue target in each month.

    That is the most common plan currency of the team's members in the month (rows of
    :func:`roster_by_month`); ties go to the alphabetically first. A team without
    members in a month has no row: callers fall back to the base currency.
    """
    counts = roster_months.groupby(["month", "team", "currency"]).size().rename("n").reset_index()
    counts = counts.sort_values(["month", "team", "n", "currency"], ascending=[True, True, False, True])
    return counts.drop_duplicates(["month", "team"])[["month", "team", "currency"]]
