"""``attain validate``: how each input file was read and what was rejected, without running the month."""

from __future__ import annotations

import datetime as dt
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd

from attain.ingest.contract import CONTRACT, QUARANTINE_COLUMNS
from attain.ingest.load import _CrmOptions, _ingest, _path
from attain.ingest.profiles import OWNER_ALIASES
from attain.ingest.quarantine import TableSource
from attain.ingest.raw import InputFileError
from attain.ingest.readers import find_input, read_table
from attain.packs.coaching import COACHING_FILE
from attain.periods import add_months, month_of
from attain.readiness import coaching_problems, month_readiness
from attain.settings import Settings


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
    plans in ``plans_dir``, default ``<folder>/plans``, the quarantine limit, ``coaching.yaml``); a lone
    ``coaching.yaml`` is checked as the review packs load it.
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
        problems += coaching_problems(path)
        return ValidationReport(month, result.sources, result.quarantine, problems=problems, warnings=warnings)
    if not path.is_file():
        raise InputFileError(path, f"file not found in {path.parent}; check the file name and folder")
    if path.name == COACHING_FILE:  # the coaching catalogue: not a table, checked as the packs load it
        empty = pd.DataFrame(columns=QUARANTINE_COLUMNS)
        return ValidationReport(
            month,
            {},
            empty,
            notes=[f"{path.name}: the coaching catalogue of the review packs, extending the built-in one"],
            problems=coaching_problems(path.parent),
        )
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
