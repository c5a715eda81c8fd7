"""Targets in force: adjustments with history, proration, team targets and warnings."""

from __future__ import annotations

import pandas as pd
import pytest

from attain.measures.targets import months_needed, reps_without_targets, targets_in_force
from tests.measures_builders import SETTINGS, reps, targets

M = "2025-03"


def _rep_target(tif, rep_id, month=M, metric="revenue"):
    rows = tif.in_force
    row = rows[
        rows["scope"].eq("rep") & rows["scope_id"].eq(rep_id) & rows["month"].eq(month) & rows["metric"].eq(metric)
    ]
    assert len(row) == 1
    return row.iloc[0]


def test_mid_month_hire_prorated_by_days_to_the_cent():
    # hired 16 March: employed 16 of 31 days; 3,100.00 x 16/31 = 1,600.00
    # 1,000.01 x 16/31 = 516.1341... -> 516.13
    r = reps({"rep_id": "r1", "hire_date": "2025-03-16"}, {"rep_id": "r2", "hire_date": "2025-03-16"})
    t = targets(
        ("rep", "r1", M, "revenue", "3100.00", "2025-01-01"), ("rep", "r2", M, "revenue", "1000.01", "2025-01-01")
    )
    tif = targets_in_force(t, r, [M], SETTINGS)
    one = _rep_target(tif, "r1")
    assert (one.target, one.full_target, one.employed_days, one.days_in_month) == (160000, 310000, 16, 31)
    assert _rep_target(tif, "r2").target == 51613


def test_leaver_and_counts_prorated_half_up():
    # left 10 Feb 2025 (28 days): 10 deals x 10/28 = 3.57 -> 4
    r = reps({"rep_id": "r1", "leave_date": "2025-02-10"})
    tif = targets_in_force(targets(("rep", "r1", "2025-02", "won_deals", "10", "2025-01-01")), r, ["2025-02"], SETTINGS)
    assert _rep_target(tif, "r1", "2025-02", "won_deals").target == 4


def test_whole_months_rule_uses_employment_on_the_15th():
    r = reps({"rep_id": "on15", "hire_date": "2025-03-15"}, {"rep_id": "on16", "hire_date": "2025-03-16"})
    t = targets(("rep", "on15", M, "revenue", "100", "2025-01-01"), ("rep", "on16", M, "revenue", "100", "2025-01-01"))
    tif = targets_in_force(t, r, [M], SETTINGS, proration={"on15": "whole_months", "on16": "whole_months"})
    assert _rep_target(tif, "on15").target == 10000
    assert _rep_target(tif, "on16").target == 0
    with pytest.raises(ValueError, match="proration rule"):
        targets_in_force(t, r, [M], SETTINGS, proration={"on15": "weeks"})


def test_adjustment_in_force_at_month_end_is_measured_and_history_kept():
    t = targets(
        ("rep", "r1", M, "revenue", "1000", "2025-01-01", "initial", "ana"),
        ("rep", "r1", M, "revenue", "1200", "2025-03-20", "territory change", "bo"),
        ("rep", "r1", M, "revenue", "9999", "2025-04-01", "too late", "cy"),
    )
    tif = targets_in_force(t, reps({"rep_id": "r1"}), [M], SETTINGS)
    row = _rep_target(tif, "r1")
    assert (row.target, row.reason, row.author) == (120000, "territory change", "bo")
    hist = tif.history.sort_values("effective_date")
    assert hist["in_force"].tolist() == [False, True, False]
    assert hist["reason"].tolist() == ["initial", "territory change", "too late"]


def test_team_target_set_explicitly_disagreeing_with_members_warns():
    r = reps({"rep_id": "a", "team": "T"}, {"rep_id": "b", "team": "T"}, {"rep_id": "c", "team": "U"})
    t = targets(
        ("rep", "a", M, "revenue", "1000", "2025-01-01"),
        ("rep", "b", M, "revenue", "2000.50", "2025-01-01"),
        ("rep", "c", M, "revenue", "700", "2025-01-01"),
        ("team", "T", M, "revenue", "3500", "2025-01-01"),
    )
    tif = targets_in_force(t, r, [M], SETTINGS)
    teams = tif.in_force[tif.in_force["scope"].eq("team")].set_index("scope_id")
    assert teams.loc["T", "target"] == 350000 and teams.loc["T", "source"] == "set"
    assert teams.loc["U", "target"] == 70000 and teams.loc["U", "source"] == "members_sum"
    assert tif.warnings.to_dict("records") == [
        {
            "team": "T",
            "month": M,
            "metric": "revenue",
            "currency": "USD",
            "set_amount": 350000,
            "members_sum": 300050,
            "difference": 49950,
        }
    ]


def test_team_target_agreeing_with_members_gives_no_warning():
    r = reps({"rep_id": "a", "team": "T"})
    t = targets(("rep", "a", M, "won_deals", "3", "2025-01-01"), ("team", "T", M, "won_deals", "3", "2025-01-01"))
    assert targets_in_force(t, r, [M], SETTINGS).warnings.empty


def test_explicit_no_target_counts_as_covered_and_missing_reps_are_listed():
    r = reps({"rep_id": "a"}, {"rep_id": "b"}, {"rep_id": "c"}, {"rep_id": "gone", "leave_date": "2025-02-28"})
    t = targets(("rep", "a", M, "revenue", "10", "2025-01-01"), ("rep", "b", M, "revenue", "", "2025-01-01"))
    tif = targets_in_force(t, r, [M], SETTINGS)
    assert _rep_target(tif, "b").target is pd.NA
    assert reps_without_targets(r, tif.in_force, M)["rep_id"].tolist() == ["c"]


def test_bad_amount_is_refused_naming_the_target():
    t = targets(("rep", "a", M, "won_deals", "2.5", "2025-01-01"))
    with pytest.raises(ValueError, match=r"'2.5' for rep a, 2025-03, won_deals.*whole count"):
        targets_in_force(t, reps({"rep_id": "a"}), [M], SETTINGS)


def test_months_needed_covers_trend_and_next_month():
    months = months_needed(M)
    assert months[0] == "2024-04" and months[-2:] == [M, "2025-04"] and len(months) == 13


def test_validated_target_and_currency_columns_are_used_as_given():
    t = targets(("rep", "a", M, "revenue", "ignored", "2025-01-01"), ("rep", "b", M, "revenue", "", "2025-01-01"))
    t["target"] = pd.array([12345, None], dtype="Int64")
    t["currency"] = ["JPY", "USD"]
    tif = targets_in_force(t, reps({"rep_id": "a"}, {"rep_id": "b"}), [M], SETTINGS)
    a = _rep_target(tif, "a")
    assert (a.target, a.currency) == (12345, "JPY")
    assert _rep_target(tif, "b").target is pd.NA
