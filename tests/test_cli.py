"""The `attain` command as a user meets it: exit codes, messages naming file/row/column, no tracebacks."""

import shutil
from pathlib import Path

import pytest

from pipelines.cli import main

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "docs" / "examples"


@pytest.fixture
def data(tmp_path) -> Path:
    folder = tmp_path / "data"
    shutil.copytree(EXAMPLES, folder)
    return folder


def test_validate_clean_folder_exits_zero(data, capsys):
    assert main(["validate", str(data), "--month", "2025-03"]) == 0
    assert "No problems found." in capsys.readouterr().out


def test_validate_lists_every_problem_with_row_and_column(data, capsys):
    shutil.copy(ROOT / "tests/fixtures/bad/deal_values/deals.csv", data / "deals.csv")
    assert main(["validate", str(data), "--month", "2026-10"]) == 1
    out = capsys.readouterr().out
    assert "deals.csv row 3, amount: amount -120.00 is negative" in out
    assert "Traceback" not in out


def test_validate_missing_column_is_one_clear_message(data, capsys):
    text = (data / "deals.csv").read_text().replace("owner_id", "owner", 1)
    (data / "deals.csv").write_text(text)
    assert main(["validate", str(data), "--month", "2026-10"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: deals.csv") and "owner_id" in err and "Traceback" not in err


def test_run_stops_on_a_file_error_with_the_message_not_a_traceback(data, tmp_path, capsys):
    (data / "targets.csv").unlink()
    code = main(["--var", str(tmp_path / "var"), "run", "--month", "2026-10", "--data", str(data), "--quiet"])
    out = capsys.readouterr().out
    assert code == 1
    assert "problem: targets.csv: required file is missing" in out
    assert "Traceback" not in out


def test_ambiguous_dates_need_a_declared_order(capsys):
    export = ROOT / "tests/fixtures/crm/zoho_ambiguous_dates.csv"
    assert main(["validate", str(export)]) == 1
    assert "--date-order" in capsys.readouterr().err
    assert main(["validate", str(export), "--date-order", "dmy"]) == 0
    assert "No problems found." in capsys.readouterr().out


def test_a_failed_check_is_explained_in_the_summary(data, tmp_path, capsys):
    """More than 5% of deal rows rejected: the run stops at the check and says why."""
    lines = (data / "deals.csv").read_text().splitlines()
    header, rows = lines[0], lines[1:]
    broken = [row.replace(",won,", ",wonn,", 1) for row in rows]
    (data / "deals.csv").write_text("\n".join([header, *broken]) + "\n")
    code = main(["--var", str(tmp_path / "var"), "run", "--month", "2026-10", "--data", str(data), "--quiet",
                 "--until", "credited_deals"])
    out = capsys.readouterr().out
    assert code == 1
    assert "check deals.quarantine_within_limit failed:" in out and "above the 5% limit" in out
