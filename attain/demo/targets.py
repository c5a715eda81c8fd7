"""The demo's targets: individual targets, adjustments, team targets (one that disagrees), an explicit none."""

from __future__ import annotations

import numpy as np
import pandas as pd

from attain.demo.basics import (
    _TEAM_TARGET_AGREES,
    _TEAM_TARGET_DISAGREES,
    INPUT_COLUMNS,
    TEAMS,
    _month_index,
    _usd_rate,
)
from attain.demo.people import _SALES_OPS
from attain.money import minor_digits
from attain.periods import add_months, month_start

# ---------------------------------------------------------------- targets


def _targets(deals, people, fx, window) -> pd.DataFrame:
    """Rep targets set a little above what each team's reps achieve, plus adjustments,
    team targets and explicit "no target" rows.

    - revenue: monthly, in the rep's plan currency, 5% above the team's average won
      revenue per rep-month, rounded to 1,000 USD or 10,000 CNY; the last twelve
      months' targets are 8% above the earlier ones;
    - won_deals: monthly, the team's average won deals per rep-month (+5%), at least 1;
    - new_accounts: a quarterly goal (accounts whose first-ever won deal closes, as
      :mod:`attain.measures.attainment` counts them), set in the first month of each calendar
      quarter; the quarter's other months carry an explicit blank.
    """
    won = deals[deals["stage"] == "won"]
    close = won["close"].to_numpy("datetime64[D]")
    usd = won["amount_minor"].to_numpy() / 10.0 ** np.array([minor_digits(c) for c in won["currency"]])
    usd = usd * _usd_rate(fx, won["currency"].to_numpy(), _month_index(close, window))
    team_no = people["team_no"].to_numpy()[won["owner_row"].to_numpy()]
    first_won = won.assign(day=close).sort_values(["day", "deal_id"])
    first_won = first_won[first_won["account"] != ""].drop_duplicates("account")
    new_by_team = np.bincount(people["team_no"].to_numpy()[first_won["owner_row"].to_numpy()], minlength=len(TEAMS))
    sellers = people[people["role"] == "rep"]
    rep_months = np.bincount(sellers["team_no"], minlength=len(TEAMS)) * len(window)
    cny_per_usd = 1.0 / fx["CNY"].mean()
    growth = np.where(np.arange(len(window)) < len(window) - 12, 1.0, 1.08)

    rows = []
    for t, team in enumerate(TEAMS):
        in_team = team_no == t
        revenue = usd[in_team].sum() / rep_months[t] * 1.05
        revenue, step = (revenue * cny_per_usd, 10_000) if team.chinese else (revenue, 1_000)
        won_deals = max(1, round(in_team.sum() / rep_months[t] * 1.05))
        new_accounts = max(1, round(new_by_team[t] / rep_months[t] * 3))
        team_reps = sellers.loc[sellers["team_no"] == t, ["rep_id", "hire", "active_to", "leave"]]
        for rep_id, hire, active_to, leave in team_reps.itertuples(index=False):
            employed = [
                m for m in range(len(window)) if hire.strftime("%Y-%m") <= window[m] <= active_to.strftime("%Y-%m")
            ]
            if pd.isna(leave):
                employed.append(len(window))  # next month's target, agreed before the run month ends
            for m in employed:
                month = window[m] if m < len(window) else add_months(window[-1], 1)
                effective = month_start(month if m < len(window) else window[-1]).isoformat()
                new_accounts_row = (
                    (str(new_accounts), "annual plan: quarterly goal")
                    if int(month[5:]) % 3 == 1
                    else ("", "quarterly goal set in the quarter's first month")
                )
                rows += [
                    (
                        "rep",
                        rep_id,
                        month,
                        "revenue",
                        str(round(revenue * growth[min(m, len(window) - 1)] / step) * step),
                        effective,
                        "annual plan",
                        _SALES_OPS,
                    ),
                    ("rep", rep_id, month, "won_deals", str(won_deals), effective, "annual plan", _SALES_OPS),
                    (
                        "rep",
                        rep_id,
                        month,
                        "new_accounts",
                        new_accounts_row[0],
                        effective,
                        new_accounts_row[1],
                        _SALES_OPS,
                    ),
                ]
    targets = pd.DataFrame(rows, columns=INPUT_COLUMNS["targets"])
    targets = pd.concat(
        [
            targets,
            _adjustments(targets, people, window),
            _team_targets(targets, people, window),
            _no_targets(people, window),
        ],
        ignore_index=True,
    )
    return targets.sort_values(["scope", "scope_id", "month", "metric", "effective_date"], kind="stable").reset_index(
        drop=True
    )


def _head_name(people: pd.DataFrame, region: str) -> str:
    heads = people[(people["team_no"] == -1) & (people["region"] == region)]
    return str(heads["name"].iloc[0])


def _adjustments(targets, people, window) -> pd.DataFrame:
    """Mid-month revenue target changes, each with a reason and an author; one in the last month."""
    cases = (  # (team index, member, months before the end, factor, reason)
        (0, 0, 0, 0.85, "territory change: two accounts moved to Toronto"),
        (1, 1, 3, 1.10, "new key account assigned"),
        (4, 1, 5, 0.90, "区域调整：部分客户划归北京团队"),
        (3, 0, 8, 0.80, "parental leave from mid-month"),
    )
    rows = []
    for team_no, member, back, factor, reason in cases:
        person = people[(people["team_no"] == team_no) & people["regular"]].iloc[member]
        month = window[-1 - back]
        current = targets[
            (targets["scope_id"] == person["rep_id"]) & (targets["month"] == month) & (targets["metric"] == "revenue")
        ]
        step = 10_000 if person["chinese"] else 1_000
        amount = round(int(current["amount"].iloc[0]) * factor / step) * step
        rows.append(
            (
                "rep",
                person["rep_id"],
                month,
                "revenue",
                str(amount),
                month_start(month).replace(day=15).isoformat(),
                reason,
                _head_name(people, person["region"]),
            )
        )
    return pd.DataFrame(rows, columns=INPUT_COLUMNS["targets"])


def _team_targets(targets, people, window) -> pd.DataFrame:
    """Monthly team revenue targets for London (= its members' sum) and Shanghai (10% above it)."""
    rows = []
    for team_no, factor in ((_TEAM_TARGET_AGREES, 1.0), (_TEAM_TARGET_DISAGREES, 1.1)):
        team = TEAMS[team_no]
        members = people.loc[(people["team_no"] == team_no) & (people["role"] == "rep"), "rep_id"]
        revenue = targets[targets["scope_id"].isin(members) & (targets["metric"] == "revenue")]
        sums = revenue.assign(value=revenue["amount"].astype(np.int64)).groupby("month")["value"].sum()
        step = 10_000 if team.chinese else 1_000
        author = _head_name(people, team.region)
        for month in window:
            amount = round(sums[month] * factor / step) * step
            rows.append(
                (
                    "team",
                    team.name,
                    month,
                    "revenue",
                    str(amount),
                    month_start(month).isoformat(),
                    "annual plan",
                    author,
                )
            )
    return pd.DataFrame(rows, columns=INPUT_COLUMNS["targets"])


def _no_targets(people, window) -> pd.DataFrame:
    """Managers and regional heads carry no personal revenue quota: an explicit blank target each month."""
    managers = people.loc[people["role"] == "manager", "rep_id"]
    rows = [
        (
            "rep",
            rep_id,
            month,
            "revenue",
            "",
            month_start(month).isoformat(),
            "managers carry no personal quota",
            _SALES_OPS,
        )
        for rep_id in managers
        for month in window
    ]
    return pd.DataFrame(rows, columns=INPUT_COLUMNS["targets"])
