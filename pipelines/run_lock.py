"""One run at a time per var folder: the warehouse is a DuckDB file, and DuckDB lets one process write it.

Two runs on the same var folder, of the same month or of different months, would collide on that file (the
second failing half-way with a raw lock error after rewriting tables). ``run_lock`` takes an exclusive
``fcntl.flock`` on ``<var>/locks/warehouse.lock`` before anything is read or written, and writes into the file
who holds it (pid, months, start time) for the message the next run prints. The operating system releases a
flock when its process ends, however it ends, so a killed run never leaves a stale lock behind.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


class RunInProgress(Exception):
    """Another process holds the var folder's run lock; ``str()`` names its month, pid and start time."""


def lock_path(var: Path) -> Path:
    """The lock file of a var folder."""
    return Path(var) / "locks" / "warehouse.lock"


def _holder(fd: int) -> str:
    """Who holds the lock, as written into the file by the holder ("another run" when not yet written)."""
    os.lseek(fd, 0, os.SEEK_SET)
    try:
        info = json.loads(os.read(fd, 4096).decode("utf-8"))
        return f"another run of {info['months']} (pid {info['pid']}, started at {info['started']})"
    except (ValueError, KeyError, UnicodeDecodeError):
        return "another run"


@contextmanager
def run_lock(
    var: Path, months: str, *, wait: bool = False, waiting: Callable[[str], None] | None = None
) -> Iterator[None]:
    """Hold the run lock of ``var`` while the block runs; ``months`` ("2026-10", "2026-08 to 2026-10") is what
    this run writes into it.

    Held by another process: raises ``RunInProgress`` at once, or with ``wait`` calls ``waiting(message)`` and
    blocks until the other run ends.
    """
    path = lock_path(var)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)  # never truncated before the lock is ours
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            if not wait:
                raise RunInProgress(
                    f"{holder} is in progress; wait for it to finish, or start this run with --wait "
                    f"(the lock is {path}, released when that run ends)"
                ) from None
            if waiting:
                waiting(f"waiting for {holder} to finish")
            fcntl.flock(fd, fcntl.LOCK_EX)
        started = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps({"months": months, "pid": os.getpid(), "started": started}).encode("utf-8"), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
