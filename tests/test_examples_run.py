"""The documented example folder runs end to end, and `attain validate` fails exactly where `attain run` would.

Each broken copy of docs/examples is written by the test; validate (the CLI) must name the problem, and the
month-end run of the same copy must stop on that same problem.
"""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from attain.ingest.load import load_inputs
from attain.ingest.report import validate_path
from attain.settings import Settings
from pipelines.cli import main, run_months

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "docs" / "examples"
MONTH = "2025-03"


@pytest.fixture
def data(tmp_path) -> Path:
    folder = tmp_path / "data"
    shutil.copytree(EXAMPLES, folder)
    return folder


@pytest.mark.slow
def test_the_example_folder_validates_then_runs(data, tmp_path, capsys):
    assert main(["validate", str(data), "--month", MONTH]) == 0
    out = capsys.readouterr().out
    assert out.rstrip().endswith("No problems found.") and "warning" not in out
    [summary] = run_months([MONTH], var=tmp_path / "var", data_dir=data, show_progress=False)
    assert summary.success, summary.lines()
    assert summary.counts["deals"] == 9 and summary.counts.get("quarantined_rows", 0) == 0
    assert summary.counts["rep_packs"] == 5 and summary.counts["manager_packs"] == 2
    assert summary.payable == {"CNY": "15000.00", "USD": "2537.00"}


def _drop_manager_target(data: Path) -> None:
    lines = (data / "targets.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    (data / "targets.csv").write_text("".join(line for line in lines if not line.startswith("rep,M02,")))


def _unknown_plan_id(data: Path) -> None:
    text = (data / "reps.csv").read_text(encoding="utf-8")
    (data / "reps.csv").write_text(text.replace(",ae_cny,", ",rep_cn,"), encoding="utf-8")


def _rate_twenty(data: Path) -> None:
    plan = data / "plans" / "ae_usd.yaml"
    plan.write_text(plan.read_text(encoding="utf-8").replace("{from: 0%, rate: 3%}", "{from: 0%, rate: twenty}"))


MISSING_TARGET = (
    "targets: no target in force for 2025-03 for M02 (Sarah Jones); add a row per person to targets (scope rep, "
    'month 2025-03, metric revenue), or one with a blank amount for an explicit "no target" (a manager without a '
    "personal quota, say)"
)
BROKEN = {
    "manager target removed": (
        _drop_manager_target,
        MISSING_TARGET,
        f"check targets_in_force.every_rep_has_a_target failed: {MISSING_TARGET}",
    ),
    "plan id unknown": (
        _unknown_plan_id,
        "reps: plan_id: no plan file defines plan_id 'rep_cn'; known plan ids: ae_cny, ae_usd, mgr_cny, mgr_usd. "
        "Add plans/rep_cn.yaml or fix the roster (the plan of R01, R02)",
        "no plan file defines plan_id 'rep_cn'",
    ),
    "rate: twenty": (
        _rate_twenty,
        "plans/ae_usd.yaml: components[0].tiers[0].rate: 'twenty' is not a number; write a decimal such as 0.06 "
        'or "6%"',
        "components[0].tiers[0].rate: 'twenty' is not a number",
    ),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", list(BROKEN))
def test_validate_fails_exactly_where_the_run_stops(case, data, tmp_path, capsys):
    breaks, problem, run_error = BROKEN[case]
    breaks(data)
    assert main(["validate", str(data), "--month", MONTH]) == 1
    out = capsys.readouterr().out
    assert out.splitlines()[-2:] == [f"1 problem(s) that would stop `attain run --month {MONTH}`:", f"  {problem}"]
    assert validate_path(data, month=MONTH).problems == [problem]
    [summary] = run_months([MONTH], var=tmp_path / "var", data_dir=data, show_progress=False, until="payouts")
    assert not summary.success
    assert run_error in summary.error, summary.lines()


def test_the_quarantine_limit_is_a_problem_before_the_run(data, capsys):
    deals = pd.read_csv(data / "deals.csv", dtype=str, keep_default_na=False)
    deals.loc[deals["deal_id"] == "D1002", "amount"] = "-1"  # 1 of 9 deal rows rejected: 11.1% > 5%
    deals.to_csv(data / "deals.csv", index=False)
    report = validate_path(data, month=MONTH)
    assert report.problems == [
        "deals: 1 of 9 deal rows (11.1%) were rejected, above the 5% limit: look at the quarantine table, fix the "
        "export, or raise the limit: `--quarantine-max-share 0.12` or `quarantine_max_share: 0.12` in attain.yaml"
    ]
    result = load_inputs(data, MONTH, Settings())
    assert len(result.deals) + result.sources["deals"].rows_quarantined == 9
    assert validate_path(data, month=MONTH, settings=Settings(quarantine_max_share=Decimal("0.2"))).problems == []


def test_a_spiff_product_no_deal_has_is_a_warning_with_the_closest_spelling(data, capsys):
    plan = data / "plans" / "ae_usd.yaml"
    plan.write_text(
        plan.read_text(encoding="utf-8").replace(
            "products: [Helio Enterprise]\n    valid_from: 2026-07-01", "products: [GTXPro]\n    valid_from: 2025-01-01"
        ),
        encoding="utf-8",
    )
    report = validate_path(data, month=MONTH)
    assert report.ok and report.problems == []
    assert report.warnings == [
        "plans/ae_usd.yaml: spiff 'enterprise_spiff' names product 'GTXPro', which no deal has; did you mean "
        "'GTX Pro'? 'GTX Pro' appears in 3 deals; correct the plan, or read the deals' spelling as the plan's: "
        "`--product-alias 'GTX Pro=GTXPro'` or `product_aliases: {GTX Pro: GTXPro}` in attain.yaml"
    ]
    assert "1 warning(s) (the run goes on, but check them):" in report.text()
    aliased = validate_path(data, month=MONTH, settings=Settings(product_aliases={"GTX Pro": "GTXPro"}))
    assert aliased.warnings == []
    aliases = aliased.sources["deals"].details["product aliases"]
    assert aliases == "'GTX Pro' read as 'GTXPro' (3 rows)"
    (data / "attain.yaml").write_text('product_aliases: {"GTX Pro": "GTXPro"}\n', encoding="utf-8")
    assert main(["validate", str(data), "--month", MONTH]) == 0
    out = capsys.readouterr().out
    assert "    product aliases: 'GTX Pro' read as 'GTXPro' (3 rows)" in out and "warning" not in out
