"""The warehouse IO manager on both backends (a real DuckDB file, a real PostgreSQL server): empty months,
tables written by an earlier release, month partitions, and a table that does not exist yet."""

import pandas as pd
import pytest
from dagster import AssetIn, TimeWindowPartitionMapping, asset, materialize

from attain import warehouse
from pipelines.partitions import MONTH_PARTITION, monthly
from pipelines.resources import WarehouseIOManager


def _store(location: str, month: str, frame: pd.DataFrame) -> None:
    @asset(name="payouts", partitions_def=monthly, metadata=MONTH_PARTITION)
    def payouts() -> pd.DataFrame:
        return frame.assign(month=month)

    resources = {"io_manager": WarehouseIOManager(database=location, schema="attain")}
    assert materialize([payouts], partition_key=month, resources=resources).success


def _rows(location: str) -> pd.DataFrame:
    with warehouse.connect(location) as con:
        return con.read("SELECT * FROM attain.payouts ORDER BY month, rep_id")


def test_a_column_added_by_a_later_release_is_added_to_the_stored_table(warehouse_location):
    _store(warehouse_location, "2026-09", pd.DataFrame({"rep_id": ["R1", "R2"], "payable_minor": [100, 200]}))
    _store(
        warehouse_location, "2026-10", pd.DataFrame({"carried_minor": [-50], "rep_id": ["R1"], "payable_minor": [0]})
    )
    rows = _rows(warehouse_location)
    assert list(rows["month"]) == ["2026-09", "2026-09", "2026-10"]
    assert list(rows["payable_minor"]) == [100, 200, 0]
    assert rows["carried_minor"].isna().tolist() == [True, True, False]
    assert int(rows["carried_minor"].iloc[2]) == -50


def test_a_rerun_replaces_its_month_and_an_empty_month_still_makes_the_table(warehouse_location):
    _store(warehouse_location, "2026-08", pd.DataFrame({"rep_id": pd.Series([], dtype=object), "payable_minor": []}))
    assert _rows(warehouse_location).empty
    _store(warehouse_location, "2026-09", pd.DataFrame({"rep_id": ["R1"], "payable_minor": [100]}))
    _store(warehouse_location, "2026-09", pd.DataFrame({"rep_id": ["R1", "R2"], "payable_minor": [150, 10]}))
    _store(warehouse_location, "2026-10", pd.DataFrame({"rep_id": ["R3"], "payable_minor": [7]}))
    rows = _rows(warehouse_location)
    assert list(rows["rep_id"]) == ["R1", "R2", "R3"] and list(rows["payable_minor"]) == [150, 10, 7]


def test_a_month_reads_its_earlier_months_and_a_missing_table_reads_as_no_rows(warehouse_location):
    """The ledger's self-dependency: a range of earlier partitions, and nothing at all in a fresh warehouse."""
    seen: dict[str, pd.DataFrame] = {}

    @asset(
        name="ledger",
        partitions_def=monthly,
        metadata=MONTH_PARTITION,
        ins={
            "history": AssetIn("ledger", partition_mapping=TimeWindowPartitionMapping(start_offset=-2, end_offset=-1))
        },
    )
    def ledger(context, history: pd.DataFrame) -> pd.DataFrame:
        seen[context.partition_key] = history
        text = f'note for {context.partition_key}, 50% done; it\'s "quoted"\nand \\N-like'
        frame = pd.DataFrame({"rep_id": ["R1", "R2"], "amount_minor": [len(seen), 0], "note": [text, "\\N"]})
        return frame.assign(empty=["", None], month=context.partition_key)

    resources = {"io_manager": WarehouseIOManager(database=warehouse_location, schema="attain")}
    for month in ("2026-07", "2026-08", "2026-09", "2026-10"):
        assert materialize([ledger], partition_key=month, resources=resources).success
    assert seen["2026-07"].empty
    assert sorted(seen["2026-09"]["month"]) == ["2026-07", "2026-07", "2026-08", "2026-08"]
    assert sorted(seen["2026-10"]["month"]) == ["2026-08", "2026-08", "2026-09", "2026-09"]
    october = seen["2026-10"].sort_values(["month", "rep_id"])
    assert list(october["note"].iloc[1::2]) == ["\\N", "\\N"]  # a text that is the NULL marker stays text
    assert list(october["empty"].iloc[:2]) == ["", None]  # an empty text is not NULL, and NULL is not empty
    assert october["note"].iloc[0] == 'note for 2026-08, 50% done; it\'s "quoted"\nand \\N-like'


def test_a_password_in_the_url_is_refused():
    with pytest.raises(ValueError, match="ATTAIN_WAREHOUSE_PASSWORD"):
        warehouse.check_location("postgresql://attain:secret@127.0.0.1:5432/attain")


def test_frames_of_every_column_kind_round_trip(warehouse_location):
    """Types a table gets from a frame, and a column of mixed Python objects (stored as text)."""
    frame = pd.DataFrame(
        {
            "amount_minor": [1, -2, 3_000_000_000_000],
            "share": [0.5, None, 1.25],
            "paid": [True, False, True],
            "closed_at": pd.to_datetime(["2026-09-30 23:59:59.123456", None, "2026-01-01 00:00:00.000000"]),
            "note": ["", None, 'a "b", c'],
            "mixed": [1, "x", None],
        }
    )
    with warehouse.connect(warehouse_location) as con:
        con.write_frame("kinds", frame)
        con.write_frame("kinds", frame.iloc[:1])
        back = con.read("SELECT * FROM kinds")
    assert list(back["amount_minor"]) == [1, -2, 3_000_000_000_000, 1]
    assert back["share"].iloc[0] == 0.5 and pd.isna(back["share"].iloc[1])
    assert str(back["amount_minor"].dtype) == "int64"
    assert list(back["paid"]) == [True, False, True, True]
    assert back["closed_at"].iloc[0] == pd.Timestamp("2026-09-30 23:59:59.123456") and pd.isna(
        back["closed_at"].iloc[1]
    )
    assert list(back["note"]) == ["", None, 'a "b", c', ""]
    assert list(back["mixed"]) == ["1", "x", None, "1"]
