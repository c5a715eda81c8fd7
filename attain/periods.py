"""The fiscal calendar: months, quarters and years as ``"YYYY-MM"`` strings.

A month is always written ``"YYYY-MM"`` (the partition key). Quarters and years
are fiscal: they start at ``fy_start`` (1 = January, 4 = April). A fiscal year is
named after the calendar year in which it *ends* (FY2025 with an April start runs
2024-04 to 2025-03), the usual convention in the UK, Japan and India.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

_MONTH_RE = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


class PeriodError(ValueError):
    """A month string or fiscal setting that is not valid."""


def parse_month(month: str) -> tuple[int, int]:
    """``"2025-03"`` -> ``(2025, 3)``; anything else is a ``PeriodError``."""
    m = _MONTH_RE.match(str(month))
    if not m:
        raise PeriodError(f"{month!r} is not a month; write it as YYYY-MM, for example 2025-03")
    return int(m.group(1)), int(m.group(2))


def _month_index(month: str) -> int:
    year, mon = parse_month(month)
    return year * 12 + mon - 1


def _from_index(index: int) -> str:
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def add_months(month: str, n: int) -> str:
    """The month ``n`` months after (negative: before) ``month``."""
    return _from_index(_month_index(month) + n)


def month_span(first: str, last: str) -> list[str]:
    """All months from ``first`` to ``last`` inclusive."""
    return [_from_index(i) for i in range(_month_index(first), _month_index(last) + 1)]


def month_start(month: str) -> dt.date:
    """First day of ``month``."""
    year, mon = parse_month(month)
    return dt.date(year, mon, 1)


def month_end(month: str) -> dt.date:
    """Last day of ``month``."""
    return month_start(add_months(month, 1)) - dt.timedelta(days=1)


def days_in_month(month: str) -> int:
    """Number of calendar days in ``month``."""
    return month_end(month).day


def month_of(day: dt.date) -> str:
    """The month a date falls in."""
    return f"{day.year:04d}-{day.month:02d}"


@dataclass(frozen=True)
class FiscalCalendar:
    """Fiscal quarters and years for a first fiscal month ``fy_start`` (1-12)."""

    fy_start: int = 1

    def __post_init__(self) -> None:
        if not 1 <= int(self.fy_start) <= 12:
            raise PeriodError(f"fiscal year start must be a month number 1-12, not {self.fy_start!r}")

    def _fiscal_offset(self, month: str) -> int:
        """Months since the start of the fiscal year containing ``month`` (0-11)."""
        _, mon = parse_month(month)
        return (mon - self.fy_start) % 12

    def year_start(self, month: str) -> str:
        """First month of the fiscal year containing ``month``."""
        return add_months(month, -self._fiscal_offset(month))

    def quarter_start(self, month: str) -> str:
        """First month of the fiscal quarter containing ``month``."""
        return add_months(month, -(self._fiscal_offset(month) % 3))

    def qtd(self, month: str) -> list[str]:
        """Months of the fiscal quarter up to and including ``month``."""
        return month_span(self.quarter_start(month), month)

    def ytd(self, month: str) -> list[str]:
        """Months of the fiscal year up to and including ``month``."""
        return month_span(self.year_start(month), month)

    def quarter_label(self, month: str) -> str:
        """``"FY2025 Q1"`` for the fiscal quarter containing ``month``."""
        return f"{self.year_label(month)} Q{self._fiscal_offset(month) // 3 + 1}"

    def year_label(self, month: str) -> str:
        """``"FY2025"``: named after the calendar year in which the fiscal year ends."""
        last = add_months(self.year_start(month), 11)
        return f"FY{parse_month(last)[0]}"


def trailing(month: str, n: int = 12) -> list[str]:
    """The ``n`` months ending with ``month``, oldest first (for trends)."""
    return month_span(add_months(month, -(n - 1)), month)


def month_keys(dates: pd.Series) -> pd.Series:
    """``"YYYY-MM"`` of each date (``""`` for NaT), vectorised without per-row strftime."""
    dates = pd.to_datetime(dates)
    index = (dates.dt.year * 12 + dates.dt.month - 1).fillna(-1).astype(np.int64).to_numpy()
    codes, uniques = pd.factorize(index)
    labels = np.array([f"{u // 12:04d}-{u % 12 + 1:02d}" if u >= 0 else "" for u in uniques] + [""], dtype=object)
    return pd.Series(labels[codes], index=dates.index, dtype=object)


def month_bounds(month: str | pd.Series, index: pd.Index) -> tuple[pd.Series, pd.Series]:
    """First and last day of each month as datetime64 Series aligned to ``index``."""
    months = pd.Series(month, index=index) if isinstance(month, str) else month
    start = pd.to_datetime(months + "-01", format="%Y-%m-%d")
    end = start + pd.offsets.MonthEnd(0)
    return start, end
