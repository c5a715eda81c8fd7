"""Ingest: read the data folder, validate every input row, take the month's snapshot.

``load_inputs`` is the one entry point. File-level problems (a required file
missing, a misspelled column, an unreadable file) stop the run with one
:class:`~attain.ingest.raw.InputFileError`. Row-level problems never stop it: the
row goes to the ``quarantine`` table with a reason written for the person who
fixes the file (file, row, column, value, what to do), and every good row is
kept.

How a table is validated:

1. the header is checked against the contract (docs/input-contract.md);
2. text cells are trimmed and parsed, vectorised: amounts to int64 minor units
   (exactly, from the decimal text: no floats), dates to ``datetime64``;
   a cell that does not parse is a problem of that cell;
3. the typed frame is checked with its Pandera schema (``attain/ingest/contract.py``,
   ``lazy=True``) and each failure case becomes a problem with a reason;
4. rules across rows and tables (duplicates, unknown reps or deals, split
   shares, FX coverage) are plain vectorised pandas.

A row with several problems gives several quarantine rows (one per column at
fault); ``(source_file, source_row)`` identifies the rejected row.
"""

from __future__ import annotations

import datetime as dt
import difflib
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from attain.ingest.cells import _NORMALISE, _by_unique
from attain.ingest.contract import CONTRACT, REQUIRED_TABLES
from attain.ingest.crm import adapt
from attain.ingest.deals import _validate_deals
from attain.ingest.details import _contract_details, _export_details
from attain.ingest.disputes import _validate_disputes
from attain.ingest.fx_rates import _check_fx_coverage, _validate_fx
from attain.ingest.people import _roster_ids, _validate_reps, _validate_targets
from attain.ingest.profiles import UnknownExportError
from attain.ingest.quarantine import TableSource, _empty, _finish, _quarantine, _sanitise, _source, _Table
from attain.ingest.raw import InputFileError, RawTable
from attain.ingest.readers import INPUT_SUFFIXES, find_input, read_table
from attain.ingest.self_assessments import _validate_self_assessments
from attain.ingest.splits import _validate_splits
from attain.ingest.surveys import _validate_surveys
from attain.periods import month_end, parse_month
from attain.settings import Settings


@dataclass
class Inputs:
    """The validated input tables of one month's snapshot (docs/data-model.md "Inputs")."""

    deals: pd.DataFrame
    credit_splits: pd.DataFrame
    reps: pd.DataFrame
    targets: pd.DataFrame
    fx_rates: pd.DataFrame
    surveys: pd.DataFrame
    disputes: pd.DataFrame


@dataclass
class IngestResult(Inputs):
    """The validated snapshot of one month and everything rejected on the way; ``self_assessments`` only feed
    the review packs (issue 13 item 3), so they are not one of the ``Inputs`` the pay stages read."""

    quarantine: pd.DataFrame
    self_assessments: pd.DataFrame
    sources: dict[str, TableSource] = field(default_factory=dict)


@dataclass(frozen=True)
class _CrmOptions:
    """How to read a deals file that is a CRM export (see ``attain.ingest.crm.adapt``)."""

    profile: str | None = None
    mapping_file: Path | None = None
    date_order: str | None = None
    decimal_comma: bool | None = None
    owner_aliases: Path | None = None

    @property
    def declared(self) -> bool:
        """Whether the deals file was declared a CRM export (profile or mapping file)."""
        return self.profile is not None or self.mapping_file is not None


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
    disputes = _validate_disputes(tables["disputes"], deals, deals_table, reps, roster, month, end)
    self_assessments = _validate_self_assessments(tables["self_assessments"], roster)

    results = {
        "deals": deals,
        "credit_splits": splits,
        "reps": reps,
        "targets": targets,
        "fx_rates": fx_rates,
        "surveys": surveys,
        "disputes": disputes,
        "self_assessments": self_assessments,
    }
    quarantine = _quarantine(tables, month)
    sources = {
        name: _source(table, results[name], quarantine) for name in CONTRACT if (table := tables[name]) is not None
    }
    finished = {name: _finish(results[name], name, tables[name]) for name in CONTRACT}
    return IngestResult(**finished, quarantine=quarantine, sources=sources)


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
