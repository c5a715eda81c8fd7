"""Validation of the reps' self-assessments (issue 13 item 3): the rep's own view and the help wanted."""

from __future__ import annotations

import pandas as pd

from attain.ingest.quarantine import _drop_problem_rows, _duplicates, _empty, _pandera, _Table, _unknown


def _validate_self_assessments(table: _Table | None, roster: tuple[pd.Index, pd.Index]) -> pd.DataFrame:
    """Validated self-assessments: one row per (rep_id, month), every rep on the roster.

    The texts were cleaned and cut to ``text_max_length`` by ``_sanitise`` like every display text. A rep the
    roster does not know, a malformed month, an empty row or two different rows for one rep and month go to
    quarantine with their reason; exact repeats are counted as skipped.
    """
    if table is None:
        return _empty("self_assessments")
    _duplicates(table, ["rep_id", "month"], "rep_id and month")
    typed = table.text[["rep_id", "month", "text", "help_wanted"]].copy()
    _pandera(table, typed)
    _unknown(table, "rep_id", *roster, "rep_id in reps", "correct the id or add the rep to reps")
    return _drop_problem_rows(table, typed)
