"""What-if plan modelling (issue 14 item 1): past months paid again under draft plans, in memory."""

from __future__ import annotations

import dataclasses
import hashlib
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from pypdf import PdfReader

from attain.ingest.load import Inputs
from attain.pay import whatif
from attain.pay.plans import PlanBook, parse_plan_text
from pipelines.cli import main
from pipelines.definitions import build_definitions
from tests import measures_builders as build

ROOT = Path(__file__).resolve().parents[1]

PLAN = """\
plan_id: p1
currency: USD
components:
  - id: commission
    kind: commission
    tiers:
      - {from: 0%, rate: RATE1}
      - {from: 100%, rate: RATE2}
  - id: quota_bonus
    kind: bonus
    milestones:
      - {at: 100%, amount: 500.00}
"""


def _book(rate1: str, rate2: str) -> PlanBook:
    text = PLAN.replace("RATE1", rate1).replace("RATE2", rate2)
    return PlanBook({"p1": parse_plan_text(text, "p.yaml")}, {"p.yaml": text})


def _inputs() -> Inputs:
    """Two reps in March 2025: A reaches 120% of 10,000.00, B 50%. Input tables the ledger does not read are
    empty (the snapshot's fields are taken from ``Inputs`` itself)."""
    tables = {
        "deals": build.deals(
            {"deal_id": "D1", "owner_id": "A", "amount_minor": 8_000_00, "close_date": "2025-03-03"},
            {"deal_id": "D2", "owner_id": "A", "amount_minor": 4_000_00, "close_date": "2025-03-09"},
            {"deal_id": "D3", "owner_id": "B", "amount_minor": 5_000_00, "close_date": "2025-03-12"},
        ),
        "credit_splits": build.splits(),
        "reps": build.reps({"rep_id": "A", "team": "North"}, {"rep_id": "B", "team": "South", "region": "R2"}),
        "targets": build.targets(
            ("rep", "A", "2025-03", "revenue", "10000", "2025-01-01"),
            ("rep", "B", "2025-03", "revenue", "10000", "2025-01-01"),
        ),
        "fx_rates": build.fx(("2025-03", "USD", "1")),
        "surveys": build.surveys(),
    }
    return Inputs(**{f.name: tables.get(f.name, pd.DataFrame()) for f in dataclasses.fields(Inputs)})


def test_a_doubled_rate_pays_exactly_twice_the_commission_lines():
    result = whatif.compare(_inputs(), _book("5%", "8%"), _book("10%", "16%"), ["2025-03"], build.SETTINGS)
    now, draft = (f[f["kind"] == "commission"].sort_values(["rep_id", "line_no"]) for f in (result.now, result.draft))
    # A: 5% x 10,000.00 + 8% x 2,000.00; B: 5% x 5,000.00 -- each line doubled, nothing else changes
    assert now["amount_minor"].tolist() == [500_00, 160_00, 250_00]
    assert draft["amount_minor"].tolist() == [2 * a for a in now["amount_minor"]]
    assert (result.draft[result.draft["kind"] == "bonus"]["amount_minor"].tolist()) == [500_00, 0]
    rows = result.rows.set_index("rep_id")
    assert rows.loc["A", "now_minor"] == 1_160_00 and rows.loc["A", "draft_minor"] == 1_820_00
    assert rows["difference_minor"].to_dict() == {"A": 660_00, "B": 250_00}
    assert rows.loc["A", "revenue_minor"] == 12_000_00 and rows.loc["B", "team"] == "South"
    assert whatif.summary_lines(result.rows)[-1].endswith("total difference: +910.00 USD")
    summary = whatif.summary(result.rows).iloc[0]
    assert (summary["reps_gaining"], summary["reps_losing"], summary["difference_share_of_revenue"]) == (2, 0, "5.35%")


def test_a_moved_tier_boundary_is_a_crossing_and_a_cut_is_a_loss():
    text = PLAN.replace("RATE1", "4%").replace("RATE2", "8%").replace("from: 100%", "from: 40%")
    draft = parse_plan_text(text, "draft.yaml")
    result = whatif.compare(
        _inputs(), _book("5%", "8%"), PlanBook({"p1": draft}, {"draft.yaml": text}), ["2025-03"], build.SETTINGS
    )
    rows = result.rows.set_index("rep_id")
    assert rows.loc["B", "tier_now"] == "tier 1 (0%-100%)"
    assert rows.loc["B", "tier_change"] == "tier 1 (0%-100%) -> tier 2 (40%+)"
    assert rows.loc["A", "tier_change"] == ""  # tier 2 either way
    # B: 4% x 4,000.00 + 8% x 1,000.00 = 240.00 instead of 250.00 (-4%); A: 4% x 4,000.00 + 8% x 8,000.00
    # + 500.00 = 1,300.00 instead of 1,160.00 (+12%)
    assert rows["difference_minor"].to_dict() == {"A": 140_00, "B": -10_00}
    buckets = whatif.distribution(result.rows).set_index("bucket")["reps"]
    assert buckets["loses up to 5%"] == 1 and buckets["gains 5-20%"] == 1 and buckets.sum() == 2


def _contents(database: Path) -> str:
    """SHA-256 over every table of every schema of the warehouse, row by row in a fixed order."""
    digest = hashlib.sha256()
    with duckdb.connect(str(database), read_only=True) as con:
        tables = con.execute(
            "SELECT table_schema, table_name FROM information_schema.tables ORDER BY table_schema, table_name"
        ).fetchall()
        for schema, table in tables:
            digest.update(f"{schema}.{table}\n".encode())
            for row in con.execute(f'SELECT * FROM "{schema}"."{table}" ORDER BY ALL').fetchall():
                digest.update(repr(row).encode())
    return digest.hexdigest()


@pytest.mark.slow
def test_whatif_over_a_closed_month_reads_the_warehouse_and_changes_nothing(tmp_path, capsys):
    data, var = tmp_path / "data", tmp_path / "var"
    shutil.copytree(ROOT / "docs" / "examples", data)
    unapproved = data / "plans" / "mgr_cny.yaml"
    unapproved.write_text(
        "\n".join(line for line in unapproved.read_text().splitlines() if not line.startswith("approved_")) + "\n"
    )
    # an unapproved plan warns in validate (not an error) and in the run's summary
    assert main(["validate", str(data), "--month", "2025-03"]) == 0
    assert "plan 'mgr_cny' (mgr_cny.yaml, version 1, in force in 2025-03) is not approved" in capsys.readouterr().out
    assert (
        main(["run", "--month", "2025-03", "--data", str(data), "--var", str(var), "--until", "payouts", "--quiet"])
        == 0
    )
    summary = capsys.readouterr().out
    assert "warning: plan 'mgr_cny'" in summary and "'ae_usd'" not in summary
    assert main(["close", "--month", "2025-03", "--by", "Controller", "--var", str(var)]) == 0
    database = var / "warehouse.duckdb"
    with duckdb.connect(str(database), read_only=True) as con:
        recorded = dict(
            con.execute("SELECT source, sha256 FROM attain.plan_versions WHERE month = '2025-03'").fetchall()
        )
        frozen = dict(con.execute("SELECT source, sha256 FROM closed_plan_versions WHERE month = '2025-03'").fetchall())
    plan_files = sorted((data / "plans").glob("*.yaml"))
    assert recorded == frozen == {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in plan_files}
    before = _contents(database)

    draft = tmp_path / "draft"
    draft.mkdir()
    text = (data / "plans" / "ae_usd.yaml").read_text()
    (draft / "ae_usd.yaml").write_text(text.replace("rate: 3%}", "rate: 6%}"))
    args = ["whatif", "--plans", str(draft), "--from", "2025-03", "--to", "2025-03", "--data", str(data)]
    assert main([*args, "--var", str(var), "--name", "double"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[-2].startswith("CNY:") and lines[-2].endswith("total difference: 0.00 CNY")
    assert lines[-1].startswith("USD:") and "total difference: +" in lines[-1] and lines[-1].endswith(" USD")
    assert _contents(database) == before  # no table touched: inputs, ledgers, closed months, deliveries

    folder = var / "output" / "whatif" / "double"
    files = {p.name: p.read_bytes() for p in folder.iterdir()}
    assert sorted(files) == ["comparison.pdf", "comparison.xlsx"]
    text = "".join(page.extract_text() for page in PdfReader(folder / "comparison.pdf").pages)
    assert "Cost of the change" in text and "USD" in text
    assert main([*args, "--var", str(var), "--name", "double"]) == 0
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == files  # the same figures, the same bytes

    # the same model from the Dagster UI: the `whatif` job with its config writes the same files
    job = build_definitions(var=var, data_dir=data).resolve_job_def("whatif")
    config = {"plans_dir": str(draft), "first_month": "2025-03", "last_month": "2025-03", "name": "from-ui"}
    assert job.execute_in_process(run_config={"ops": {"model_draft_plans": {"config": config}}}).success
    ui = var / "output" / "whatif" / "from-ui"
    assert {p.name: p.read_bytes() for p in ui.iterdir()} == files
    assert _contents(database) == before
