"""The Dagster wiring: definitions load, modules come from this repo, the schedule asks for the right month."""

import datetime as dt
import os
from pathlib import Path

import dagster as dg

REPO = Path(__file__).resolve().parents[1]


def test_generic_package_names_resolve_to_this_repo():
    import assets
    import attain
    import checks
    import pipelines

    for module in (assets, attain, checks, pipelines):
        assert Path(module.__file__).resolve().parent.parent == REPO, module.__file__


def test_domain_code_does_not_import_dagster():
    for path in sorted((REPO / "attain").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        assert "import dagster" not in text and "from dagster" not in text, path.name


def test_definitions_load_and_resolve():
    from pipelines.definitions import defs

    defs.validate_loadable(defs)
    job = defs.resolve_job_def("month_end")
    keys = {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}
    for expected in (
        "deals",
        "quarantine",
        "credited_deals",
        "attainment",
        "incentive_ledger",
        "payouts",
        "finance_export",
        "review_packs",
        "deliveries",
    ):
        assert expected in keys
    assert job.partitions_def is not None


def test_workspace_file_validates(tmp_path):
    """What a user runs: `dagster definitions validate -w workspace.yaml` from the repo root."""
    import subprocess
    import sys

    dagster = Path(sys.executable).with_name("dagster")
    done = subprocess.run(
        [str(dagster), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "DAGSTER_HOME": str(tmp_path)},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "All code locations passed validation" in done.stderr + done.stdout


def test_schedule_requests_the_month_just_ended():
    from pipelines.definitions import defs

    schedule = defs.get_schedule_def("month_end_schedule")
    context = dg.build_schedule_context(scheduled_execution_time=dt.datetime(2026, 11, 3, 6, 0, tzinfo=dt.UTC))
    requests = list(schedule.evaluate_tick(context).run_requests or [])
    assert [r.partition_key for r in requests] == ["2026-10"]
    assert schedule.cron_schedule == "0 6 3 * *"


def test_failure_alert_is_off_by_default_and_on_when_configured(monkeypatch):
    from pipelines.sensors import failure_alert_sensors

    monkeypatch.delenv("ATTAIN_ALERT_TO", raising=False)
    assert failure_alert_sensors() == []
    monkeypatch.setenv("ATTAIN_ALERT_TO", "ops@acme.example, finance@acme.example")
    [sensor] = failure_alert_sensors()
    assert sensor.name == "month_end_failure_email"
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
