"""The incentive ledger: hand-computed cases for every component kind, and properties."""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from attain.money import to_minor
from attain.pay.finance_export import reconcile
from attain.pay.ledger import compute_ledger
from attain.pay.lines import LEDGER_COLUMNS
from attain.pay.payouts import payouts
from attain.pay.plans import load_plans
from attain.settings import Settings

MONTH = "2025-03"
TIERS = """
      - {from: 0%, rate: 4%}
      - {from: 50%, rate: 6%}
      - {from: 100%, rate: 10%}
"""


def plan_book(tmp_path, components: str, header: str = "", currency: str = "USD"):
    """A PlanBook with one plan ``p`` made of ``components`` (YAML list items)."""
    folder = tmp_path / "plans"
    folder.mkdir(exist_ok=True)
    text = f"plan_id: p\ncurrency: {currency}\n{textwrap.dedent(header)}components:\n{textwrap.dedent(components)}"
    (folder / "p.yaml").write_text(text, encoding="utf-8")
    return load_plans(folder)


def roster(*rep_ids: str, team: str = "T1", hire: str = "2024-01-01", currency: str = "USD") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "rep_id": list(rep_ids),
            "name": [f"Rep {r}" for r in rep_ids],
            "email": [f"{r.lower()}@example.com" for r in rep_ids],
            "role": "rep",
            "team": team,
            "plan_id": "p",
            "currency": currency,
            "hire_date": pd.Timestamp(hire),
            "leave_date": pd.NaT,
            "valid_from": "",
        }
    )


def credited(rows, month: str = MONTH, currency: str = "USD") -> pd.DataFrame:
    """rows: (deal_id, rep_id, close_date, credit in major units[, product[, role]])."""
    records = []
    for row in rows:
        deal, rep, close, amount, *rest = row
        product = rest[0] if rest else "Widget"
        role = rest[1] if len(rest) > 1 else "owner"
        records.append(
            {
                "month": month,
                "credit_month": close[:7],
                "deal_id": deal,
                "rep_id": rep,
                "role": role,
                "share": "100",
                "close_date": pd.Timestamp(close),
                "product": product,
                "account": "Acme",
                "plan_currency": currency,
                "credit_minor": to_minor(str(amount), currency),
            }
        )
    columns = [
        "month",
        "credit_month",
        "deal_id",
        "rep_id",
        "role",
        "share",
        "close_date",
        "product",
        "account",
        "plan_currency",
        "credit_minor",
    ]
    return pd.DataFrame(records, columns=columns).astype({"credit_minor": np.int64})


def attainment(
    deals: pd.DataFrame,
    targets: dict[str, str],
    month: str = MONTH,
    currency: str = "USD",
    extra: list[dict] | None = None,
) -> pd.DataFrame:
    """Rep revenue attainment (month, qtd, ytd all equal to the month) from ``deals``, plus ``extra`` rows."""
    rows = []
    for rep, target in targets.items():
        actual = (
            int(deals.loc[(deals["rep_id"] == rep) & (deals["credit_month"] == month), "credit_minor"].sum())
            if len(deals)
            else 0
        )
        for period in ("month", "qtd", "ytd"):
            rows.append(
                {
                    "month": month,
                    "scope": "rep",
                    "scope_id": rep,
                    "metric": "revenue",
                    "period": period,
                    "currency": currency,
                    "actual": actual,
                    "target": to_minor(target, currency),
                }
            )
    for row in extra or []:
        rows.append({"month": month, "currency": currency, "period": "month", "metric": "revenue", **row})
    return pd.DataFrame(rows)


def satisfaction(values: dict[str, tuple[float, float]] | None = None, month: str = MONTH) -> pd.DataFrame:
    values = values or {}
    return pd.DataFrame(
        {
            "month": month,
            "rep_id": list(values),
            "responses": 10,
            "csat_responses": 10,
            "csat_pct": [v[0] for v in values.values()],
            "csat_mean": [v[1] for v in values.values()],
            "nps_responses": 10,
            "nps": 0.0,
            "enough": True,
            "window": "month",
        }
    )


NO_EVENTS = pd.DataFrame(
    columns=["month", "deal_id", "rep_id", "cancelled_date", "close_date", "credit_minor", "plan_currency", "reason"]
)


def run(
    book, reps, deals, targets, month=MONTH, sat=None, events=None, history=None, extra=None, currency="USD"
) -> pd.DataFrame:
    att = attainment(deals, targets, month, currency, extra)
    return compute_ledger(
        month,
        book,
        reps,
        deals,
        att,
        satisfaction(sat, month),
        NO_EVENTS if events is None else events,
        history,
        Settings(),
    )


def amounts(ledger: pd.DataFrame, rep: str = "A") -> list[int]:
    return ledger.loc[ledger["rep_id"] == rep, "amount_minor"].tolist()


# the worked example of docs/plans.md: target 20,000.00; D1 8,000 (Mar 1), D3 6,000 (Mar 2), D2 10,000 (Mar 5)
STRADDLE = [("D1", "A", "2025-03-01", "8000"), ("D3", "A", "2025-03-02", "6000"), ("D2", "A", "2025-03-05", "10000")]


def commission(method="marginal", extra=""):
    return f"""
  - id: commission
    kind: commission
    method: {method}
    tiers:{TIERS}{extra}"""


def test_marginal_tiers_band_straddling_deals_appear_on_two_lines(tmp_path):
    ledger = run(plan_book(tmp_path, commission()), roster("A"), credited(STRADDLE), {"A": "20000"})
    assert list(ledger.columns) == LEDGER_COLUMNS
    assert amounts(ledger) == [400_00, 600_00, 400_00]  # 4% x 10,000 + 6% x 10,000 + 10% x 4,000
    assert ledger["base_minor"].tolist() == [10_000_00, 10_000_00, 4_000_00]
    assert ledger["deal_ids"].tolist() == ["D1;D3", "D3;D2", "D2"]
    assert ledger["band"].tolist() == ["0%-50%", "50%-100%", "100%+"]
    assert ledger["line_no"].tolist() == [1, 2, 3]
    assert ledger["explanation"][1] == (
        "6% x 10,000.00 USD of credit between 50% and 100% of the 20,000.00 USD target of 2025-03 (deals D3, D2)"
    )


def test_marginal_order_is_close_date_then_deal_id_text(tmp_path):
    deals = credited([("D-2", "A", "2025-03-04", "6000"), ("D-10", "A", "2025-03-04", "6000")])
    ledger = run(plan_book(tmp_path, commission()), roster("A"), deals, {"A": "20000"})
    # same close date: "D-10" sorts before "D-2", so D-10 fills 0-6,000 and D-2 straddles 10,000
    assert ledger["deal_ids"].tolist() == ["D-10;D-2", "D-2"]
    assert amounts(ledger) == [400_00, 120_00]


def test_retroactive_tiers_pay_the_reached_rate_on_all_credit(tmp_path):
    ledger = run(plan_book(tmp_path, commission("retroactive")), roster("A"), credited(STRADDLE), {"A": "20000"})
    assert amounts(ledger) == [2_400_00]  # 120% reached: 10% x 24,000
    assert ledger["band"].tolist() == ["100%+"]


def test_per_deal_tiers_start_each_deal_from_zero(tmp_path):
    comp = """
  - id: big_deal
    kind: commission
    method: per_deal
    basis: amount
    tiers:
      - {from: 0, rate: 5%}
      - {from: 5000, rate: 8%}
"""
    deals = credited([("D1", "A", "2025-03-01", "8000"), ("D2", "A", "2025-03-02", "3000")])
    ledger = run(plan_book(tmp_path, comp), roster("A"), deals, {})
    # D1: 5,000 x 5% + 3,000 x 8% = 490; D2: 3,000 x 5% = 150
    assert amounts(ledger) == [250_00, 240_00, 150_00]
    assert ledger["deal_ids"].tolist() == ["D1", "D1", "D2"]


def test_amount_bands_and_half_up_rounding_once_per_line(tmp_path):
    comp = """
  - id: commission
    kind: commission
    basis: amount
    tiers:
      - {from: 0, rate: 5%}
      - {from: 10000.00, rate: 7.5%}
"""
    deals = credited([("D1", "A", "2025-03-01", "10000.00"), ("D2", "A", "2025-03-02", "0.10")])
    ledger = run(plan_book(tmp_path, comp), roster("A"), deals, {})
    assert amounts(ledger) == [500_00, 1]  # 7.5% x 0.10 = 0.0075 -> 0.01 (half-up)


def test_jpy_has_no_minor_unit(tmp_path):
    book = plan_book(tmp_path, commission(), currency="JPY")
    deals = credited([("D1", "A", "2025-03-01", "333333")], currency="JPY")
    ledger = run(book, roster("A", currency="JPY"), deals, {"A": "1000000"}, currency="JPY")
    assert amounts(ledger) == [13333]  # 4% x 333,333 = 13,333.32 -> 13,333 yen
    assert "333,333 JPY" in ledger["explanation"][0]


def test_threshold_pays_nothing_below_and_everything_above(tmp_path):
    book = plan_book(tmp_path, commission(extra="\n    threshold: 50%"))
    deals = credited([("D1", "A", "2025-03-01", "9999.99"), ("D2", "B", "2025-03-01", "10000")])
    ledger = run(book, roster("A", "B"), deals, {"A": "20000", "B": "20000"})
    assert amounts(ledger, "A") == [0]
    assert "below the 50% threshold" in ledger.loc[ledger["rep_id"] == "A", "explanation"].iloc[0]
    assert amounts(ledger, "B") == [400_00]


def test_csat_gate_on_accelerators_pays_them_at_the_rate_below(tmp_path):
    gate = "\n    gates:\n      - {measure: csat_pct, at_least: 80, applies_to: accelerators}"
    book = plan_book(tmp_path, commission(extra=gate))
    deals = credited(STRADDLE + [(d, "B", c, a) for d, _, c, a in STRADDLE])
    ledger = run(book, roster("A", "B"), deals, {"A": "20000", "B": "20000"}, sat={"A": (79.9, 4.0), "B": (80, 4.0)})
    assert amounts(ledger, "A") == [400_00, 600_00, 240_00]  # accelerator withheld: 6% x 4,000
    assert "accelerator rate 10% withheld: CSAT 79.9%" in ledger.loc[2, "explanation"]
    assert amounts(ledger, "B") == [400_00, 600_00, 400_00]


def test_ytd_attainment_gate_on_the_whole_component(tmp_path):
    gate = "\n    gates:\n      - {measure: attainment, period: ytd, at_least: 80%}"
    book = plan_book(tmp_path, commission(extra=gate))
    deals = credited(STRADDLE)
    att = attainment(deals, {"A": "20000"})
    att.loc[att["period"] == "ytd", ["actual", "target"]] = [79_00, 100_00]
    ledger = compute_ledger(MONTH, book, roster("A"), deals, att, satisfaction(), NO_EVENTS, None)
    assert amounts(ledger) == [0]
    assert ledger["explanation"][0] == "Not paid: YTD revenue attainment 79.0% (needs >= 80%)."


def test_component_cap_and_plan_cap_show_what_is_cut(tmp_path):
    bonus = """
  - id: bonus
    kind: bonus
    milestones: [{at: 100%, amount: 500}]
"""
    book = plan_book(tmp_path, commission(extra="\n    cap: 1000") + bonus, header="cap: 1200\n")
    ledger = run(book, roster("A"), credited(STRADDLE), {"A": "20000"})
    assert ledger["kind"].tolist() == ["commission"] * 3 + ["cap", "bonus", "cap"]
    assert amounts(ledger) == [400_00, 600_00, 400_00, -400_00, 500_00, -300_00]
    assert ledger.loc[5, "component"] == "plan_cap"
    assert ledger.loc[3, "explanation"] == (
        "Cap: component commission pays at most 1,000.00 USD; 1,400.00 USD earned, 400.00 USD cut off"
    )


def test_milestone_bonus_each_or_highest(tmp_path):
    comps = """
  - id: each
    kind: bonus
    milestones: [{at: 100%, amount: 1000}, {at: 120%, amount: 2000}]
  - id: top
    kind: bonus
    pay: highest
    milestones: [{at: 100%, amount: 1000}, {at: 120%, amount: 2000}]
"""
    deals = credited([("D1", "A", "2025-03-01", "24000"), ("D2", "B", "2025-03-01", "23999.99")])
    ledger = run(plan_book(tmp_path, comps), roster("A", "B"), deals, {"A": "20000", "B": "20000"})
    assert amounts(ledger, "A") == [1000_00, 2000_00, 2000_00]
    assert amounts(ledger, "B") == [1000_00, 1000_00]  # 119.99995% has not reached 120%


def test_quarterly_bonus_pays_in_the_last_month_of_the_quarter_on_qtd(tmp_path):
    comp = """
  - id: q
    kind: bonus
    period: quarter
    milestones: [{at: 100%, amount: 900}]
"""
    book = plan_book(tmp_path, comp)
    deals = credited([("D1", "A", "2025-02-03", "30000")], month="2025-02")
    assert run(book, roster("A"), deals, {"A": "10000"}, month="2025-02").empty  # not a quarter end
    deals = credited([("D1", "A", "2025-03-03", "30000")])
    att = attainment(deals, {"A": "10000"})
    att.loc[att["period"] == "qtd", ["actual", "target"]] = [30_000_00, 30_000_00]
    att.loc[att["period"] == "month", ["actual", "target"]] = [0, 10_000_00]
    ledger = compute_ledger(MONTH, book, roster("A"), deals, att, satisfaction(), NO_EVENTS, None)
    assert amounts(ledger) == [900_00]
    assert "QTD" in ledger["explanation"][0]


def test_team_bonus_uses_the_teams_attainment(tmp_path):
    comp = """
  - id: team
    kind: team_bonus
    milestones: [{at: 100%, amount: 750}]
"""
    reps = pd.concat([roster("A", "B", team="North"), roster("C", team="South")])
    team_rows = [
        {"scope": "team", "scope_id": "North", "actual": 100_00, "target": 100_00},
        {"scope": "team", "scope_id": "South", "actual": 99_99, "target": 100_00},
    ]
    ledger = run(plan_book(tmp_path, comp), reps, credited([]), {}, extra=team_rows)
    assert amounts(ledger, "A") == amounts(ledger, "B") == [750_00]
    assert amounts(ledger, "C") == [0]
    assert "team North's" in ledger.loc[ledger["rep_id"] == "A", "explanation"].iloc[0]


def test_spiff_per_deal_and_rate_with_product_and_date_filters(tmp_path):
    comps = """
  - id: per_deal
    kind: spiff
    products: [GTX Pro]
    valid_from: 2025-03-10
    valid_until: 2025-03-31
    per_deal: 250
  - id: rate
    kind: spiff
    products: [GTX Pro]
    rate: 2%
"""
    deals = credited(
        [
            ("D1", "A", "2025-03-01", "1000", "GTX Pro"),
            ("D2", "A", "2025-03-12", "2000", "GTX Pro"),
            ("D3", "A", "2025-03-15", "3000", "GTX Pro"),
            ("D4", "A", "2025-03-20", "4000", "Other"),
        ]
    )
    ledger = run(plan_book(tmp_path, comps), roster("A"), deals, {})
    assert amounts(ledger) == [500_00, 120_00]  # D2, D3 x 250; 2% x 6,000
    assert ledger["deal_ids"].tolist() == ["D2;D3", "D1;D2;D3"]


def test_csat_penalty_is_a_visible_negative_line(tmp_path):
    penalty = """
  - id: quality
    kind: penalty
    when: {measure: csat_mean, below: 3.5}
    multiplier: 0.9
"""
    book = plan_book(tmp_path, commission() + penalty)
    deals = credited(STRADDLE + [(d, "B", c, a) for d, _, c, a in STRADDLE])
    ledger = run(book, roster("A", "B"), deals, {"A": "20000", "B": "20000"}, sat={"A": (70, 3.49), "B": (90, 3.5)})
    assert amounts(ledger, "A") == [400_00, 600_00, 400_00, -140_00]
    assert ledger.loc[3, "kind"] == "penalty"
    assert amounts(ledger, "B") == [400_00, 600_00, 400_00]


def test_penalty_ignores_reps_without_enough_responses(tmp_path):
    penalty = "\n  - id: quality\n    kind: penalty\n    when: {measure: csat_mean, below: 3.5}\n    amount: 100\n"
    book = plan_book(tmp_path, commission() + penalty)
    sat = satisfaction({"A": (10, 1.0)})
    sat["enough"] = False
    att = attainment(credited(STRADDLE), {"A": "20000"})
    ledger = compute_ledger(MONTH, book, roster("A"), credited(STRADDLE), att, sat, NO_EVENTS, None)
    assert "penalty" not in set(ledger["kind"])


DRAW_PLAN = """
  - id: commission
    kind: commission
    basis: amount
    tiers:
      - {from: 0, rate: 10%}
"""


def test_recoverable_draw_is_advanced_then_recovered_over_months(tmp_path):
    book = plan_book(tmp_path, DRAW_PLAN, header="draw: {kind: recoverable, amount: 3000, until: 2025-02}\n")
    reps = roster("A")
    history = None
    paid = []
    for month, credit in (("2025-01", "14000"), ("2025-02", "40000"), ("2025-03", "20000")):
        deals = credited([(f"D{month}", "A", f"{month}-10", credit)], month=month)
        ledger = run(book, reps, deals, {}, month=month, history=history)
        pay = payouts(ledger, reps, month, history)
        paid.append((amounts(ledger), int(pay["payable_minor"][0]), int(pay["draw_balance_minor"][0])))
        history = ledger if history is None else pd.concat([history, ledger], ignore_index=True)
    assert paid == [
        ([1400_00, 1600_00], 3000_00, 1600_00),  # earned 1,400: 1,600 advanced
        ([4000_00, -1000_00], 3000_00, 600_00),  # earned 4,000: 1,000 above the draw recovers
        ([2000_00, -600_00], 1400_00, 0),  # draw ended: the remaining 600 is recovered
    ]


def test_guarantee_tops_up_and_is_never_recovered(tmp_path):
    book = plan_book(tmp_path, DRAW_PLAN, header="draw: {kind: guarantee, amount: 2000}\n")
    reps = roster("A")
    jan = run(book, reps, credited([("D1", "A", "2025-01-10", "5000")], month="2025-01"), {}, month="2025-01")
    feb = run(
        book, reps, credited([("D2", "A", "2025-02-10", "50000")], month="2025-02"), {}, month="2025-02", history=jan
    )
    assert amounts(jan) == [500_00, 1500_00] and jan["kind"].tolist() == ["commission", "guarantee"]
    assert amounts(feb) == [5000_00]


def test_draw_for_new_hires_only_in_their_first_months(tmp_path):
    book = plan_book(tmp_path, DRAW_PLAN, header="draw: {kind: recoverable, amount: 1000, first_months: 2}\n")
    reps = pd.concat([roster("NEW", hire="2025-02-15"), roster("OLD", hire="2023-01-01")])
    ledger = run(book, reps, credited([]), {})
    assert ledger.loc[ledger["kind"] == "draw", "rep_id"].tolist() == ["NEW"]


def clawback_events(rows, month="2025-04"):
    """rows: (deal_id, rep_id, close_date, cancelled_date, credit)."""
    return pd.DataFrame(
        [
            {
                "month": month,
                "deal_id": d,
                "rep_id": r,
                "cancelled_date": pd.Timestamp(x),
                "close_date": pd.Timestamp(c),
                "credit_minor": to_minor(a, "USD"),
                "plan_currency": "USD",
                "reason": "refund",
            }
            for d, r, c, x, a in rows
        ]
    )


def test_clawback_at_the_rate_originally_paid_including_a_straddled_deal(tmp_path):
    book = plan_book(tmp_path, commission(), header="clawback: {window_days: 90}\n")
    march = run(book, roster("A"), credited(STRADDLE), {"A": "20000"})
    april_deals = pd.concat([credited(STRADDLE), credited([("D9", "A", "2025-04-02", "1000")], month="2025-04")])
    april_deals["month"] = "2025-04"
    events = clawback_events(
        [
            ("D1", "A", "2025-03-01", "2025-04-10", "8000"),
            ("D3", "A", "2025-03-02", "2025-04-20", "6000"),
            ("D2", "A", "2025-03-05", "2025-06-30", "10000"),
        ]
    )
    april = run(book, roster("A"), april_deals, {"A": "20000"}, month="2025-04", events=events, history=march)
    claw = april[april["kind"] == "clawback"]
    # D1: 4% x 8,000; D3 straddled: 4% x 2,000 and 6% x 4,000; D2 cancelled after 117 days: outside
    assert claw["amount_minor"].tolist() == [-320_00, -80_00, -240_00, 0]
    assert claw["base_minor"].tolist()[:3] == [8000_00, 2000_00, 4000_00]
    assert claw["deal_ids"].tolist() == ["D1", "D3", "D3", "D2"]
    assert claw["component"].tolist() == ["commission", "commission", "commission", "clawback"]
    assert "outside the 90-day clawback window" in claw["explanation"].iloc[3]
    assert "paid in 2025-03" in claw["explanation"].iloc[0]


def test_clawback_of_a_deal_straddling_when_the_next_deal_straddles_too(tmp_path):
    book = plan_book(tmp_path, commission(), header="clawback: {window_months: 3}\n")
    march = run(book, roster("A"), credited(STRADDLE), {"A": "20000"})
    events = clawback_events([("D2", "A", "2025-03-05", "2025-04-01", "10000")])
    april = run(book, roster("A"), credited(STRADDLE), {"A": "20000"}, month="2025-04", events=events, history=march)
    # D2 filled 14,000-24,000: 6,000 at 6% and 4,000 at 10%
    assert april.loc[april["kind"] == "clawback", "amount_minor"].tolist() == [-360_00, -400_00]


def test_leavers_are_not_paid_and_reps_without_plan_are_skipped(tmp_path):
    reps = roster("A", "B", "C")
    reps.loc[1, "leave_date"] = pd.Timestamp("2025-02-28")
    reps.loc[2, "plan_id"] = ""
    ledger = run(plan_book(tmp_path, commission()), reps, credited(STRADDLE), {"A": "20000"})
    assert set(ledger["rep_id"]) == {"A"}


def test_plan_currency_must_match_the_credit(tmp_path):
    book = plan_book(tmp_path, commission(), currency="CNY")
    with pytest.raises(ValueError, match=r"credited in USD but plan p .* pays in CNY"):
        run(book, roster("A"), credited(STRADDLE), {"A": "20000"})


# ---------------------------------------------------------------- properties

credits = st.lists(st.integers(min_value=0, max_value=5_000_000), min_size=1, max_size=12)


def _commission_total(tmp_path, method: str, cents: list[int], target: int = 20_000_00) -> int:
    deals = credited([(f"D{i:02d}", "A", f"2025-03-{i % 28 + 1:02d}", str(c / 100)) for i, c in enumerate(cents)])
    deals["credit_minor"] = np.array(cents, dtype=np.int64)
    att = attainment(deals, {"A": str(target / 100)})
    book = plan_book(tmp_path, commission(method))
    return int(
        compute_ledger(MONTH, book, roster("A"), deals, att, satisfaction(), NO_EVENTS, None)["amount_minor"].sum()
    )


@settings(max_examples=12, deadline=None)
@given(cents=credits, extra=st.integers(min_value=1, max_value=5_000_000))
def test_marginal_commission_never_decreases_when_credit_grows(tmp_path_factory, cents, extra):
    tmp = tmp_path_factory.mktemp("p")
    before = _commission_total(tmp, "marginal", cents)
    grown = [*cents[:-1], cents[-1] + extra]
    assert _commission_total(tmp, "marginal", grown) >= before
    assert _commission_total(tmp, "marginal", [*cents, extra]) >= before


@settings(max_examples=12, deadline=None)
@given(cents=credits)
def test_retroactive_pays_at_least_marginal_when_rates_rise(tmp_path_factory, cents):
    tmp = tmp_path_factory.mktemp("p")
    assert _commission_total(tmp, "retroactive", cents) >= _commission_total(tmp, "marginal", cents)


@settings(max_examples=10, deadline=None)
@given(
    cents=st.lists(st.integers(min_value=0, max_value=3_000_000), min_size=0, max_size=10),
    csat=st.floats(min_value=1, max_value=5),
)
def test_ledger_total_equals_payout_total(tmp_path_factory, cents, csat):
    tmp = tmp_path_factory.mktemp("p")
    penalty = "\n  - id: q\n    kind: penalty\n    when: {measure: csat_mean, below: 3.5}\n    multiplier: 0.85\n"
    book = plan_book(
        tmp, commission(extra="\n    cap: 1500") + penalty, header="draw: {kind: recoverable, amount: 800}\ncap: 1400\n"
    )
    deals = credited([(f"D{i}", "AB"[i % 2], "2025-03-03", str(c / 100)) for i, c in enumerate(cents)])
    deals["credit_minor"] = np.array(cents, dtype=np.int64)
    ledger = run(book, roster("A", "B"), deals, {"A": "10000", "B": "10000"}, sat={"A": (50, csat), "B": (90, 4.5)})
    pay = payouts(ledger, roster("A", "B"), MONTH)
    assert int(pay["payable_minor"].sum()) == int(ledger["amount_minor"].sum())
    per_rep = ledger.groupby("rep_id")["amount_minor"].sum()
    assert (pay.set_index("rep_id")["payable_minor"] == per_rep.reindex(pay["rep_id"]).to_numpy()).all()


def test_docs_amount_band_example(tmp_path):
    comp = """
  - id: commission
    kind: commission
    basis: amount
    tiers:
      - {from: 0, rate: 5%}
      - {from: "10,000.00", rate: 10%}
"""
    ledger = run(plan_book(tmp_path, comp), roster("A"), credited(STRADDLE), {})
    assert amounts(ledger) == [500_00, 1400_00]
    assert ledger["band"].tolist() == ["0.00-10,000.00", "10,000.00+"]


def test_team_bonus_of_the_team_a_manager_manages(tmp_path):
    comp = """
  - id: team
    kind: team_bonus
    team: managed
    milestones: [{at: 90%, amount: 100}, {at: 100%, amount: 200}]
"""
    rows = [{"scope": "manager", "scope_id": "M", "actual": 95_00, "target": 100_00}]
    ledger = run(plan_book(tmp_path, comp), roster("M"), credited([]), {}, extra=rows)
    assert amounts(ledger, "M") == [100_00]
    assert ledger["explanation"][0] == "Milestone bonus: your managed team's month revenue attainment 95.0% reached 90%"


def test_gate_on_an_actual_count_and_threshold_on_an_amount(tmp_path):
    comp = """
  - id: commission
    kind: commission
    basis: amount
    threshold: 10000
    tiers:
      - {from: 0, rate: 10%, accelerator: false}
      - {from: 20000, rate: 15%, accelerator: true}
    gates:
      - {measure: actual, metric: new_accounts, at_least: 3, applies_to: accelerators}
"""
    deals = credited(
        [("A1", "A", "2025-03-01", "24000"), ("B1", "B", "2025-03-01", "24000"), ("C1", "C", "2025-03-01", "9999.99")]
    )
    logos = [
        {"scope": "rep", "scope_id": r, "metric": "new_accounts", "actual": n, "target": pd.NA}
        for r, n in (("A", 3), ("B", 2), ("C", 5))
    ]
    ledger = run(plan_book(tmp_path, comp), roster("A", "B", "C"), deals, {}, extra=logos)
    assert amounts(ledger, "A") == [2000_00, 600_00]  # 10% x 20,000 + 15% x 4,000
    assert amounts(ledger, "B") == [2000_00, 400_00]  # accelerator withheld: 10% x 4,000
    assert "withheld: month new_accounts 2 (needs >= 3)" in ledger.loc[ledger["rep_id"] == "B", "explanation"].iloc[1]
    assert amounts(ledger, "C") == [0]
    assert (
        "Credit 9,999.99 USD is below the 10,000.00 USD threshold"
        in ledger.loc[ledger["rep_id"] == "C", "explanation"].iloc[0]
    )


def test_quarterly_commission_accumulates_the_quarter_in_close_date_order(tmp_path):
    book = plan_book(tmp_path, commission(extra="\n    period: quarter"))
    deals = credited(
        [("J1", "A", "2025-01-20", "12000"), ("F1", "A", "2025-02-10", "12000"), ("M1", "A", "2025-03-05", "12000")]
    )
    att = attainment(deals, {"A": "10000"})
    att.loc[att["period"] == "qtd", ["actual", "target"]] = [36_000_00, 30_000_00]
    ledger = compute_ledger(MONTH, book, roster("A"), deals, att, satisfaction(), NO_EVENTS, None)
    # QTD target 30,000: 4% x 15,000 (J1, F1) + 6% x 15,000 (F1, M1) + 10% x 6,000 (M1)
    assert amounts(ledger) == [600_00, 900_00, 600_00]
    assert ledger["deal_ids"].tolist() == ["J1;F1", "F1;M1", "M1"]
    assert "target of FY2025 Q1 (QTD)" in ledger["explanation"][0]


CLAWBACK_PLAN_HEADER = "clawback: {window_days: 120}\n"


def months_of_negative_balance(tmp_path, reps, months):
    """Run ``months`` ((month, [(deal, credit)], [(cancelled deal, close, cancelled, credit)])) in order.

    Returns each month's (ledger, payouts); the history grows like the pipeline's.
    ``payout_of(payouts)`` is rep A's row.
    """
    book = plan_book(tmp_path, DRAW_PLAN, header=CLAWBACK_PLAN_HEADER)
    history, out = None, []
    for month, deals, cancelled in months:
        rows = credited([(d, "A", f"{month}-05", c) for d, c in deals], month=month)
        events = (
            clawback_events([(d, "A", close, x, c) for d, close, x, c in cancelled], month=month) if cancelled else None
        )
        ledger = run(book, reps, rows, {}, month=month, events=events, history=history)
        pay = payouts(ledger, reps, month, history)
        reconcile(pay, ledger)  # the finance export's check: payable = sum of the lines, to the cent
        out.append((ledger, pay))
        history = ledger if history is None else pd.concat([history, ledger], ignore_index=True)
    return out


def payout_of(pay: pd.DataFrame, rep: str = "A") -> pd.Series:
    return pay.set_index("rep_id").loc[rep]


def test_a_clawback_larger_than_earnings_is_carried_forward_and_recovered_later(tmp_path):
    (_mar, mar_pay), (apr, apr_pay), (may, may_pay), (jun, jun_pay) = months_of_negative_balance(
        tmp_path,
        roster("A"),
        [
            ("2025-03", [("D1", "50000")], []),  # 10%: 5,000.00 paid
            ("2025-04", [("D2", "2000")], [("D1", "2025-03-05", "2025-04-10", "50000")]),  # 200 - 5,000 = -4,800
            ("2025-05", [("D3", "30000")], []),  # 3,000 recovers part
            ("2025-06", [("D4", "50000")], []),  # 5,000: 1,800 recovers the rest
        ],
    )
    mar_pay, apr_pay, may_pay, jun_pay = (payout_of(p) for p in (mar_pay, apr_pay, may_pay, jun_pay))
    assert mar_pay["payable_minor"] == 5000_00 and mar_pay["carried_balance_minor"] == 0
    assert apr[["kind", "amount_minor", "for_month"]].values.tolist() == [
        ["commission", 200_00, "2025-04"],
        ["clawback", -5000_00, "2025-04"],
        ["carry_forward", 4800_00, "2025-04"],
    ]
    assert apr["explanation"].iloc[2] == (
        "Carried forward: this month's lines sum to -4,800.00 USD (more recovered than earned), so nothing is "
        "paid and 4,800.00 USD becomes a balance recovered from later earnings; balance now 4,800.00 USD"
    )
    assert apr["base_minor"].iloc[2] == -4800_00 and apr["component"].iloc[2] == "balance"
    assert (
        apr_pay["earnings_minor"],
        apr_pay["carried_minor"],
        apr_pay["payable_minor"],
        apr_pay["carried_balance_minor"],
    ) == (-4800_00, 4800_00, 0, 4800_00)
    # May earns 3,000 < 4,800: all of it recovers, nothing is paid, 1,800 still owed
    assert may[["kind", "amount_minor", "for_month", "line_no"]].values.tolist() == [
        ["commission", 3000_00, "2025-05", 1],
        ["recovery", -3000_00, "2025-04", 2],
    ]
    assert may["explanation"].iloc[1] == (
        "Recovery of the balance carried forward from 2025-04: 3,000.00 USD of this month's 3,000.00 USD payable; "
        "1,800.00 USD of it still to recover"
    )
    assert (may_pay["payable_minor"], may_pay["carried_balance_minor"]) == (0, 1800_00)
    # June earns 5,000: 1,800 recovers the rest, 3,200 is paid
    assert jun["amount_minor"].tolist() == [5000_00, -1800_00]
    assert (jun_pay["carried_minor"], jun_pay["payable_minor"], jun_pay["carried_balance_minor"]) == (
        -1800_00,
        3200_00,
        0,
    )
    # over the four months the rep is paid exactly what was earned net of the clawback
    paid = sum(int(p["payable_minor"]) for p in (mar_pay, apr_pay, may_pay, jun_pay))
    assert paid == 5000_00 + 200_00 - 5000_00 + 3000_00 + 5000_00


def test_a_leaver_with_a_carried_balance_is_reported_not_forgiven(tmp_path):
    reps = roster("A")
    reps["leave_date"] = pd.Timestamp("2025-04-20")
    _, (apr, apr_pay) = months_of_negative_balance(
        tmp_path,
        reps,
        [
            ("2025-03", [("D1", "10000")], []),
            ("2025-04", [], [("D1", "2025-03-05", "2025-04-10", "10000")]),
        ],
    )
    apr_pay = payout_of(apr_pay)
    assert apr["kind"].tolist() == ["commission", "clawback", "carry_forward", "recovery"]
    assert apr["amount_minor"].tolist() == [0, -1000_00, 1000_00, 0]
    assert apr["explanation"].iloc[3] == (
        "Not recovered: the rep leaves on 2025-04-20 with 1,000.00 USD of carried balance outstanding; it is "
        "reported here for finance to settle, not forgiven"
    )
    assert (apr_pay["payable_minor"], apr_pay["carried_balance_minor"]) == (0, 1000_00)
