"""Benchmark: the month-end at scale, each stage's wall time and peak memory (issue 12).

A synthetic company (``--reps`` reps in teams of 10 under managers, 50 teams a region; ``--deals`` deals over
the 12 months ending with the run month; a target per rep, month and metric; the example USD plans; FX rates,
splits, cancellations and surveys) is written once into a temporary folder as the CSV files the real ingest
reads. Then each stage of the month-end runs in a fresh process, as a step of a multiprocess or Celery run
does: it loads its input tables from a DuckDB warehouse the way the IO manager does (its query for the
month's partition, ``attain.frames.fetch_frame``), computes with the same ``attain`` functions the assets
call, and stores its outputs back the way the IO manager does (``CREATE TABLE ... AS SELECT * FROM frame``).
Each stage's peak resident memory is the process's own high-water mark (``VmHWM``), and the mark after
loading and after computing says which phase made it. The review packs (PDF rendering) are out of scope:
this is the tables that feed them.

Floors, the libraries doing the same work alone in the same run, each in its own process:

- ``pyarrow.csv.read_csv`` of the same deals file (the ingest's floor);
- the credit aggregation (won amount per owner and month) in DuckDB SQL over the stored deals, with no
  pandas frame (the floor of the stages that load the deals).

    .venv/bin/python benchmarks/scale.py [--deals 10000000] [--reps 50000] [--only memory|warehouse|workers]

Sections, all in one run unless ``--only`` picks some: ``memory`` (above); ``warehouse``: writing and reading
``--warehouse-deals`` deals through each warehouse backend against the library alone (DuckDB's
``CREATE TABLE AS``, PostgreSQL's ``COPY``; benchmarks/warehouse_backends.py); ``workers``: packs per second of
the packs stage on 1 and 2 Celery workers against the multiprocess executor (benchmarks/celery_workers.py).

Target (issue 12): the largest step of 10M deals / 50,000 reps under 8 GB. Check ``free -g`` first: at
that size a step takes up to 8 GB, and the run took 45 minutes on a busy shared 2-core machine (``--deals
1000000 --reps 5000`` for a quick look).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

# The two other sections are their own benchmarks, beside this file (its folder is first on sys.path).
import celery_workers
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import warehouse_backends

REPO = Path(__file__).resolve().parents[1]
MONTH = "2026-10"
#: "today" for the ingest: the run is made the day after the month's end.
TODAY = dt.date(2026, 11, 1)
TARGET_MB = 8 * 1024
PRODUCTS = ["Helio Core", "Helio Enterprise", "Helio Analytics", "Connector Pack"]
#: Rows of deals generated and written at a time (the generator's own memory stays small).
CHUNK = 1_000_000


# ---------------------------------------------------------------- the synthetic company


def _text(values: pa.Array | np.ndarray, prefix: str, width: int) -> pa.Array:
    """``prefix`` + the integers zero-padded to ``width`` digits, vectorised in Arrow."""
    digits = pc.utf8_lpad(pc.cast(pa.array(values), pa.string()), width=width, padding="0")
    return pc.binary_join_element_wise(prefix, digits, "")


def _dates(days: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """ISO dates (days since 1970-01-01); blank (null) where ``valid`` is False."""
    array = pa.array(days.astype("int32"), type=pa.date32(), mask=None if valid is None else ~valid)
    return pc.cast(array, pa.string())


def _write(folder: Path, name: str, table: pa.Table) -> None:
    pa_csv.write_csv(table, folder / f"{name}.csv", pa_csv.WriteOptions(quoting_style="needed"))


def write_company(folder: Path, n_deals: int, n_reps: int, seed: int = 12) -> None:
    """The input files of a company of ``n_reps`` people and ``n_deals`` deals, as the ingest reads them."""
    from attain import periods
    from attain.measures.targets import months_needed

    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    idx = np.arange(n_reps)
    rep_ids = _text(idx, "R", 6)
    lead = (idx // 10) * 10
    is_manager = idx == lead
    manager_id = pc.take(rep_ids, pa.array(lead))
    _write(
        folder,
        "reps",
        pa.table(
            {
                "rep_id": rep_ids,
                "name": _text(idx, "Rep ", 6),
                "email": pc.binary_join_element_wise(rep_ids, "@acme.example", ""),
                "role": np.where(is_manager, "manager", "rep"),
                "manager_id": pa.array(manager_id.to_pylist(), mask=is_manager),
                "team": _text(idx // 10, "T", 5),
                "region": _text(idx // 500, "G", 3),
                "hire_date": pa.repeat("2023-01-02", n_reps),
                "leave_date": pa.nulls(n_reps, pa.string()),
                "plan_id": np.where(is_manager, "mgr_usd", "ae_usd"),
                "locale": pa.repeat("en", n_reps),
                "currency": pa.repeat("USD", n_reps),
                "valid_from": pa.nulls(n_reps, pa.string()),
            }
        ),
    )
    plans = folder / "plans"
    plans.mkdir(exist_ok=True)
    for plan in ("ae_usd", "mgr_usd"):
        shutil.copy(REPO / "docs" / "examples" / "plans" / f"{plan}.yaml", plans)

    target_months = months_needed(MONTH)
    grid = np.array([(m, metric) for m in target_months for metric in ("revenue", "won_deals")], dtype=object)
    n_targets = n_reps * len(grid)
    _write(
        folder,
        "targets",
        pa.table(
            {
                "scope": pa.repeat("rep", n_targets),
                "scope_id": pc.take(rep_ids, pa.array(np.repeat(idx, len(grid)))),
                "month": np.tile(grid[:, 0], n_reps).astype(str),
                "metric": np.tile(grid[:, 1], n_reps).astype(str),
                "amount": np.where(np.tile(grid[:, 1], n_reps) == "revenue", "2000000.00", "40"),
                "effective_date": pa.repeat("2025-10-01", n_targets),
                "reason": pa.repeat("initial", n_targets),
                "author": pa.repeat("bench", n_targets),
            }
        ),
    )
    fx_months = periods.month_span("2025-01", periods.add_months(MONTH, 2))
    _write(
        folder,
        "fx_rates",
        pa.table({"month": fx_months, "currency": ["EUR"] * len(fx_months), "rate": ["1.0834"] * len(fx_months)}),
    )

    end = np.datetime64(periods.month_end(MONTH), "D").astype(int)
    first = end - 364
    writer = None
    splits, surveys = [], []
    for start in range(0, n_deals, CHUNK):
        n = min(CHUNK, n_deals - start)
        created = rng.integers(first - 60, end + 1, n)
        close = created + rng.integers(1, 60, n)
        stage = rng.choice(np.array(["won", "lost", "open"]), n, p=[0.4, 0.3, 0.3])
        stage[close > end] = "open"
        closed = stage != "open"
        won = np.flatnonzero(stage == "won")
        cancelled = np.zeros(n, dtype=bool)
        cancelled[won[rng.random(len(won)) < 0.005]] = True
        cancel_day = np.minimum(close + rng.integers(1, 90, n), end)
        cents = rng.integers(1_000_00, 50_000_00, n)
        deal_ids = _text(np.arange(start, start + n), "D", 8)
        owners = rng.integers(0, n_reps, n)
        chunk = pa.table(
            {
                "deal_id": deal_ids,
                "owner_id": pc.take(rep_ids, pa.array(owners)),
                "account": _text(rng.integers(0, max(n_reps * 4, 1), n), "Account ", 7),
                "product": pa.array(np.array(PRODUCTS)[rng.integers(0, len(PRODUCTS), n)]),
                "amount": pc.binary_join_element_wise(
                    pc.cast(pa.array(cents // 100), pa.string()), _text(cents % 100, "", 2), "."
                ),
                "currency": pa.array(np.where(rng.random(n) < 0.15, "EUR", "USD")),
                "stage": pa.array(stage),
                "created_date": _dates(created),
                "close_date": _dates(close, closed),
                "cancelled_date": _dates(cancel_day, cancelled),
                "cancel_reason": pa.array(np.where(cancelled, "churn", ""), mask=~cancelled),
            }
        )
        if writer is None:
            writer = pa_csv.CSVWriter(
                folder / "deals.csv", chunk.schema, write_options=pa_csv.WriteOptions(quoting_style="needed")
            )
        writer.write_table(chunk)
        # 2% of won deals split 60/40 between the owner and another rep; 5% of won deals have a CSAT response.
        split = won[rng.random(len(won)) < 0.02]
        other = (owners[split] + 1 + rng.integers(0, n_reps - 1, len(split))) % n_reps
        ids = pc.take(deal_ids, pa.array(split))
        for reps_of, share in ((owners[split], "60"), (other, "40")):
            splits.append(
                pa.table(
                    {
                        "deal_id": ids,
                        "rep_id": pc.take(rep_ids, pa.array(reps_of)),
                        "share": pa.repeat(share, len(split)),
                        "role": pa.repeat("split", len(split)),
                    }
                )
            )
        answered = won[rng.random(len(won)) < 0.05]
        surveys.append(
            pa.table(
                {
                    "response_id": pc.binary_join_element_wise("S", pc.take(deal_ids, pa.array(answered)), ""),
                    "deal_id": pc.take(deal_ids, pa.array(answered)),
                    "account": pa.nulls(len(answered), pa.string()),
                    "response_date": _dates(np.minimum(close[answered] + 7, end)),
                    "score": pa.array(
                        rng.choice(np.array(["2", "3", "4", "5"]), len(answered), p=[0.1, 0.2, 0.4, 0.3])
                    ),
                    "scale": pa.repeat("csat_1_5", len(answered)),
                    "comment": pa.nulls(len(answered), pa.string()),
                }
            )
        )
    if writer is not None:
        writer.close()
    _write(folder, "credit_splits", pa.concat_tables(splits))
    _write(folder, "surveys", pa.concat_tables(surveys))


# ---------------------------------------------------------------- the stages, one process each


def _stage_ingest(tables, month, settings, work):
    from attain.ingest.load import load_inputs

    result = load_inputs(work / "data", month, settings, today=TODAY)
    names = ("deals", "credit_splits", "reps", "targets", "fx_rates", "surveys", "quarantine")
    return {name: (getattr(result, name), "as_of") for name in names}


def _stage_credit(t, month, settings, work):
    from attain import stages

    credited, events = stages.credit_of_month(t["deals"], t["credit_splits"], t["reps"], t["fx_rates"], month, settings)
    return {"credited_deals": (credited, "month"), "clawback_events": (events, "month")}


def _stage_targets(t, month, settings, work):
    from attain import stages

    resolved = stages.targets_of_month(t["targets"], t["reps"], month, settings)
    return {"targets_in_force": (resolved.in_force, "as_of"), "target_warnings": (resolved.warnings, "as_of")}


def _stage_attainment(t, month, settings, work):
    from attain.measures import attainment as rules

    args = (t["credited_deals"], t["deals"], t["targets_in_force"], t["reps"], month, settings)
    return {
        "attainment": (rules.attainment(*args), "month"),
        "attainment_trend": (rules.attainment_trend(*args), "month"),
    }


def _stage_pipeline_health(t, month, settings, work):
    from attain.measures import pipeline_health as rules

    table = rules.pipeline_health(t["deals"], t["targets_in_force"], t["reps"], t["fx_rates"], month, settings)
    return {"pipeline_health": (table, "month")}


def _stage_satisfaction(t, month, settings, work):
    from attain.measures import satisfaction as rules

    args = (t["surveys"], t["deals"], t["reps"], month, settings)
    return {
        "satisfaction": (rules.satisfaction(*args), "month"),
        "satisfaction_trend": (rules.satisfaction_trend(*args), "month"),
        "account_segments": (rules.account_segments(t["credited_deals"], month, settings), "month"),
    }


def _stage_ledger(t, month, settings, work):
    import dataclasses

    import pandas as pd

    from attain.ingest.load import Inputs
    from attain.pay import period_close
    from attain.pay.plans import load_plans
    from attain.stages import Measures

    # The inputs the synthetic company has; the others (disputes) are absent, as an empty table.
    inputs = Inputs(**{f.name: t.get(f.name, pd.DataFrame()) for f in dataclasses.fields(Inputs)})
    measures = Measures(*(t[n] for n in ("credited_deals", "clawback_events", "attainment", "satisfaction")))
    run = period_close.ledger_for_run(
        month, inputs, measures, lambda: load_plans(work / "data" / "plans"), settings, {}, pd.DataFrame(), set()
    )
    return {"incentive_ledger": (run.ledger, "month")}


def _stage_payouts(t, month, settings, work):
    from attain.pay import payouts as rules

    return {"payouts": (rules.payouts(t["incentive_ledger"], t["reps"], month, None), "month")}


def _stage_forecast(t, month, settings, work):
    from attain.pay import forecast
    from attain.pay.plans import load_plans

    state = forecast.MonthState(
        month=month,
        plans=load_plans(work / "data" / "plans"),
        reps=t["reps"],
        deals=t["deals"],
        fx_rates=t["fx_rates"],
        in_force=t["targets_in_force"],
        credited=t["credited_deals"],
        satisfaction=t["satisfaction"],
        clawback_events=t["clawback_events"],
        history=None,
        settings=settings,
    )
    table = forecast.earnings_forecast(state, t["attainment"], t["incentive_ledger"])
    return {"earnings_forecast": (table, "month")}


def _stage_finance_export(t, month, settings, work):
    from attain.pay.finance_export import write_payouts

    write_payouts(t["payouts"], t["incentive_ledger"], work / "output", month)
    return {}


#: Computed tables, partitioned by ``month``; the others (inputs, targets in force) by ``as_of``.
MONTH_TABLES = {
    "credited_deals",
    "clawback_events",
    "attainment",
    "satisfaction",
    "incentive_ledger",
    "payouts",
    "earnings_forecast",
}

#: The month-end's stages in data-flow order: (the warehouse tables each loads, what it computes).
STAGES: dict[str, tuple[tuple[str, ...], Callable]] = {
    "ingest": ((), _stage_ingest),
    "credit": (("deals", "credit_splits", "reps", "fx_rates"), _stage_credit),
    "targets": (("targets", "reps"), _stage_targets),
    "attainment": (("credited_deals", "targets_in_force", "deals", "reps"), _stage_attainment),
    "pipeline_health": (("deals", "targets_in_force", "reps", "fx_rates"), _stage_pipeline_health),
    "satisfaction": (("surveys", "deals", "reps", "credited_deals"), _stage_satisfaction),
    "ledger": (
        (
            "deals",
            "credit_splits",
            "reps",
            "targets",
            "fx_rates",
            "surveys",
            "credited_deals",
            "clawback_events",
            "attainment",
            "satisfaction",
        ),
        _stage_ledger,
    ),
    "payouts": (("incentive_ledger", "reps"), _stage_payouts),
    "earnings_forecast": (
        (
            "deals",
            "reps",
            "fx_rates",
            "targets_in_force",
            "credited_deals",
            "clawback_events",
            "attainment",
            "satisfaction",
            "incentive_ledger",
        ),
        _stage_forecast,
    ),
    "finance_export": (("payouts", "incentive_ledger"), _stage_finance_export),
}


def _high_water_mb() -> int:
    """This process's peak resident memory so far (VmHWM), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) // 1024
    return 0


def run_stage(name: str, work: Path) -> dict:
    """One stage in this process: load its tables as the IO manager does, compute, store; timings and peaks."""
    from assets.common import stamped, unstamped
    from attain import warehouse
    from attain.settings import Settings

    tables, compute = STAGES[name]
    settings = Settings()
    figures: dict = {"start_mb": _high_water_mb()}
    with warehouse.connect(str(work / "warehouse.duckdb")) as con:
        con.ensure_schema("attain")
        start = time.perf_counter()
        # The IO manager's load_input: the month's partition through the warehouse interface (Arrow, repeated
        # text shared); the pure code gets the frame without the partition column, as the assets pass it.
        loaded = {}
        for table in tables:
            column = "month" if table in MONTH_TABLES else "as_of"
            frame = con.read(f"SELECT * FROM attain.{table} WHERE {column} = ?", [MONTH])
            loaded[table] = unstamped(frame) if column == "as_of" else frame.drop(columns=["month"])
        figures["load_s"], figures["after_load_mb"] = time.perf_counter() - start, _high_water_mb()
        start = time.perf_counter()
        outputs = compute(loaded, MONTH, settings, work)
        figures["compute_s"], figures["after_compute_mb"] = time.perf_counter() - start, _high_water_mb()
        start = time.perf_counter()
        for table, (out, column) in outputs.items():
            if con.exists(f"attain.{table}"):
                con.execute(f"DELETE FROM attain.{table} WHERE {column} = ?", [MONTH])
            con.write_frame(f"attain.{table}", stamped(out, MONTH, column))
    figures["store_s"] = time.perf_counter() - start
    figures["rows"] = {table: len(out) for table, (out, _) in outputs.items()}
    figures["peak_mb"] = _high_water_mb()
    return figures


def run_floor(name: str, work: Path) -> dict:
    """A floor in this process: the library alone doing the work a stage does."""
    start = time.perf_counter()
    if name == "arrow_csv":
        rows = pa_csv.read_csv(work / "data" / "deals.csv").num_rows
    else:
        import duckdb

        con = duckdb.connect(str(work / "warehouse.duckdb"), read_only=True)
        rows = len(
            con.execute(
                "SELECT owner_id, strftime(close_date, '%Y-%m') AS credit_month, currency, sum(amount_minor) "
                "FROM attain.deals WHERE stage = 'won' GROUP BY ALL"
            ).fetchall()
        )
        con.close()
    return {"compute_s": time.perf_counter() - start, "rows": {name: rows}, "peak_mb": _high_water_mb()}


#: The floors: (what it is, the stage it is the floor of).
FLOORS = {
    "arrow_csv": ("pyarrow.csv.read_csv of deals.csv", "ingest"),
    "duckdb_credit": ("DuckDB SQL: won amount per owner and month", "credit"),
}


def _child(kind: str, name: str, work: Path) -> dict:
    """Run a stage or floor in a fresh process; its figures, with the wall time of the whole process.

    The peak is the process's own high-water mark (``VmHWM``), read by the process as it ends: the rusage of
    a child on Linux also counts the parent's memory at the fork, which is not the stage's.
    """
    out = work / f"{kind}-{name}.json"
    start = time.perf_counter()
    done = subprocess.run([sys.executable, __file__, f"--{kind}", name, "--work", str(work)], cwd=REPO, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{kind} {name} failed (exit {done.returncode}); its error is above")
    figures = json.loads(out.read_text())
    figures["wall_s"] = time.perf_counter() - start
    return figures


# ---------------------------------------------------------------- the memory section


def measure_memory(n_deals: int, n_reps: int) -> dict:
    """Generate the company, run every stage and floor in its own process; the figures of each."""
    with tempfile.TemporaryDirectory(prefix="attain-scale-") as tmp:
        work = Path(tmp)
        start = time.perf_counter()
        write_company(work / "data", n_deals, n_reps)
        generated = time.perf_counter() - start
        size_mb = (work / "data" / "deals.csv").stat().st_size // 2**20
        stages = {}
        for name in STAGES:
            stages[name] = _child("stage", name, work)
            print(f"  {name:16s} {stages[name]['wall_s']:7.1f} s {stages[name]['peak_mb']:7,d} MB", flush=True)
        floors = {name: _child("floor", name, work) for name in FLOORS}
    return {
        "deals": n_deals,
        "reps": n_reps,
        "generate_s": generated,
        "deals_csv_mb": size_mb,
        "stages": stages,
        "floors": floors,
    }


def report_memory(figures: dict) -> list[str]:
    """The summary lines of the memory section."""
    stages, floors = figures["stages"], figures["floors"]
    lines = [
        f"memory: {figures['deals']:,} deals ({figures['deals_csv_mb']:,} MB of CSV), {figures['reps']:,} reps, "
        f"month {MONTH}; each stage a fresh process loading from and storing to DuckDB",
        f"  {'stage':16s} {'wall s':>7s} {'peak MB':>8s} {'load s':>7s} {'compute s':>9s} {'store s':>7s}"
        f"  {'peak MB after load / compute':>29s}",
    ]
    for name, s in stages.items():
        after = f"{s['after_load_mb']:,} / {s['after_compute_mb']:,}"
        lines.append(
            f"  {name:16s} {s['wall_s']:7.1f} {s['peak_mb']:8,d} {s['load_s']:7.1f} {s['compute_s']:9.1f}"
            f" {s['store_s']:7.1f}  {after:>29s}"
        )
    largest = max(stages, key=lambda n: stages[n]["peak_mb"])
    peak = stages[largest]["peak_mb"]
    verdict = "under" if peak < TARGET_MB else "OVER"
    lines.append(f"  largest step: {largest}, peak {peak:,} MB ({verdict} the {TARGET_MB:,} MB target)")
    for name, f in floors.items():
        what, stage = FLOORS[name]
        s = stages[stage]
        lines.append(
            f"  floor {what}: {f['wall_s']:.1f} s, {f['peak_mb']:,} MB; {stage} is "
            f"{s['wall_s'] / f['wall_s']:.1f}x its time, {s['peak_mb'] / f['peak_mb']:.1f}x its memory"
        )
    return lines


#: The sections of the benchmark: name -> (measure(args), report(figures)). The lead adds the others here.
SECTIONS: dict[str, tuple[Callable[[argparse.Namespace], dict], Callable[[dict], list[str]]]] = {
    "memory": (lambda args: measure_memory(args.deals, args.reps), report_memory),
    "warehouse": (
        lambda args: warehouse_backends.measure(args.warehouse_deals, runs=args.repeat),
        warehouse_backends.report,
    ),
    "workers": (lambda args: celery_workers.measure(args.packs_reps, repeat=args.repeat), celery_workers.report),
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deals", type=int, default=10_000_000)
    parser.add_argument("--reps", type=int, default=50_000)
    parser.add_argument("--only", choices=sorted(SECTIONS), action="append", help="run only these sections")
    parser.add_argument("--warehouse-deals", type=int, default=1_000_000, help="deals written and read per backend")
    parser.add_argument("--packs-reps", type=int, default=48, help="reps of the month whose packs the workers render")
    parser.add_argument("--repeat", type=int, default=2, help="runs per measurement (the best is kept)")
    parser.add_argument("--stage", choices=list(STAGES), help=argparse.SUPPRESS)
    parser.add_argument("--floor", choices=list(FLOORS), help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.stage or args.floor:  # a child: one stage or floor, its figures to a file
        kind, name = ("stage", args.stage) if args.stage else ("floor", args.floor)
        figures = run_stage(name, args.work) if args.stage else run_floor(name, args.work)
        (args.work / f"{kind}-{name}.json").write_text(json.dumps(figures))
        return
    summary = []
    for section in args.only or list(SECTIONS):
        measure, report = SECTIONS[section]
        summary += report(measure(args))
    print("\n".join(["", "scale benchmark (2 cores shared)", *summary]))


if __name__ == "__main__":
    main()
