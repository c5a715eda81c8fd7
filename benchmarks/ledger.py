"""Benchmark: the incentive ledger for 5,000 reps with 1,000,000 credited deals in one month.

Synthetic data (seeded) run through the example plans of docs/examples/plans
(marginal tiers with an accelerator and a CSAT gate, milestone bonus, SPIFF,
penalty, caps, a recoverable draw, team bonus for managers) plus 2,000 clawback
events. Prints the time of ``compute_ledger`` and of ``payouts`` (best of runs).

    .venv/bin/python benchmarks/ledger.py [--reps 5000] [--deals 1000000] [--runs 3]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

from attain.pay.ledger import compute_ledger
from attain.pay.payouts import payouts
from attain.pay.plans import load_plans

REPO = Path(__file__).resolve().parents[1]
PRODUCTS = np.array(["Helio Core", "Helio Enterprise", "Helio Analytics", "Connector Pack"], dtype=object)
MONTH = "2026-09"  # a quarter end: quarterly components pay too


def synthetic(n_reps: int, n_deals: int, seed: int = 7) -> dict[str, pd.DataFrame]:
    """Roster, credited deals, attainment, satisfaction and clawback events for one month."""
    rng = np.random.default_rng(seed)
    rep_ids = np.array([f"R{i:05d}" for i in range(n_reps)], dtype=object)
    is_mgr = np.arange(n_reps) % 10 == 0
    cny = np.arange(n_reps) % 2 == 1
    team = np.array([f"T{i // 10:04d}" for i in range(n_reps)], dtype=object)
    plan = np.where(is_mgr, np.where(cny, "mgr_cny", "mgr_usd"), np.where(cny, "ae_cny", "ae_usd"))
    ccy = np.where(cny, "CNY", "USD")
    reps = pd.DataFrame(
        {
            "rep_id": rep_ids,
            "name": rep_ids,
            "email": [f"{r}@example.com" for r in rep_ids],
            "role": np.where(is_mgr, "manager", "rep"),
            "team": team,
            "plan_id": plan,
            "currency": ccy,
            "hire_date": pd.Timestamp("2024-06-01"),
            "leave_date": pd.NaT,
            "valid_from": "",
        }
    )
    owner = rng.integers(0, n_reps, n_deals)
    day = rng.integers(1, 31, n_deals)
    credited = pd.DataFrame(
        {
            "month": MONTH,
            "credit_month": MONTH,
            "deal_id": [f"D{i:07d}" for i in range(n_deals)],
            "rep_id": rep_ids[owner],
            "role": "owner",
            "close_date": pd.Timestamp("2026-09-01") + pd.to_timedelta(day - 1, unit="D"),
            "product": rng.choice(PRODUCTS, n_deals),
            "account": "Acme",
            "plan_currency": ccy[owner],
            "credit_minor": rng.integers(10_000, 2_000_000, n_deals).astype(np.int64),
        }
    )
    actual = credited.groupby("rep_id")["credit_minor"].sum().reindex(rep_ids).fillna(0).astype(np.int64)
    target = rng.integers(100, 300, n_reps).astype(np.int64) * 100_000_00 // 100
    rep_rows = [
        pd.DataFrame(
            {
                "month": MONTH,
                "scope": "rep",
                "scope_id": rep_ids,
                "metric": "revenue",
                "period": p,
                "currency": ccy,
                "actual": actual.to_numpy() * k,
                "target": target * k,
            }
        )
        for p, k in (("month", 1), ("qtd", 3), ("ytd", 3))
    ]
    team_actual = actual.groupby(team).sum()
    team_target = pd.Series(target, index=rep_ids).groupby(team).sum()
    team_rows = pd.DataFrame(
        {
            "month": MONTH,
            "scope": "team",
            "scope_id": team_actual.index,
            "metric": "revenue",
            "period": "month",
            "currency": "USD",
            "actual": team_actual.to_numpy(),
            "target": team_target.to_numpy(),
        }
    )
    manager_rows = team_rows.assign(scope="manager", scope_id=rep_ids[is_mgr])  # each team's first rep manages it
    attainment = pd.concat([*rep_rows, team_rows, manager_rows], ignore_index=True)
    satisfaction = pd.DataFrame(
        {
            "month": MONTH,
            "rep_id": rep_ids,
            "responses": 12,
            "csat_pct": rng.uniform(60, 100, n_reps).round(1),
            "csat_mean": rng.uniform(3, 5, n_reps).round(2),
            "nps": 20.0,
            "enough": True,
            "window": "month",
        }
    )
    cancelled = credited.sample(2000, random_state=seed)
    events = pd.DataFrame(
        {
            "month": MONTH,
            "deal_id": cancelled["deal_id"],
            "rep_id": cancelled["rep_id"],
            "cancelled_date": pd.Timestamp("2026-09-30"),
            "close_date": cancelled["close_date"],
            "credit_minor": cancelled["credit_minor"],
            "plan_currency": cancelled["plan_currency"],
            "reason": "refund",
        }
    )
    return {
        "reps": reps,
        "credited": credited,
        "attainment": attainment,
        "satisfaction": satisfaction,
        "clawback_events": events,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5000)
    parser.add_argument("--deals", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    data = synthetic(args.reps, args.deals)
    plans = load_plans(REPO / "docs" / "examples" / "plans")
    best_ledger = best_cpu = best_payouts = float("inf")
    for _ in range(args.runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        ledger = compute_ledger(
            MONTH,
            plans,
            data["reps"],
            data["credited"],
            data["attainment"],
            data["satisfaction"],
            data["clawback_events"],
            None,
        )
        mid, mid_cpu = time.perf_counter(), time.process_time()
        paid = payouts(ledger, data["reps"], MONTH)
        end = time.perf_counter()
        best_ledger, best_cpu = min(best_ledger, mid - start), min(best_cpu, mid_cpu - start_cpu)
        best_payouts = min(best_payouts, end - mid)
    assert int(paid["payable_minor"].sum()) == int(ledger["amount_minor"].sum())
    print(
        f"ledger: {args.reps:,} reps, {args.deals:,} credited deals -> {len(ledger):,} lines "
        f"in {best_ledger:.2f} s wall, {best_cpu:.2f} s CPU (best of {args.runs}); payouts {best_payouts:.2f} s"
    )


if __name__ == "__main__":
    main()
