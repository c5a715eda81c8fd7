"""The figures of the review packs (attain.packs.review): hand-built tables, hand-computed expectations.

``make_tables`` is a small company for October 2026 (fiscal year = calendar year): manager M1
(Chinese pack) with reps R1 (English), R2 (Chinese) and R3 (no target), plus R9 who left in
September. The render tests reuse it.
"""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
import pytest

from attain.packs.review import (
    RULES,
    ReviewError,
    ReviewTables,
    attainment_band,
    findings,
    manager_review,
    missing_packs,
    pack_list,
    rep_review,
)
from attain.roster import roster_for_month
from attain.settings import Settings

MONTH = "2026-10"
INJECTION = '<img src="file:///etc/passwd">'


def _att(scope, scope_id, metric, period, actual, target, currency="USD", ranks=(None, None, None, None)):
    ratio = actual / target if target else float("nan")
    return dict(
        month=MONTH,
        scope=scope,
        scope_id=scope_id,
        metric=metric,
        period=period,
        currency=currency if metric == "revenue" else "",
        actual=actual,
        target=target,
        attainment=ratio,
        rank_team=ranks[0],
        quartile_team=ranks[1],
        rank_company=ranks[2],
        quartile_company=ranks[3],
    )


def _pipe(scope, scope_id, won, lost, open_pipeline, next_target, avg_won=None, cycle=None):
    closed = won + lost
    return dict(
        month=MONTH,
        scope=scope,
        scope_id=scope_id,
        won_count=won,
        lost_count=lost,
        win_rate=won / closed if closed else float("nan"),
        avg_won_minor=avg_won,
        currency="USD",
        median_cycle_days=cycle,
        open_count=4,
        open_pipeline_minor=open_pipeline,
        next_month_target_minor=next_target,
        coverage=open_pipeline / next_target if next_target else float("nan"),
    )


def _sat(rep_id, window, responses, csat_pct, mean, nps, minimum=5):
    return dict(
        month=MONTH,
        rep_id=rep_id,
        responses=responses,
        csat_responses=responses,
        csat_pct=csat_pct,
        csat_mean=mean,
        nps_responses=responses,
        nps=nps,
        enough=responses >= minimum,
        window=window,
    )


def _line(rep_id, line_no, component, kind, amount, explanation, base=0, rate="", band="", deal_ids=""):
    return dict(
        month=MONTH,
        rep_id=rep_id,
        plan_id="P-2026",
        currency="USD",
        component=component,
        kind=kind,
        deal_ids=deal_ids,
        base_minor=base,
        band=band,
        rate=rate,
        amount_minor=amount,
        explanation=explanation,
        for_month=MONTH,
        line_no=line_no,
    )


def _deal(deal_id, owner, account, amount, stage, close):
    return dict(
        deal_id=deal_id,
        owner_id=owner,
        account=account,
        product="GTX Pro",
        amount_minor=amount,
        currency="USD",
        stage=stage,
        created_date=pd.Timestamp("2026-08-01"),
        close_date=pd.Timestamp(close) if close else pd.NaT,
        cancelled_date=pd.NaT,
        cancel_reason="",
        source_file="deals.csv",
        source_row=2,
    )


def make_tables(extra_won_deals: int = 0) -> ReviewTables:
    """The October 2026 company; ``extra_won_deals`` adds that many small won deals to R1 (and to
    its ledger and attainment) to make the pack run over several pages."""
    reps = pd.DataFrame(
        [
            dict(
                rep_id="M1",
                name="陈梅",
                email="mei@example.com",
                role="manager",
                manager_id="",
                team="East",
                region="APAC",
                hire_date="2020-01-01",
                leave_date=None,
                plan_id="",
                locale="zh_CN",
                currency="USD",
                valid_from=None,
            ),
            dict(
                rep_id="R1",
                name="Alice Martin",
                email="alice@example.com",
                role="rep",
                manager_id="M9",
                team="West",
                region="APAC",
                hire_date="2021-03-01",
                leave_date=None,
                plan_id="P-2026",
                locale="en",
                currency="USD",
                valid_from=None,
            ),
            # R1 moved to M1's team in September: the later roster row is in force in October.
            dict(
                rep_id="R1",
                name="Alice Martin",
                email="alice@example.com",
                role="rep",
                manager_id="M1",
                team="East",
                region="APAC",
                hire_date="2021-03-01",
                leave_date=None,
                plan_id="P-2026",
                locale="en",
                currency="USD",
                valid_from="2026-09",
            ),
            dict(
                rep_id="R2",
                name="李娜",
                email="li.na@example.com",
                role="rep",
                manager_id="M1",
                team="East",
                region="APAC",
                hire_date="2022-06-15",
                leave_date=None,
                plan_id="P-2026",
                locale="zh_CN",
                currency="USD",
                valid_from=None,
            ),
            dict(
                rep_id="R3",
                name="Bob Stone",
                email="bob@example.com",
                role="rep",
                manager_id="M1",
                team="East",
                region="APAC",
                hire_date="2026-10-20",
                leave_date=None,
                plan_id="P-2026",
                locale="en",
                currency="USD",
                valid_from=None,
            ),
            dict(
                rep_id="R9",
                name="Gone Rep",
                email="gone@example.com",
                role="rep",
                manager_id="M1",
                team="East",
                region="APAC",
                hire_date="2020-01-01",
                leave_date="2026-09-15",
                plan_id="P-2026",
                locale="en",
                currency="USD",
                valid_from=None,
            ),
        ]
    )
    extra = extra_won_deals * 10_000
    attainment = pd.DataFrame(
        [
            _att("rep", "R1", "revenue", "month", 1_120_000 + extra, 1_000_000, ranks=(1, 1, 2, 1)),
            _att("rep", "R1", "revenue", "qtd", 1_120_000 + extra, 1_000_000),
            _att("rep", "R1", "revenue", "ytd", 8_500_000 + extra, 10_000_000),
            _att("rep", "R1", "won_deals", "month", 3 + extra_won_deals, 4),
            _att("rep", "R2", "revenue", "month", 700_000, 1_000_000, ranks=(2, 2, 9, 3)),
            _att("rep", "R2", "revenue", "qtd", 700_000, 1_000_000),
            _att("rep", "R2", "revenue", "ytd", 10_500_000, 10_000_000),
            _att("rep", "R3", "revenue", "month", 0, None, ranks=(3, 4, 20, 4)),
            _att("manager", "M1", "revenue", "month", 1_820_000 + extra, 2_000_000),
            _att("manager", "M1", "revenue", "ytd", 19_000_000 + extra, 20_000_000),
        ]
    ).astype({"target": "Int64"})
    r1_trend = [0.5, 0.6, 0.7, 0.9, 1.1, 0.95, 0.8, 0.7, 0.8, 0.9, 1.0, 1.12]
    trend_months = [f"2025-{m:02d}" for m in (11, 12)] + [f"2026-{m:02d}" for m in range(1, 11)]
    trend = pd.DataFrame(
        [
            {**_att("rep", "R1", "revenue", "month", round(r * 1_000_000), 1_000_000), "trend_month": m}
            for m, r in zip(trend_months, r1_trend, strict=True)
        ]
        + [
            {**_att("rep", "R2", "revenue", "month", v, 1_000_000), "trend_month": m}
            for m, v in zip(trend_months[-4:], (1_000_000, 900_000, 800_000, 700_000), strict=True)
        ]
        + [{**_att("manager", "M1", "revenue", "month", 1_820_000, 2_000_000), "trend_month": MONTH}]
    ).astype({"target": "Int64"})
    pipeline = pd.DataFrame(
        [
            _pipe("rep", "R1", 3 + extra_won_deals, 1, 4_200_000, 1_200_000, avg_won=373_333, cycle=41.5),
            _pipe("rep", "R2", 1, 4, 500_000, 1_000_000, avg_won=700_000, cycle=63.0),
            _pipe("rep", "R3", 0, 0, 0, None),
            _pipe("manager", "M1", 4, 5, 4_700_000, 2_200_000),
            _pipe("company", "ALL", 40, 40, 50_000_000, 20_000_000),
        ]
    )
    satisfaction = pd.DataFrame(
        [
            _sat("R1", "month", 3, 100.0, 4.67, 66.7),
            _sat("R1", "trailing_12", 8, 87.5, 4.25, 50.0),
            _sat("R2", "trailing_12", 10, 60.0, 3.6, -10.0),
        ]
    )
    ledger = pd.DataFrame(
        [
            _line(
                "R1",
                1,
                "commission",
                "commission",
                56_000 + extra // 20,
                "5% of credited revenue $11,200.00 in band 100%+",
                base=1_120_000 + extra,
                rate="0.05",
                band="100%+",
                deal_ids="D-1001;D-1002;D-1003",
            ),
            _line("R1", 2, "milestone_100", "bonus", 50_000, "Bonus for reaching 100% of the monthly target"),
            _line(
                "R1",
                3,
                "clawback",
                "clawback",
                -12_345,
                "Clawback: deal D-0999 cancelled on 2026-10-12, paid at 5% in 2026-08",
                deal_ids="D-0999",
            ),
            _line(
                "R2",
                1,
                "commission",
                "commission",
                28_000,
                "4% of credited revenue $7,000.00 in band 50%-100%",
                base=700_000,
                rate="0.04",
                band="50%-100%",
            ),
            _line("R2", 2, "csat_penalty", "penalty", -2_800, "Variable pay x 0.9: CSAT 60.0% under 70%"),
        ]
    )
    payouts = pd.DataFrame(
        [
            dict(
                month=MONTH,
                rep_id="R1",
                name="Alice Martin",
                email="alice@example.com",
                currency="USD",
                earnings_minor=93_655 + extra // 20,
                draws_minor=0,
                adjustments_minor=0,
                payable_minor=93_655 + extra // 20,
                draw_balance_minor=0,
            ),
            dict(
                month=MONTH,
                rep_id="R2",
                name="李娜",
                email="li.na@example.com",
                currency="USD",
                earnings_minor=25_200,
                draws_minor=0,
                adjustments_minor=0,
                payable_minor=25_200,
                draw_balance_minor=0,
            ),
        ]
    )
    deals = pd.DataFrame(
        [
            _deal("D-1001", "R1", "Acme", 500_000, "won", "2026-10-03"),
            _deal("D-1002", "R1", INJECTION, 320_000, "won", "2026-10-17"),
            _deal("D-1003", "R1", "Betatech", 300_000, "won", "2026-10-17"),
            _deal("D-1004", "R1", "Cheapo", 90_000, "lost", "2026-10-20"),
            _deal("D-0950", "R1", "Old Co", 80_000, "won", "2026-09-28"),
            _deal("D-1100", "R1", "Pipeline Co", 0, "open", None),
            _deal("D-2001", "R2", "上海贸易有限公司", 700_000, "won", "2026-10-09"),
            _deal("D-2002", "R2", "Kappa", 100_000, "lost", "2026-10-11"),
        ]
        + [
            _deal(f"D-5{i:03d}", "R1", f"Extra account {i}", 10_000, "won", "2026-10-25")
            for i in range(extra_won_deals)
        ]
    )
    targets = pd.DataFrame(
        [
            dict(
                scope="rep",
                scope_id="R1",
                month="2026-11",
                metric="revenue",
                amount="10000.00",
                effective_date=pd.Timestamp("2026-10-01"),
                reason="initial",
                author="陈梅",
            ),
            dict(
                scope="rep",
                scope_id="R1",
                month="2026-11",
                metric="revenue",
                amount="12000.00",
                effective_date=pd.Timestamp("2026-10-25"),
                reason="territory change",
                author="陈梅",
            ),
            dict(
                scope="rep",
                scope_id="R1",
                month="2026-11",
                metric="won_deals",
                amount="4",
                effective_date=pd.Timestamp("2026-10-01"),
                reason="initial",
                author="陈梅",
            ),
            dict(
                scope="rep",
                scope_id="R1",
                month="2026-10",
                metric="revenue",
                amount="10000.00",
                effective_date=pd.Timestamp("2026-09-20"),
                reason="initial",
                author="陈梅",
            ),
            dict(
                scope="rep",
                scope_id="R2",
                month="2026-11",
                metric="revenue",
                amount="10000.00",
                effective_date=pd.Timestamp("2026-10-01"),
                reason="initial",
                author="陈梅",
            ),
        ]
    )
    quarantine = pd.DataFrame(
        [
            dict(
                month=MONTH,
                table="deals",
                source_file="deals.csv",
                source_row=7,
                column="amount",
                value="12,5",
                reason="not a number",
                record="{}",
            ),
            dict(
                month=MONTH,
                table="deals",
                source_file="deals.csv",
                source_row=9,
                column="close_date",
                value="2026-13-01",
                reason="not a date",
                record="{}",
            ),
        ]
    )
    return ReviewTables(
        reps=reps,
        attainment=attainment,
        attainment_trend=trend,
        pipeline_health=pipeline,
        satisfaction=satisfaction,
        incentive_ledger=ledger,
        payouts=payouts,
        deals=deals,
        targets=targets,
        quarantine=quarantine,
    )


SETTINGS = Settings()


def test_roster_for_month_takes_latest_row_and_drops_leavers():
    roster = roster_for_month(make_tables().reps, MONTH)
    assert sorted(roster.index) == ["M1", "R1", "R2", "R3"]
    assert roster.loc["R1", "manager_id"] == "M1"
    assert roster_for_month(make_tables().reps, "2026-08").loc["R1", "manager_id"] == "M9"


def test_pack_list_one_pack_per_rep_and_manager_with_team():
    packs = pack_list(MONTH, make_tables().reps)
    assert list(packs.itertuples(index=False, name=None)) == [
        ("R1", "rep", "en"),
        ("R2", "rep", "zh_CN"),
        ("R3", "rep", "en"),
        ("M1", "manager", "zh_CN"),
    ]


def test_missing_packs_follow_who_is_employed_that_month():
    reps = make_tables().reps
    made = pack_list(MONTH, reps)
    assert missing_packs(MONTH, reps, made) == []
    assert missing_packs(MONTH, reps, made[made["person_id"] != "R2"]) == ["rep R2"]
    gone = reps.assign(leave_date=reps["leave_date"].where(reps["rep_id"] != "R2", pd.Timestamp("2026-08-31")))
    assert missing_packs(MONTH, gone, made[made["person_id"] != "R2"]) == []  # left before the month: no pack due


def test_rep_review_figures_come_from_the_tables():
    r = rep_review("R1", MONTH, make_tables(), SETTINGS)
    revenue = r["attainment"][0]
    assert revenue["metric"] == "revenue"
    assert (revenue["month"]["actual"], revenue["month"]["target"]) == (1_120_000, 1_000_000)
    assert revenue["ytd"]["attainment"] == pytest.approx(0.85)
    assert [a["metric"] for a in r["attainment"]] == ["revenue", "won_deals"]
    assert r["quarter"] == "FY2026 Q4"
    assert [d["deal_id"] for d in r["won_deals"]] == ["D-1001", "D-1002", "D-1003"]
    assert [d["deal_id"] for d in r["lost_deals"]] == ["D-1004"]
    assert [line["amount_minor"] for line in r["statement"]["lines"]] == [56_000, 50_000, -12_345]
    assert r["statement"]["total_minor"] == 93_655 == r["statement"]["payout"]["payable_minor"]
    assert r["satisfaction"]["month"]["enough"] is False
    assert len(r["trend"]) == 12 and r["trend"][-1]["attainment"] == pytest.approx(1.12)


def test_next_target_is_the_latest_in_force_with_recent_average():
    nt = rep_review("R1", MONTH, make_tables(), SETTINGS)["next_target"]
    assert nt["month"] == "2026-11"
    assert [(t["metric"], t["amount"], t["reason"]) for t in nt["targets"]] == [
        ("revenue", 1_200_000, "territory change"),
        ("won_deals", 4, "initial"),
    ]
    # Aug, Sep, Oct actuals: 900,000 + 1,000,000 + 1,120,000 minor units over 3 months.
    assert nt["recent_average_minor"] == 1_006_667


def test_rep_findings_cite_their_figures():
    f = rep_review("R1", MONTH, make_tables(), SETTINGS)["findings"]
    strengths = {x["rule"]: x for x in f["strength"]}
    improvements = {x["rule"]: x for x in f["improvement"]}
    assert set(strengths) == {
        "target_met",
        "top_quartile",
        "win_rate_high",
        "coverage_strong",
        "csat_strong",
        "trend_rising",
    }
    assert set(improvements) == {"target_missed", "ytd_behind"}
    assert strengths["target_met"]["value"] == pytest.approx(1.12)
    assert strengths["coverage_strong"]["value"] == pytest.approx(3.5)
    assert strengths["csat_strong"]["responses"] == 8
    assert strengths["csat_strong"]["value"] == pytest.approx(0.875)  # csat_pct is a percentage (87.5)
    assert improvements["target_missed"]["metric"] == "won_deals"
    assert improvements["target_missed"]["value"] == pytest.approx(0.75)
    assert (strengths["trend_rising"]["start"], strengths["trend_rising"]["value"]) == pytest.approx((0.8, 1.12))

    f2 = rep_review("R2", MONTH, make_tables(), SETTINGS)["findings"]
    assert {x["rule"] for x in f2["strength"]} == {"ytd_met"}
    assert {x["rule"] for x in f2["improvement"]} == {
        "target_missed",
        "win_rate_low",
        "coverage_weak",
        "csat_weak",
        "trend_falling",
    }


@pytest.mark.parametrize(
    "ratio, expected",
    [
        (RULES["target_met"], "strength"),
        (RULES["target_missed"], None),
        (RULES["target_missed"] - 0.001, "improvement"),
    ],
)
def test_target_rule_boundaries(ratio, expected):
    att = {("revenue", "month"): dict(actual=round(ratio * 1000), target=1000, attainment=ratio, currency="USD")}
    out = findings(att, [], None, None, {})
    got = [k for k, v in out.items() if any(x["rule"].startswith("target") for x in v)]
    assert got == ([expected] if expected else [])


def test_satisfaction_rule_needs_enough_responses():
    few = {"trailing_12": dict(enough=False, csat_pct=20.0, csat_share=0.2, csat_responses=2, window="trailing_12")}
    assert findings({}, [], None, None, few) == {"strength": [], "improvement": []}


def test_win_rate_rule_skips_small_samples():
    pipeline = dict(
        won_count=2,
        lost_count=0,
        win_rate=1.0,
        coverage=None,
        open_pipeline_minor=0,
        next_month_target_minor=None,
        currency="USD",
    )
    assert findings({}, [], pipeline, {"win_rate": 0.3}, {})["strength"] == []


def test_statement_that_disagrees_with_payout_is_refused():
    tables = make_tables()
    tables.payouts.loc[tables.payouts["rep_id"] == "R1", "payable_minor"] = 1
    with pytest.raises(ReviewError, match=r"R1.*93655.*payable_minor is 1"):
        rep_review("R1", MONTH, tables, SETTINGS)


def test_attainment_band_edges():
    bands = attainment_band(pd.Series([0.1, 0.5, 0.8, 0.999, 1.0, 1.2, None], dtype="Float64"))
    assert list(bands) == ["lt50", "50to80", "80to100", "80to100", "100to120", "ge120", "none"]


def test_manager_review_ranks_members_and_counts_bands():
    m = manager_review("M1", MONTH, make_tables(), SETTINGS)
    assert [(x["rank"], x["rep_id"]) for x in m["ranking"]] == [(1, "R1"), (2, "R2"), (3, "R3")]
    assert [x["payable_minor"] for x in m["ranking"]] == [93_655, 25_200, None]
    assert {d["band"]: d["count"] for d in m["distribution"]} == {
        "lt50": 0,
        "50to80": 1,
        "80to100": 0,
        "100to120": 1,
        "ge120": 0,
        "none": 1,
    }
    assert m["payable_by_currency"] == {"USD": 118_855}
    assert m["quarantined_rows"] == 2
    assert [r["person"]["rep_id"] for r in m["members"]] == ["R1", "R2", "R3"]


def test_shared_deals_are_listed_with_the_credit_the_rep_had():
    tables = make_tables()
    splits = pd.DataFrame(
        {"deal_id": ["D-1001", "D-1002"], "rep_id": ["R2", "R3"], "share": ["40", "100"], "role": ["split", "overlay"]}
    )
    shared = ReviewTables(
        **{
            **{
                f: getattr(tables, f)
                for f in (
                    "reps",
                    "attainment",
                    "attainment_trend",
                    "pipeline_health",
                    "satisfaction",
                    "incentive_ledger",
                    "payouts",
                    "deals",
                    "targets",
                    "quarantine",
                )
            },
            "credit_splits": splits,
        }
    )
    r2 = rep_review("R2", MONTH, shared, SETTINGS)
    assert [(d["deal_id"], d.get("credit")) for d in r2["won_deals"]][:1] == [
        ("D-1001", {"role": "split", "share": Decimal("0.4")})
    ]
    r3 = rep_review("R3", MONTH, shared, SETTINGS)
    assert ("D-1002", {"role": "overlay", "share": None}) in [(d["deal_id"], d.get("credit")) for d in r3["won_deals"]]
    assert "D-1001" not in [d["deal_id"] for d in rep_review("R2", MONTH, tables, SETTINGS)["won_deals"]]
