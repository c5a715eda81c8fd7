"""Vectorised parsing of contract text cells: amounts to int64 minor units (exactly), dates, locales."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pyarrow as pa_arrow
import pyarrow.compute as pc

from attain.ingest.contract import LOCALES
from attain.ingest.quarantine import _Table


def _canonical_locale(locale: str) -> str:
    """'zh-cn', 'ZH_CN', 'EN' -> the contract's spelling; anything else unchanged (then refused)."""
    return _LOCALE_SPELLINGS.get(locale.lower().replace("_", "-"), locale)


_LOCALE_SPELLINGS = {code.lower().replace("_", "-"): code for code in LOCALES}


def _dispute_status(text: str) -> str:
    """'Partly_Accepted', 'partially accepted' -> 'partly accepted'; other words lower-cased (then checked)."""
    words = " ".join(text.lower().replace("_", " ").replace("-", " ").split())
    return "partly accepted" if words in ("partly accepted", "partially accepted") else words


#: Case-insensitive columns, normalised once per distinct value when the file is read.
_NORMALISE: dict[str, dict[str, Callable[[str], str]]] = {
    "deals": {"currency": str.upper, "stage": str.lower},
    "credit_splits": {"role": str.lower},
    "reps": {"role": str.lower, "currency": str.upper, "locale": _canonical_locale},
    "targets": {"scope": str.lower, "metric": str.lower},
    "fx_rates": {"currency": str.upper},
    "surveys": {"scale": str.lower},
    "disputes": {"status": _dispute_status},
}


def _by_unique(column: pd.Series, func: Callable[[str], str]) -> pd.Series:
    """Apply a per-value function once per distinct value (stage, currency: a few values, many rows)."""
    codes, uniques = _factorize_text(column)
    mapped = np.array([func(v) for v in uniques], dtype=object)
    return pd.Series(mapped[codes], index=column.index, dtype=object)


def _factorize_text(column: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """``pd.factorize`` of a text column, every cell a distinct value's code.

    The cells are ``str`` by construction, so the null scan that ``use_na_sentinel=False`` costs on a
    million rows is skipped; a null cell, should one occur, still gets a code of its own.
    """
    codes, uniques = pd.factorize(column)
    if len(codes) and codes.min() < 0:
        return pd.factorize(column, use_na_sentinel=False)
    return codes, uniques


_NUMBER_RE = r"^(?P<sign>-?)(?P<int>\d+)(?:\.(?P<frac>\d*))?$"
_OK, _BLANK, _NOT_A_NUMBER, _TOO_PRECISE, _TOO_LARGE = range(5)


def _minor_units(text: pd.Series, digits: np.ndarray | int) -> tuple[np.ndarray, np.ndarray]:
    """Decimal text to exact int64 units of 10**-digits, vectorised.

    Returns ``(units, status)``; ``status`` is _OK, _BLANK, _NOT_A_NUMBER (not plain
    digits with an optional sign and decimal point), _TOO_PRECISE (more significant
    decimals than ``digits``: amounts are never rounded on input) or _TOO_LARGE
    (would not fit in int64). ``units`` is 0 where status is not _OK.
    """
    n = len(text)
    digits = np.broadcast_to(np.asarray(digits, dtype=np.int64), (n,))
    values = pa_arrow.array(text.to_numpy(dtype=object), type=pa_arrow.string(), from_pandas=True)
    parts = pc.extract_regex(values, _NUMBER_RE)
    matched = parts.is_valid().to_numpy(zero_copy_only=False)
    negative = pc.equal(pc.struct_field(parts, "sign"), "-").fill_null(False).to_numpy(zero_copy_only=False)
    whole = pc.utf8_ltrim(pc.struct_field(parts, "int"), "0")
    frac = pc.utf8_rtrim(pc.struct_field(parts, "frac"), "0")
    whole_len = pc.utf8_length(whole).fill_null(0).to_numpy(zero_copy_only=False)
    frac_len = pc.utf8_length(frac).fill_null(0).to_numpy(zero_copy_only=False)

    status = np.full(n, _OK, dtype=np.int8)
    status[~matched] = _NOT_A_NUMBER
    status[pc.equal(values, "").to_numpy(zero_copy_only=False)] = _BLANK
    status[matched & (frac_len > digits)] = _TOO_PRECISE
    status[matched & (frac_len <= digits) & (whole_len + digits > 18)] = _TOO_LARGE

    units = np.zeros(n, dtype=np.int64)
    good = status == _OK
    for d in np.unique(digits[good]):
        rows = np.flatnonzero(good & (digits == d))
        padded = pc.utf8_rpad(pc.take(frac, pa_arrow.array(rows)), width=int(d), padding="0")
        joined = pc.binary_join_element_wise(pc.take(whole, pa_arrow.array(rows)), padded, "")
        joined = pc.if_else(pc.equal(joined, ""), "0", joined)
        units[rows] = pc.cast(joined, pa_arrow.int64()).to_numpy(zero_copy_only=False)
    return np.where(negative, -units, units), status


def _dates(table: _Table, column: str) -> pd.Series:
    """Parse a YYYY-MM-DD column; a non-blank cell that is not such a date is a problem."""
    text = table.text[column]
    codes, uniques, parsed = _distinct_dates(text)
    bad = text[(np.isnat(parsed) & (uniques != ""))[codes]]
    table.problems.add(
        bad.index,
        column,
        bad,
        [
            f"{column} '{v}' is not a date in the form YYYY-MM-DD (for example 2025-03-31); correct the date"
            for v in bad
        ],
    )
    return pd.Series(parsed[codes], index=text.index)


def _parse_dates(text: pd.Series) -> pd.Series:
    """YYYY-MM-DD text to datetime64 (NaT where blank or not such a date), parsed once per distinct value."""
    codes, _, parsed = _distinct_dates(text)
    return pd.Series(parsed[codes], index=text.index)


def _distinct_dates(text: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(codes, distinct texts, their datetime64 or NaT)``: a date column has a few thousand distinct values."""
    codes, uniques = _factorize_text(text)
    parsed = pd.to_datetime(pd.Series(uniques, dtype=object), format="%Y-%m-%d", errors="coerce").to_numpy()
    return codes, np.asarray(uniques, dtype=object), parsed


def _blank(table: _Table, column: str, mask: pd.Series, reason: str) -> None:
    """Record a blank required cell."""
    table.problems.add(table.text.index[mask], column, [""] * int(mask.sum()), reason)


def _amount_problems(
    table: _Table, column: str, status: np.ndarray, digits: np.ndarray | int, currency: pd.Series | None, what: str
) -> None:
    """Turn the failed statuses of ``_minor_units`` (not a number, too precise, too large) into problems."""
    text = table.text[column]
    digits = np.broadcast_to(np.asarray(digits), (len(text),))
    for code, template in (
        (
            _NOT_A_NUMBER,
            (
                "{col} '{v}' is not a number; write {what} with digits and a decimal point only, "
                "for example 1234.50 (no currency symbol, no thousands separator)"
            ),
        ),
        (
            _TOO_PRECISE,
            ("{col} {v} has more than {d} decimal place{s}{ccy}; {what} are never rounded on input: correct the value"),
        ),
        (_TOO_LARGE, "{col} {v} is too large to be a real value; correct it"),
    ):
        rows = np.flatnonzero(status == code)
        if len(rows):
            ccys = currency.to_numpy()[rows] if currency is not None else [""] * len(rows)
            reasons = [
                template.format(
                    col=column,
                    v=v,
                    what=what,
                    d=int(d),
                    s="" if d == 1 else "s",
                    ccy=f" ({c} has {int(d)})" if c else "",
                )
                for v, d, c in zip(text.iloc[rows], digits[rows], ccys, strict=True)
            ]
            table.problems.add(text.index[rows], column, text.iloc[rows], reasons)


#: Reasons for Pandera failures: (table, schema column or check name) -> (file column, reason per row).
#: A reason function receives the failing rows' cleaned text and returns one sentence per row.
