"""Customer satisfaction per rep, and ABC segmentation of each rep's accounts.

Attribution: a response tied to a deal counts for the deal's owner; a response tied
to an account only counts for the owner of that account's latest won deal closed on or
before the response date. A response that cannot be attributed gets ``rep_id = ""``
(see :func:`attribute_surveys`) and is left out of every rep's figures.

Scales: ``csat_1_5`` is CSAT, ``nps_0_10`` is NPS. Any other scale must be declared in
``settings.survey_scales`` (``{"1-10": (1, 10)}``) and is converted linearly onto 1-5
(``1 + 4 x (score - low) / (high - low)``) and counted as CSAT; an undeclared scale
is refused with a ValueError naming the responses and how to declare it.

Figures, per rep and window (``month`` = M, ``trailing_12`` = the 12 months ending M):
- ``csat_pct``: % of CSAT responses scoring 4 or more (after conversion), ``csat_mean``
  their mean; ``nps``: % promoters (9-10) minus % detractors (0-6) of NPS responses.
- ``responses`` counts both kinds; ``enough`` = responses >= ``settings.min_responses``.
  A score is NaN ("not enough responses") when its own response count is below the
  minimum, so it can never be shown as a number by mistake.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from attain import periods
from attain.periods import month_keys
from attain.roster import active_in_month, roster_by_month
from attain.settings import Settings, how_to_set

SATISFACTION_COLUMNS = [
    "month",
    "rep_id",
    "responses",
    "csat_responses",
    "csat_pct",
    "csat_mean",
    "nps_responses",
    "nps",
    "enough",
    "window",
]
SEGMENT_COLUMNS = ["month", "rep_id", "account", "revenue_minor", "currency", "share", "segment"]
BUILT_IN_SCALES = {"csat_1_5": (1, 5), "nps_0_10": (0, 10)}
#: Cumulative revenue share (percent) before which an account is A, then B; the rest are C.
SEGMENT_BOUNDS = (80, 95)


_NO_SURVEYS = pd.DataFrame(
    {
        "response_id": pd.Series(dtype=object),
        "deal_id": pd.Series(dtype=object),
        "account": pd.Series(dtype=object),
        "response_date": pd.Series(dtype="datetime64[ns]"),
        "score": pd.Series(dtype=np.int64),
        "scale": pd.Series(dtype=object),
    }
)


def attribute_surveys(surveys: pd.DataFrame, deals: pd.DataFrame) -> pd.DataFrame:
    """``surveys`` plus ``rep_id`` (``""`` when no rep can be found) and ``response_month``."""
    out = surveys.copy() if len(surveys.columns) else _NO_SURVEYS.copy()
    deal_id = out["deal_id"].fillna("")
    surveyed = deals.loc[deals["deal_id"].isin(deal_id), ["deal_id", "owner_id"]]
    at = pd.Index(surveyed["deal_id"]).get_indexer(deal_id)  # validated deal ids are unique
    out["rep_id"] = np.append(surveyed["owner_id"].to_numpy(dtype=object), [None])[at]  # -1 (no deal) -> None
    by_account = deal_id.eq("") & out["response_date"].notna()
    if by_account.any():
        won = deals.loc[
            deals["stage"].eq("won") & deals["close_date"].notna(), ["account", "close_date", "deal_id", "owner_id"]
        ]
        won = won.sort_values(["close_date", "deal_id"], kind="stable")
        asked = (
            out.loc[by_account, ["account", "response_date"]].reset_index().sort_values("response_date", kind="stable")
        )
        found = pd.merge_asof(
            asked,
            won[["account", "close_date", "owner_id"]],
            left_on="response_date",
            right_on="close_date",
            by="account",
            direction="backward",
        )
        out.loc[found["index"].to_numpy(), "rep_id"] = found["owner_id"].to_numpy()
    out["rep_id"] = out["rep_id"].fillna("").astype(str)
    out["response_month"] = month_keys(out["response_date"])
    return out


def _scored(surveys: pd.DataFrame, settings: Settings) -> pd.DataFrame:
    """Add ``csat`` (1-5, NaN if not CSAT) and ``nps_score`` (0-10, NaN if not NPS)."""
    scale = surveys["scale"].fillna("")
    scales = {**{k: tuple(v) for k, v in settings.survey_scales.items()}, **BUILT_IN_SCALES}
    unknown = surveys.loc[~scale.isin(list(scales)), "response_id"]
    if len(unknown):
        names = sorted(set(scale[~scale.isin(list(scales))]))
        raise ValueError(
            f"surveys: scale {names} is not declared (responses {list(unknown.astype(str))[:5]}); "
            "use csat_1_5 or nps_0_10, or declare the scale with its lowest and highest score, for example "
            f"{how_to_set('survey_scales', {names[0]: (1, 10)})} for scores 1 to 10, so it is converted to 1-5"
        )
    low = scale.map({name: bounds[0] for name, bounds in scales.items()}).astype(float)
    high = scale.map({name: bounds[1] for name, bounds in scales.items()}).astype(float)
    score = pd.to_numeric(surveys["score"], errors="coerce").astype(float)
    bad = score.isna() | (score < low) | (score > high)
    if bad.any():
        listed = list(surveys.loc[bad, "response_id"].astype(str))[:5]
        raise ValueError(f"surveys: responses {listed} have a score outside their scale; correct score or scale")
    is_nps = scale.eq("nps_0_10")
    csat = 1 + 4 * (score - low) / (high - low)
    return surveys.assign(csat=csat.where(~is_nps), nps_score=score.where(is_nps))


def _scores(scored: pd.DataFrame, keys: list[str], settings: Settings) -> pd.DataFrame:
    """Counts and scores per ``keys`` (see the module docstring)."""
    facts = scored.assign(
        is_csat=scored["csat"].notna(),
        satisfied=scored["csat"] >= 4,
        is_nps=scored["nps_score"].notna(),
        promoter=scored["nps_score"] >= 9,
        detractor=scored["nps_score"] <= 6,
    )
    table = (
        facts.groupby(keys, sort=False)
        .agg(
            responses=("response_id", "size"),
            csat_responses=("is_csat", "sum"),
            satisfied=("satisfied", "sum"),
            csat_mean=("csat", "mean"),
            nps_responses=("is_nps", "sum"),
            promoters=("promoter", "sum"),
            detractors=("detractor", "sum"),
        )
        .reset_index()
    )
    minimum = settings.min_responses
    csat_n = table["csat_responses"].where(table["csat_responses"] >= max(minimum, 1))
    nps_n = table["nps_responses"].where(table["nps_responses"] >= max(minimum, 1))
    table["csat_pct"] = 100 * table["satisfied"] / csat_n
    table["csat_mean"] = table["csat_mean"].where(csat_n.notna())
    table["nps"] = 100 * (table["promoters"] - table["detractors"]) / nps_n
    table["enough"] = table["responses"] >= minimum
    return table


def _with_reps(table: pd.DataFrame, reps_frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Add zero-response rows for ``reps_frame`` rows missing from ``table``."""
    table = reps_frame.merge(table, on=keys, how="outer")
    counts = ["responses", "csat_responses", "nps_responses"]
    table[counts] = table[counts].fillna(0).astype(np.int64)
    table["enough"] = table["enough"].astype("boolean").fillna(False).astype(bool)
    return table


def satisfaction(
    surveys: pd.DataFrame, deals: pd.DataFrame, reps: pd.DataFrame, month: str, settings: Settings
) -> pd.DataFrame:
    """The ``satisfaction`` table of partition ``month``: windows ``month`` and ``trailing_12``."""
    scored = _scored(attribute_surveys(surveys, deals), settings)
    scored = scored[scored["rep_id"].ne("")]
    roster = roster_by_month(reps, [month])
    active = roster.loc[active_in_month(roster, month), ["rep_id"]]
    parts = []
    for window, months in (("month", [month]), ("trailing_12", periods.trailing(month, 12))):
        table = _scores(scored[scored["response_month"].isin(months)], ["rep_id"], settings)
        parts.append(_with_reps(table, active, ["rep_id"]).assign(window=window, month=month))
    out = pd.concat(parts, ignore_index=True).sort_values(["window", "rep_id"], kind="stable")
    return out[SATISFACTION_COLUMNS].reset_index(drop=True)


def satisfaction_trend(
    surveys: pd.DataFrame, deals: pd.DataFrame, reps: pd.DataFrame, month: str, settings: Settings
) -> pd.DataFrame:
    """``window="month"`` figures for each of the 12 months ending ``month`` (column ``trend_month``)."""
    months = periods.trailing(month, 12)
    scored = _scored(attribute_surveys(surveys, deals), settings)
    scored = scored[scored["rep_id"].ne("") & scored["response_month"].isin(months)]
    table = _scores(scored.rename(columns={"response_month": "trend_month"}), ["trend_month", "rep_id"], settings)
    roster = roster_by_month(reps, months)
    active = roster.loc[active_in_month(roster, roster["month"]), ["month", "rep_id"]].rename(
        columns={"month": "trend_month"}
    )
    out = _with_reps(table, active, ["trend_month", "rep_id"]).assign(window="month", month=month)
    return out.sort_values(["trend_month", "rep_id"], kind="stable")[
        [*SATISFACTION_COLUMNS, "trend_month"]
    ].reset_index(drop=True)


def account_segments(credited: pd.DataFrame, month: str, settings: Settings) -> pd.DataFrame:
    """ABC segments of each rep's accounts by their share of the rep's credited revenue.

    Revenue = the rep's credit (all roles) over the 12 months ending ``month``, per plan
    currency. Accounts are ordered by revenue, highest first (ties by account name).
    An account is A when the accounts ranked above it make up less than 80% of the
    rep's revenue (so the account that crosses 80% is A: A is "the accounts making up
    the first 80%"), B when they make up less than 95%, otherwise C. Accounts with no
    positive revenue are C. The comparison is exact in integers.
    """
    rows = credited[credited["credit_month"].isin(periods.trailing(month, 12))]
    revenue = rows.groupby(["rep_id", "plan_currency", "account"], sort=False)["credit_minor"].sum().reset_index()
    revenue = revenue.rename(columns={"plan_currency": "currency", "credit_minor": "revenue_minor"})
    revenue = revenue.sort_values(
        ["rep_id", "currency", "revenue_minor", "account"], ascending=[True, True, False, True], kind="stable"
    )
    grouped = revenue.groupby(["rep_id", "currency"], sort=False)["revenue_minor"]
    total = grouped.transform("sum").to_numpy(np.int64)
    before = (grouped.cumsum() - revenue["revenue_minor"]).to_numpy(np.int64)
    positive = revenue["revenue_minor"].to_numpy() > 0
    a_bound, b_bound = SEGMENT_BOUNDS
    segment = np.where(
        positive & (before * 100 < a_bound * total),
        "A",
        np.where(positive & (before * 100 < b_bound * total), "B", "C"),
    )
    revenue = revenue.assign(
        month=month,
        segment=segment,
        share=np.divide(
            revenue["revenue_minor"].to_numpy(float),
            total.astype(float),
            out=np.full(len(total), np.nan),
            where=total > 0,
        ),
    )
    return revenue[SEGMENT_COLUMNS].reset_index(drop=True)
