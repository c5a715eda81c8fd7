"""Each rep's customers by ABC segment: how many accounts, what share of revenue, how satisfied.

``account_segments`` (``attain.measures.satisfaction``) ranks each rep's accounts by the revenue credited to
the rep over the 12 months ending M and labels them A (the accounts making up the first 80% of it), B (the
next 15%) and C (the rest). ``segment_summary`` sums that per segment and scores the satisfaction of each
segment's customers from the survey responses of the same 12 months, with the rules of the rep's own scores
(``settings.min_responses``: below it a score is withheld), so a manager sees whether the accounts that
matter most are the satisfied ones (docs/measures.md, "Segment summary").
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from attain import periods
from attain.measures.satisfaction import _scored, _scores, attribute_surveys
from attain.settings import Settings

SEGMENTS: tuple[str, ...] = ("A", "B", "C")
SEGMENT_SUMMARY_COLUMNS = [
    "month",
    "rep_id",
    "currency",
    "segment",
    "accounts",
    "revenue_minor",
    "share",
    "responses",
    "csat_responses",
    "csat_pct",
    "enough",
]


def segment_summary(
    segments: pd.DataFrame, surveys: pd.DataFrame, deals: pd.DataFrame, month: str, settings: Settings
) -> pd.DataFrame:
    """Per rep, plan currency and segment (A, B and C, each listed even when empty): ``accounts`` (count),
    ``revenue_minor`` (sum, exact), ``share`` (of the rep's revenue in that currency; a float for display),
    and the segment's survey figures: ``responses``, ``csat_responses``, ``csat_pct`` (NaN below
    ``settings.min_responses`` CSAT responses) and ``enough``.

    A response counts for the rep it is attributed to (``attribute_surveys``) and for the segment of its
    account among that rep's accounts: the survey's ``account``, or the account of its deal. Responses of
    the 12 months ending ``month`` count, the window the segments are measured on; a response about an
    account the rep has no credited revenue from in that window belongs to no segment and is left out.
    """
    if segments.empty:
        return pd.DataFrame(columns=SEGMENT_SUMMARY_COLUMNS)
    keys = ["rep_id", "currency", "segment"]
    sums = segments.groupby(keys, sort=False).agg(accounts=("account", "size"), revenue_minor=("revenue_minor", "sum"))
    reps = segments[["rep_id", "currency"]].drop_duplicates()
    grid = reps.merge(pd.DataFrame({"segment": SEGMENTS}), how="cross")
    table = grid.merge(sums.reset_index(), on=keys, how="left")
    table[["accounts", "revenue_minor"]] = table[["accounts", "revenue_minor"]].fillna(0).astype(np.int64)
    total = table.groupby(["rep_id", "currency"], sort=False)["revenue_minor"].transform("sum").to_numpy(np.int64)
    table["share"] = np.divide(
        table["revenue_minor"].to_numpy(float), total.astype(float), out=np.full(len(table), np.nan), where=total > 0
    )
    scores = _segment_scores(segments, surveys, deals, month, settings)
    table = table.merge(scores, on=keys, how="left")
    for column in ("responses", "csat_responses"):
        table[column] = pd.to_numeric(table[column]).fillna(0).astype(np.int64)
    table["csat_pct"] = pd.to_numeric(table["csat_pct"]).astype(float)
    table["enough"] = table["csat_pct"].notna()
    table = table.assign(month=month).sort_values(keys, kind="stable")
    return table[SEGMENT_SUMMARY_COLUMNS].reset_index(drop=True)


def _segment_scores(
    segments: pd.DataFrame, surveys: pd.DataFrame, deals: pd.DataFrame, month: str, settings: Settings
) -> pd.DataFrame:
    """``responses``, ``csat_responses`` and ``csat_pct`` per rep, currency and segment."""
    columns = ["rep_id", "currency", "segment", "responses", "csat_responses", "csat_pct"]
    if surveys is None or surveys.empty:
        return pd.DataFrame(columns=columns)
    scored = _scored(attribute_surveys(surveys, deals), settings)
    scored = scored[scored["rep_id"].ne("") & scored["response_month"].isin(periods.trailing(month, 12))]
    account_of_deal = deals.drop_duplicates("deal_id").set_index("deal_id")["account"]
    own = scored["account"].fillna("").astype(str)
    scored = scored.assign(account=own.where(own.ne(""), scored["deal_id"].map(account_of_deal)))
    joined = scored.merge(segments[["rep_id", "account", "currency", "segment"]], on=["rep_id", "account"])
    if joined.empty:
        return pd.DataFrame(columns=columns)
    return _scores(joined, ["rep_id", "currency", "segment"], settings)[columns]
