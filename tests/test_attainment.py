"""Attainment: periods, metrics, roll-ups through the hierarchy of the month, ranks."""

from __future__ import annotations

import pandas as pd
from hypothesis import Phase, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from attain.measures.attainment import attainment, attainment_trend
from attain.measures.credit import credited_deals
from attain.measures.targets import months_needed, targets_in_force
from attain.settings import Settings
from tests.measures_builders import SETTINGS, deals, reps, splits, targets


def _run(d, r, t, month, s=None, settings=SETTINGS):
    credited = credited_deals(d, s, r, None, month, settings)
    tif = targets_in_force(t, r, months_needed(month), settings).in_force
    return attainment(credited, d, tif, r, month, settings)


def _pick(table, scope, scope_id, metric="revenue", period="month"):
    row = table[
        table["scope"].eq(scope)
        & table["scope_id"].eq(scope_id)
        & table["metric"].eq(metric)
        & table["period"].eq(period)
    ]
    assert len(row) == 1, row
    return row.iloc[0]


def test_qtd_and_ytd_divide_summed_actual_by_summed_target():
    r = reps({"rep_id": "r1"})
    d = deals(
        {"deal_id": "a", "amount_minor": 10000, "close_date": "2025-01-15"},
        {"deal_id": "b", "amount_minor": 5000, "close_date": "2025-03-01"},
    )
    t = targets(
        ("rep", "r1", "2025-01", "revenue", "100", "2024-12-01"),
        ("rep", "r1", "2025-02", "revenue", "300", "2024-12-01"),
        ("rep", "r1", "2025-03", "revenue", "100", "2024-12-01"),
        ("rep", "r1", "2024-12", "revenue", "1", "2024-12-01"),
    )
    table = _run(d, r, t, "2025-03")
    qtd = _pick(table, "rep", "r1", period="qtd")
    # (100 + 0 + 50) / (100 + 300 + 100) = 0.30, not the mean of monthly ratios (0.5)
    assert (qtd.actual, qtd.target, qtd.attainment) == (15000, 50000, 0.3)
    month = _pick(table, "rep", "r1")
    assert (month.actual, month.target, month.attainment) == (5000, 10000, 0.5)
    assert _pick(table, "rep", "r1", period="ytd").target == 50000  # December is the previous year


def test_fiscal_year_start_shapes_qtd_and_ytd():
    r = reps({"rep_id": "r1"})
    d = deals(
        {"deal_id": "a", "amount_minor": 100, "close_date": "2025-03-10"},
        {"deal_id": "b", "amount_minor": 200, "close_date": "2025-04-10"},
        {"deal_id": "c", "amount_minor": 400, "close_date": "2025-05-10"},
    )
    table = _run(d, r, targets(), "2025-05", settings=Settings(fiscal_year_start=4))
    assert _pick(table, "rep", "r1", period="qtd").actual == 600  # Apr-May
    assert _pick(table, "rep", "r1", period="ytd").actual == 600  # FY starts in April: March excluded
    assert pd.isna(_pick(table, "rep", "r1", period="ytd").target)


def test_split_credit_counts_revenue_by_share_and_the_deal_once_per_scope():
    r = reps({"rep_id": "a"}, {"rep_id": "b"}, {"rep_id": "c", "team": "U"})
    d = deals({"deal_id": "d1", "owner_id": "a", "amount_minor": 10001, "close_date": "2025-03-05"})
    s = splits(("d1", "a", "50", "split"), ("d1", "b", "30", "split"), ("d1", "c", "20", "split"))
    table = _run(d, r, targets(), "2025-03", s)
    # 5000.5 -> 5001, 3000.3 -> 3000, 2000.2 -> 2000
    assert [_pick(table, "rep", x).actual for x in "abc"] == [5001, 3000, 2000]
    assert _pick(table, "team", "T1").actual == 8001
    assert _pick(table, "company", "company").actual == 10001
    assert [_pick(table, "rep", x, "won_deals").actual for x in "abc"] == [1, 1, 1]
    assert _pick(table, "team", "T1", "won_deals").actual == 1
    assert _pick(table, "company", "company", "won_deals").actual == 1


def test_overlay_counts_for_the_overlay_rep_but_not_in_roll_ups():
    r = reps({"rep_id": "a"}, {"rep_id": "spec", "team": "Specialists"})
    d = deals({"deal_id": "d1", "owner_id": "a", "amount_minor": 1000, "close_date": "2025-03-05"})
    table = _run(d, r, targets(), "2025-03", splits(("d1", "spec", "100", "overlay")))
    assert _pick(table, "rep", "a").actual == 1000 and _pick(table, "rep", "spec").actual == 1000
    assert _pick(table, "team", "Specialists").actual == 0
    assert _pick(table, "region", "R1").actual == 1000
    assert _pick(table, "company", "company").actual == 1000
    assert _pick(table, "company", "company", "won_deals").actual == 1


def test_roll_ups_use_the_hierarchy_of_each_month():
    # r1 moves from team A to team B in March; February's deal stays with A
    r = reps(
        {"rep_id": "boss"},
        {"rep_id": "r1", "team": "A", "manager_id": "boss"},
        {"rep_id": "r1", "team": "B", "manager_id": "boss", "valid_from": "2025-03"},
    )
    d = deals(
        {"deal_id": "feb", "owner_id": "r1", "amount_minor": 100, "close_date": "2025-02-10"},
        {"deal_id": "mar", "owner_id": "r1", "amount_minor": 10, "close_date": "2025-03-10"},
    )
    table = _run(d, r, targets(), "2025-03")
    assert _pick(table, "team", "A", period="qtd").actual == 100
    assert _pick(table, "team", "B", period="qtd").actual == 10
    assert _pick(table, "team", "B").actual == 10
    assert _pick(table, "manager", "boss", period="qtd").actual == 110
    trend = attainment_trend(
        credited_deals(d, None, r, None, "2025-03", SETTINGS),
        d,
        targets_in_force(targets(), r, months_needed("2025-03"), SETTINGS).in_force,
        r,
        "2025-03",
        SETTINGS,
    )
    feb = trend[trend["trend_month"].eq("2025-02") & trend["scope"].eq("team") & trend["metric"].eq("revenue")]
    assert feb.set_index("scope_id")["actual"].to_dict() == {"A": 100, "T1": 0}  # T1: the boss's own team
    assert set(trend["period"]) == {"month"} and trend["trend_month"].nunique() == 12


def test_new_accounts_count_first_ever_won_deal_for_its_owner():
    r = reps({"rep_id": "a"}, {"rep_id": "b"})
    d = deals(
        {"deal_id": "old", "owner_id": "a", "account": "Old", "amount_minor": 1, "close_date": "2023-01-10"},
        {"deal_id": "again", "owner_id": "b", "account": "Old", "amount_minor": 1, "close_date": "2025-03-10"},
        {"deal_id": "n1", "owner_id": "b", "account": "New", "amount_minor": 1, "close_date": "2025-03-02"},
        {"deal_id": "n2", "owner_id": "a", "account": "New", "amount_minor": 1, "close_date": "2025-03-20"},
        {"deal_id": "l", "owner_id": "a", "account": "Lost", "stage": "lost", "close_date": "2025-03-20"},
    )
    s = splits(("n1", "a", "50", "split"), ("n1", "b", "50", "split"))
    table = _run(d, r, targets(("rep", "b", "2025-03", "new_accounts", "2", "2025-01-01")), "2025-03", s)
    b = _pick(table, "rep", "b", "new_accounts")
    assert (b.actual, b.target, b.attainment) == (1, 2, 0.5)
    assert _pick(table, "rep", "a", "new_accounts").actual == 0
    assert _pick(table, "company", "company", "new_accounts").actual == 1


def test_rank_and_quartile_within_team_and_company():
    r = reps(*[{"rep_id": f"r{i}", "team": "A" if i < 3 else "B"} for i in range(5)])
    amounts = [300, 100, 200, 200, 50]
    d = deals(
        *[
            {"deal_id": f"d{i}", "owner_id": f"r{i}", "amount_minor": a, "close_date": "2025-03-05"}
            for i, a in enumerate(amounts)
        ]
    )
    t = targets(*[("rep", f"r{i}", "2025-03", "revenue", "1", "2025-01-01") for i in range(4)])  # r4 has no target
    table = _run(d, r, t, "2025-03")
    rep = table[table["scope"].eq("rep") & table["metric"].eq("revenue") & table["period"].eq("month")].set_index(
        "scope_id"
    )
    assert rep["rank_company"].tolist()[:4] == [1, 4, 2, 2]
    assert rep["quartile_company"].tolist()[:4] == [1, 4, 2, 2]
    assert rep["rank_team"].tolist()[:4] == [1, 3, 2, 1]
    assert pd.isna(rep.loc["r4", "rank_company"]) and pd.isna(rep.loc["r4", "attainment"])
    assert table.loc[table["scope"].ne("rep"), "rank_company"].isna().all()


@hsettings(max_examples=15, deadline=None, phases=(Phase.explicit, Phase.reuse, Phase.generate))
@given(
    layout=st.lists(st.tuples(st.sampled_from("ABC"), st.sampled_from("XY")), min_size=1, max_size=6),
    sales=st.lists(
        st.tuples(st.integers(0, 5), st.integers(0, 10**9), st.integers(1, 31), st.booleans(), st.integers(0, 5)),
        min_size=1,
        max_size=12,
    ),
    quotas=st.lists(st.integers(0, 10**8), min_size=6, max_size=6),
)
def test_roll_ups_equal_the_sum_of_their_parts(layout, sales, quotas):
    r = reps(
        *[
            {"rep_id": f"r{i}", "team": team, "region": region, "manager_id": "" if i == 0 else "r0"}
            for i, (team, region) in enumerate(layout)
        ]
    )
    n = len(layout)
    d = deals(
        *[
            {
                "deal_id": f"d{j}",
                "owner_id": f"r{o % n}",
                "amount_minor": amt,
                "close_date": f"2025-03-{min(day, 31):02d}",
            }
            for j, (o, amt, day, _, _) in enumerate(sales)
        ]
    )
    s = splits(*[(f"d{j}", f"r{ov % n}", "50", "overlay") for j, (_, _, _, has, ov) in enumerate(sales) if has])
    t = targets(*[("rep", f"r{i}", "2025-03", "revenue", str(q), "2025-01-01") for i, q in enumerate(quotas[:n])])
    table = _run(d, r, t, "2025-03", s)
    month = table[table["period"].eq("month") & table["metric"].eq("revenue")]
    reps_rows = month[month["scope"].eq("rep")]
    overlay = int(sum(amt // 2 + (amt % 2) for (_, amt, _, has, _) in sales if has))
    company = month[month["scope"].eq("company")].iloc[0]
    assert int(company["actual"]) == int(reps_rows["actual"].sum()) - overlay == sum(a for _, a, _, _, _ in sales)
    for scope in ("team", "region"):
        assert int(month.loc[month["scope"].eq(scope), "actual"].sum()) == int(company["actual"])
    if n > 1:  # r0 manages everyone else: its subtree is the company
        assert int(month.loc[month["scope"].eq("manager"), "actual"].sum()) == int(company["actual"])
    assert int(company["target"]) == int(reps_rows["target"].sum()) == sum(quotas[:n]) * 100
    team_targets = month.loc[month["scope"].eq("team"), "target"]
    assert int(team_targets.sum()) == int(company["target"])
    won = table[table["period"].eq("month") & table["metric"].eq("won_deals") & table["scope"].eq("company")].iloc[0]
    assert won["actual"] == len(sales)
