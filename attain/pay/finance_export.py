"""Finance export: the month's payouts and ledger lines as CSV and XLSX, and one rep's statement.

Files (in ``<out_dir>/<month>/finance/``): ``payouts_<month>.csv`` (one row per payee),
``ledger_<month>.csv`` (every statement line) and ``payouts_<month>.xlsx`` with the
sheets *Payouts*, *Ledger* and *Totals*. Amounts are exact decimals in major units
(``1234.50``; JPY without decimals, KWD with three). Before writing, the export checks that each
rep's ledger lines sum to their payable. Text cells that a spreadsheet would read
as a formula (starting with = + - @, tab or CR) get a leading apostrophe in CSV; in
XLSX they keep their text and get the cell's quote-prefix style, so the spreadsheet
shows them literally and never evaluates them. Each file is written to a temporary
name and renamed, so a reader never sees half a file.
"""

from __future__ import annotations

import datetime as dt
import functools
import zipfile
from decimal import Decimal
from pathlib import Path
from typing import TypeGuard

import pandas as pd
from openpyxl import Workbook
from openpyxl.writer.excel import ExcelWriter

from attain.files import write_atomic
from attain.money import from_minor, minor_digits, money_text
from attain.pay.lines import of_month

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

PAYOUT_EXPORT = [
    ("rep_id", "payee_id"),
    ("name", "payee"),
    ("email", "email"),
    ("currency", "currency"),
    ("earnings_minor", "earnings"),
    ("draws_minor", "draws"),
    ("adjustments_minor", "adjustments"),
    ("carried_minor", "carried"),
    ("payable_minor", "payable"),
    ("draw_balance_minor", "draw_balance"),
    ("carried_balance_minor", "carried_balance"),
]
LEDGER_EXPORT = [
    ("month", "month"),
    ("rep_id", "payee_id"),
    ("line_no", "line_no"),
    ("plan_id", "plan_id"),
    ("currency", "currency"),
    ("component", "component"),
    ("kind", "kind"),
    ("for_month", "for_month"),
    ("deal_ids", "deal_ids"),
    ("band", "band"),
    ("rate", "rate"),
    ("base_minor", "base"),
    ("amount_minor", "amount"),
    ("explanation", "explanation"),
]


#: A spreadsheet number is a binary double: it holds every decimal of up to 15 significant digits so that it shows
#: and rounds back to the same minor unit (and sums of such amounts to the cent). Larger amounts are refused in XLSX.
_XLSX_MAX_MINOR = 10**15


class ExportError(ValueError):
    """Payouts and ledger lines that do not reconcile; nothing is written."""


def starts_formula(value: object) -> TypeGuard[str]:
    """Whether a spreadsheet would read this text cell as a formula."""
    return isinstance(value, str) and value.startswith(_FORMULA_START)


def neutralise(value: object) -> object:
    """A text cell that would start a formula, prefixed with ``'`` (for CSV); anything else unchanged."""
    return "'" + value if starts_formula(value) else value


def _export_frame(frame: pd.DataFrame, columns: list[tuple[str, str]]) -> pd.DataFrame:
    """Rename to export headers, money to exact major-unit Decimals, text as text (neutralised per format)."""
    out = pd.DataFrame(index=frame.index)
    for source, header in columns:
        if source.endswith("_minor"):
            out[header] = [from_minor(m, c) for m, c in zip(frame[source], frame["currency"], strict=True)]
        elif source == "line_no":
            out[header] = frame[source].astype(int)
        else:
            out[header] = frame[source].fillna("").astype(str)
    return out.reset_index(drop=True)


def reconcile(payouts: pd.DataFrame, ledger: pd.DataFrame) -> None:
    """Raise ``ExportError`` unless every payee's payable equals the sum of their ledger lines."""
    sums = ledger.groupby("rep_id")["amount_minor"].sum()
    payable = payouts.set_index("rep_id")["payable_minor"]
    joined = pd.concat({"lines": sums, "payable": payable}, axis=1).fillna(0)
    bad = joined[joined["lines"] != joined["payable"]]
    if len(bad):
        rep = bad.index[0]
        raise ExportError(
            f"payouts for {rep}: payable {int(bad.loc[rep, 'payable'])} minor units but the ledger "
            f"lines sum to {int(bad.loc[rep, 'lines'])}; recompute payouts from this ledger"
        )


def totals(payouts: pd.DataFrame) -> pd.DataFrame:
    """Sums of the payout columns per currency (exact Decimals)."""
    money = [c for c, _ in PAYOUT_EXPORT if c.endswith("_minor")]
    sums = payouts.groupby("currency")[money].sum().reset_index()
    out = pd.DataFrame({"currency": sums["currency"], "payees": payouts.groupby("currency").size().to_numpy()})
    for column, header in PAYOUT_EXPORT:
        if column in money:
            out[header] = [from_minor(m, c) for m, c in zip(sums[column], sums["currency"], strict=True)]
    return out


def number_format(currency: str) -> str:
    """The XLSX number format of an amount in ``currency``, with its minor digits (JPY ``#,##0``, KWD ``#,##0.000``)."""
    digits = minor_digits(currency)
    return "#,##0." + "0" * digits if digits else "#,##0"


#: The XLSX number format of a rate (issue 13 item 5): the exact ratio as a number, shown as a percentage (2.5%).
RATE_FORMAT = "0.0##%"


def _write_xlsx(
    path: Path, sheets: dict[str, pd.DataFrame], money_headers: set[str], rate_headers: frozenset[str] = frozenset()
) -> None:
    """Each sheet with a frozen header row that filters every column.

    Money cells are numbers (finance sums them) shown with their row's currency digits. Each is written as the
    exact decimal text of the amount (``<v>8302.11</v>``), not through a float, which openpyxl would write as
    ``8302.110000000001``; the spreadsheet reads it as the nearest double, exact to the minor unit below
    ``_XLSX_MAX_MINOR``. Text is always a string cell; text that would start a formula keeps its characters
    and gets the quote-prefix style (``quotePrefix="1"``), so it is shown literally and never evaluated.
    A rate (``rate_headers``) is a number too, its exact decimal text shown as a percentage (``RATE_FORMAT``);
    a line without a rate keeps an empty text cell.
    """
    book = Workbook()
    book.remove(book.active)
    book.properties.creator = "Attain"
    book.properties.created = book.properties.modified = _FIXED_STAMP  # a re-run writes the same bytes
    for title, frame in sheets.items():
        sheet = book.create_sheet(title)
        sheet.append(list(frame.columns))
        formats = [number_format(c) for c in frame["currency"]]
        for r, row in enumerate(frame.itertuples(index=False), start=2):
            for c, (header, value) in enumerate(zip(frame.columns, row, strict=True), start=1):
                if header in money_headers:
                    cell = sheet.cell(row=r, column=c, value=format(value, "f"))
                    cell.data_type = "n"  # the decimal text is the number: no float on the way
                    cell.number_format = formats[r - 2]
                    continue
                if header in rate_headers and value != "":
                    cell = sheet.cell(row=r, column=c, value=format(Decimal(value), "f"))
                    cell.data_type = "n"
                    cell.number_format = RATE_FORMAT
                    continue
                cell = sheet.cell(row=r, column=c, value=value)
                if isinstance(value, str):
                    cell.data_type = "s"  # text stays text, never a formula
                    if starts_formula(value):
                        cell.quotePrefix = True
        sheet.freeze_panes = "A2"
        sheet.auto_filter.ref = sheet.dimensions
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
        ExcelWriter(book, archive).write_data()  # not book.save(), which stamps the time of saving as 'modified'
    _fix_zip_times(path)


#: The time stamped in a workbook's properties and zip entries: fixed, so the same figures give the same file.
_FIXED_STAMP = dt.datetime(2000, 1, 1)


def _fix_zip_times(path: Path) -> None:
    """Rewrite the workbook's zip with every entry dated ``_FIXED_STAMP`` (openpyxl stamps the time of saving)."""
    with zipfile.ZipFile(path) as source:
        entries = [(info.filename, source.read(info)) for info in source.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for name, data in entries:
            target.writestr(zipfile.ZipInfo(name, date_time=_FIXED_STAMP.timetuple()[:6]), data, zipfile.ZIP_DEFLATED)


def _check_xlsx_range(payouts: pd.DataFrame, ledger: pd.DataFrame, month: str) -> None:
    """Refuse amounts a spreadsheet number cannot hold to the minor unit (see ``_XLSX_MAX_MINOR``)."""
    money = [c for c, _ in PAYOUT_EXPORT if c.endswith("_minor")]
    sums = payouts.groupby("currency")[money].sum().reset_index().assign(rep_id="all payees (Totals)")
    for frame, columns in ((payouts, money), (ledger, ["base_minor", "amount_minor"]), (sums, money)):
        for column in columns:
            big = frame[frame[column].abs() >= _XLSX_MAX_MINOR]
            if len(big):
                row = big.iloc[0]
                raise ExportError(
                    f"payouts_{month}.xlsx: {column.removesuffix('_minor')} of {row['rep_id']} is "
                    f"{money_text(row[column], row['currency'])}, more than the 15 significant digits a spreadsheet "
                    "number holds exactly; check that amount, or export CSV only (attain payouts --format csv)"
                )


def write_payouts(
    payouts: pd.DataFrame,
    ledger: pd.DataFrame,
    out_dir: Path | str,
    month: str,
    formats: tuple[str, ...] = ("csv", "xlsx"),
) -> list[Path]:
    """Write the month's payouts and ledger lines under ``<out_dir>/<month>/finance/``; returns the files."""
    unknown = set(formats) - {"csv", "xlsx"}
    if unknown:
        raise ExportError(f"format {', '.join(sorted(unknown))} is not supported; use csv or xlsx")
    payouts, ledger = of_month(payouts, month), of_month(ledger, month).assign(month=month)
    reconcile(payouts, ledger)
    if "xlsx" in formats:
        _check_xlsx_range(payouts, ledger, month)
    out = Path(out_dir) / month / "finance"
    out.mkdir(parents=True, exist_ok=True)
    pay = _export_frame(payouts.sort_values("rep_id"), PAYOUT_EXPORT)
    lines = _export_frame(ledger.sort_values(["rep_id", "line_no"]), LEDGER_EXPORT)
    written = []
    if "csv" in formats:
        for name, frame in ((f"payouts_{month}.csv", pay), (f"ledger_{month}.csv", lines)):
            path = out / name
            write_atomic(path, functools.partial(frame.map(neutralise).to_csv, index=False, encoding="utf-8"))
            written.append(path)
    if "xlsx" in formats:
        path = out / f"payouts_{month}.xlsx"
        money = {h for c, h in PAYOUT_EXPORT + LEDGER_EXPORT if c.endswith("_minor")}
        sheets = {"Payouts": pay, "Ledger": lines, "Totals": totals(payouts)}
        write_atomic(path, lambda p: _write_xlsx(p, sheets, money, frozenset({"rate"})))
        written.append(path)
    return written


def format_statement(ledger: pd.DataFrame, payouts: pd.DataFrame, rep_id: str, month: str) -> str:
    """One rep's statement for the terminal: every line with its explanation, then the totals."""
    lines = of_month(ledger, month)
    lines = lines[lines["rep_id"] == rep_id].sort_values("line_no")
    row = of_month(payouts, month)
    row = row[row["rep_id"] == rep_id]
    if row.empty:
        return f"No statement for {rep_id} in {month}: the rep has no plan or no lines this month."
    pay = row.iloc[0]
    ccy = pay["currency"]
    plan = lines["plan_id"].iloc[0] if len(lines) else ""
    width = max([len(money_text(a, ccy)) for a in lines["amount_minor"]] + [len(money_text(pay["payable_minor"], ccy))])
    out = [f"Statement {month} - {pay['name'] or rep_id} ({rep_id}), plan {plan}, {ccy}", ""]
    for line in lines.itertuples():
        label = f"{line.line_no:>3}. {line.component} [{line.kind}]"
        if line.for_month != month:  # an adjustment of a closed month, a recovery of a balance carried from it
            label += f" for {line.for_month}"
        out.append(f"{label:<44} {money_text(line.amount_minor, ccy):>{width}}")
        out.append(f"       {line.explanation}")
    out.append("")
    parts = [("Earnings", "earnings_minor"), ("Draws", "draws_minor"), ("Adjustments", "adjustments_minor")]
    if pay.get("carried_minor", 0):  # .get: payouts stored before carried balances existed
        parts.append(("Carried forward / recovered", "carried_minor"))
    for title, column in (*parts, ("Payable", "payable_minor")):
        out.append(f"{title:<44} {money_text(pay[column], ccy):>{width}}")
    if pay["draw_balance_minor"]:
        out.append(f"{'Outstanding draw balance':<44} {money_text(pay['draw_balance_minor'], ccy):>{width}}")
    if pay.get("carried_balance_minor", 0):
        out.append(f"{'Carried balance still to recover':<44} {money_text(pay['carried_balance_minor'], ccy):>{width}}")
    return "\n".join(out)


def read_back_totals(path: Path | str) -> dict[str, Decimal]:
    """Payable total per currency read from an exported payouts CSV or XLSX (for reconciliation)."""
    path = Path(path)
    if path.suffix == ".xlsx":
        frame = pd.read_excel(path, sheet_name="Payouts", dtype=str)
    else:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    sums: dict[str, Decimal] = {}
    for ccy, value in zip(frame["currency"], frame["payable"], strict=True):
        sums[ccy] = sums.get(ccy, Decimal(0)) + Decimal(value)
    return sums
