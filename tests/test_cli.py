"""The `attain` command as a user meets it: exit codes, messages naming file/row/column, no tracebacks."""

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from pipelines.cli import EXIT_BUSY, EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, INSTANCE_YAML, _instance, main
from pipelines.run_lock import lock_path, run_lock

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "docs" / "examples"


@pytest.fixture
def data(tmp_path) -> Path:
    folder = tmp_path / "data"
    shutil.copytree(EXAMPLES, folder)
    return folder


def test_validate_clean_folder_exits_zero(data, capsys):
    assert main(["validate", str(data), "--month", "2025-03"]) == 0
    assert "No problems found." in capsys.readouterr().out


def test_validate_lists_every_problem_with_row_and_column(data, capsys):
    shutil.copy(ROOT / "tests/fixtures/bad/deal_values/deals.csv", data / "deals.csv")
    assert main(["validate", str(data), "--month", "2026-10"]) == 1
    out = capsys.readouterr().out
    assert "deals.csv row 3, amount: amount -120.00 is negative" in out
    assert "Traceback" not in out


def test_validate_missing_column_is_one_clear_message(data, capsys):
    text = (data / "deals.csv").read_text().replace("owner_id", "owner", 1)
    (data / "deals.csv").write_text(text)
    assert main(["validate", str(data), "--month", "2026-10"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: deals.csv") and "owner_id" in err and "Traceback" not in err


@pytest.mark.slow  # runs the month through Dagster until it stops
def test_run_stops_on_a_file_error_with_the_message_not_a_traceback(data, tmp_path, capsys):
    (data / "targets.csv").unlink()
    code = main(["--var", str(tmp_path / "var"), "run", "--month", "2026-10", "--data", str(data), "--quiet"])
    out = capsys.readouterr().out
    assert code == 1
    assert "problem: targets.csv: required file is missing" in out
    assert "Traceback" not in out


def test_ambiguous_dates_need_a_declared_order(capsys):
    export = ROOT / "tests/fixtures/crm/zoho_ambiguous_dates.csv"
    assert main(["validate", str(export)]) == 1
    assert "--date-order" in capsys.readouterr().err
    assert main(["validate", str(export), "--date-order", "dmy"]) == 0
    assert "No problems found." in capsys.readouterr().out


@pytest.mark.slow  # runs the month through Dagster until it stops
def test_a_failed_check_is_explained_in_the_summary(data, tmp_path, capsys):
    """More than 5% of deal rows rejected: the run stops at the check and says why."""
    lines = (data / "deals.csv").read_text().splitlines()
    header, rows = lines[0], lines[1:]
    broken = [row.replace(",won,", ",wonn,", 1) for row in rows]
    (data / "deals.csv").write_text("\n".join([header, *broken]) + "\n")
    code = main(
        [
            "--var",
            str(tmp_path / "var"),
            "run",
            "--month",
            "2026-10",
            "--data",
            str(data),
            "--quiet",
            "--until",
            "credited_deals",
        ]
    )
    out = capsys.readouterr().out
    assert code == 1
    assert "check deals.quarantine_within_limit failed:" in out and "above the 5% limit" in out


def test_usage_error_exits_2(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["run", "--month", "2026-10", "--no-such-option"])
    assert exit_.value.code == EXIT_USAGE == 2
    assert "unrecognized arguments: --no-such-option" in capsys.readouterr().err


@pytest.mark.slow  # runs the month through Dagster until it stops
def test_quarantined_rows_are_counted_per_input(data, tmp_path, capsys):
    """A survey row out of scale is a survey row in the summary, not a deal row."""
    with (data / "surveys.csv").open("a", encoding="utf-8") as surveys:
        surveys.write("S005,D1001,,2025-03-30,7,csat_1_5,Out of scale\n")
    var = tmp_path / "var"
    code = main(["--var", str(var), "run", "--month", "2026-10", "--data", str(data), "--quiet", "--until", "deals"])
    out = capsys.readouterr().out
    assert code == EXIT_OK
    assert out.splitlines()[:2] == [
        "month-end 2026-10: done",
        "  deals: 9 accepted, 0 rows quarantined; surveys: 1 rows quarantined (see the quarantine table and the packs)",
    ]
    with duckdb.connect(str(var / "warehouse.duckdb"), read_only=True) as con:
        accepted = con.execute("SELECT count(*) FROM attain.surveys").fetchone()[0]
        rejected = con.execute('SELECT "table", source_row, reason FROM attain.quarantine').fetchall()
    assert accepted + len(rejected) == 5  # rows in surveys.csv
    reason = "score 7 is outside the csat_1_5 scale (1 to 5); correct the score or the scale"
    assert rejected == [("surveys", 6, reason)]


def _attain(*args: str) -> list[str]:
    return [sys.executable, "-m", "pipelines.cli", *args]


def _hold_lock(var: Path, months: str) -> subprocess.Popen:
    """A real process holding the var folder's run lock (as a run does) until it is killed."""
    code = (
        f"import sys, time; from pathlib import Path; from pipelines.run_lock import run_lock\n"
        f"with run_lock(Path({str(var)!r}), {months!r}):\n    print('held', flush=True); time.sleep(600)\n"
    )
    holder = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline() == "held\n"
    return holder


@pytest.mark.slow
@pytest.mark.parametrize("month", ["2026-10", "2026-09"])  # the same month, and another month (same DuckDB file)
def test_a_second_run_on_the_same_var_stops_at_once_and_touches_nothing(data, tmp_path, month):
    var = tmp_path / "var"
    holder = _hold_lock(var, "2026-10")
    try:
        started = json.loads(lock_path(var).read_text())["started"]
        second = subprocess.run(
            _attain("--var", str(var), "run", "--month", month, "--data", str(data), "--quiet"),
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        holder.kill()
        holder.wait()
    assert second.returncode == EXIT_BUSY == 5
    assert second.stderr == (
        f"error: another run of 2026-10 (pid {holder.pid}, started at {started}) is in progress; wait for it to "
        f"finish, or start this run with --wait (the lock is {lock_path(var)}, released when that run ends)\n"
    )
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", started)
    assert second.stdout == "" and sorted(p.name for p in var.iterdir()) == ["locks"], "no warehouse, no instance"
    # The holder was killed (SIGKILL, no clean-up): the lock went with it.
    with run_lock(var, month):
        assert json.loads(lock_path(var).read_text())["pid"] == os.getpid()


@pytest.mark.slow
def test_wait_waits_for_the_other_run_then_runs(data, tmp_path):
    (data / "targets.csv").unlink()  # once it runs, this run stops at once on its input
    var = tmp_path / "var"
    holder = _hold_lock(var, "2026-10")
    waiting = subprocess.Popen(
        _attain("--var", str(var), "run", "--month", "2026-10", "--data", str(data), "--quiet", "--wait"),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lines = iter(waiting.stderr.readline, "")
        said = next((line for line in lines if line.startswith("waiting for")), "")
        assert said.startswith(f"waiting for another run of 2026-10 (pid {holder.pid}, started at ")
        time.sleep(1)
        assert waiting.poll() is None and not (var / "warehouse.duckdb").exists()
    finally:
        holder.kill()
        holder.wait()
    out, _ = waiting.communicate(timeout=300)
    assert waiting.returncode == EXIT_PROBLEMS and "problem: targets.csv: required file is missing" in out


def test_instance_limits_month_end_runs_to_one_per_partition(tmp_path, monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    instance = _instance(tmp_path)
    queue = instance.get_concurrency_config().run_queue_config
    assert queue.max_concurrent_runs == 1
    assert queue.tag_concurrency_limits == [
        {"key": "dagster/partition", "value": {"applyLimitPerUniqueValue": True}, "limit": 1}
    ]
    assert (tmp_path / "dagster" / "dagster.yaml").read_text() == INSTANCE_YAML
    assert INSTANCE_YAML in (ROOT / "README.md").read_text(), "the README shows the dagster.yaml attain writes"
