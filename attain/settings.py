"""Run-wide settings shared by every stage (the Dagster resource `settings` carries them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from attain.periods import FiscalCalendar


@dataclass(frozen=True)
class Settings:
    """What a sales-operations analyst configures once per company.

    - ``fiscal_year_start``: first month of the fiscal year (1 = January, 4 = April).
    - ``timezone``: IANA zone in which "the month ended" is judged.
    - ``base_currency``: the currency FX rates are quoted in (rate = base units per 1 unit).
    - ``min_responses``: below this many survey responses a score is "not enough responses".
    - ``quarantine_max_share``: the run stops when more than this share of deal rows is quarantined.
    - ``survey_scales``: extra survey scales accepted, e.g. ``{"1-10": (1, 10)}``; converted linearly
      to 1-5 for CSAT. Scales not declared here are refused.
    """

    fiscal_year_start: int = 1
    timezone: str = "UTC"
    base_currency: str = "USD"
    min_responses: int = 5
    quarantine_max_share: Decimal = Decimal("0.05")
    survey_scales: dict[str, tuple[int, int]] = field(default_factory=dict)

    @property
    def calendar(self) -> FiscalCalendar:
        """The fiscal calendar these settings describe."""
        return FiscalCalendar(self.fiscal_year_start)
