"""CRM exports as they come: derived deal ids that do not collide, and mapping files that fit any export.

Every export and mapping file is written here by the test. Each ingest goes through ``load_inputs`` as a
run does, and checks that every row read is accepted, quarantined (with its exact reason) or counted as
an exact repeat.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
from pathlib import Path

import pytest

from attain.ingest.load import load_inputs
from attain.ingest.profiles import UnknownExportError
from attain.ingest.raw import InputFileError
from attain.settings import Settings

MONTH = "2025-03"
TODAY = dt.date(2025, 4, 2)
REPS = """rep_id,name,email,role,manager_id,team,region,hire_date,leave_date,plan_id,locale,currency,valid_from
M01,Sarah Connor,sarah.connor@acme.example,manager,,West,Americas,2018-01-08,,,en,USD,
R01,Jane Doe,jane.doe@acme.example,rep,M01,West,Americas,2021-05-03,,,en,USD,
R02,Bob Smith,bob.smith@acme.example,rep,M01,West,Americas,2022-02-14,,,en,USD,
"""
TARGETS = "scope,scope_id,month,metric,amount,effective_date,reason,author\n" + "".join(
    f"rep,{rep},{MONTH},revenue,1000.00,2025-01-01,initial,ops\n" for rep in ("M01", "R01", "R02")
)
FX = "month,currency,rate\n" + "".join(f"{m},EUR,1.0817\n" for m in ("2025-01", "2025-02", "2025-03"))
HUBSPOT = ["Deal Name", "Associated Company", "Deal owner", "Amount", "Deal Stage", "Pipeline", "Close Date",
           "Create Date"]  # fmt: skip


def folder(tmp_path: Path, rows: list[list[str]], *, encoding: str = "utf-8", delimiter: str = ",") -> Path:
    """A data folder: roster, targets, FX rates and ``rows`` (header first) as deals.csv."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "reps.csv").write_text(REPS, encoding="utf-8")
    (tmp_path / "targets.csv").write_text(TARGETS, encoding="utf-8")
    (tmp_path / "fx_rates.csv").write_text(FX, encoding="utf-8")
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    (tmp_path / "deals.csv").write_bytes(buffer.getvalue().encode(encoding))
    return tmp_path


def mapping(tmp_path: Path, text: str, name: str = "my-crm.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def ingest(data: Path, **options):
    return load_inputs(data, MONTH, Settings(), today=TODAY, **options)


def counts(result) -> tuple[int, int, int, int]:
    """(rows read, accepted, quarantined, skipped) of the deals file, checking they add up."""
    source = result.sources["deals"]
    assert source.rows_read == source.rows_accepted + source.rows_quarantined + source.rows_skipped
    assert source.rows_accepted == len(result.deals)
    assert source.rows_quarantined == result.quarantine["source_row"].nunique()
    return source.rows_read, source.rows_accepted, source.rows_quarantined, source.rows_skipped


def deals(result, columns=("owner_id", "account", "amount_minor", "currency", "stage")) -> list[tuple]:
    return sorted(tuple(row) for row in result.deals[list(columns)].itertuples(index=False))


# ---------------------------------------------------------------- item 5: derived deal ids


def same_name_pairs() -> list[list[str]]:
    """Ten pairs of won HubSpot deals (no Record ID) sharing name, owner and create date, and one other deal.

    Pairs 0-4 differ only in amount, pairs 5-9 only in company: name + create date (+ owner) cannot tell
    them apart, and the deals of each pair are worth different amounts or belong to different customers.
    """
    rows = []
    for pair in range(10):
        for twin in range(2):
            amount = f"{1000 + pair * 100 + twin * 50}.00" if pair < 5 else f"{2000 + pair}.50"
            company = f"Company {pair}" if pair < 5 else f"Company {pair}-{'AB'[twin]}"
            owner = "Jane Doe" if pair % 2 else "Bob Smith"
            rows.append([f"Renewal {pair}", company, owner, amount, "Closed Won", "Sales",
                         f"2025-03-{pair + 10} 16:02", f"2025-02-{pair + 3} 09:{11 + twin}"])  # fmt: skip
    rows.append(["Expansion", "Initech", "Jane Doe", "777.70", "Closed Won", "Sales", "2025-03-28 10:00",
                 "2025-01-20 08:00"])  # fmt: skip
    return rows


def excel_resave(rows: list[list[str]]) -> list[list[str]]:
    """``rows`` as Excel in China saves them: dates ``2025/3/14 16:02``, ``1000.5`` for ``1000.50``, any order."""

    def date(text: str) -> str:
        day, time = text.split(" ")
        year, month, mday = day.split("-")
        return f"{year}/{int(month)}/{int(mday)} {time}"

    def amount(text: str) -> str:
        return text.rstrip("0").rstrip(".")

    return [[n, c, o, amount(a), s, p, date(close), date(created)] for n, c, o, a, s, p, close, created in rows]


def test_same_name_same_day_deals_get_distinct_ids_that_survive_a_resave(tmp_path):
    rows = same_name_pairs()
    usd = mapping(tmp_path, "default_currency: USD\n", "usd.yaml")  # a single-currency HubSpot account
    result = ingest(folder(tmp_path / "export", [HUBSPOT, *rows]), mapping_file=usd)
    assert counts(result) == (21, 21, 0, 0)
    assert result.quarantine.empty
    ids = dict(zip(result.deals["source_row"], result.deals["deal_id"], strict=True))
    assert len(set(ids.values())) == 21
    assert all(deal_id.startswith("crm-") and len(deal_id) == 20 for deal_id in ids.values())
    # A deal the profile's own columns (Deal Name, Create Date, Deal owner) tell apart keeps the id it always had.
    base = "Expansion\x1f2025-01-20\x1fJane Doe"
    assert ids[22] == "crm-" + hashlib.blake2b(base.encode("utf-8"), digest_size=8).hexdigest()
    assert result.sources["deals"].details["deal ids"] == (
        "derived from Deal Name, Create Date, Deal owner; for the 20 rows those do not tell apart, also from "
        "Associated Company, Amount, Deal Stage, Close Date (no id column: add 'Record ID' or 'Deal ID' to the "
        "export to keep ids stable when these change)"
    )

    # The same export re-saved by Excel: rows in another order, GB18030, semicolons, other date and number text.
    resaved = ingest(
        folder(tmp_path / "resaved", [HUBSPOT, *reversed(excel_resave(rows))], encoding="gb18030", delimiter=";"),
        mapping_file=usd,
    )
    assert counts(resaved) == (21, 21, 0, 0)
    assert dict(zip(resaved.deals["deal_id"], resaved.deals["account"], strict=True)) == dict(
        zip(result.deals["deal_id"], result.deals["account"], strict=True)
    )
    assert deals(resaved, ("deal_id", "owner_id", "amount_minor", "close_date")) == deals(
        result, ("deal_id", "owner_id", "amount_minor", "close_date")
    )


def test_rows_a_derived_id_cannot_tell_apart_are_quarantined_saying_how_the_id_was_made(tmp_path):
    twin = ["Renewal", "Globex", "Jane Doe", "1200.00", "Closed Won", "Sales", "2025-03-14 16:02", "2025-02-03 09:11"]
    rows = [
        twin,
        [*twin[:5], "Partners", *twin[6:]],  # the same deal in every column the id is made from
        ["Renewal", "Globex", "Bob Smith", "800.00", "Closed Won", "Sales", "2025-03-15", "2025-02-03"],
        ["Renewal", "Globex", "Bob Smith", "800.00", "Closed Won", "Sales", "2025-03-15", "2025-02-03"],
    ]
    result = ingest(folder(tmp_path, [HUBSPOT, *rows]), mapping_file=mapping(tmp_path, "default_currency: USD\n"))
    # The exact repeat (rows 4 and 5, equal in every column) is one deal written twice: one kept, one counted.
    assert counts(result) == (4, 1, 2, 1)
    assert deals(result) == [("R02", "Globex", 80_000, "USD", "won")]
    q = result.quarantine
    assert q[["source_row", "column"]].values.tolist() == [[2, "deal_id"], [3, "deal_id"]]
    deal_id = q["value"].iloc[0]
    assert deal_id.startswith("crm-") and set(q["value"]) == {deal_id}
    used = "Deal Name, Create Date, Deal owner, Associated Company, Amount, Deal Stage, Close Date"
    tail = (
        "has the same values there but a different Pipeline: add a deal id column to the export ('Record ID' or "
        "'Deal ID'), or map the column that identifies each deal under columns: deal_id in a mapping file"
    )
    assert q["reason"].tolist() == [
        f"deal id {deal_id} was derived from {used} (the export has no deal id column) and row {other} {tail}"
        for other in (3, 2)
    ]


# ---------------------------------------------------------------- item 6: mapping files


def test_a_constant_stage_and_currency_for_an_all_won_export(tmp_path):
    data = folder(
        tmp_path,
        [
            ["Ref", "Salesperson", "Customer", "Value", "Won On"],
            ["W-1", "Jane Doe", "Globex", "1.200,50", "14.03.2025"],
            ["W-2", "Bob Smith", "Initech", "800", "15.03.2025"],
            ["W-3", "Nobody Known", "Hooli", "99", "16.03.2025"],
        ],
        delimiter=";",
    )
    rules = mapping(
        tmp_path,
        "label: Won deals report\ndecimal_comma: true\ndate_order: DMY\ncolumns:\n  deal_id: Ref\n"
        "  owner: Salesperson\n  account: Customer\n  amount: Value\n  close_date: Won On\n"
        "  stage: {constant: won}\n  currency: {constant: EUR}\n",
    )
    result = ingest(data, mapping_file=rules)
    assert counts(result) == (3, 2, 1, 0)
    assert deals(result) == [("R01", "Globex", 120_050, "EUR", "won"), ("R02", "Initech", 80_000, "EUR", "won")]
    assert result.quarantine[["source_row", "column", "value", "reason"]].values.tolist() == [
        [
            4,
            "Salesperson",
            "Nobody Known",
            "owner 'Nobody Known' matches no rep of the roster by rep_id, e-mail or name; map it in the owners: "
            "section of a mapping file or in owner_aliases.csv (columns owner, rep_id) next to the deals file",
        ]
    ]
    assert result.sources["deals"].details["stages"] == "from column \"'won' (constant)\""


def test_account_joined_from_two_columns_and_a_date_from_date_and_time(tmp_path):
    data = folder(
        tmp_path,
        [
            ["ID", "Owner", "Company", "Branch", "Amount", "Status", "Closed", "Opened On", "Opened At"],
            ["1", "Jane Doe", "Globex", "Berlin", "EUR 100", "won", "2025-03-03", "2025-02-01", "23:30"],
            ["2", "Bob Smith", "Initech", "", "EUR 200", "won", "2025-03-04", "2025-02-02", "08:00"],
            ["3", "Bob Smith", "Hooli", "Paris", "EUR 300", "won", "2025-03-05", "2025-02-30", "08:00"],
        ],
    )
    rules = mapping(
        tmp_path,
        'columns:\n  deal_id: ID\n  owner: Owner\n  account: {join: [Company, Branch], sep: " - "}\n'
        "  amount: Amount\n  stage: Status\n  close_date: Closed\n"
        '  created_date: {join: [Opened On, Opened At], sep: " "}\n',
    )
    result = ingest(data, mapping_file=rules)
    assert counts(result) == (3, 2, 1, 0)
    assert deals(result) == [("R01", "Globex - Berlin", 10_000, "EUR", "won"), ("R02", "Initech", 20_000, "EUR", "won")]
    assert result.deals["created_date"].dt.strftime("%Y-%m-%d").tolist() == ["2025-02-01", "2025-02-02"]
    row = result.quarantine.iloc[0]
    assert (row["source_row"], row["column"], row["value"]) == (4, "Opened On + Opened At", "2025-02-30 08:00")
    assert row["reason"] == "'2025-02-30' is not a calendar date"


def test_owner_split_from_one_column_and_owner_found_by_a_pattern(tmp_path):
    data = folder(
        tmp_path,
        [
            ["Deal", "Owner (ID - Name)", "Amount", "Stage", "Close"],
            ["D1", "R01 - Jane Doe", "USD 100", "won", "2025-03-03"],
            ["D2", "R02 - Bob Smith", "USD 200", "lost", "2025-03-04"],
            ["D3", "Jane Doe", "USD 300", "won", "2025-03-05"],
        ],
    )
    rules = mapping(
        tmp_path,
        'columns:\n  deal_id: Deal\n  owner: {column: "Owner (ID - Name)", split: " - ", part: 0}\n'
        "  amount: Amount\n  stage: Stage\n  close_date: Close\n",
    )
    result = ingest(data, mapping_file=rules)
    assert counts(result) == (3, 3, 0, 0)
    # 'Jane Doe' has no ' - ': its part 0 is the whole cell, which matches the roster by name.
    assert deals(result, ("deal_id", "owner_id", "stage")) == [("D1", "R01", "won"), ("D2", "R02", "lost"),
                                                               ("D3", "R01", "won")]  # fmt: skip

    second = mapping(tmp_path, rules.read_text(encoding="utf-8").replace("part: 0", "part: 1"), "second.yaml")
    result = ingest(data, mapping_file=second)
    assert counts(result) == (3, 2, 1, 0)
    assert deals(result, ("deal_id", "owner_id")) == [("D1", "R01"), ("D2", "R02")]
    column = "Owner (ID - Name) [split ' - ' part 1]"
    assert result.quarantine[["source_row", "column", "value", "reason"]].values.tolist() == [
        [4, column, "", f"no owner in column {column!r}; fill it in the CRM or map it in the owners: section of a "
         "mapping file or in owner_aliases.csv (columns owner, rep_id) next to the deals file"]
    ]  # fmt: skip

    emails = folder(
        tmp_path / "emails",
        [
            ["Deal", "Owner", "Amount", "Stage", "Close"],
            ["D1", "Jane Doe <jane.doe@acme.example>", "USD 100", "won", "2025-03-03"],
            ["D2", "B. Smith <BOB.SMITH@acme.example>", "USD 200", "won", "2025-03-04"],
        ],
    )
    pattern = mapping(
        tmp_path,
        'columns:\n  deal_id: Deal\n  owner: {column: Owner, pattern: "<([^>]+)>"}\n'
        "  amount: Amount\n  stage: Stage\n  close_date: Close\n",
        "pattern.yaml",
    )
    result = ingest(emails, mapping_file=pattern)
    assert counts(result) == (2, 2, 0, 0)
    assert deals(result, ("deal_id", "owner_id")) == [("D1", "R01"), ("D2", "R02")]


SF_ROWS = [
    ["Jane Doe", "Globex", "Closed Won", "$1,200.00", "3/14/2025", "0065g00000AbCdE"],
    ["Bob Smith", "Initech", "Closed Lost", "$800.00", "3/15/2025", "0065g00000AbCdF"],
]


def test_headers_match_ignoring_case_spaces_underscores_and_punctuation(tmp_path):
    header = ["opportunity_owner", "ACCOUNT-NAME", "stage", "Amount ", "close_date", "Opportunity.ID"]
    result = ingest(folder(tmp_path, [header, *SF_ROWS]))
    assert result.sources["deals"].profile == "salesforce-report"
    assert counts(result) == (2, 2, 0, 0)
    assert deals(result, ("deal_id", "owner_id", "account", "amount_minor", "stage")) == [
        ("0065g00000AbCdEAAV", "R01", "Globex", 120_000, "won"),
        ("0065g00000AbCdFAAV", "R02", "Initech", 80_000, "lost"),
    ]
    # A mapping file's names match the same way: 'close date' finds CLOSE-DATE.
    other = folder(
        tmp_path / "other", [["Rep", "Stage", "Amount", "CLOSE-DATE", "Ref"], *[r[:1] + r[2:] for r in SF_ROWS]]
    )
    rules = mapping(tmp_path, "extends: salesforce-report\ncolumns:\n  owner: rep\n  close_date: close date\n"
                    "  deal_id: REF\n")  # fmt: skip
    result = ingest(other, mapping_file=rules)
    assert counts(result) == (2, 2, 0, 0)
    assert result.deals["close_date"].dt.strftime("%Y-%m-%d").tolist() == ["2025-03-14", "2025-03-15"]


def test_closest_layout_message_never_calls_a_differently_spelt_column_missing(tmp_path):
    header = ["opportunity_owner", "Account Name", "Stage", "Amount", "Close Dt", "Opportunity ID"]
    data = folder(tmp_path, [header, *SF_ROWS])
    with pytest.raises(UnknownExportError) as error:
        ingest(data)
    assert error.value.message == (
        "is neither in the deals contract layout nor a known CRM export. Closest profile: salesforce-report "
        "(Salesforce report export), which lacks: close_date ('Close Date'; the file's closest column is "
        "'Close Dt'). Its columns are: opportunity_owner, Account Name, Stage, Amount, Close Dt, Opportunity ID. "
        "Export the missing columns, choose a profile with --profile, or name the file's own columns in a mapping "
        "file (docs/crm-exports.md), for example a file my-crm.yaml holding the lines\n"
        "extends: salesforce-report\ncolumns:\n  close_date: Close Dt\nand pass it with --mapping my-crm.yaml"
    )
    # The lines the message gives are a mapping file that works.
    lines = error.value.message.split("holding the lines\n")[1].split("\nand pass it")[0]
    result = ingest(data, mapping_file=mapping(tmp_path, lines + "\n"))
    assert counts(result) == (2, 2, 0, 0)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "extends: salesforce-report\ndefault_curency: USD\n",
            "unknown key default_curency (did you mean default_currency?); allowed: label, extends, columns, "
            "detect, deal_id_from, salesforce_ids, stages, owners, default_currency, date_order, decimal_comma, "
            "encoding, delimiter, sheet",
        ),
        (
            "extends: salesforce-report\ncolumns:\n  close_dat: Close Dt\n",
            "columns: 'close_dat' is not a deals column (did you mean close_date?); use deal_id, owner, account, "
            "product, amount, currency, stage, created_date, close_date, cancelled_date, cancel_reason, won, closed",
        ),
        (
            "extends: salesforce-report\ncolumns:\n  close_date: Closing Date\n",
            "columns: close_date: 'Closing Date' is not a column of deals.csv; the closest header is 'Close Dt'. "
            "Its columns are: opportunity_owner, Account Name, Stage, Amount, Close Dt, Opportunity ID",
        ),
        (
            "extends: salesforce-report\ncolumns:\n  close_date: Close Dt\n  account: {join: [Account Name, Branch]}\n",
            "columns: account: 'Branch' is not a column of deals.csv. Its columns are: opportunity_owner, "
            "Account Name, Stage, Amount, Close Dt, Opportunity ID",
        ),
        (
            'extends: salesforce-report\ncolumns:\n  owner: {column: opportunity_owner, splt: " - "}\n',
            "columns: owner: 'splt' is not a column rule key (did you mean split?); write {constant: VALUE}, "
            '{join: [COLUMN, COLUMN], sep: " "}, {column: COLUMN, split: " - ", part: 0} or '
            '{column: COLUMN, pattern: "REGEX WITH ONE (GROUP)"} (docs/crm-exports.md)',
        ),
        (
            "extends: salesforce-report\ncolumns:\n"
            '  owner: {column: opportunity_owner, pattern: "(\\\\w+) (\\\\w+)"}\n',
            "columns: owner: pattern: '(\\\\w+) (\\\\w+)' has 2 groups; it needs exactly one (...)",
        ),
    ],
)
def test_a_mistake_in_a_mapping_file_names_the_file_the_key_and_the_closest_name(tmp_path, text, message):
    header = ["opportunity_owner", "Account Name", "Stage", "Amount", "Close Dt", "Opportunity ID"]
    data = folder(tmp_path, [header, *SF_ROWS])
    with pytest.raises(InputFileError) as error:
        ingest(data, mapping_file=mapping(tmp_path, text))
    assert str(error.value) == f"my-crm.yaml: {message}"


def test_a_mapping_file_that_leaves_out_a_needed_column_is_given_the_line_to_add(tmp_path):
    data = folder(tmp_path, [["Rep", "Value", "Deal Stage", "Closed"], ["Jane Doe", "USD 5", "won", "2025-03-03"]])
    rules = mapping(tmp_path, "columns:\n  owner: Rep\n  amount: Value\n  close_date: Closed\n")
    with pytest.raises(InputFileError) as error:
        ingest(data, mapping_file=rules)
    assert str(error.value) == (
        "deals.csv: lacks columns the my-crm profile needs: stage (not mapped; the file's closest column is "
        "'Deal Stage'). Its columns are: Rep, Value, Deal Stage, Closed. Export the missing columns, or name the "
        "file's own columns in the mapping file my-crm.yaml, with the lines\ncolumns:\n  stage: Deal Stage"
    )
    rules.write_text(rules.read_text(encoding="utf-8") + "  stage: Deal Stage\n", encoding="utf-8")
    result = ingest(data, mapping_file=rules)
    assert counts(result) == (1, 1, 0, 0)
    assert deals(result) == [("R01", "", 500, "USD", "won")]
