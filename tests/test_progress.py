"""The CLI's run progress: a rich bar on a terminal, a few plain lines in a log file, nothing when quiet."""

import io
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.progress import PLAIN_COUNTER_LINES, ProgressBar

ROOT = Path(__file__).resolve().parents[1]


class _Terminal(io.StringIO):
    """A stream that says it is a terminal, as a console window does."""

    def isatty(self) -> bool:
        return True


def _run(bar: ProgressBar, packs: int) -> None:
    """A three-stage run whose second stage writes ``packs`` packs (the last one fails its stage)."""
    bar.reset(enabled=True, total_steps=3, title="2026-10")
    bar.step_started("payouts")
    bar.step_finished("payouts", failed=False)
    bar.step_started("review_packs")
    for done in range(1, packs + 1):
        bar.counter("packs", done, packs)
    bar.step_finished("review_packs", failed=False)
    bar.step_started("deliveries")
    bar.step_finished("deliveries", failed=True)
    bar.finish()


def test_a_log_file_gets_one_line_per_stage_and_a_few_for_the_packs():
    log = io.StringIO()
    bar = ProgressBar(stream=log)
    _run(bar, packs=40)
    lines = log.getvalue().splitlines()
    assert "\r" not in log.getvalue() and "\x1b" not in log.getvalue()  # no redraws, no terminal codes
    assert lines == [
        "2026-10: 3 stages",
        "2026-10: [1/3] payouts done",
        "2026-10: review_packs packs 1/40",
        "2026-10: review_packs packs 10/40",
        "2026-10: review_packs packs 20/40",
        "2026-10: review_packs packs 30/40",
        "2026-10: review_packs packs 40/40",
        "2026-10: [2/3] review_packs done",
        "2026-10: [3/3] deliveries FAILED",
    ]
    assert len([line for line in lines if " packs " in line]) == PLAIN_COUNTER_LINES + 1
    assert bar.failed == ["deliveries"] and bar.done_steps == 3


def test_a_terminal_gets_a_bar_that_counts_stages_and_packs():
    screen = _Terminal()
    bar = ProgressBar(stream=screen)
    bar.reset(enabled=True, total_steps=3, title="2026-10")
    bar.step_started("review_packs")
    bar.counter("packs", 7, 12)
    bar._progress.refresh()  # what the bar's own refresh thread draws a moment later
    drawn = screen.getvalue()
    assert "2026-10" in drawn and "0/3" in drawn and "review_packs (packs 7/12)" in drawn
    bar.step_finished("review_packs", failed=False)
    bar.finish()
    assert "1/3" in screen.getvalue()[len(drawn) :]  # the bar left on screen shows the stage done
    assert "\x1b" in screen.getvalue()  # drawn in place with terminal codes, not as log lines


def test_quiet_shows_nothing_anywhere():
    for stream in (io.StringIO(), _Terminal()):
        bar = ProgressBar(stream=stream)
        bar.reset(enabled=False, total_steps=3, title="2026-10")
        bar.step_started("payouts")
        bar.counter("packs", 1, 2)
        bar.step_finished("payouts", failed=False)
        bar.finish()
        assert stream.getvalue() == ""


@pytest.mark.slow
def test_a_run_with_its_output_in_a_file_writes_plain_lines(tmp_path):
    """A real `attain run` of the example month, its progress sent to a file as a scheduler's log would be."""
    data = tmp_path / "data"
    shutil.copytree(ROOT / "docs" / "examples", data)
    log = tmp_path / "run.log"
    command = ["run", "--month", "2025-03", "--data", str(data)]
    with log.open("w") as stderr:
        done = subprocess.run(
            [sys.executable, "-m", "pipelines.cli", "--var", str(tmp_path / "var"), *command],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            timeout=600,
        )
    assert done.returncode == 0, done.stdout
    text = log.read_text()
    lines = text.splitlines()
    assert "\r" not in text and "\x1b" not in text
    stages = int(lines[0].removeprefix("2025-03: ").removesuffix(" stages"))
    finished = [line for line in lines if line.endswith(" done")]
    packs = [line for line in lines if "review_packs packs " in line]
    assert "2025-03: [1/" in finished[0] and len(finished) <= stages
    assert packs[-1] == "2025-03: review_packs packs 7/7" and len(packs) <= PLAIN_COUNTER_LINES + 1
    assert len(lines) == 1 + len(finished) + len(packs)  # nothing else: no redraw per event
