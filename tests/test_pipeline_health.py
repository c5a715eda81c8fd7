"""Pipeline health: win rate, average won size, sales cycle, open pipeline and coverage."""

from __future__ import annotations

import math

import pandas as pd

from attain.measures.pipeline_health import pipeline_health
from attain.measures.targets import months_needed, targets_in_force
from tests.measures_builders import SETTINGS, deals, fx, reps, targets

M = "2025-03"


def _health(d, r, t=None, f=None):
    tif = targets_in_force(targets() if t is None else t, r, months_needed(M), SETTINGS).in_force
    return pipeline_health(d, tif, r, f, M, SETTINGS)


def _row(table, scope, scope_id, currency="USD"):
    row = table[table["scope"].eq(scope) & table["scope_id"].eq(scope_id) & table["currency"].eq(currency)]
    assert len(row) == 1, row
    return row.iloc[0]


def test_a_lost_deal_lowers_the_win_rate_and_other_figures_are_hand_computed():
    r = reps({"rep_id": "a"}, {"rep_id": "b"})
    d = deals(
        {
            "deal_id": "w1",
            "owner_id": "a",
            "amount_minor": 1000,
            "created_date": "2025-02-01",
            "close_date": "2025-03-03",
        },
        {
            "deal_id": "w2",
            "owner_id": "a",
            "amount_minor": 2001,
            "created_date": "2025-03-01",
            "close_date": "2025-03-11",
        },
        {"deal_id": "w3", "owner_id": "a", "amount_minor": 10, "close_date": "2025-03-12"},  # no created date: no cycle
        {"deal_id": "l1", "owner_id": "a", "stage": "lost", "close_date": "2025-03-20"},
        {"deal_id": "old", "owner_id": "a", "stage": "lost", "close_date": "2025-02-20"},  # not closed in M
        {"deal_id": "o1", "owner_id": "b", "stage": "open", "amount_minor": 5000},
        {"deal_id": "o2", "owner_id": "b", "stage": "open", "amount_minor": 1000, "currency": "EUR"},
    )
    t = targets(("rep", "b", "2025-04", "revenue", "100", "2025-01-01"))
    table = _health(d, r, t, fx((M, "EUR", "1.5")))
    a = _row(table, "rep", "a")
    assert (a.won_count, a.lost_count, a.win_rate) == (3, 1, 0.75)
    assert a.avg_won_minor == 1004  # 3011 / 3 = 1003.67 -> 1004
    assert a.median_cycle_days == 20.0  # 28 and 10 days
    b = _row(table, "rep", "b")
    assert (b.open_count, b.open_pipeline_minor, b.next_month_target_minor) == (2, 6500, 10000)
    assert b.coverage == 0.65 and math.isnan(b.win_rate) and pd.isna(b.avg_won_minor)
    company = _row(table, "company", "company")
    assert (company.won_count, company.lost_count, company.open_pipeline_minor, company.next_month_target_minor) == (
        3,
        1,
        6500,
        10000,
    )
    assert company.median_cycle_days == 20.0


def test_roll_ups_recompute_ratios_from_summed_counts():
    r = reps({"rep_id": "a", "team": "A"}, {"rep_id": "b", "team": "B"})
    d = deals(
        {"deal_id": "w", "owner_id": "a", "amount_minor": 100, "close_date": "2025-03-03"},
        {"deal_id": "l", "owner_id": "b", "stage": "lost", "close_date": "2025-03-03"},
    )
    table = _health(d, r)
    assert _row(table, "team", "A").win_rate == 1.0 and _row(table, "team", "B").win_rate == 0.0
    assert _row(table, "region", "R1").win_rate == 0.5
    assert _row(table, "rep", "b").won_count == 0
