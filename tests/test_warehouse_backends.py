"""One month on the PostgreSQL warehouse equals the same month on the DuckDB file, row for row.

The demo company (12 reps) runs once with the embedded default and once with ``ATTAIN_WAREHOUSE`` naming a
real PostgreSQL server (its own role and database, the password only in ``ATTAIN_WAREHOUSE_PASSWORD``),
through the entry point the CLI uses. Every asset table must hold the same rows; the delivery log holds each
message once and a re-run sends nothing; the password appears in no file the run wrote (the Dagster
instance, its event log and run config live under ``var``).
"""

import contextlib
import email
import json
from email import policy
from pathlib import Path

import pandas as pd
import psycopg2
import pytest
from dagster import DagsterInstance

from attain import warehouse
from attain.demo.basics import DEMO_MONTH
from attain.demo.company import generate
from pipelines.cli import run_months

pytestmark = pytest.mark.slow

SECRET = "Wh-only-in-the-env-7c1f"
#: Columns that hold the wall-clock time of the run that wrote them: the two runs differ there by design.
RUN_TIMES = {"logged_at", "sent_at"}


def _own_database(server: dict) -> str:
    """A role with ``SECRET`` as its password and a database it owns; the URL, without the password."""
    con = psycopg2.connect(
        host=server["hostname"],
        port=server["port"],
        user=server["username"],
        password=server["password"],
        dbname=server["db_name"],
    )
    con.autocommit = True
    with contextlib.closing(con), con.cursor() as cursor:
        cursor.execute(f"CREATE ROLE month_end LOGIN PASSWORD '{SECRET}'")
        cursor.execute("CREATE DATABASE month_end OWNER month_end")
    return f"postgresql://month_end@{server['hostname']}:{server['port']}/month_end"


def _tables(location: str, var: Path) -> dict[str, pd.DataFrame]:
    """Every table of schema ``attain`` as text, rows sorted, wall-clock columns left out, ``var`` as <var>."""
    with warehouse.connect(location, SECRET) as con:
        names = [
            r[0]
            for r in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = ?", ["attain"]
            ).fetchall()
        ]
        out = {}
        for name in sorted(names):
            frame = con.read(f"SELECT * FROM attain.{name}")
            frame = frame.drop(columns=sorted(RUN_TIMES & set(frame.columns)))
            frame = frame[sorted(frame.columns)].astype(object).where(frame.notna(), None)
            text = frame.map(lambda value: str(value).replace(str(var), "<var>"))
            out[name] = text.sort_values(list(frame.columns)).reset_index(drop=True)
    return out


def _outbox(var: Path) -> list[str]:
    mails = sorted((var / "outbox").rglob("*.eml"))
    return [email.message_from_bytes(p.read_bytes(), policy=policy.default)["Message-ID"] for p in mails]


def test_a_month_on_postgresql_equals_the_month_on_duckdb(tmp_path, monkeypatch, postgres):
    data = tmp_path / "demo-data"
    generate(data, reps=12)
    for name in ("ATTAIN_WAREHOUSE", "ATTAIN_WAREHOUSE_PASSWORD", "PGPASSWORD", "DAGSTER_HOME", "ATTAIN_VAR"):
        monkeypatch.delenv(name, raising=False)
    duck_var, pg_var = tmp_path / "duck", tmp_path / "pg"
    [embedded] = run_months([DEMO_MONTH], var=duck_var, data_dir=data, show_progress=False)
    assert embedded.success, embedded.lines()

    location = _own_database(postgres)
    monkeypatch.setenv("ATTAIN_WAREHOUSE", location)
    monkeypatch.setenv("ATTAIN_WAREHOUSE_PASSWORD", SECRET)
    [shared] = run_months([DEMO_MONTH], var=pg_var, data_dir=data, show_progress=False)
    assert shared.success, shared.lines()
    assert not (pg_var / "warehouse.duckdb").exists()  # every table went to PostgreSQL

    embedded_tables = _tables(str(duck_var / "warehouse.duckdb"), duck_var)
    shared_tables = _tables(location, pg_var)
    assert sorted(shared_tables) == sorted(embedded_tables) and len(embedded_tables) > 15
    for name, rows in embedded_tables.items():  # deliveries too: the PDFs' sha256 are equal
        pd.testing.assert_frame_equal(shared_tables[name], rows, obj=name)
    assert shared.counts == embedded.counts and shared.payable == embedded.payable

    with warehouse.connect(location, SECRET) as con:
        log = con.read("SELECT * FROM delivery_log")
        fingerprints = con.read("SELECT * FROM input_fingerprints")
    sent = _outbox(pg_var)
    assert len(sent) >= 2 and sorted(log["message_id"]) == sorted(sent)
    assert log["outcome"].tolist() == ["sent"] * len(sent)
    assert not log.duplicated(["month", "manager_id", "recipient"]).any()
    assert fingerprints["month"].tolist() == [DEMO_MONTH]

    [again] = run_months([DEMO_MONTH], var=pg_var, data_dir=data, show_progress=False, only=["deliveries"])
    assert again.success, again.lines()
    with warehouse.connect(location, SECRET) as con:
        assert con.read("SELECT count(*) AS n FROM delivery_log")["n"].iloc[0] == len(sent)  # nothing re-sent
    assert _outbox(pg_var) == sent

    written = [p for p in pg_var.rglob("*") if p.is_file()]
    assert written and not [p for p in written if SECRET.encode() in p.read_bytes()]
    instance = DagsterInstance.from_config(str(pg_var / "dagster"))
    runs = instance.get_runs()
    assert len(runs) == 2
    for run in runs:
        logged = json.dumps(run.run_config, default=str) + "".join(repr(e) for e in instance.all_logs(run.run_id))
        assert SECRET not in logged
