"""Benchmark: a year of 5,000 reps modelled under a draft plan, against computing those ledgers once.

The data is ``benchmarks/attainment.py``'s synthetic company (1,000,000 deals over 24 months, 5,000 reps in three
currencies, splits, overlays, surveys), each rep on a plan of their currency (marginal commission tiers with an
accelerator, a milestone bonus). The floor is the library doing the month-ends' pay alone: for each month of 2025,
the stages before the ledger and the ledger under the plans in force, each month's lines feeding the next.
The what-if (``attain.pay.whatif.compare``) does the same months under the plans in force and a draft (a higher
middle rate, a lower accelerator threshold) and compares them per rep and month. The goal: at most 2x the floor.

    .venv/bin/python benchmarks/whatif.py [--runs 1]
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from attain import stages
from attain.ingest.load import Inputs
from attain.pay import whatif
from attain.pay.plans import PlanBook, parse_plan_text
from attain.periods import month_span
from attain.settings import Settings
from benchmarks.attainment import build

MONTHS = month_span("2025-01", "2025-12")
PLAN = """\
plan_id: p_{ccy}
currency: {CCY}
components:
  - id: commission
    kind: commission
    tiers:
      - {{from: 0%, rate: 3%}}
      - {{from: 50%, rate: {middle}}}
      - {{from: {accelerator}, rate: 10%}}
  - id: quota_bonus
    kind: bonus
    milestones:
      - {{at: 100%, amount: 1000.00}}
"""


def book(middle: str, accelerator: str) -> PlanBook:
    """One plan per currency of the synthetic company."""
    out = PlanBook()
    for ccy in ("USD", "EUR", "GBP"):
        text = PLAN.format(ccy=ccy.lower(), CCY=ccy, middle=middle, accelerator=accelerator)
        out.versions[f"p_{ccy.lower()}"] = parse_plan_text(text, f"p_{ccy.lower()}.yaml")
        out.texts[f"p_{ccy.lower()}.yaml"] = text
    return out


def floor(inputs: Inputs, plans: PlanBook, settings: Settings) -> int:
    """The year's ledgers under ``plans``, once, chained month to month; returns the number of lines."""
    history: list[pd.DataFrame] = []
    for month in MONTHS:
        measures = stages.measures_of_month(inputs, month, settings)
        before = pd.concat(history, ignore_index=True) if history else None
        history.append(stages.ledger_of_month(month, plans, inputs.reps, measures, before, settings))
    return sum(len(h) for h in history)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1, help="best of this many runs of each")
    args = parser.parse_args()
    data = build()
    reps = data["reps"].assign(plan_id=lambda r: "p_" + r["currency"].str.lower())
    tables = {"deals": data["deals"], "credit_splits": data["splits"], "reps": reps, "targets": data["targets"]}
    tables |= {"fx_rates": data["fx"], "surveys": data["surveys"]}
    inputs = Inputs(**{f.name: tables.get(f.name, pd.DataFrame()) for f in dataclasses.fields(Inputs)})
    settings = Settings()
    now, draft = book("6%", "100%"), book("7%", "90%")
    best = {"floor": (float("inf"), float("inf")), "whatif": (float("inf"), float("inf"))}

    def timed(name: str, work):
        wall, cpu = time.perf_counter(), time.process_time()
        out = work()
        spent = (time.perf_counter() - wall, time.process_time() - cpu)
        best[name] = (min(best[name][0], spent[0]), min(best[name][1], spent[1]))
        return out

    for _ in range(args.runs):
        lines = timed("floor", lambda: floor(inputs, now, settings))
        result = timed("whatif", lambda: whatif.compare(inputs, now, draft, MONTHS, settings))
    assert len(result.now) == lines  # the what-if's "now" side is the floor's ledgers
    (floor_wall, floor_cpu), (whatif_wall, whatif_cpu) = best["floor"], best["whatif"]
    print(
        f"floor (the year's ledgers once): {len(reps):,} reps, 12 months, {lines:,} lines in "
        f"{floor_wall:.2f} s wall, {floor_cpu:.2f} s CPU"
    )
    print(
        f"what-if (both plans, compared): {len(result.rows):,} rep-months in "
        f"{whatif_wall:.2f} s wall, {whatif_cpu:.2f} s CPU"
    )
    for line in whatif.summary_lines(result.rows):
        print(f"  {line}")
    print(f"what-if / floor: {whatif_cpu / floor_cpu:.2f}x CPU, {whatif_wall / floor_wall:.2f}x wall (goal <= 2x)")


if __name__ == "__main__":
    main()
