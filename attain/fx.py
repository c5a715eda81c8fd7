"""Exchange rates: looking up a month's rate and converting minor units between currencies.

``fx_rates`` rows give, per month, how many base-currency units one unit of a currency
is worth (the base currency's rate is 1). Credit (and pipeline health) convert a deal
amount to a plan currency at the exact cross rate ``rate[deal] / rate[plan]`` of the
deal's month, rounded half-up once per row (:func:`to_plan_currency`); a missing rate
is an error naming the row to add. Validation's plausible-amount ceiling converts at a
currency's rate of the month or the latest before it (:func:`latest_rate`).
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import numpy as np
import pandas as pd

from attain import money
from attain.settings import Settings


def _fraction_text(value: Fraction) -> str:
    """An exact ratio as text: a decimal literal when it terminates, else ``"p/q"``."""
    den = value.denominator
    for prime in (2, 5):
        while den % prime == 0:
            den //= prime
    if den != 1:
        return f"{value.numerator}/{value.denominator}"
    digits = 0
    while (value * 10**digits).denominator != 1:
        digits += 1
    return str(Decimal(value.numerator * 10**digits // value.denominator).scaleb(-digits))


def rate_table(fx_rates: pd.DataFrame | None) -> dict[tuple[str, str], Fraction]:
    """``(month, currency) -> rate`` (base-currency units per 1 unit)."""
    if fx_rates is None or fx_rates.empty:
        return {}
    keys = zip(
        fx_rates["month"].astype(str), fx_rates["currency"].astype(str), fx_rates["rate"].astype(str), strict=True
    )
    return {(m, c): money.ratio(r) for m, c, r in keys}


def cross_rate(rates: dict, month: str, from_ccy: str, to_ccy: str, base: str) -> Fraction:
    """``rate[from] / rate[to]`` for ``month``; a missing rate is an error naming the fix."""
    if from_ccy == to_ccy:
        return Fraction(1)

    def rate(ccy: str) -> Fraction:
        if ccy == base:
            return Fraction(1)
        try:
            return rates[(month, ccy)]
        except KeyError:
            raise ValueError(
                f"fx_rates: no rate for {ccy} in {month} (needed to convert {from_ccy} to {to_ccy}); "
                f"add a row month={month}, currency={ccy}, rate=<{base} per 1 {ccy}>"
            ) from None

    return rate(from_ccy) / rate(to_ccy)


def to_plan_currency(
    amount_minor: pd.Series,
    deal_currency: pd.Series,
    plan_currency: pd.Series,
    month: pd.Series,
    fx_rates: pd.DataFrame | None,
    settings: Settings,
    share: pd.Series | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Convert ``amount_minor x share/100`` to the plan currency, rounded half-up once per row.

    Returns ``(converted_minor, fx_rate_text)``. Work is grouped by distinct
    (month, deal currency, plan currency, share), so it is vectorised per exact factor.
    """
    share = pd.Series("100", index=amount_minor.index) if share is None else share.astype(str)
    columns = [month, deal_currency, plan_currency, share]
    codes, labels = zip(*(pd.factorize(c.to_numpy()) for c in columns), strict=True)
    combined = np.zeros(len(amount_minor), dtype=np.int64)
    for code, label in zip(codes, labels, strict=True):
        combined = combined * len(label) + code
    groups, first, inverse = np.unique(combined, return_index=True, return_inverse=True)
    order = np.argsort(inverse, kind="stable")
    bounds = np.searchsorted(inverse[order], np.arange(len(groups) + 1))
    amounts = amount_minor.to_numpy(dtype=np.int64)
    out = np.zeros(len(amounts), dtype=np.int64)
    fx_text = np.empty(len(amounts), dtype=object)
    rates = rate_table(fx_rates)
    for g, at in enumerate(first):
        m, f, t, s = (label[code[at]] for code, label in zip(codes, labels, strict=True))
        rows = order[bounds[g] : bounds[g + 1]]
        fx = cross_rate(rates, m, f, t, settings.base_currency)
        # the share folds into the rate so that each row is still rounded exactly once
        out[rows] = money.convert(amounts[rows], f, t, fx * money.ratio(s) / 100)
        fx_text[rows] = _fraction_text(fx)
    return out, fx_text


def latest_rate(fx_rates: pd.DataFrame | None, currency: str, month: str) -> tuple[str, str] | None:
    """``(month, rate)`` of ``currency``'s rate in ``month``, else its latest before, else its latest at all.

    None when ``fx_rates`` has no rate for the currency. The rate is returned as given (text), so
    the caller converts it exactly.
    """
    rates = fx_rates[fx_rates["currency"] == currency] if fx_rates is not None else pd.DataFrame()
    if not len(rates):
        return None
    before = rates[rates["month"] <= month]
    chosen = (before if len(before) else rates).sort_values("month").iloc[-1]
    return chosen["month"], chosen["rate"]
