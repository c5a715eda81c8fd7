"""Satisfaction: CSAT, NPS, minimum responses, attribution, scales, trend; ABC segments."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from attain.measures.credit import credited_deals
from attain.measures.satisfaction import account_segments, attribute_surveys, satisfaction, satisfaction_trend
from attain.settings import Settings
from tests.measures_builders import SETTINGS, deals, reps, surveys

M = "2025-03"
R = reps({"rep_id": "a"}, {"rep_id": "b"})
D = deals(
    {"deal_id": "d1", "owner_id": "a", "account": "Acme", "close_date": "2025-01-10"},
    {"deal_id": "d2", "owner_id": "b", "account": "Acme", "close_date": "2025-03-10"},
)


def _rep(table, rep_id, window="month"):
    return table[table["rep_id"].eq(rep_id) & table["window"].eq(window)].iloc[0]


def test_csat_nps_and_counts_hand_computed():
    s = surveys(
        *[(f"c{i}", "d1", "", "2025-03-05", score, "csat_1_5") for i, score in enumerate([5, 4, 3, 2, 5])],
        *[(f"n{i}", "d1", "", "2025-03-06", score, "nps_0_10") for i, score in enumerate([10, 9, 8, 6, 0, 7])],
    )
    a = _rep(satisfaction(s, D, R, M, SETTINGS), "a")
    assert (a.responses, a.csat_responses, a.nps_responses, a.enough) == (11, 5, 6, True)
    assert a.csat_pct == 60.0 and a.csat_mean == pytest.approx(3.8)
    assert a.nps == pytest.approx(0.0)  # 2 promoters - 2 detractors of 6


def test_below_minimum_responses_is_not_a_number():
    s = surveys(*[(f"c{i}", "d1", "", "2025-03-05", 5, "csat_1_5") for i in range(4)])
    table = satisfaction(s, D, R, M, SETTINGS)
    a = _rep(table, "a")
    assert (a.responses, a.enough) == (4, False) and math.isnan(a.csat_pct) and math.isnan(a.csat_mean)
    assert _rep(satisfaction(s, D, R, M, Settings(min_responses=4)), "a").csat_pct == 100.0
    b = _rep(table, "b")
    assert (b.responses, b.enough) == (0, False)


def test_account_only_response_goes_to_owner_of_latest_won_deal_before_it():
    s = surveys(
        ("x", "", "Acme", "2025-02-01", 5, "csat_1_5"),
        ("y", "", "Acme", "2025-03-10", 5, "csat_1_5"),
        ("z", "", "Nobody", "2025-03-10", 5, "csat_1_5"),
    )
    got = attribute_surveys(s, D).set_index("response_id")["rep_id"].to_dict()
    assert got == {"x": "a", "y": "b", "z": ""}


def test_declared_scale_is_converted_and_undeclared_refused():
    s = surveys(("x", "d1", "", "2025-03-05", 10, "1-10"), ("y", "d1", "", "2025-03-05", 7, "1-10"))
    with pytest.raises(ValueError, match=r"scale \['1-10'\] is not declared.*survey_scales"):
        satisfaction(s, D, R, M, SETTINGS)
    a = _rep(satisfaction(s, D, R, M, Settings(min_responses=2, survey_scales={"1-10": (1, 10)})), "a")
    # 10 -> 5.0, 7 -> 1 + 4 x 6/9 = 3.667: one of two satisfied
    assert a.csat_pct == 50.0 and a.csat_mean == pytest.approx((5 + 1 + 24 / 9) / 2)


def test_trailing_window_and_trend():
    s = surveys(
        ("old", "d1", "", "2024-04-01", 5, "csat_1_5"),
        ("older", "d1", "", "2024-03-31", 1, "csat_1_5"),
        ("now", "d1", "", "2025-03-01", 4, "csat_1_5"),
    )
    one = Settings(min_responses=1)
    table = satisfaction(s, D, R, M, one)
    assert _rep(table, "a", "trailing_12").responses == 2 and _rep(table, "a").responses == 1
    trend = satisfaction_trend(s, D, R, M, one)
    a = trend[trend["rep_id"].eq("a")].set_index("trend_month")
    assert len(a) == 12 and a.loc["2024-04", "csat_mean"] == 5.0 and a.loc["2024-05", "responses"] == 0


def test_abc_segments_by_revenue_share_with_the_crossing_account_in_a():
    r = reps({"rep_id": "r1"})
    amounts = {"P": 5000, "Q": 2500, "R": 1000, "S": 800, "T": 500, "U": 200, "Z": 0}
    d = deals(
        *[{"deal_id": k, "account": k, "amount_minor": v, "close_date": "2025-03-02"} for k, v in amounts.items()]
    )
    seg = account_segments(credited_deals(d, None, r, None, M, SETTINGS), M, SETTINGS).set_index("account")
    # cumulative before: P 0%, Q 50%, R 75% (crosses 80%: A), S 85% (B), T 93% (B), U 98% (C)
    assert seg["segment"].to_dict() == {"P": "A", "Q": "A", "R": "A", "S": "B", "T": "B", "U": "C", "Z": "C"}
    assert seg.loc["P", "share"] == 0.5 and seg.loc["P", "revenue_minor"] == 5000


def test_empty_surveys_give_zero_rows_for_active_reps():
    table = satisfaction(surveys(), D, R, M, SETTINGS)
    assert len(table) == 4 and (table["responses"] == 0).all() and not table["enough"].any()
    assert set(pd.unique(table["window"])) == {"month", "trailing_12"}


def test_absent_surveys_file_gives_zero_rows():
    table = satisfaction(pd.DataFrame(), D, R, M, SETTINGS)
    assert len(table) == 4 and (table["responses"] == 0).all()
