"""Validation of the credit splits: known deals and reps, shares that add up."""

from __future__ import annotations

import pandas as pd

from attain.ingest.cells import _TOO_PRECISE, _minor_units
from attain.ingest.contract import _SHARE_DIGITS
from attain.ingest.deals import _deal_ids, _skip_rows
from attain.ingest.quarantine import _drop_problem_rows, _duplicates, _empty, _pandera, _Table, _unknown


def _validate_splits(
    table: _Table | None, deals: pd.DataFrame, deals_table: _Table, roster: tuple[pd.Index, pd.Index]
) -> pd.DataFrame:
    """Validated split and overlay credit rows of deals in the snapshot."""
    if table is None:
        return _empty("credit_splits")
    accepted, rejected, later = _deal_ids(deals_table, deals)
    _skip_rows(table, table.text["deal_id"].isin(later))
    _duplicates(table, ["deal_id", "rep_id", "role"], "deal, rep and role")
    text = table.text
    _pandera(table, text)
    _unknown(table, "deal_id", accepted, rejected, "deal in deals", "correct the id or add the deal to deals")
    _unknown(table, "rep_id", *roster, "rep_id in reps", "add the rep to reps or correct the id")

    units, status = _minor_units(text["share"], _SHARE_DIGITS)
    too_precise = pd.Series(status == _TOO_PRECISE, index=text.index)
    table.problems.add(
        text.index[too_precise],
        "share",
        text["share"][too_precise],
        f"share has more than {_SHARE_DIGITS} decimal places; shorten it",
    )

    split = text[text["role"] == "split"].assign(units=units[(text["role"] == "split").to_numpy()])
    bad = split.index.isin(table.problems.rows())
    split = split.assign(bad=bad)
    by_deal = split.groupby("deal_id")
    total = by_deal["units"].transform("sum")
    deal_has_bad = by_deal["bad"].transform("any")
    fail = split[~split["bad"] & (deal_has_bad | (total != 100 * 10**_SHARE_DIGITS))]
    for deal_id, group in fail.groupby("deal_id", sort=False):
        rows = split[split["deal_id"] == deal_id]
        for idx in group.index:
            if rows["bad"].any():
                reason = (
                    f"another split row of deal {deal_id} ({table.rows_label(rows.index[rows['bad']])}) "
                    "was rejected, so this deal's split cannot be applied; fix that row"
                )
            else:
                shares = _share_text(int(rows["units"].sum()))
                reason = (
                    f"the split shares of deal {deal_id} ({table.rows_label(rows.index)}) add up to "
                    f"{shares}, not 100; correct them so they add up to exactly 100 "
                    "(until then the deal is credited 100% to its owner)"
                )
            table.problems.add([idx], "share", [text.at[idx, "share"]], reason)
    return _drop_problem_rows(table, text)


def _share_text(units: int) -> str:
    whole, frac = divmod(units, 10**_SHARE_DIGITS)
    return f"{whole}.{frac:0{_SHARE_DIGITS}d}".rstrip("0").rstrip(".")
