"""Every active ISO 4217 currency, with its minor units from Babel's data (issue 10, item 1).

A real Salesforce export held MXN, COP and PEN rows: all three are accepted, amounts keep exact minor units
(JPY and CLP 0 digits, KWD 3, COP 2 per ISO 4217 where CLDR says 0), and credit converts them through the FX
table. An unknown code is refused with the closest code, not a list of 160.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import numpy as np

from attain import money
from attain.ingest.load import load_inputs
from attain.measures.credit import credited_deals
from attain.settings import Settings

EXAMPLES = Path(__file__).resolve().parents[1] / "docs" / "examples"
TODAY = dt.date(2025, 4, 30)
HEADER = "deal_id,owner_id,account,product,amount,currency,stage,created_date,close_date,cancelled_date,cancel_reason\n"


def folder(tmp_path: Path, rows: list[tuple[str, str, str, str]], fx: str = "") -> Path:
    """The example folder with deals (id, amount, currency, stage) owned by R03 (USD plan) and extra FX rows."""
    data = tmp_path / "data"
    shutil.copytree(EXAMPLES, data)
    body = "".join(
        f"{i},R03,Acme,GTX Pro,{amount},{ccy},{stage},2025-02-01,{'2025-03-10' if stage == 'won' else ''},,\n"
        for i, amount, ccy, stage in rows
    )
    (data / "deals.csv").write_text(HEADER + body, encoding="utf-8")
    with (data / "fx_rates.csv").open("a", encoding="utf-8") as out:
        out.write(fx)
    return data


def test_latin_american_and_zero_and_three_digit_currencies_keep_exact_minor_units(tmp_path):
    rows = [
        ("D1", "1234.56", "MXN", "open"),
        ("D2", "4000000.50", "COP", "open"),
        ("D3", "999.99", "PEN", "open"),
        ("D4", "1234", "JPY", "open"),
        ("D5", "1234.567", "KWD", "open"),
        ("D6", "250000", "CLP", "open"),
        ("D7", "12.5", "JPY", "open"),
        ("D8", "10", "PES", "open"),
    ]
    result = load_inputs(folder(tmp_path, rows), "2025-03", Settings(), today=TODAY)
    amounts = dict(
        zip(
            result.deals["deal_id"],
            zip(result.deals["amount_minor"], result.deals["currency"], strict=True),
            strict=True,
        )
    )
    assert amounts == {
        "D1": (123456, "MXN"),
        "D2": (400000050, "COP"),
        "D3": (99999, "PEN"),
        "D4": (1234, "JPY"),
        "D5": (1234567, "KWD"),
        "D6": (250000, "CLP"),
    }
    q = result.quarantine[result.quarantine["table"] == "deals"]
    assert list(zip(q["source_row"], q["column"], q["reason"], strict=True)) == [
        (
            8,
            "amount",
            "amount 12.5 has more than 0 decimal places (JPY has 0); amounts are never rounded on input: "
            "correct the value",
        ),
        (9, "currency", "currency 'PES' is not an active ISO 4217 currency code; did you mean PEN?"),
    ]
    source = result.sources["deals"]
    assert (source.rows_read, source.rows_accepted, source.rows_quarantined) == (8, 6, 2)


def test_won_mxn_cop_pen_deals_are_credited_in_the_plan_currency_at_the_month_rate(tmp_path):
    rows = [("D1", "1000.00", "MXN", "won"), ("D2", "4000000.00", "COP", "won"), ("D3", "1000.00", "PEN", "won")]
    fx = "2025-03,MXN,0.0500\n2025-03,COP,0.00025\n2025-03,PEN,0.2700\n"
    settings = Settings()
    result = load_inputs(folder(tmp_path, rows, fx), "2025-03", settings, today=TODAY)
    assert result.quarantine[result.quarantine["table"] == "deals"].empty
    credit = credited_deals(result.deals, result.credit_splits, result.reps, result.fx_rates, "2025-03", settings)
    got = dict(zip(credit["deal_id"], credit["credit_minor"], strict=True))
    assert got == {"D1": 5000, "D2": 100000, "D3": 27000}  # USD cents: 50.00, 1,000.00, 270.00


def test_minor_units_come_from_iso_4217_and_format_for_every_digit_count():
    digits = money.MINOR_DIGITS
    assert (digits["JPY"], digits["CLP"], digits["KWD"], digits["BHD"], digits["CLF"]) == (0, 0, 3, 3, 4)
    assert (digits["COP"], digits["HUF"], digits["IDR"], digits["ISK"], digits["TWD"]) == (2, 2, 2, 0, 2)
    assert {"MXN", "PEN", "VES", "ZWG"} <= set(digits) and not {"XXX", "XAU", "CNH", "HRK"} & set(digits)
    assert len(digits) > 150
    assert [money.format_minor(1234567, c) for c in ("JPY", "USD", "KWD", "CLF")] == [
        "1234567",
        "12345.67",
        "1234.567",
        "123.4567",
    ]
    assert money.to_minor("1234.567", "KWD") == 1234567
    converted = money.convert(np.array([1234567]), "KWD", "JPY", "490.5")  # 1234.567 KWD at 490.5 JPY/KWD
    assert converted.tolist() == [605555]  # 605,555.1135 JPY, rounded half-up once


def test_an_unknown_code_names_the_closest_active_code():
    unknown = "currency '{}' is not an active ISO 4217 currency code; did you mean {}?"
    assert money.unknown_currency_reason("USS") == unknown.format("USS", "USD")
    assert money.unknown_currency_reason("RMB") == unknown.format("RMB", "CNY")
    assert money.unknown_currency_reason("ZZZ") == (
        "currency 'ZZZ' is not an active ISO 4217 currency code; use the 3-letter ISO code, for example USD, EUR or JPY"
    )
