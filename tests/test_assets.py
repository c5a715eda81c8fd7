"""The measuring assets one by one, invoked as Dagster invokes them for one partition (the example folder's month).

Each asset is a thin wrapper over the domain functions: these tests check what the wrapper adds, namely the
partition's month stamped on every row, the outputs' names and the figures in their metadata, and that the
tables are the domain functions' own. The ledger (incentive_ledger) has its own tests.
"""

import shutil
from pathlib import Path

import pandas as pd
import pytest
from dagster import Output, build_asset_context

from assets.attainment import attainment_stage, credit_stage, pipeline_health, target_stage
from assets.common import stamped
from assets.ingest import INPUT_TABLES, validated_inputs
from assets.satisfaction import satisfaction_stage
from attain.measures import credit, targets
from pipelines.resources import AttainConfig

ROOT = Path(__file__).resolve().parents[1]
MONTH = "2025-03"


def _outputs(asset, **inputs) -> dict[str, Output]:
    """The outputs of a multi-asset invoked for the month, by name."""
    with build_asset_context(partition_key=MONTH) as context:
        return {out.output_name: out for out in asset(context, **inputs)}


@pytest.fixture(scope="module")
def attain(tmp_path_factory) -> AttainConfig:
    data = tmp_path_factory.mktemp("assets") / "data"
    shutil.copytree(ROOT / "docs" / "examples", data)
    return AttainConfig(data_dir=str(data), output_dir=str(data.parent / "output"))


@pytest.fixture(scope="module")
def ingested(attain) -> dict[str, Output]:
    """The ingest asset's outputs for the month."""
    return _outputs(validated_inputs, attain=attain)


@pytest.fixture(scope="module")
def inputs(ingested) -> dict[str, pd.DataFrame]:
    """The validated inputs as the ingest asset writes them for the month (stamped with ``as_of``)."""
    return {name: out.value for name, out in ingested.items()}


def test_the_ingest_stamps_each_input_with_its_month_and_says_where_it_came_from(ingested):
    outs = ingested
    assert set(outs) == {*INPUT_TABLES, "quarantine"}
    deals = outs["deals"]
    assert deals.value.columns[0] == "as_of" and set(deals.value["as_of"]) == {MONTH}
    assert deals.metadata["dagster/row_count"].value == 9 == len(deals.value)
    assert deals.metadata["rows_accepted"].value == 9 and deals.metadata["rows_quarantined"].value == 0
    assert deals.metadata["source_file"].value.endswith("deals.csv")
    assert outs["quarantine"].value.empty


def _credit_outputs(attain, inputs) -> dict:
    """The credit stage's outputs for the month, from the stored input tables."""
    return _outputs(
        credit_stage,
        attain=attain,
        **{name: inputs[name] for name in ("deals", "credit_splits", "reps", "fx_rates")},
    )


def test_credit_stage_is_the_credit_rules_for_the_partition(attain, inputs):
    outs = _credit_outputs(attain, inputs)
    assert set(outs) == {"credited_deals", "clawback_events"}
    plain = [inputs[n].drop(columns=["as_of"]) for n in ("deals", "credit_splits", "reps", "fx_rates")]
    expected = credit.credited_deals(*plain, MONTH, attain.settings())
    pd.testing.assert_frame_equal(outs["credited_deals"].value, stamped(expected, MONTH))
    this_month = expected[expected["credit_month"] == MONTH]
    meta = outs["credited_deals"].metadata
    assert meta["deals_credited_this_month"].value == this_month["deal_id"].nunique() == 3
    assert set(meta["credit_this_month"].value) == set(this_month["plan_currency"])
    assert set(outs["clawback_events"].value["month"]) <= {MONTH}


@pytest.fixture(scope="module")
def measured(attain, inputs) -> dict[str, pd.DataFrame]:
    """credited_deals and targets_in_force, as their assets give them for the month."""
    credited = _credit_outputs(attain, inputs)["credited_deals"].value
    in_force = _outputs(target_stage, attain=attain, targets=inputs["targets"], reps=inputs["reps"])
    return {"credited_deals": credited, "targets_in_force": in_force["targets_in_force"].value}


def test_target_stage_stamps_the_targets_in_force_with_as_of(attain, inputs):
    outs = _outputs(target_stage, attain=attain, targets=inputs["targets"], reps=inputs["reps"])
    assert set(outs) == {"targets_in_force", "target_warnings"}
    resolved = targets.targets_in_force(
        inputs["targets"].drop(columns=["as_of"]),
        inputs["reps"].drop(columns=["as_of"]),
        targets.months_needed(MONTH),
        attain.settings(),
    )
    pd.testing.assert_frame_equal(outs["targets_in_force"].value, stamped(resolved.in_force, MONTH, "as_of"))
    assert outs["target_warnings"].metadata["warnings"].value == len(resolved.warnings)


def test_attainment_stage_reports_the_company_attainment_of_the_month(attain, inputs, measured):
    outs = _outputs(
        attainment_stage,
        attain=attain,
        credited_deals=measured["credited_deals"],
        targets_in_force=measured["targets_in_force"],
        deals=inputs["deals"],
        reps=inputs["reps"],
    )
    table = outs["attainment"].value
    assert set(table["month"]) == {MONTH} and set(outs["attainment_trend"].value["month"]) == {MONTH}
    company = table[(table["scope"] == "company") & (table["period"] == "month")]
    shown = outs["attainment"].metadata["company_attainment"].value
    assert set(shown) == set(company["metric"]) and shown
    for row in company.drop_duplicates("metric", keep="last").itertuples():
        assert shown[row.metric] == (None if pd.isna(row.attainment) else round(float(row.attainment), 4))


def test_pipeline_health_and_satisfaction_are_stamped_with_the_month(attain, inputs, measured):
    with build_asset_context(partition_key=MONTH) as context:
        health = pipeline_health(
            context,
            attain=attain,
            deals=inputs["deals"],
            targets_in_force=measured["targets_in_force"],
            reps=inputs["reps"],
            fx_rates=inputs["fx_rates"],
        )
    assert set(health.value["month"]) == {MONTH} and health.metadata["dagster/row_count"].value == len(health.value)
    outs = _outputs(
        satisfaction_stage,
        attain=attain,
        surveys=inputs["surveys"],
        deals=inputs["deals"],
        reps=inputs["reps"],
        credited_deals=measured["credited_deals"],
    )
    assert set(outs) == {"satisfaction", "satisfaction_trend", "account_segments", "segment_summary"}
    for out in outs.values():
        assert out.value.empty or set(out.value["month"]) == {MONTH}
