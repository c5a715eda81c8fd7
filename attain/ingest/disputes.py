"""Validation of the disputes: a rep's claims against a statement, and how each was decided.

The file is the whole history (one row per dispute, updated as it is decided). A run of month M sees it as
known at M's end: disputes about a later month are outside the snapshot, and a decision dated after M's end
is not known yet, so that dispute is still open in M's snapshot. Whether a disputed statement line exists is
checked against the stored ledger when the month's ledger is computed (``attain.pay.disputes``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from attain.ingest.cells import _OK, _amount_problems, _dates, _minor_units
from attain.ingest.deals import _deal_ids, _skip_rows
from attain.ingest.people import _plan_currency
from attain.ingest.quarantine import _drop_problem_rows, _duplicates, _empty, _pandera, _Table, _unknown
from attain.money import MINOR_DIGITS


def _validate_disputes(
    table: _Table | None,
    deals: pd.DataFrame,
    deals_table: _Table,
    reps: pd.DataFrame,
    roster: tuple[pd.Index, pd.Index],
    month: str,
    end: pd.Timestamp,
) -> pd.DataFrame:
    """Validated disputes of the snapshot of ``month`` (``end``: its last instant)."""
    if table is None:
        return _empty("disputes")
    _duplicates(table, ["dispute_id"], "dispute")
    _skip_rows(table, table.text["month"].str.fullmatch(r"\d{4}-\d{2}") & (table.text["month"] > month))
    text = table.text

    currency = _plan_currency(text[["rep_id", "month"]], reps).fillna("")
    digits = currency.map(MINOR_DIGITS).fillna(2).astype("int64").to_numpy()
    typed = text[["dispute_id", "rep_id", "month"]].copy()
    line_units, line_status = _minor_units(text["line_no"], 0)
    bad_line = ~np.isin(line_status, (_OK,)) & (text["line_no"] != "").to_numpy()
    table.problems.add(
        text.index[bad_line],
        "line_no",
        text["line_no"][bad_line],
        [
            f"line_no '{v}' is not a whole number; enter the statement line's number, or leave it blank"
            for v in text["line_no"][bad_line]
        ],
    )
    typed["line_no"] = pd.array(line_units, dtype="Int64")
    typed["line_no"] = typed["line_no"].mask(line_status != _OK)
    typed["deal_id"], typed["claim"] = text["deal_id"], text["claim"]
    for column in ("amount_claimed", "amount_granted"):
        units, status = _minor_units(text[column], digits)
        _amount_problems(table, column, status, digits, currency, "amounts")
        typed[f"{column}_minor"] = pd.array(units, dtype="Int64")
        typed[f"{column}_minor"] = typed[f"{column}_minor"].mask(status != _OK)
    typed["currency"] = currency
    typed["status"], typed["resolution"] = text["status"], text["resolution"]
    accepted = typed["status"].eq("accepted") & typed["amount_granted_minor"].isna()
    typed["amount_granted_minor"] = typed["amount_granted_minor"].mask(accepted, typed["amount_claimed_minor"])
    typed["decided_by"] = text["decided_by"]
    typed["decided_at"] = _dates(table, "decided_at")
    _pandera(table, typed)
    negative = typed["amount_claimed_minor"].lt(0).fillna(False) | typed["amount_granted_minor"].lt(0).fillna(False)
    table.problems.add(
        typed.index[negative.to_numpy()],
        "amount_claimed",
        text["amount_claimed"][negative.to_numpy()],
        "an amount is negative; enter what the rep claims and what is granted as positive amounts",
    )
    _unknown(table, "rep_id", *roster, "rep_id in reps", "add the rep to reps or correct the id")
    known, rejected, later = _deal_ids(deals_table, deals)
    _unknown(
        table,
        "deal_id",
        known.union(later),
        rejected,
        "deal in deals",
        "correct the id, or leave it blank and name the statement line (line_no)",
    )
    typed = _drop_problem_rows(table, typed)
    # Decided after the month's end: not known in this snapshot, so still open here.
    later_decision = typed["decided_at"] > end
    if later_decision.any():
        typed.loc[later_decision, ["status", "resolution", "decided_by"]] = ["open", "", ""]
        typed.loc[later_decision, "amount_granted_minor"] = pd.NA
        typed.loc[later_decision, "decided_at"] = pd.NaT
    return typed
