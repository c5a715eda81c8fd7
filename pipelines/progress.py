"""The progress display of month-end runs started from the CLI.

Dagster hands every event of a run to each configured logger; ``progress_logger`` turns step starts,
successes and failures, and the packs stage's ``progress:`` messages (one per pack as it is written or
fails), into progress. On a terminal that is one rich progress bar redrawn in place; anywhere else (a log
file, a pipe, CI) it is plain lines, one per finished stage and a few for the packs, because a log file
must not receive every redraw. It shows nothing unless the CLI has switched it on, so runs from the UI or
the daemon are unaffected.
"""

from __future__ import annotations

import logging
import re
import sys
from dataclasses import dataclass, field
from typing import TextIO

from dagster import InitLoggerContext, logger
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

_PROGRESS_RE = re.compile(r"progress: (?P<what>[\w ]+) (?P<done>\d+)/(?P<total>\d+)")

#: In plain-line mode a stage's own counter (packs) is reported at most this many times, and at its end.
PLAIN_COUNTER_LINES = 4


@dataclass
class ProgressBar:
    """Progress of one run: steps of the job, and the current stage's own counter (packs)."""

    total_steps: int = 0
    done_steps: int = 0
    current: str = ""
    detail: str = ""
    failed: list[str] = field(default_factory=list)
    stream: TextIO | None = None  # None: sys.stderr as it is when the run starts
    enabled: bool = False
    title: str = ""
    _console: Console | None = None
    _progress: Progress | None = None
    _task: TaskID | None = None
    _counter_shown: int = -1

    def reset(self, *, enabled: bool, total_steps: int, title: str) -> None:
        """Start a new run's progress (a rich bar on a terminal, plain lines elsewhere)."""
        self.finish()
        self.enabled, self.total_steps, self.done_steps = enabled, total_steps, 0
        self.title, self.current, self.detail, self.failed = title, title, "", []
        self._counter_shown = -1
        if not enabled:
            return
        self._console = Console(file=self.stream or sys.stderr, highlight=False, soft_wrap=True)
        if self._console.is_terminal:
            self._progress = Progress(
                TextColumn("[bold]{task.fields[title]}"),
                BarColumn(bar_width=28),
                MofNCompleteColumn(),
                TextColumn("{task.description}"),
                TimeElapsedColumn(),
                console=self._console,
            )
            self._task = self._progress.add_task(title, total=total_steps, title=title)
            self._progress.start()
        else:
            self._line(f"{title}: {total_steps} stages")

    def step_started(self, step: str) -> None:
        """A stage began: it becomes the one shown, with no counter yet."""
        self.current, self.detail = step, ""
        self._counter_shown = -1
        self._redraw()

    def step_finished(self, step: str, *, failed: bool) -> None:
        """A stage ended (successfully or not): one more step is done."""
        self.done_steps += 1
        if failed:
            self.failed.append(step)
        if self._progress is None:
            self._line(f"{self.title}: [{self.done_steps}/{self.total_steps}] {step} {'FAILED' if failed else 'done'}")
        self._redraw()

    def counter(self, what: str, done: int, total: int) -> None:
        """The current stage counted one more of its items (a pack written or failed)."""
        self.detail = f"({what} {done}/{total})"
        if self._progress is None:
            # Plain lines: a handful per stage, not one per item; always the last one.
            shown = done * PLAIN_COUNTER_LINES // total if total else PLAIN_COUNTER_LINES
            if shown != self._counter_shown or done == total:
                self._line(f"{self.title}: {self.current} {what} {done}/{total}")
                self._counter_shown = shown
        self._redraw()

    def finish(self) -> None:
        """End the run's progress: the bar stays on screen as last drawn."""
        if self._progress is not None:
            self._progress.stop()
        self._progress, self._task, self._console = None, None, None

    def _redraw(self) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.update(
                self._task, completed=self.done_steps, description=f"{self.current} {self.detail}".rstrip()
            )

    def _line(self, text: str) -> None:
        if self.enabled and self._console is not None:
            self._console.print(text, markup=False)


#: The last step of the packs stage, a graph of several steps (plan, one per chunk of teams, collect): the stage
#: is shown under its own name and counts as done when this step is.
LAST_INNER_STEP = "collect_packs"

#: The progress the CLI configures before a run and ends after it.
BAR = ProgressBar()


class _ProgressHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        meta = getattr(record, "dagster_meta", None) or {}
        event = meta.get("dagster_event")
        if event is not None:
            kind, step = event.event_type_value, event.step_key
            stage, _, inner = (step or "").partition(".")  # a graph stage's steps: review_packs.render_pack_chunk[..]
            if kind == "STEP_START":
                BAR.step_started(stage)
            elif kind == "STEP_FAILURE" or (kind == "STEP_SUCCESS" and inner in ("", LAST_INNER_STEP)):
                BAR.step_finished(stage, failed=kind == "STEP_FAILURE")
            return
        match = _PROGRESS_RE.search(record.getMessage())
        if match:
            BAR.counter(match["what"], int(match["done"]), int(match["total"]))


@logger(None, description="Shows the CLI's run progress; silent unless `attain run` switched it on.")
def progress_logger(_init_context: InitLoggerContext) -> logging.Logger:
    """A logger whose only handler updates ``BAR``."""
    lg = logging.Logger("attain.progress", level=logging.DEBUG)
    lg.addHandler(_ProgressHandler())
    return lg
