"""Finance export: the month's payouts and ledger lines as CSV and XLSX, and one rep's statement.

Files (in ``<out_dir>/<month>/finance/``): ``payouts_<month>.csv`` (one row per payee),
``ledger_<month>.csv`` (every statement line) and ``payouts_<month>.xlsx`` with the
sheets *Payouts*, *Ledger* and *Totals*. Amounts are exact decimals in major units
(``1234.50``; JPY without decimals). Before writing, the export checks that each
rep's ledger lines sum to their payable. Text cells that a spreadsheet would read
as a formula (starting with = + - @, tab or CR) get a leading apostrophe. Each file
is written to a temporary name and renamed, so a reader never sees half a file.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pandas as pd
from openpyxl import Workbook

from attain.ledger import money_text, of_month
from attain.money import from_minor, minor_digits

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

PAYOUT_EXPORT = [("rep_id", "payee_id"), ("name", "payee"), ("email", "email"), ("currency", "currency"),
                 ("earnings_minor", "earnings"), ("draws_minor", "draws"), ("adjustments_minor", "adjustments"),
                 ("payable_minor", "payable"), ("draw_balance_minor", "draw_balance")]
LEDGER_EXPORT = [("month", "month"), ("rep_id", "payee_id"), ("line_no", "line_no"), ("plan_id", "plan_id"),
                 ("currency", "currency"), ("component", "component"), ("kind", "kind"), ("for_month", "for_month"),
                 ("deal_ids", "deal_ids"), ("band", "band"), ("rate", "rate"), ("base_minor", "base"),
                 ("amount_minor", "amount"), ("explanation", "explanation")]


class ExportError(ValueError):
    """Payouts and ledger lines that do not reconcile; nothing is written."""


def neutralise(value: object) -> object:
    """A text cell that would start a formula, prefixed with ``'``; anything else unchanged."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _export_frame(frame: pd.DataFrame, columns: list[tuple[str, str]]) -> pd.DataFrame:
    """Rename to export headers, money to exact major-unit Decimals, text neutralised."""
    out = pd.DataFrame(index=frame.index)
    for source, header in columns:
        if source.endswith("_minor"):
            out[header] = [from_minor(m, c) for m, c in zip(frame[source], frame["currency"])]
        elif source == "line_no":
            out[header] = frame[source].astype(int)
        else:
            out[header] = frame[source].fillna("").astype(str).map(neutralise)
    return out.reset_index(drop=True)


def reconcile(payouts: pd.DataFrame, ledger: pd.DataFrame) -> None:
    """Raise ``ExportError`` unless every payee's payable equals the sum of their ledger lines."""
    sums = ledger.groupby("rep_id")["amount_minor"].sum()
    payable = payouts.set_index("rep_id")["payable_minor"]
    joined = pd.concat({"lines": sums, "payable": payable}, axis=1).fillna(0)
    bad = joined[joined["lines"] != joined["payable"]]
    if len(bad):
        rep = bad.index[0]
        raise ExportError(f"payouts for {rep}: payable {int(bad.loc[rep, 'payable'])} minor units but the ledger "
                          f"lines sum to {int(bad.loc[rep, 'lines'])}; recompute payouts from this ledger")


def totals(payouts: pd.DataFrame) -> pd.DataFrame:
    """Sums of the payout columns per currency (exact Decimals)."""
    money = [c for c, _ in PAYOUT_EXPORT if c.endswith("_minor")]
    sums = payouts.groupby("currency")[money].sum().reset_index()
    out = pd.DataFrame({"currency": sums["currency"], "payees": payouts.groupby("currency").size().to_numpy()})
    for column, header in PAYOUT_EXPORT:
        if column in money:
            out[header] = [from_minor(m, c) for m, c in zip(sums[column], sums["currency"])]
    return out


def _atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _write_xlsx(path: Path, sheets: dict[str, pd.DataFrame], money_headers: set[str]) -> None:
    book = Workbook()
    book.remove(book.active)
    for title, frame in sheets.items():
        sheet = book.create_sheet(title)
        sheet.append(list(frame.columns))
        currencies = frame["currency"].tolist()
        for r, row in enumerate(frame.itertuples(index=False), start=2):
            for c, (header, value) in enumerate(zip(frame.columns, row), start=1):
                cell = sheet.cell(row=r, column=c, value=value)
                if header in money_headers:
                    cell.number_format = "#,##0" if minor_digits(currencies[r - 2]) == 0 else "#,##0.00"
                elif isinstance(value, str):
                    cell.data_type = "s"  # text stays text, never a formula
        sheet.freeze_panes = "A2"
    book.save(path)


def write_payouts(payouts: pd.DataFrame, ledger: pd.DataFrame, out_dir: Path | str, month: str,
                  formats: tuple[str, ...] = ("csv", "xlsx")) -> list[Path]:
    """Write the month's payouts and ledger lines under ``<out_dir>/<month>/finance/``; returns the files."""
    unknown = set(formats) - {"csv", "xlsx"}
    if unknown:
        raise ExportError(f"format {', '.join(sorted(unknown))} is not supported; use csv or xlsx")
    payouts, ledger = of_month(payouts, month), of_month(ledger, month).assign(month=month)
    reconcile(payouts, ledger)
    out = Path(out_dir) / month / "finance"
    out.mkdir(parents=True, exist_ok=True)
    pay = _export_frame(payouts.sort_values("rep_id"), PAYOUT_EXPORT)
    lines = _export_frame(ledger.sort_values(["rep_id", "line_no"]), LEDGER_EXPORT)
    written = []
    if "csv" in formats:
        for name, frame in ((f"payouts_{month}.csv", pay), (f"ledger_{month}.csv", lines)):
            path = out / name
            _atomic_write(path, lambda p, f=frame: f.to_csv(p, index=False, encoding="utf-8"))
            written.append(path)
    if "xlsx" in formats:
        path = out / f"payouts_{month}.xlsx"
        money = {h for c, h in PAYOUT_EXPORT + LEDGER_EXPORT if c.endswith("_minor")}
        sheets = {"Payouts": pay, "Ledger": lines, "Totals": totals(payouts)}
        _atomic_write(path, lambda p: _write_xlsx(p, sheets, money))
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
        if line.kind == "adjustment":
            label += f" for {line.for_month}"
        out.append(f"{label:<44} {money_text(line.amount_minor, ccy):>{width}}")
        out.append(f"       {line.explanation}")
    out.append("")
    for title, column in (("Earnings", "earnings_minor"), ("Draws", "draws_minor"),
                          ("Adjustments", "adjustments_minor"), ("Payable", "payable_minor")):
        out.append(f"{title:<44} {money_text(pay[column], ccy):>{width}}")
    if pay["draw_balance_minor"]:
        out.append(f"{'Outstanding draw balance':<44} {money_text(pay['draw_balance_minor'], ccy):>{width}}")
    return "\n".join(out)


def read_back_totals(path: Path | str) -> dict[str, Decimal]:
    """Payable total per currency read from an exported payouts CSV or XLSX (for reconciliation)."""
    path = Path(path)
    if path.suffix == ".xlsx":
        frame = pd.read_excel(path, sheet_name="Payouts", dtype=str)
    else:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    sums: dict[str, Decimal] = {}
    for ccy, value in zip(frame["currency"], frame["payable"]):
        sums[ccy] = sums.get(ccy, Decimal(0)) + Decimal(value)
    return sums
