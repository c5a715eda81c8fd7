"""Exact money: minor units, half-up rounding once, no float anywhere."""

from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from attain import money


def test_to_minor_and_back_per_currency():
    assert money.to_minor("22700.50", "USD") == 2270050
    assert money.to_minor("1234", "JPY") == 1234
    assert money.from_minor(2270050, "USD") == Decimal("22700.50")
    assert money.from_minor(1234, "JPY") == Decimal(1234)
    assert money.format_minor(5, "CNY") == "0.05"


def test_sub_minor_input_is_refused_not_rounded():
    with pytest.raises(money.MoneyError, match="more than 0 decimal places"):
        money.to_minor("1.5", "JPY")
    with pytest.raises(money.MoneyError, match="more than 2 decimal places"):
        money.to_minor("1.005", "USD")
    with pytest.raises(money.MoneyError, match="currency 'XXX' is not an active ISO 4217 currency code"):
        money.to_minor("1", "XXX")


def test_half_up_away_from_zero():
    # 105 x 0.05 = 5.25 -> 5; 110 x 0.05 = 5.5 -> 6; negatives mirror positives.
    out = money.apply_ratio(np.array([105, 110, -110, 3]), "0.05")
    assert out.tolist() == [5, 6, -6, 0]
    assert money.round_half_up(Fraction(-5, 2)) == -3
    assert money.round_half_up(Decimal("2.5")) == 3


def test_convert_folds_minor_digits_into_one_rounding():
    # 22,700.50 USD at 149.5 JPY per USD = 3,393,724.75 JPY -> 3,393,725 (one rounding).
    assert money.convert(np.array([2270050]), "USD", "JPY", "149.5").tolist() == [3393725]
    # 1,000 JPY at 0.0067 USD per JPY = 6.70 USD.
    assert money.convert(np.array([1000]), "JPY", "USD", "0.0067").tolist() == [670]


def test_huge_amounts_stay_exact_beyond_int64_products():
    big = np.array([9_000_000_000_000_000], dtype=np.int64)
    assert money.apply_ratio(big, "0.123456789").tolist() == [
        money.round_half_up(Fraction(9_000_000_000_000_000) * Fraction("0.123456789"))
    ]


def test_apply_ratios_groups_equal_factors():
    out = money.apply_ratios(np.array([100, 100, 333]), np.array(["0.5", "0.25", "1/3"], dtype=object))
    assert out.tolist() == [50, 25, 111]


@given(
    st.lists(st.integers(min_value=-(10**12), max_value=10**12), min_size=1, max_size=50),
    st.decimals(min_value=Decimal(0), max_value=Decimal(1000), places=6),
)
def test_apply_ratio_matches_decimal_half_up(amounts, factor):
    expected = [money.round_half_up(Decimal(a) * factor) for a in amounts]
    assert money.apply_ratio(np.array(amounts, dtype=np.int64), factor).tolist() == expected
