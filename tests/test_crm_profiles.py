"""CRM exports in each vendor's own layout come through with won deals, amounts and owners exact."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from attain.ingest.contract import QUARANTINE_COLUMNS
from attain.ingest.crm import adapt
from attain.ingest.profiles import CONTRACT_COLUMNS, UnknownExportError, builtin_profiles, owner_key, salesforce_id18
from attain.ingest.raw import InputFileError, RawTable
from attain.ingest.readers import read_table

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "crm"


@pytest.fixture(scope="module")
def reps() -> pd.DataFrame:
    return read_table(FIXTURES / "reps.csv").df


def load(name: str, reps: pd.DataFrame, **kwargs):
    return adapt(read_table(FIXTURES / name), reps, **kwargs)


def deals(adapted, columns=("deal_id", "owner_id", "amount", "currency", "stage", "close_date")):
    return [tuple(row) for row in adapted.df[list(columns)].itertuples(index=False)]


def test_salesforce_report_with_padded_header_crlf_and_dollar_amounts(reps):
    adapted = load("salesforce_report.csv", reps)
    assert adapted.profile == "salesforce-report"
    assert list(adapted.df.columns) == [*CONTRACT_COLUMNS, "source_row"]
    assert deals(adapted) == [
        ("0065g00000AbCdEAAV", "R001", "22700.00", "USD", "won", "2021-04-15"),
        ("0065g00000AbCdFAAV", "R002", "1200.50", "USD", "lost", "2021-04-20"),
        ("0065g00000AbCdGAAV", "R001", "9999.99", "USD", "open", "2021-05-03"),
        ("0065g00000AbCdIAAV", "R002", "310.00", "USD", "won", "2021-04-30"),
    ]
    assert list(adapted.df["source_row"]) == [2, 3, 4, 6]
    assert list(adapted.df["created_date"]) == ["2021-03-01", "2021-02-11", "2021-04-02", "2021-04-29"]
    assert adapted.notes["date_order"]["Close Date"].startswith("MDY")
    assert (adapted.notes["rows_read"], adapted.notes["rows_accepted"], adapted.notes["rows_quarantined"]) == (5, 4, 1)


def test_unmatched_owner_is_quarantined_with_the_owner_and_how_to_map_it(reps):
    quarantine = load("salesforce_report.csv", reps).quarantine
    assert list(quarantine.columns) == list(QUARANTINE_COLUMNS)
    assert len(quarantine) == 1
    row = quarantine.iloc[0]
    assert (row["table"], row["source_file"], row["source_row"]) == ("deals", "salesforce_report.csv", 5)
    assert (row["column"], row["value"]) == ("Opportunity Owner", "Ghost Rider")
    assert "'Ghost Rider'" in row["reason"] and "owners:" in row["reason"] and "owner_aliases.csv" in row["reason"]
    assert json.loads(row["record"])["Opportunity Name"] == "Hooli deal"


def test_salesforce_api_layout_flags_decide_the_stage_and_ids_map_in_either_length(reps, tmp_path):
    mapping = tmp_path / "sf.yaml"
    mapping.write_text("owners:\n  0055g00000AbcDe: R001\n  0055g00000AbcDfAAJ: R002\n", encoding="utf-8")
    adapted = load("salesforce_api.csv", reps, mapping_file=mapping)
    assert adapted.profile == "salesforce-api"
    assert deals(adapted) == [
        ("0065g00000XyZaBAAV", "R001", "22700.0", "USD", "won", "2021-04-15"),
        ("0065g00000XyZaCAAV", "R002", "1200.5", "EUR", "lost", "2021-04-20"),
        ("0065g00000XyZaDAAV", "R001", "", "USD", "open", "2021-05-03"),
        ("0065g00000XyZaEAAV", "R002", "4000", "USD", "won", "2021-04-28"),
    ]
    assert list(adapted.df["created_date"]) == ["2021-03-01", "2021-02-11", "2021-04-02", "2021-04-01"]
    assert adapted.notes["owners_matched_by"] == {"owner map": 4}


def test_owner_aliases_file_next_to_the_export_is_used(reps, tmp_path):
    shutil.copy(FIXTURES / "salesforce_api.csv", tmp_path / "deals.csv")
    (tmp_path / "owner_aliases.csv").write_text(
        "owner,rep_id\n0055g00000AbcDeAAJ,R001\n0055g00000AbcDf,R002\n", encoding="utf-8"
    )
    adapted = adapt(read_table(tmp_path / "deals.csv"), reps)
    assert list(adapted.df["owner_id"]) == ["R001", "R002", "R001", "R002"]
    assert adapted.notes["owner_aliases"] == "owner_aliases.csv"


def test_hubspot_stage_labels_and_internal_names_and_owner_by_email(reps):
    adapted = load("hubspot.csv", reps)
    assert adapted.profile == "hubspot"
    assert deals(adapted) == [
        ("8821001", "R001", "22700", "USD", "won", "2021-04-15"),
        ("8821002", "R002", "1200.5", "USD", "lost", "2021-04-20"),
        ("8821003", "R002", "9999.99", "USD", "open", "2021-05-03"),
        ("8821004", "R001", "310", "EUR", "won", "2021-04-30"),
    ]
    assert adapted.notes["owners_matched_by"] == {"name": 3, "e-mail": 1}


def test_zoho_utf8_bom_with_euro_decimal_comma_and_day_first_dates(reps):
    adapted = load("zoho_deals_bom.csv", reps)
    assert adapted.profile == "zoho"
    assert adapted.notes["encoding"] == "utf-8-sig"
    assert deals(adapted) == [
        ("zcrm_4150868000001", "R005", "22700", "EUR", "won", "2021-04-15"),
        ("zcrm_4150868000002", "R005", "1200.50", "EUR", "lost", "2021-04-20"),
        ("zcrm_4150868000003", "M003", "999", "EUR", "open", "2021-05-03"),
    ]
    # 'Created Time' alone cannot tell the order; the file's 'Closing Date' (15/04/2021) does.
    assert list(adapted.df["created_date"]) == ["2021-03-01", "2021-02-11", "2021-04-02"]
    assert adapted.notes["decimal"] == "decimal comma (from the amounts)"


def test_cp1252_export_reads_the_same(reps, tmp_path):
    text = (FIXTURES / "zoho_deals_bom.csv").read_text(encoding="utf-8-sig")
    (tmp_path / "deals.csv").write_bytes(text.encode("cp1252"))
    adapted = adapt(read_table(tmp_path / "deals.csv"), reps)
    assert adapted.notes["encoding"] == "cp1252"
    assert list(adapted.df["owner_id"]) == ["R005", "R005", "M003"]
    assert list(adapted.df["amount"]) == ["22700", "1200.50", "999"]


def test_zoho_legacy_potentials_needs_a_declared_currency(reps, tmp_path):
    with pytest.raises(InputFileError) as error:
        load("zoho_potentials.csv", reps)
    assert "extends: zoho-potentials\ndefault_currency: USD" in error.value.message
    mapping = tmp_path / "zoho.yaml"
    mapping.write_text("extends: zoho-potentials\ndefault_currency: USD\n", encoding="utf-8")
    adapted = load("zoho_potentials.csv", reps, mapping_file=mapping)
    assert deals(adapted) == [
        ("zcrm_2000000017001", "R001", "22700", "USD", "won", "2021-04-15"),
        ("zcrm_2000000017002", "R002", "1200.50", "USD", "lost", "2021-04-20"),
        ("zcrm_2000000017003", "R002", "", "USD", "open", "2021-05-03"),
    ]


def test_fxiaoke_gb18030_with_chinese_owners_stages_and_yuan(reps):
    raw = read_table(FIXTURES / "fxiaoke_gbk.csv")
    assert raw.encoding == "gb18030"
    adapted = adapt(raw, reps)
    assert adapted.profile == "fxiaoke"
    assert deals(adapted, ("owner_id", "account", "amount", "currency", "stage", "close_date")) == [
        ("R003", "上海远景科技有限公司", "1234.50", "CNY", "won", "2021-04-15"),
        ("R004", "苏州精工有限公司", "88000.00", "CNY", "lost", "2021-04-20"),
        ("R003", "杭州云图网络", "5000", "CNY", "open", "2021-05-03"),
    ]
    # No id column: a stable id is derived from name, customer and creation time.
    again = adapt(read_table(FIXTURES / "fxiaoke_gbk.csv"), reps)
    assert list(adapted.df["deal_id"]) == list(again.df["deal_id"])
    assert adapted.df["deal_id"].str.match(r"^crm-[0-9a-f]{16}$").all() and adapted.df["deal_id"].is_unique
    assert list(adapted.quarantine[["source_row", "value"]].itertuples(index=False, name=None)) == [(5, "赵六")]


def test_mapping_file_for_another_crm_semicolons_and_decimal_commas(reps):
    raw = read_table(FIXTURES / "pipedrive_de.csv")
    assert raw.delimiter == ";"
    adapted = adapt(raw, reps, mapping_file=FIXTURES / "pipedrive_de.yaml")
    assert adapted.profile == "pipedrive_de"
    assert deals(adapted) == [
        ("PD-101", "R005", "22700.00", "EUR", "won", "2021-04-15"),
        ("PD-102", "R005", "1200.50", "EUR", "lost", "2021-04-20"),
        ("PD-103", "M003", "999.99", "EUR", "open", "2021-05-03"),
        ("PD-104", "M003", "-50.00", "EUR", "won", "2021-04-28"),
    ]
    assert adapted.notes["owners_matched_by"] == {"e-mail": 3, "owner map": 1}
    assert adapted.notes["date_order"] == {"Abschlussdatum": "DMY (declared)", "Erstellt": "DMY (declared)"}


def test_xlsx_export_with_real_date_and_number_cells(reps, tmp_path):
    import openpyxl

    book = openpyxl.Workbook()
    book.active.title = "Summary"
    book.active.append(["Report", "Exported"])
    book.active.append(["Opportunities by owner", "2021-05-01"])
    sheet = book.create_sheet("Opportunities")
    sheet.append(
        ["Opportunity Owner", "Account Name", "Opportunity Name", "Stage", "Amount", "Close Date", "Opportunity ID"]
    )
    sheet.append(
        ["Jane Doe", "Globex", "Globex renewal", "Closed Won", 22700.5, dt.datetime(2021, 4, 15), "0065g00000AbCdE"]
    )
    sheet.append(
        ["Raj Patel", "Initech", "Initech expansion", "Closed Lost", 1200, dt.date(2021, 4, 20), "0065g00000AbCdF"]
    )
    path = tmp_path / "export.xlsx"
    book.save(path)
    mapping = tmp_path / "usd.yaml"
    mapping.write_text("default_currency: USD\nsheet: Opportunities\n", encoding="utf-8")
    adapted = adapt(read_table(path), reps, mapping_file=mapping)
    assert adapted.notes["sheet"] == "Opportunities"
    assert list(adapted.df["source_row"]) == [2, 3]
    assert deals(adapted) == [
        ("0065g00000AbCdEAAV", "R001", "22700.5", "USD", "won", "2021-04-15"),
        ("0065g00000AbCdFAAV", "R002", "1200", "USD", "lost", "2021-04-20"),
    ]


def test_header_row_below_title_lines_is_found_and_rows_keep_their_numbers(reps):
    cells = [
        ["Opportunities by owner", "", "", "", ""],
        ["Filtered By: Close Date = Q2-2021", "", "", "", ""],
        ["Opportunity Owner", "Stage", "Amount", "Close Date", "Opportunity ID"],
        ["Jane Doe", "Closed Won", "$22,700.00", "4/15/2021", "0065g00000AbCdE"],
    ]
    frame = pd.DataFrame(cells[1:], columns=cells[0])
    adapted = adapt(RawTable(frame, Path("report.xlsx"), None, None, "Sheet1"), reps)
    assert adapted.profile == "salesforce-report"
    assert deals(adapted) == [("0065g00000AbCdEAAV", "R001", "22700.00", "USD", "won", "2021-04-15")]
    assert list(adapted.df["source_row"]) == [4]


def test_ambiguous_date_column_asks_for_the_order_and_a_declared_order_reads_it(reps):
    with pytest.raises(InputFileError) as error:
        load("zoho_ambiguous_dates.csv", reps)
    message = str(error.value)
    assert message.startswith("zoho_ambiguous_dates.csv: column 'Closing Date'")
    assert "'04/05/2021' (row 2)" in message and "--date-order" in message
    adapted = load(
        "zoho_ambiguous_dates.csv", reps, date_order="DMY", mapping_file=None, profile="zoho", decimal_comma=False
    )
    assert list(adapted.df["close_date"]) == ["2021-05-04", "2021-04-06"]


def test_unknown_stages_are_listed_with_the_yaml_lines_to_add(reps, tmp_path):
    text = (FIXTURES / "hubspot.csv").read_text(encoding="utf-8")
    text = text.replace("Contract Sent", "Demo Booked").replace("closedlost", "Went Dark")
    (tmp_path / "deals.csv").write_text(text, encoding="utf-8")
    with pytest.raises(InputFileError) as error:
        adapt(read_table(tmp_path / "deals.csv"), reps)
    message = error.value.message
    assert "'Deal Stage'" in message and "'Went Dark' (1 rows)" in message and "'Demo Booked' (1 rows)" in message
    assert 'extends: hubspot\nstages:\n  "Went Dark": open    # or won / lost\n  "Demo Booked": open' in message
    mapping = tmp_path / "hub.yaml"
    mapping.write_text('extends: hubspot\nstages:\n  "Went Dark": lost\n  "Demo Booked": open\n', encoding="utf-8")
    adapted = adapt(read_table(tmp_path / "deals.csv"), reps, mapping_file=mapping)
    assert list(adapted.df["stage"]) == ["won", "lost", "open", "won"]


def test_no_matching_profile_names_the_closest_and_its_missing_columns(reps):
    raw = RawTable(
        pd.DataFrame({"Deal Owner": ["Jane Doe"], "Amount": ["1"], "Stage": ["Closed Won"]}),
        Path("deals.csv"),
        "utf-8",
        ",",
        None,
    )
    with pytest.raises(UnknownExportError) as error:
        adapt(raw, reps)
    assert "Closest profile: zoho " in error.value.message and "close_date ('Closing Date')" in error.value.message


def test_two_matching_profiles_ask_for_a_profile(reps):
    headers = ["Deal Owner", "Potential Owner", "Stage", "Closing Date", "Amount", "Record Id"]
    raw = RawTable(
        pd.DataFrame([["Jane Doe", "Jane Doe", "Closed Won", "2021-04-15", "$1", "z1"]], columns=headers),
        Path("deals.csv"),
        "utf-8",
        ",",
        None,
    )
    with pytest.raises(InputFileError, match=r"several CRM profiles \(zoho, zoho-potentials\).*--profile"):
        adapt(raw, reps)
    assert adapt(raw, reps, profile="zoho", mapping_file=None, decimal_comma=None).profile == "zoho"


def test_ambiguous_owner_names_are_quarantined(reps):
    twins = pd.concat([reps, reps.iloc[[0]].assign(rep_id="R009", email="jane2@acme.example")], ignore_index=True)
    adapted = load("hubspot.csv", twins)
    assert list(adapted.df["deal_id"]) == ["8821002", "8821003"]
    assert "fits several reps (R001, R009)" in adapted.quarantine["reason"].iloc[0]


def test_keys():
    assert owner_key("  张 三 ") == owner_key("张三")
    assert owner_key("Jane  DOE") == owner_key("jane doe")
    assert owner_key("0055g00000AbcDe") == owner_key("0055G00000ABCDEAAJ")
    assert salesforce_id18(pd.Series(["001A0000006Vm9r"])).tolist() == ["001A0000006Vm9rIAC"]


def test_every_builtin_profile_loads_and_maps_stages_to_outcomes():
    profiles = builtin_profiles()
    assert set(profiles) == {"salesforce-report", "salesforce-api", "hubspot", "zoho", "zoho-potentials", "fxiaoke"}
    for profile in profiles.values():
        assert {"won", "lost"} <= {outcome for _, outcome in profile.stages.values()}, profile.name
