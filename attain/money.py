"""Exact money: integer minor units, one rounding rule.

Every amount Attain stores or computes is an integer number of the currency's
minor unit (cents for USD, fen for CNY, yen for JPY) held in an ``int64``
column or a Python ``int``. Floats never carry money.

The one rounding rule: **half-up (away from zero on .5), once per line**.
A statement line's amount is rounded when it is computed; totals are sums of
rounded lines and are never rounded again.

Ratios (FX rates, commission rates, shares) are ``Decimal``. Multiplying a
column of minor units by a ratio is exact: the ratio is turned into an integer
fraction ``p/q`` and the product is divided with integer half-up rounding.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from fractions import Fraction

import numpy as np

#: ISO 4217 minor units where Babel's CLDR data gives other digits. CLDR's ``digits`` are what is usually
#: *shown* (0 for COP, HUF, IDR, whose minor units are out of use); ISO 4217 is what amounts are *booked* in,
#: and a finance export may carry them ("1234.50" COP), so the ISO figure wins.
ISO_DIGITS_OVERRIDES: dict[str, int] = {
    "AFN": 2,
    "ALL": 2,
    "COP": 2,
    "HUF": 2,
    "IDR": 2,
    "IQD": 3,
    "IRR": 2,
    "KPW": 2,
    "LAK": 2,
    "LBP": 2,
    "MGA": 2,
    "MMK": 2,
    "SOS": 2,
    "SYP": 2,
    "YER": 2,
}

#: Codes CLDR lists as in use that are not ISO 4217 currencies a deal can be written in: CNH (offshore yuan, a
#: market convention, not an ISO code) and XXX ("no currency", CLDR's entry for Antarctica). CLDR's "ZZ"
#: territory (gold, SDR, test codes: ISO gives them no minor unit) is left out as a whole.
_NOT_ISO = frozenset({"CNH", "XXX"})


def _active_iso_currencies() -> dict[str, int]:
    """Every ISO 4217 code some territory still uses (no end date in CLDR), with its minor-unit digits.

    Read from Babel's CLDR data (a maintained source, updated with Babel), so new codes (VED, ZWG, XCG)
    arrive with a Babel upgrade; withdrawn ones (HRK, SLL) leave. Fund codes (CLF, USN) are included.
    """
    from babel.core import get_global
    from babel.numbers import get_currency_precision

    active = {
        code
        for territory, currencies in get_global("territory_currencies").items()
        if territory != "ZZ"
        for code, _start, end, _tender in currencies
        if end is None and code not in _NOT_ISO
    }
    return {code: ISO_DIGITS_OVERRIDES.get(code, get_currency_precision(code)) for code in sorted(active)}


#: Digits after the decimal point of every active ISO 4217 currency (JPY 0, USD 2, KWD 3, CLF 4).
MINOR_DIGITS: dict[str, int] = _active_iso_currencies()


#: The most traded currencies: preferred when a typo is as close to one of them as to another code.
_MAJOR = ("USD", "EUR", "JPY", "GBP", "CNY", "AUD", "CAD", "CHF", "HKD", "SGD", "INR", "MXN", "BRL", "KRW")
#: Common names written where a code belongs.
_NAMES = {"RMB": "CNY", "YUAN": "CNY", "YEN": "JPY", "EURO": "EUR", "EUROS": "EUR"}


def closest_currency(code: str) -> str | None:
    """The active ISO code a mistyped ``code`` most likely means ('USS' -> 'USD', 'EUROS' -> 'EUR'), or None.

    Candidates are the codes one letter away from the first three letters (or starting with them, for a
    shorter text); those sharing the first two letters come first, then the most traded currencies.
    """
    text = str(code).strip().upper()
    if not text.isalpha():
        return None
    if text in _NAMES:
        return _NAMES[text]
    head = text[:3]
    if len(head) < 3:
        found = [c for c in MINOR_DIGITS if c.startswith(head)]
    else:
        found = [c for c in MINOR_DIGITS if sum(a != b for a, b in zip(c, head, strict=True)) <= 1]
    if not found:
        return None
    return min(found, key=lambda c: (c != head, c[:2] != head[:2], c not in _MAJOR, c))


def unknown_currency_reason(code: str) -> str:
    """Why ``code`` is refused: it is not an active ISO 4217 code; the closest code when one is near."""
    close = closest_currency(code)
    hint = f"; did you mean {close}?" if close else "; use the 3-letter ISO code, for example USD, EUR or JPY"
    return f"currency '{code}' is not an active ISO 4217 currency code{hint}"


#: Products of minor units and ratio numerators stay below this bound in int64.
_INT64_SAFE = 2**62


class MoneyError(ValueError):
    """An amount or currency that cannot be represented exactly."""


def minor_digits(currency: str) -> int:
    """Number of minor-unit digits of ``currency``; unknown codes are an error."""
    try:
        return MINOR_DIGITS[currency]
    except KeyError:
        raise MoneyError(unknown_currency_reason(currency)) from None


def to_minor(amount: Decimal | str | int, currency: str) -> int:
    """Convert a major-unit amount to minor units, refusing sub-minor precision.

    ``to_minor("22700.50", "USD") == 2270050``; ``to_minor("1.5", "JPY")`` is an
    error because yen have no minor unit: input amounts are never rounded.
    """
    try:
        value = Decimal(str(amount))
    except InvalidOperation:
        raise MoneyError(f"{amount!r} is not a number") from None
    if not value.is_finite():
        raise MoneyError(f"{amount!r} is not a finite amount")
    scaled = value.scaleb(minor_digits(currency))
    if scaled != scaled.to_integral_value():
        raise MoneyError(f"{amount} {currency} has more than {minor_digits(currency)} decimal places")
    return int(scaled)


def from_minor(minor: int, currency: str) -> Decimal:
    """The exact major-unit ``Decimal`` for ``minor`` units of ``currency``."""
    digits = minor_digits(currency)
    return Decimal(int(minor)).scaleb(-digits).quantize(Decimal(1).scaleb(-digits))


def round_half_up(value: Decimal | Fraction) -> int:
    """Round an exact number to the nearest integer, halves away from zero."""
    if isinstance(value, Fraction):
        num, den = value.numerator, value.denominator
        sign = -1 if num < 0 else 1
        return sign * ((2 * abs(num) + den) // (2 * den))
    return int(Decimal(value).to_integral_value(rounding=ROUND_HALF_UP))


def div_half_up(numerator: np.ndarray, denominator: int | np.ndarray) -> np.ndarray:
    """Integer division of int64 arrays rounded half-up (away from zero).

    ``denominator`` must be positive.
    """
    num = np.asarray(numerator, dtype=np.int64)
    den = np.asarray(denominator, dtype=np.int64)
    sign = np.where(num < 0, -1, 1)
    return sign * ((2 * np.abs(num) + den) // (2 * den))


def ratio(value: Decimal | str | int | Fraction) -> Fraction:
    """An exact ratio from a Decimal, a decimal string, an int or a Fraction."""
    if isinstance(value, Fraction):
        return value
    return Fraction(Decimal(str(value)))


def apply_ratio(minor: np.ndarray, factor: Decimal | str | Fraction) -> np.ndarray:
    """``minor x factor``, each element rounded half-up once, exactly.

    Vectorised in int64 while the products fit; otherwise falls back to Python
    integers element by element, so large amounts are still exact.
    """
    frac = ratio(factor)
    minor = np.asarray(minor, dtype=np.int64)
    p, q = frac.numerator, frac.denominator
    if minor.size == 0:
        return minor.copy()
    largest = int(np.abs(minor).max())
    if largest * abs(p) * 2 + q < _INT64_SAFE and q < _INT64_SAFE:
        return div_half_up(minor * p, q)
    return np.array([round_half_up(Fraction(int(m) * p, q)) for m in minor], dtype=np.int64)


def apply_ratios(minor: np.ndarray, factors: np.ndarray) -> np.ndarray:
    """Element-wise ``minor[i] x factors[i]`` with half-up rounding per element.

    ``factors`` holds Decimals, strings or Fractions; equal factors are grouped
    so the work is vectorised per distinct ratio (FX rates, shares, tier rates).
    """
    minor = np.asarray(minor, dtype=np.int64)
    factors = np.asarray(factors, dtype=object)
    out = np.empty(minor.shape, dtype=np.int64)
    if minor.size == 0:
        return out
    keys = np.array([str(f) for f in factors], dtype=object)
    uniques, inverse = np.unique(keys, return_inverse=True)
    for i, key in enumerate(uniques):
        mask = inverse == i
        out[mask] = apply_ratio(minor[mask], key if "/" not in key else Fraction(key))
    return out


def convert(minor: np.ndarray, from_ccy: str, to_ccy: str, rate: Decimal | str | Fraction) -> np.ndarray:
    """Convert minor units of ``from_ccy`` to ``to_ccy`` at ``rate`` (to per 1 from).

    The minor-digit difference between the two currencies is folded into the
    ratio, so the result is rounded exactly once.
    """
    shift = minor_digits(to_ccy) - minor_digits(from_ccy)
    return apply_ratio(minor, ratio(rate) * Fraction(10) ** shift)


def format_minor(minor: int, currency: str, *, grouped: bool = False) -> str:
    """The one locale-neutral text of an amount in minor units, with the currency's minor digits.

    ``'1234.50'`` for logs, exports and input files; ``grouped=True`` gives ``'1,234.50'`` for
    text people read (ledger explanations, statements). Packs and e-mails use
    :func:`attain.packs.i18n.format_money` instead: it follows the reader's locale (symbol, separators).
    """
    amount = from_minor(int(minor), currency)
    return f"{amount:,}" if grouped else str(amount)


def money_text(minor: int, currency: str) -> str:
    """``12400.00 USD`` as ``"12,400.00 USD"`` for explanations and statements."""
    return f"{format_minor(minor, currency, grouped=True)} {currency}"
