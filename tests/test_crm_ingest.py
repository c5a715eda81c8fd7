"""CRM exports dropped in a data folder come through ingest and ``attain validate`` end to end.

Each test puts one vendor export (tests/fixtures/crm/, written in the vendor's
own layout) in a data folder as ``deals.csv`` / ``deals.xlsx`` next to the
roster, targets and FX rates, and runs ``load_inputs`` and ``validate_path``
as the month-end and ``attain validate`` do. Expected deals are worked out by
hand from the fixture files.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from attain.ingest.load import load_inputs
from attain.ingest.profiles import UnknownExportError
from attain.ingest.raw import InputFileError
from attain.ingest.report import validate_path
from attain.settings import Settings

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "crm"
MONTH = "2021-05"
TODAY = dt.date(2021, 6, 15)


def data_dir(tmp_path: Path, export: str | None, name: str = "deals.csv") -> Path:
    """A data folder: the fixture roster, one target, CNY/EUR rates for March-May 2021, and the export."""
    folder = tmp_path / "data"
    folder.mkdir(parents=True)
    shutil.copy(FIXTURES / "reps.csv", folder / "reps.csv")
    (folder / "targets.csv").write_text(
        "scope,scope_id,month,metric,amount,effective_date,reason,author\n"
        "rep,R001,2021-05,revenue,10000.00,2021-03-15,initial,Sam Carter\n",
        encoding="utf-8",
    )
    (folder / "fx_rates.csv").write_text(
        "month,currency,rate\n" + "".join(f"2021-0{m},CNY,0.1530\n2021-0{m},EUR,1.2000\n" for m in (3, 4, 5)),
        encoding="utf-8",
    )
    if export is not None:
        shutil.copy(FIXTURES / export, folder / name)
    return folder


def ingest(folder: Path, **kwargs):
    return load_inputs(folder, MONTH, Settings(), today=TODAY, **kwargs)


def deals(result) -> list[tuple]:
    columns = ["deal_id", "owner_id", "amount_minor", "currency", "stage", "close_date", "source_row"]
    frame = result.deals[columns].assign(close_date=result.deals["close_date"].dt.strftime("%Y-%m-%d"))
    return [tuple(row) for row in frame.itertuples(index=False)]


def report_lines(report) -> list[str]:
    return [line.strip() for line in report.text().splitlines()]


def test_salesforce_report_won_deals_amounts_owners_and_the_unmatched_owner(tmp_path):
    result = ingest(data_dir(tmp_path, "salesforce_report.csv"))
    assert deals(result) == [
        ("0065g00000AbCdEAAV", "R001", 2_270_000, "USD", "won", "2021-04-15", 2),
        ("0065g00000AbCdFAAV", "R002", 120_050, "USD", "lost", "2021-04-20", 3),
        ("0065g00000AbCdGAAV", "R001", 999_999, "USD", "open", "2021-05-03", 4),
        ("0065g00000AbCdIAAV", "R002", 31_000, "USD", "won", "2021-04-30", 6),
    ]
    q = result.quarantine
    assert len(q) == 1
    row = q.iloc[0]
    assert (row["month"], row["table"], row["source_file"], row["source_row"]) == (MONTH, "deals", "deals.csv", 5)
    assert (row["column"], row["value"]) == ("Opportunity Owner", "Ghost Rider")
    assert "owner 'Ghost Rider' matches no rep" in row["reason"]
    assert json.loads(row["record"])["Opportunity Owner"] == "Ghost Rider"
    source = result.sources["deals"]
    assert (source.profile, source.rows_read, source.rows_accepted, source.rows_quarantined) == (
        "salesforce-report",
        5,
        4,
        1,
    )


def test_fxiaoke_gb18030_with_chinese_owners(tmp_path):
    folder = data_dir(tmp_path, "fxiaoke_gbk.csv")
    result = ingest(folder)
    assert [d[1:6] for d in deals(result)] == [
        ("R003", 123_450, "CNY", "won", "2021-04-15"),
        ("R004", 8_800_000, "CNY", "lost", "2021-04-20"),
        ("R003", 500_000, "CNY", "open", "2021-05-03"),
    ]
    assert result.deals["account"].tolist() == ["上海远景科技有限公司", "苏州精工有限公司", "杭州云图网络"]
    # A declared encoding is used as declared: '¥' is four bytes in GB18030 and not GBK at all.
    with pytest.raises(InputFileError, match=r"deals.csv: is not valid gbk \(byte 114"):
        ingest(folder, encodings={"deals": "gbk"})
    assert deals(ingest(folder, encodings={"deals": "GB18030"})) == deals(result)
    assert result.quarantine[["source_row", "column", "value"]].values.tolist() == [[5, "负责人", "赵六"]]
    assert "'赵六'" in result.quarantine["reason"].iloc[0]

    lines = report_lines(validate_path(folder / "deals.csv", month=MONTH, today=TODAY))
    assert "deals.csv (deals): 4 rows read, 3 accepted, 1 quarantined, 0 outside the month or repeated" in lines
    assert "layout: CRM export, profile fxiaoke (纷享销客 Fxiaoke 商机 export), detected from the header row" in lines
    assert "file: encoding gb18030, delimiter comma" in lines
    assert "owners: column '负责人': 3 by name, 1 unmatched (quarantined with the owner's name)" in lines
    assert (
        "deals.csv row 5, 负责人: owner '赵六' matches no rep of the roster by rep_id, e-mail or name; "
        "map it in the owners: section of a mapping file or in owner_aliases.csv (columns owner, rep_id) "
        "next to the deals file" in lines
    )


def test_semicolon_decimal_comma_export_with_a_mapping_file(tmp_path):
    folder = data_dir(tmp_path, "pipedrive_de.csv")
    with pytest.raises(UnknownExportError, match="neither in the deals contract layout nor a known CRM export"):
        ingest(folder)
    result = ingest(folder, mapping_file=FIXTURES / "pipedrive_de.yaml")
    assert deals(result) == [
        ("PD-101", "R005", 2_270_000, "EUR", "won", "2021-04-15", 2),
        ("PD-102", "R005", 120_050, "EUR", "lost", "2021-04-20", 3),
        ("PD-103", "M003", 99_999, "EUR", "open", "2021-05-03", 4),
    ]
    # "(50,00)" is -50.00: the contract's rule on negative amounts quarantines it, naming the export's column.
    assert result.quarantine[["source_row", "column", "value"]].values.tolist() == [[5, "Wert", "-50.00"]]

    lines = report_lines(validate_path(folder, month=MONTH, today=TODAY, mapping_file=FIXTURES / "pipedrive_de.yaml"))
    assert (
        "layout: CRM export, profile pipedrive_de (Pipedrive (German export)), "
        "described by the mapping file pipedrive_de.yaml"
    ) in lines
    assert "file: encoding utf-8, delimiter semicolon" in lines
    assert "date order: 'Abschlussdatum' DMY (declared); 'Erstellt' DMY (declared)" in lines
    assert "numbers: decimal comma (declared) in 'Wert'; currency column 'Währung'" in lines
    assert "owners: column 'Besitzer': 3 by e-mail, 1 by owner map" in lines


def test_zoho_utf8_bom_decimal_comma_found_in_the_amounts(tmp_path):
    folder = data_dir(tmp_path, "zoho_deals_bom.csv")
    assert deals(ingest(folder)) == [
        ("zcrm_4150868000001", "R005", 2_270_000, "EUR", "won", "2021-04-15", 2),
        ("zcrm_4150868000002", "R005", 120_050, "EUR", "lost", "2021-04-20", 3),
        ("zcrm_4150868000003", "M003", 99_900, "EUR", "open", "2021-05-03", 4),
    ]
    # Declared the other way, the declaration wins: '€22.700' is 22.70 EUR and '€1.200,50' cannot be read.
    declared = ingest(folder, decimal_comma=False)
    assert declared.deals["amount_minor"].tolist() == [2_270, 99_900]
    assert declared.quarantine[["source_row", "column", "value"]].values.tolist() == [[3, "Amount", "€1.200,50"]]
    lines = report_lines(validate_path(folder / "deals.csv", month=MONTH, today=TODAY))
    assert "file: encoding utf-8-sig, delimiter comma" in lines
    assert (
        "date order: 'Closing Date' DMY (from '15/04/2021' (row 2)); "
        "'Created Time' DMY (from column 'Closing Date': '15/04/2021' (row 2))"
    ) in lines
    assert "numbers: decimal comma (from the amounts) in 'Amount'; currency column 'Currency'" in lines


def test_ambiguous_dates_stop_with_the_column_and_a_declared_order_reads_them(tmp_path):
    folder = data_dir(tmp_path, "zoho_ambiguous_dates.csv")
    with pytest.raises(InputFileError) as error:
        ingest(folder)
    assert str(error.value).startswith("deals.csv: column 'Closing Date'") and "--date-order" in str(error.value)
    with pytest.raises(InputFileError, match=r"^zoho_ambiguous_dates\.csv: column 'Closing Date'"):
        shutil.copy(FIXTURES / "zoho_ambiguous_dates.csv", folder / "zoho_ambiguous_dates.csv")
        validate_path(folder / "zoho_ambiguous_dates.csv", month=MONTH, today=TODAY)
    assert [d[5] for d in deals(ingest(folder, date_order="DMY"))] == ["2021-05-04", "2021-04-06"]
    # Month first, deal 2 closes on 4 June: after May, so in May's snapshot it is still open.
    month_first = ingest(folder, date_order="mdy").deals
    assert month_first["stage"].tolist() == ["won", "open"]
    assert month_first["close_date"].dt.strftime("%Y-%m-%d").fillna("").tolist() == ["2021-04-05", ""]
    with pytest.raises(InputFileError, match="date order 'YMD' is not one of DMY, MDY"):
        ingest(folder, date_order="YMD")


def test_a_near_contract_file_that_is_an_export_reports_the_export_problem(tmp_path):
    """Only 'fits no profile' falls back to the contract's rename message; other export errors surface."""
    folder = data_dir(tmp_path, None)
    header = "deal_id,Opportunity Owner,account,product,amount,currency,stage,created_date,Close Date\n"
    (folder / "deals.csv").write_text(
        header + "D1,Jane Doe,Globex,GTX,100.00,USD,Closed Won,2021-03-01,04/05/2021\n", encoding="utf-8"
    )
    with pytest.raises(InputFileError) as error:
        ingest(folder)
    assert "column 'Close Date'" in error.value.message and "missing column" not in error.value.message
    (deal,) = deals(ingest(folder, date_order="MDY"))
    assert deal[1:] == ("R001", 10_000, "USD", "won", "2021-04-05", 2) and deal[0].startswith("crm-")

    (folder / "deals.csv").write_text(
        header.replace("Opportunity Owner", "owner") + "D1,R001,G,X,1,USD,won,,\n", encoding="utf-8"
    )
    with pytest.raises(
        InputFileError,
        match="missing columns owner_id, close_date: rename column 'owner' to "
        "'owner_id'; rename column 'Close Date' to 'close_date'",
    ):
        ingest(folder)


def test_formatted_xlsx_report_behind_an_empty_first_sheet(tmp_path):
    folder = data_dir(tmp_path, None)
    book = openpyxl.Workbook()
    book.active.title = "Sheet1"  # left empty, as some exports do
    sheet = book.create_sheet("Opportunities")
    sheet.append(["Opportunities by owner"])
    sheet.append(["Filtered By: Close Date = Q2-2021"])
    sheet.append([])
    sheet.append(["Opportunity Owner", "Account Name", "Stage", "Amount", "Close Date", "Opportunity ID"])
    sheet.append(
        [
            "Jane Doe",
            "Globex",
            "Closed Won",
            22700.5,
            dt.datetime(2021, 4, 15),
            "0065g00000AbCdE",
            None,
            "a note beyond the header",
        ]
    )
    sheet.append(["Raj Patel", "Initech", "Closed Lost", 1200, dt.date(2021, 4, 20), "0065g00000AbCdF"])
    sheet.append(["Ghost Rider", "Hooli", "Closed Won", 5000, dt.date(2021, 4, 21), "0065g00000AbCdH"])
    book.save(folder / "deals.xlsx")
    mapping = tmp_path / "sf.yaml"
    mapping.write_text("default_currency: USD\n", encoding="utf-8")
    result = ingest(folder, mapping_file=mapping)
    assert deals(result) == [
        ("0065g00000AbCdEAAV", "R001", 2_270_050, "USD", "won", "2021-04-15", 5),
        ("0065g00000AbCdFAAV", "R002", 120_000, "USD", "lost", "2021-04-20", 6),
    ]
    assert result.quarantine[["source_file", "source_row", "value"]].values.tolist() == [
        ["deals.xlsx", 7, "Ghost Rider"]
    ]
    lines = report_lines(validate_path(folder / "deals.xlsx", month=MONTH, today=TODAY, mapping_file=mapping))
    assert "file: Excel workbook, sheet 'Opportunities' (the sheet before it, 'Sheet1', empty)" in lines
    assert (
        "layout: CRM export, profile salesforce-report (Salesforce report export), "
        "detected from the header row, with the mapping file sf.yaml"
    ) in lines
    lines = report_lines(
        validate_path(
            folder / "deals.xlsx", month=MONTH, today=TODAY, mapping_file=mapping, profile="salesforce-report"
        )
    )
    assert (
        "layout: CRM export, profile salesforce-report (Salesforce report export), "
        "chosen with --profile, with the mapping file sf.yaml"
    ) in lines


def test_csv_report_with_title_lines_above_the_header(tmp_path):
    folder = data_dir(tmp_path, None)
    text = (FIXTURES / "salesforce_report.csv").read_text(encoding="utf-8")
    (folder / "deals.csv").write_text("Opportunities by owner\nFiltered By: Q2-2021\n\n" + text, encoding="utf-8")
    result = ingest(folder)
    assert [(d[0], d[1], d[2], d[6]) for d in deals(result)] == [
        ("0065g00000AbCdEAAV", "R001", 2_270_000, 5),
        ("0065g00000AbCdFAAV", "R002", 120_050, 6),
        ("0065g00000AbCdGAAV", "R001", 999_999, 7),
        ("0065g00000AbCdIAAV", "R002", 31_000, 9),
    ]
    assert result.quarantine["source_row"].tolist() == [8]


def test_a_lone_export_without_a_roster_keeps_owners_as_written_and_says_so(tmp_path):
    folder = tmp_path / "downloads"
    folder.mkdir()
    shutil.copy(FIXTURES / "hubspot.csv", folder / "hubspot-deals-2021-05.csv")
    report = validate_path(folder / "hubspot-deals-2021-05.csv", month=MONTH, today=TODAY)
    lines = report_lines(report)
    assert report.ok
    assert (
        "no roster: there is no reps.csv, reps.xlsx or reps.parquet in downloads, so owners were not matched "
        "to reps; put the roster next to the file to check them"
    ) in lines
    assert "owners: not matched: there is no roster (reps file)" in lines
    assert (
        "hubspot-deals-2021-05.csv (deals): 4 rows read, 4 accepted, 0 quarantined, "
        "0 outside the month or repeated" in lines
    )

    shutil.copy(FIXTURES / "reps.csv", folder / "reps.csv")
    (folder / "owner_aliases.csv").write_text("owner,rep_id\nraj.patel@acme.example,R001\n", encoding="utf-8")
    lines = report_lines(validate_path(folder / "hubspot-deals-2021-05.csv", month=MONTH, today=TODAY))
    assert "context from the same folder: reps.csv (the roster)" in lines
    assert "owners: column 'Deal owner': 3 by name, 1 by owner map; owner map owner_aliases.csv" in lines


def test_contract_and_export_give_the_same_deals(tmp_path):
    """The Salesforce report and the same deals written in the contract layout ingest identically."""
    export = ingest(data_dir(tmp_path / "a", "salesforce_report.csv")).deals
    folder = data_dir(tmp_path / "b", None)
    contract = export.drop(columns=["amount_minor", "source_file", "source_row"]).assign(
        amount=[f"{v // 100}.{v % 100:02d}" for v in export["amount_minor"]]
    )
    for column in ("created_date", "close_date", "cancelled_date"):
        contract[column] = contract[column].dt.strftime("%Y-%m-%d").fillna("")
    contract.to_csv(folder / "deals.csv", index=False)
    again = ingest(folder).deals
    pd.testing.assert_frame_equal(
        again.drop(columns=["source_row", "source_file"]), export.drop(columns=["source_row", "source_file"])
    )
