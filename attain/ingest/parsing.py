"""Parse the money and dates CRM exports write into the contract's plain text forms.

CRM exports write amounts as ``$22,700.00``, ``USD 1,200``, ``¥1,234.50``,
``1.234,50`` or ``(500.00)``, and dates as ``15 Apr, 2021 00:02:00``,
``2021/04/15``, ``15/04/2021``, Excel serial numbers, ISO datetimes with ``Z``
or ``2021年4月15日``. This module turns a column of such text into the
contract's forms: plain decimal text (``"22700.00"``, ``"-500.00"``) plus the
currency code the text carried, and ISO dates (``"2021-04-15"``).

Two conventions are decided for a whole column, never per cell, and never
guessed:

- the decimal separator: a point or a comma, taken from a declaration or from
  values only one convention can read (``1.234,50``, ``22700.5``); a column
  mixing both is an error;
- the day/month order of ``dd/dd/yyyy`` dates: taken from a declaration or from
  a value with a day above 12; when nothing in the file tells, the column is an
  error asking for the order to be declared.

A cell that cannot be read under the column's convention is reported in the
``problems`` series (one sentence per cell, ``""`` when fine) so the caller can
quarantine that row; a column-level problem raises :class:`ConventionError`.

Amounts are parsed with Arrow's vectorised string kernels (RE2 regexes);
dates once per distinct value (``pd.factorize``) after the time of day is cut
off, so a million-row export costs a few thousand date parses plus array takes.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from attain.money import MINOR_DIGITS
from attain.settings import how_to_set

#: How to declare the decimal convention of a file whose amounts cannot tell (a mapping file takes the same line).
_DECLARE_DECIMALS = (
    f"{how_to_set('decimal_comma', True)} for 1.234,50, {how_to_set('decimal_comma', False)} for 1,234.50 "
    "(a mapping file takes the same line)"
)
DATE_ORDERS = ("DMY", "MDY")


class ConventionError(ValueError):
    """A whole column whose number or date convention is unknown or contradictory.

    ``column`` is the export's own column name; the message says what to declare.
    """

    def __init__(self, column: str, message: str) -> None:
        self.column = column
        super().__init__(f"column {column!r}: {message}")


def map_unique(values: pd.Series, parse: Callable[[str], object]) -> tuple[np.ndarray, np.ndarray, list]:
    """Apply ``parse`` once per distinct value of ``values``.

    Returns ``(codes, first_position, results)``: ``codes[i]`` indexes
    ``results`` for row ``i``, and ``first_position[k]`` is the row position
    where distinct value ``k`` first occurs (used to cite an example row).
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    results = [parse(u) for u in uniques]
    first = np.full(len(uniques), -1, dtype=np.int64)
    if len(codes):
        order = np.arange(len(codes) - 1, -1, -1)
        first[codes[order]] = order
    return codes, first, results


# ---------------------------------------------------------------- money

#: Currency symbols and words found next to amounts, mapped to ISO codes.
#: ``$`` and ``¥`` are shared: they mean the default currency when that is a
#: dollar or yen/yuan currency (see :func:`symbol_currency`).
CURRENCY_SYMBOLS: dict[str, str] = {
    "$": "USD",
    "US$": "USD",
    "USD$": "USD",
    "€": "EUR",
    "£": "GBP",
    "¥": "CNY",
    "￥": "CNY",
    "CN¥": "CNY",
    "RMB": "CNY",
    "元": "CNY",
    "人民币": "CNY",
    "JP¥": "JPY",
    "円": "JPY",
    "HK$": "HKD",
    "S$": "SGD",
    "SG$": "SGD",
    "A$": "AUD",
    "AU$": "AUD",
    "C$": "CAD",
    "CA$": "CAD",
    "NZ$": "NZD",
    "NT$": "TWD",
    "R$": "BRL",
    "₹": "INR",
    "₩": "KRW",
    "zł": "PLN",
    "S/": "PEN",
}
#: Currencies written with a plain ``$``: the dollars and the pesos of Latin America.
_DOLLARS = {"USD", "AUD", "CAD", "HKD", "SGD", "NZD", "TWD", "MXN", "COP", "CLP", "ARS", "UYU"}
_YENS = {"CNY", "JPY"}

#: One amount as exports write it: optional parentheses or sign, a currency marker
#: before or after (``$``, ``US$``, ``USD``, ``元``), and digits with grouping
#: (``,`` ``.`` ``'`` or spaces). RE2 syntax: it runs in Arrow's vectorised kernels.
_MARKER = r"[^\d\s.,()'+\-−]{1,4}"
_MONEY_PATTERN = (
    r"^\(?\s*[-−+]?\s*(?:" + _MARKER + r")?\s*[-−+]?\s*"
    r"(?:\d[\d.,' \x{00a0}\x{202f}]*\d|\d)\s*(?:" + _MARKER + r")?\s*-?\s*\)?$"
)
#: Everything in an amount that is not its currency marker.
_NOT_MARKER = r"[\d.,\s'()+\-−\x{00a0}\x{202f}]+"

# What one number says about the decimal separator (see _decimal_evidence).
_NEUTRAL, _POINT, _COMMA, _POINT_GROUP3, _COMMA_GROUP3 = range(5)
_EVIDENCE_NAMES = {_POINT: "point", _COMMA: "comma"}


def symbol_currency(marker: str, default_currency: str | None) -> str | None:
    """The ISO code a currency marker written next to an amount stands for, or None.

    A three-letter code (``USD``, ``eur``) stands for itself. ``$`` means the
    default currency when that is a dollar currency (AUD, CAD, ...), else USD;
    ``¥`` means JPY when the default is JPY, else CNY.
    """
    if len(marker) == 3 and marker.isascii() and marker.isalpha() and marker.upper() in MINOR_DIGITS:
        return marker.upper()
    code = CURRENCY_SYMBOLS.get(marker) or CURRENCY_SYMBOLS.get(marker.upper())
    if code is None:
        return None
    if marker == "$" and default_currency in _DOLLARS:
        return default_currency
    if marker in ("¥", "￥") and default_currency in _YENS:
        return default_currency
    return code


def arrow_text(values: pd.Series) -> pa.Array:
    """The column as an Arrow string array, cells trimmed (blank = "")."""
    array = pa.array(values.to_numpy(dtype=object), type=pa.string(), from_pandas=True)
    return pc.utf8_trim_whitespace(pc.fill_null(array, ""))


def arrow_flags(array: pa.Array) -> np.ndarray:
    """An Arrow boolean array as numpy, null = False."""
    return pc.fill_null(array, False).to_numpy(zero_copy_only=False)


def _decimal_evidence(digits: pa.Array) -> np.ndarray:
    """What each number says about the decimal separator.

    ``1,234.50`` or ``22700.5`` can only be read with a decimal point,
    ``1.234,50`` or ``22700,5`` only with a decimal comma; ``1,234`` and
    ``1.234`` read as thousands (money never has three decimals here) and only
    hint at the convention.
    """
    dots = pc.count_substring(digits, ".").to_numpy(zero_copy_only=False)
    commas = pc.count_substring(digits, ",").to_numpy(zero_copy_only=False)
    point_last = arrow_flags(pc.match_substring_regex(digits, r"\.\d*$"))
    three_after = arrow_flags(pc.match_substring_regex(digits, r"^\d+[.,]\d{3}$"))
    both = (dots > 0) & (commas > 0)
    evidence = np.full(len(digits), _NEUTRAL, dtype=np.int8)
    evidence[both] = np.where(point_last[both], _POINT, _COMMA)
    evidence[~both & (commas > 1)] = _POINT
    evidence[~both & (dots > 1)] = _COMMA
    one_dot, one_comma = ~both & (dots == 1), ~both & (commas == 1)
    evidence[one_dot] = np.where(three_after[one_dot], _POINT_GROUP3, _POINT)
    evidence[one_comma] = np.where(three_after[one_comma], _COMMA_GROUP3, _COMMA)
    return evidence


@dataclass
class ParsedMoney:
    """A parsed amount column.

    ``amount``: plain decimal text (``"22700.00"``, ``"-500"``), ``""`` for blank
    or unreadable; ``currency``: the ISO code written with the amount, ``""`` if
    none; ``problems``: a sentence per unreadable cell, else ``""``;
    ``decimal_comma``: the convention used (None when no value needed one).
    """

    amount: pd.Series
    currency: pd.Series
    problems: pd.Series
    decimal_comma: bool | None


def parse_money(
    values: pd.Series,
    *,
    column: str,
    decimal_comma: bool | None = None,
    default_currency: str | None = None,
    row_label: Callable[[int], str] = lambda pos: f"data row {pos + 1}",
) -> ParsedMoney:
    """Parse a column of amount text, vectorised (Arrow string kernels).

    ``decimal_comma`` declares the convention; when None it is taken from the
    column's values (see :func:`_decimal_evidence`). A column with values only a
    decimal point can read and values only a decimal comma can read raises
    :class:`ConventionError`. ``default_currency`` only resolves shared symbols
    (``$``, ``¥``). ``row_label(position)`` names a row in error messages.
    """
    text = arrow_text(values)
    blank = arrow_flags(pc.equal(text, ""))
    readable = arrow_flags(pc.match_substring_regex(text, _MONEY_PATTERN))
    parenthesised = arrow_flags(pc.starts_with(text, "("))
    signs = sum(pc.count_substring(text, sign).to_numpy(zero_copy_only=False) for sign in "-−+")
    problems = np.full(len(text), "", dtype=object)
    problems[~readable & ~blank] = "is not an amount; write it like 22700.00 or $22,700.00"
    problems[readable & (parenthesised != arrow_flags(pc.ends_with(text, ")")))] = "has an unmatched parenthesis"
    problems[readable & (signs + parenthesised > 1)] = "has more than one sign"
    ok = readable & (problems == "")

    digits = pc.replace_substring_regex(text, r"[^\d.,]", "")
    evidence = np.where(ok, _decimal_evidence(digits), _NEUTRAL)
    convention = decimal_comma if decimal_comma is not None else _decide_decimal(column, evidence, digits, row_label)
    comma = bool(convention)
    other_group3 = evidence == (_POINT_GROUP3 if comma else _COMMA_GROUP3)  # 1,234 / 1.234: thousands
    if comma:
        ungrouped = pc.replace_substring(pc.replace_substring(digits, ".", ""), ",", ".")
    else:
        ungrouped = pc.replace_substring(digits, ",", "")
    plain = pc.if_else(pa.array(other_group3), pc.replace_substring_regex(digits, "[.,]", ""), ungrouped)
    only_other_reads_it = evidence == (_POINT if comma else _COMMA)
    number_ok = arrow_flags(pc.match_substring_regex(plain, r"^\d+(\.\d+)?$")) & ~only_other_reads_it
    problems[ok & ~number_ok] = f"is not a number with a decimal {'comma' if comma else 'point'}"
    ok &= number_ok

    marker = pc.replace_substring_regex(text, _NOT_MARKER, "").to_numpy(zero_copy_only=False)
    codes, markers = pd.factorize(marker)
    known = [symbol_currency(m, default_currency) if m else "" for m in markers]
    currency = np.asarray([k or "" for k in known], dtype=object)[codes]
    unknown_marker = np.asarray([k is None for k in known], dtype=bool)[codes]
    problems[ok & unknown_marker] = "has an unknown currency marker; write the ISO code (USD, EUR, CNY, ...)"
    ok &= ~unknown_marker

    negative = parenthesised | (signs > arrow_flags(pc.match_substring(text, "+")))
    signed = pc.if_else(pa.array(negative), pc.binary_join_element_wise("", plain, "-"), plain)
    amount = np.where(ok, signed.to_numpy(zero_copy_only=False), "").astype(object)
    currency = np.where(ok, currency, "").astype(object)
    bad = np.flatnonzero(problems != "")
    if len(bad):
        originals = text.take(pa.array(bad)).to_pylist()
        problems[bad] = [f"{original!r} {problem}" for original, problem in zip(originals, problems[bad], strict=True)]
    index = values.index
    return ParsedMoney(
        pd.Series(amount, index=index, dtype=object),
        pd.Series(currency, index=index, dtype=object),
        pd.Series(problems, index=index, dtype=object),
        convention,
    )


def _decide_decimal(
    column: str, evidence: np.ndarray, digits: pa.Array, row_label: Callable[[int], str]
) -> bool | None:
    """The decimal convention the column's own values prove, or None if none is needed."""

    def example(kind: int) -> str | None:
        hits = np.flatnonzero(evidence == kind)
        if not len(hits):
            return None
        return f"{digits[int(hits[0])].as_py()!r} ({row_label(int(hits[0]))})"

    point, comma = example(_POINT), example(_COMMA)
    if point and comma:
        raise ConventionError(
            column,
            f"mixes a decimal point, e.g. {point}, and a decimal comma, e.g. {comma}; fix the file "
            f"or declare the convention: {_DECLARE_DECIMALS}",
        )
    if point or comma:
        return bool(comma)
    hint_point, hint_comma = example(_COMMA_GROUP3), example(_POINT_GROUP3)
    if hint_point and hint_comma:
        raise ConventionError(
            column,
            f"groups thousands with a comma, e.g. {hint_point}, and with a point, e.g. {hint_comma}; "
            f"declare the convention: {_DECLARE_DECIMALS}",
        )
    if hint_point or hint_comma:
        return bool(hint_comma)
    return None


# ---------------------------------------------------------------- dates

_MONTHS = {
    name: i + 1
    for i, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ]
    )
    for name in names
}
_MON = r"(?P<mon>[A-Za-z]{3,9})\.?"
#: The time of day (and zone) after a date; cut off before the date is read. RE2 syntax.
_TIME_SUFFIX = (
    r"[T\s,]+\d{1,2}:\d{2}(:\d{2}([.,]\d+)?)?\s*([AaPp]\.?[Mm]\.?|上午|下午)?\s*(Z|UTC|GMT|[+-]\d{2}:?\d{2})?$"
)
#: ISO date-times with a zone (``2021-04-15T10:00:00.000+0000``, ``...Z``): moved to the run's zone.
_ISO_WITH_ZONE = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}([.,]\d+)?)?\s*(Z|[+-]\d{2}:?\d{2})$"
_DATE_PATTERNS = [
    ("ymd", re.compile(r"^(?P<y>\d{4})[-/.](?P<m>\d{1,2})[-/.](?P<d>\d{1,2})$")),
    ("ymd", re.compile(r"^(?P<y>\d{4})年\s*(?P<m>\d{1,2})月\s*(?P<d>\d{1,2})日?$")),
    ("ab", re.compile(r"^(?P<a>\d{1,2})[-/.](?P<b>\d{1,2})[-/.](?P<y>\d{4}|\d{2})$")),
    ("dmony", re.compile(r"^(?P<d>\d{1,2})[-\s/.]*" + _MON + r"[-\s/.,]+(?P<y>\d{4}|\d{2})$")),
    ("mondy", re.compile(r"^" + _MON + r"[-\s/.]+(?P<d>\d{1,2})(?:st|nd|rd|th)?[\s,]+(?P<y>\d{4})$")),
    ("compact", re.compile(r"^(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})$")),
    ("serial", re.compile(r"^(?P<n>\d{5})(?:\.\d+)?$")),
]
_EXCEL_EPOCH = dt.date(1899, 12, 30)
#: Excel serial numbers accepted as dates: 1954-10-03 to 2119-01-10.
_SERIAL_RANGE = (20000, 80000)


@dataclass(frozen=True)
class _Date:
    """One distinct date text: either a definite date or a day/month pair in unknown order."""

    ymd: tuple[int, int, int] | None = None
    ab: tuple[int, int, int] | None = None  # (first number, second number, year) of dd/dd/yyyy
    error: str = ""


def _four_digit_year(y: str) -> int:
    return int(y) + 2000 if len(y) == 2 else int(y)


def _scan_date(text: str) -> _Date | None:
    """Read one date text (time of day already cut off); None for blank."""
    s = text.strip()
    if not s:
        return None
    for kind, pattern in _DATE_PATTERNS:
        m = pattern.match(s)
        if m is None:
            continue
        try:
            if kind == "ab":
                return _Date(ab=(int(m["a"]), int(m["b"]), _four_digit_year(m["y"])))
            if kind == "serial":
                n = int(m["n"])
                if not _SERIAL_RANGE[0] <= n <= _SERIAL_RANGE[1]:
                    break
                day = _EXCEL_EPOCH + dt.timedelta(days=n)
                return _Date(ymd=(day.year, day.month, day.day))
            if kind in ("dmony", "mondy"):
                month = _MONTHS.get(m["mon"].lower())
                if month is None:
                    break
                ymd = (_four_digit_year(m["y"]), month, int(m["d"]))
            else:
                ymd = (int(m["y"]), int(m["m"]), int(m["d"]))
            dt.date(*ymd)  # a calendar date?
            return _Date(ymd=ymd)
        except ValueError:
            return _Date(error=f"{s!r} is not a calendar date")
    return _Date(error=f"{s!r} is not a date; write it like 2021-04-15")


@dataclass
class DateScan:
    """A date column read once, before its day/month order is settled.

    ``order_evidence`` is ``"DMY"`` or ``"MDY"`` when a value proves the order
    (a first number above 12 proves day-first), ``None`` when no value does.
    ``needs_order`` is True when some value reads differently in the two
    orders (``04/05/2021``), so an order must come from somewhere.
    """

    column: str
    index: pd.Index
    codes: np.ndarray
    first: np.ndarray
    scans: list[_Date | None]
    order_evidence: str | None
    evidence_example: str
    needs_order: bool

    def resolve(self, order: str | None) -> tuple[pd.Series, pd.Series]:
        """ISO dates and per-row problems, reading dd/dd/yyyy values in ``order``.

        ``order`` may only be None when :attr:`needs_order` is False.
        """
        if order is None and self.needs_order:
            raise ConventionError(
                self.column,
                f"dates such as {self.evidence_example} can be read day-first or month-first and nothing "
                f"in the file tells which; declare the order: {how_to_set('date_order', 'DMY')} (or MDY; "
                "a mapping file takes the same line)",
            )
        isos, problems = [], []
        for scan in self.scans:
            iso, problem = "", ""
            if scan is None:
                pass
            elif scan.error:
                problem = scan.error
            else:
                ymd = scan.ymd
                if ymd is None:
                    assert scan.ab is not None  # a scan without a full date holds the ambiguous dd/dd/yyyy
                    a, b, y = scan.ab
                    ymd = (y, b, a) if order == "DMY" or (order is None and a == b) else (y, a, b)
                try:
                    iso = dt.date(*ymd).isoformat()
                except ValueError:
                    problem = f"not a calendar date when read {'day' if order == 'DMY' else 'month'}-first"
            isos.append(iso)
            problems.append(problem)

        def take(items):
            return pd.Series(
                np.asarray(items, dtype=object)[self.codes] if len(self.codes) else [], index=self.index, dtype=object
            )

        return take(isos), take(problems)


def _calendar_part(values: pd.Series, timezone: str | None) -> pd.Series:
    """The date part of each cell: time of day cut off, zoned ISO date-times moved into ``timezone``."""
    text = arrow_text(values)
    dates = pc.replace_substring_regex(text, _TIME_SUFFIX, "").to_numpy(zero_copy_only=False).astype(object)
    if timezone:
        zoned = arrow_flags(pc.match_substring_regex(text, _ISO_WITH_ZONE))
        if zoned.any():
            stamps = pd.to_datetime(
                pd.Series(text.filter(pa.array(zoned)).to_numpy(zero_copy_only=False)),
                format="ISO8601",
                utc=True,
                errors="coerce",
            )
            local = stamps.dt.tz_convert(ZoneInfo(timezone)).dt.strftime("%Y-%m-%d").to_numpy(dtype=object)
            converted = np.flatnonzero(zoned)[stamps.notna().to_numpy()]
            dates[converted] = local[stamps.notna().to_numpy()]
    return pd.Series(dates, index=values.index, dtype=object)


def scan_dates(
    values: pd.Series,
    *,
    column: str,
    timezone: str | None = None,
    row_label: Callable[[int], str] = lambda pos: f"data row {pos + 1}",
) -> DateScan:
    """Read a date column once; see :class:`DateScan` for settling the order.

    ``timezone`` (IANA name): date-times carrying ``Z`` or an offset are moved
    to this zone before the date is taken; without it the date is as written.
    A column proving both orders raises :class:`ConventionError`.
    """
    values = _calendar_part(values, timezone)
    codes, first, scans = map_unique(values, _scan_date)
    day_first = month_first = ambiguous = None
    for k, scan in enumerate(scans):
        if scan is None or scan.ab is None:
            continue
        a, b, _ = scan.ab
        where = f"{values.iloc[int(first[k])].strip()!r} ({row_label(int(first[k]))})"
        if a > 12 >= b and day_first is None:
            day_first = where
        elif b > 12 >= a and month_first is None:
            month_first = where
        elif a <= 12 and b <= 12 and a != b and ambiguous is None:
            ambiguous = where
    if day_first and month_first:
        raise ConventionError(
            column,
            f"has day-first dates, e.g. {day_first}, and month-first dates, e.g. {month_first}; "
            "fix the column so it uses one order",
        )
    evidence = "DMY" if day_first else "MDY" if month_first else None
    return DateScan(
        column=column,
        index=values.index,
        codes=codes,
        first=first,
        scans=scans,
        order_evidence=evidence,
        evidence_example=day_first or month_first or ambiguous or "",
        needs_order=ambiguous is not None,
    )


def settle_date_order(scans: Iterable[DateScan], declared: str | None) -> dict[str, tuple[str | None, str]]:
    """The order each date column is read in, and why.

    A declared order applies to every column. Otherwise a column uses its own
    evidence; a column without evidence uses the evidence of the file's other
    date columns when they agree (one export writes all its dates one way).
    Returns ``{column: (order or None, explanation)}``; a column that needs
    an order nothing supplies raises :class:`ConventionError` on ``resolve``.
    """
    scans = list(scans)
    if declared is not None:
        order = declared.upper()
        if order not in DATE_ORDERS:
            raise ValueError(f"date order {declared!r} is not one of {', '.join(DATE_ORDERS)}")
        return {s.column: (order, f"{order} (declared)") for s in scans}
    proven = {s.order_evidence for s in scans if s.order_evidence}
    file_order = proven.pop() if len(proven) == 1 else None
    settled: dict[str, tuple[str | None, str]] = {}
    for s in scans:
        if s.order_evidence:
            settled[s.column] = (s.order_evidence, f"{s.order_evidence} (from {s.evidence_example})")
        elif s.needs_order and file_order:
            source = next(o for o in scans if o.order_evidence == file_order)
            settled[s.column] = (file_order, f"{file_order} (from column {source.column!r}: {source.evidence_example})")
        else:
            settled[s.column] = (None, "not needed" if not s.needs_order else "unknown")
    return settled


def parse_dates(
    values: pd.Series, *, column: str, date_order: str | None = None, timezone: str | None = None
) -> tuple[pd.Series, pd.Series]:
    """ISO dates and per-row problems for one date column (order declared or proven by the column)."""
    scan = scan_dates(values, column=column, timezone=timezone)
    order, _ = settle_date_order([scan], date_order)[column]
    return scan.resolve(order)


# ---------------------------------------------------------------- flags

_TRUE = {"true", "t", "1", "yes", "y", "是", "x"}
_FALSE = {"false", "f", "0", "no", "n", "否", ""}


def parse_flag(values: pd.Series) -> pd.Series:
    """True / False / <NA> (unreadable) for a yes-no column such as IsWon."""

    def one(text: str):
        key = text.strip().lower()
        return True if key in _TRUE else False if key in _FALSE else pd.NA

    codes, _, results = map_unique(values, one)
    return pd.Series(
        np.asarray(results, dtype=object)[codes] if len(codes) else [], index=values.index, dtype="boolean"
    )
