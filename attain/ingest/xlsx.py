"""Read the first (or a named) sheet of an XLSX workbook into text cells, the way Excel shows them."""

from __future__ import annotations

import datetime as dt
import html
import math
import re
from decimal import Decimal
from pathlib import Path

import pandas as pd

from attain.ingest.raw import InputFileError, RawTable, _rejected_frame, _tidy


def _read_xlsx(path: Path, sheet: str | None) -> RawTable:
    """The named sheet, else the first sheet holding any cell (empty sheets before it are named in the table)."""
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:
        raise InputFileError(
            path, f"is not a readable Excel workbook ({type(exc).__name__}: {exc}); re-save it from Excel as .xlsx"
        ) from None
    try:
        if sheet is not None and sheet not in book.sheetnames:
            raise InputFileError(path, f"has no sheet named {sheet!r}; its sheets are: {', '.join(book.sheetnames)}")
        skipped: list[str] = []
        for ws in [book[sheet]] if sheet is not None else book.worksheets:
            rows = _sheet_rows(ws)
            if rows:
                break
            skipped.append(ws.title)
        else:
            where = f"sheet {sheet!r} is" if sheet is not None else f"every sheet ({', '.join(skipped)}) is"
            raise InputFileError(path, f"{where} empty; put the header line in the first row and the deals below")
        title = ws.title
        unsaved = _unsaved_formulas(book, ws)
    finally:
        book.close()
    # Leading blank rows are skipped; the index still makes row_number() the sheet's own row number.
    first = next(i for i, row in enumerate(rows) if any(row))
    width = max(len(row) for row in rows)
    header = [name or f"Unnamed: {i}" for i, name in enumerate(rows[first] + [""] * (width - len(rows[first])))]
    body = [row + [""] * (width - len(row)) for row in rows[first + 1 :]]
    df = pd.DataFrame(body, columns=header, dtype=object, index=pd.RangeIndex(first, first + len(body)))
    df, rejected = _reject_unsaved_formulas(df, unsaved)
    return RawTable(
        df=_tidy(df),
        path=path,
        encoding=None,
        delimiter=None,
        sheet=title,
        skipped_sheets=tuple(skipped),
        rejected=_rejected_frame(rejected),
    )


#: A cell holding a formula and no saved value (``<v/>`` or none): a workbook written by a program, never
#: opened and saved in Excel, which is what computes and stores formula results.
_UNSAVED_FORMULA = re.compile(
    rb'<c\b[^>]*?\br="([A-Z]+)(\d+)"[^>]*>\s*<f\b[^>]*?(?:/>|>([^<]*)</f>)\s*(?:<v\s*/>|<v>\s*</v>)?\s*</c>'
)


def _unsaved_formulas(book, ws) -> dict[tuple[int, int], str]:
    """(sheet row, column position) -> formula, for each formula cell of ``ws`` without a saved value.

    openpyxl reads such a cell as empty, which validation would call blank; the sheet's XML tells them
    apart. Read from the workbook's archive (openpyxl's read-only sheet keeps its path there).
    """
    try:
        xml = book._archive.read(ws._worksheet_path)
    except (AttributeError, KeyError):  # not a read-only sheet of a zip archive: nothing to look up
        return {}
    found = {}
    for match in _UNSAVED_FORMULA.finditer(xml):
        letters, row, formula = match[1].decode(), int(match[2]), match[3]
        column = 0
        for letter in letters:
            column = column * 26 + ord(letter) - 64
        found[(row, column - 1)] = "=" + html.unescape(formula.decode()) if formula else "(a shared formula)"
    return found


def _reject_unsaved_formulas(df: pd.DataFrame, unsaved: dict[tuple[int, int], str]) -> tuple[pd.DataFrame, list]:
    """``df`` without the rows holding a formula without a saved value, and their quarantine rows."""
    rows: dict[int, tuple[str, str]] = {}
    for (row, position), formula in sorted(unsaved.items()):
        index = row - 2  # the sheet's row number is index + 2 (see RawTable.row_number)
        if index in df.index and position < len(df.columns):
            rows.setdefault(index, (str(df.columns[position]), formula))
    rejected = [
        {
            "source_row": index + 2,
            "column": column,
            "value": formula,
            "reason": f"row {index + 2}, {column}: a formula without a saved value ({formula}); open the file in "
            "Excel and save it, so the value is stored",
            "record": df.loc[index].to_json(force_ascii=False),
        }
        for index, (column, formula) in rows.items()
    ]
    return (df.drop(index=list(rows)) if rows else df), rejected


def _sheet_rows(ws) -> list[list[str]]:
    """A worksheet's rows as text cells, each without its trailing blank cells; [] for an empty sheet.

    Rows keep their full width (a data row wider than the header row is not cut).
    """
    rows = []
    for values in ws.iter_rows(values_only=True):
        row = [_cell_text(v) for v in values]
        while row and row[-1] == "":
            row.pop()
        rows.append(row)
    while rows and not rows[-1]:
        rows.pop()
    return rows


def _cell_text(value: object) -> str:
    """An Excel cell value as the text validation expects: ISO dates, plain decimals."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time(0) else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return _plain_decimal(value)
    return str(value).strip()


def _plain_decimal(value: float) -> str:
    """Shortest exact text of a float, without exponent: 1234.5, 100, 0.00001."""
    if math.isnan(value):
        return ""
    if value.is_integer():
        return str(int(value))
    return format(Decimal(repr(value)), "f")
