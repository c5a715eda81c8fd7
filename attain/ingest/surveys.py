"""Validation of the satisfaction surveys."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from attain.ingest.cells import _OK, _dates, _minor_units, _parse_dates
from attain.ingest.contract import _BUILTIN_SCALES
from attain.ingest.deals import _deal_ids, _skip_rows
from attain.ingest.quarantine import _drop_problem_rows, _duplicates, _empty, _pandera, _Table, _unknown
from attain.settings import Settings, how_to_set


def _validate_surveys(
    table: _Table | None, deals: pd.DataFrame, deals_table: _Table, end: pd.Timestamp, settings: Settings
) -> pd.DataFrame:
    """Validated survey responses up to the month's end, with scales checked against settings."""
    if table is None:
        return _empty("surveys")
    accepted, rejected, later = _deal_ids(deals_table, deals)
    _duplicates(table, ["response_id"], "response")
    response_date = _parse_dates(table.text["response_date"])
    _skip_rows(table, (response_date > end) | table.text["deal_id"].isin(later))
    text = table.text

    units, status = _minor_units(text["score"], 0)
    bad_score = pd.Series(~np.isin(status, (_OK,)), index=text.index)
    table.problems.add(
        text.index[bad_score],
        "score",
        text["score"][bad_score],
        [
            "score is blank; enter the response's score"
            if v == ""
            else f"score '{v}' is not a whole number; enter the score as given by the customer"
            for v in text["score"][bad_score]
        ],
    )

    scales = {**_BUILTIN_SCALES, **{k.lower(): tuple(v) for k, v in settings.survey_scales.items()}}
    low = text["scale"].map({name: bounds[0] for name, bounds in scales.items()})
    high = text["scale"].map({name: bounds[1] for name, bounds in scales.items()})
    undeclared = low.isna() & (text["scale"] != "")
    table.problems.add(
        text.index[undeclared],
        "scale",
        text["scale"][undeclared],
        [
            f"scale '{s}' is not declared; Attain does not guess scales: use csat_1_5 or nps_0_10, or declare it "
            f"with its lowest and highest score, {how_to_set('survey_scales', {s: _scale_bounds(s)})}, so it is "
            "converted linearly to 1-5"
            for s in text["scale"][undeclared]
        ],
    )
    score = pd.Series(units, index=text.index)
    outside = ~undeclared & ~bad_score & low.notna() & ((score < low) | (score > high))
    table.problems.add(
        text.index[outside],
        "score",
        text["score"][outside],
        [
            f"score {v} is outside the {s} scale ({int(lo)} to {int(hi)}); correct the score or the scale"
            for v, s, lo, hi in zip(
                text["score"][outside], text["scale"][outside], low[outside], high[outside], strict=True
            )
        ],
    )

    typed = text[["response_id", "deal_id", "account"]].copy()
    typed["response_date"] = _dates(table, "response_date")
    typed["score"] = pd.array(units, dtype="Int64")
    typed["score"] = typed["score"].mask(bad_score.to_numpy())
    typed["scale"], typed["comment"] = text["scale"], text["comment"]
    _pandera(table, typed, required_dates=("response_date",))
    _unknown(
        table, "deal_id", accepted, rejected, "deal in deals", "correct the id, or leave it blank and fill account"
    )
    return _drop_problem_rows(table, typed)


def _scale_bounds(scale: str) -> tuple[int, int]:
    """The bounds a scale name such as '1-7' or 'nps_1_10' suggests, for the example in a reason."""
    match = re.search(r"(\d+)\D+(\d+)$", scale)
    return (int(match[1]), int(match[2])) if match and int(match[1]) < int(match[2]) else (1, 10)
