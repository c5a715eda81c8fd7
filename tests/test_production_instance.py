"""The documented production set-up: Dagster's run storage in PostgreSQL, for real."""

import pytest
import yaml

from tests.pg_server import available, postgres_server

pytestmark = [
    pytest.mark.skipif(not available(), reason="PostgreSQL server not installed (scripts/setup.sh installs it)"),
    pytest.mark.slow,  # starts a real PostgreSQL server and runs a month on it
]


def test_month_end_runs_with_postgres_instance_storage(tmp_path, monkeypatch):
    import psycopg2

    from attain.demo.basics import DEMO_MONTH
    from attain.demo.company import generate
    from pipelines.cli import run_months

    with postgres_server() as db:
        home = tmp_path / "dagster_home"
        home.mkdir()
        # The README's dagster.yaml, with the password from the environment as in production.
        monkeypatch.setenv("DAGSTER_PG_PASSWORD", db["password"])
        storage = {
            "postgres": {
                "postgres_db": {
                    "hostname": db["hostname"],
                    "port": db["port"],
                    "username": db["username"],
                    "password": {"env": "DAGSTER_PG_PASSWORD"},
                    "db_name": db["db_name"],
                    "scheme": "postgresql+psycopg2",
                }
            }
        }
        (home / "dagster.yaml").write_text(yaml.safe_dump({"storage": storage, "telemetry": {"enabled": False}}))
        monkeypatch.setenv("DAGSTER_HOME", str(home))
        generate(tmp_path / "data", reps=12)
        [summary] = run_months(
            [DEMO_MONTH], var=tmp_path / "var", data_dir=tmp_path / "data", show_progress=False, until="deals"
        )
        assert summary.success, summary.lines()
        with (
            psycopg2.connect(
                host=db["hostname"], port=db["port"], user=db["username"], password=db["password"], dbname=db["db_name"]
            ) as con,
            con.cursor() as cur,
        ):
            cur.execute("SELECT count(*) FROM runs WHERE status = 'SUCCESS'")
            assert cur.fetchone()[0] == 1
            cur.execute("SELECT count(*) FROM event_logs WHERE dagster_event_type = 'ASSET_MATERIALIZATION'")
            assert cur.fetchone()[0] >= 7  # the six input tables and the quarantine
