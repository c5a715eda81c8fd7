"""The demo company: a deterministic, realistic data folder in the input contract.

``generate(out_dir)`` writes ``deals.csv``, ``credit_splits.csv``, ``reps.csv``,
``targets.csv``, ``fx_rates.csv`` and ``surveys.csv`` (docs/data-model.md, "Inputs")
and copies the example plans (``docs/examples/plans/*.yaml``) into ``out_dir/plans``.
It exists so that every stage, every pack and every demo can run on data that
looks like a real company's month end without anyone's real data.

The company (docs/demo-data.md describes it in full): 40 reps in six teams
under six managers and three regional heads, in Americas, EMEA and Greater
China. The two China teams have Chinese names, zh_CN packs and CNY plans and
deals; everyone else has an English pack and a USD plan, with EMEA deals mostly
in GBP and EUR and two yen deals in New York, so FX conversion matters. Over
the 24 months ending ``end_month`` it holds about 8,000 deals, with the cases
the pipeline has to handle on purpose: a hire and a leaver inside a month, a
team move (``valid_from``), target adjustments, a team target that disagrees
with its members' sum, an explicit "no target", splits and overlays,
cancellations (one inside ``end_month``), surveys (one rep with too few
responses) and a handful of bad deal rows for the quarantine (well under 5%).

Determinism: all randomness comes from one ``numpy.random.Generator`` seeded
with ``seed``; nothing reads the clock; every file is sorted; so the same
arguments always give byte-identical files. Amounts are generated as integer
minor units and written as exact decimal text.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from attain.demo.basics import DEMO_MONTH, EXAMPLE_PLANS_DIR, INPUT_COLUMNS, TEAMS, _fx_rates, _fx_table
from attain.demo.deals import _cancel, _credit_splits, _deals, _surveys, _with_bad_rows
from attain.demo.people import _people, _roster
from attain.demo.targets import _targets
from attain.periods import add_months, month_span


def generate(
    out_dir: Path,
    *,
    seed: int = 7,
    end_month: str = DEMO_MONTH,
    months: int = 24,
    reps: int = 40,
) -> dict[str, Path]:
    """Write the demo company's input files into ``out_dir`` and return their paths.

    The keys are the table names (``deals``, ``credit_splits``, ``reps``,
    ``targets``, ``fx_rates``, ``surveys``) plus ``plans`` (the plans folder).
    ``reps`` counts sales reps (managers and heads come on top) and must be at
    least 12 so every team has the people its story needs.
    """
    if reps < 2 * len(TEAMS):
        raise ValueError(f"reps={reps}: the demo company needs at least {2 * len(TEAMS)} reps (two per team)")
    if months < 12:
        raise ValueError(f"months={months}: the demo needs at least 12 months of history")
    rng = np.random.default_rng(seed)
    window = month_span(add_months(end_month, -(months - 1)), end_month)
    fx = _fx_rates(rng, window)
    people = _people(rng, reps, window)
    deals = _deals(rng, people, fx, window)
    splits = _credit_splits(rng, deals, people)
    _cancel(rng, deals, window)
    surveys = _surveys(rng, deals, people, window)
    targets = _targets(deals, people, fx, window)
    deals_out = _with_bad_rows(deals, set(splits["deal_id"]) | set(surveys["deal_id"]), window)

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tables = {
        "deals": deals_out,
        "credit_splits": splits,
        "reps": _roster(people, window),
        "targets": targets,
        "fx_rates": _fx_table(fx, window),
        "surveys": surveys,
    }
    paths = {name: write_input_csv(df, out_dir, name) for name, df in tables.items()}
    paths["plans"] = copy_example_plans(out_dir)
    return paths


def write_input_csv(df: pd.DataFrame, out_dir: Path, name: str) -> Path:
    """Write table ``name`` as UTF-8 CSV in the contract's column order, ``\\n`` line ends."""
    path = Path(out_dir) / f"{name}.csv"
    df[INPUT_COLUMNS[name]].to_csv(path, index=False, lineterminator="\n", encoding="utf-8")
    return path


def copy_example_plans(out_dir: Path, source: Path | None = None) -> Path:
    """Copy every ``*.yaml`` of ``source`` (default: the demo's ``docs/examples/plans``) into ``out_dir/plans``."""
    plans_dir = Path(out_dir) / "plans"
    plans_dir.mkdir(parents=True, exist_ok=True)
    for plan in sorted(Path(source or EXAMPLE_PLANS_DIR).glob("*.yaml")):
        shutil.copyfile(plan, plans_dir / plan.name)
    return plans_dir
