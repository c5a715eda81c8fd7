"""The two warehouses as a test parameter: a DuckDB file, and a database on a real PostgreSQL server.

``warehouse_location`` runs a test once per backend. The PostgreSQL server (tests/pg_server.py) starts once per
test session (per xdist worker) on a loopback port and stops at its end; each test gets an emptied database on
it, and the password reaches libpq through PGPASSWORD, as a deployment's environment would give it.
tests/conftest.py makes the fixtures available to every module.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import psycopg2
import pytest

from tests.pg_server import available, postgres_server

BACKENDS = ("duckdb", "postgresql")


@pytest.fixture(scope="session")
def postgres() -> Iterator[dict]:
    """One throwaway PostgreSQL server for the session: hostname, port, username, password, db_name."""
    if not available():
        pytest.skip("PostgreSQL server binaries not installed (scripts/setup.sh)")
    with postgres_server() as server:
        yield server


def _admin(server: dict, dbname: str):
    con = psycopg2.connect(
        host=server["hostname"],
        port=server["port"],
        user=server["username"],
        password=server["password"],
        dbname=dbname,
    )
    con.autocommit = True
    return con


@pytest.fixture(scope="session")
def postgres_database(postgres) -> str:
    """The session's test database on the server (created once: CREATE DATABASE takes a second)."""
    with contextlib.closing(_admin(postgres, postgres["db_name"])) as con, con.cursor() as cursor:
        cursor.execute("CREATE DATABASE attain_test")
    return f"postgresql://{postgres['username']}@{postgres['hostname']}:{postgres['port']}/attain_test"


def empty_database(server: dict) -> None:
    """Drop every table of the session's test database: the next test starts from an empty warehouse."""
    with contextlib.closing(_admin(server, "attain_test")) as con, con.cursor() as cursor:
        cursor.execute("DROP SCHEMA IF EXISTS attain CASCADE; DROP SCHEMA public CASCADE; CREATE SCHEMA public")


@pytest.fixture(params=BACKENDS)
def warehouse_location(request, tmp_path, monkeypatch) -> str:
    """A fresh, empty warehouse of each backend in turn: a DuckDB file path or a PostgreSQL URL."""
    if request.param == "duckdb":
        return str(tmp_path / "warehouse.duckdb")
    server, location = request.getfixturevalue("postgres"), request.getfixturevalue("postgres_database")
    empty_database(server)
    monkeypatch.setenv("PGPASSWORD", server["password"])
    return location
