"""As-of runs (time progress, issue 13 item 2) and the manager's target review (item 4), read back from real PDFs."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import shutil
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from pypdf import PdfReader

from attain.as_of import run_as_of
from attain.measures import target_review
from attain.measures.time_progress import AsOfError, elapsed, parse_as_of, prorate_targets
from attain.settings import Settings
from pipelines.cli import main, run_months

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "docs" / "examples"


def _pages(path: Path) -> list[str]:
    return [page.extract_text() for page in PdfReader(path).pages]


# ---------------------------------------------------------------- the rules


def test_february_27_is_27_28_by_calendar_days_and_money_rounds_half_up_once():
    share = elapsed("2025-02", dt.date(2025, 2, 27), Settings()).share
    assert share == Fraction(27, 28)
    in_force = pd.DataFrame(
        {"month": ["2025-02", "2025-02", "2025-01"], "target": pd.array([4000000, 1, 999], dtype="Int64")}
    )
    prorated = prorate_targets(in_force, share, "2025-02")
    # 40000.00 x 27/28 = 38571.428571... -> 38571.43; 1 x 27/28 -> 1; another month is left alone
    assert prorated["target"].tolist() == [3857143, 1, 999]


def test_working_days_skip_weekends_and_the_holidays_setting():
    settings = Settings(time_progress_days="working", holidays={"2026-12-25": "Christmas"})
    # December 2026: 23 weekdays, less Christmas (a Friday) = 22; to Tuesday the 15th: 11 weekdays
    assert (
        elapsed("2026-12", dt.date(2026, 12, 15), settings).days,
        elapsed("2026-12", dt.date(2026, 12, 31), settings).total,
    ) == (11, 22)


def test_an_as_of_day_outside_the_month_is_refused_with_the_days_it_may_be():
    with pytest.raises(AsOfError, match=r"2025-03-01 is not in 2025-02.*from 2025-02-01 to 2025-02-28"):
        parse_as_of("2025-02", "2025-03-01")
    with pytest.raises(AsOfError, match="not a date"):
        parse_as_of("2025-02", "27 Feb")


def test_the_cli_refuses_a_day_outside_the_month_and_a_month_in_progress_without_as_of(tmp_path, capsys):
    argv = ["run", "--month", "2025-02", "--data", str(EXAMPLES), "--var", str(tmp_path), "--quiet"]
    assert main([*argv, "--as-of", "2025-03-01"]) == 2
    assert "--as-of 2025-03-01 is not in 2025-02" in capsys.readouterr().err
    current = dt.datetime.now(dt.UTC).strftime("%Y-%m")
    assert main(["run", "--month", current, "--var", str(tmp_path), "--quiet"]) == 2
    assert f"{current} has not ended yet" in capsys.readouterr().err
    assert not (tmp_path / "output").exists() and not (tmp_path / "warehouse.duckdb").exists()


def test_allocation_sums_exactly_and_gives_leftover_units_to_the_largest_remainders():
    assert target_review.allocate(100, [Fraction(1)] * 3, ["a", "b", "c"]) == [34, 33, 33]
    assert target_review.allocate(1000, [Fraction(2), Fraction(1), Fraction(0)], ["a", "b", "c"]) == [667, 333, 0]
    assert target_review.allocate(5, [Fraction(0), Fraction(0)], ["a", "b"]) == [3, 2]


# ---------------------------------------------------------------- an as-of run of the example company


def test_an_as_of_run_prorates_targets_exactly_and_every_page_says_provisional(tmp_path):
    result = run_as_of(EXAMPLES, "2025-02", "2025-02-27", Settings(), tmp_path / "output", processes=2)
    assert result.elapsed.share == Fraction(27, 28) and not result.packs.failed
    packs = result.folder / "2025-02" / "packs"
    assert result.folder == tmp_path / "output" / "as-of-2025-02-27"
    # R01's February target is CNY 40,000.00 (docs/examples/targets.csv): 27/28 of it is 38,571.43
    r01 = _pages(packs / "rep-R01.zh_CN.pdf")
    assert "¥38,571.43" in r01[0] and "¥40,000.00" in r01[0]
    assert all("临时版：截至 2025年2月27日" in page for page in r01)
    assert "临时版" in PdfReader(packs / "rep-R01.zh_CN.pdf").metadata.title
    r03 = PdfReader(packs / "rep-R03.en.pdf")
    assert "provisional, as of Feb 27, 2025" in r03.metadata.title
    assert all("PROVISIONAL: as of Feb 27, 2025, not final" in page.extract_text() for page in r03.pages)
    # nothing paid: no statement, no finance export, no warehouse, no e-mail
    assert "No statement lines this month." in "".join(_pages(packs / "rep-R03.en.pdf"))
    assert sorted(p.name for p in (tmp_path / "output").iterdir()) == ["as-of-2025-02-27"]
    assert [p.name for p in result.folder.rglob("*") if p.is_file() and p.suffix != ".pdf"] == []


# ---------------------------------------------------------------- a year of a small team: month-end + as-of

MONTHS = [f"2025-{m:02d}" for m in range(1, 13)]
#: Monthly target, monthly won revenue (USD) and the day it closes per rep: A's target is too high (40%), B's too
#: low (300%), C's right; A closes late in the month, so A is behind time progress in mid-month.
TEAM = {"A1": (100000, 40000, 20), "B1": (10000, 30000, 10), "C1": (30000, 30000, 10)}
TEAM_QUARTER_TARGET = Decimal("150000.00")  # the team's own target for 2026-Q1 (3 x 50,000.00)


def _company(folder: Path) -> Path:
    folder.mkdir()
    shutil.copytree(EXAMPLES / "plans", folder / "plans")
    rows = ["rep_id,name,email,role,manager_id,team,region,hire_date,leave_date,plan_id,locale,currency,valid_from"]
    rows.append("M9,Mia Boss,mia@example.com,manager,,North,EMEA,2020-01-01,,mgr_usd,en,USD,")
    rows += [f"{r},Rep {r},{r}@example.com,rep,M9,North,EMEA,2020-01-01,,ae_usd,en,USD," for r in TEAM]
    (folder / "reps.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    deals = [
        "deal_id,owner_id,account,product,amount,currency,stage,created_date,close_date,cancelled_date,cancel_reason"
    ]
    targets = ["scope,scope_id,month,metric,amount,effective_date,reason,author"]
    for i, month in enumerate([*MONTHS, "2026-01"]):
        for rep, (target, won, day) in TEAM.items():
            targets.append(f"rep,{rep},{month},revenue,{target}.00,2024-12-15,initial,Mia Boss")
            if month in MONTHS:
                deals.append(
                    f"D{rep}{i:02d},{rep},Acct {rep} {i},GTX Basic,{won}.00,USD,won,{month}-01,{month}-{day},,"
                )
        targets.append(f"rep,M9,{month},revenue,140000.00,2024-12-15,initial,Mia Boss")
    for month in ("2026-01", "2026-02", "2026-03"):
        targets.append(f"team,North,{month},revenue,50000.00,2025-12-01,initial,Mia Boss")
    (folder / "deals.csv").write_text("\n".join(deals) + "\n", encoding="utf-8")
    (folder / "targets.csv").write_text("\n".join(targets) + "\n", encoding="utf-8")
    return folder


def _figures(var: Path) -> dict[str, object]:
    """Everything a month-end of 2025-12 produced: the warehouse's tables and the bytes of every file."""
    with duckdb.connect(str(var / "warehouse.duckdb"), read_only=True) as con:
        tables = [
            r[0]
            for r in con.execute("SELECT table_schema || '.' || table_name FROM information_schema.tables").fetchall()
        ]
        rows = {
            t: con.execute(f"SELECT * FROM {t} WHERE month = '2025-12' ORDER BY ALL").fetchall()
            for t in ("attain.attainment", "attain.incentive_ledger", "attain.payouts", "attain.attainment_trend")
        }
    files = {
        str(p.relative_to(var)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted((var / "output" / "2025-12").rglob("*"))
        if p.is_file()
    }
    return {"tables": sorted(tables), "rows": rows, "files": files}


@pytest.mark.slow
def test_as_of_run_leaves_the_month_end_untouched_and_the_target_review_flags_wrong_targets(tmp_path, capsys):
    data, var = _company(tmp_path / "data"), tmp_path / "var"
    (first,) = run_months(["2025-12"], var=var, data_dir=data, show_progress=False)
    assert first.success, first.error
    before = _figures(var)

    # the target review page of the manager's month-end pack
    text = "\n".join(_pages(var / "output" / "2025-12" / "packs" / "manager-M9.en.pdf"))
    assert re.search(r"Rep A1 .*target likely too high", text)
    assert re.search(r"Rep B1 .*target likely too low", text)
    assert not re.search(r"Rep C1 .*target likely", text)
    assert "Suggested revenue targets for FY2026 Q1" in text and "The suggestions add up to the team target" in text
    rows = re.findall(
        r"^rep,(\w+),(2026-0[123]),revenue,([\d.]+),2026-01-01,suggested by target review,Mia Boss$", text, re.M
    )
    assert len(rows) == 9 and sum(Decimal(amount) for *_, amount in rows) == TEAM_QUARTER_TARGET
    # C1 sold the same every month: no trend, no seasonality, so it keeps its share of the history
    assert {r for r, *_ in rows} == set(TEAM)

    # an as-of run of the same month writes its own folder and nothing else
    assert (
        main(["run", "--month", "2025-12", "--as-of", "2025-12-15", "--data", str(data), "--var", str(var), "--quiet"])
        == 0
    )
    out = capsys.readouterr().out
    assert "15 of 31 calendar days (48.4%)" in out and "reps behind time progress (revenue): A1" in out
    assert _figures(var) == before
    provisional = var / "output" / "as-of-2025-12-15" / "2025-12" / "packs" / "rep-A1.en.pdf"
    assert all("PROVISIONAL: as of Dec 15, 2025, not final" in page for page in _pages(provisional))
    assert "Behind time progress: Revenue is at 0.0% of the month's target with 48.4% of the month gone" in "".join(
        _pages(provisional)
    )

    # a later month-end of the month gives byte-identical figures and files
    (again,) = run_months(["2025-12"], var=var, data_dir=data, show_progress=False)
    assert again.success and _figures(var) == before
