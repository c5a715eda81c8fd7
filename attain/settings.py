"""Run-wide settings shared by every stage (the Dagster resource `settings` carries them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from attain.periods import FiscalCalendar


@dataclass(frozen=True)
class Settings:
    """What a sales-operations analyst configures once per company.

    Every field can be set three ways (see README "Settings"): a CLI flag, the ``attain.yaml`` settings file in
    the data folder, and the Dagster run config of the ``attain`` resource.

    - ``fiscal_year_start``: first month of the fiscal year (1 = January, 4 = April).
    - ``timezone``: IANA zone in which "the month ended" is judged.
    - ``base_currency``: the currency FX rates are quoted in (rate = base units per 1 unit).
    - ``min_responses``: below this many survey responses a score is "not enough responses".
    - ``quarantine_max_share``: the run stops when more than this share of deal rows is quarantined.
    - ``survey_scales``: extra survey scales accepted, e.g. ``{"1-10": (1, 10)}``; converted linearly
      to 1-5 for CSAT. Scales not declared here are refused.
    - ``encodings``: a declared text encoding per input table (``{"deals": "big5"}``) where detection is not enough.
    - ``product_aliases``: product spellings of the deals file mapped to the name the plans use
      (``{"GTXPro": "GTX Pro"}``).
    - ``amount_ceiling``: the largest plausible deal amount, in major units of the base currency (converted at
      the month's FX rate for other currencies); a deal above it is quarantined as implausible.
    - ``amount_ceilings``: per-currency overrides of that ceiling, in major units of each currency.
    - ``median_multiple``: a won deal more than this many times the rep's median won deal is quarantined.
    - ``text_max_length``: display text (names, accounts, products) is cut to this many characters.
    - ``pack_time_limit``: seconds one PDF pack may take to render before it fails alone.
    """

    fiscal_year_start: int = 1
    timezone: str = "UTC"
    base_currency: str = "USD"
    min_responses: int = 5
    quarantine_max_share: Decimal = Decimal("0.05")
    survey_scales: dict[str, tuple[int, int]] = field(default_factory=dict)
    encodings: dict[str, str] = field(default_factory=dict)
    product_aliases: dict[str, str] = field(default_factory=dict)
    amount_ceiling: Decimal = Decimal("10000000000")
    amount_ceilings: dict[str, Decimal] = field(default_factory=dict)
    median_multiple: int = 1000
    text_max_length: int = 200
    pack_time_limit: int = 120

    @property
    def calendar(self) -> FiscalCalendar:
        """The fiscal calendar these settings describe."""
        return FiscalCalendar(self.fiscal_year_start)
