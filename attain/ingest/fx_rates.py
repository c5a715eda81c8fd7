"""Validation of the FX rates and of their coverage of the month's currencies."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from attain.ingest.people import _plan_currency
from attain.ingest.quarantine import _drop_problem_rows, _duplicates, _empty, _pandera, _Table
from attain.ingest.raw import InputFileError
from attain.periods import add_months, month_start
from attain.settings import how_to_set


def _validate_fx(table: _Table | None, base_currency: str) -> pd.DataFrame:
    """Validated FX rates; the base currency, when listed, must have rate 1."""
    if table is None:
        return _empty("fx_rates")
    _duplicates(table, ["month", "currency"], "month and currency")
    text = table.text
    _pandera(table, text)
    base_not_one = (text["currency"] == base_currency) & ~text["rate"].str.fullmatch(r"0*1(\.0*)?")
    rows = text[base_not_one & (text["rate"] != "")]
    table.problems.add(
        rows.index,
        "rate",
        rows["rate"],
        f"{base_currency} is the base currency, so its rate is 1 by definition; "
        f"correct the rate or the base currency ({how_to_set('base_currency')})",
    )
    return _drop_problem_rows(table, text)


def _check_fx_coverage(
    deals: pd.DataFrame,
    deals_table: _Table,
    splits: pd.DataFrame,
    splits_table: _Table | None,
    reps: pd.DataFrame,
    fx_rates: pd.DataFrame,
    fx_file_present: bool,
    month: str,
    base_currency: str,
    data_dir: Path,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Quarantine won deals whose credit needs an FX rate that fx_rates lacks.

    A won deal needs rates when it is credited in the 12 months ending ``month``
    or cancelled in ``month`` (the clawback uses its original rate): for its
    close month, its currency and the plan currency of each credited rep, unless
    they are equal or the base currency. Returns (deals, credit_splits) without
    the rejected deals and their credit rows.
    """
    first = pd.Timestamp(month_start(add_months(month, -11)))
    cancelled_now = deals["cancelled_date"] >= pd.Timestamp(month_start(month))
    needs_rate = ((deals["stage"] == "won") & ((deals["close_date"] >= first) | cancelled_now)).to_numpy()
    won = pd.DataFrame({c: deals[c].to_numpy()[needs_rate] for c in ("deal_id", "owner_id", "currency", "close_date")})
    if won.empty:
        return deals, splits
    codes, days = pd.factorize(won["close_date"])
    won = won.assign(month=days.strftime("%Y-%m").to_numpy(dtype=object)[codes])
    credited = pd.concat(
        [
            won[["deal_id", "owner_id", "currency", "month"]].rename(columns={"owner_id": "rep_id"}),
            won[["deal_id", "currency", "month"]].merge(splits[["deal_id", "rep_id"]], on="deal_id"),
        ],
        ignore_index=True,
    )
    # Rates are looked up per distinct (rep, deal currency, month): a few hundred keys, not a row per deal.
    key = np.zeros(len(credited), dtype=np.int64)
    for column in ("rep_id", "currency", "month"):
        column_codes, uniques = pd.factorize(credited[column])
        key = key * (len(uniques) + 1) + column_codes
    key_of_row, first_rows = pd.factorize(key)[0], pd.Series(np.arange(len(key))).groupby(key, sort=False).first()
    keys = credited.loc[first_rows.to_numpy(), ["rep_id", "currency", "month"]].set_axis(
        key_of_row[first_rows.to_numpy()], axis=0
    )
    keys["plan"] = _plan_currency(keys, reps)
    keys = keys[keys["plan"].notna() & (keys["plan"] != keys["currency"])]
    needs = pd.concat(
        [
            keys.assign(need=keys["currency"], why=""),
            keys.assign(
                need=keys["plan"],
                why=" (to convert to " + keys["plan"] + ", the plan currency of " + keys["rep_id"] + ")",
            ),
        ]
    )
    needs = needs[needs["need"] != base_currency]
    have = pd.MultiIndex.from_frame(fx_rates[["month", "currency"]])
    lacking = needs[~pd.MultiIndex.from_arrays([needs["month"], needs["need"]]).isin(have)]
    if lacking.empty:
        return deals, splits
    hit = credited[np.isin(key_of_row, lacking.index)].assign(key=lambda f: key_of_row[f.index])
    missing = hit[["deal_id", "key"]].merge(
        lacking[["month", "currency", "need", "why"]], left_on="key", right_index=True
    )
    missing = missing.drop_duplicates(["deal_id", "month", "need"])
    if not fx_file_present:
        currencies = ", ".join(sorted(missing["need"].unique()))
        raise InputFileError(
            data_dir / "fx_rates.csv",
            f"required file is missing: won deals need exchange rates for {currencies} "
            f"(base currency {base_currency}); add fx_rates.csv with columns month, currency, rate "
            "(see docs/input-contract.md)",
        )
    index = deals.index[deals["deal_id"].isin(missing["deal_id"])]
    by_id = pd.Series(index, index=deals.loc[index, "deal_id"].to_numpy())
    rows = by_id.loc[missing["deal_id"]].to_numpy()
    deals_table.problems.add(
        rows,
        "currency",
        missing["currency"],
        [
            f"no FX rate for {need} in {m}{why}; add it to fx_rates"
            for need, m, why in zip(missing["need"], missing["month"], missing["why"], strict=True)
        ],
    )
    rejected = pd.Index(missing["deal_id"].unique())
    deals = deals.drop(index=index)
    if splits_table is not None:
        hit = splits[splits["deal_id"].isin(rejected)]
        splits_table.problems.add(
            hit.index,
            "deal_id",
            hit["deal_id"],
            [
                f"deal_id {d} is a deal whose own row was rejected (no FX rate, see quarantine); fix that row first"
                for d in hit["deal_id"]
            ],
        )
        splits = splits.drop(index=hit.index)
    return deals, splits
