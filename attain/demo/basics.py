"""The demo company's shape: its month, teams, regions, products, FX starting points, the people who carry
the special cases, the input files' columns; date and FX helpers shared by the generators.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

#: The month the demo is built to be run for (its data ends on this month's last day).
DEMO_MONTH = "2026-10"

#: Where the example incentive plans live (copied into every generated folder).
EXAMPLE_PLANS_DIR = Path(__file__).resolve().parents[2] / "docs" / "examples" / "plans"

#: Column order of each input file written (docs/data-model.md, "Inputs").
INPUT_COLUMNS: dict[str, list[str]] = {
    "deals": [
        "deal_id",
        "owner_id",
        "account",
        "product",
        "amount",
        "currency",
        "stage",
        "created_date",
        "close_date",
        "cancelled_date",
        "cancel_reason",
    ],
    "credit_splits": ["deal_id", "rep_id", "share", "role"],
    "reps": [
        "rep_id",
        "name",
        "email",
        "role",
        "manager_id",
        "team",
        "region",
        "hire_date",
        "leave_date",
        "plan_id",
        "locale",
        "currency",
        "valid_from",
    ],
    "targets": ["scope", "scope_id", "month", "metric", "amount", "effective_date", "reason", "author"],
    "fx_rates": ["month", "currency", "rate"],
    "surveys": ["response_id", "deal_id", "account", "response_date", "score", "scale", "comment"],
}

EMAIL_DOMAIN = "demo.attain.example"
GREATER_CHINA = "Greater China"


@dataclass(frozen=True)
class _Team:
    name: str
    region: str
    deal_currencies: tuple[tuple[str, float], ...]  # (currency, share of the team's deals)

    @property
    def chinese(self) -> bool:
        return self.region == GREATER_CHINA


TEAMS: tuple[_Team, ...] = (
    _Team("New York", "Americas", (("USD", 1.0),)),
    _Team("Toronto", "Americas", (("USD", 1.0),)),
    _Team("London", "EMEA", (("GBP", 0.7), ("EUR", 0.2), ("USD", 0.1))),
    _Team("Berlin", "EMEA", (("EUR", 0.75), ("USD", 0.25))),
    _Team("Shanghai", GREATER_CHINA, (("CNY", 1.0),)),
    _Team("Beijing", GREATER_CHINA, (("CNY", 1.0),)),
)
REGIONS = ("Americas", "EMEA", GREATER_CHINA)

# Who plays which part (team index, member index within the team).
_LEAVER = (0, 1)  # New York rep leaving inside end_month
_MOVER = (1, 0)  # Toronto rep moving to New York four months before end_month
_HIRE = (3, -1)  # Berlin rep hired in the middle of end_month - 2
_FEW_SURVEYS = (2, 0)  # London rep with only two survey responses
_LOW_CSAT = (5, 0)  # Beijing rep with poor satisfaction scores
_TEAM_TARGET_AGREES = 2  # London: team target = sum of members
_TEAM_TARGET_DISAGREES = 4  # Shanghai: team target 10% above the sum of members

#: List price in USD and share of deals, per product.
PRODUCTS: dict[str, tuple[int, float]] = {
    "Helio Core": (14_000, 0.28),
    "Helio Analytics": (9_000, 0.20),
    "Helio Enterprise": (52_000, 0.08),
    "Connector Pack": (3_200, 0.18),
    "Premium Support": (6_500, 0.14),
    "Onboarding Services": (11_000, 0.12),
}

#: Start-of-window value of 1 unit in USD, and the decimals the rate is quoted with.
FX_START: dict[str, tuple[float, int]] = {
    "CNY": (0.1390, 5),
    "EUR": (1.0850, 4),
    "GBP": (1.2700, 4),
    "JPY": (0.006700, 7),
}


# ---------------------------------------------------------------- helpers


def _day(value: dt.date) -> np.datetime64:
    return np.datetime64(value, "D")


def _date_text(days: np.ndarray) -> np.ndarray:
    """ISO date text of a ``datetime64[D]`` array."""
    return np.datetime_as_string(days, unit="D").astype(object)


def _month_index(days: np.ndarray, window: list[str]) -> np.ndarray:
    """Position of each date's month in ``window``, clipped to the window's ends."""
    months = days.astype("datetime64[M]")
    first = np.datetime64(window[0], "M")
    return np.clip((months - first).astype(np.int64), 0, len(window) - 1)


def _unique_pairs(rng: np.random.Generator, first: int, second: int, n: int) -> list[tuple[int, int]]:
    """``n`` distinct (i, j) index pairs into two lists of sizes ``first`` and ``second``."""
    if n > first * second:
        raise ValueError(f"cannot make {n} distinct names from {first} x {second} name parts")
    flat = rng.choice(first * second, size=n, replace=False)
    return [(int(k) // second, int(k) % second) for k in flat]


# ---------------------------------------------------------------- FX


def _fx_rates(rng: np.random.Generator, window: list[str]) -> dict[str, np.ndarray]:
    """Monthly USD value of each non-base currency: a gentle random walk, quoted decimals."""
    rates = {}
    for ccy in sorted(FX_START):
        start, decimals = FX_START[ccy]
        steps = rng.normal(0.0, 0.012, len(window))
        steps[0] = 0.0
        rates[ccy] = np.round(start * np.exp(np.cumsum(steps)), decimals)
    return rates


def _fx_table(fx: dict[str, np.ndarray], window: list[str]) -> pd.DataFrame:
    rows = [
        {"month": month, "currency": ccy, "rate": f"{fx[ccy][i]:.{FX_START[ccy][1]}f}"}
        for i, month in enumerate(window)
        for ccy in sorted(fx)
    ]
    return pd.DataFrame(rows)


def _usd_rate(fx: dict[str, np.ndarray], currency: np.ndarray, month_idx: np.ndarray) -> np.ndarray:
    """USD per unit of each row's currency in each row's month (1 for USD)."""
    rate = np.ones(len(currency))
    for ccy, series in fx.items():
        mask = currency == ccy
        rate[mask] = series[month_idx[mask]]
    return rate
