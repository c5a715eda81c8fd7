"""Benchmark: ingest of one month, 1,000,000 deals for 5,000 reps: read + validate + store.

Generates a contract-layout data folder (the same synthetic deals as benchmarks/crm_ingest.py), then, in a
fresh process so that the memory figure is the stage's own, reports:

- read + validate: `attain.ingest.load.load_inputs` alone,
- the `validated_inputs` asset materialised with the real resources: the step's own duration (read +
  validate + store into the DuckDB file, as Dagster records it) and the whole `materialize()` call (adding
  Dagster's run start-up), and
- the peak resident memory of that process.

    .venv/bin/python benchmarks/ingest.py [--deals 1000000] [--reps 5000]

Target (issue 2): under 5 s and under 1.5 GB on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def write_folder(folder: Path, deals: int, reps: int) -> None:
    """The contract files: roster, one revenue target per rep, and the deals."""
    sys.path.insert(0, str(Path(__file__).parent))
    from crm_ingest import MONTH, synthetic

    roster, contract, _ = synthetic(deals, reps)
    folder.mkdir(parents=True, exist_ok=True)
    roster.to_csv(folder / "reps.csv", index=False)
    contract.to_csv(folder / "deals.csv", index=False)
    targets = (
        roster[["rep_id"]]
        .rename(columns={"rep_id": "scope_id"})
        .assign(
            scope="rep",
            month=MONTH,
            metric="revenue",
            amount="100000.00",
            effective_date=f"{MONTH}-01",
            reason="initial",
            author="bench",
        )
    )
    targets.to_csv(folder / "targets.csv", index=False)


def measure(folder: Path, var: Path) -> dict:
    """Materialise the ingest asset for the month; runs in the child process."""
    warnings.filterwarnings("ignore")
    from dagster import DagsterInstance, materialize

    from assets.ingest import validated_inputs
    from pipelines.resources import default_resources

    sys.path.insert(0, str(Path(__file__).parent))
    from crm_ingest import MONTH

    from attain.ingest.load import load_inputs
    from attain.settings import Settings

    timings = {}
    start = time.perf_counter()
    load_inputs(folder, MONTH, Settings())
    timings["read_validate_s"] = round(time.perf_counter() - start, 2)
    start = time.perf_counter()
    result = materialize(
        [validated_inputs],
        partition_key=MONTH,
        resources=default_resources(var=var, data_dir=folder),
        instance=DagsterInstance.ephemeral(),
    )
    timings["materialize_s"] = round(time.perf_counter() - start, 2)
    assert result.success
    [step] = [e for e in result.all_events if e.event_type_value == "STEP_SUCCESS"]
    timings["ingest_step_s"] = round(step.event_specific_data.duration_ms / 1000, 2)
    timings["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deals", type=int, default=1_000_000)
    parser.add_argument("--reps", type=int, default=5_000)
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure / "data", args.measure / "var")))
        return
    with tempfile.TemporaryDirectory() as tmp:
        write_folder(Path(tmp) / "data", args.deals, args.reps)
        out = subprocess.run(
            [sys.executable, __file__, "--measure", tmp], check=True, capture_output=True, text=True, cwd=REPO
        )
        figures = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"ingest, {args.deals:,} deals, {args.reps:,} reps, one month (2 cores):")
    print(f"  read + validate          {figures['read_validate_s']:6.2f} s")
    print(f"  asset step: read + validate + store in DuckDB {figures['ingest_step_s']:6.2f} s  (target < 5 s)")
    print(f"  whole materialize() call incl. Dagster run start-up {figures['materialize_s']:6.2f} s")
    print(f"  peak memory              {figures['peak_rss_mb']:6d} MB (target < 1,500 MB)")


if __name__ == "__main__":
    main()
