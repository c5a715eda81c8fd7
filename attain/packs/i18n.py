"""Languages for packs and e-mails: translations from editable .po files, Babel formatting.

Translators edit ``report_templates/locale/<locale>/LC_MESSAGES/<domain>.po`` (plain gettext
catalogues; ``messages`` holds the review-pack labels). They are read at run time with Babel's
``read_po``: there is no compile step to forget, and a fixed .po takes effect on the next run.
Each catalogue is parsed once per process (cached).

Every number, date, month and amount a reader sees goes through the helpers below, so it is
written the way the reader's locale writes it (``$1,234.50`` / ``US$1,234.50``, ``October 2026`` /
``2026年10月``). Money arrives as integer minor units (``attain.money``) and is formatted from the
exact ``Decimal``, never from a float.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable
from decimal import Decimal
from functools import cache
from pathlib import Path

import babel.dates
import babel.numbers
import pandas as pd
from babel import Locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from attain.money import from_minor
from attain.pay import explain
from attain.periods import month_start

#: Locales a pack or e-mail can be written in (the roster's ``locale`` column).
LOCALES: tuple[str, ...] = ("en", "zh_CN")

#: Where the translation catalogues live: ``<repo>/report_templates/locale``.
LOCALE_DIR = Path(__file__).resolve().parents[2] / "report_templates" / "locale"

#: What a missing or undefined figure prints as (no ratio without a target, no win rate without deals).
MISSING = "\u2014"


class LocaleError(ValueError):
    """A locale without a translation catalogue."""


def po_path(locale: str, domain: str = "messages", locale_dir: Path | None = None) -> Path:
    """The .po file a translator edits for ``locale`` and ``domain``."""
    return Path(locale_dir or LOCALE_DIR) / locale / "LC_MESSAGES" / f"{domain}.po"


@cache
def _load(path: Path, locale: str, domain: str) -> Translations:
    with path.open("rb") as po:
        catalog = read_po(po, locale=locale, domain=domain)
    mo = io.BytesIO()
    write_mo(mo, catalog)
    mo.seek(0)
    return Translations(mo, domain=domain)


def translator(locale: str, domain: str = "messages", locale_dir: Path | None = None) -> Translations:
    """The ``gettext``/``ngettext`` object for ``locale``, read from its .po file (cached).

    An untranslated entry falls back to its English msgid, so a half-finished catalogue still
    prints. A locale with no catalogue at all is an error naming the file to add.
    """
    path = po_path(locale, domain, locale_dir)
    if not path.is_file():
        raise LocaleError(
            f"no {domain!r} translations for locale {locale!r}: expected {path}; "
            f"use one of {', '.join(LOCALES)} in the roster's locale column, or add that .po file"
        )
    return _load(path.resolve(), locale, domain)


@cache
def _babel_locale(locale: str) -> Locale:
    """Parsed once: Babel re-parses a locale string on every call, the main cost of formatting."""
    return Locale.parse(locale)


def format_money(minor: int, currency: str, locale: str) -> str:
    """``123450, "USD"`` -> ``$1,234.50`` (en) / ``US$1,234.50`` (zh_CN), exact.

    Locale-specific on purpose (symbol, separators, placement follow the reader's language), so
    it is not :func:`attain.money.format_minor`, the locale-neutral text of logs and exports.
    """
    return babel.numbers.format_currency(from_minor(int(minor), currency), currency, locale=_babel_locale(locale))


def _missing(value: object) -> bool:
    """None, NaN, ``pd.NA`` and ``pd.NaT``: a figure that does not exist."""
    return value is None or (pd.api.types.is_scalar(value) and bool(pd.isna(value)))


def format_percent(ratio: float | Decimal | None, locale: str, digits: int = 1) -> str:
    """``1.0456`` -> ``104.6%``; a missing ratio (None, NaN, <NA>) prints as an em dash."""
    if ratio is None or _missing(ratio):
        return MISSING
    pattern = "#,##0" + ("." + "0" * digits if digits else "") + "%"
    return babel.numbers.format_percent(ratio, format=pattern, locale=_babel_locale(locale))


def format_number(value: float | None, locale: str, digits: int = 0) -> str:
    """A count or score with ``digits`` decimals, grouped for the locale; missing -> em dash."""
    if value is None or _missing(value):
        return MISSING
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return babel.numbers.format_decimal(value, format=pattern, locale=_babel_locale(locale))


def format_date(day: dt.date, locale: str) -> str:
    """``2026-10-05`` -> ``Oct 5, 2026`` (en) / ``2026年10月5日`` (zh_CN); missing -> em dash."""
    if _missing(day):
        return MISSING
    if isinstance(day, dt.datetime):
        day = day.date()
    return babel.dates.format_date(day, format="medium", locale=_babel_locale(locale))


def format_month(month: str, locale: str) -> str:
    """``"2026-10"`` -> ``October 2026`` (en) / ``2026年10月`` (zh_CN)."""
    return babel.dates.format_skeleton("yMMMM", month_start(month), locale=_babel_locale(locale))


def format_month_short(month: str, locale: str) -> str:
    """``"2026-10"`` -> ``Oct`` (en) / ``10月`` (zh_CN): chart axis labels."""
    return babel.dates.format_skeleton("MMM", month_start(month), locale=_babel_locale(locale))


def format_rate(ratio: Decimal | str | float | None, locale: str) -> str:
    """An exact rate or share as a percentage with the decimals it has (``"0.025"`` -> ``2.5%``, ``"0.03"`` ->
    ``3%``): plan rates, credit shares. Empty or missing -> an empty string (a line without a rate)."""
    if ratio is None or ratio == "" or _missing(ratio):
        return ""
    exact = Decimal(str(ratio))
    return babel.numbers.format_percent(exact, format="#,##0.########%", locale=_babel_locale(locale))


#: Gettext context of the ledger's sentences in the catalogues (``msgctxt "ledger"``).
LEDGER_CONTEXT = "ledger"


def explanation(sentence: explain.Sentence, locale: str) -> str:
    """A ledger line's explanation (``attain.pay.explain``: reason code and facts) in ``locale``: the
    sentence's translated template filled with its facts, each formatted for the locale."""
    translations = translator(locale)
    typed: dict[str, Callable[..., str]] = {
        "money": lambda minor, currency: format_money(minor, currency, locale),
        "pct": lambda ratio: format_rate(ratio, locale),
        "att": lambda actual, target: format_percent(
            Decimal(explain.attainment_tenths(actual, target)) / 1000, locale, 1
        ),
        "date": lambda day: format_date(dt.date.fromisoformat(day), locale),
        "month": lambda month: format_month(month, locale),
    }
    return explain.render(
        sentence,
        lambda code: str(translations.pgettext(LEDGER_CONTEXT, explain.SENTENCES[code])),
        typed,
        lambda n: format_number(n, locale),
    )
