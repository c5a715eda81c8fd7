"""How each input file was read (layout, encoding, date order, numbers, owners), as the lines of
``attain validate``'s report and of the run's metadata.
"""

from __future__ import annotations

from attain.ingest.contract import _DATE_COLUMNS
from attain.ingest.profiles import AdaptedDeals
from attain.ingest.raw import RawTable
from attain.ingest.readers import delimiter_name


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
