"""Time progress (时间进度): a month measured part-way through, as of a day inside it.

An as-of run measures month M "so far": the deals as they stood at the end of the as-of day, against targets
pro-rated by the share of the month elapsed. The rules (docs/review-packs.md, "Time progress"):

- Elapsed share = elapsed days / days in the month, both counted the same way: ``calendar`` days (the default;
  the as-of day counts, so 27 February is 27/28 of February) or ``working`` days (Monday to Friday, less the
  ``holidays`` setting). The share is an exact fraction.
- A pro-rated target = the month's target x elapsed share, rounded half-up to a whole minor unit (or a whole
  count) once per target row: the project's one rounding rule. Team, manager, region and company targets are
  sums of those rows, as at month end.
- Run-rate projection = actual so far / elapsed share, rounded half-up the same way.
- Progress = actual so far / the whole month's target. A row lags when the elapsed share minus its progress is
  more than ``time_progress_gap`` (0.10 = 10 percentage points).

Pure functions over DataFrames; nothing here reads files or the warehouse.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from fractions import Fraction

import pandas as pd

from attain.money import round_half_up
from attain.periods import month_end, month_of, month_start
from attain.settings import Settings

TIME_PROGRESS_COLUMNS = [
    "scope",
    "scope_id",
    "metric",
    "currency",
    "actual",
    "month_target",
    "target",
    "progress",
    "projection",
    "projected_attainment",
    "lagging",
]


class AsOfError(ValueError):
    """An as-of date that cannot be used for the month: the message says which dates can."""


@dataclass(frozen=True)
class Elapsed:
    """How much of month ``month`` has gone by at the end of ``as_of``: ``days`` of ``total`` (``unit`` days)."""

    month: str
    as_of: dt.date
    days: int
    total: int
    unit: str

    @property
    def share(self) -> Fraction:
        """The exact share of the month elapsed (0 when the month has no day of that kind)."""
        return Fraction(self.days, self.total) if self.total else Fraction(0)

    def printed(self) -> dict:
        """What a provisional pack prints about it (``ReviewTables.as_of``)."""
        return {
            "date": self.as_of,
            "days": self.days,
            "total": self.total,
            "unit": self.unit,
            "share": float(self.share),
        }


def parse_as_of(month: str, as_of: str | dt.date) -> dt.date:
    """The as-of day of an as-of run of ``month``; ``AsOfError`` unless it is a day of that month."""
    first, last = month_start(month), month_end(month)
    try:
        day = as_of if isinstance(as_of, dt.date) else dt.date.fromisoformat(str(as_of).strip())
    except ValueError:
        raise AsOfError(f"--as-of {as_of!r} is not a date; write it YYYY-MM-DD, e.g. {last.isoformat()}") from None
    if month_of(day) != month:
        raise AsOfError(
            f"--as-of {day.isoformat()} is not in {month}: an as-of run measures part of its month, "
            f"so give a day from {first.isoformat()} to {last.isoformat()}"
        )
    return day


def elapsed(month: str, as_of: dt.date, settings: Settings) -> Elapsed:
    """The days of ``month`` elapsed at the end of ``as_of``, counted as ``settings.time_progress_days`` says."""
    days = pd.date_range(month_start(month), month_end(month), freq="D")
    if settings.time_progress_days == "working":
        holidays = pd.DatetimeIndex(pd.to_datetime(list(settings.holidays)))
        days = days[(days.dayofweek < 5) & ~days.isin(holidays)]
    return Elapsed(
        month=month,
        as_of=as_of,
        days=int((days <= pd.Timestamp(as_of)).sum()),
        total=len(days),
        unit=settings.time_progress_days,
    )


def deals_as_of(deals: pd.DataFrame, as_of: dt.date) -> pd.DataFrame:
    """The deals snapshot as it stood at the end of ``as_of``.

    A deal created later did not exist yet (left out); a deal won or lost later was still open (its stage
    ``open``, no close date); a cancellation recorded later had not happened.
    """
    end = pd.Timestamp(as_of)
    out = deals[deals["created_date"] <= end].copy()
    later = out["close_date"] > end
    out.loc[later, "stage"] = "open"
    out.loc[later, "close_date"] = pd.NaT
    if "cancelled_date" in out.columns:
        out.loc[out["cancelled_date"] > end, "cancelled_date"] = pd.NaT
    return out.reset_index(drop=True)


def surveys_as_of(surveys: pd.DataFrame, as_of: dt.date) -> pd.DataFrame:
    """The survey responses received by the end of ``as_of``."""
    return surveys[surveys["response_date"] <= pd.Timestamp(as_of)].reset_index(drop=True)


def prorate_targets(in_force: pd.DataFrame, share: Fraction, month: str) -> pd.DataFrame:
    """``in_force`` (``targets_in_force``) with month ``month``'s targets x ``share``, half-up per row."""
    out = in_force.copy()
    rows = out["month"].eq(month) & out["target"].notna()
    out["target"] = out["target"].astype("Int64")
    out.loc[rows, "target"] = [round_half_up(int(t) * share) for t in out.loc[rows, "target"]]
    return out


def time_progress(
    attainment_so_far: pd.DataFrame, attainment_full: pd.DataFrame, share: Fraction, settings: Settings
) -> pd.DataFrame:
    """Per scope, metric and currency of the month: actual so far against the pro-rated and the whole target.

    ``attainment_so_far`` is the attainment table computed with pro-rated targets, ``attainment_full`` the same
    deals against the whole month's targets; only their ``period == "month"`` rows are read.
    """
    keys = ["scope", "scope_id", "metric", "currency"]
    so_far = attainment_so_far[attainment_so_far["period"].eq("month")]
    full = attainment_full.loc[attainment_full["period"].eq("month"), [*keys, "target"]]
    table = so_far[[*keys, "actual", "target"]].merge(full.rename(columns={"target": "month_target"}), on=keys)
    month_target = table["month_target"].astype("Float64")
    table["progress"] = (table["actual"] / month_target.where(month_target > 0)).astype(float)
    table["projection"] = pd.array(
        [round_half_up(int(a) / share) if share else None for a in table["actual"]], dtype="Int64"
    )
    projected = table["projection"].astype("Float64")
    table["projected_attainment"] = (projected / month_target.where(month_target > 0)).astype(float)
    behind = share - Fraction(settings.time_progress_gap)
    table["lagging"] = [
        bool(pd.notna(t) and t > 0 and Fraction(int(a), int(t)) < behind)
        for a, t in zip(table["actual"], table["month_target"], strict=True)
    ]
    table["target"] = table["target"].astype("Int64")
    table["month_target"] = table["month_target"].astype("Int64")
    return table[TIME_PROGRESS_COLUMNS].reset_index(drop=True)
