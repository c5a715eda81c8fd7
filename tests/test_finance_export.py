"""Finance export: CSV and XLSX round-trip to the same totals; formulas neutralised; statements."""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from decimal import Decimal

import pandas as pd
import pytest
from openpyxl import load_workbook

from attain.money import MINOR_DIGITS
from attain.pay.finance_export import ExportError, format_statement, neutralise, read_back_totals, write_payouts
from attain.pay.lines import LEDGER_COLUMNS
from attain.pay.payouts import payouts
from tests.test_ledger import STRADDLE, commission, credited, months_of_negative_balance, plan_book, roster, run

MONTH = "2025-03"


@pytest.fixture
def month(tmp_path):
    book = plan_book(tmp_path, commission(), header="draw: {kind: recoverable, amount: 1000}\n")
    reps = roster("A", "B", "C")
    reps.loc[1, "name"] = '=HYPERLINK("http://evil.example","click")'
    reps.loc[2, "name"] = "@SUM(A1:A9)"
    deals = credited([*STRADDLE, ("B1", "B", "2025-03-03", "5000.05")])
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
    # XLSX: the text itself, as a string cell with the quote-prefix style; no visible apostrophe, never a formula
    sheet = load_workbook(files[2])["Payouts"]
    names = {row[0].value: row[1] for row in sheet.iter_rows(min_row=2)}
    assert names["B"].value == '=HYPERLINK("http://evil.example","click")' and names["C"].value == "@SUM(A1:A9)"
    assert names["B"].data_type == "s" and names["B"].quotePrefix and names["C"].quotePrefix
    assert names["A"].value == "Rep A" and not names["A"].quotePrefix
    with zipfile.ZipFile(files[2]) as archive:
        styles = archive.read("xl/styles.xml").decode()
        payouts_xml = archive.read("xl/worksheets/sheet1.xml").decode()
    cell = re.search(r'<c r="B3" s="(\d+)" t="inlineStr"><is><t>(.*?)</t></is></c>', payouts_xml)
    assert cell.group(2) == '=HYPERLINK("http://evil.example","click")'  # an inline string, not an <f> formula
    cell_xfs = re.findall(r"<xf [^>]*>", styles.split("<cellXfs")[1].split("</cellXfs>")[0])
    assert 'quotePrefix="1"' in cell_xfs[int(cell.group(1))]
    assert "<f>" not in payouts_xml
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


def ledger_of(rows) -> pd.DataFrame:
    """A month's ledger from (rep_id, currency, kind, amount_minor) rows, one line each."""
    frame = pd.DataFrame(
        [
            {
                "month": MONTH,
                "rep_id": r,
                "plan_id": f"p-{c}",
                "currency": c,
                "component": k,
                "kind": k,
                "deal_ids": "",
                "base_minor": 0,
                "band": "",
                "rate": "",
                "amount_minor": a,
                "explanation": "hand-made",
                "for_month": MONTH,
                "reason_code": "",
                "explain_args": "{}",
            }
            for r, c, k, a in rows
        ]
    )
    frame["line_no"] = frame.groupby("rep_id").cumcount() + 1
    return frame[LEDGER_COLUMNS]


def test_xlsx_money_has_each_currencys_digits_exact_values_and_every_sheet_filters(tmp_path, monkeypatch):
    monkeypatch.setitem(MINOR_DIGITS, "KWD", 3)  # an ISO 4217 three-digit currency, whatever the list holds
    ledger = ledger_of(
        [
            ("U", "USD", "commission", 830211),
            ("U", "USD", "clawback", -978),
            ("Y", "JPY", "commission", 1234567),
            ("K", "KWD", "commission", 1234567),
        ]
    )
    reps = pd.concat([roster("U"), roster("Y", currency="JPY"), roster("K", currency="KWD")], ignore_index=True)
    pay = payouts(ledger, reps, MONTH)
    path = write_payouts(pay, ledger, tmp_path, MONTH, ("xlsx",))[0]
    book = load_workbook(path)
    for sheet in book.worksheets:
        assert sheet.auto_filter.ref == sheet.dimensions and sheet.freeze_panes == "A2"
    payouts_sheet = book["Payouts"]
    header = [c.value for c in payouts_sheet[1]]
    rows = {r[0].value: dict(zip(header, r, strict=True)) for r in payouts_sheet.iter_rows(min_row=2)}
    assert {p: rows[p]["payable"].number_format for p in rows} == {"K": "#,##0.000", "U": "#,##0.00", "Y": "#,##0"}
    assert {p: rows[p]["payable"].value for p in rows} == {"K": 1234.567, "U": 8292.33, "Y": 1234567}
    assert all(rows[p]["payable"].data_type == "n" for p in rows)  # numbers finance can sum
    ledger_sheet = book["Ledger"]
    header = [c.value for c in ledger_sheet[1]]
    amounts = [
        (dict(zip(header, r, strict=True))["currency"].value, dict(zip(header, r, strict=True))["amount"])
        for r in ledger_sheet.iter_rows(min_row=2)
    ]
    assert [(c, a.value, a.number_format) for c, a in amounts] == [
        ("KWD", 1234.567, "#,##0.000"),
        ("USD", 8302.11, "#,##0.00"),
        ("USD", -9.78, "#,##0.00"),
        ("JPY", 1234567, "#,##0"),
    ]
    # the XML holds the exact decimal text (a float on the way would write 8302.110000000001 and -9.779999999999999)
    with zipfile.ZipFile(path) as archive:
        xml = archive.read("xl/worksheets/sheet2.xml").decode()
    assert "<v>8302.11</v>" in xml and "<v>-9.78</v>" in xml and "<v>1234.567</v>" in xml
    assert read_back_totals(path) == {"USD": Decimal("8292.33"), "JPY": Decimal(1234567), "KWD": Decimal("1234.567")}


def test_xlsx_refuses_amounts_a_spreadsheet_number_cannot_hold_to_the_cent(tmp_path):
    ledger = ledger_of([("U", "USD", "commission", 10**15)])
    pay = payouts(ledger, roster("U"), MONTH)
    with pytest.raises(
        ExportError,
        match=r"payouts_2025-03.xlsx: earnings of U is 10,000,000,000,000.00 USD, more "
        r"than the 15 significant digits .* \(attain payouts --format csv\)",
    ):
        write_payouts(pay, ledger, tmp_path, MONTH)
    assert not list(tmp_path.rglob("*.csv"))  # refused before anything is written
    assert len(write_payouts(pay, ledger, tmp_path, MONTH, ("csv",))) == 2


def test_a_carried_balance_shows_in_the_statement_and_the_export(tmp_path):
    months = months_of_negative_balance(
        tmp_path,
        roster("A"),
        [
            ("2025-03", [("D1", "50000")], []),
            ("2025-04", [("D2", "2000")], [("D1", "2025-03-05", "2025-04-10", "50000")]),
            ("2025-05", [("D3", "30000")], []),
        ],
    )
    (apr, apr_pay), (may, may_pay) = months[1], months[2]
    text = format_statement(apr, apr_pay, "A", "2025-04")
    assert "3. balance [carry_forward]" in text and "so nothing is paid and 4,800.00 USD becomes a balance" in text
    assert [line.split()[-2] for line in text.splitlines()[-3:]] == ["4,800.00", "0.00", "4,800.00"]
    assert text.splitlines()[-3].startswith("Carried forward / recovered")
    assert text.splitlines()[-1].startswith("Carried balance still to recover")
    text = format_statement(may, may_pay, "A", "2025-05")
    assert "2. balance [recovery] for 2025-04" in text
    assert "Recovery of the balance carried forward from 2025-04" in text
    files = write_payouts(may_pay, may, tmp_path / "out", "2025-05")
    row = pd.read_csv(files[0], dtype=str).iloc[0]
    assert (row["earnings"], row["carried"], row["payable"], row["carried_balance"]) == (
        "3000.00",
        "-3000.00",
        "0.00",
        "1800.00",
    )
    lines = pd.read_csv(files[1], dtype=str)
    assert lines[["kind", "for_month", "amount"]].values.tolist()[-1] == ["recovery", "2025-04", "-3000.00"]
    sheet = load_workbook(files[2])["Payouts"]
    header = [c.value for c in sheet[1]]
    assert dict(zip(header, (c.value for c in sheet[2]), strict=True))["carried_balance"] == 1800


def test_a_rerun_writes_byte_identical_exports(tmp_path, month, monkeypatch):
    ledger, pay, _ = month
    first = [f.read_bytes() for f in write_payouts(pay, ledger, tmp_path / "a", MONTH)]
    later = dt.datetime(2031, 5, 18, 3, 33, 20)  # saved "later": openpyxl and zip stamp the time of saving

    class _Later(dt.datetime):
        @classmethod
        def now(cls, tz=None):
            return later.replace(tzinfo=tz)

    monkeypatch.setattr("time.time", lambda: later.timestamp())
    monkeypatch.setattr(dt, "datetime", _Later)  # what openpyxl asks for the time of saving
    second = [f.read_bytes() for f in write_payouts(pay, ledger, tmp_path / "b", MONTH)]
    assert first == second


def test_xlsx_rates_are_exact_numbers_shown_as_percentages_and_csv_keeps_the_decimal(tmp_path):
    """Issue 13 item 5: a person reads the XLSX, so a rate is the number 0.025 shown as 2.5%; the CSV keeps 0.025."""
    ledger = ledger_of([("U", "USD", "commission", 2_500), ("U", "USD", "clawback", -100)])
    ledger.loc[0, "rate"] = "0.025"
    pay = payouts(ledger, roster("U"), MONTH)
    csv_path = write_payouts(pay, ledger, tmp_path, MONTH, ("csv",))[1]
    sheet = load_workbook(write_payouts(pay, ledger, tmp_path, MONTH, ("xlsx",))[0])["Ledger"]
    header = [c.value for c in sheet[1]]
    rates = [dict(zip(header, r, strict=True))["rate"] for r in sheet.iter_rows(min_row=2)]
    assert [(r.value, r.data_type, r.number_format) for r in rates[:1]] == [(0.025, "n", "0.0##%")]
    assert rates[1].value in (None, "")  # no rate: an empty cell
    assert pd.read_csv(csv_path, dtype=str, keep_default_na=False)["rate"].tolist() == ["0.025", ""]
