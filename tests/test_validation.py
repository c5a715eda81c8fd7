"""Validating the input contract: quarantine reasons, file-level errors, the month's snapshot.

Each bad-input case is a fixture folder under tests/fixtures/bad/ whose files
replace the matching files of the documented examples (docs/examples/).
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from attain.ingest.cells import _minor_units
from attain.ingest.contract import INPUT_SCHEMAS, QuarantineSchema
from attain.ingest.load import load_inputs
from attain.ingest.raw import InputFileError
from attain.ingest.report import validate_path
from attain.money import MINOR_DIGITS, MoneyError, to_minor
from attain.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "docs" / "examples"
BAD = ROOT / "tests" / "fixtures" / "bad"
TODAY = dt.date(2025, 4, 30)


def data_dir(tmp_path: Path, case: str | None = None) -> Path:
    """The example inputs, with the files of bad-input ``case`` in place of the originals."""
    folder = tmp_path / "data"
    shutil.copytree(EXAMPLES, folder)
    if case:
        for path in (BAD / case).iterdir():
            shutil.copy(path, folder / path.name)
    return folder


def load(tmp_path, case=None, month="2025-03", settings=None, **kwargs):
    return load_inputs(data_dir(tmp_path, case), month, settings or Settings(), today=TODAY, **kwargs)


def problems(result, table: str) -> dict[tuple[int, str], str]:
    """{(source_row, column): reason} of one table's quarantine rows."""
    q = result.quarantine[result.quarantine["table"] == table]
    assert set(q["source_file"]) <= {f"{table}.csv"}
    return {
        (row, column): reason for row, column, reason in zip(q["source_row"], q["column"], q["reason"], strict=True)
    }


# ---------------------------------------------------------------- the examples are valid


def test_examples_load_without_quarantine_and_match_the_schemas(tmp_path):
    result = load(tmp_path)
    assert result.quarantine.empty
    for name, schema in INPUT_SCHEMAS.items():
        schema.validate(getattr(result, name))
    deals = result.deals.set_index("deal_id")
    assert deals.at["D1002", "amount_minor"] == 1250050  # 12500.50 CNY in fen
    assert deals.at["D1008", "amount_minor"] == 0  # blank amount on an open deal
    assert deals.at["D1004", "source_file"] == "deals.csv" and deals.at["D1004", "source_row"] == 5
    assert result.deals["created_date"].dtype == "datetime64[ns]"
    targets = {
        (t.scope_id, t.metric): (t.target, t.currency) for t in result.targets.itertuples() if t.scope_id != "R01"
    }
    assert targets[("R03", "revenue")] == (900000, "USD")
    assert targets[("R02", "revenue")] == (2000000, "CNY")
    assert targets[("R03", "won_deals")] == (2, "")
    assert targets[("West", "revenue")] == (4000000, "USD")
    assert pd.isna(targets[("R05", "new_accounts")][0])  # blank = explicitly no target
    source = result.sources["deals"]
    assert (source.file, source.encoding, source.delimiter) == ("deals.csv", "utf-8", ",")
    assert (source.rows_read, source.rows_accepted, source.rows_quarantined) == (9, 9, 0)


# ---------------------------------------------------------------- row problems


def test_bad_amounts_currencies_and_stages_are_quarantined_and_good_rows_kept(tmp_path):
    result = load(tmp_path, "deal_values")
    found = problems(result, "deals")
    assert found == {
        (3, "amount"): "amount -120.00 is negative; enter refunds as a cancellation (cancelled_date) instead",
        (4, "amount"): "amount 12.345 has more than 2 decimal places (USD has 2); amounts are never rounded "
        "on input: correct the value",
        (5, "amount"): "amount '1,200.00' is not a number; write amounts with digits and a decimal point only, "
        "for example 1234.50 (no currency symbol, no thousands separator)",
        (6, "currency"): found[(6, "currency")],  # checked below: the list of codes is long
        (7, "stage"): "stage 'pending' is not won, lost or open; map the CRM stage to one of these three",
        (8, "amount"): "amount is blank on a won deal; enter the deal's value",
        (9, "amount"): "amount 1500.5 has more than 0 decimal places (JPY has 0); amounts are never rounded "
        "on input: correct the value",
    }
    assert found[(6, "currency")] == "currency 'EURO' is not an active ISO 4217 currency code; did you mean EUR?"
    assert sorted(result.deals["deal_id"]) == ["D1001", "D1004", "D1008"]
    assert result.deals.set_index("deal_id").at["D1004", "stage"] == "won"  # "Won" lower-cased
    q = result.quarantine.set_index("source_row")
    assert q.at[3, "source_file"] == "deals.csv" and q.at[3, "value"] == "-120.00" and q.at[3, "month"] == "2025-03"
    assert json.loads(q.at[3, "record"])["deal_id"] == "D2001"
    assert result.sources["deals"].rows_quarantined == 7 and result.sources["deals"].rows_accepted == 3
    QuarantineSchema.validate(result.quarantine)


def test_bad_dates_are_quarantined_with_the_expected_format(tmp_path):
    found = problems(load(tmp_path, "deal_dates"), "deals")
    assert found == {
        (2, "close_date"): "close_date '03/01/2025' is not a date in the form YYYY-MM-DD (for example 2025-03-31); "
        "correct the date",
        (3, "close_date"): "close_date 2025-05-02 is after today (2025-04-30); a deal cannot be won or lost in the "
        "future: correct the date or set the stage to open",
        (4, "close_date"): "close_date 2025-02-01 is before created_date 2025-02-10; correct whichever date is wrong",
        (5, "close_date"): "close_date is blank on a lost deal; enter the date the deal was lost (YYYY-MM-DD)",
        (6, "cancelled_date"): "cancelled_date 2025-02-15 is set on a lost deal; only won deals can be cancelled: "
        "clear the date or correct the stage",
    }


def test_unknown_owner(tmp_path):
    result = load(tmp_path, "deal_owner")
    assert problems(result, "deals") == {
        (3, "owner_id"): "owner_id R99 is not a rep_id in reps; add the rep to reps or correct the owner"
    }
    assert result.deals["deal_id"].tolist() == ["D1004"]


def test_conflicting_duplicates_are_all_quarantined_and_identical_ones_collapse(tmp_path):
    result = load(tmp_path, "deal_duplicates")
    assert problems(result, "deals") == {
        (2, "deal_id"): "deal_id D1001 also appears on row 4 with different amount; keep one row per deal "
        "(or give each its own id)",
        (4, "deal_id"): "deal_id D1001 also appears on row 2 with different amount; keep one row per deal "
        "(or give each its own id)",
    }
    assert sorted(result.deals["deal_id"]) == ["D1002", "D1004"]
    assert result.deals.set_index("deal_id").at["D1002", "source_row"] == 3  # the first copy is kept
    source = result.sources["deals"]
    assert (source.rows_read, source.rows_accepted, source.rows_quarantined, source.rows_skipped) == (5, 2, 2, 1)
    # a survey of the rejected deal says why rather than "unknown deal"
    assert "whose own row was rejected" in problems(result, "surveys")[(2, "deal_id")]


def test_split_shares_not_summing_to_100_and_unknown_deal_or_rep(tmp_path):
    result = load(tmp_path, "splits")
    found = problems(result, "credit_splits")
    shares = (
        "the split shares of deal D1004 (rows 2, 3) add up to 90, not 100; correct them so they add up to "
        "exactly 100 (until then the deal is credited 100% to its owner)"
    )
    assert found == {
        (2, "share"): shares,
        (3, "share"): shares,
        (4, "deal_id"): "deal_id D9999 is not a deal in deals; correct the id or add the deal to deals",
        (5, "rep_id"): "rep_id R77 is not a rep_id in reps; add the rep to reps or correct the id",
    }
    kept = result.credit_splits
    assert kept[["deal_id", "rep_id", "share", "role"]].values.tolist() == [
        ["D1006", "R04", "50", "split"],
        ["D1006", "R03", "50", "split"],
        ["D1006", "M02", "20", "overlay"],
    ]


def test_survey_scores_and_scales(tmp_path):
    result = load(tmp_path, "surveys")
    found = problems(result, "surveys")
    assert found[(3, "score")] == "score 6 is outside the csat_1_5 scale (1 to 5); correct the score or the scale"
    assert found[(4, "scale")] == (
        "scale '1-7' is not declared; Attain does not guess scales: use csat_1_5 or nps_0_10, or declare it with "
        "its lowest and highest score, `--survey-scale 1-7=1-7` or `survey_scales: {1-7: [1, 7]}` in attain.yaml, "
        "so it is converted linearly to 1-5"
    )
    assert found[(5, "deal_id")].startswith("deal_id D9999 is not a deal in deals")
    assert len(found) == 3
    assert result.surveys["response_id"].tolist() == ["S001", "S104"]


def test_a_declared_survey_scale_is_accepted_within_its_bounds(tmp_path):
    result = load(tmp_path, "surveys", settings=Settings(survey_scales={"1-7": (1, 7)}))
    assert (4, "scale") not in problems(result, "surveys")
    assert result.surveys.set_index("response_id").at["S102", "score"] == 7


def test_targets_for_unknown_rep_team_or_metric(tmp_path):
    found = problems(load(tmp_path, "targets"), "targets")
    assert found == {
        (3, "scope_id"): "scope_id R99 is not a rep_id in reps; add the rep to reps or correct the id",
        (4, "scope_id"): "scope_id North is not a team in reps; correct the team name (it must match the team "
        "column of reps)",
        (5, "metric"): "metric 'profit' is not a known metric; use one of revenue, won_deals, new_accounts",
        (6, "amount"): "amount 2.5 is not a whole number; a won_deals target is a count",
    }


def test_roster_problems(tmp_path):
    result = load(tmp_path, "reps")
    found = problems(result, "reps")
    assert found == {
        (9, "locale"): "locale 'fr' is not supported; use en (English) or zh_CN (Chinese)",
        (10, "manager_id"): "manager_id M09 is not a rep_id in reps; add the manager's own row to reps or correct "
        "the id",
        (11, "rep_id"): "rep_id R92, valid_from (blank) also appears on row 12 with different hire_date; keep one "
        "row per rep_id and valid_from (or give each its own id)",
        (12, "rep_id"): "rep_id R92, valid_from (blank) also appears on row 11 with different hire_date; keep one "
        "row per rep_id and valid_from (or give each its own id)",
    }
    assert result.reps.set_index("rep_id").at["R01", "locale"] == "zh_CN"  # "zh-cn" normalised


def test_missing_fx_rate_quarantines_the_won_deal_and_its_credit_rows(tmp_path):
    result = load(tmp_path, "fx_missing")
    assert problems(result, "deals") == {(8, "currency"): "no FX rate for EUR in 2025-03; add it to fx_rates"}
    assert "D1007" not in set(result.deals["deal_id"])
    assert problems(result, "credit_splits")[(4, "deal_id")].startswith("deal_id D1007 is a deal whose own row was")


def test_fx_rate_problems(tmp_path):
    folder = data_dir(tmp_path)
    with (folder / "fx_rates.csv").open("a") as f:
        f.write("2025-03,USD,1.2\n2025-03,EUR,1.09\n2025-04,GBP,0\n2025-4,GBP,1.27\n")
    found = problems(load_inputs(folder, "2025-03", Settings(), today=TODAY), "fx_rates")
    conflict = "also appears on {} with different rate; keep one row per month and currency (or give each its own id)"
    assert found == {
        (7, "month"): "month 2025-03, currency EUR " + conflict.format("row 9"),
        (9, "month"): "month 2025-03, currency EUR " + conflict.format("row 7"),
        (8, "rate"): "USD is the base currency, so its rate is 1 by definition; correct the rate or the "
        "base currency (`--base-currency EUR` or `base_currency: EUR` in attain.yaml)",
        (10, "rate"): "rate 0 is zero; enter the real exchange rate",
        (11, "month"): "month '2025-4' is not a month in the form YYYY-MM (for example 2025-03); correct it",
    }


def test_plan_currency_rate_is_needed_too(tmp_path):
    folder = data_dir(tmp_path)
    rates = pd.read_csv(folder / "fx_rates.csv", dtype=str)
    rates[~((rates["month"] == "2025-01") & (rates["currency"] == "CNY"))].to_csv(folder / "fx_rates.csv", index=False)
    with (folder / "deals.csv").open("a") as f:  # a USD deal credited to a CNY-paid rep
        f.write("D1010,R01,Acme Corporation,GTX Pro,100.00,USD,won,2025-01-02,2025-01-10,,\n")
    result = load_inputs(folder, "2025-03", Settings(), today=TODAY)
    assert problems(result, "deals") == {
        (11, "currency"): (
            "no FX rate for CNY in 2025-01 (to convert to CNY, the plan currency of R01); add it to fx_rates"
        )
    }


def test_a_row_with_several_problems_appears_once_per_column(tmp_path):
    folder = data_dir(tmp_path)
    with (folder / "deals.csv").open("a") as f:
        f.write("D1010,R99,Acme,GTX Pro,-5.00,XYZ,won,2025-01-02,2025-13-01,,\n")
    q = load_inputs(folder, "2025-03", Settings(), today=TODAY).quarantine
    rows = q[q["source_row"] == 11]
    assert sorted(rows["column"]) == ["amount", "close_date", "currency", "owner_id"]
    assert q.drop_duplicates(["source_file", "source_row"]).shape[0] == 1


# ---------------------------------------------------------------- file-level errors


def test_missing_required_file(tmp_path):
    folder = data_dir(tmp_path)
    (folder / "targets.csv").unlink()
    with pytest.raises(InputFileError) as err:
        load_inputs(folder, "2025-03", Settings(), today=TODAY)
    assert str(err.value).startswith(
        "targets.csv: required file is missing: put targets.csv (or targets.xlsx / targets.parquet) in the data folder"
    )


def test_optional_files_may_be_absent(tmp_path):
    folder = data_dir(tmp_path)
    for name in ("credit_splits", "surveys", "disputes", "self_assessments"):
        (folder / f"{name}.csv").unlink()
    result = load_inputs(folder, "2025-03", Settings(), today=TODAY)
    assert result.credit_splits.empty and result.surveys.empty
    assert result.disputes.empty and result.self_assessments.empty
    assert "share" in result.credit_splits.columns and "source_row" in result.surveys.columns
    assert set(result.sources) == {"deals", "reps", "targets", "fx_rates"}


def test_fx_file_required_when_a_won_deal_needs_a_rate(tmp_path):
    folder = data_dir(tmp_path)
    (folder / "fx_rates.csv").unlink()
    with pytest.raises(
        InputFileError, match=r"fx_rates\.csv: required file is missing: won deals need exchange rates for CNY, EUR"
    ):
        load_inputs(folder, "2025-03", Settings(), today=TODAY)


def test_misspelled_column_names_the_closest_header(tmp_path):
    folder = data_dir(tmp_path)
    shutil.copy(BAD / "files" / "deals_misspelled.csv", folder / "deals.csv")
    with pytest.raises(InputFileError) as err:
        load_inputs(folder, "2025-03", Settings(), today=TODAY)
    assert str(err.value).startswith(
        "deals.csv: missing column close_date: rename column 'close_dat' to 'close_date'. The file's columns are: "
        "deal_id, owner_id, account, product, amount, currency, stage, close_dat."
    )


def test_several_missing_columns_in_one_message(tmp_path):
    folder = data_dir(tmp_path)
    (folder / "reps.csv").write_text("rep_id,Name,e_mail,role\nR1,A,a@example.com,rep\n")
    with pytest.raises(InputFileError) as err:
        load_inputs(folder, "2025-03", Settings(), today=TODAY)
    message = str(err.value)
    assert message.startswith(
        "reps.csv: missing columns name, email, manager_id, team, region, hire_date, locale, "
        "currency: rename column 'Name' to 'name'; rename column 'e_mail' to 'email'; "
        "add a column 'manager_id'"
    )


@pytest.mark.parametrize(
    "bad_file, expected",
    [
        ("empty.csv", "reps.csv: is empty: it has no header line and no rows"),
        ("header_only.csv", "reps.csv: has a header line but no data rows"),
    ],
)
def test_unusable_required_file_stops_the_run(tmp_path, bad_file, expected):
    folder = data_dir(tmp_path)
    shutil.copy(BAD / "files" / bad_file, folder / "reps.csv")
    with pytest.raises(InputFileError) as err:
        load_inputs(folder, "2025-03", Settings(), today=TODAY)
    assert str(err.value).startswith(expected)


def test_gb18030_and_bom_files_load(tmp_path):
    folder = data_dir(tmp_path)
    reps = (folder / "reps.csv").read_text().replace("Li Wei", "李伟").replace("Zhang Min", "张敏")
    (folder / "reps.csv").write_bytes(reps.encode("gb18030"))
    (folder / "targets.csv").write_bytes(("\ufeff" + (folder / "targets.csv").read_text()).encode("utf-8"))
    result = load_inputs(folder, "2025-03", Settings(), today=TODAY)
    assert result.quarantine.empty
    assert result.reps.set_index("rep_id").loc[["M01", "R01"], "name"].tolist() == ["李伟", "张敏"]
    assert result.sources["reps"].encoding == "gb18030"
    assert result.sources["targets"].encoding == "utf-8-sig" and len(result.targets) == 13


# ---------------------------------------------------------------- the month's snapshot


def test_snapshot_of_an_earlier_month(tmp_path):
    result = load(tmp_path, month="2025-02")
    deals = result.deals.set_index("deal_id")
    assert "D1008" not in deals.index and "D1009" not in deals.index  # created after February
    assert result.sources["deals"].rows_skipped == 2
    # won in March: open at the end of February, with no close date
    for deal_id in ("D1005", "D1006", "D1007"):
        assert deals.at[deal_id, "stage"] == "open" and pd.isna(deals.at[deal_id, "close_date"])
    assert pd.isna(deals.at["D1005", "cancelled_date"]) and deals.at["D1005", "cancel_reason"] == ""
    assert deals.at["D1004", "stage"] == "won" and deals.at["D1004", "close_date"] == pd.Timestamp("2025-02-27")
    assert "S002" not in set(result.surveys["response_id"])  # answered in March


def test_snapshot_of_the_month_keeps_its_cancellations_and_opens_later_wins(tmp_path):
    deals = load(tmp_path, month="2025-03").deals.set_index("deal_id")
    assert deals.at["D1005", "cancelled_date"] == pd.Timestamp("2025-03-28")
    assert deals.at["D1005", "cancel_reason"] == "customer refunded"
    assert deals.at["D1009", "stage"] == "open" and pd.isna(deals.at["D1009", "close_date"])  # won in April


def test_rows_created_after_the_month_are_not_judged(tmp_path):
    folder = data_dir(tmp_path)
    with (folder / "deals.csv").open("a") as f:
        f.write("D1010,R99,Acme,GTX Pro,-5.00,USD,won,2025-04-02,2025-04-10,,\n")
    result = load_inputs(folder, "2025-03", Settings(), today=TODAY)
    assert result.quarantine.empty and "D1010" not in set(result.deals["deal_id"])


# ---------------------------------------------------------------- attain validate


def test_validate_path_reports_a_folder_or_one_file(tmp_path):
    folder = data_dir(tmp_path, "deal_owner")
    report = validate_path(folder, month="2025-03", today=TODAY)
    assert not report.ok
    assert "  deals.csv row 3, owner_id: owner_id R99 is not a rep_id in reps" in report.text()
    shutil.copy(folder / "deals.csv", folder / "march_export.csv")
    lone = validate_path(folder / "march_export.csv", month="2025-03", today=TODAY)
    assert list(lone.sources) == ["deals"] and lone.quarantine["source_file"].unique().tolist() == ["march_export.csv"]
    lines = lone.text().splitlines()
    assert lines[1] == (
        "  context from the same folder: credit_splits.csv, reps.csv (the roster), targets.csv, "
        "fx_rates.csv, surveys.csv, disputes.csv, self_assessments.csv"
    )
    assert lines[2:8] == [
        "  march_export.csv (deals): 2 rows read, 1 accepted, 1 quarantined, 0 outside the month or repeated",
        "    layout: contract (docs/input-contract.md)",
        "    file: encoding utf-8, delimiter comma",
        "    date order: year-month-day (YYYY-MM-DD, the contract's) for created_date, close_date, cancelled_date",
        "    numbers: decimal point (the contract's) in amount",
        "    owners: owner_id is the rep_id, checked against the roster",
    ]
    assert validate_path(folder / "reps.csv", month="2025-03", today=TODAY).ok


def test_a_lone_deals_file_without_a_roster_is_checked_and_says_owners_were_not(tmp_path):
    folder = tmp_path / "downloads"
    folder.mkdir()
    shutil.copy(BAD / "deal_owner" / "deals.csv", folder / "march_export.csv")
    report = validate_path(folder / "march_export.csv", month="2025-03", today=TODAY)
    assert report.ok and report.sources["deals"].rows_accepted == 2
    text = report.text()
    assert "  no roster: there is no reps.csv, reps.xlsx or reps.parquet in downloads" in text
    assert "    owners: not checked: there is no roster (reps file)" in text
    assert "no fx_rates file in the folder" in text


def test_a_lone_file_is_read_in_the_declared_encoding(tmp_path):
    folder = data_dir(tmp_path)
    text = (folder / "deals.csv").read_text(encoding="utf-8").replace("Huaxin Trading", "Café Lumière")
    (folder / "deals.csv").write_bytes(text.encode("cp1252"))
    assert (
        "file: encoding cp1252, delimiter comma"
        in validate_path(folder / "deals.csv", month="2025-03", today=TODAY).text()
    )
    report = validate_path(folder / "deals.csv", month="2025-03", today=TODAY, encodings={"deals": "latin-1"})
    assert report.ok and "file: encoding iso8859-1, delimiter comma" in report.text()


# ---------------------------------------------------------------- exact amounts


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.decimals(min_value=-(10**12), max_value=10**12, places=4, allow_nan=False),
            st.sampled_from(["USD", "JPY"]),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_amount_text_to_minor_units_agrees_with_money_to_minor(pairs):
    text = pd.Series([str(amount) for amount, _ in pairs], dtype=object)
    digits = np.array([MINOR_DIGITS[ccy] for _, ccy in pairs])
    units, status = _minor_units(text, digits)
    for value, (_amount, ccy), got, code in zip(text, pairs, units, status, strict=True):
        try:
            expected = to_minor(value, ccy)
        except MoneyError:
            assert code != 0, value  # too many decimals for the currency is refused, never rounded
        else:
            assert code == 0 and got == expected, value


def test_amount_text_edge_cases():
    text = pd.Series(["", "007.50", "1.", "-0.10", "1e5", " 12", "12.5000", "99999999999999999999"], dtype=object)
    units, status = _minor_units(text, 2)
    assert status.tolist() == [1, 0, 0, 0, 2, 2, 0, 4]
    assert units.tolist()[:4] == [0, 750, 100, -10] and units[6] == 1250


def test_deals_from_excel_with_real_dates_and_numbers_match_the_csv(tmp_path):
    import openpyxl

    folder = data_dir(tmp_path)
    expected = load_inputs(folder, "2025-03", Settings(), today=TODAY).deals
    frame = pd.read_csv(folder / "deals.csv", dtype=str, keep_default_na=False)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(list(frame.columns))
    for row in frame.itertuples(index=False):
        cells = row._asdict()
        for column in ("created_date", "close_date", "cancelled_date"):
            cells[column] = dt.datetime.fromisoformat(cells[column]) if cells[column] else None
        cells["amount"] = float(cells["amount"]) if cells["amount"] else None
        sheet.append(list(cells.values()))
    (folder / "deals.csv").unlink()
    book.save(folder / "deals.xlsx")
    got = load_inputs(folder, "2025-03", Settings(), today=TODAY).deals
    pd.testing.assert_frame_equal(got.drop(columns="source_file"), expected.drop(columns="source_file"))
    assert got["source_file"].unique().tolist() == ["deals.xlsx"]


def test_disputes_are_validated_row_by_row_and_seen_as_known_at_the_month_end(tmp_path):
    """Every dispute row is accepted, quarantined with a reason, or outside the snapshot (a later month)."""
    result = load(tmp_path, "disputes")
    found = problems(result, "disputes")
    assert found == {
        (3, "rep_id"): "rep_id R99 is not a rep_id in reps; add the rep to reps or correct the id",
        (4, "deal_id"): "deal_id D9999 is not a deal in deals; correct the id, or leave it blank and name the "
        "statement line (line_no)",
        (5, "decided_by"): "the dispute is accepted but decided_by is blank; enter who decided it and when "
        "(decided_at as YYYY-MM-DD)",
        (6, "amount_granted"): "amount_granted '20' does not fit a partly accepted dispute: enter an amount above "
        "zero and below the amount claimed (10)",
        (7, "line_no"): "line_no 0 is not a statement line; lines are numbered from 1, or leave it blank",
        (8, "status"): "status 'maybe' is not open, accepted, rejected or partly accepted; correct it",
        (9, "amount_granted"): "a rejected dispute pays nothing: leave amount_granted blank (it is '10'), or set "
        "the status",
        (12, "amount_claimed"): "amount_claimed 10.005 has more than 2 decimal places (USD has 2); amounts are "
        "never rounded on input: correct the value",
    }
    source = result.sources["disputes"]
    assert (source.rows_read, source.rows_accepted, source.rows_quarantined, source.rows_skipped) == (11, 2, 8, 1)
    disputes = result.disputes.set_index("dispute_id")
    assert disputes.at["DS-001", "status"] == "partly accepted"
    assert disputes.at["DS-001", "amount_granted_minor"] == 6000
    assert disputes.at["DS-001", "currency"] == "USD"
    # Decided on 2 April: not known at March's end, so still open in March's snapshot.
    assert disputes.loc["DS-010", ["status", "decided_by"]].tolist() == ["open", ""]
    assert pd.isna(disputes.at["DS-010", "amount_granted_minor"])
