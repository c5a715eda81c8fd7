"""Held-out worked examples from public commission documentation, written as plan files from docs/plans.md.

Each test cites the public page it comes from and the figure that page documents; the plan YAML is written
the way docs/plans.md tells a new user to write it, and the ledger must pay the documented amount to the cent.
Figures the page does not state but that follow directly from its stated rule are marked "(derived)".
"""

from __future__ import annotations

import textwrap

import pandas as pd

from attain.money import to_minor
from attain.pay.ledger import compute_ledger
from attain.pay.payouts import payouts
from attain.pay.plans import load_plans
from attain.settings import Settings
from tests.test_ledger import NO_EVENTS, clawback_events, credited, roster, satisfaction

HIRED = "2000-01-01"  # rep A is employed in every month the examples use


def book(tmp_path, text: str):
    """Write one complete plan file (``plan_id: p``) the way a user would, and load the plans folder."""
    folder = tmp_path / "plans"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "p.yaml").write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return load_plans(folder)


def attainment(partition: str, currency: str, **periods: tuple[str, str | None]) -> pd.DataFrame:
    """Revenue attainment rows of rep A: ``month=(actual, target)``, ``qtd=...``, ``ytd=...`` in major units."""
    rows = []
    for period in ("month", "qtd", "ytd"):
        actual, target = periods.get(period, periods["month"])
        rows.append(
            {
                "month": partition,
                "scope": "rep",
                "scope_id": "A",
                "metric": "revenue",
                "period": period,
                "currency": currency,
                "actual": to_minor(actual, currency),
                "target": to_minor(target, currency) if target is not None else pd.NA,
            }
        )
    return pd.DataFrame(rows)


def ledger_for(plans, month, deals, att, currency="USD", events=None, history=None) -> pd.DataFrame:
    return compute_ledger(
        month,
        plans,
        roster("A", currency=currency, hire=HIRED),
        deals,
        att,
        satisfaction(month=month),
        NO_EVENTS if events is None else events,
        history,
        Settings(),
    )


def month_credit(deals: pd.DataFrame, month: str) -> str:
    """The rep's credit of ``month`` in major units (for the attainment row)."""
    return str(int(deals.loc[deals["credit_month"] == month, "credit_minor"].sum()) // 100)


def paid(ledger: pd.DataFrame, kind: str | None = None) -> list[int]:
    lines = ledger if kind is None else ledger[ledger["kind"] == kind]
    return lines["amount_minor"].tolist()


def run_months(plans, months: list[tuple[str, str]], currency: str = "USD", rate_plan_target=None):
    """Run consecutive months, each with one deal of the given credit; returns (ledger, payout row) per month."""
    history = None
    out = []
    reps = roster("A", currency=currency, hire=HIRED)
    for month, credit in months:
        deals = credited([(f"D{month}", "A", f"{month}-10", credit)], month=month, currency=currency)
        att = attainment(month, currency, month=(credit, rate_plan_target))
        ledger = ledger_for(plans, month, deals, att, currency, history=history)
        pay = payouts(ledger, reps, month, history)
        out.append((ledger, pay.iloc[0]))
        history = ledger if history is None else pd.concat([history, ledger], ignore_index=True)
    return out


# --------------------------------------------------------------------------- tiered commission

# https://prowi.io/en/glossary/accelerator -- quota 150,000; 0-100%: 8%, 100-120%: 12%, >120%: 16%;
# 195,000 closed (130%): 12,000 + 3,600 + 2,400 = 18,000 (flat 8% would be 15,600).
ACCELERATOR = """
    plan_id: p
    currency: USD
    components:
      - id: commission
        kind: commission
        method: {method}
        tiers:
          - {{from: 0%, rate: 8%}}
          - {{from: 100%, rate: 12%}}
          - {{from: 120%, rate: 16%}}
"""


def test_prowi_marginal_accelerator_with_deals_straddling_bands(tmp_path):
    plans = book(tmp_path, ACCELERATOR.format(method="marginal"))
    # three deals; the second straddles 100% (150,000), the third straddles 120% (180,000)
    deals = credited(
        [("D1", "A", "2025-03-03", "100000"), ("D2", "A", "2025-03-10", "60000"), ("D3", "A", "2025-03-20", "35000")]
    )
    ledger = ledger_for(plans, "2025-03", deals, attainment("2025-03", "USD", month=("195000", "150000")))
    assert paid(ledger) == [12_000_00, 3_600_00, 2_400_00]
    assert sum(paid(ledger)) == 18_000_00
    assert ledger["deal_ids"].tolist() == ["D1;D2", "D2;D3", "D3"]


def test_prowi_flat_rate_comparison(tmp_path):
    plans = book(
        tmp_path,
        """
        plan_id: p
        currency: USD
        components:
          - {id: commission, kind: commission, tiers: [{from: 0, rate: 8%}]}
    """,
    )
    deals = credited([("D1", "A", "2025-03-03", "195000")])
    ledger = ledger_for(plans, "2025-03", deals, attainment("2025-03", "USD", month=("195000", "150000")))
    assert paid(ledger) == [15_600_00]


# https://revopsmasters.com/category/sales-compensation/accelerators-and-decelerators -- quota 500K, variable
# 100K (a 20% rate), 1.5x (30%) from 100%, 2.0x (40%) above 130%: 650K closed pays 145,000 (130,000 without
# the accelerator). Decelerator: 0.5x (10%) below 50%, 1.0x to 100%, 1.5x above: 40% attainment pays 20,000.
def test_revopsmasters_accelerator_and_decelerator_as_rate_multiples(tmp_path):
    plans = book(
        tmp_path,
        """
        plan_id: p
        currency: USD
        components:
          - id: commission
            kind: commission
            tiers:
              - {from: 0%, rate: 20%}
              - {from: 100%, rate: 30%}
              - {from: 130%, rate: 40%}
    """,
    )
    deals = credited([("D1", "A", "2025-03-03", "650000")])
    ledger = ledger_for(plans, "2025-03", deals, attainment("2025-03", "USD", month=("650000", "500000")))
    assert sum(paid(ledger)) == 145_000_00

    decel = book(
        tmp_path / "decel",
        """
        plan_id: p
        currency: USD
        components:
          - id: commission
            kind: commission
            tiers:
              - {from: 0%, rate: 10%}
              - {from: 50%, rate: 20%}
              - {from: 100%, rate: 30%}
    """,
    )
    deals = credited([("D1", "A", "2025-03-03", "200000")])
    ledger = ledger_for(decel, "2025-03", deals, attainment("2025-03", "USD", month=("200000", "500000")))
    assert paid(ledger) == [20_000_00]


# https://www.hyperbots.com/glossary/accelerator-commission -- 200,000 quota at 5%, 60,000 above quota at 8%:
# 10,000 + 4,800 = 14,800.
def test_hyperbots_single_accelerator(tmp_path):
    plans = book(
        tmp_path,
        """
        plan_id: p
        currency: USD
        components:
          - id: commission
            kind: commission
            tiers:
              - {from: 0%, rate: 5%}
              - {from: 100%, rate: 8%}
    """,
    )
    deals = credited([("D1", "A", "2025-03-03", "120000"), ("D2", "A", "2025-03-04", "140000")])
    ledger = ledger_for(plans, "2025-03", deals, attainment("2025-03", "USD", month=("260000", "200000")))
    assert paid(ledger) == [10_000_00, 4_800_00]


# http://159.66.236.10:2080/Eclipse-Help/CHUI/!SSL!/WebHelp/mergedProjects/PRICE/PRICE_CON_TieredCommissionPlanDetails.htm
# (Epicor Eclipse, tiered commission plan): ranges $0-200 2%, $200.01-500 3%, $500.01-1000 4%, above 5.5%;
# GP$ 1,200.00 pays 4.00 + 9.00 + 20.00 + 11.00 = 44.00; without tiering (5.5% on all) 66.00.
EPICOR = """
    plan_id: p
    currency: USD
    components:
      - id: commission
        kind: commission
        basis: amount
        method: {method}
        tiers:
          - {{from: 0, rate: 2%}}
          - {{from: 200.00, rate: 3%}}
          - {{from: 500.00, rate: 4%}}
          - {{from: 1000.00, rate: 5.5%}}
"""


def test_epicor_amount_tiers_marginal_and_retroactive(tmp_path):
    deals = credited([("D1", "A", "2025-03-03", "450.00"), ("D2", "A", "2025-03-09", "750.00")])
    att = attainment("2025-03", "USD", month=("1200", None))
    marginal = ledger_for(book(tmp_path / "m", EPICOR.format(method="marginal")), "2025-03", deals, att)
    assert paid(marginal) == [4_00, 9_00, 20_00, 11_00]
    retro = ledger_for(book(tmp_path / "r", EPICOR.format(method="retroactive")), "2025-03", deals, att)
    assert paid(retro) == [66_00]


# https://help-stores.trakitrak.com/en/articles/8488621-commission-system-for-stores -- tiers per order:
# 21% to $25, 14% to $40, 11% to $100, 6% above. Order $37.50: 5.25 + 1.75 = 7.00;
# order $136: 5.25 + 2.10 + 6.60 + 2.16 = 16.11 (the page prints the rounded lines).
def test_trakitrak_per_order_tiers(tmp_path):
    plans = book(
        tmp_path,
        """
        plan_id: p
        currency: USD
        components:
          - id: order_commission
            kind: commission
            method: per_deal
            basis: amount
            tiers:
              - {from: 0, rate: 21%}
              - {from: 25.00, rate: 14%}
              - {from: 40.00, rate: 11%}
              - {from: 100.00, rate: 6%}
    """,
    )
    deals = credited([("O1", "A", "2025-03-03", "37.50"), ("O2", "A", "2025-03-04", "136.00")])
    ledger = ledger_for(plans, "2025-03", deals, attainment("2025-03", "USD", month=("173.50", None)))
    by_order = ledger.groupby("deal_ids")["amount_minor"].sum().to_dict()
    assert by_order == {"O1": 7_00, "O2": 16_11}
    assert paid(ledger[ledger["deal_ids"] == "O2"]) == [5_25, 2_10, 6_60, 2_16]


# https://help.mytime.com/hc/en-us/articles/360046956372-Tiered-Commission-by-Revenue-Amount-Above-Earned-Breakdown
# $0-499.99: 25%, $500-2,999.99: 30%, $3,000+: 40%, tiered per pay cycle: $400 -> 100.00; $100 -> 25.00;
# $5,000 -> 1,675.00. (The page's third cycle, $1,500 -> "424.98", contradicts its own rates:
# 124.9975 + 300.003 = 425.0005, i.e. 425.00, so it is not used.)
def test_mytime_revenue_tiers_per_pay_cycle(tmp_path):
    plans = book(
        tmp_path,
        """
        plan_id: p
        currency: USD
        components:
          - id: commission
            kind: commission
            basis: amount
            tiers:
              - {from: 0, rate: 25%}
              - {from: 500.00, rate: 30%}
              - {from: 3000.00, rate: 40%}
    """,
    )
    totals = [
        sum(paid(ledger))
        for ledger, _ in run_months(plans, [("2025-01", "400"), ("2025-02", "100"), ("2025-03", "5000")])
    ]
    assert totals == [100_00, 25_00, 1_675_00]


# https://www.sparrowgenie.com/sales-commission-models/non-retroactive-commission -- 3% on the first $300,000
# of quarterly sales, 5% to $500,000, 7% above; $600,000 in the quarter: 9,000 + 10,000 + 7,000 = 26,000.
def test_sparrowgenie_quarterly_amount_tiers_paid_at_quarter_end(tmp_path):
    plans = book(
        tmp_path,
        """
        plan_id: p
        currency: USD
        components:
          - id: quarterly_commission
            kind: commission
            period: quarter
            basis: amount
            tiers:
              - {from: 0, rate: 3%}
              - {from: 300000.00, rate: 5%}
              - {from: 500000.00, rate: 7%}
    """,
    )
    rows = [
        ("D1", "A", "2025-01-15", "250000"),
        ("D2", "A", "2025-02-15", "150000"),
        ("D3", "A", "2025-03-15", "200000"),
    ]
    deals = credited(rows, month="2025-03")
    deals["credit_month"] = deals["close_date"].dt.strftime("%Y-%m")
    for month in ("2025-01", "2025-02"):
        early = deals[deals["credit_month"] <= month].assign(month=month)
        assert ledger_for(plans, month, early, attainment(month, "USD", month=(month_credit(early, month), None))).empty
    march = ledger_for(
        plans,
        "2025-03",
        deals,
        attainment("2025-03", "USD", month=("200000", None), qtd=("600000", None), ytd=("600000", None)),
    )
    assert paid(march) == [9_000_00, 10_000_00, 7_000_00]


# https://help.simplycomp.com/hc/en-us/articles/24325209007639-Apply-highest-rate -- quota 1,000,000 for the
# quarter, 1% to 50%, 3% above; Jan 250,000, Feb 350,000, Mar 200,000. Default (marginal on quarter-to-date
# credit) pays 2,500 / 5,500 / 6,000 = 14,000; "apply highest rate" pays 24,000 in all. Attain pays a quarterly
# component once, at quarter end, so only the quarter totals can be expressed (see the report: no monthly
# payment of quarter-to-date tiers).
SIMPLYCOMP = """
    plan_id: p
    currency: USD
    components:
      - id: commission
        kind: commission
        period: quarter
        method: {method}
        tiers:
          - {{from: 0%, rate: 1%}}
          - {{from: 50%, rate: 3%}}
"""


def test_simplycomp_quarter_to_date_tiers_quarter_totals(tmp_path):
    deals = credited(
        [("J", "A", "2025-01-20", "250000"), ("F", "A", "2025-02-20", "350000"), ("M", "A", "2025-03-20", "200000")],
        month="2025-03",
    )
    deals["credit_month"] = deals["close_date"].dt.strftime("%Y-%m")
    att = attainment(
        "2025-03", "USD", month=("200000", "333333.33"), qtd=("800000", "1000000"), ytd=("800000", "1000000")
    )
    marginal = ledger_for(book(tmp_path / "m", SIMPLYCOMP.format(method="marginal")), "2025-03", deals, att)
    assert paid(marginal) == [5_000_00, 9_000_00] and sum(paid(marginal)) == 2_500_00 + 5_500_00 + 6_000_00
    retro = ledger_for(book(tmp_path / "r", SIMPLYCOMP.format(method="retroactive")), "2025-03", deals, att)
    assert paid(retro) == [24_000_00]


# https://docs.oracle.com/en/cloud/saas/incentive-compensation/facmi/equal-tier-values.html -- a transaction of
# exactly 50,000 against tiers 0-25,000: 1%, 25,000-50,000: 2%, 50,000-75,000: 3%, 75,000-100,000: 4% is paid
# at the higher tier, 3% (1,500.00 derived). With one transaction in the period, a retroactive amount table
# on the period's credit is the same lookup.
def test_oracle_equal_tier_values_pay_the_higher_tier(tmp_path):
    plans = book(
        tmp_path,
        """
        plan_id: p
        currency: USD
        components:
          - id: commission
            kind: commission
            method: retroactive
            basis: amount
            tiers:
              - {from: 0, rate: 1%}
              - {from: 25000.00, rate: 2%}
              - {from: 50000.00, rate: 3%}
              - {from: 75000.00, rate: 4%}
    """,
    )
    deals = credited([("T1", "A", "2025-03-03", "50000")])
    ledger = ledger_for(plans, "2025-03", deals, attainment("2025-03", "USD", month=("50000", None)))
    assert paid(ledger) == [1_500_00] and ledger["rate"].tolist() == ["0.03"]


# https://www.sparrowgenie.com/sales-commission-models/quota-based-commission -- "zero until quota": monthly
# quota 80,000, 8% on sales exceeding quota, sales 120,000: 3,200 (8% of the 40,000 above quota).
def test_sparrowgenie_zero_until_quota(tmp_path):
    plans = book(
        tmp_path,
        """
        plan_id: p
        currency: USD
        components:
          - id: commission
            kind: commission
            tiers:
              - {from: 0%, rate: 0%}
              - {from: 100%, rate: 8%}
    """,
    )
    deals = credited([("D1", "A", "2025-03-03", "70000"), ("D2", "A", "2025-03-05", "50000")])
    ledger = ledger_for(plans, "2025-03", deals, attainment("2025-03", "USD", month=("120000", "80000")))
    assert sum(paid(ledger)) == 3_200_00


# --------------------------------------------------------------------------- gates

# https://excelforum.com/excel-formulas-and-functions/861932-vlookup-for-multiple-results-without-duplicates-prev-thread.html
# Quarterly quota 100,000 (400,000 a year): 5% to 100,000, one more percent from 100,000 to 125,000 and another
# above: 150,000 pays 5,000 + 1,500 + 1,750 = 8,250. Accelerators only once the whole year's quota is reached:
# Q1 50,000 + Q2 75,000 + Q3 200,000 gets no accelerator in Q3, i.e. 5% x 200,000 = 10,000 (derived).
EXCELFORUM = """
    plan_id: p
    currency: USD
    components:
      - id: quarterly_commission
        kind: commission
        period: quarter
        tiers:
          - {from: 0%, rate: 5%}
          - {from: 100%, rate: 6%}
          - {from: 125%, rate: 7%}
        gates:
          - {measure: actual, period: ytd, at_least: 400000.00, applies_to: accelerators}
"""


def _quarter(plans, month: str, quarter_credit: str, ytd_credit: str) -> pd.DataFrame:
    deals = credited([("Q", "A", f"{month}-05", quarter_credit)], month=month)
    att = attainment(
        month, "USD", month=(quarter_credit, "33333.33"), qtd=(quarter_credit, "100000"), ytd=(ytd_credit, "300000")
    )
    return ledger_for(plans, month, deals, att)


def test_excelforum_accelerators_gated_on_the_annual_quota(tmp_path):
    plans = book(tmp_path, EXCELFORUM)
    passed = _quarter(plans, "2025-12", "150000", "450000")
    assert paid(passed) == [5_000_00, 1_500_00, 1_750_00]
    failed = _quarter(plans, "2025-09", "200000", "325000")
    assert sum(paid(failed)) == 10_000_00
    assert paid(failed) == [5_000_00, 1_250_00, 3_750_00]
    assert (
        failed["explanation"]
        .iloc[1]
        .endswith("accelerator rate 6% withheld: YTD revenue 325,000.00 USD (needs >= 400,000.00 USD)")
    )


# --------------------------------------------------------------------------- milestone bonuses


# https://prowi.io/en/glossary/milestone-bonus -- milestones at 50% / 75% / 100% / 125% of quota pay
# 2,000 / 3,500 / 7,000 / 14,000; a rep at 110% earns milestones 1, 2 and 3 = 12,500.
# https://www.quotapath.com/glossary/milestone-bonus/ -- monthly quota 20,000: hitting it pays a 2,000 bonus.
def test_prowi_progressive_milestones_and_quotapath_quota_bonus(tmp_path):
    plans = book(
        tmp_path,
        """
        plan_id: p
        currency: USD
        components:
          - id: milestones
            kind: bonus
            milestones:
              - {at: 50%, amount: 2000.00}
              - {at: 75%, amount: 3500.00}
              - {at: 100%, amount: 7000.00}
              - {at: 125%, amount: 14000.00}
    """,
    )
    deals = credited([("D1", "A", "2025-03-03", "110000")])
    ledger = ledger_for(plans, "2025-03", deals, attainment("2025-03", "USD", month=("110000", "100000")))
    assert paid(ledger) == [2_000_00, 3_500_00, 7_000_00]

    quota_bonus = book(
        tmp_path / "q",
        """
        plan_id: p
        currency: USD
        components:
          - {id: quota_bonus, kind: bonus, milestones: [{at: 100%, amount: 2000.00}]}
    """,
    )
    for credit, bonus in (("20000", 2_000_00), ("19999.99", 0)):
        deals = credited([("D1", "A", "2025-03-03", credit)])
        ledger = ledger_for(quota_bonus, "2025-03", deals, attainment("2025-03", "USD", month=(credit, "20000")))
        assert paid(ledger) == [bonus]


# --------------------------------------------------------------------------- caps


# https://www.sparrowgenie.com/sales-commission-models/capped-commission -- 3% of sales, monthly cap 10,000:
# sales 400,000 earn 12,000, capped at 10,000.
def test_sparrowgenie_hard_cap(tmp_path):
    plans = book(
        tmp_path,
        """
        plan_id: p
        currency: USD
        components:
          - id: commission
            kind: commission
            cap: 10000.00
            tiers:
              - {from: 0, rate: 3%}
    """,
    )
    deals = credited([("D1", "A", "2025-03-03", "400000")])
    ledger = ledger_for(plans, "2025-03", deals, attainment("2025-03", "USD", month=("400000", None)))
    assert paid(ledger) == [12_000_00, -2_000_00] and ledger["kind"].tolist() == ["commission", "cap"]
    assert payouts(ledger, roster("A"), "2025-03")["payable_minor"].tolist() == [10_000_00]


# --------------------------------------------------------------------------- SPIFFs


# https://bentega.io/what-is-a-spif -- fixed SPIF: EUR 250 per eligible deal, 4 eligible deals: EUR 1,000;
# revenue SPIF: eligible campaign revenue EUR 50,000 at 2%: EUR 1,000.
def test_bentega_spif_per_deal_and_rate(tmp_path):
    plans = book(
        tmp_path,
        """
        plan_id: p
        currency: EUR
        components:
          - id: launch_spif
            kind: spiff
            products: [Nova]
            valid_from: 2025-03-01
            valid_until: 2025-03-31
            per_deal: 250.00
          - id: revenue_spif
            kind: spiff
            products: [Nova]
            rate: 2%
    """,
    )
    rows = [(f"N{i}", "A", f"2025-03-0{i}", "12500", "Nova") for i in range(1, 5)]
    deals = credited([*rows, ("X1", "A", "2025-03-09", "9000", "Other")], currency="EUR")
    ledger = ledger_for(plans, "2025-03", deals, attainment("2025-03", "EUR", month=("59000", None)), "EUR")
    assert paid(ledger) == [1_000_00, 1_000_00]


# https://prowi.io/en/glossary/spiff -- 8% commission on all sales plus a 1,000 spiff per unit of the new product
# in its first month; units of 20,000, 5 orders: 8,000 + 5,000 = 13,000.
def test_prowi_commission_plus_spiff_per_unit(tmp_path):
    plans = book(
        tmp_path,
        """
        plan_id: p
        currency: DKK
        components:
          - {id: commission, kind: commission, tiers: [{from: 0, rate: 8%}]}
          - {id: new_product_spiff, kind: spiff, products: [New], valid_until: 2025-03-31, per_deal: 1000.00}
    """,
    )
    deals = credited([(f"U{i}", "A", f"2025-03-1{i}", "20000", "New") for i in range(5)], currency="DKK")
    ledger = ledger_for(plans, "2025-03", deals, attainment("2025-03", "DKK", month=("100000", None)), "DKK")
    assert paid(ledger) == [8_000_00, 5_000_00]


def test_a_flat_rate_needs_no_target(tmp_path):
    """docs/plans.md: "A flat 8% on everything: a single band {from: 0, rate: 8%}" -- also for a rep without a
    revenue target (a single band from 0 uses no level of the target); two bands still need one."""
    deals = credited([("D1", "A", "2025-03-03", "5000")])
    att = attainment("2025-03", "USD", month=("5000", None))
    flat = ledger_for(
        book(
            tmp_path / "f",
            """
        plan_id: p
        currency: USD
        components:
          - {id: commission, kind: commission, tiers: [{from: 0, rate: 8%}]}
    """,
        ),
        "2025-03",
        deals,
        att,
    )
    assert paid(flat) == [400_00]
    assert flat["explanation"].tolist() == ["8% x 5,000.00 USD of 2025-03 credit (deal D1)"]
    tiered = ledger_for(
        book(
            tmp_path / "t",
            """
        plan_id: p
        currency: USD
        components:
          - {id: commission, kind: commission, tiers: [{from: 0, rate: 8%}, {from: 100%, rate: 12%}]}
    """,
        ),
        "2025-03",
        deals,
        att,
    )
    assert paid(tiered) == [0] and "No revenue target" in tiered["explanation"].iloc[0]


# --------------------------------------------------------------------------- draws

FLAT_10 = """
    plan_id: p
    currency: USD
    draw: {draw}
    components:
      - {{id: commission, kind: commission, tiers: [{{from: 0, rate: 10%}}]}}
"""


# https://docs.oracle.com/cd/E05553_01/books/InCompAdm/InCompAdmPlanDesign8.html (Siebel Incentive Compensation,
# "Recoverable Draw Scenario") -- draw 2,000 a month; gross earnings 2,750 / 3,000 / 1,500 / 2,375 / 3,000 /
# 2,750; net earnings 2,750 / 3,000 / 2,000 / 2,000 / 2,875 / 2,750 (500 advanced in March, 375 recovered in
# April, the last 125 in May).
def test_oracle_siebel_recoverable_draw_six_months(tmp_path):
    plans = book(tmp_path, FLAT_10.format(draw="{kind: recoverable, amount: 2000.00}"))
    months = [
        ("2002-01", "27500"),
        ("2002-02", "30000"),
        ("2002-03", "15000"),
        ("2002-04", "23750"),
        ("2002-05", "30000"),
        ("2002-06", "27500"),
    ]
    result = run_months(plans, months)
    assert [int(pay["payable_minor"]) for _, pay in result] == [
        2_750_00,
        3_000_00,
        2_000_00,
        2_000_00,
        2_875_00,
        2_750_00,
    ]
    assert [int(pay["draw_balance_minor"]) for _, pay in result] == [0, 0, 500_00, 125_00, 0, 0]
    assert [paid(ledger, "draw") + paid(ledger, "draw_recovery") for ledger, _ in result] == [
        [],
        [],
        [500_00],
        [-375_00],
        [-125_00],
        [],
    ]


# https://www.xactlycorp.com/blog/non-recoverable-draw/ -- draw 1,500: August commissions 500, paid 1,500 (1,000
# from the draw, carried as a balance); September commissions 3,000, paid 2,000 (the 1,000 repaid). With a
# non-recoverable draw the rep takes home 3,000 in September.
def test_xactly_recoverable_and_non_recoverable_draw(tmp_path):
    months = [("2025-08", "5000"), ("2025-09", "30000")]
    recoverable = run_months(book(tmp_path / "r", FLAT_10.format(draw="{kind: recoverable, amount: 1500.00}")), months)
    assert [int(pay["payable_minor"]) for _, pay in recoverable] == [1_500_00, 2_000_00]
    assert [int(pay["draw_balance_minor"]) for _, pay in recoverable] == [1_000_00, 0]
    guarantee = run_months(book(tmp_path / "g", FLAT_10.format(draw="{kind: guarantee, amount: 1500.00}")), months)
    assert [int(pay["payable_minor"]) for _, pay in guarantee] == [1_500_00, 3_000_00]


# https://www.qcommission.com/blog/recoverable-vs-non-recoverable-draw-what-is-the-difference.html -- non-recoverable
# draw 2,000: earns 1,000, gets 2,000; next month earns 4,000, gets the full 4,000.
def test_qcommission_non_recoverable_draw(tmp_path):
    plans = book(tmp_path, FLAT_10.format(draw="{kind: guarantee, amount: 2000.00}"))
    result = run_months(plans, [("2025-01", "10000"), ("2025-02", "40000")])
    assert [int(pay["payable_minor"]) for _, pay in result] == [2_000_00, 4_000_00]
    assert [paid(ledger, "guarantee") for ledger, _ in result] == [[1_000_00], []]


# --------------------------------------------------------------------------- clawbacks


# https://website-nextjs-templates-xutas8xjk-zencentiv.vercel.app/clawbacks-in-sales-commission (Zencentiv) --
# 10% commission; deal 1 ($50,000) paid 5,000 in January, cancelled, clawed back in April: -5,000; a 7,000
# commission on an upcoming deal then nets 2,000. (The page names no window; the plan uses 6 months.)
def test_zencentiv_clawback_in_the_month_of_cancellation(tmp_path):
    plans = book(
        tmp_path,
        """
        plan_id: p
        currency: USD
        clawback: {window_months: 6}
        components:
          - {id: commission, kind: commission, basis: amount, tiers: [{from: 0, rate: 10%}]}
    """,
    )
    january = ledger_for(
        plans,
        "2025-01",
        credited([("Deal1", "A", "2025-01-20", "50000")], month="2025-01"),
        attainment("2025-01", "USD", month=("50000", None)),
    )
    assert paid(january) == [5_000_00]
    april_deals = pd.concat(
        [
            credited([("Deal1", "A", "2025-01-20", "50000")], month="2025-04"),
            credited([("Deal4", "A", "2025-04-08", "70000")], month="2025-04"),
        ]
    )
    events = clawback_events([("Deal1", "A", "2025-01-20", "2025-04-02", "50000")])
    april = ledger_for(
        plans,
        "2025-04",
        april_deals,
        attainment("2025-04", "USD", month=("70000", None)),
        events=events,
        history=january,
    )
    assert paid(april) == [7_000_00, -5_000_00] and april["kind"].tolist() == ["commission", "clawback"]
    assert payouts(april, roster("A"), "2025-04", january)["payable_minor"].tolist() == [2_000_00]
