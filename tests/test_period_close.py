"""Period close on a real DuckDB file and a real PostgreSQL server: freeze, fingerprint, reopen, adjustments."""

from __future__ import annotations

import threading

import pandas as pd
import pytest

from attain import warehouse
from attain.pay.finance_export import reconcile
from attain.pay.ledger import with_adjustments
from attain.pay.payouts import payouts
from attain.pay.period_close import (
    PeriodCloseError,
    adjustment_lines,
    close_month,
    frozen_ledger,
    input_fingerprint,
    is_closed,
    period_log,
    record_fingerprint,
    reopen_month,
    stored_fingerprint,
)
from attain.warehouse import WarehouseError
from tests.test_ledger import (
    CLAWBACK_PLAN_HEADER,
    DRAW_PLAN,
    STRADDLE,
    clawback_events,
    commission,
    credited,
    plan_book,
    roster,
    run,
)

TARGETS = {"A": "20000", "B": "20000"}


@pytest.fixture
def con(warehouse_location):
    """A connection to a fresh warehouse, once per backend (DuckDB file, PostgreSQL server)."""
    with warehouse.connect(warehouse_location) as connection:
        yield connection


@pytest.fixture
def march(tmp_path):
    book = plan_book(tmp_path, commission())
    deals = credited([*STRADDLE, ("B1", "B", "2025-03-03", "5000")])
    return book, deals, run(book, roster("A", "B"), deals, TARGETS)


def test_fingerprint_ignores_row_and_column_order_but_not_content(march):
    book, deals, _ = march
    base = input_fingerprint({"credited_deals": deals}, book.texts)
    shuffled = deals.sample(frac=1, random_state=1)[list(reversed(deals.columns))]
    assert input_fingerprint({"credited_deals": shuffled}, book.texts) == base
    changed = deals.copy()
    changed.loc[0, "credit_minor"] += 1
    assert input_fingerprint({"credited_deals": changed}, book.texts) != base
    assert input_fingerprint({"credited_deals": deals}, {"p.yaml": "changed"}) != base
    as_strings = deals.astype({"deal_id": "string", "rep_id": "category"})
    assert input_fingerprint({"credited_deals": as_strings}, book.texts) == base
    assert len(base) == 64


def test_close_freezes_the_ledger_and_late_data_becomes_an_adjustment(tmp_path, con, march):
    book, deals, ledger = march
    close_month(con, "2025-03", ledger, input_fingerprint({"credited_deals": deals}, book.texts), by="finance")
    assert is_closed(con, "2025-03") and not is_closed(con, "2025-04")

    # a late deal for March arrives: recomputing March changes A's commission by 10% x 1,000
    late = pd.concat([deals, credited([("D7", "A", "2025-03-30", "1000")])], ignore_index=True)
    recomputed = run(book, roster("A", "B"), late, TARGETS)
    frozen = frozen_ledger(con, "2025-03")
    pd.testing.assert_frame_equal(frozen, ledger)  # the closed month is untouched
    adjustments = adjustment_lines(frozen, recomputed, recomputed.iloc[0:0], "2025-03", "2025-04")
    assert adjustments[["rep_id", "component", "kind", "amount_minor", "for_month", "month"]].values.tolist() == [
        ["A", "commission", "adjustment", 100_00, "2025-03", "2025-04"]
    ]
    assert adjustments["explanation"][0] == (
        "Adjustment for 2025-03 (commission): recomputed with later data 1,500.00 USD, "
        "1,400.00 USD paid when 2025-03 was closed: +100.00 USD"
    )

    # April's statement carries it after April's own lines; the payout counts it as an adjustment
    april = run(
        book, roster("A", "B"), credited([("E1", "A", "2025-04-02", "1000")], month="2025-04"), TARGETS, month="2025-04"
    )
    april = with_adjustments(april, adjustments)
    a_lines = april[april["rep_id"] == "A"]
    assert a_lines["kind"].tolist() == ["commission", "adjustment"] and a_lines["line_no"].tolist() == [1, 2]
    pay = payouts(april, roster("A", "B"), "2025-04").set_index("rep_id")
    assert pay.loc["A", "adjustments_minor"] == 100_00 and pay.loc["A", "payable_minor"] == 40_00 + 100_00

    # once adjusted, running May against the same recomputation adds nothing more
    again = adjustment_lines(frozen, recomputed, april, "2025-03", "2025-05")
    assert again.empty
    assert adjustment_lines(frozen, recomputed, pd.DataFrame(), "2025-03", "2025-04").equals(adjustments)


def test_a_closed_month_cannot_be_closed_twice_and_reopen_needs_a_reason(con, march):
    _, _, ledger = march
    close_month(con, "2025-03", ledger, "f" * 64, by="finance", note="March payroll")
    with pytest.raises(PeriodCloseError, match=r"2025-03 is already closed .* reopen it with a reason"):
        close_month(con, "2025-03", ledger, "f" * 64, by="finance")
    with pytest.raises(PeriodCloseError, match="a reason is required"):
        reopen_month(con, "2025-03", reason="  ", by="cfo")
    assert is_closed(con, "2025-03")
    reopen_month(con, "2025-03", reason="payroll file rejected by the bank", by="cfo")
    assert not is_closed(con, "2025-03") and frozen_ledger(con, "2025-03").empty
    log = period_log(con)
    assert log[["month", "action", "performed_by"]].values.tolist() == [
        ["2025-03", "close", "finance"],
        ["2025-03", "reopen", "cfo"],
    ]
    assert log["reason"].tolist() == ["March payroll", "payroll file rejected by the bank"]
    assert "dropped 4 frozen lines" in log["detail"][1]
    with pytest.raises(PeriodCloseError, match="2025-04 is not closed"):
        reopen_month(con, "2025-04", reason="x", by="cfo")


def test_close_refuses_lines_of_other_months(con, march):
    _, _, ledger = march
    mixed = pd.concat([ledger, ledger.assign(month="2025-02")])
    with pytest.raises(PeriodCloseError, match="also holds lines of 2025-02"):
        close_month(con, "2025-03", mixed, "f" * 64, by="finance")
    assert not is_closed(con, "2025-03")


def test_close_is_atomic(con, march):
    _, _, ledger = march
    broken = ledger.assign(base_minor="not a number")
    with pytest.raises(WarehouseError):
        close_month(con, "2025-03", broken, "f" * 64, by="finance")
    assert not is_closed(con, "2025-03") and frozen_ledger(con, "2025-03").empty
    assert period_log(con).empty


def test_two_closes_of_one_month_at_once_freeze_it_once(con, march, warehouse_location):
    """Two processes' connections close the month together: one close wins, the other writes nothing."""
    _, _, ledger = march
    start, outcomes = threading.Barrier(2), []

    def close(by: str) -> None:
        with warehouse.connect(warehouse_location) as own:
            start.wait()
            try:
                close_month(own, "2025-03", ledger, "f" * 64, by=by)
                outcomes.append("closed")
            except (PeriodCloseError, WarehouseError) as error:
                outcomes.append(type(error).__name__)

    threads = [threading.Thread(target=close, args=(by,)) for by in ("finance", "payroll")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(outcomes) == 2 and outcomes.count("closed") == 1, outcomes
    assert len(frozen_ledger(con, "2025-03")) == len(ledger)
    assert period_log(con)["action"].tolist() == ["close"]


def test_the_fingerprint_of_the_latest_run_is_stored_for_the_close(con):
    with pytest.raises(PeriodCloseError, match="no input fingerprint is recorded for 2025-03; run the month"):
        stored_fingerprint(con, "2025-03")
    record_fingerprint(con, "2025-03", "a" * 64)
    record_fingerprint(con, "2025-03", "b" * 64)
    assert stored_fingerprint(con, "2025-03") == "b" * 64


def test_frames_without_the_partition_column_are_taken_as_the_month(march):
    _, _, ledger = march
    without = ledger.drop(columns=["month"])
    pay = payouts(without, roster("A", "B"), "2025-03")
    assert pay["payable_minor"].tolist() == [1400_00, 200_00]


def test_a_carried_balance_of_a_closed_month_is_recovered_once_from_its_adjustment(tmp_path, con):
    book = plan_book(tmp_path, DRAW_PLAN, header=CLAWBACK_PLAN_HEADER)
    reps = roster("A")
    march = run(book, reps, credited([("D1", "A", "2025-03-05", "50000")]), {})
    cancel = clawback_events([("D1", "A", "2025-03-05", "2025-04-10", "50000")])
    april_deals = credited([("D2", "A", "2025-04-05", "2000")], month="2025-04")
    april = run(book, reps, april_deals, {}, month="2025-04", events=cancel, history=march)
    assert april["kind"].tolist() == ["commission", "clawback", "carry_forward"]  # 200 - 5,000: 4,800 carried
    close_month(con, "2025-04", april, "f" * 64, by="finance")

    # a late April deal adds 1,000 of commission; the carried balance is not an adjustment of its own
    late = pd.concat([april_deals, credited([("D5", "A", "2025-04-28", "10000")], month="2025-04")])
    recomputed = run(book, reps, late, {}, month="2025-04", events=cancel, history=march)
    adjustments = adjustment_lines(frozen_ledger(con, "2025-04"), recomputed, pd.DataFrame(), "2025-04", "2025-05")
    assert adjustments[["component", "amount_minor"]].values.tolist() == [["commission", 1000_00]]

    # May earns 3,000; with the +1,000 adjustment 4,000 recovers the balance April carried: 800 still owed
    history = pd.concat([march, frozen_ledger(con, "2025-04")], ignore_index=True)
    may = run(
        book,
        reps,
        credited([("D3", "A", "2025-05-05", "30000")], month="2025-05"),
        {},
        month="2025-05",
        history=history,
    )
    assert may["amount_minor"].tolist() == [3000_00, -3000_00]  # before the adjustment: 3,000 recovered
    may = with_adjustments(may, adjustments, history, reps)
    assert may[["kind", "amount_minor", "for_month", "line_no"]].values.tolist() == [
        ["commission", 3000_00, "2025-05", 1],
        ["adjustment", 1000_00, "2025-04", 2],
        ["recovery", -4000_00, "2025-04", 3],
    ]
    pay = payouts(may, reps, "2025-05", history).set_index("rep_id").loc["A"]
    assert (pay["adjustments_minor"], pay["carried_minor"], pay["payable_minor"], pay["carried_balance_minor"]) == (
        1000_00,
        -4000_00,
        0,
        800_00,
    )
    reconcile(payouts(may, reps, "2025-05", history), may)
