"""The month-end on Celery workers (issue 12): a real Redis and a real PostgreSQL on loopback, two real
`attain worker` processes.

One run of the demo month with ATTAIN_EXECUTOR=celery and ATTAIN_WAREHOUSE naming the PostgreSQL server, the
packs in one step per team: one worker is killed (SIGKILL, its whole process group) while it renders a chunk,
the run fails, and `attain run --resume` re-executes it from the failure. The result must be the embedded run's
(in-process, DuckDB file): every table, every PDF byte, one message per manager.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from attain import warehouse
from attain.delivery.log import DeliveryLog
from attain.demo.basics import DEMO_MONTH
from attain.demo.company import generate
from attain.settings import SettingsError
from pipelines.cli import EXIT_FAILED, EXIT_OK, EXIT_PROBLEMS, main, run_months
from pipelines.executors import CELERY_SETTINGS, default_execution
from pipelines.resources import default_resources
from tests import redis_server
from tests.warehouses import empty_database

ROOT = Path(__file__).resolve().parents[1]
ATTAIN = [sys.executable, "-m", "pipelines.cli"]
CHUNK = "review_packs.render_pack_chunk["
#: Columns that hold the time something happened, not a figure: they differ between any two runs.
CLOCK_COLUMNS = ["sent_at", "logged_at"]


def _environment(**values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ATTAIN_", "DAGSTER_"))}
    return {**env, **values}


def _start_worker(name: str, queues: list[str], env: dict, log: Path) -> subprocess.Popen:
    """An `attain worker` in a session of its own, so that killing its group kills its pool processes too."""
    flags = [arg for queue in queues for arg in ("--queue", queue)]
    with log.open("w") as out:
        return subprocess.Popen(
            [*ATTAIN, "worker", "--name", name, *flags, "--loglevel", "INFO"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _stop(worker: subprocess.Popen) -> None:
    if worker.poll() is None:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
    with contextlib.suppress(ProcessLookupError):
        os.killpg(worker.pid, signal.SIGKILL)  # pool or render processes left behind, if any


def _in_group(pid: int | None, group: int) -> bool:
    try:
        return pid is not None and os.getpgid(pid) == group
    except ProcessLookupError:
        return False  # that process has ended: it was not the worker's if the worker is alive


def _chunk_events(instance, run_id: str, kind) -> list:
    return [r for r in instance.all_logs(run_id, of_type=kind) if (r.step_key or "").startswith(CHUNK)]


def _kill_mid_packs(instance, victim: subprocess.Popen, deadline: float) -> None:
    """SIGKILL ``victim``'s group once it has rendered one chunk and started another."""
    from dagster import DagsterEventType

    while time.monotonic() < deadline:
        runs = instance.get_runs(limit=1)
        if runs:
            run_id = runs[0].run_id
            done = {r.step_key for r in _chunk_events(instance, run_id, DagsterEventType.STEP_SUCCESS)}
            mine = [
                r
                for r in _chunk_events(instance, run_id, DagsterEventType.STEP_START)
                if _in_group(r.dagster_event.pid, victim.pid)
            ]
            if any(r.step_key in done for r in mine) and any(r.step_key not in done for r in mine):
                os.killpg(victim.pid, signal.SIGKILL)
                victim.wait()
                return
        time.sleep(0.05)
    raise AssertionError("the first worker never rendered a second chunk of packs")


def _tables(location: str, outputs: list[Path], password: str = "") -> dict[str, pd.DataFrame]:
    """Every asset table of the month, and the delivery log, with the run's folders written as <out>."""
    with warehouse.connect(location, password) as con:
        names = [
            row[0]
            for row in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'attain' ORDER BY 1"
            ).fetchall()
        ]
        frames = {name: con.read(f"SELECT * FROM attain.{name}") for name in names}
        frames["delivery_log"] = DeliveryLog(con, table="delivery_log").records(DEMO_MONTH)
    out = {}
    for name, frame in frames.items():
        frame = frame.drop(columns=CLOCK_COLUMNS, errors="ignore").astype(str)
        for folder in outputs:
            frame = frame.replace(str(folder), "<out>", regex=False)
            frame = frame.apply(lambda col, f=str(folder): col.str.replace(f, "<out>", regex=False))
        out[name] = frame.sort_values(list(frame.columns)).reset_index(drop=True)
    return out


def test_the_executor_and_the_shared_folder_come_from_the_environment(monkeypatch, tmp_path, capsys):
    for name in ("ATTAIN_EXECUTOR", "ATTAIN_CELERY_BROKER", "ATTAIN_CELERY_BACKEND", "ATTAIN_OUTPUT"):
        monkeypatch.delenv(name, raising=False)
    assert default_execution() == {"in_process": {}}
    monkeypatch.setenv("ATTAIN_EXECUTOR", "celery")
    with pytest.raises(SettingsError, match="ATTAIN_CELERY_BROKER"):
        default_execution()
    assert main(["worker"]) == EXIT_PROBLEMS and "needs ATTAIN_CELERY_BROKER" in capsys.readouterr().err
    monkeypatch.setenv("ATTAIN_CELERY_BROKER", "redis://10.0.0.5:6379/1")
    celery = default_execution()["celery"]
    assert (celery["broker"], celery["backend"], celery["config_source"]) == (
        "redis://10.0.0.5:6379/1",
        "redis://10.0.0.5:6379/1",
        CELERY_SETTINGS,
    )
    monkeypatch.setenv("ATTAIN_EXECUTOR", "threads")
    with pytest.raises(SettingsError, match=r"in_process .* or celery"):
        default_execution()

    monkeypatch.setenv("ATTAIN_OUTPUT", str(tmp_path / "shared"))
    resources = default_resources(var=tmp_path / "var", data_dir=tmp_path)
    shared = (tmp_path / "shared").resolve()
    assert Path(resources["attain"].output_dir) == shared / "output"
    assert Path(resources["mailer"].outbox_dir) == shared / "outbox"
    assert Path(resources["step_io_manager"].base_dir) == shared / "steps"
    assert Path(resources["warehouse"].database).parent == (tmp_path / "var").resolve()  # not shared


@pytest.mark.slow
@pytest.mark.skipif(not redis_server.available(), reason="redis-server is not installed (scripts/setup.sh)")
def test_two_celery_workers_run_the_month_as_the_embedded_run_and_survive_a_lost_worker(
    tmp_path, postgres, postgres_database
):
    from dagster import DagsterEventType, DagsterInstance

    data = tmp_path / "demo-data"
    generate(data, reps=12)
    embedded = tmp_path / "embedded"
    [reference] = run_months([DEMO_MONTH], var=embedded, data_dir=data, show_progress=False)
    assert reference.complete

    var, shared = tmp_path / "var", tmp_path / "shared"
    with redis_server.redis_server() as broker:
        env = _environment(
            ATTAIN_VAR=str(var),
            ATTAIN_DATA_DIR=str(data),
            ATTAIN_OUTPUT=str(shared),
            ATTAIN_EXECUTOR="celery",
            ATTAIN_CELERY_BROKER=broker,
            ATTAIN_WAREHOUSE=postgres_database,
            ATTAIN_WAREHOUSE_PASSWORD=postgres["password"],
        )
        empty_database(postgres)
        first = _start_worker("first", ["dagster"], env, tmp_path / "first.log")
        second = _start_worker("second", ["dagster", "delivery"], env, tmp_path / "second.log")
        try:
            command = [*ATTAIN, "run", "--month", DEMO_MONTH, "--quiet", "--pack-chunk-teams", "1"]
            run = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
            )
            (var / "dagster").mkdir(parents=True, exist_ok=True)
            instance = DagsterInstance.from_config(str(var / "dagster"))
            _kill_mid_packs(instance, first, time.monotonic() + 300)
            output, _ = run.communicate(timeout=300)
            assert run.returncode == EXIT_FAILED, output
            assert "stopped answering" in output  # the lost worker is named, the run does not hang

            resumed = subprocess.run(
                [*ATTAIN, "run", "--month", DEMO_MONTH, "--resume", "--quiet"],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
            )
            assert resumed.returncode == EXIT_OK, resumed.stdout + resumed.stderr
        finally:
            for worker in (first, second):
                _stop(worker)

    # the packs were rendered on both workers, each step saying where (metadata worker, pid)
    runs = instance.get_runs()
    assert len(runs) == 2
    rendered = [
        record.dagster_event.step_output_data.metadata
        for run_record in runs
        for record in instance.all_logs(run_record.run_id, of_type=DagsterEventType.STEP_OUTPUT)
        if (record.step_key or "").startswith(CHUNK)
    ]
    workers = {meta["worker"].value.split("@")[0] for meta in rendered}
    assert workers == {"first", "second"}
    assert all(int(meta["pid"].value) > 0 for meta in rendered)
    # the resumed run rendered exactly the chunks the first one did not finish (the lost one among them)
    first_run, resumed_run = runs[-1].run_id, runs[0].run_id  # newest first
    [plan] = [
        r.dagster_event.step_output_data.metadata
        for r in instance.all_logs(first_run, of_type=DagsterEventType.STEP_OUTPUT)
        if r.step_key == "review_packs.plan_pack_chunks" and r.dagster_event.step_output_data.output_name == "inputs"
    ]
    chunks = {f"{CHUNK}teams_{n:03d}]" for n in range(1, plan["chunks"].value + 1)}  # one team each
    finished = {r.step_key for r in _chunk_events(instance, first_run, DagsterEventType.STEP_SUCCESS)}
    again = {r.step_key for r in _chunk_events(instance, resumed_run, DagsterEventType.STEP_START)}
    assert finished and again and again == chunks - finished and len(rendered) == len(chunks) > 2

    # every table (PostgreSQL) as the embedded run's (DuckDB); the same PDF bytes; each message once
    ours = _tables(postgres_database, [shared], postgres["password"])
    theirs = _tables(str(embedded / "warehouse.duckdb"), [embedded])
    assert not (var / "warehouse.duckdb").exists()  # every table of the Celery run went to PostgreSQL
    # (PostgreSQL keeps the period-close tables in the same schema; DuckDB in its main schema)
    assert set(theirs) <= set(ours) and "review_packs" in theirs
    for name in theirs:
        pd.testing.assert_frame_equal(ours[name], theirs[name], obj=name)
    packs = ours["review_packs"]
    for path, sha256 in zip(packs["path"], packs["sha256"], strict=True):  # relative to the output folder
        ours_pdf, theirs_pdf = (shared / "output" / path).read_bytes(), (embedded / "output" / path).read_bytes()
        assert hashlib.sha256(ours_pdf).hexdigest() == hashlib.sha256(theirs_pdf).hexdigest() == sha256
    log = ours["delivery_log"]
    managers = set(packs.loc[packs["kind"] == "manager", "person_id"])
    assert len(log) == len(managers) and set(log["manager_id"]) == managers
    assert len(list((shared / "outbox" / DEMO_MONTH).glob("*.eml"))) == len(managers)


def test_a_slot_left_by_a_killed_step_is_given_back_before_the_next_run(tmp_path, monkeypatch):
    from dagster import DagsterRunStatus
    from dagster._core.storage.dagster_run import DagsterRun

    from pipelines.cli import _instance
    from pipelines.executors import free_slots_of_ended_runs

    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    instance = _instance(tmp_path)  # the dagster.yaml attain writes: pools of one slot
    storage = instance.event_log_storage
    storage.initialize_concurrency_limit_to_default("warehouse")  # as the executor does for a step's pool
    for run_id, status in (("ended", DagsterRunStatus.FAILURE), ("live", DagsterRunStatus.STARTED)):
        instance.add_run(DagsterRun(job_name="month_end", run_id=run_id, status=status))
    assert storage.claim_concurrency_slot("warehouse", "ended", "payouts").is_claimed  # then its worker died
    assert not storage.claim_concurrency_slot("warehouse", "live", "deliveries").is_claimed  # waits for it
    free_slots_of_ended_runs(instance)
    assert storage.claim_concurrency_slot("warehouse", "live", "deliveries").is_claimed
    free_slots_of_ended_runs(instance)  # a live run keeps its slot
    assert [s.run_id for s in storage.get_concurrency_info("warehouse").claimed_slots] == ["live"]
