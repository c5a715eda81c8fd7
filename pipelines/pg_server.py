"""A throwaway PostgreSQL server for tests and benchmarks: initdb in a temporary folder, on a free loopback port.

Here (an installed package) so that both tests/ and benchmarks/ (run as scripts) import the one starter.

PostgreSQL refuses to run as root, so under root (CI) the server runs as the `postgres` system user that
Debian's package creates. The binaries come from the `postgresql` package that scripts/setup.sh installs.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg2


def _bindir() -> Path | None:
    found = shutil.which("pg_config")
    if found:
        out = subprocess.run([found, "--bindir"], capture_output=True, text=True, check=False).stdout.strip()
        if out and (Path(out) / "initdb").exists():
            return Path(out)
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(candidates[-1]).parent if candidates else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def available() -> bool:
    """True when the PostgreSQL server binaries are installed."""
    return _bindir() is not None


@contextlib.contextmanager
def postgres_server() -> Iterator[dict]:
    """Start a server in a fresh temporary folder; yields hostname, port, username, password and db_name.

    The folder is made by ``tempfile`` directly under the system temp dir (pytest's own tmp folders are
    private to root, which the `postgres` user could not enter) and removed afterwards.
    """
    bindir = _bindir()
    assert bindir is not None, "PostgreSQL server binaries not found: run scripts/setup.sh"
    as_user: list[str] = []
    folder = Path(tempfile.mkdtemp(prefix="attain-pg-"))
    data = folder / "pgdata"
    if os.geteuid() == 0:
        as_user = ["runuser", "-u", "postgres", "--"]
        shutil.chown(folder, "postgres")
        folder.chmod(0o755)
    password_file = folder / "pw"
    password_file.write_text("attain-test\n")
    if as_user:
        shutil.chown(password_file, "postgres")
    port = _free_port()

    def run(*cmd):
        return subprocess.run([*as_user, *cmd], check=True, capture_output=True, text=True)

    run(str(bindir / "initdb"), "-D", str(data), "-U", "attain", "-A", "md5", "--pwfile", str(password_file))
    run(
        str(bindir / "pg_ctl"),
        "-D",
        str(data),
        "-w",
        "-l",
        str(folder / "server.log"),
        "-o",
        f"-p {port} -k {folder} -c listen_addresses=127.0.0.1",
        "start",
    )
    try:
        admin = psycopg2.connect(host="127.0.0.1", port=port, user="attain", password="attain-test", dbname="postgres")
        admin.autocommit = True  # CREATE DATABASE runs outside a transaction
        with contextlib.closing(admin), admin.cursor() as cursor:
            cursor.execute("CREATE DATABASE dagster")
        yield {
            "hostname": "127.0.0.1",
            "port": port,
            "username": "attain",
            "password": "attain-test",
            "db_name": "dagster",
        }
    finally:
        run(str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop")
        shutil.rmtree(folder, ignore_errors=True)
