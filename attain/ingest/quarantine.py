"""Row problems of one input table, how they become quarantine rows with reasons (Pandera failures,
duplicates, unknown ids, unsafe text), and what each table's summary records.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pyarrow as pa_arrow
import pyarrow.compute as pc

from attain.ingest.contract import CONTRACT, INPUT_SCHEMAS, OUTPUT_COLUMNS, QUARANTINE_COLUMNS, QuarantineSchema
from attain.ingest.details import _contract_details
from attain.ingest.raw import RawTable
from attain.ingest.reasons import _REASONS, _generic
from attain.settings import how_to_set

# ---------------------------------------------------------------- results


@dataclass
class TableSource:
    """Where a table came from, how it was read and what happened to its rows.

    rows_read = rows_accepted + rows_quarantined + rows_skipped, where skipped rows
    are outside the month's snapshot (e.g. deals created after the month) or
    exact repeats of another row. ``details`` says how the file was read, for
    ``attain validate``: label -> sentence (layout, file, date order, amounts,
    owners, ...), in the order they are printed.
    """

    table: str
    file: str
    encoding: str | None
    delimiter: str | None
    profile: str | None
    rows_read: int
    rows_accepted: int
    rows_quarantined: int
    rows_skipped: int = 0
    sheet: str | None = None
    details: dict[str, str] = field(default_factory=dict)


class _Problems:
    """Row problems of one table, keyed by the raw row index (row = index + 2)."""

    def __init__(self) -> None:
        self._parts: list[pd.DataFrame] = []

    def add(self, index: Iterable, column: str, values: Iterable, reasons: Iterable[str] | str) -> None:
        rows = pd.Index(index)
        if len(rows) == 0:
            return
        reasons = [reasons] * len(rows) if isinstance(reasons, str) else list(reasons)
        self._parts.append(
            pd.DataFrame(
                {"index": rows.to_numpy(), "column": column, "value": [str(v) for v in values], "reason": reasons}
            )
        )

    def frame(self) -> pd.DataFrame:
        if not self._parts:
            return pd.DataFrame({"index": pd.Series(dtype="int64"), "column": "", "value": "", "reason": ""}).iloc[:0]
        return pd.concat(self._parts, ignore_index=True)

    def rows(self) -> pd.Index:
        """Indexes of the rows with at least one problem."""
        if not self._parts:
            return pd.Index([], dtype="int64")
        return pd.Index(np.unique(np.concatenate([p["index"].to_numpy() for p in self._parts])))


@dataclass
class _Table:
    """One input file being validated: its cleaned text, its problems, its typed rows."""

    name: str
    raw: RawTable
    source_file: str
    text: pd.DataFrame
    #: deals only: ids of the deals created after the month (outside its snapshot).
    later_ids: pd.Index = field(default_factory=lambda: pd.Index([]))
    problems: _Problems = field(default_factory=_Problems)
    skipped: int = 0
    profile: str | None = None
    extra_quarantine: pd.DataFrame | None = None
    #: How the file was read, for the report (see TableSource.details).
    details: dict[str, str] = field(default_factory=dict)
    #: CRM export: contract column -> the export's own column, so problems name the column a person sees.
    column_names: dict[str, str] = field(default_factory=dict)
    #: What was changed in the text on the way (label -> sentence): shown with ``details`` in the validate
    #: report and in the run's metadata (control characters removed, long text cut, product aliases).
    warnings: dict[str, str] = field(default_factory=dict)

    def rows_label(self, index: Iterable) -> str:
        """'rows 4, 9' for a list of raw indexes."""
        numbers = sorted(int(i) + 2 for i in index)
        return ("row " if len(numbers) == 1 else "rows ") + ", ".join(map(str, numbers))


@cache
def _check_schema(name: str) -> pa.DataFrameSchema:
    """The table's schema relaxed for the check pass.

    Only columns with checks are kept. Cells that did not parse are already
    problems and are null here, so every column is nullable; text is ``str`` by
    construction, so its per-element dtype check (seconds on 1M rows) is
    skipped; uniqueness is the duplicate rule's job, which can tell identical
    repeats from conflicting ones; provenance is added later.
    """
    schema = INPUT_SCHEMAS[name].to_schema()
    unchecked = [c for c, column in schema.columns.items() if not column.checks or c in ("source_file", "source_row")]
    schema = schema.remove_columns(unchecked)
    updates: dict[str, dict] = {}
    for column_name, column in schema.columns.items():
        update: dict = {"unique": False, "nullable": True}
        if str(column.dtype) == "str":
            update["dtype"] = None
        elif str(column.dtype) in ("int64", "Int64"):
            update["dtype"] = "Int64"
        updates[column_name] = update
    schema = schema.update_columns(updates)
    schema.strict = False  # validated in place: extra columns must stay
    return schema


@cache
def _column_schema(name: str) -> pa.DataFrameSchema:
    """The check-pass schema without its row-wise (dataframe) checks, which ``_pandera`` runs itself."""
    schema = copy.copy(_check_schema(name))
    schema.checks = []
    return schema


def _pandera(table: _Table, typed: pd.DataFrame, required_dates: tuple[str, ...] = ()) -> None:
    """Run the table's schema lazily and turn every failure case into a problem.

    Column checks go through Pandera's lazy validation. The row-wise checks
    across columns are evaluated directly as boolean masks: Pandera's
    failure-case report for them reshapes row by row, far too slow when a large
    file has many bad rows.
    """
    failures = []
    try:
        _column_schema(table.name).validate(typed, lazy=True, inplace=True)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
        if cases["index"].isna().any():
            raise RuntimeError(f"schema of {table.name} failed on a whole column:\n{cases}") from None
        for column, group in cases.groupby("column", sort=False):
            failures.append((column, pd.Index(group["index"].astype("int64").unique())))
    for check in _check_schema(table.name).checks:
        passed = check(typed).check_output
        failures.append((check.name, typed.index[~passed.to_numpy(dtype=bool)]))

    reported = table.problems.frame().set_index(["index", "column"]).index
    for key, index in failures:
        if len(index) == 0:
            continue
        column, reason = _REASONS.get((table.name, key), (key if key in table.text else "", _generic(key)))
        # A cell that did not parse is already reported; a rule on its null value would only repeat it.
        index = index[~pd.MultiIndex.from_arrays([index, [column] * len(index)]).isin(reported)]
        rows = table.text.loc[index]
        table.problems.add(index, column, rows[column] if column else [""] * len(rows), reason(rows))
    for column in required_dates:
        blank = typed[column].isna() & (table.text[column] == "")
        if blank.any():
            _, reason = _REASONS[(table.name, column)]
            rows = table.text[blank]
            table.problems.add(rows.index, column, rows[column], reason(rows))


# ---------------------------------------------------------------- shared row rules


def _duplicates(table: _Table, key: list[str], what: str) -> None:
    """Collapse exact repeats of a row; quarantine every copy of a key whose rows disagree.

    Each quarantined copy names the other rows with the same key and the columns
    that differ. Exact repeats are dropped from ``table.text`` and counted as skipped.
    """
    text = table.text
    dup = (text[key[0]].duplicated(keep=False) if len(key) == 1 else text.duplicated(key, keep=False)).to_numpy()
    if not dup.any():
        return
    sub = text[dup]
    repeat = sub.duplicated(keep="first")
    distinct = sub[~repeat]
    conflicting_keys = distinct[distinct.duplicated(key, keep=False)][key].drop_duplicates()
    in_conflict = sub.reset_index().merge(conflicting_keys, on=key).set_index("index")
    for _, group in in_conflict.groupby(key, sort=False):
        differing = [c for c in text.columns if group[c].nunique() > 1]
        for idx in group.index:
            others = table.rows_label(group.index.drop(idx))
            key_text = ", ".join(f"{k} {group.at[idx, k] or '(blank)'}" for k in key)
            table.problems.add(
                [idx],
                key[0],
                [group.at[idx, key[0]]],
                f"{key_text} also appears on {others} with different {', '.join(differing)}; "
                f"keep one row per {what} (or give each its own id)",
            )
    drop = repeat.index[repeat.to_numpy()].difference(in_conflict.index)
    table.text = text.drop(index=drop)
    table.skipped += len(drop)


def _unknown(
    table: _Table, column: str, known: pd.Index, rejected: pd.Index, noun: str, fix: str, mask: pd.Series | None = None
) -> None:
    """Problem for each non-blank ``column`` value not in ``known``; say so when it was itself rejected."""
    values = table.text[column]
    unknown = ~values.isin(known)
    if mask is not None:
        unknown &= mask
    values = values[unknown.to_numpy()]
    values = values[(values != "").to_numpy()]
    if values.empty:
        return
    was_rejected = values.isin(rejected)
    reasons = np.where(
        was_rejected,
        column + " " + values + f" is a {noun} whose own row was rejected (see quarantine); fix that row first",
        column + " " + values + f" is not a {noun}; {fix}",
    )
    table.problems.add(values.index, column, values, reasons)


def _drop_problem_rows(table: _Table, typed: pd.DataFrame) -> pd.DataFrame:
    return typed.drop(index=table.problems.rows().intersection(typed.index))


# ---------------------------------------------------------------- implausible text

#: Display text of each table: cleaned of control and bidi-override characters and cut to ``text_max_length``.
#: Ids and the names used as keys (team, region) are never changed: see ``_id_problems``.
_DISPLAY_TEXT = {
    "deals": ("account", "product", "cancel_reason"),
    "reps": ("name",),
    "targets": ("reason", "author"),
    "surveys": ("account", "comment"),
    "disputes": ("claim", "resolution", "decided_by"),
    "self_assessments": ("text", "help_wanted"),
}
#: Line breaks and tabs become a space (words stay apart); every other C0/C1 control character and the
#: bidi overrides and isolates (U+202A-U+202E, U+2066-U+2069) are removed: none is legitimate in a name.
_SPACING = r"[\t\n\r\x0b\x0c]"
_UNSAFE = r"[\x00-\x1f\x7f-\x9f\x{202A}-\x{202E}\x{2066}-\x{2069}]"
_ELLIPSIS = "…"


def _arrow_text(column: pd.Series) -> pa_arrow.Array:
    return pa_arrow.array(column.to_numpy(dtype=object), type=pa_arrow.string(), from_pandas=True)


def _plain(column: pd.Series, max_length: int) -> bool:
    """True when no cell can need cleaning or cutting: the fast path of a million clean cells.

    ``str.isprintable`` (C speed over the joined text) is False for every control and bidi-override character
    (and for a few harmless ones, such as a no-break space: those columns then take the exact, slower path).
    """
    cells = column.tolist()
    return not cells or (" ".join(cells).isprintable() and max(map(len, cells)) <= max_length)


def _some_rows(table: _Table, index: pd.Index) -> str:
    """'rows 4, 9' naming at most ten rows, then how many more."""
    label = table.rows_label(index[:10])
    return label + (f" and {len(index) - 10:,} more" if len(index) > 10 else "")


def _sanitise(table: _Table | None, max_length: int) -> None:
    """Clean and cut the display text of ``table`` (vectorised, only the columns that need it), with warnings.

    The row is kept: a stray NUL or a right-to-left override in an account name is the CRM's noise, not a
    reason to lose the deal. What was changed is listed in ``table.warnings`` (the validate report and the
    ingest metadata show it); the quarantine and raw records keep the original text.
    """
    if table is None:
        return
    cleaned, cut, changed = [], [], {}
    for column in _DISPLAY_TEXT.get(table.name, ()):
        if _plain(table.text[column], max_length):
            continue
        values = _arrow_text(table.text[column])
        unsafe = pc.match_substring_regex(values, _UNSAFE).to_numpy(zero_copy_only=False)
        if unsafe.any():
            values = pc.utf8_trim_whitespace(
                pc.replace_substring_regex(pc.replace_substring_regex(values, _SPACING, " "), _UNSAFE, "")
            )
            cleaned.append(f"{column} ({_some_rows(table, table.text.index[unsafe])})")
        long = pc.utf8_length(values).to_numpy(zero_copy_only=False) > max_length
        if long.any():
            short = pc.binary_join_element_wise(pc.utf8_slice_codeunits(values, 0, max_length - 1), _ELLIPSIS, "")
            values = pc.if_else(pa_arrow.array(long), short, values)
            cut.append(f"{column} ({_some_rows(table, table.text.index[long])})")
        if unsafe.any() or long.any():
            changed[column] = values.to_numpy(zero_copy_only=False)
    if changed:
        table.text = table.text.assign(**{c: pd.Series(v, index=table.text.index) for c, v in changed.items()})
    if cleaned:
        table.warnings["text cleaned"] = (
            "control or bidi-override characters removed (line breaks and tabs read as a space) from "
            + "; ".join(cleaned)
            + "; the rows are kept"
        )
    if cut:
        table.warnings["text cut"] = (
            f"text longer than {max_length:,} characters cut to {max_length:,} (ending with {_ELLIPSIS}) in "
            + "; ".join(cut)
            + f"; to keep more, raise the limit: {how_to_set('text_max_length', _longer(max_length))}"
        )


def _longer(length: int) -> int:
    """A round limit above ``length``, for the example in a message."""
    return (length // 100 + 2) * 100


def _id_problems(table: _Table, columns: tuple[str, ...], max_length: int) -> None:
    """Ids are never cleaned or cut (a changed id could name another record): one that needs it is a problem."""
    for column in columns:
        if _plain(table.text[column], max_length):
            continue
        values = _arrow_text(table.text[column])
        unsafe = pc.match_substring_regex(values, _UNSAFE).to_numpy(zero_copy_only=False)
        lengths = pc.utf8_length(values).to_numpy(zero_copy_only=False)
        long = lengths > max_length
        if not (unsafe.any() or long.any()):
            continue
        rows = np.flatnonzero(unsafe | long)
        table.problems.add(
            table.text.index[rows],
            column,
            table.text[column].iloc[rows],
            [
                f"{column} is {n:,} characters long, more than the {max_length:,} characters allowed; an id is "
                "never cut (a cut id could name another record): correct it in the export, or raise the limit: "
                + how_to_set("text_max_length", _longer(n))
                if too_long
                else f"{column} contains control or bidi-override characters; an id is never changed (a changed id "
                "could name another record): correct it in the export"
                for n, too_long in zip(lengths[rows], long[rows], strict=True)
            ],
        )


def _empty(name: str) -> pd.DataFrame:
    """An empty table with the validated columns and dtypes (for an optional file that is absent)."""
    columns = INPUT_SCHEMAS[name].to_schema().columns
    dtypes = {"str": object, "int64": "int64", "Int64": "Int64", "datetime64[ns]": "datetime64[ns]"}
    return pd.DataFrame({c: pd.Series(dtype=dtypes.get(str(columns[c].dtype), object)) for c in OUTPUT_COLUMNS[name]})


def _finish(df: pd.DataFrame, name: str, table: _Table | None) -> pd.DataFrame:
    """Output column order, integer dtypes, provenance (source_file, source_row), fresh index.

    ``df`` is the validator's own frame, changed in place: no copy of a million rows.
    """
    if table is None:
        out = _empty(name)
        return out.assign(source_file=pd.Series(dtype=object), source_row=pd.Series(dtype="int64"))
    if list(df.columns) != OUTPUT_COLUMNS[name]:
        df = df[OUTPUT_COLUMNS[name]].copy()
    if name == "surveys":
        df["score"] = df["score"].astype("int64")
    rows = (df.index.to_numpy() + 2).astype("int64")
    df.index = pd.RangeIndex(len(df))
    df["source_file"] = table.source_file
    df["source_row"] = rows
    return df


def _quarantine(tables: dict[str, _Table | None], month: str) -> pd.DataFrame:
    """One quarantine row per (row, column) problem of every table, in file order."""
    parts = []
    for name in CONTRACT:
        table = tables.get(name)
        if table is None:
            continue
        problems = table.problems.frame()
        if len(problems):
            index = problems["index"].to_numpy()
            records = table.raw.df.loc[index].to_json(orient="records", lines=True, force_ascii=False)
            parts.append(
                pd.DataFrame(
                    {
                        "month": month,
                        "table": name,
                        "source_file": table.source_file,
                        "source_row": (index + 2).astype("int64"),
                        "column": problems["column"].replace(table.column_names).to_numpy(),
                        "value": problems["value"].to_numpy(),
                        "reason": problems["reason"].to_numpy(),
                        "record": records.splitlines(),
                    }
                )
            )
        if table.extra_quarantine is not None and len(table.extra_quarantine):
            extra = table.extra_quarantine[QUARANTINE_COLUMNS].copy()
            extra["month"], extra["table"] = month, name
            extra["source_row"] = extra["source_row"].astype("int64")
            parts.append(extra)
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype="int64" if c == "source_row" else object) for c in QUARANTINE_COLUMNS})
    out = pd.concat(parts, ignore_index=True)
    order = {name: i for i, name in enumerate(CONTRACT)}
    out = out.sort_values(
        ["table", "source_row", "column"], key=lambda s: s.map(order) if s.name == "table" else s, kind="stable"
    ).reset_index(drop=True)
    return QuarantineSchema.validate(out)


def _source(table: _Table, accepted: pd.DataFrame, quarantine: pd.DataFrame) -> TableSource:
    """Row counts and reading details of one table for the run's report."""
    rejected = quarantine.loc[quarantine["table"] == table.name, "source_row"].nunique()
    extra = table.extra_quarantine
    extra_rows = 0 if extra is None or extra.empty else extra["source_row"].nunique()
    return TableSource(
        table=table.name,
        file=table.source_file,
        encoding=table.raw.encoding,
        delimiter=table.raw.delimiter,
        profile=table.profile,
        rows_read=len(table.raw.df) + extra_rows,
        rows_accepted=len(accepted),
        rows_quarantined=int(rejected),
        rows_skipped=table.skipped,
        sheet=table.raw.sheet,
        details={**(table.details or _contract_details(table.raw, table.name)), **table.warnings},
    )
