"""Money and date text as CRM exports write it, parsed into the contract's plain forms."""

from __future__ import annotations

import pandas as pd
import pytest

from attain.ingest.parsing import ConventionError, parse_dates, parse_flag, parse_money, scan_dates, settle_date_order


def money(values, **kwargs):
    parsed = parse_money(pd.Series(values, dtype=object), column="Amount", **kwargs)
    return list(parsed.amount), list(parsed.currency), list(parsed.problems), parsed.decimal_comma


@pytest.mark.parametrize(
    ("text", "amount", "currency"),
    [
        ("$22,700.00", "22700.00", "USD"),
        ("USD 1,200", "1200", "USD"),
        ("1,200 usd", "1200", "USD"),
        ("¥1,234.50", "1234.50", "CNY"),
        ("￥5,000", "5000", "CNY"),
        ("CN¥ 88,000.00", "88000.00", "CNY"),
        ("(500.00)", "-500.00", ""),
        ("-$5.25", "-5.25", "USD"),
        ("$-5.25", "-5.25", "USD"),
        ("€ 310", "310", "EUR"),
        ("HK$1,000.10", "1000.10", "HKD"),
        ("22700", "22700", ""),
        ("1,234,567.89", "1234567.89", ""),
        ("", "", ""),
    ],
)
def test_amounts_with_a_decimal_point(text, amount, currency):
    amounts, currencies, problems, _ = money([text, "1.50"])
    assert (amounts[0], currencies[0], problems[0]) == (amount, currency, "")


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("1.234,50", "1234.50"),
        ("1 234,50", "1234.50"),
        ("1\u00a0234,50 €", "1234.50"),
        ("22.700", "22700"),
        ("(50,00)", "-50.00"),
        ("999", "999"),
    ],
)
def test_amounts_with_a_decimal_comma_when_declared(text, amount):
    amounts, _, problems, convention = money([text], decimal_comma=True)
    assert (amounts[0], problems[0], convention) == (amount, "", True)


def test_decimal_comma_is_taken_from_a_value_only_it_can_read():
    amounts, _, _, convention = money(["€22.700", "€1.200,50", "€999"])
    assert amounts == ["22700", "1200.50", "999"]
    assert convention is True


def test_thousands_separators_alone_read_as_whole_amounts():
    assert money(["1,234", "56"])[0] == ["1234", "56"]
    assert money(["1.234", "56"])[0] == ["1234", "56"]


def test_a_column_mixing_both_conventions_is_an_error_naming_examples():
    with pytest.raises(ConventionError) as error:
        money(["$22,700.00", "1.234,50"])
    message = str(error.value)
    assert "'Amount'" in message and "'22,700.00' (data row 1)" in message and "'1.234,50' (data row 2)" in message
    assert "decimal_comma" in message


def test_declared_point_reads_a_comma_decimal_as_a_problem_not_a_guess():
    amounts, _, problems, _ = money(["1.234,50", "12.50"], decimal_comma=False)
    assert amounts == ["", "12.50"]
    assert "decimal point" in problems[0]


def test_unreadable_amounts_are_row_problems():
    amounts, _, problems, _ = money(["TBD", "1.00", "$$5", "5 XYZ"])
    assert amounts == ["", "1.00", "", ""]
    assert "'TBD' is not an amount" in problems[0]
    assert problems[1] == ""
    assert "'5 XYZ' has an unknown currency marker" in problems[3]


def test_shared_symbols_follow_the_default_currency():
    assert money(["$5.00"], default_currency="CAD")[1] == ["CAD"]
    assert money(["¥500"], default_currency="JPY")[1] == ["JPY"]
    assert money(["¥500"], default_currency="USD")[1] == ["CNY"]


# ---------------------------------------------------------------- dates


@pytest.mark.parametrize(
    "text",
    [
        "15 Apr, 2021 00:02:00",
        "2021/04/15",
        "2021/4/15",
        "15/04/2021",
        "44301",
        "2021-04-15T10:00:00Z",
        "2021-04-15T10:00:00.000+0000",
        "2021年4月15日",
        "2021年4月15日 10:00",
        "Apr 15, 2021",
        "April 15th, 2021",
        "15-Apr-2021",
        "20210415",
        "2021-04-15 13:20",
        "15.04.2021",
        "2021-04-15",
    ],
)
def test_date_formats(text):
    iso, problems = parse_dates(pd.Series([text, "30/12/2021"]), column="Close Date")
    assert (iso[0], problems[0]) == ("2021-04-15", "")


def test_month_first_dates_are_proven_by_a_second_number_above_12():
    iso, _ = parse_dates(pd.Series(["4/15/2021", "5/3/2021 10:00 AM"]), column="Close Date")
    assert list(iso) == ["2021-04-15", "2021-05-03"]


def test_an_undecidable_date_column_is_never_guessed():
    with pytest.raises(ConventionError) as error:
        parse_dates(pd.Series(["04/05/2021", "01/02/2021"]), column="Close Date")
    message = str(error.value)
    assert "'Close Date'" in message and "'04/05/2021'" in message
    assert message.endswith(
        "declare the order: `--date-order DMY` or `date_order: DMY` in attain.yaml (or MDY; a mapping file takes "
        "the same line)"
    )


def test_a_declared_order_settles_it():
    iso, _ = parse_dates(pd.Series(["04/05/2021", "01/02/2021"]), column="Close Date", date_order="DMY")
    assert list(iso) == ["2021-05-04", "2021-02-01"]
    iso, _ = parse_dates(pd.Series(["04/05/2021"]), column="Close Date", date_order="MDY")
    assert list(iso) == ["2021-04-05"]


def test_same_day_and_month_needs_no_order():
    iso, _ = parse_dates(pd.Series(["04/04/2021", "2021-05-01"]), column="Close Date")
    assert list(iso) == ["2021-04-04", "2021-05-01"]


def test_a_column_proving_both_orders_is_an_error():
    with pytest.raises(ConventionError, match=r"day-first dates.*month-first"):
        parse_dates(pd.Series(["15/04/2021", "04/15/2021"]), column="Close Date")


def test_a_column_without_evidence_borrows_the_order_of_the_file():
    close = scan_dates(pd.Series(["15/04/2021"]), column="Closing Date")
    created = scan_dates(pd.Series(["01/03/2021"]), column="Created Time")
    settled = settle_date_order([close, created], None)
    assert settled["Created Time"][0] == "DMY"
    assert "Closing Date" in settled["Created Time"][1]
    assert list(created.resolve("DMY")[0]) == ["2021-03-01"]


def test_bad_dates_are_row_problems():
    iso, problems = parse_dates(pd.Series(["31/02/2021", "soon", "", "15/04/2021"]), column="Close Date")
    assert list(iso) == ["", "", "", "2021-04-15"]
    assert "not a calendar date" in problems[0]
    assert "'soon' is not a date" in problems[1]
    assert problems[2] == ""


def test_offsets_move_into_the_declared_time_zone():
    values = pd.Series(["2021-04-15T23:30:00Z", "2021-04-15T23:30:00+08:00"])
    assert list(parse_dates(values, column="CreatedDate")[0]) == ["2021-04-15", "2021-04-15"]
    shanghai = parse_dates(values, column="CreatedDate", timezone="Asia/Shanghai")[0]
    assert list(shanghai) == ["2021-04-16", "2021-04-15"]


def test_flags():
    flags = parse_flag(pd.Series(["true", "FALSE", "1", "0", "", "maybe"]))
    assert flags.tolist() == [True, False, True, False, False, pd.NA]
