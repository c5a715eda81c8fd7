"""The incentive_ledger and payouts assets on a real DuckDB warehouse, one month partition at a time.

The input tables are stored as the ingest stage stores them; the measure stages, the ledger and the payouts
are materialised by Dagster, so the ledger's dependency on its own earlier partitions goes through the
warehouse IO manager as in a month-end run.
"""

from __future__ import annotations

import dagster as dg
import duckdb
import pandas as pd
import pytest

from assets import attainment as measure_assets
from assets import incentives, ingest, satisfaction
from assets.common import stamped
from attain.pay import period_close
from pipelines.definitions import build_definitions
from pipelines.resources import default_resources
from tests import measures_builders as build

DRAW_PLAN = """\
plan_id: p
currency: USD
draw: {kind: recoverable, amount: 3000, until: 2025-02}
components:
  - id: commission
    kind: commission
    basis: amount
    tiers:
      - {from: 0, rate: 10%}
"""
#: Won deal per month (amount in cents): Jan earns 1,400.00 (1,600.00 advanced), Feb earns 4,000.00.
WON = {"2025-01": 1_400_000, "2025-02": 4_000_000}


@pytest.fixture
def month_end(tmp_path):
    """Runs the ledger and payouts of a month (``amounts`` may change a month's deal); returns the run."""
    data = tmp_path / "data"
    (data / "plans").mkdir(parents=True)
    (data / "plans" / "p.yaml").write_text(DRAW_PLAN, encoding="utf-8")
    resources = default_resources(var=tmp_path / "var", data_dir=data)
    database = resources["warehouse"].database

    def run(
        month: str, amounts: dict[str, int] | None = None, disputes: pd.DataFrame | None = None
    ) -> dg.ExecuteInJobResult:
        won = {**WON, **(amounts or {})}
        deals = build.deals(
            *(
                {"deal_id": f"D{m}", "owner_id": "A", "amount_minor": cents, "close_date": f"{m}-10"}
                for m, cents in won.items()
                if m <= month
            )
        )
        inputs = {
            "deals": deals,
            "credit_splits": build.splits(),
            "reps": build.reps({"rep_id": "A", "plan_id": "p", "email": "a@example.com"}),
            "targets": build.targets(("rep", "A", "2025-01", "revenue", "20000", "2025-01-01")),
            "fx_rates": build.fx((month, "USD", "1")),
            "surveys": build.surveys(),
            "disputes": build.disputes() if disputes is None else disputes,
        }
        with duckdb.connect(database) as con:
            con.execute("CREATE SCHEMA IF NOT EXISTS attain")
            for name, frame in inputs.items():
                _store(con, name, stamped(frame, month, "as_of"), month)
        return dg.materialize(
            dg.load_assets_from_modules([ingest, measure_assets, satisfaction, incentives]),
            selection=dg.AssetSelection.groups("measure", "customers") | dg.AssetSelection.groups("reward"),
            partition_key=month,
            resources=resources,
        )

    run.database = database
    return run


def _store(con, table: str, frame: pd.DataFrame, month: str) -> None:
    """The month's rows of an input table, replacing earlier rows of that month."""
    frame = frame.astype({c: "string" for c in frame.columns if frame[c].dtype == object}) if frame.empty else frame
    con.execute(f"CREATE TABLE IF NOT EXISTS attain.{table} AS SELECT * FROM frame WHERE false")
    con.execute(f"DELETE FROM attain.{table} WHERE as_of = ?", [month])
    con.execute(f"INSERT INTO attain.{table} BY NAME SELECT * FROM frame")


def _ledger(result: dg.ExecuteInJobResult) -> pd.DataFrame:
    return result.output_for_node("incentive_ledger")


def _metadata(result: dg.ExecuteInJobResult) -> dict:
    (mat,) = result.asset_materializations_for_node("incentive_ledger")
    return {key: getattr(value, "value", value) for key, value in mat.metadata.items()}


def test_the_ledger_depends_on_its_own_earlier_partitions(tmp_path):
    graph = build_definitions(var=tmp_path).resolve_asset_graph()
    key = dg.AssetKey("incentive_ledger")
    assert key in graph.get(key).parent_keys
    mapping = graph.get_partition_mapping(key, key)
    assert isinstance(mapping, dg.TimeWindowPartitionMapping)
    assert (mapping.start_offset, mapping.end_offset) == (-incentives.HISTORY_MONTHS, -1)
    assert key in graph.get(dg.AssetKey("payouts")).parent_keys


def test_a_month_runs_without_earlier_ledgers_and_says_which_are_missing(month_end):
    february = month_end("2025-02")
    assert february.success
    # no January ledger: nothing was advanced, so nothing is recovered; the month says so
    assert _ledger(february)["amount_minor"].tolist() == [4_000_00]
    assert _metadata(february)["months_without_ledger"] == ["2025-01"]


def test_earlier_partitions_carry_the_draw_balance_into_the_ledger_and_payouts(month_end):
    january = month_end("2025-01")  # the first month of a fresh warehouse: no ledger table yet
    assert _ledger(january)["amount_minor"].tolist() == [1_400_00, 1_600_00]
    meta = _metadata(january)
    assert meta["period"] == "open" and meta["months_without_ledger"] == []
    with duckdb.connect(month_end.database) as con:
        assert period_close.stored_fingerprint(con, "2025-01") == meta["input_fingerprint"]

    february = month_end("2025-02")
    assert _ledger(february)["amount_minor"].tolist() == [4_000_00, -1_000_00]  # 1,000 above the draw recovers
    assert _metadata(february)["months_without_ledger"] == []
    pay = february.output_for_node("payouts")
    assert pay[["payable_minor", "draw_balance_minor"]].values.tolist() == [[3_000_00, 600_00]]


def test_a_closed_month_keeps_its_frozen_ledger_and_late_data_is_adjusted_next_month(month_end):
    january = month_end("2025-01")
    with duckdb.connect(month_end.database) as con:
        frozen = con.execute("SELECT * FROM attain.incentive_ledger WHERE month = '2025-01'").df()
        period_close.close_month(con, "2025-01", frozen, period_close.stored_fingerprint(con, "2025-01"), by="ops")
    fingerprint = _metadata(january)["input_fingerprint"]

    late = {"2025-01": 2_400_000}  # January's deal was 24,000.00 after all
    rerun = month_end("2025-01", late)
    assert _ledger(rerun)["amount_minor"].tolist() == [1_400_00, 1_600_00]
    assert _metadata(rerun)["period"] == "closed"
    assert _metadata(rerun)["input_fingerprint"] == fingerprint  # the frozen fingerprint is not re-recorded

    february = month_end("2025-02", late)
    ledger = _ledger(february)
    adjustment = ledger[ledger["kind"] == "adjustment"]
    # January recomputed: 2,400.00 earned and 600.00 advanced instead of 1,400.00 and 1,600.00
    assert adjustment[["for_month", "component", "amount_minor"]].values.tolist() == [
        ["2025-01", "commission", 1_000_00],
        ["2025-01", "draw", -1_000_00],
    ]
    assert _metadata(february)["adjustment_lines"] == 2
    assert adjustment["explanation"].iloc[0].startswith("Adjustment for 2025-01 (commission): recomputed with later")


def test_decided_disputes_are_paid_once_as_adjustments_in_the_next_open_month(month_end):
    """Disputes about January decided in February: the accepted and partly accepted ones pay their granted
    amount in February (January is closed by then); the rejected and open ones pay nothing; March, whose
    history holds February's lines, pays none of them again."""
    decided = {"decided_by": "Finance Lead", "decided_at": "2025-02-12"}
    disputes = build.disputes(
        {
            "dispute_id": "X1",
            "rep_id": "A",
            "month": "2025-01",
            "line_no": 1,
            "amount_claimed_minor": 500_00,
            "status": "accepted",
            "amount_granted_minor": 500_00,
            **decided,
        },
        {
            "dispute_id": "X2",
            "rep_id": "A",
            "month": "2025-01",
            "deal_id": "D2025-01",
            "amount_claimed_minor": 300_00,
            "status": "partly accepted",
            "amount_granted_minor": 120_00,
            **decided,
        },
        {
            "dispute_id": "X3",
            "rep_id": "A",
            "month": "2025-01",
            "amount_claimed_minor": 90_00,
            "status": "rejected",
            **decided,
        },
        {"dispute_id": "X4", "rep_id": "A", "month": "2025-01", "amount_claimed_minor": 70_00},
        {
            "dispute_id": "X5",
            "rep_id": "A",
            "month": "2025-01",
            "line_no": 9,
            "amount_claimed_minor": 10_00,
            "status": "accepted",
            "amount_granted_minor": 10_00,
            **decided,
        },
    )
    month_end("2025-01", disputes=disputes)
    with duckdb.connect(month_end.database) as con:
        frozen = con.execute("SELECT * FROM attain.incentive_ledger WHERE month = '2025-01'").df()
        period_close.close_month(con, "2025-01", frozen, period_close.stored_fingerprint(con, "2025-01"), by="ops")

    february = month_end("2025-02", disputes=disputes)
    ledger = _ledger(february)
    paid = ledger[ledger["component"].str.startswith("dispute:")]
    assert paid[["component", "kind", "amount_minor", "base_minor", "for_month"]].values.tolist() == [
        ["dispute:X1", "adjustment", 500_00, 500_00, "2025-01"],
        ["dispute:X2", "adjustment", 120_00, 300_00, "2025-01"],
    ]
    assert paid["explanation"].iloc[1] == (
        "Dispute X2 about 2025-01, deal D2025-01 (claim): partly accepted by Finance Lead on 2025-02-12; "
        "120.00 USD of 300.00 USD claimed."
    )
    meta = _metadata(february)
    assert meta["dispute_lines"] == 2
    assert meta["refused_disputes"] == [
        "dispute X5: A's statement for 2025-01 has 2 lines, not a line 9; correct line_no in disputes "
        "(or leave it blank and name the deal)"
    ]
    # Commission 4,000.00, the disputes 620.00; 1,000 above the draw is recovered from earnings first.
    pay = february.output_for_node("payouts")
    assert int(pay["adjustments_minor"].iloc[0]) == 620_00
    assert int(pay["payable_minor"].iloc[0]) == int(ledger["amount_minor"].sum())

    march = month_end("2025-03", disputes=disputes)
    assert not _ledger(march)["component"].str.startswith("dispute:").any()
