"""A throwaway Redis server for tests: started in a temporary folder on a free loopback port, stopped after.

It keeps nothing on disk (``--save ''``, ``--appendonly no``). The binary comes from the `redis-server`
package that scripts/setup.sh installs.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def available() -> bool:
    """True when the Redis server binary is installed."""
    return shutil.which("redis-server") is not None


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    """Start a Redis server; yields its URL (``redis://127.0.0.1:PORT/0``). Stopped and its folder removed
    afterwards, however the block ends."""
    binary = shutil.which("redis-server")
    assert binary is not None, "redis-server not found: run scripts/setup.sh"
    folder = Path(tempfile.mkdtemp(prefix="attain-redis-"))
    port = _free_port()
    command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    command += ["--dir", str(folder), "--logfile", str(folder / "redis.log")]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                log = folder / "redis.log"
                raise RuntimeError(f"redis-server did not start: {log.read_text() if log.exists() else ''}")
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(folder, ignore_errors=True)
