"""Implausible values at ingest: amount ceilings, outliers against the rep's median, unsafe and overlong text,
won deals without an account, product aliases. Every folder is written by the test itself."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pandas as pd

from attain.ingest.load import load_inputs
from attain.ingest.report import validate_path
from attain.settings import Settings

MONTH = "2025-03"
TODAY = dt.date(2025, 4, 30)
DEAL_COLUMNS = "deal_id,owner_id,account,product,amount,currency,stage,created_date,close_date"


def write_folder(tmp_path: Path, deal_rows: list[str], reps: list[str] | None = None, fx: list[str] = ()) -> Path:
    """A minimal data folder: two reps (R1 paid in USD, R2 in JPY), their March targets, the given deals."""
    folder = tmp_path / "data"
    folder.mkdir()
    reps = reps or [
        "R1,Ann Lee,ann@example.com,rep,,East,APAC,2020-01-01,en,USD",
        "R2,Bo Yu,bo@example.com,rep,,East,APAC,2020-01-01,en,JPY",
    ]
    (folder / "reps.csv").write_text(
        "rep_id,name,email,role,manager_id,team,region,hire_date,locale,currency\n" + "\n".join(reps) + "\n",
        encoding="utf-8",
    )
    ids = [line.split(",")[0] for line in reps]
    (folder / "targets.csv").write_text(
        "scope,scope_id,month,metric,amount,effective_date\n"
        + "".join(f"rep,{rep},{MONTH},revenue,1000,2025-01-01\n" for rep in ids),
        encoding="utf-8",
    )
    (folder / "deals.csv").write_text(DEAL_COLUMNS + "\n" + "\n".join(deal_rows) + "\n", encoding="utf-8")
    if fx:
        (folder / "fx_rates.csv").write_text("month,currency,rate\n" + "\n".join(fx) + "\n", encoding="utf-8")
    return folder


def load(folder: Path, settings: Settings | None = None):
    return load_inputs(folder, MONTH, settings or Settings(), today=TODAY)


def reasons(result) -> dict[tuple[int, str], str]:
    q = result.quarantine[result.quarantine["table"] == "deals"]
    return {
        (row, column): reason for row, column, reason in zip(q["source_row"], q["column"], q["reason"], strict=True)
    }


def assert_rows_add_up(result, rows_in: int) -> None:
    source = result.sources["deals"]
    assert source.rows_read == rows_in
    assert source.rows_read == source.rows_accepted + source.rows_quarantined + source.rows_skipped
    assert source.rows_accepted == len(result.deals)


def won(deal_id: str, amount: str, owner: str = "R1", currency: str = "USD", account: str = "Acme") -> str:
    return f"{deal_id},{owner},{account},Widget,{amount},{currency},won,2025-03-01,2025-03-10"


def test_an_amount_above_the_ceiling_is_quarantined_naming_the_ceiling_and_how_to_raise_it(tmp_path):
    folder = write_folder(
        tmp_path,
        [won("D1", "1000000000000000.00"), won("D2", "5000.00"), won("D3", "20000000", "R2", "JPY")],
    )
    result = load(folder, Settings(amount_ceiling=Decimal(50000000)))
    assert reasons(result) == {
        (2, "amount"): "amount 1000000000000000.00 USD is above the plausible ceiling of 50000000.00 USD "
        "(the ceiling of the base currency); correct the amount, or if the deal is real raise the ceiling: "
        "`--amount-ceiling 10000000000000000` or `amount_ceiling: 10000000000000000` in attain.yaml",
    }
    # JPY has no FX rate here: the ceiling is read as yen, and 20,000,000 JPY is below it.
    assert sorted(result.deals["deal_id"]) == ["D2", "D3"]
    assert_rows_add_up(result, 3)


def test_the_ceiling_is_converted_at_the_months_rate_and_overridden_per_currency(tmp_path):
    folder = write_folder(
        tmp_path,
        [won("D1", "2000000", "R2", "JPY"), won("D2", "900000", "R2", "JPY"), won("D3", "60000.00", "R1", "EUR")],
        fx=["2025-02,JPY,0.0070", "2025-03,JPY,0.0066", "2025-03,EUR,1.0817"],
    )
    # 10,000 USD at 0.0066 USD per yen: 1,515,151 JPY (rounded down to the yen).
    result = load(folder, Settings(amount_ceiling=Decimal(10000), amount_ceilings={"EUR": Decimal(50000)}))
    assert reasons(result) == {
        (2, "amount"): "amount 2000000 JPY is above the plausible ceiling of 1515151 JPY (the ceiling of 10000 USD "
        "at the 2025-03 rate 0.0066); correct the amount, or if the deal is real raise the ceiling: "
        "`--amount-ceiling-for JPY=10000000` or `amount_ceilings: {JPY: 10000000}` in attain.yaml",
        (4, "amount"): "amount 60000.00 EUR is above the plausible ceiling of 50000.00 EUR (the ceiling set for "
        "EUR); correct the amount, or if the deal is real raise the ceiling: "
        "`--amount-ceiling-for EUR=100000` or `amount_ceilings: {EUR: 100000}` in attain.yaml",
    }
    assert result.deals["deal_id"].tolist() == ["D2"]
    assert_rows_add_up(result, 3)


def test_a_won_deal_far_above_the_reps_median_is_quarantined_once_the_median_means_something(tmp_path):
    usual = [won(f"D{i}", "1000.00") for i in range(1, 6)]  # five won deals of 1,000.00: median 1,000.00
    folder = write_folder(
        tmp_path,
        [
            *usual,
            won("D9", "1000000.01"),
            won("D10", "1000000.00"),
            won("E1", "5.00", "R2", "JPY"),
            won("E2", "900000", "R2", "JPY"),
        ],
    )
    result = load(folder)
    assert reasons(result) == {
        (7, "amount"): "amount 1000000.01 USD is more than 1,000 times the median of the 7 won deals of R1 in USD "
        "(1000.00 USD); correct the amount, or if the deal is real raise the limit: `--median-multiple 10000` or "
        "`median_multiple: 10000` in attain.yaml",
    }
    # 1,000,000.00 is exactly 1,000 times the median: not more. R2 has two won deals only: no median judged.
    assert sorted(result.deals["deal_id"]) == ["D1", "D10", "D2", "D3", "D4", "D5", "E1", "E2"]
    assert_rows_add_up(result, 9)
    assert load(folder, Settings(median_multiple=2000)).quarantine.empty


def test_a_won_deal_needs_an_account(tmp_path):
    folder = write_folder(
        tmp_path,
        [
            won("D1", "100.00", account=""),
            "D2,R1,,Widget,100.00,USD,open,2025-03-01,",
            won("D3", "100.00"),
            "D4,R1,,Widget,100.00,USD,won,2025-03-01,2025-04-02",  # won after the month: open in March
        ],
    )
    result = load(folder)
    assert reasons(result) == {
        (2, "account"): "a won deal needs an account: account is blank; enter the customer the deal was won with "
        "(new accounts and surveys are counted by it)",
    }
    assert sorted(result.deals["deal_id"]) == ["D2", "D3", "D4"]
    assert_rows_add_up(result, 4)


def test_control_and_bidi_characters_are_removed_with_a_warning_and_the_row_kept(tmp_path):
    folder = write_folder(
        tmp_path,
        [
            won("D1", "100.00", account="Acme\x00 Corp"),
            won("D2", "100.00", account="\u202eevil\u202c Ltd"),
            won("D3", "100.00", account="Plain"),
        ],
        reps=["R1,Ann\x07 Lee,ann@example.com,rep,,East,APAC,2020-01-01,en,USD"],
    )
    # A NUL byte refuses a CSV file (it is not text); it reaches the account through Parquet (or Excel).
    deals = folder / "deals.csv"
    rows = [line.split(",") for line in deals.read_text(encoding="utf-8").splitlines()]
    pd.DataFrame(rows[1:], columns=rows[0]).to_parquet(folder / "deals.parquet", index=False)
    deals.unlink()
    result = load(folder)
    assert result.quarantine.empty
    accounts = result.deals.set_index("deal_id")["account"].to_dict()
    assert accounts == {"D1": "Acme Corp", "D2": "evil Ltd", "D3": "Plain"}
    assert result.reps["name"].tolist() == ["Ann Lee"]
    assert result.sources["deals"].details["text cleaned"] == (
        "control or bidi-override characters removed (line breaks and tabs read as a space) from account "
        "(rows 2, 3); the rows are kept"
    )
    assert "text cleaned" in result.sources["reps"].details
    assert_rows_add_up(result, 3)
    report = validate_path(folder, month=MONTH, today=TODAY)
    assert "    text cleaned: control or bidi-override characters removed" in report.text()


def test_long_display_text_is_cut_with_an_ellipsis_and_a_long_id_is_a_problem(tmp_path):
    long_name = "N" * 10_000
    long_id = "D" + "9" * 250
    folder = write_folder(tmp_path, [won("D1", "100.00", account=long_name), won(long_id, "100.00")])
    result = load(folder)
    account = result.deals.set_index("deal_id").at["D1", "account"]
    assert account == "N" * 199 + "…" and len(account) == 200
    assert result.sources["deals"].details["text cut"] == (
        "text longer than 200 characters cut to 200 (ending with …) in account (row 2); to keep more, raise the "
        "limit: `--text-max-length 400` or `text_max_length: 400` in attain.yaml"
    )
    assert reasons(result) == {
        (3, "deal_id"): "deal_id is 251 characters long, more than the 200 characters allowed; an id is "
        "never cut (a cut id could name another record): correct it in the export, or raise the limit: "
        "`--text-max-length 400` or `text_max_length: 400` in attain.yaml",
    }
    assert_rows_add_up(result, 2)
    kept = load(folder, Settings(text_max_length=20_000))
    assert kept.quarantine.empty and kept.deals.set_index("deal_id").at["D1", "account"] == long_name


def test_product_aliases_map_the_deals_spelling_to_the_plans_and_stay_traceable(tmp_path):
    folder = write_folder(
        tmp_path, [won("D1", "100.00").replace("Widget", "GTXPro"), won("D2", "100.00").replace("Widget", "GTX Pro")]
    )
    result = load(folder, Settings(product_aliases={"GTXPro": "GTX Pro"}))
    assert result.deals["product"].tolist() == ["GTX Pro", "GTX Pro"]
    assert result.sources["deals"].details["product aliases"] == "'GTXPro' read as 'GTX Pro' (1 row)"
    assert_rows_add_up(result, 2)
    assert load(folder).deals["product"].tolist() == ["GTXPro", "GTX Pro"]  # without the alias: as written
