"""Reading input files: encodings, delimiters, spreadsheet and Parquet cells, file-level errors."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from attain.ingest.raw import InputFileError
from attain.ingest.readers import find_input, read_table

BAD_FILES = Path(__file__).resolve().parent / "fixtures" / "bad" / "files"
HEADER = "rep_id,name,team\n"


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def test_utf8_with_bom_is_detected_and_the_bom_is_not_part_of_the_header(tmp_path):
    table = read_table(write(tmp_path / "reps.csv", "\ufeff" + HEADER + "R1,Zoë Müller,East\n"))
    assert table.encoding == "utf-8-sig"
    assert list(table.df.columns) == ["rep_id", "name", "team"]
    assert table.df.iloc[0].tolist() == ["R1", "Zoë Müller", "East"]


def test_gb18030_file_from_chinese_excel_is_decoded(tmp_path):
    text = HEADER + "R1,张伟,华东销售部\nR2,李娜,华北\n"
    table = read_table(write(tmp_path / "reps.csv", text, "gb18030"))
    assert table.encoding == "gb18030"
    assert table.df["name"].tolist() == ["张伟", "李娜"]
    assert table.df["team"].tolist() == ["华东销售部", "华北"]


def test_gb18030_that_also_decodes_as_cp1252_is_still_read_as_chinese(tmp_path):
    # every byte of "李伟" in GB18030 is also a cp1252 letter ("ÀîÎ°")
    table = read_table(write(tmp_path / "reps.csv", HEADER + "R1,李伟,East\nR2,Ann Lee,West\n", "gb18030"))
    assert table.encoding == "gb18030" and table.df["name"].tolist() == ["李伟", "Ann Lee"]


def test_cp1252_file_is_decoded(tmp_path):
    # "Müller" and "Zürich" are also valid GB18030 byte pairs
    table = read_table(write(tmp_path / "reps.csv", HEADER + "R1,Renée Müller,Zürich\n", "cp1252"))
    assert table.encoding == "cp1252"
    assert table.df.iloc[0].tolist() == ["R1", "Renée Müller", "Zürich"]


def test_declared_encoding_is_used_and_checked(tmp_path):
    path = write(tmp_path / "reps.csv", HEADER + "R1,张伟,East\n", "gb18030")
    assert read_table(path, encoding="gb18030").df["name"].tolist() == ["张伟"]
    with pytest.raises(InputFileError, match=r"reps\.csv: is not valid utf-8"):
        read_table(path, encoding="utf-8")


@pytest.mark.parametrize("sep", [";", "\t", ","])
def test_delimiter_is_detected_from_the_header(tmp_path, sep):
    path = write(
        tmp_path / "deals.csv",
        sep.join(["deal_id", "amount", "account"])
        + "\r\n"
        + sep.join(["D1", "1234,50" if sep == ";" else "1234.50", "Acme"])
        + "\r\n",
    )
    table = read_table(path)
    assert table.delimiter == sep
    assert table.df.columns.tolist() == ["deal_id", "amount", "account"]
    assert table.df.iloc[0, 2] == "Acme"


def test_quoted_fields_keep_commas_newlines_and_leading_zeros(tmp_path):
    path = write(tmp_path / "deals.csv", 'deal_id,account,amount\n"007","Acme, Inc.","1.50"\n008,"two\nlines",NA\n')
    df = read_table(path).df
    assert df["deal_id"].tolist() == ["007", "008"]
    assert df["account"].tolist() == ["Acme, Inc.", "two\nlines"]
    assert df["amount"].tolist() == ["1.50", "NA"]  # never turned into NaN


def test_cells_are_trimmed_and_missing_trailing_fields_are_blank(tmp_path):
    df = read_table(write(tmp_path / "reps.csv", " rep_id , name ,team\nR1 ,  Ann,\nR2,Bo\n")).df
    assert df.columns.tolist() == ["rep_id", "name", "team"]
    assert df.values.tolist() == [["R1", "Ann", ""], ["R2", "Bo", ""]]


def test_row_numbers_count_blank_lines_so_they_match_the_file(tmp_path):
    table = read_table(write(tmp_path / "reps.csv", HEADER + "R1,A,T\n\nR3,C,T\n,,\n"))
    assert table.df["rep_id"].tolist() == ["R1", "R3"]
    assert [table.row_number(i) for i in table.df.index] == [2, 4]


def test_xlsx_dates_and_numbers_become_iso_and_plain_decimal_text(tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Deals"
    sheet.append(["deal_id", "amount", "close_date"])
    sheet.append(["D1", 1234.5, dt.datetime(2025, 3, 1)])
    sheet.append([1002, 100, dt.date(2025, 3, 2)])
    sheet.append([None, None, None])
    sheet.append(["D4", 0.00001, None])
    notes = book.create_sheet("Notes")
    notes.append(["note"])
    notes.append(["not read unless named"])
    book.save(tmp_path / "deals.xlsx")
    table = read_table(tmp_path / "deals.xlsx")
    assert table.sheet == "Deals" and table.encoding is None and table.delimiter is None
    assert table.df.values.tolist() == [
        ["D1", "1234.5", "2025-03-01"],
        ["1002", "100", "2025-03-02"],
        ["D4", "0.00001", ""],
    ]
    assert [table.row_number(i) for i in table.df.index] == [2, 3, 5]
    assert read_table(tmp_path / "deals.xlsx", sheet="Notes").df["note"].tolist() == ["not read unless named"]
    with pytest.raises(InputFileError, match="no sheet named 'Data'; its sheets are: Deals, Notes"):
        read_table(tmp_path / "deals.xlsx", sheet="Data")


def test_xlsx_title_rows_and_rows_wider_than_the_header_keep_every_cell(tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet["A2"] = "Opportunities by owner"  # row 1 blank, row 2 a title, then the header
    sheet.append(["Opportunity Owner", "Amount"])
    sheet.append(["Jane Doe", 22700.5, "0065g00000AbCdE", None, "note"])
    book.save(tmp_path / "report.xlsx")
    table = read_table(tmp_path / "report.xlsx")
    assert list(table.df.columns) == ["Opportunities by owner", "Unnamed: 1", "Unnamed: 2", "Unnamed: 3", "Unnamed: 4"]
    assert table.df.values.tolist() == [
        ["Opportunity Owner", "Amount", "", "", ""],
        ["Jane Doe", "22700.5", "0065g00000AbCdE", "", "note"],
    ]
    assert [table.row_number(i) for i in table.df.index] == [3, 4]  # the sheet's own row numbers


def test_an_empty_first_sheet_falls_through_to_the_first_sheet_with_cells(tmp_path):
    book = openpyxl.Workbook()
    book.active.title = "Cover"
    book.create_sheet("Blank")
    book.create_sheet("Deals").append(["deal_id"])
    book["Deals"].append(["D1"])
    book.save(tmp_path / "deals.xlsx")
    table = read_table(tmp_path / "deals.xlsx")
    assert (table.sheet, table.skipped_sheets, table.df["deal_id"].tolist()) == ("Deals", ("Cover", "Blank"), ["D1"])
    with pytest.raises(InputFileError, match="sheet 'Blank' is empty"):
        read_table(tmp_path / "deals.xlsx", sheet="Blank")
    del book["Deals"]
    book.save(tmp_path / "empty.xlsx")
    with pytest.raises(InputFileError, match=r"every sheet \(Cover, Blank\) is empty"):
        read_table(tmp_path / "empty.xlsx")


@pytest.mark.parametrize("title", ["Opportunities by owner\n\nFiltered By: Q2\n", '"Deals, all owners"\n'])
def test_csv_title_lines_above_a_wider_header_are_kept_as_rows(tmp_path, title):
    text = title + 'Owner;Amount;Close\nJane;"1.000,50";15.04.2021\nRaj;5\n'
    table = read_table(write(tmp_path / "deals.csv", text))
    assert table.delimiter == ";"
    assert table.df.columns[1:].tolist() == ["Unnamed: 1", "Unnamed: 2"]
    header = table.df.index[table.df.iloc[:, 0] == "Owner"][0]
    assert table.df.loc[header:].values.tolist() == [
        ["Owner", "Amount", "Close"],
        ["Jane", "1.000,50", "15.04.2021"],
        ["Raj", "5", ""],
    ]
    assert table.row_number(header) == title.count("\n") + 1


def test_parquet_columns_are_cast_to_text(tmp_path):
    pd.DataFrame(
        {
            "deal_id": ["D1", None],
            "amount": [1234.5, None],
            "units": [3, 4],
            "close_date": pd.to_datetime(["2025-03-01", None]),
        }
    ).to_parquet(tmp_path / "deals.parquet")
    df = read_table(tmp_path / "deals.parquet").df
    assert df.values.tolist() == [["D1", "1234.5", "3", "2025-03-01"], ["", "", "4", ""]]


def test_find_input_prefers_parquet_then_csv_then_xlsx(tmp_path):
    assert find_input(tmp_path, "deals") is None
    (tmp_path / "deals.xlsx").write_bytes(b"")
    assert find_input(tmp_path, "deals").name == "deals.xlsx"
    (tmp_path / "deals.csv").write_text("x")
    assert find_input(tmp_path, "deals").name == "deals.csv"
    (tmp_path / "deals.parquet").write_bytes(b"")
    assert find_input(tmp_path, "deals").name == "deals.parquet"


def test_missing_file(tmp_path):
    with pytest.raises(InputFileError, match=r"deals\.csv: file not found"):
        read_table(tmp_path / "deals.csv")


def test_empty_file_says_there_is_no_header():
    with pytest.raises(InputFileError) as err:
        read_table(BAD_FILES / "empty.csv")
    assert str(err.value) == "empty.csv: is empty: it has no header line and no rows"


def test_header_only_file_says_there_are_no_rows():
    with pytest.raises(InputFileError, match=r"header_only\.csv: has a header line but no data rows"):
        read_table(BAD_FILES / "header_only.csv")


def test_bytes_cp1252_leaves_undefined_are_read_as_latin1():
    """0x81 decodes in neither UTF-8, GB18030 (a lead byte before a space) nor cp1252: Latin-1 reads it."""
    table = read_table(BAD_FILES / "undecodable.csv")
    assert table.encoding == "latin-1"
    assert table.df.columns[:2].tolist() == ["rep_id", "name"]


def test_damaged_xlsx_is_a_file_error(tmp_path):
    (tmp_path / "deals.xlsx").write_bytes(b"not a zip")
    with pytest.raises(InputFileError, match=r"deals\.xlsx: is not a readable Excel workbook"):
        read_table(tmp_path / "deals.xlsx")


def test_utf16_tab_separated_text_from_excel_is_read(tmp_path):
    (tmp_path / "deals.csv").write_bytes("owner\tamount\n 张伟 \t1234.50\nJosé\t7\n".encode("utf-16"))
    table = read_table(tmp_path / "deals.csv")
    assert (table.encoding, table.delimiter) == ("utf-16", "\t")
    assert table.df.to_dict("list") == {"owner": ["张伟", "José"], "amount": ["1234.50", "7"]}


def test_arrow_and_pandas_csv_paths_read_the_same_cells(tmp_path):
    """The fast Arrow path must read a UTF-8 file exactly as the pandas path does (then trimmed)."""
    from attain.ingest.readers import _arrow_csv, _pandas_csv

    text = (
        "deal_id,account,amount,note\n"
        'D1,"Acme, Inc.",1200.50,"two\nlines"\n'
        "\n"
        "D2,  Padded  ,7,\n"
        'D3,"Quote ""x""",0,last\n'
    )
    path = tmp_path / "deals.csv"
    path.write_text(text, encoding="utf-8")
    arrow, wide = _arrow_csv(path, "utf-8", ",", text.splitlines()[0])
    pandas, skipped = _pandas_csv(path, "utf-8", ",", None)
    pandas = pandas.apply(lambda column: column.str.strip())
    assert wide == [] and skipped == {}
    pd.testing.assert_frame_equal(arrow.reset_index(drop=True), pandas.reset_index(drop=True), check_dtype=False)
    assert arrow.loc[0, "account"] == "Acme, Inc." and arrow.loc[0, "note"] == "two\nlines"
    assert arrow.loc[2, "account"] == "Padded" and arrow.loc[3, "account"] == 'Quote "x"'
