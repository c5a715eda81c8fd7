"""Ingest: read the data folder, validate every input row, take the month's snapshot.

``load_inputs`` is the one entry point. File-level problems (a required file
missing, a misspelled column, an unreadable file) stop the run with one
:class:`~attain.readers.InputFileError`. Row-level problems never stop it: the
row goes to the ``quarantine`` table with a reason written for the person who
fixes the file (file, row, column, value, what to do), and every good row is
kept.

How a table is validated:

1. the header is checked against the contract (docs/input-contract.md);
2. text cells are trimmed and parsed, vectorised: amounts to int64 minor units
   (exactly, from the decimal text: no floats), dates to ``datetime64``;
   a cell that does not parse is a problem of that cell;
3. the typed frame is checked with its Pandera schema (``checks/schemas.py``,
   ``lazy=True``) and each failure case becomes a problem with a reason;
4. rules across rows and tables (duplicates, unknown reps or deals, split
   shares, FX coverage) are plain vectorised pandas.

A row with several problems gives several quarantine rows (one per column at
fault); ``(source_file, source_row)`` identifies the rejected row.
"""

from __future__ import annotations

import copy
import datetime as dt
import difflib
import re
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from decimal import ROUND_FLOOR, Decimal
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pyarrow as pa_arrow
import pyarrow.compute as pc

from attain.crm_profiles import OWNER_ALIASES, AdaptedDeals, UnknownExportError, adapt
from attain.crm_profiles import QUARANTINE_COLUMNS as CRM_QUARANTINE_COLUMNS
from attain.fx import latest_rate
from attain.money import MINOR_DIGITS, format_minor, unknown_currency_reason
from attain.periods import add_months, month_end, month_of, month_start, parse_month
from attain.readers import INPUT_SUFFIXES, InputFileError, RawTable, delimiter_name, find_input, read_table
from attain.readiness import month_readiness
from attain.roster import roster_by_month, team_currency
from attain.settings import Settings, how_to_set
from checks.schemas import (
    INPUT_SCHEMAS,
    LOCALES,
    METRICS,
    QuarantineSchema,
)

#: Contract columns of each input file: (required in the header, optional in the header).
CONTRACT: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "deals": (
        ("deal_id", "owner_id", "account", "product", "amount", "currency", "stage", "close_date"),
        ("created_date", "cancelled_date", "cancel_reason"),
    ),
    "credit_splits": (("deal_id", "rep_id", "share", "role"), ()),
    "reps": (
        ("rep_id", "name", "email", "role", "manager_id", "team", "region", "hire_date", "locale", "currency"),
        ("leave_date", "plan_id", "valid_from"),
    ),
    "targets": (("scope", "scope_id", "month", "metric", "amount", "effective_date"), ("reason", "author")),
    "fx_rates": (("month", "currency", "rate"), ()),
    "surveys": (("response_id", "response_date", "score", "scale"), ("deal_id", "account", "comment")),
}
REQUIRED_TABLES = ("deals", "reps", "targets")
QUARANTINE_COLUMNS = list(CRM_QUARANTINE_COLUMNS)

#: Output columns of each validated table, in order (data-model.md).
OUTPUT_COLUMNS: dict[str, list[str]] = {
    "deals": [
        "deal_id",
        "owner_id",
        "account",
        "product",
        "amount_minor",
        "currency",
        "stage",
        "created_date",
        "close_date",
        "cancelled_date",
        "cancel_reason",
    ],
    "credit_splits": ["deal_id", "rep_id", "share", "role"],
    "reps": [
        "rep_id",
        "name",
        "email",
        "role",
        "manager_id",
        "team",
        "region",
        "hire_date",
        "leave_date",
        "plan_id",
        "locale",
        "currency",
        "valid_from",
    ],
    "targets": [
        "scope",
        "scope_id",
        "month",
        "metric",
        "amount",
        "target",
        "currency",
        "effective_date",
        "reason",
        "author",
    ],
    "fx_rates": ["month", "currency", "rate"],
    "surveys": ["response_id", "deal_id", "account", "response_date", "score", "scale", "comment"],
}
_DATE_COLUMNS = {
    "deals": ("created_date", "close_date", "cancelled_date"),
    "reps": ("hire_date", "leave_date"),
    "targets": ("effective_date",),
    "surveys": ("response_date",),
}
_BUILTIN_SCALES = {"csat_1_5": (1, 5), "nps_0_10": (0, 10)}
_SHARE_DIGITS = 6  # shares are compared as integers in millionths of a percent
_NO_DATE = pd.NaT


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


@dataclass
class Inputs:
    """The validated input tables of one month's snapshot (docs/data-model.md "Inputs")."""

    deals: pd.DataFrame
    credit_splits: pd.DataFrame
    reps: pd.DataFrame
    targets: pd.DataFrame
    fx_rates: pd.DataFrame
    surveys: pd.DataFrame


@dataclass
class IngestResult(Inputs):
    """The validated snapshot of one month and everything rejected on the way."""

    quarantine: pd.DataFrame
    sources: dict[str, TableSource] = field(default_factory=dict)


@dataclass(frozen=True)
class _CrmOptions:
    """How to read a deals file that is a CRM export (see ``attain.crm_profiles.adapt``)."""

    profile: str | None = None
    mapping_file: Path | None = None
    date_order: str | None = None
    decimal_comma: bool | None = None
    owner_aliases: Path | None = None

    @property
    def declared(self) -> bool:
        """Whether the deals file was declared a CRM export (profile or mapping file)."""
        return self.profile is not None or self.mapping_file is not None


# ---------------------------------------------------------------- problems of one table


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


# ---------------------------------------------------------------- entry point


def load_inputs(
    data_dir: Path | str,
    month: str,
    settings: Settings,
    *,
    today: dt.date | None = None,
    deals_profile: str | None = None,
    encodings: dict[str, str] | None = None,
    mapping_file: Path | str | None = None,
    date_order: str | None = None,
    decimal_comma: bool | None = None,
    owner_aliases: Path | str | None = None,
) -> IngestResult:
    """Read and validate every input table of ``data_dir`` for the snapshot of ``month``.

    ``today`` (default: today in ``settings.timezone``) bounds close dates;
    ``encodings`` declares a CSV encoding per table (e.g. ``{"deals": "big5"}``)
    where detection is not enough; it adds to (and wins over)
    ``settings.encodings``. When the deals file is a CRM export
    (docs/crm-exports.md): ``deals_profile`` names its profile (default:
    detected from the header row), ``mapping_file`` is a YAML mapping file,
    ``date_order`` (``"DMY"``/``"MDY"``) and ``decimal_comma`` override the
    file's conventions, ``owner_aliases`` is an ``owner, rep_id`` file (default:
    ``owner_aliases.csv`` next to the deals file); its date-times with a time
    zone are dated in ``settings.timezone``.
    """
    crm = _CrmOptions(deals_profile, _path(mapping_file), date_order, decimal_comma, _path(owner_aliases))
    encodings = {**settings.encodings, **(encodings or {})}
    return _ingest(Path(data_dir), month, settings, today=today, encodings=encodings, crm=crm)


def _path(value: Path | str | None) -> Path | None:
    return None if value is None else Path(value)


def _ingest(
    data_dir: Path,
    month: str,
    settings: Settings,
    *,
    today: dt.date | None,
    encodings: dict[str, str],
    crm: _CrmOptions,
    lone: str | None = None,
) -> IngestResult:
    """``load_inputs``; with ``lone``, only that table and deals are required (``attain validate FILE``).

    Checking a lone deals file, the roster is optional too: without it owners
    are not matched. Without fx_rates, a lone file's FX coverage is not checked.
    """
    parse_month(month)
    if today is None:
        today = dt.datetime.now(ZoneInfo(settings.timezone)).date()
    end = pd.Timestamp(month_end(month))
    required = REQUIRED_TABLES if lone is None else {"deals", lone} | ({"reps"} if lone != "deals" else set())

    tables = {
        name: _open(data_dir, name, encodings.get(name), name in required) for name in CONTRACT if name != "deals"
    }
    for table in tables.values():
        _sanitise(table, settings.text_max_length)
    reps_table = tables["reps"]
    has_roster = reps_table is not None
    reps = _validate_reps(reps_table, settings.text_max_length) if reps_table is not None else _empty("reps")
    roster = _roster_ids(reps_table, reps) if reps_table is not None else (pd.Index([]), pd.Index([]))
    deals_table = _open_deals(data_dir, reps if has_roster else None, crm, encodings.get("deals"), settings.timezone)
    _sanitise(deals_table, settings.text_max_length)
    tables["deals"] = deals_table
    # FX rates first: the plausible ceiling of a deal amount in another currency is converted at them.
    fx_rates = _validate_fx(tables["fx_rates"], settings.base_currency)
    deals = _validate_deals(
        deals_table, roster, end, pd.Timestamp(today), owners_checked=has_roster, settings=settings, fx_rates=fx_rates
    )
    splits = _validate_splits(tables["credit_splits"], deals, deals_table, roster)
    if tables["fx_rates"] is not None or lone is None:
        deals, splits = _check_fx_coverage(
            deals,
            deals_table,
            splits,
            tables["credit_splits"],
            reps,
            fx_rates,
            tables["fx_rates"] is not None,
            month,
            settings.base_currency,
            data_dir,
        )
    targets = _validate_targets(tables["targets"], reps, roster, settings.base_currency)
    surveys = _validate_surveys(tables["surveys"], deals, deals_table, end, settings)

    results = {
        "deals": deals,
        "credit_splits": splits,
        "reps": reps,
        "targets": targets,
        "fx_rates": fx_rates,
        "surveys": surveys,
    }
    quarantine = _quarantine(tables, month)
    sources = {
        name: _source(table, results[name], quarantine) for name in CONTRACT if (table := tables[name]) is not None
    }
    finished = {name: _finish(results[name], name, tables[name]) for name in CONTRACT}
    return IngestResult(**finished, quarantine=quarantine, sources=sources)


# ---------------------------------------------------------------- checking a folder or one file


@dataclass
class ValidationReport:
    """What ``attain validate`` prints: per file how it was read and its row counts, then every problem.

    ``notes`` are lines about the check as a whole (for a lone file: which
    files of its folder gave the context, and which were absent). For a
    folder, ``problems`` are what would stop the month-end run beyond rejected
    rows (missing targets, plan files, the quarantine limit: see
    ``attain.readiness``) and ``warnings`` what would silently pay nothing (a
    SPIFF product no deal has).
    """

    month: str
    sources: dict[str, TableSource]
    quarantine: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no row was rejected and nothing would stop the run."""
        return self.quarantine.empty and not self.problems

    def text(self) -> str:
        lines = [f"Input check for the month {self.month}:"]
        lines += [f"  {note}" for note in self.notes]
        for s in self.sources.values():
            lines.append(
                f"  {s.file} ({s.table}): {s.rows_read} rows read, {s.rows_accepted} accepted, "
                f"{s.rows_quarantined} quarantined, {s.rows_skipped} outside the month or repeated"
            )
            lines += [f"    {label}: {sentence}" for label, sentence in s.details.items()]
        if self.warnings:
            lines.append(f"{len(self.warnings)} warning(s) (the run goes on, but check them):")
            lines += [f"  {warning}" for warning in self.warnings]
        if self.ok:
            lines.append("No problems found.")
            return "\n".join(lines)
        if not self.quarantine.empty:
            rows = self.quarantine.drop_duplicates(["source_file", "source_row"]).shape[0]
            lines.append(f"{len(self.quarantine)} problem(s) in {rows} row(s):")
            for q in self.quarantine.itertuples():
                where = f"{q.source_file} row {q.source_row}" + (f", {q.column}" if q.column else "")
                lines.append(f"  {where}: {q.reason}")
        if self.problems:
            lines.append(f"{len(self.problems)} problem(s) that would stop `attain run --month {self.month}`:")
            lines += [f"  {problem}" for problem in self.problems]
        return "\n".join(lines)


def validate_path(
    path: Path | str,
    *,
    month: str | None = None,
    profile: str | None = None,
    settings: Settings | None = None,
    today: dt.date | None = None,
    encodings: dict[str, str] | None = None,
    mapping_file: Path | str | None = None,
    date_order: str | None = None,
    decimal_comma: bool | None = None,
    owner_aliases: Path | str | None = None,
    plans_dir: Path | str | None = None,
) -> ValidationReport:
    """Check a data folder, or one file of it, without running the month.

    ``month`` defaults to the last complete month (the one a month-end run would
    close today); the other keywords are those of :func:`load_inputs`
    (``profile`` is its ``deals_profile``). For a single file, the other files
    of its folder give the context (the roster for owners, deals for splits),
    absent ones are named, and only that file's problems are reported; its
    table is named by the file name (``deals.csv``) or, failing that, by the
    contract header it matches (else: deals, which may be a CRM export). A lone
    deals file is checked without a roster when its folder has none (owners are
    then not matched) and an ``owner_aliases`` file next to it is used. A
    folder is also checked for what would stop its month-end run (targets,
    plans in ``plans_dir``, default ``<folder>/plans``, the quarantine limit).
    """
    settings = settings or Settings()
    path = Path(path)
    encodings = {**settings.encodings, **(encodings or {})}
    if today is None:
        today = dt.datetime.now(ZoneInfo(settings.timezone)).date()
    month = month or add_months(month_of(today), -1)
    crm = _CrmOptions(profile, _path(mapping_file), date_order, decimal_comma, _path(owner_aliases))
    if path.is_dir():
        result = _ingest(path, month, settings, today=today, encodings=encodings, crm=crm)
        plans = Path(plans_dir) if plans_dir is not None else path / "plans"
        problems, warnings = month_readiness(result, month, settings, plans)
        return ValidationReport(month, result.sources, result.quarantine, problems=problems, warnings=warnings)
    if not path.is_file():
        raise InputFileError(path, f"file not found in {path.parent}; check the file name and folder")
    table = _table_of_file(path, encodings)
    if crm.owner_aliases is None:
        crm = replace(crm, owner_aliases=find_input(path.parent, OWNER_ALIASES))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        links: dict[Path, Path] = {}
        for name in CONTRACT:
            source = path if name == table else find_input(path.parent, name)
            if source is not None and source.is_file():
                link = folder / f"{name}{source.suffix.lower()}"
                link.symlink_to(source.resolve())
                links[link] = source
        try:
            result = _ingest(folder, month, settings, today=today, encodings=encodings, crm=crm, lone=table)
        except InputFileError as exc:
            raise InputFileError(
                links.get(exc.path, path.parent / exc.path.name if exc.path.parent == folder else exc.path), exc.message
            ) from None
    quarantine = result.quarantine[result.quarantine["table"] == table].assign(source_file=path.name)
    table_source = result.sources[table]
    table_source.file = path.name
    return ValidationReport(
        month, {table: table_source}, quarantine.reset_index(drop=True), notes=_context_notes(path, table, links)
    )


def _context_notes(path: Path, table: str, links: dict[Path, Path]) -> list[str]:
    """For a lone file: the files of its folder used as context, and what their absence means."""
    used = {
        link.stem: source.name + (" (the roster)" if link.stem == "reps" else "")
        for link, source in links.items()
        if link.stem != table
    }
    notes = []
    if used:
        notes.append("context from the same folder: " + ", ".join(used.values()))
    if table == "deals" and "reps" not in used:
        notes.append(
            f"no roster: there is no reps.csv, reps.xlsx or reps.parquet in {path.parent.name or '.'}, "
            "so owners were not matched to reps; put the roster next to the file to check them"
        )
    if "fx_rates" not in used and table in ("deals", "credit_splits"):
        notes.append("no fx_rates file in the folder: FX rates for won deals were not checked")
    return notes


def _table_of_file(path: Path, encodings: dict[str, str]) -> str:
    """The input table a lone file holds: by its name, else by its header (else deals: maybe a CRM export)."""
    if path.stem in CONTRACT:
        return path.stem
    columns = set(read_table(path, encoding=encodings.get("deals")).df.columns)
    for name, (required, _) in CONTRACT.items():
        if set(required) <= columns:
            return name
    return "deals"


# ---------------------------------------------------------------- files and headers


def _open(data_dir: Path, name: str, encoding: str | None, required: bool) -> _Table | None:
    """Read the file of table ``name``, check its header; None for an absent file that is not required."""
    path = find_input(data_dir, name)
    if path is None:
        if required:
            raise _missing_file(data_dir, name)
        return None
    raw = read_table(path, encoding=encoding)
    _check_header(raw, name)
    return _table(name, raw, data_dir)


def _canonical_locale(locale: str) -> str:
    """'zh-cn', 'ZH_CN', 'EN' -> the contract's spelling; anything else unchanged (then refused)."""
    return _LOCALE_SPELLINGS.get(locale.lower().replace("_", "-"), locale)


_LOCALE_SPELLINGS = {code.lower().replace("_", "-"): code for code in LOCALES}

#: Case-insensitive columns, normalised once per distinct value when the file is read.
_NORMALISE: dict[str, dict[str, Callable[[str], str]]] = {
    "deals": {"currency": str.upper, "stage": str.lower},
    "credit_splits": {"role": str.lower},
    "reps": {"role": str.lower, "currency": str.upper, "locale": _canonical_locale},
    "targets": {"scope": str.lower, "metric": str.lower},
    "fx_rates": {"currency": str.upper},
    "surveys": {"scale": str.lower},
}


def _by_unique(column: pd.Series, func: Callable[[str], str]) -> pd.Series:
    """Apply a per-value function once per distinct value (stage, currency: a few values, many rows)."""
    codes, uniques = _factorize_text(column)
    mapped = np.array([func(v) for v in uniques], dtype=object)
    return pd.Series(mapped[codes], index=column.index, dtype=object)


def _factorize_text(column: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """``pd.factorize`` of a text column, every cell a distinct value's code.

    The cells are ``str`` by construction, so the null scan that ``use_na_sentinel=False`` costs on a
    million rows is skipped; a null cell, should one occur, still gets a code of its own.
    """
    codes, uniques = pd.factorize(column)
    if len(codes) and codes.min() < 0:
        return pd.factorize(column, use_na_sentinel=False)
    return codes, uniques


def _missing_file(data_dir: Path, name: str) -> InputFileError:
    """The error for a required table without a file; for deals, it names the folder's other data files.

    A CRM export keeps the vendor's file name (``Opportunity.csv``,
    ``hubspot-crm-exports-all-deals-2025-04-01.csv``) until it is renamed ``deals``.
    """
    known = {*CONTRACT, "owner_aliases"}
    others = sorted(
        p.name
        for p in Path(data_dir).glob("*")
        if p.suffix.lower() in INPUT_SUFFIXES and p.stem not in known and p.is_file()
    )
    hint = (
        f"; the folder has {', '.join(others[:5])}{', ...' if len(others) > 5 else ''}: "
        f"if {'it' if len(others) == 1 else 'one of them'} is the deals export (a CRM export as it came), "
        f"rename it {name}{Path(others[0]).suffix.lower() if len(others) == 1 else '.csv (or .xlsx)'}"
        if name == "deals" and others
        else ""
    )
    return InputFileError(
        data_dir / f"{name}.csv",
        f"required file is missing: put {name}.csv (or {name}.xlsx / {name}.parquet) in the data folder{hint}; "
        "see docs/input-contract.md for its columns",
    )


def _table(name: str, raw: RawTable, data_dir: Path) -> _Table:
    """Text of the contract columns (the reader trimmed it), case-normalised; absent optional columns blank."""
    required, optional = CONTRACT[name]
    normalise = _NORMALISE.get(name, {})
    columns = {}
    for column in required + optional:
        if column not in raw.df.columns:
            columns[column] = np.full(len(raw.df), "", dtype=object)
            continue
        cells = raw.df[column]
        columns[column] = (_by_unique(cells, normalise[column]) if column in normalise else cells).to_numpy()
    # Built in one go (column-by-column assignment fragments the frame), without copying a million rows
    # into one block: ``text`` is only ever replaced, never changed in place, so sharing the arrays is safe.
    text = pd.DataFrame(columns, index=raw.df.index, copy=False)
    try:
        source_file = raw.path.relative_to(data_dir).as_posix()
    except ValueError:
        source_file = raw.path.name
    table = _Table(name=name, raw=raw, source_file=source_file, text=text)
    if len(raw.rejected):  # rows the reader could not read (too many fields, a byte that is not UTF-8)
        table.extra_quarantine = raw.rejected.assign(month="", table=name, source_file=source_file)
    return table


def _missing_columns(raw: RawTable, name: str) -> list[str]:
    return [c for c in CONTRACT[name][0] if c not in raw.df.columns]


def _check_header(raw: RawTable, name: str, hint: str = "") -> None:
    """Raise one InputFileError naming every missing contract column and the likely misspelling."""
    missing = _missing_columns(raw, name)
    if not missing:
        return
    contract = set(CONTRACT[name][0]) | set(CONTRACT[name][1])
    spare = [c for c in raw.df.columns if c not in contract]
    lowered = {c.lower(): c for c in spare}
    fixes = []
    for column in missing:
        close = difflib.get_close_matches(column, list(lowered), n=1, cutoff=0.6)
        if close:
            fixes.append(f"rename column '{lowered[close[0]]}' to '{column}'")
            del lowered[close[0]]
        else:
            fixes.append(f"add a column '{column}'")
    raise InputFileError(
        raw.path,
        f"missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)}: "
        + "; ".join(fixes)
        + f". The file's columns are: {', '.join(raw.df.columns)}. See docs/input-contract.md ({name})."
        + hint,
    )


def _open_deals(
    data_dir: Path, reps: pd.DataFrame | None, crm: _CrmOptions, encoding: str | None, timezone: str
) -> _Table:
    """The deals file as contract columns, adapting a CRM export when its header is not the contract's.

    ``reps`` is the validated roster, None when there is none (owners are then
    not matched). Only an export that fits no profile may be a contract file
    with a mistake: when it holds most contract columns, the contract's
    "missing column" message (what to rename) is given instead; every other
    problem of the export (unknown stage, unknown date order, ...) is its own.
    """
    path = find_input(data_dir, "deals")
    if path is None:
        raise _missing_file(data_dir, "deals")
    raw = read_table(path, encoding=encoding)
    missing = _missing_columns(raw, "deals")
    if not crm.declared and not missing:
        table = _table("deals", raw, data_dir)
        table.details = _contract_details(raw, "deals", owners_checked=reps is not None)
        return table
    try:
        adapted = adapt(
            raw,
            reps,
            profile=crm.profile,
            mapping_file=crm.mapping_file,
            date_order=crm.date_order,
            decimal_comma=crm.decimal_comma,
            owner_aliases=crm.owner_aliases,
            timezone=timezone,
        )
    except UnknownExportError:
        if not crm.declared and len(missing) <= len(CONTRACT["deals"][0]) // 2:
            _check_header(raw, "deals")
        raise
    df = adapted.df  # adapt's own frame: re-indexed in place by file row rather than copied
    df.index = pd.Index(df.pop("source_row").astype("int64").to_numpy() - 2)
    adapted_raw = RawTable(
        df=df,
        path=raw.path,
        encoding=raw.encoding,
        delimiter=raw.delimiter,
        sheet=raw.sheet,
        skipped_sheets=raw.skipped_sheets,
    )
    table = _table("deals", adapted_raw, data_dir)
    table.profile = adapted.profile
    table.extra_quarantine = adapted.quarantine
    table.details = _export_details(adapted, raw)
    table.column_names = adapted.notes.get("columns", {})
    return table


def _file_details(
    encoding: str | None, delimiter: str | None, sheet: str | None, skipped_sheets: tuple[str, ...] = ()
) -> str:
    """How the bytes were read: encoding and delimiter (CSV), the sheet (XLSX), or Parquet."""
    if sheet is not None:
        passed = (
            (
                f" (the sheet{'s' if len(skipped_sheets) > 1 else ''} before it, "
                f"{', '.join(repr(s) for s in skipped_sheets)}, empty)"
            )
            if skipped_sheets
            else ""
        )
        return f"Excel workbook, sheet {sheet!r}{passed}"
    if encoding is None:
        return "Parquet file"
    return f"encoding {encoding}, delimiter {delimiter_name(delimiter)}"


#: Columns of each contract table holding decimal numbers.
_DECIMAL_COLUMNS = {"deals": "amount", "credit_splits": "share", "targets": "amount", "fx_rates": "rate"}


def _contract_details(raw: RawTable, name: str, owners_checked: bool = True) -> dict[str, str]:
    """The report's lines for a file in the contract layout."""
    details = {
        "layout": "contract (docs/input-contract.md)",
        "file": _file_details(raw.encoding, raw.delimiter, raw.sheet, raw.skipped_sheets),
    }
    dates = [c for c in _DATE_COLUMNS.get(name, ()) if c in raw.df.columns]
    if dates:
        details["date order"] = "year-month-day (YYYY-MM-DD, the contract's) for " + ", ".join(dates)
    if name in _DECIMAL_COLUMNS:
        details["numbers"] = f"decimal point (the contract's) in {_DECIMAL_COLUMNS[name]}"
    if name == "deals":
        details["owners"] = (
            "owner_id is the rep_id, checked against the roster"
            if owners_checked
            else "not checked: there is no roster (reps file)"
        )
    return details


def _export_details(adapted: AdaptedDeals, raw: RawTable) -> dict[str, str]:
    """The report's lines for a CRM export, from what ``adapt`` noted."""
    notes = adapted.notes
    sheet = notes.get("sheet")
    details = {
        "layout": f"CRM export, profile {adapted.profile} ({notes.get('profile_label', adapted.profile)}), "
        f"{notes.get('profile_how', 'detected from the header row')}",
        "file": _file_details(
            notes.get("encoding"), notes.get("delimiter"), sheet, raw.skipped_sheets if sheet == raw.sheet else ()
        ),
    }
    orders = notes.get("date_order") or {}
    details["date order"] = (
        "; ".join(
            f"{column!r} {'not needed (no dd/dd/yyyy dates)' if why == 'not needed' else why}"
            for column, why in orders.items()
        )
        or "no date columns"
    )
    details["numbers"] = (
        f"{notes.get('decimal', 'not needed')} in {notes.get('amount_column', 'the amount')!r}; "
        f"currency {notes.get('currency', 'from the amounts')}"
    )
    details["stages"] = f"from {notes.get('stage', 'the stage column')}"
    details["deal ids"] = notes.get("deal_id", "from the id column")
    details["owners"] = _owner_details(adapted)
    if "footer" in notes:
        details["footer"] = notes["footer"]
    return details


def _owner_details(adapted: AdaptedDeals) -> str:
    """'3 by name, 1 by e-mail, 1 unmatched (quarantined)': how the export's owners were matched to reps."""
    notes = adapted.notes
    if "owners" in notes:
        return notes["owners"]
    matched = [f"{n} by {how}" for how, n in notes.get("owners_matched_by", {}).items()]
    q = adapted.quarantine
    unmatched = q.loc[q["column"] == notes.get("owner_column"), "source_row"].nunique()
    if unmatched:
        matched.append(f"{unmatched} unmatched (quarantined with the owner's name)")
    text = f"column {notes.get('owner_column')!r}: " + (", ".join(matched) or "no rows")
    return text + (f"; owner map {notes['owner_aliases']}" if "owner_aliases" in notes else "")


# ---------------------------------------------------------------- vectorised parsing


_NUMBER_RE = r"^(?P<sign>-?)(?P<int>\d+)(?:\.(?P<frac>\d*))?$"
_OK, _BLANK, _NOT_A_NUMBER, _TOO_PRECISE, _TOO_LARGE = range(5)


def _minor_units(text: pd.Series, digits: np.ndarray | int) -> tuple[np.ndarray, np.ndarray]:
    """Decimal text to exact int64 units of 10**-digits, vectorised.

    Returns ``(units, status)``; ``status`` is _OK, _BLANK, _NOT_A_NUMBER (not plain
    digits with an optional sign and decimal point), _TOO_PRECISE (more significant
    decimals than ``digits``: amounts are never rounded on input) or _TOO_LARGE
    (would not fit in int64). ``units`` is 0 where status is not _OK.
    """
    n = len(text)
    digits = np.broadcast_to(np.asarray(digits, dtype=np.int64), (n,))
    values = pa_arrow.array(text.to_numpy(dtype=object), type=pa_arrow.string(), from_pandas=True)
    parts = pc.extract_regex(values, _NUMBER_RE)
    matched = parts.is_valid().to_numpy(zero_copy_only=False)
    negative = pc.equal(pc.struct_field(parts, "sign"), "-").fill_null(False).to_numpy(zero_copy_only=False)
    whole = pc.utf8_ltrim(pc.struct_field(parts, "int"), "0")
    frac = pc.utf8_rtrim(pc.struct_field(parts, "frac"), "0")
    whole_len = pc.utf8_length(whole).fill_null(0).to_numpy(zero_copy_only=False)
    frac_len = pc.utf8_length(frac).fill_null(0).to_numpy(zero_copy_only=False)

    status = np.full(n, _OK, dtype=np.int8)
    status[~matched] = _NOT_A_NUMBER
    status[pc.equal(values, "").to_numpy(zero_copy_only=False)] = _BLANK
    status[matched & (frac_len > digits)] = _TOO_PRECISE
    status[matched & (frac_len <= digits) & (whole_len + digits > 18)] = _TOO_LARGE

    units = np.zeros(n, dtype=np.int64)
    good = status == _OK
    for d in np.unique(digits[good]):
        rows = np.flatnonzero(good & (digits == d))
        padded = pc.utf8_rpad(pc.take(frac, pa_arrow.array(rows)), width=int(d), padding="0")
        joined = pc.binary_join_element_wise(pc.take(whole, pa_arrow.array(rows)), padded, "")
        joined = pc.if_else(pc.equal(joined, ""), "0", joined)
        units[rows] = pc.cast(joined, pa_arrow.int64()).to_numpy(zero_copy_only=False)
    return np.where(negative, -units, units), status


def _dates(table: _Table, column: str) -> pd.Series:
    """Parse a YYYY-MM-DD column; a non-blank cell that is not such a date is a problem."""
    text = table.text[column]
    codes, uniques, parsed = _distinct_dates(text)
    bad = text[(np.isnat(parsed) & (uniques != ""))[codes]]
    table.problems.add(
        bad.index,
        column,
        bad,
        [
            f"{column} '{v}' is not a date in the form YYYY-MM-DD (for example 2025-03-31); correct the date"
            for v in bad
        ],
    )
    return pd.Series(parsed[codes], index=text.index)


def _parse_dates(text: pd.Series) -> pd.Series:
    """YYYY-MM-DD text to datetime64 (NaT where blank or not such a date), parsed once per distinct value."""
    codes, _, parsed = _distinct_dates(text)
    return pd.Series(parsed[codes], index=text.index)


def _distinct_dates(text: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(codes, distinct texts, their datetime64 or NaT)``: a date column has a few thousand distinct values."""
    codes, uniques = _factorize_text(text)
    parsed = pd.to_datetime(pd.Series(uniques, dtype=object), format="%Y-%m-%d", errors="coerce").to_numpy()
    return codes, np.asarray(uniques, dtype=object), parsed


def _blank(table: _Table, column: str, mask: pd.Series, reason: str) -> None:
    """Record a blank required cell."""
    table.problems.add(table.text.index[mask], column, [""] * int(mask.sum()), reason)


def _amount_problems(
    table: _Table, column: str, status: np.ndarray, digits: np.ndarray | int, currency: pd.Series | None, what: str
) -> None:
    """Turn the failed statuses of ``_minor_units`` (not a number, too precise, too large) into problems."""
    text = table.text[column]
    digits = np.broadcast_to(np.asarray(digits), (len(text),))
    for code, template in (
        (
            _NOT_A_NUMBER,
            (
                "{col} '{v}' is not a number; write {what} with digits and a decimal point only, "
                "for example 1234.50 (no currency symbol, no thousands separator)"
            ),
        ),
        (
            _TOO_PRECISE,
            ("{col} {v} has more than {d} decimal place{s}{ccy}; {what} are never rounded on input: correct the value"),
        ),
        (_TOO_LARGE, "{col} {v} is too large to be a real value; correct it"),
    ):
        rows = np.flatnonzero(status == code)
        if len(rows):
            ccys = currency.to_numpy()[rows] if currency is not None else [""] * len(rows)
            reasons = [
                template.format(
                    col=column,
                    v=v,
                    what=what,
                    d=int(d),
                    s="" if d == 1 else "s",
                    ccy=f" ({c} has {int(d)})" if c else "",
                )
                for v, d, c in zip(text.iloc[rows], digits[rows], ccys, strict=True)
            ]
            table.problems.add(text.index[rows], column, text.iloc[rows], reasons)


# ---------------------------------------------------------------- pandera


#: Reasons for Pandera failures: (table, schema column or check name) -> (file column, reason per row).
#: A reason function receives the failing rows' cleaned text and returns one sentence per row.
_Reason = Callable[[pd.DataFrame], list[str]]


def _each(template: str, column: str) -> _Reason:
    """Reason from a template with {v} = the cell's text."""
    return lambda rows: [template.format(v=v) for v in rows[column]]


def _generic(check: str) -> _Reason:
    """Fallback for a check without a written reason: still quarantined, never dropped silently."""
    return lambda rows: [f"the row fails the check {check}; see docs/input-contract.md"] * len(rows)


def _blank_or(column: str, blank: str, other: str) -> _Reason:
    return lambda rows: [blank if v == "" else other.format(v=v) for v in rows[column]]


def _currency_reason(rows: pd.DataFrame) -> list[str]:
    """A blank currency, or a code that is not an active ISO 4217 code (with the closest code, not all 160)."""
    return [
        "currency is blank; enter the ISO currency code, for example USD" if v == "" else unknown_currency_reason(v)
        for v in rows["currency"]
    ]


_MONTH_REASON = _blank_or(
    "month",
    "month is blank; enter the month as YYYY-MM, for example 2025-03",
    "month '{v}' is not a month in the form YYYY-MM (for example 2025-03); correct it",
)

_REASONS: dict[tuple[str, str], tuple[str, _Reason]] = {
    ("deals", "deal_id"): ("deal_id", _each("deal_id is blank; every deal needs its CRM id", "deal_id")),
    ("deals", "owner_id"): ("owner_id", _each("owner_id is blank; enter the rep_id of the deal's owner", "owner_id")),
    ("deals", "amount_minor"): (
        "amount",
        _each("amount {v} is negative; enter refunds as a cancellation (cancelled_date) instead", "amount"),
    ),
    ("deals", "currency"): ("currency", _currency_reason),
    ("deals", "stage"): (
        "stage",
        _blank_or(
            "stage",
            "stage is blank; enter won, lost or open",
            "stage '{v}' is not won, lost or open; map the CRM stage to one of these three",
        ),
    ),
    ("deals", "closed_deal_has_close_date"): (
        "close_date",
        lambda rows: [
            f"close_date is blank on a {s.lower()} deal; enter the date the deal was {s.lower()} (YYYY-MM-DD)"
            for s in rows["stage"]
        ],
    ),
    ("deals", "close_not_before_created"): (
        "close_date",
        lambda rows: [
            f"close_date {c} is before created_date {o}; correct whichever date is wrong"
            for c, o in zip(rows["close_date"], rows["created_date"], strict=True)
        ],
    ),
    ("deals", "cancelled_only_if_won"): (
        "cancelled_date",
        lambda rows: [
            f"cancelled_date {c} is set on a {s.lower()} deal; only won deals can be cancelled: clear the date or correct the stage"
            for c, s in zip(rows["cancelled_date"], rows["stage"], strict=True)
        ],
    ),
    ("deals", "cancelled_not_before_close"): (
        "cancelled_date",
        lambda rows: [
            f"cancelled_date {c} is before close_date {d}; a deal is cancelled after it was won: correct one of the dates"
            for c, d in zip(rows["cancelled_date"], rows["close_date"], strict=True)
        ],
    ),
    ("credit_splits", "deal_id"): (
        "deal_id",
        _each("deal_id is blank; enter the deal this credit belongs to", "deal_id"),
    ),
    ("credit_splits", "rep_id"): ("rep_id", _each("rep_id is blank; enter the rep who receives this credit", "rep_id")),
    ("credit_splits", "share"): (
        "share",
        _blank_or(
            "share",
            "share is blank; enter the percentage credited, for example 60 for 60%",
            "share '{v}' is not a percentage; write it as a plain number, for example 60 or 33.5 (no % sign)",
        ),
    ),
    ("credit_splits", "share_positive"): (
        "share",
        _each("share {v} is zero; remove the row or enter the share", "share"),
    ),
    ("credit_splits", "role"): (
        "role",
        _blank_or(
            "role",
            "role is blank; enter split (shares of the deal add up to 100) or overlay (extra credit)",
            "role '{v}' is not split or overlay; use split (shares add up to 100) or overlay (extra credit)",
        ),
    ),
    ("reps", "rep_id"): ("rep_id", _each("rep_id is blank; every roster row needs the person's id", "rep_id")),
    ("reps", "name"): ("name", _each("name is blank; enter the person's name as it should appear in packs", "name")),
    ("reps", "email"): ("email", _each("email '{v}' is not an e-mail address; correct it or leave it blank", "email")),
    ("reps", "role"): (
        "role",
        _blank_or(
            "role", "role is blank; enter rep or manager", "role '{v}' is not rep or manager; use one of these two"
        ),
    ),
    ("reps", "hire_date"): (
        "hire_date",
        _each("hire_date is blank; enter the first day of employment (YYYY-MM-DD)", "hire_date"),
    ),
    ("reps", "locale"): (
        "locale",
        _blank_or(
            "locale",
            "locale is blank; enter en or zh_CN",
            "locale '{v}' is not supported; use en (English) or zh_CN (Chinese)",
        ),
    ),
    ("reps", "currency"): ("currency", _currency_reason),
    ("reps", "valid_from"): (
        "valid_from",
        _each(
            "valid_from '{v}' is not a month in the form YYYY-MM (for example 2025-04); correct it or leave it blank",
            "valid_from",
        ),
    ),
    ("reps", "leave_not_before_hire"): (
        "leave_date",
        lambda rows: [
            f"leave_date {lv} is before hire_date {h}; correct one of the dates"
            for lv, h in zip(rows["leave_date"], rows["hire_date"], strict=True)
        ],
    ),
    ("targets", "scope"): (
        "scope",
        _blank_or("scope", "scope is blank; enter rep or team", "scope '{v}' is not rep or team; use one of these two"),
    ),
    ("targets", "scope_id"): ("scope_id", _each("scope_id is blank; enter the rep_id or team name", "scope_id")),
    ("targets", "month"): ("month", _MONTH_REASON),
    ("targets", "metric"): (
        "metric",
        _blank_or(
            "metric",
            "metric is blank; enter " + ", ".join(METRICS),
            "metric '{v}' is not a known metric; use one of " + ", ".join(METRICS),
        ),
    ),
    ("targets", "target"): ("amount", _each("amount {v} is negative; a target is zero or more", "amount")),
    ("targets", "effective_date"): (
        "effective_date",
        _each("effective_date is blank; enter the date this target took effect (YYYY-MM-DD)", "effective_date"),
    ),
    ("fx_rates", "month"): ("month", _MONTH_REASON),
    ("fx_rates", "currency"): ("currency", _currency_reason),
    ("fx_rates", "rate"): (
        "rate",
        _blank_or(
            "rate",
            "rate is blank; enter the value of one unit of the currency in the base currency",
            "rate '{v}' is not a positive decimal number; write it as for example 1.0845",
        ),
    ),
    ("fx_rates", "rate_positive"): ("rate", _each("rate {v} is zero; enter the real exchange rate", "rate")),
    ("surveys", "response_id"): (
        "response_id",
        _each("response_id is blank; every response needs an id", "response_id"),
    ),
    ("surveys", "response_date"): (
        "response_date",
        _each("response_date is blank; enter the date of the response (YYYY-MM-DD)", "response_date"),
    ),
    ("surveys", "scale"): (
        "scale",
        _each("scale is blank; enter csat_1_5, nps_0_10 or a declared scale such as 1-10", "scale"),
    ),
    ("surveys", "deal_or_account"): (
        "deal_id",
        _each("deal_id and account are both blank; enter the deal surveyed or the account", "deal_id"),
    ),
}


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


# ---------------------------------------------------------------- reps


def _validate_reps(table: _Table, max_length: int = Settings.text_max_length) -> pd.DataFrame:
    text = table.text
    _duplicates(table, ["rep_id", "valid_from"], "rep_id and valid_from")
    _id_problems(table, ("rep_id",), max_length)
    text = table.text
    typed = text.copy()
    for column in _DATE_COLUMNS["reps"]:
        typed[column] = _dates(table, column)
    _pandera(table, typed, required_dates=("hire_date",))
    rep_ids = pd.Index(text["rep_id"].unique())
    _unknown(
        table,
        "manager_id",
        rep_ids,
        pd.Index([]),
        "rep_id in reps",
        "add the manager's own row to reps or correct the id",
    )
    return _drop_problem_rows(table, typed)


def _roster_ids(table: _Table, reps: pd.DataFrame) -> tuple[pd.Index, pd.Index]:
    """(rep_ids with an accepted roster row, rep_ids in the file whose every row was rejected)."""
    accepted = pd.Index(reps["rep_id"].unique())
    return accepted, pd.Index(table.text["rep_id"].unique()).difference(accepted)


def _plan_currency(wanted: pd.DataFrame, reps: pd.DataFrame) -> pd.Series:
    """The plan currency of ``wanted.rep_id`` in ``wanted.month``, indexed like ``wanted`` (NaN: no roster row)."""
    roster = roster_by_month(reps, list(pd.unique(wanted["month"])))[["month", "rep_id", "currency"]]
    found = wanted[["rep_id", "month"]].merge(roster, on=["rep_id", "month"], how="left")
    return pd.Series(found["currency"].to_numpy(), index=wanted.index)


def _team_target_currency(wanted: pd.DataFrame, reps: pd.DataFrame, base_currency: str) -> pd.Series:
    """The currency of each team revenue target in ``wanted`` (:func:`attain.roster.team_currency`).

    A team without members that month gets the base currency, as in ``attain.targets``.
    """
    roster = roster_by_month(reps, list(pd.unique(wanted["month"])))
    chosen = team_currency(roster).rename(columns={"team": "scope_id"})
    found = wanted[["scope_id", "month"]].merge(chosen, on=["scope_id", "month"], how="left")
    return pd.Series(found["currency"].fillna(base_currency).to_numpy(), index=wanted.index)


# ---------------------------------------------------------------- deals


def _validate_deals(
    table: _Table,
    roster: tuple[pd.Index, pd.Index],
    end: pd.Timestamp,
    today: pd.Timestamp,
    owners_checked: bool = True,
    settings: Settings | None = None,
    fx_rates: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Validated deals of the snapshot; see the module docstring for the rules.

    ``owners_checked`` is False when there is no roster to check owners against
    (``attain validate`` of a lone deals file). ``settings`` give the product
    aliases and the limits of a plausible amount, ``fx_rates`` (validated) convert
    the amount ceiling to other currencies.
    """
    settings = settings or Settings()
    # Snapshot first: deals opened after the month did not exist at its end (not an error).
    created = _parse_dates(table.text["created_date"])
    later = (created > end).to_numpy()
    if later.any():
        table.later_ids = pd.Index(table.text["deal_id"][later].unique())
        table.text = table.text[~later]
        table.skipped += int(later.sum())
    _duplicates(table, ["deal_id"], "deal")
    # (owner_id needs no check of its own: it must be a rep_id of the roster, where ids are checked.)
    _id_problems(table, ("deal_id",), settings.text_max_length)
    text = table.text
    stage, currency = text["stage"], text["currency"]

    known_currency = currency.isin(MINOR_DIGITS).to_numpy()
    digits = currency.map(MINOR_DIGITS).fillna(2).astype("int64").to_numpy()
    units, status = _minor_units(text["amount"], digits)
    is_won = (stage == "won").to_numpy()
    # With an unknown currency the decimals cannot be judged; the currency problem says what to fix.
    status = np.where(~known_currency & (status == _TOO_PRECISE), _OK, status)
    _amount_problems(table, "amount", status, digits, currency, "amounts")
    _blank(
        table,
        "amount",
        pd.Series((status == _BLANK) & is_won, index=text.index),
        "amount is blank on a won deal; enter the deal's value",
    )

    amount_minor = pd.array(units, dtype="Int64")
    amount_minor[~np.isin(status, (_OK, _BLANK))] = pd.NA
    typed = pd.DataFrame(
        {
            "deal_id": text["deal_id"],
            "owner_id": text["owner_id"],
            "account": text["account"],
            "product": _aliased(table, text["product"], settings.product_aliases),
            "amount_minor": amount_minor,
            "currency": currency,
            "stage": stage,
            **{column: _dates(table, column) for column in _DATE_COLUMNS["deals"]},
            "cancel_reason": text["cancel_reason"],
        },
        index=text.index,
    )
    _pandera(table, typed)

    for column, event in (("close_date", "won or lost"), ("cancelled_date", "cancelled")):
        future = typed[column] > today
        if column == "close_date":
            future &= stage.isin(["won", "lost"])
        if future.any():
            values = text.loc[future, column]
            table.problems.add(
                values.index,
                column,
                values,
                [
                    f"{column} {v} is after today ({today.date()}); a deal cannot be {event} in the future: "
                    "correct the date" + (" or set the stage to open" if column == "close_date" else "")
                    for v in values
                ],
            )
    if owners_checked:
        _unknown(table, "owner_id", *roster, "rep_id in reps", "add the rep to reps or correct the owner")
    # A CRM export without an account column at all is read as before (its details say the column is absent).
    has_account = "account" in (table.column_names if table.profile else table.raw.df.columns)
    won_by_end = is_won & ~(typed["close_date"] > end).to_numpy() & has_account
    no_account = text.index[won_by_end & (text["account"] == "").to_numpy()]
    table.problems.add(
        no_account,
        "account",
        [""] * len(no_account),
        "a won deal needs an account: account is blank; enter the customer the deal was won with "
        "(new accounts and surveys are counted by it)",
    )
    _implausible_amounts(table, units, status == _OK, is_won, settings, fx_rates, end.strftime("%Y-%m"))

    deals = _drop_problem_rows(table, typed)
    # Snapshot: what was known at the month's end.
    decided_later = deals["close_date"] > end
    deals.loc[decided_later, "stage"] = "open"
    deals.loc[decided_later, "close_date"] = _NO_DATE
    cancelled_later = deals["cancelled_date"] > end
    deals.loc[cancelled_later, "cancelled_date"] = _NO_DATE
    deals.loc[cancelled_later, "cancel_reason"] = ""
    deals["amount_minor"] = deals["amount_minor"].fillna(0).astype("int64")
    return deals


def _aliased(table: _Table, product: pd.Series, aliases: dict[str, str]) -> pd.Series:
    """Deal products with ``settings.product_aliases`` applied (deal spelling -> the plans' name).

    Each alias used is listed in the table's warnings (original spelling, name, rows), so the original
    spelling stays traceable; the quarantine records keep the raw text.
    """
    if not aliases:
        return product
    codes, uniques = _factorize_text(product)
    used = [(i, u) for i, u in enumerate(uniques) if u in aliases and aliases[u] != u]
    if not used:
        return product
    counts = np.bincount(codes, minlength=len(uniques))
    table.warnings["product aliases"] = "; ".join(
        f"{u!r} read as {aliases[u]!r} ({counts[i]:,} row{'s' if counts[i] != 1 else ''})" for i, u in used
    )
    mapped = np.array([aliases.get(u, u) for u in uniques], dtype=object)
    return pd.Series(mapped[codes], index=product.index, dtype=object)


#: A rep's median won deal judges an amount only from this many won deals (in that currency) on.
MEDIAN_MIN_DEALS = 5
_INT64_MAX = np.iinfo(np.int64).max


def _amount_ceiling(
    currency: str, settings: Settings, fx_rates: pd.DataFrame | None, month: str
) -> tuple[int, str] | None:
    """The largest plausible amount in ``currency`` (minor units) and how it was found; None: unknown currency.

    ``settings.amount_ceilings[currency]`` when set (major units of the currency); else ``amount_ceiling``
    (major units of the base currency) converted at the currency's rate of ``month`` (or its latest rate
    before, else its latest rate at all); a currency without any FX rate reads ``amount_ceiling`` as its own
    major units (set ``amount_ceilings`` for a currency worth far less than the base currency).
    """
    digits = MINOR_DIGITS.get(currency)
    if digits is None:
        return None
    base = settings.base_currency
    if currency in settings.amount_ceilings:
        major, how = Decimal(settings.amount_ceilings[currency]), f"the ceiling set for {currency}"
    elif currency == base:
        major, how = Decimal(settings.amount_ceiling), "the ceiling of the base currency"
    else:
        chosen = latest_rate(fx_rates, currency, month)
        if chosen is not None:
            rate_month, rate = chosen
            major = Decimal(settings.amount_ceiling) / Decimal(rate)
            how = f"the ceiling of {settings.amount_ceiling} {base} at the {rate_month} rate {rate}"
        else:
            major = Decimal(settings.amount_ceiling)
            how = f"the ceiling of the base currency read as {currency}, which has no FX rate"
    minor = (major * 10**digits).to_integral_value(ROUND_FLOOR)
    return int(min(minor, _INT64_MAX)), how


def _implausible_amounts(
    table: _Table,
    units: np.ndarray,
    parsed: np.ndarray,
    is_won: np.ndarray,
    settings: Settings,
    fx_rates: pd.DataFrame | None,
    month: str,
) -> None:
    """Quarantine amounts above the plausible ceiling, and won deals far above their owner's median won deal.

    The median is the owner's, per currency, over the won deals of the file (below the ceiling), and judges
    only owners with at least ``MEDIAN_MIN_DEALS`` of them: with fewer, one large deal is not an outlier.
    """
    text = table.text
    codes, currencies = _factorize_text(text["currency"])
    ceilings = [_amount_ceiling(c, settings, fx_rates, month) for c in currencies]
    limit = np.array([c[0] if c else _INT64_MAX for c in ceilings], dtype=np.int64)[codes]
    above = parsed & (units > limit)
    for row in np.flatnonzero(above):
        currency = currencies[codes[row]]
        ceiling, how = ceilings[codes[row]]
        value = text["amount"].iloc[row]
        suggestion = 10 ** len(str(units[row] // 10 ** MINOR_DIGITS[currency]))
        raise_it = (
            how_to_set("amount_ceiling", suggestion)
            if currency == settings.base_currency and currency not in settings.amount_ceilings
            else how_to_set("amount_ceilings", {currency: suggestion})
        )
        table.problems.add(
            [text.index[row]],
            "amount",
            [value],
            f"amount {value} {currency} is above the plausible ceiling of {format_minor(ceiling, currency)} "
            f"{currency} ({how}); correct the amount, or if the deal is real raise the ceiling: {raise_it}",
        )
    won = parsed & ~above & is_won
    if won.sum() < MEDIAN_MIN_DEALS:
        return
    frame = pd.DataFrame({"owner": text["owner_id"].to_numpy()[won], "code": codes[won], "units": units[won]})
    groups = frame.groupby(["owner", "code"], sort=False)["units"]
    size = groups.transform("size").to_numpy()
    # Twice the median is a whole number (the median of whole numbers is one or a half): compared exactly.
    twice_median = (groups.transform("median").to_numpy() * 2).round().astype(np.int64)
    multiple = settings.median_multiple
    far = (size >= MEDIAN_MIN_DEALS) & (2 * frame["units"].to_numpy() > multiple * twice_median)
    rows = np.flatnonzero(won)[far]
    for row, n, twice in zip(rows, size[far], twice_median[far], strict=True):
        currency = currencies[codes[row]]
        value = text["amount"].iloc[row]
        median = (Decimal(int(twice)) / 2).scaleb(-MINOR_DIGITS[currency])
        suggestion = _longer_multiple(int(units[row]) * 2 // max(int(twice), 1))
        table.problems.add(
            [text.index[row]],
            "amount",
            [value],
            f"amount {value} {currency} is more than {multiple:,} times the median of the {n:,} won deals of "
            f"{text['owner_id'].iloc[row]} in {currency} ({median} {currency}); correct the amount, or if the deal "
            f"is real raise the limit: {how_to_set('median_multiple', suggestion)}",
        )


def _longer_multiple(ratio: int) -> int:
    """A round multiple above ``ratio``, for the example in a message."""
    return 10 ** len(str(max(ratio, 1)))


def _deal_ids(deals_table: _Table, deals: pd.DataFrame) -> tuple[pd.Index, pd.Index, pd.Index]:
    """(accepted deal ids, ids whose rows were all quarantined, ids only outside the snapshot)."""
    accepted = pd.Index(deals["deal_id"])
    text = deals_table.text
    problem_rows = deals_table.problems.rows().intersection(text.index)
    rejected = pd.Index(text.loc[problem_rows, "deal_id"].unique()).difference(accepted)
    return accepted, rejected, deals_table.later_ids.difference(accepted).difference(rejected)


def _skip_rows(table: _Table, mask: pd.Series) -> None:
    """Leave rows out of the snapshot (not an error: they belong to a later month)."""
    if mask.any():
        table.text = table.text[~mask]
        table.skipped += int(mask.sum())


# ---------------------------------------------------------------- credit splits


def _validate_splits(
    table: _Table | None, deals: pd.DataFrame, deals_table: _Table, roster: tuple[pd.Index, pd.Index]
) -> pd.DataFrame:
    """Validated split and overlay credit rows of deals in the snapshot."""
    if table is None:
        return _empty("credit_splits")
    accepted, rejected, later = _deal_ids(deals_table, deals)
    _skip_rows(table, table.text["deal_id"].isin(later))
    _duplicates(table, ["deal_id", "rep_id", "role"], "deal, rep and role")
    text = table.text
    _pandera(table, text)
    _unknown(table, "deal_id", accepted, rejected, "deal in deals", "correct the id or add the deal to deals")
    _unknown(table, "rep_id", *roster, "rep_id in reps", "add the rep to reps or correct the id")

    units, status = _minor_units(text["share"], _SHARE_DIGITS)
    too_precise = pd.Series(status == _TOO_PRECISE, index=text.index)
    table.problems.add(
        text.index[too_precise],
        "share",
        text["share"][too_precise],
        f"share has more than {_SHARE_DIGITS} decimal places; shorten it",
    )

    split = text[text["role"] == "split"].assign(units=units[(text["role"] == "split").to_numpy()])
    bad = split.index.isin(table.problems.rows())
    split = split.assign(bad=bad)
    by_deal = split.groupby("deal_id")
    total = by_deal["units"].transform("sum")
    deal_has_bad = by_deal["bad"].transform("any")
    fail = split[~split["bad"] & (deal_has_bad | (total != 100 * 10**_SHARE_DIGITS))]
    for deal_id, group in fail.groupby("deal_id", sort=False):
        rows = split[split["deal_id"] == deal_id]
        for idx in group.index:
            if rows["bad"].any():
                reason = (
                    f"another split row of deal {deal_id} ({table.rows_label(rows.index[rows['bad']])}) "
                    "was rejected, so this deal's split cannot be applied; fix that row"
                )
            else:
                shares = _share_text(int(rows["units"].sum()))
                reason = (
                    f"the split shares of deal {deal_id} ({table.rows_label(rows.index)}) add up to "
                    f"{shares}, not 100; correct them so they add up to exactly 100 "
                    "(until then the deal is credited 100% to its owner)"
                )
            table.problems.add([idx], "share", [text.at[idx, "share"]], reason)
    return _drop_problem_rows(table, text)


def _share_text(units: int) -> str:
    whole, frac = divmod(units, 10**_SHARE_DIGITS)
    return f"{whole}.{frac:0{_SHARE_DIGITS}d}".rstrip("0").rstrip(".")


# ---------------------------------------------------------------- FX rates


def _validate_fx(table: _Table | None, base_currency: str) -> pd.DataFrame:
    """Validated FX rates; the base currency, when listed, must have rate 1."""
    if table is None:
        return _empty("fx_rates")
    _duplicates(table, ["month", "currency"], "month and currency")
    text = table.text
    _pandera(table, text)
    base_not_one = (text["currency"] == base_currency) & ~text["rate"].str.fullmatch(r"0*1(\.0*)?")
    rows = text[base_not_one & (text["rate"] != "")]
    table.problems.add(
        rows.index,
        "rate",
        rows["rate"],
        f"{base_currency} is the base currency, so its rate is 1 by definition; "
        f"correct the rate or the base currency ({how_to_set('base_currency')})",
    )
    return _drop_problem_rows(table, text)


def _check_fx_coverage(
    deals: pd.DataFrame,
    deals_table: _Table,
    splits: pd.DataFrame,
    splits_table: _Table | None,
    reps: pd.DataFrame,
    fx_rates: pd.DataFrame,
    fx_file_present: bool,
    month: str,
    base_currency: str,
    data_dir: Path,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Quarantine won deals whose credit needs an FX rate that fx_rates lacks.

    A won deal needs rates when it is credited in the 12 months ending ``month``
    or cancelled in ``month`` (the clawback uses its original rate): for its
    close month, its currency and the plan currency of each credited rep, unless
    they are equal or the base currency. Returns (deals, credit_splits) without
    the rejected deals and their credit rows.
    """
    first = pd.Timestamp(month_start(add_months(month, -11)))
    cancelled_now = deals["cancelled_date"] >= pd.Timestamp(month_start(month))
    needs_rate = ((deals["stage"] == "won") & ((deals["close_date"] >= first) | cancelled_now)).to_numpy()
    won = pd.DataFrame({c: deals[c].to_numpy()[needs_rate] for c in ("deal_id", "owner_id", "currency", "close_date")})
    if won.empty:
        return deals, splits
    codes, days = pd.factorize(won["close_date"])
    won = won.assign(month=days.strftime("%Y-%m").to_numpy(dtype=object)[codes])
    credited = pd.concat(
        [
            won[["deal_id", "owner_id", "currency", "month"]].rename(columns={"owner_id": "rep_id"}),
            won[["deal_id", "currency", "month"]].merge(splits[["deal_id", "rep_id"]], on="deal_id"),
        ],
        ignore_index=True,
    )
    # Rates are looked up per distinct (rep, deal currency, month): a few hundred keys, not a row per deal.
    key = np.zeros(len(credited), dtype=np.int64)
    for column in ("rep_id", "currency", "month"):
        column_codes, uniques = pd.factorize(credited[column])
        key = key * (len(uniques) + 1) + column_codes
    key_of_row, first_rows = pd.factorize(key)[0], pd.Series(np.arange(len(key))).groupby(key, sort=False).first()
    keys = credited.loc[first_rows.to_numpy(), ["rep_id", "currency", "month"]].set_axis(
        key_of_row[first_rows.to_numpy()], axis=0
    )
    keys["plan"] = _plan_currency(keys, reps)
    keys = keys[keys["plan"].notna() & (keys["plan"] != keys["currency"])]
    needs = pd.concat(
        [
            keys.assign(need=keys["currency"], why=""),
            keys.assign(
                need=keys["plan"],
                why=" (to convert to " + keys["plan"] + ", the plan currency of " + keys["rep_id"] + ")",
            ),
        ]
    )
    needs = needs[needs["need"] != base_currency]
    have = pd.MultiIndex.from_frame(fx_rates[["month", "currency"]])
    lacking = needs[~pd.MultiIndex.from_arrays([needs["month"], needs["need"]]).isin(have)]
    if lacking.empty:
        return deals, splits
    hit = credited[np.isin(key_of_row, lacking.index)].assign(key=lambda f: key_of_row[f.index])
    missing = hit[["deal_id", "key"]].merge(
        lacking[["month", "currency", "need", "why"]], left_on="key", right_index=True
    )
    missing = missing.drop_duplicates(["deal_id", "month", "need"])
    if not fx_file_present:
        currencies = ", ".join(sorted(missing["need"].unique()))
        raise InputFileError(
            data_dir / "fx_rates.csv",
            f"required file is missing: won deals need exchange rates for {currencies} "
            f"(base currency {base_currency}); add fx_rates.csv with columns month, currency, rate "
            "(see docs/input-contract.md)",
        )
    index = deals.index[deals["deal_id"].isin(missing["deal_id"])]
    by_id = pd.Series(index, index=deals.loc[index, "deal_id"].to_numpy())
    rows = by_id.loc[missing["deal_id"]].to_numpy()
    deals_table.problems.add(
        rows,
        "currency",
        missing["currency"],
        [
            f"no FX rate for {need} in {m}{why}; add it to fx_rates"
            for need, m, why in zip(missing["need"], missing["month"], missing["why"], strict=True)
        ],
    )
    rejected = pd.Index(missing["deal_id"].unique())
    deals = deals.drop(index=index)
    if splits_table is not None:
        hit = splits[splits["deal_id"].isin(rejected)]
        splits_table.problems.add(
            hit.index,
            "deal_id",
            hit["deal_id"],
            [
                f"deal_id {d} is a deal whose own row was rejected (no FX rate, see quarantine); fix that row first"
                for d in hit["deal_id"]
            ],
        )
        splits = splits.drop(index=hit.index)
    return deals, splits


# ---------------------------------------------------------------- targets


def _validate_targets(
    table: _Table | None, reps: pd.DataFrame, roster: tuple[pd.Index, pd.Index], base_currency: str
) -> pd.DataFrame:
    """Validated targets with ``target`` (int, minor units for revenue) and its ``currency``.

    None (no targets file: ``attain validate`` of another lone file) gives no targets.
    """
    if table is None:
        return _empty("targets")
    _duplicates(
        table,
        ["scope", "scope_id", "month", "metric", "effective_date"],
        "scope, scope_id, month, metric and effective_date",
    )
    text = table.text
    is_rep, is_team = text["scope"] == "rep", text["scope"] == "team"
    revenue = text["metric"] == "revenue"

    currency = pd.Series("", index=text.index, dtype=object)
    rep_rows = text[is_rep & revenue]
    currency.loc[rep_rows.index] = _plan_currency(rep_rows.rename(columns={"scope_id": "rep_id"}), reps).fillna("")
    team_rows = text[is_team & revenue]
    currency.loc[team_rows.index] = _team_target_currency(team_rows, reps, base_currency)

    digits = np.where(revenue, currency.map(MINOR_DIGITS).fillna(2), 0).astype("int64")
    units, status = _minor_units(text["amount"], digits)
    status_money = np.where(revenue.to_numpy(), status, np.where(status == _TOO_PRECISE, -1, status))
    _amount_problems(table, "amount", status_money, digits, currency.where(revenue, ""), "targets")
    counts = text[status_money == -1]
    table.problems.add(
        counts.index,
        "amount",
        counts["amount"],
        [
            f"amount {v} is not a whole number; a {m} target is a count"
            for v, m in zip(counts["amount"], counts["metric"], strict=True)
        ],
    )

    typed = text[["scope", "scope_id", "month", "metric", "amount"]].copy()
    typed["target"] = pd.array(units, dtype="Int64")
    typed["target"] = typed["target"].mask(status != _OK)
    typed["currency"] = currency.where(revenue, "")
    typed["effective_date"] = _dates(table, "effective_date")
    typed["reason"], typed["author"] = text["reason"], text["author"]
    _pandera(table, typed, required_dates=("effective_date",))
    _unknown(table, "scope_id", *roster, "rep_id in reps", "add the rep to reps or correct the id", mask=is_rep)
    _unknown(
        table,
        "scope_id",
        pd.Index(reps["team"].unique()),
        pd.Index([]),
        "team in reps",
        "correct the team name (it must match the team column of reps)",
        mask=is_team,
    )
    return _drop_problem_rows(table, typed)


# ---------------------------------------------------------------- surveys


def _validate_surveys(
    table: _Table | None, deals: pd.DataFrame, deals_table: _Table, end: pd.Timestamp, settings: Settings
) -> pd.DataFrame:
    """Validated survey responses up to the month's end, with scales checked against settings."""
    if table is None:
        return _empty("surveys")
    accepted, rejected, later = _deal_ids(deals_table, deals)
    _duplicates(table, ["response_id"], "response")
    response_date = _parse_dates(table.text["response_date"])
    _skip_rows(table, (response_date > end) | table.text["deal_id"].isin(later))
    text = table.text

    units, status = _minor_units(text["score"], 0)
    bad_score = pd.Series(~np.isin(status, (_OK,)), index=text.index)
    table.problems.add(
        text.index[bad_score],
        "score",
        text["score"][bad_score],
        [
            "score is blank; enter the response's score"
            if v == ""
            else f"score '{v}' is not a whole number; enter the score as given by the customer"
            for v in text["score"][bad_score]
        ],
    )

    scales = {**_BUILTIN_SCALES, **{k.lower(): tuple(v) for k, v in settings.survey_scales.items()}}
    low = text["scale"].map({name: bounds[0] for name, bounds in scales.items()})
    high = text["scale"].map({name: bounds[1] for name, bounds in scales.items()})
    undeclared = low.isna() & (text["scale"] != "")
    table.problems.add(
        text.index[undeclared],
        "scale",
        text["scale"][undeclared],
        [
            f"scale '{s}' is not declared; Attain does not guess scales: use csat_1_5 or nps_0_10, or declare it "
            f"with its lowest and highest score, {how_to_set('survey_scales', {s: _scale_bounds(s)})}, so it is "
            "converted linearly to 1-5"
            for s in text["scale"][undeclared]
        ],
    )
    score = pd.Series(units, index=text.index)
    outside = ~undeclared & ~bad_score & low.notna() & ((score < low) | (score > high))
    table.problems.add(
        text.index[outside],
        "score",
        text["score"][outside],
        [
            f"score {v} is outside the {s} scale ({int(lo)} to {int(hi)}); correct the score or the scale"
            for v, s, lo, hi in zip(
                text["score"][outside], text["scale"][outside], low[outside], high[outside], strict=True
            )
        ],
    )

    typed = text[["response_id", "deal_id", "account"]].copy()
    typed["response_date"] = _dates(table, "response_date")
    typed["score"] = pd.array(units, dtype="Int64")
    typed["score"] = typed["score"].mask(bad_score.to_numpy())
    typed["scale"], typed["comment"] = text["scale"], text["comment"]
    _pandera(table, typed, required_dates=("response_date",))
    _unknown(
        table, "deal_id", accepted, rejected, "deal in deals", "correct the id, or leave it blank and fill account"
    )
    return _drop_problem_rows(table, typed)


def _scale_bounds(scale: str) -> tuple[int, int]:
    """The bounds a scale name such as '1-7' or 'nps_1_10' suggests, for the example in a reason."""
    match = re.search(r"(\d+)\D+(\d+)$", scale)
    return (int(match[1]), int(match[2])) if match and int(match[1]) < int(match[2]) else (1, 10)


# ---------------------------------------------------------------- assembling the result


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
