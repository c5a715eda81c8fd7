"""Benchmark: credited deals + targets + attainment + satisfaction for one month-end.

1,000,000 deals over 24 months, 5,000 reps (500 teams, 10 regions, three levels of
managers), three currencies, 5% split deals, 2% overlays, 200,000 survey responses.
Prints the time of each stage and the total (target: under 3 s on 2 cores).

Run: ``.venv/bin/python benchmarks/attainment.py``
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from attain import periods
from attain.measures.attainment import attainment
from attain.measures.credit import credited_deals
from attain.measures.satisfaction import satisfaction
from attain.measures.targets import months_needed, targets_in_force
from attain.settings import Settings

MONTH = "2025-12"
N_DEALS, N_REPS, N_SURVEYS = 1_000_000, 5_000, 200_000


def build(seed: int = 7) -> dict[str, pd.DataFrame]:
    """Synthetic validated tables with the shapes of docs/data-model.md."""
    rng = np.random.default_rng(seed)
    ids = np.array([f"r{i:05d}" for i in range(N_REPS)], dtype=object)
    idx = np.arange(N_REPS)
    team_lead = (idx // 10) * 10
    region_head = (idx // 500) * 500
    manager = np.where(idx == region_head, "", np.where(idx == team_lead, ids[region_head], ids[team_lead]))
    reps = pd.DataFrame(
        {
            "rep_id": ids,
            "name": ids,
            "email": "",
            "role": np.where(idx == team_lead, "manager", "rep"),
            "manager_id": manager,
            "team": [f"T{t:03d}" for t in idx // 10],
            "region": [f"R{r}" for r in idx // 500],
            "hire_date": pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 1000, N_REPS), unit="D"),
            "leave_date": pd.NaT,
            "plan_id": "p1",
            "locale": "en",
            "currency": rng.choice(["USD", "EUR", "GBP"], N_REPS, p=[0.8, 0.1, 0.1]),
            "valid_from": "",
        }
    )
    start = pd.Timestamp("2024-01-01")
    created = start + pd.to_timedelta(rng.integers(0, 700, N_DEALS), unit="D")
    close = created + pd.to_timedelta(rng.integers(1, 120, N_DEALS), unit="D")
    stage = rng.choice(["won", "lost", "open"], N_DEALS, p=[0.4, 0.3, 0.3])
    end = pd.Timestamp(periods.month_end(MONTH))
    stage = np.where(close > end, "open", stage)
    deals = pd.DataFrame(
        {
            "deal_id": [f"d{i:07d}" for i in range(N_DEALS)],
            "owner_id": ids[rng.integers(0, N_REPS, N_DEALS)],
            "account": [f"A{a:05d}" for a in rng.integers(0, 50_000, N_DEALS)],
            "product": "P",
            "amount_minor": rng.integers(1_000, 10_000_000, N_DEALS),
            "currency": rng.choice(["USD", "EUR", "GBP"], N_DEALS, p=[0.7, 0.2, 0.1]),
            "stage": stage,
            "created_date": created,
            "close_date": close.where(stage != "open"),
            "cancelled_date": pd.NaT,
            "cancel_reason": "",
        }
    )
    won_ids = deals.loc[deals["stage"].eq("won"), "deal_id"].to_numpy()
    split_deals = rng.choice(won_ids, len(won_ids) // 20, replace=False)
    overlay_deals = rng.choice(won_ids, len(won_ids) // 50, replace=False)
    splits = pd.concat(
        [
            pd.DataFrame(
                {
                    "deal_id": split_deals,
                    "rep_id": ids[rng.integers(0, N_REPS, len(split_deals))],
                    "share": "60",
                    "role": "split",
                }
            ),
            pd.DataFrame(
                {
                    "deal_id": split_deals,
                    "rep_id": ids[rng.integers(0, N_REPS, len(split_deals))],
                    "share": "40",
                    "role": "split",
                }
            ),
            pd.DataFrame(
                {
                    "deal_id": overlay_deals,
                    "rep_id": ids[rng.integers(0, N_REPS, len(overlay_deals))],
                    "share": "50",
                    "role": "overlay",
                }
            ),
        ],
        ignore_index=True,
    )
    months = periods.month_span("2024-01", "2026-01")
    fx = pd.DataFrame(
        [(m, c, r) for m in months for c, r in (("EUR", "1.0834"), ("GBP", "1.2671"))],
        columns=["month", "currency", "rate"],
    )
    t_months = months_needed(MONTH)
    grid = pd.MultiIndex.from_product(
        [ids, t_months, ["revenue", "won_deals", "new_accounts"]], names=["scope_id", "month", "metric"]
    )
    targets = grid.to_frame(index=False).assign(
        scope="rep",
        effective_date=pd.Timestamp("2024-01-01"),
        reason="initial",
        author="ops",
        amount=lambda t: np.where(t["metric"].eq("revenue"), "250000.00", "4"),
    )
    surveys = pd.DataFrame(
        {
            "response_id": [f"s{i:06d}" for i in range(N_SURVEYS)],
            "deal_id": rng.choice(won_ids, N_SURVEYS),
            "account": "",
            "response_date": pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 365, N_SURVEYS), unit="D"),
            "score": rng.integers(1, 6, N_SURVEYS),
            "scale": "csat_1_5",
            "comment": "",
        }
    )
    return {"reps": reps, "deals": deals, "splits": splits, "fx": fx, "targets": targets, "surveys": surveys}


def main(repeats: int = 3) -> None:
    """Time each stage; the best of ``repeats`` runs is reported (the machine is shared)."""
    data = build()
    settings = Settings()
    best: dict[str, float] = {}

    def timed(stage, fn):
        t0 = time.perf_counter()
        out = fn()
        best[stage] = min(best.get(stage, float("inf")), time.perf_counter() - t0)
        return out

    for _ in range(repeats):
        credited = timed(
            "credited_deals",
            lambda: credited_deals(data["deals"], data["splits"], data["reps"], data["fx"], MONTH, settings),
        )
        tif = timed(
            "targets_in_force",
            lambda: targets_in_force(data["targets"], data["reps"], months_needed(MONTH), settings).in_force,
        )
        # timed() calls the lambda at once, inside this iteration: the loop's credited and tif are the right ones.
        table = timed("attainment", lambda: attainment(credited, data["deals"], tif, data["reps"], MONTH, settings))  # noqa: B023
        sat = timed("satisfaction", lambda: satisfaction(data["surveys"], data["deals"], data["reps"], MONTH, settings))
    for stage, seconds in best.items():
        print(f"{stage:18s} {seconds:6.2f} s")
    total = best["credited_deals"] + best["attainment"] + best["satisfaction"]
    print(f"credited rows {len(credited):,}, attainment rows {len(table):,}, satisfaction rows {len(sat):,}")
    print(
        f"credited deals + attainment + satisfaction: {total:.2f} s (target < 3 s); with targets_in_force: {sum(best.values()):.2f} s"
    )


if __name__ == "__main__":
    main()
