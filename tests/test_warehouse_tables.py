"""The warehouse IO manager on a real DuckDB file: empty months, and tables written by an earlier release."""

import duckdb
import pandas as pd
from dagster import asset, materialize

from pipelines.partitions import MONTH_PARTITION, monthly
from pipelines.resources import WarehouseIOManager


def _store(database, month: str, frame: pd.DataFrame) -> None:
    @asset(name="payouts", partitions_def=monthly, metadata=MONTH_PARTITION)
    def payouts() -> pd.DataFrame:
        return frame.assign(month=month)

    resources = {"io_manager": WarehouseIOManager(database=str(database), schema="attain")}
    assert materialize([payouts], partition_key=month, resources=resources).success


def _rows(database) -> pd.DataFrame:
    with duckdb.connect(str(database)) as con:
        return con.execute("SELECT * FROM attain.payouts ORDER BY month, rep_id").df()


def test_a_column_added_by_a_later_release_is_added_to_the_stored_table(tmp_path):
    database = tmp_path / "warehouse.duckdb"
    _store(database, "2026-09", pd.DataFrame({"rep_id": ["R1", "R2"], "payable_minor": [100, 200]}))
    _store(database, "2026-10", pd.DataFrame({"rep_id": ["R1"], "carried_minor": [-50], "payable_minor": [0]}))
    rows = _rows(database)
    assert list(rows["month"]) == ["2026-09", "2026-09", "2026-10"]
    assert list(rows["payable_minor"]) == [100, 200, 0]
    assert rows["carried_minor"].isna().tolist() == [True, True, False]
    assert int(rows["carried_minor"].iloc[2]) == -50


def test_a_rerun_replaces_its_month_and_an_empty_month_still_makes_the_table(tmp_path):
    database = tmp_path / "warehouse.duckdb"
    _store(database, "2026-08", pd.DataFrame({"rep_id": pd.Series([], dtype=object), "payable_minor": []}))
    assert _rows(database).empty
    _store(database, "2026-09", pd.DataFrame({"rep_id": ["R1"], "payable_minor": [100]}))
    _store(database, "2026-09", pd.DataFrame({"rep_id": ["R1", "R2"], "payable_minor": [150, 10]}))
    rows = _rows(database)
    assert list(rows["rep_id"]) == ["R1", "R2"] and list(rows["payable_minor"]) == [150, 10]
