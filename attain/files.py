"""Writing files so that a reader never sees half of one.

Packs, finance exports and outbox messages are read by other people and programs while a
run may still be writing (or may be killed). :func:`write_atomic` writes to a temporary
file in the target's folder (named ``.<name>.<random>``, so no ``*.pdf`` / ``*.eml`` /
``*.csv`` pattern picks it up), flushes it to disk and renames it over the target: the
target is either the old file or the complete new one, and a failed write leaves no
temporary file behind.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def write_atomic(path: Path, data: bytes | Callable[[Path], None]) -> None:
    """Write ``data`` (bytes, or a function writing the file at the path it is given) to ``path`` atomically.

    Missing parent folders are created.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as out:
            if isinstance(data, bytes):
                out.write(data)
        if not isinstance(data, bytes):
            data(Path(tmp))
        with open(tmp, "rb+") as written:
            os.fsync(written.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
