"""One row the reader cannot read is that row's problem, never the file's (issue 10, items 4 and 12).

A row with more fields than the header, a byte that is not UTF-8 in a file that is UTF-8 as a whole, and an
XLSX formula cell without a saved value each put that row alone in the quarantine with its reason; every
other row is read (as UTF-8, never as mojibake) and counted: rows read = accepted + quarantined + skipped.
Each test writes its own files into a copy of the documented example folder.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import openpyxl
import pytest

from attain.ingest.load import load_inputs
from attain.ingest.readers import read_table
from attain.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "docs" / "examples"
CRM = ROOT / "tests" / "fixtures" / "crm"
TODAY = dt.date(2025, 4, 30)
HEADER = "deal_id,owner_id,account,product,amount,currency,stage,created_date,close_date,cancelled_date,cancel_reason"
WIDE = "row {n} has 13 fields, the header has 11 (a value holding a comma must be in double quotes)"
NOT_UTF8 = (
    "row {n} has a byte (0xE9 in account, character 4) that is not UTF-8 (save the file as UTF-8, or declare "
    "its encoding: `--encoding deals=cp1252` or `encodings: {{deals: cp1252}}` in attain.yaml)"
)


def deal(i: int, account: str = "Acme") -> str:
    return f"D{i:05d},R01,{account},GTX Pro,100.00,CNY,won,2025-02-01,2025-03-10,,"


def folder_with_deals(tmp_path: Path, body: bytes, name: str = "deals.csv") -> Path:
    """The example folder with ``body`` as its deals file."""
    folder = tmp_path / "data"
    shutil.copytree(EXAMPLES, folder)
    (folder / "deals.csv").unlink()
    (folder / name).write_bytes(body)
    return folder


def ingest(folder: Path):
    return load_inputs(folder, "2025-03", Settings(), today=TODAY)


def quarantined(result, table: str = "deals") -> list[tuple]:
    q = result.quarantine[result.quarantine["table"] == table]
    return list(zip(q["source_row"], q["column"], q["value"], q["reason"], strict=True))


def assert_counted(result, rows_in: int, quarantined_rows: int) -> None:
    source = result.sources["deals"]
    assert source.rows_read == rows_in
    assert source.rows_quarantined == quarantined_rows
    assert source.rows_read == source.rows_accepted + source.rows_quarantined + source.rows_skipped


# ---------------------------------------------------------------- too many fields


def test_a_large_file_with_one_13_field_row_reads_every_other_row(tmp_path):
    lines = [deal(i) for i in range(20_000)]
    lines[8571] = lines[8571].replace("Acme", "Acme, Inc., Shanghai")  # row 8573: two unquoted commas
    folder = folder_with_deals(tmp_path, ("\n".join([HEADER, *lines]) + "\n").encode())
    result = ingest(folder)
    row = "D08571,R01,Acme, Inc., Shanghai,GTX Pro,100.00,CNY,won,2025-02-01,2025-03-10,,"
    assert quarantined(result) == [(8573, "", row, WIDE.format(n=8573))]
    assert_counted(result, 20_000, 1)
    assert len(result.deals) == 19_999
    assert "D08571" not in set(result.deals["deal_id"])  # the bad row itself is not read with shifted cells
    assert result.deals.set_index("deal_id").at["D08572", "source_row"] == 8574  # later rows keep their numbers
    record = json.loads(result.quarantine["record"][0])
    assert record["deal_id"] == "D08571" and record["(extra fields)"] == ["", ""]


def test_a_small_file_does_not_drop_the_extra_fields_silently(tmp_path):
    lines = [deal(i) for i in range(1, 6)]
    lines[1] = lines[1].replace("Acme", "Acme, Inc., Shanghai")
    folder = folder_with_deals(tmp_path, ("\n".join([HEADER, *lines]) + "\n").encode())
    result = ingest(folder)
    assert quarantined(result) == [(3, "", lines[1], WIDE.format(n=3))]
    assert_counted(result, 5, 1)
    assert list(result.deals.columns[:2]) == ["deal_id", "owner_id"]
    assert result.deals["account"].tolist() == ["Acme"] * 4


def test_the_first_data_row_with_too_many_fields_is_not_taken_for_an_index(tmp_path):
    lines = [deal(i) for i in range(1, 5)]
    lines[0] = lines[0].replace("Acme", "Acme, Inc., Shanghai")
    folder = folder_with_deals(tmp_path, ("\n".join([HEADER, *lines]) + "\n").encode("cp1252"))
    result = ingest(folder)
    assert quarantined(result) == [(2, "", lines[0], WIDE.format(n=2))]
    assert_counted(result, 4, 1)
    assert result.deals["deal_id"].tolist() == ["D00002", "D00003", "D00004"]


def test_a_legacy_encoded_file_read_by_pandas_quarantines_the_wide_row(tmp_path):
    """Not UTF-8, so pandas reads it (not Arrow): the same row, the same reason, the same counts."""
    lines = [deal(i, "Société Générale") for i in range(1, 3001)]
    lines[2000] = lines[2000].replace("Société Générale", "Société, Générale, Paris")
    folder = folder_with_deals(tmp_path, ("\n".join([HEADER, *lines]) + "\n").encode("cp1252"))
    result = ingest(folder)
    assert result.sources["deals"].encoding == "cp1252"
    assert quarantined(result) == [(2002, "", lines[2000], WIDE.format(n=2002))]
    assert_counted(result, 3000, 1)
    assert set(result.deals["account"]) == {"Société Générale"}


def test_a_crm_export_with_a_wide_row_quarantines_it_through_adapt(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    shutil.copy(CRM / "reps.csv", folder / "reps.csv")
    (folder / "fx_rates.csv").write_text("month,currency,rate\n2021-04,EUR,1.2\n", encoding="utf-8")
    (folder / "targets.csv").write_text(
        "scope,scope_id,month,metric,amount,effective_date,reason,author\n"
        "rep,R001,2021-05,revenue,10000.00,2021-03-15,initial,Sam Carter\n",
        encoding="utf-8",
    )
    lines = (CRM / "salesforce_report.csv").read_text(encoding="utf-8").splitlines()
    lines[2] = lines[2] + ',"stray","cells"'  # row 3: 12 fields under a 10-field header
    (folder / "deals.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = load_inputs(folder, "2021-05", Settings(), today=dt.date(2021, 6, 15))
    reason = "row 3 has 12 fields, the header has 10 (a value holding a comma must be in double quotes)"
    assert [q for q in quarantined(result) if q[0] == 3] == [(3, "", lines[2].replace('"', ""), reason)]
    assert "0065g00000AbCdF" not in set(result.deals["deal_id"])
    source = result.sources["deals"]
    assert source.rows_read == len(lines) - 1
    assert source.rows_read == source.rows_accepted + source.rows_quarantined + source.rows_skipped


# ---------------------------------------------------------------- bytes that are not UTF-8


def test_one_cp1252_byte_in_a_utf8_file_quarantines_that_row_and_reads_the_rest_as_utf8(tmp_path):
    lines = [deal(i, "Zoë Müller GmbH").encode() for i in range(1, 31)]
    lines[10] = deal(11, "Caf\x00").encode().replace(b"\x00", b"\xe9")  # row 12: "Café" saved as cp1252
    folder = folder_with_deals(tmp_path, b"\n".join([HEADER.encode(), *lines]) + b"\n")
    result = ingest(folder)
    assert quarantined(result) == [(12, "account", "Caf\\xe9", NOT_UTF8.format(n=12))]
    assert_counted(result, 30, 1)
    assert result.sources["deals"].encoding == "utf-8"
    assert set(result.deals["account"]) == {"Zoë Müller GmbH"}  # not "ZoÃ« MÃ¼ller GmbH"


def test_a_file_that_is_cp1252_throughout_is_still_read_as_cp1252(tmp_path):
    lines = [deal(i, "Café Müller") for i in range(1, 21)]
    folder = folder_with_deals(tmp_path, ("\n".join([HEADER, *lines]) + "\n").encode("cp1252"))
    result = ingest(folder)
    assert result.sources["deals"].encoding == "cp1252"
    assert quarantined(result) == []
    assert_counted(result, 20, 0)
    assert set(result.deals["account"]) == {"Café Müller"}


def test_a_byte_cp1252_leaves_undefined_is_read_as_latin1(tmp_path):
    lines = [deal(i, "Café Müller").encode("latin-1") for i in range(1, 11)]
    lines[3] = deal(4, "Caf\x00 \x00").encode("latin-1").replace(b"\x00", b"\xe9", 1).replace(b"\x00", b"\x81")
    folder = folder_with_deals(tmp_path, b"\n".join([HEADER.encode(), *lines]) + b"\n")
    result = ingest(folder)
    assert result.sources["deals"].encoding == "latin-1"
    assert_counted(result, 10, 0)
    # 0x81 is the C1 control character U+0081 in Latin-1: display text is cleaned of it (with a warning)
    assert result.deals.set_index("deal_id").at["D00004", "account"] == "Café"
    assert set(result.deals["account"]) - {"Café"} == {"Café Müller"}
    assert "text cleaned" in result.sources["deals"].details


def test_a_header_line_that_is_not_utf8_stops_with_what_to_do(tmp_path):
    body = "deal_id,acc\x00unt\nD1,Zoë\nD2,Zoë\n".encode().replace(b"\x00", b"\xf6")
    (tmp_path / "deals.csv").write_bytes(body)
    with pytest.raises(Exception) as err:
        read_table(tmp_path / "deals.csv")
    assert str(err.value) == (
        "deals.csv: its header line has a byte that is not UTF-8 (in acc\\xf6unt); "
        "save the file as UTF-8 (in Excel: 'CSV UTF-8')"
    )


# ---------------------------------------------------------------- XLSX formulas


def test_an_xlsx_formula_without_a_saved_value_is_reported_as_such_not_as_blank(tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADER.split(","))
    for i in range(1, 5):
        sheet.append(deal(i).split(","))
    sheet["E3"] = "=100*2"  # written by a program: no value is saved until Excel computes it
    folder = tmp_path / "data"
    shutil.copytree(EXAMPLES, folder)
    (folder / "deals.csv").unlink()
    book.save(folder / "deals.xlsx")
    result = ingest(folder)
    reason = (
        "row 3, amount: a formula without a saved value (=100*2); open the file in Excel and save it, "
        "so the value is stored"
    )
    assert quarantined(result) == [(3, "amount", "=100*2", reason)]
    assert_counted(result, 4, 1)
