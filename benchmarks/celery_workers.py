"""The packs stage on Celery workers (issue 12): packs per second with 1 and 2 workers, against the floor.

    .venv/bin/python benchmarks/celery_workers.py              # demo company, 48 reps, best of 2
    .venv/bin/python benchmarks/celery_workers.py --reps 96 --repeat 3

One demo month is computed once, in-process, up to the packs' inputs; then only the packs stage
(``review_packs``: one step per chunk of teams) runs again, each time on:

1. 1 Celery worker, then 2 (``attain worker``, one step at a time each), on a Redis server this script starts
   on a loopback port and stops;
2. Dagster's multiprocess executor with 1, then 2 processes (the floor: the same steps, the same machine, no
   broker).

Each chunk renders on one process (``render_processes`` 1), so N workers use N cores. The rate is the packs
over the time from the first chunk's start to the last chunk's end (from the run's events). Targets: 2 workers
at least 1.7x one, and each Celery rate close to the multiprocess rate with as many processes.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from attain.demo.basics import DEMO_MONTH
from attain.demo.company import generate
from tests.redis_server import redis_server

ROOT = Path(__file__).resolve().parents[1]
CHUNK = "review_packs.render_pack_chunk["
#: AttainConfig fields of every run here: one render process per chunk step, one team per chunk.
CONFIG = {"render_processes": 1, "pack_chunk_teams": 1}


def _packs_per_second(instance, run_id: str) -> tuple[float, int]:
    """Packs rendered per second by the chunk steps of ``run_id``, and how many packs."""
    from dagster import DagsterEventType

    starts, ends, packs = [], [], 0
    for record in instance.all_logs(run_id):
        event = record.dagster_event
        if event is None or not (record.step_key or "").startswith(CHUNK):
            continue
        if event.event_type == DagsterEventType.STEP_START:
            starts.append(record.timestamp)
        elif event.event_type == DagsterEventType.STEP_SUCCESS:
            ends.append(record.timestamp)
        elif event.event_type == DagsterEventType.STEP_OUTPUT:
            packs += int(event.step_output_data.metadata["packs"].value)
    return packs / (max(ends) - min(starts)), packs


def _run_packs(var: Path, data: Path, execution: dict) -> str:
    """Run the packs stage of the demo month with ``execution`` (the executor config); its run id."""
    from dagster import AssetSelection

    from pipelines.cli import _instance
    from pipelines.definitions import build_definitions
    from pipelines.executors import run_on_workers

    defs = build_definitions(var=var, data_dir=data, **CONFIG)
    instance = _instance(var)
    selection = sorted(AssetSelection.assets("review_packs").resolve(defs.resolve_asset_graph()))
    run_config = {"execution": {"config": execution}, "loggers": {"console": {"config": {"log_level": "ERROR"}}}}
    result = run_on_workers(DEMO_MONTH, selection, instance, defs.resources or {}, run_config, resume=False)
    if not result.success:
        raise RuntimeError(f"the packs run failed: {result.run_id}")
    return result.run_id


def _workers(count: int, env: dict, logs: Path) -> list[subprocess.Popen]:
    return [
        subprocess.Popen(
            [sys.executable, "-m", "pipelines.cli", "worker", "--name", f"bench{i}"],
            cwd=ROOT,
            env=env,
            stdout=(logs / f"worker{i}.log").open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        for i in range(count)
    ]


def _stop(workers: list[subprocess.Popen]) -> None:
    for worker in workers:
        os.killpg(worker.pid, signal.SIGTERM)
    for worker in workers:
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()


def measure(reps: int = 48, repeat: int = 2) -> dict:
    """Packs per second (best of ``repeat``) of the multiprocess executor (1 and 2 processes) and of 1 and 2
    Celery workers on the demo month of ``reps`` reps, and the ratios."""
    from pipelines.cli import _instance, run_months
    from pipelines.executors import celery_config

    with tempfile.TemporaryDirectory(prefix="attain-bench-celery-") as tmp:
        folder = Path(tmp)
        data, var = folder / "data", folder / "var"
        generate(data, reps=reps)
        [ready] = run_months([DEMO_MONTH], var=var, data_dir=data, show_progress=False, until="payouts")
        if not ready.success:
            raise RuntimeError("the demo month did not compute: " + "; ".join(ready.lines()))
        instance = _instance(var)
        rates: dict[str, float] = {}
        packs = 0
        with redis_server() as broker:
            env = {**os.environ, "ATTAIN_CELERY_BROKER": broker, "ATTAIN_VAR": str(var), "ATTAIN_DATA_DIR": str(data)}
            for count in (1, 2):
                workers = _workers(count, env, folder)
                try:
                    best = 0.0
                    for _ in range(repeat):
                        run_id = _run_packs(var, data, {"celery": celery_config(broker)})
                        rate, packs = _packs_per_second(instance, run_id)
                        best = max(best, rate)
                    rates[f"celery_{count}"] = best
                    print(f"  (celery {count}: {best:.2f} packs/s)", file=sys.stderr, flush=True)
                finally:
                    _stop(workers)
        for processes in (1, 2):
            best = 0.0
            for _ in range(repeat):
                run_id = _run_packs(var, data, {"multiprocess": {"max_concurrent": processes}})
                rate, packs = _packs_per_second(instance, run_id)
                best = max(best, rate)
            rates[f"multiprocess_{processes}"] = best
            print(f"  (multiprocess {processes}: {best:.2f} packs/s)", file=sys.stderr, flush=True)
    return {
        "reps": reps,
        "packs": packs,
        **{f"{name}_packs_per_s": round(rate, 2) for name, rate in rates.items()},
        "celery_2_over_1": round(rates["celery_2"] / rates["celery_1"], 2),
        "celery_2_over_multiprocess_2": round(rates["celery_2"] / rates["multiprocess_2"], 2),
        "multiprocess_2_over_1": round(rates["multiprocess_2"] / rates["multiprocess_1"], 2),
    }


def report(result: dict) -> list[str]:
    """The figures of :func:`measure` as the lines the benchmark prints."""
    lines = [f"packs stage of the demo month, {result['reps']} reps, {result['packs']} packs"]
    for name in ("multiprocess_1", "multiprocess_2", "celery_1", "celery_2"):
        lines.append(f"  {name.replace('_', ' ')}: {result[name + '_packs_per_s']} packs/s")
    lines.append(f"  2 Celery workers / 1: {result['celery_2_over_1']}x (target >= 1.7x)")
    lines.append(f"  2 Celery workers / multiprocess 2 (the floor): {result['celery_2_over_multiprocess_2']}x")
    lines.append(f"  multiprocess 2 / 1: {result['multiprocess_2_over_1']}x")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=48)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    started = time.perf_counter()
    print("\n".join(report(measure(args.reps, args.repeat))))
    print(f"  ({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
