"""Target review for managers: are the team's revenue targets right, and what could next quarter's be?

From the ``attainment_trend`` table (monthly revenue attainment of the 12 months ending the run month), per
member of a manager's team (docs/review-packs.md, "Target review"):

- attainment over the last 3, 6 and 12 complete months = summed actual / summed target of the months with a
  target (never an average of monthly ratios, as for QTD and YTD);
- a flag: likely ``too_high`` when more than half of the months with a target (at least ``MIN_MONTHS``) are below
  ``Settings.target_review_low``, likely ``too_low`` when more than half are above ``target_review_high``;
- a suggested revenue target for the next fiscal quarter (``suggest``): the rep's average monthly actual x 3,
  times their trend and the team's seasonality, then reconciled to the team's own target for that quarter when
  the targets file sets one for each of its months. Money is integer minor units: shares are rounded down and
  the minor units left over go one at a time to the largest remainders (ties: the lower rep id).

Suggestions never change a target: the pack prints them as rows of the targets file for the manager to copy.
Pure functions; nothing here reads files or the warehouse.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from fractions import Fraction

import pandas as pd

from attain.money import from_minor, round_half_up
from attain.periods import add_months, month_start, trailing
from attain.settings import Settings

#: The windows the review prints, in months.
WINDOWS: tuple[int, ...] = (3, 6, 12)
#: Fewest months with a target before a target is flagged.
MIN_MONTHS = 3
#: The trend factor (last 3 months' average actual / the 12 months' average) is kept within these bounds.
TREND_BOUNDS = (Fraction(4, 5), Fraction(6, 5))
#: The seasonality factor (the team's same months a year earlier / its monthly average) is kept within these.
SEASON_BOUNDS = (Fraction(1, 2), Fraction(3, 2))
#: The targets file's columns (docs/input-contract.md), in its order: the suggestion rows are printed in them.
TARGETS_FILE_COLUMNS = ("scope", "scope_id", "month", "metric", "amount", "effective_date", "reason", "author")


#: The ``reason`` of each suggested row of the targets file (the pack prints it in the reader's language).
REASON = "suggested by target review"


def _clamp(value: Fraction, bounds: tuple[Fraction, Fraction]) -> Fraction:
    return min(max(value, bounds[0]), bounds[1])


def allocate(total: int, weights: Sequence[Fraction], keys: Sequence[str]) -> list[int]:
    """``total`` minor units split in proportion to ``weights`` (equally when they are all zero).

    Each share is rounded down; the units left over go one each to the largest remainders, ties to the
    lower key. The shares add up to ``total`` exactly.
    """
    if not weights:
        return []
    weights = list(weights) if any(weights) else [Fraction(1)] * len(weights)
    whole = sum(weights)
    exact = [Fraction(total) * w / whole for w in weights]
    shares = [e.numerator // e.denominator for e in exact]
    order = sorted(range(len(exact)), key=lambda i: (-(exact[i] - shares[i]), keys[i]))
    for i in order[: total - sum(shares)]:
        shares[i] += 1
    return shares


def _history(trend: pd.DataFrame, month: str, complete_through: str) -> pd.DataFrame:
    """Revenue rows of reps for the trend months of ``month`` up to ``complete_through``."""
    rows = trend[
        trend["month"].eq(month)
        & trend["scope"].eq("rep")
        & trend["metric"].eq("revenue")
        & (trend["trend_month"] <= complete_through)
    ]
    return rows[["scope_id", "trend_month", "currency", "actual", "target"]]


def _windows(rows: pd.DataFrame, complete_through: str) -> dict[int, float | None]:
    """Attainment over each window of ``WINDOWS`` months ending ``complete_through``."""
    out: dict[int, float | None] = {}
    for n in WINDOWS:
        sub = rows[rows["trend_month"].isin(trailing(complete_through, n)) & rows["target"].notna()]
        target = int(sub["target"].sum())
        out[n] = int(sub["actual"].sum()) / target if target > 0 else None
    return out


def _flag(rows: pd.DataFrame, settings: Settings) -> tuple[str | None, int, int, int]:
    """``(flag, months with a target, months below the low bound, months above the high bound)``."""
    judged = rows[rows["target"].notna() & (rows["target"].fillna(0) > 0)]
    months = len(judged)
    ratios = [Fraction(int(a), int(t)) for a, t in zip(judged["actual"], judged["target"], strict=True)]
    below = sum(r < Fraction(settings.target_review_low) for r in ratios)
    above = sum(r > Fraction(settings.target_review_high) for r in ratios)
    flag = None
    if months >= MIN_MONTHS and 2 * below > months:
        flag = "too_high"
    elif months >= MIN_MONTHS and 2 * above > months:
        flag = "too_low"
    return flag, months, below, above


def _average(values: list[int]) -> Fraction:
    return Fraction(sum(values), len(values)) if values else Fraction(0)


def _team_target(targets: pd.DataFrame, team: str | None, months: list[str]) -> tuple[int, str] | None:
    """The team's own revenue target for ``months`` (latest effective row per month), or None when a month
    has none set."""
    if not team or targets is None or targets.empty:
        return None
    rows = targets[targets["scope"].eq("team") & targets["scope_id"].eq(team) & targets["metric"].eq("revenue")]
    rows = (
        rows[rows["month"].isin(months)]
        .sort_values("effective_date", kind="stable")
        .drop_duplicates("month", keep="last")
    )
    if len(rows) != len(months) or rows["target"].isna().any():
        return None
    return int(rows["target"].sum()), str(rows["currency"].iloc[0])


def suggest(
    history: pd.DataFrame, rep_ids: list[str], quarter: list[str], team_target: tuple[int, str] | None
) -> tuple[dict[str, Fraction], bool]:
    """Each rep's suggested revenue for the three ``quarter`` months, exact, and whether it was reconciled.

    ``history``: the reps' monthly ``actual`` per ``trend_month`` (complete months). Suggestion = average
    monthly actual x 3 x trend (last 3 months' average / the average, within ``TREND_BOUNDS``; 1 without
    revenue) x seasonality (the team's actual in the quarter's months a year earlier / 3 team-average months,
    within ``SEASON_BOUNDS``; 1 when those months are not in the history). With a team target, the
    suggestions are then scaled to add up to it (``allocate``).
    """
    by_rep = {rep: history[history["scope_id"].eq(rep)].sort_values("trend_month") for rep in rep_ids}
    team = history.groupby("trend_month")["actual"].sum()
    team_average = _average([int(v) for v in team.to_list()])
    last_year = [add_months(m, -12) for m in quarter]
    season = Fraction(1)
    if team_average and all(m in team.index for m in last_year):
        season = _clamp(Fraction(int(sum(int(team[m]) for m in last_year))) / (3 * team_average), SEASON_BOUNDS)
    raw: dict[str, Fraction] = {}
    for rep, rows in by_rep.items():
        actuals = [int(a) for a in rows["actual"]]
        average = _average(actuals)
        trend = _clamp(_average(actuals[-3:]) / average, TREND_BOUNDS) if average else Fraction(1)
        raw[rep] = 3 * average * trend * season
    if team_target is None:
        return raw, False
    shares = allocate(team_target[0], [raw[r] for r in rep_ids], rep_ids)
    return {r: Fraction(s) for r, s in zip(rep_ids, shares, strict=True)}, True


def review_team(
    members: list[dict],
    month: str,
    trend: pd.DataFrame,
    targets: pd.DataFrame,
    manager: dict,
    settings: Settings,
    complete_through: str,
) -> dict:
    """The target review page of ``manager``'s pack for ``month``.

    ``members``: the members' person dicts (``rep_id``, ``name``, ``currency``); ``trend``: the
    ``attainment_trend`` table; ``targets``: the validated targets (for the team's next-quarter target);
    ``complete_through``: the last complete month (the month before an as-of run's month).
    """
    calendar = settings.calendar
    start = add_months(calendar.quarter_start(month), 3)
    quarter = [add_months(start, i) for i in range(3)]
    history = _history(trend, month, complete_through)
    rep_ids = [str(m["rep_id"]) for m in members]
    people = []
    for person in members:
        rows = history[history["scope_id"].eq(person["rep_id"])]
        flag, months, below, above = _flag(rows, settings)
        people.append(
            {
                "rep_id": person["rep_id"],
                "name": person["name"],
                "attainment": _windows(rows, complete_through),
                "flag": flag,
                "months": months,
                "below": below,
                "above": above,
            }
        )
    team_target = _team_target(targets, manager.get("team"), quarter)
    currencies = {str(m["currency"]) for m in members if m.get("currency")}
    if team_target is not None and currencies != {team_target[1]}:
        team_target = None  # members paid in another currency than the team target: no reconciliation
    # Only members measured against a revenue target in the window get a suggestion (not a manager in the team).
    rep_ids = [p["rep_id"] for p in people if p["months"] > 0]
    suggested, reconciled = suggest(history, rep_ids, quarter, team_target) if rep_ids else ({}, False)
    rows = []
    suggestions = []
    names = {str(m["rep_id"]): m for m in members}
    for rep in rep_ids:
        currency = str(names[rep].get("currency") or (team_target or (0, ""))[1])
        total = suggested[rep].numerator // suggested[rep].denominator if reconciled else round_half_up(suggested[rep])
        per_month = allocate(total, [Fraction(1)] * 3, quarter)
        suggestions.append({"rep_id": rep, "name": names[rep]["name"], "currency": currency, "amount_minor": total})
        for m, amount in zip(quarter, per_month, strict=True):
            rows.append(
                {
                    "scope": "rep",
                    "scope_id": rep,
                    "month": m,
                    "metric": "revenue",
                    "amount": str(from_minor(amount, currency)) if currency else str(amount),
                    "effective_date": month_start(quarter[0]).isoformat(),
                    "reason": REASON,
                    "author": manager.get("name") or "",
                }
            )
    return {
        "months": WINDOWS,
        "complete_through": complete_through,
        "low": float(settings.target_review_low),
        "high": float(settings.target_review_high),
        "people": people,
        "quarter": calendar.quarter_label(start),
        "quarter_months": quarter,
        "team_target": None if team_target is None else {"amount_minor": team_target[0], "currency": team_target[1]},
        "reconciled": reconciled,
        "suggestions": suggestions,
        "suggested_total": sum(s["amount_minor"] for s in suggestions),
        "csv": _csv_lines(rows) if rows else [],
        "reason": REASON,
    }


def _csv_lines(rows: list[dict]) -> list[str]:
    """The suggestion rows as lines of the targets file (header first), quoted as CSV needs."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=TARGETS_FILE_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().splitlines()
