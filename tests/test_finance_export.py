"""Finance export: CSV and XLSX round-trip to the same totals; formulas neutralised; statements."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
import pytest
from openpyxl import load_workbook

from attain.finance_export import (ExportError, format_statement, neutralise, read_back_totals,
                                   write_payouts)
from attain.payouts import payouts
from tests.test_ledger import STRADDLE, commission, credited, plan_book, roster, run

MONTH = "2025-03"


@pytest.fixture
def month(tmp_path):
    book = plan_book(tmp_path, commission(), header="draw: {kind: recoverable, amount: 1000}\n")
    reps = roster("A", "B", "C")
    reps.loc[1, "name"] = '=HYPERLINK("http://evil.example","click")'
    reps.loc[2, "name"] = "@SUM(A1:A9)"
    deals = credited(STRADDLE + [("B1", "B", "2025-03-03", "5000.05")])
    ledger = run(book, reps, deals, {"A": "20000", "B": "20000", "C": "20000"})
    return ledger, payouts(ledger, reps, MONTH), reps


def test_csv_and_xlsx_round_trip_to_the_ledger_totals(tmp_path, month):
    ledger, pay, _ = month
    files = write_payouts(pay, ledger, tmp_path / "out", MONTH)
    assert [f.name for f in files] == ["payouts_2025-03.csv", "ledger_2025-03.csv", "payouts_2025-03.xlsx"]
    expected = {"USD": Decimal(int(ledger["amount_minor"].sum())) / 100}
    assert expected == {"USD": Decimal("3400.00")}  # A 1,400; B 200.00 + 800.00 draw; C 1,000 draw
    assert read_back_totals(files[0]) == expected
    assert read_back_totals(files[2]) == expected
    lines = pd.read_csv(files[1], dtype=str, keep_default_na=False)
    assert sum(Decimal(v) for v in lines["amount"]) == expected["USD"]
    assert lines.loc[lines["payee_id"] == "B", "amount"].tolist() == ["200.00", "800.00"]
    book = load_workbook(files[2])
    assert book.sheetnames == ["Payouts", "Ledger", "Totals"]
    totals = list(book["Totals"].iter_rows(values_only=True))
    assert totals[0][:3] == ("currency", "payees", "earnings") and totals[1][0] == "USD" and totals[1][1] == 3
    assert all(f.parent == tmp_path / "out" / MONTH / "finance" for f in files)
    assert not list(files[0].parent.glob(".*"))  # no temporary files left behind


def test_formula_injection_is_neutralised_in_both_formats(tmp_path, month):
    ledger, pay, _ = month
    files = write_payouts(pay, ledger, tmp_path, MONTH)
    csv = pd.read_csv(files[0], dtype=str, keep_default_na=False).set_index("payee_id")
    assert csv.loc["B", "payee"] == '\'=HYPERLINK("http://evil.example","click")'
    assert csv.loc["C", "payee"] == "'@SUM(A1:A9)"
    sheet = load_workbook(files[2])["Payouts"]
    names = {row[0].value: row[1] for row in sheet.iter_rows(min_row=2)}
    assert names["B"].value.startswith("'=") and names["B"].data_type == "s"
    assert neutralise("-5") == "'-5" and neutralise("\tx") == "'\tx" and neutralise(-5) == -5


def test_exports_refuse_payouts_that_do_not_reconcile(tmp_path, month):
    ledger, pay, _ = month
    broken = pay.copy()
    broken.loc[0, "payable_minor"] += 1
    with pytest.raises(ExportError, match="payouts for A: payable 140001 minor units but the ledger lines sum to 1"):
        write_payouts(broken, ledger, tmp_path, MONTH)
    assert not list(tmp_path.rglob("payouts_*"))


def test_statement_lists_every_line_and_the_totals(month):
    ledger, pay, _ = month
    text = format_statement(ledger, pay, "B", MONTH)
    assert "1. commission [commission]" in text and "200.00 USD" in text
    assert "2. draw [draw]" in text and "Recoverable draw: earnings 200.00 USD below the 1,000.00 USD draw" in text
    assert text.splitlines()[-2].split()[-2:] == ["1,000.00", "USD"]  # payable
    assert text.splitlines()[-1].startswith("Outstanding draw balance")
    assert "no plan or no lines" in format_statement(ledger, pay, "Z", MONTH)


def test_frames_without_the_partition_column_export_as_the_month(tmp_path, month):
    ledger, pay, _ = month
    files = write_payouts(pay.drop(columns=["month"]), ledger.drop(columns=["month"]), tmp_path, MONTH, ("csv",))
    lines = pd.read_csv(files[1], dtype=str)
    assert set(lines["month"]) == {MONTH} and len(lines) == len(ledger)
