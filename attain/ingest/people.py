"""Validation of the roster (reps) and the targets."""

from __future__ import annotations

import numpy as np
import pandas as pd

from attain.ingest.cells import _OK, _TOO_PRECISE, _amount_problems, _dates, _minor_units
from attain.ingest.contract import _DATE_COLUMNS
from attain.ingest.quarantine import _drop_problem_rows, _duplicates, _empty, _id_problems, _pandera, _Table, _unknown
from attain.money import MINOR_DIGITS
from attain.roster import roster_by_month, team_currency
from attain.settings import Settings


def _validate_reps(table: _Table, max_length: int = Settings.text_max_length) -> pd.DataFrame:
    text = table.text
    _duplicates(table, ["rep_id", "valid_from"], "rep_id and valid_from")
    _id_problems(table, ("rep_id",), max_length)
    text = table.text
    typed = text.copy()
    for column in _DATE_COLUMNS["reps"]:
        typed[column] = _dates(table, column)
    _pandera(table, typed, required_dates=("hire_date",))
    rep_ids = pd.Index(text["rep_id"].unique())
    _unknown(
        table,
        "manager_id",
        rep_ids,
        pd.Index([]),
        "rep_id in reps",
        "add the manager's own row to reps or correct the id",
    )
    return _drop_problem_rows(table, typed)


def _roster_ids(table: _Table, reps: pd.DataFrame) -> tuple[pd.Index, pd.Index]:
    """(rep_ids with an accepted roster row, rep_ids in the file whose every row was rejected)."""
    accepted = pd.Index(reps["rep_id"].unique())
    return accepted, pd.Index(table.text["rep_id"].unique()).difference(accepted)


def _plan_currency(wanted: pd.DataFrame, reps: pd.DataFrame) -> pd.Series:
    """The plan currency of ``wanted.rep_id`` in ``wanted.month``, indexed like ``wanted`` (NaN: no roster row)."""
    roster = roster_by_month(reps, list(pd.unique(wanted["month"])))[["month", "rep_id", "currency"]]
    found = wanted[["rep_id", "month"]].merge(roster, on=["rep_id", "month"], how="left")
    return pd.Series(found["currency"].to_numpy(), index=wanted.index)


def _team_target_currency(wanted: pd.DataFrame, reps: pd.DataFrame, base_currency: str) -> pd.Series:
    """The currency of each team revenue target in ``wanted`` (:func:`attain.roster.team_currency`).

    A team without members that month gets the base currency, as in ``attain.measures.targets``.
    """
    roster = roster_by_month(reps, list(pd.unique(wanted["month"])))
    chosen = team_currency(roster).rename(columns={"team": "scope_id"})
    found = wanted[["scope_id", "month"]].merge(chosen, on=["scope_id", "month"], how="left")
    return pd.Series(found["currency"].fillna(base_currency).to_numpy(), index=wanted.index)


def _validate_targets(
    table: _Table | None, reps: pd.DataFrame, roster: tuple[pd.Index, pd.Index], base_currency: str
) -> pd.DataFrame:
    """Validated targets with ``target`` (int, minor units for revenue) and its ``currency``.

    None (no targets file: ``attain validate`` of another lone file) gives no targets.
    """
    if table is None:
        return _empty("targets")
    _duplicates(
        table,
        ["scope", "scope_id", "month", "metric", "effective_date"],
        "scope, scope_id, month, metric and effective_date",
    )
    text = table.text
    is_rep, is_team = text["scope"] == "rep", text["scope"] == "team"
    revenue = text["metric"] == "revenue"

    currency = pd.Series("", index=text.index, dtype=object)
    rep_rows = text[is_rep & revenue]
    currency.loc[rep_rows.index] = _plan_currency(rep_rows.rename(columns={"scope_id": "rep_id"}), reps).fillna("")
    team_rows = text[is_team & revenue]
    currency.loc[team_rows.index] = _team_target_currency(team_rows, reps, base_currency)

    digits = np.where(revenue, currency.map(MINOR_DIGITS).fillna(2), 0).astype("int64")
    units, status = _minor_units(text["amount"], digits)
    status_money = np.where(revenue.to_numpy(), status, np.where(status == _TOO_PRECISE, -1, status))
    _amount_problems(table, "amount", status_money, digits, currency.where(revenue, ""), "targets")
    counts = text[status_money == -1]
    table.problems.add(
        counts.index,
        "amount",
        counts["amount"],
        [
            f"amount {v} is not a whole number; a {m} target is a count"
            for v, m in zip(counts["amount"], counts["metric"], strict=True)
        ],
    )

    typed = text[["scope", "scope_id", "month", "metric", "amount"]].copy()
    typed["target"] = pd.array(units, dtype="Int64")
    typed["target"] = typed["target"].mask(status != _OK)
    typed["currency"] = currency.where(revenue, "")
    typed["effective_date"] = _dates(table, "effective_date")
    typed["reason"], typed["author"] = text["reason"], text["author"]
    _pandera(table, typed, required_dates=("effective_date",))
    _unknown(table, "scope_id", *roster, "rep_id in reps", "add the rep to reps or correct the id", mask=is_rep)
    _unknown(
        table,
        "scope_id",
        pd.Index(reps["team"].unique()),
        pd.Index([]),
        "team in reps",
        "correct the team name (it must match the team column of reps)",
        mask=is_team,
    )
    return _drop_problem_rows(table, typed)
