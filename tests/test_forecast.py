"""The earnings forecast (attain.pay.forecast) against a hand computation, and in the rep's pack."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from attain import stages
from attain.ingest.load import Inputs
from attain.pay.forecast import MonthState, earnings_forecast
from attain.pay.plans import load_plans
from tests import measures_builders as build

MONTH = "2025-03"
PLAN = """\
plan_id: p1
currency: USD
components:
  - id: commission
    kind: commission
    tiers:
      - {from: 0, rate: 5%}
      - {from: 100%, rate: 10%, accelerator: true}
  - id: club
    kind: bonus
    milestones:
      - {at: 120%, amount: 500}
"""


def forecast(tmp_path: Path) -> pd.DataFrame:
    """Rep A: target 10,000.00; 6,000.00 won in March; 2 won and 3 lost in the 12 months (win rate 40%);
    open deals of 5,000.00 and 2,500.00 (expected credit 2,000.00 + 1,000.00)."""
    (tmp_path / "plans").mkdir()
    (tmp_path / "plans" / "p1.yaml").write_text(PLAN, encoding="utf-8")
    plans = load_plans(tmp_path / "plans")
    won = {"owner_id": "A", "stage": "won"}
    deals = build.deals(
        {"deal_id": "D1", **won, "amount_minor": 600_000, "close_date": "2025-03-12"},
        {"deal_id": "D2", **won, "amount_minor": 100_000, "close_date": "2025-01-20"},
        *({"deal_id": f"L{i}", "owner_id": "A", "stage": "lost", "close_date": "2025-02-10"} for i in range(3)),
        {"deal_id": "O1", "owner_id": "A", "stage": "open", "amount_minor": 500_000},
        {"deal_id": "O2", "owner_id": "A", "stage": "open", "amount_minor": 250_000},
    )
    inputs = Inputs(
        deals=deals,
        credit_splits=build.splits(),
        reps=build.reps({"rep_id": "A"}),
        targets=build.targets(
            *(("rep", "A", m, "revenue", "10000", "2025-01-01") for m in ("2025-01", "2025-02", MONTH))
        ),
        fx_rates=build.fx(),
        surveys=build.surveys(),
        disputes=build.disputes(),
    )
    settings = build.SETTINGS
    measures = stages.measures_of_month(inputs, MONTH, settings)
    ledger = stages.ledger_of_month(MONTH, plans, inputs.reps, measures, None, settings)
    state = MonthState(
        month=MONTH,
        plans=plans,
        reps=inputs.reps,
        deals=deals,
        fx_rates=inputs.fx_rates,
        in_force=stages.targets_of_month(inputs.targets, inputs.reps, MONTH, settings).in_force,
        credited=measures.credited_deals,
        satisfaction=measures.satisfaction,
        clawback_events=measures.clawback_events,
        history=None,
        settings=settings,
    )
    return earnings_forecast(state, measures.attainment, ledger)


def test_the_forecast_equals_a_hand_computation(tmp_path):
    row = forecast(tmp_path).set_index("rep_id").loc["A"]
    assert (row["open_count"], row["open_pipeline_minor"], row["win_rate_basis"]) == (2, 750_000, "rep")
    assert row["win_rate"] == 0.4
    assert row["expected_credit_minor"] == 300_000  # 40% of 5,000.00 + 40% of 2,500.00
    assert row["payout_now_minor"] == 30_000  # 5% x 6,000.00
    assert row["expected_payout_minor"] == 45_000  # 5% x 9,000.00
    assert row["payout_at_target_minor"] == 50_000  # 5% x 10,000.00
    # The 100% accelerator is the nearest threshold above 60%: 10,000.00 - 6,000.00.
    assert (row["next_step"], row["next_step_at"], row["next_step_component"]) == ("accelerator", "1", "commission")
    assert row["next_step_minor"] == 400_000
