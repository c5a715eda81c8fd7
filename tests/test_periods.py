"""The fiscal calendar: QTD and YTD months for any fiscal-year start."""

import datetime as dt

import pytest

from attain.periods import FiscalCalendar, PeriodError, add_months, month_end, parse_month, trailing


def test_month_arithmetic():
    assert add_months("2025-11", 3) == "2026-02"
    assert add_months("2025-01", -1) == "2024-12"
    assert month_end("2024-02") == dt.date(2024, 2, 29)
    assert trailing("2025-03", 3) == ["2025-01", "2025-02", "2025-03"]


def test_bad_month_says_how_to_write_it():
    with pytest.raises(PeriodError, match="write it as YYYY-MM"):
        parse_month("2025-13")


def test_april_fiscal_year():
    cal = FiscalCalendar(fy_start=4)
    assert cal.ytd("2025-05") == ["2025-04", "2025-05"]
    assert cal.ytd("2026-02")[0] == "2025-04" and len(cal.ytd("2026-02")) == 11
    assert cal.qtd("2025-08") == ["2025-07", "2025-08"]
    assert cal.quarter_label("2026-01") == "FY2026 Q4"
    assert cal.year_label("2025-04") == "FY2026"


def test_calendar_year():
    cal = FiscalCalendar()
    assert cal.qtd("2025-03") == ["2025-01", "2025-02", "2025-03"]
    assert cal.qtd("2025-04") == ["2025-04"]
    assert cal.quarter_label("2025-11") == "FY2025 Q4"


def test_fiscal_start_validated():
    with pytest.raises(PeriodError):
        FiscalCalendar(fy_start=13)
