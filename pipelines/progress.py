"""A terminal progress bar for month-end runs started from the CLI.

Dagster hands every event of a run to each configured logger; ``progress_logger`` turns step starts and
successes, and the packs stage's ``progress:`` messages, into one updating line. It prints nothing unless
the CLI has switched it on, so runs from the UI or the daemon are unaffected.
"""

from __future__ import annotations

import logging
import re
import sys
from dataclasses import dataclass, field

from dagster import logger

_PROGRESS_RE = re.compile(r"progress: (?P<what>[\w ]+) (?P<done>\d+)/(?P<total>\d+)")


@dataclass
class ProgressBar:
    """State of the bar: steps of the job, and the current stage's own counter (packs, messages)."""

    total_steps: int = 0
    done_steps: int = 0
    current: str = ""
    detail: str = ""
    failed: list[str] = field(default_factory=list)
    stream: object = sys.stderr
    enabled: bool = False

    def reset(self, *, enabled: bool, total_steps: int, title: str) -> None:
        """Start a new run's bar."""
        self.enabled, self.total_steps, self.done_steps = enabled, total_steps, 0
        self.current, self.detail, self.failed = title, "", []
        self.draw()

    def draw(self) -> None:
        if not self.enabled:
            return
        width = 28
        filled = int(width * self.done_steps / self.total_steps) if self.total_steps else 0
        bar = "#" * filled + "-" * (width - filled)
        line = f"\r[{bar}] {self.done_steps}/{self.total_steps} {self.current} {self.detail}"
        self.stream.write(line[:118].ljust(118))
        self.stream.flush()

    def finish(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()


#: The bar the CLI configures before a run and reads after it.
BAR = ProgressBar()


class _ProgressHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        meta = getattr(record, "dagster_meta", None) or {}
        event = meta.get("dagster_event")
        if event is not None:
            kind, step = event.event_type_value, event.step_key
            if kind == "STEP_START":
                BAR.current, BAR.detail = step, ""
            elif kind == "STEP_SUCCESS":
                BAR.done_steps += 1
            elif kind == "STEP_FAILURE":
                BAR.done_steps += 1
                BAR.failed.append(step)
            else:
                return
            BAR.draw()
            return
        match = _PROGRESS_RE.search(record.getMessage())
        if match:
            BAR.detail = f"({match['what']} {match['done']}/{match['total']})"
            BAR.draw()


@logger(description="Draws the CLI's progress bar; silent unless `attain run` switched it on.")
def progress_logger(_init_context) -> logging.Logger:
    """A logger whose only handler updates ``BAR``."""
    lg = logging.Logger("attain.progress", level=logging.DEBUG)
    lg.addHandler(_ProgressHandler())
    return lg
