"""Run-wide settings shared by every stage (the Dagster resource `settings` carries them)."""

from __future__ import annotations

import codecs
import datetime as dt
import difflib
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from attain.periods import FiscalCalendar


@dataclass(frozen=True)
class Settings:
    """What a sales-operations analyst configures once per company.

    Every field can be set three ways (see README "Settings"): a CLI flag, the ``attain.yaml`` settings file in
    the data folder, and the Dagster run config of the ``attain`` resource; ``fiscal_year_start`` and ``timezone``
    also by the environment, which ``pipelines.resources.read_environment`` reads (this module never does).

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
    - ``time_progress_days``: how an as-of run counts the share of the month elapsed: ``calendar`` days or
      ``working`` days (Monday to Friday, less ``holidays``).
    - ``holidays``: days that are not working days, ISO date -> name (``{"2026-12-25": "Christmas"}``).
    - ``time_progress_gap``: an as-of run warns when attainment of the whole month's target lags the share of the
      month elapsed by more than this (0.10 = 10 percentage points).
    - ``target_review_low`` / ``target_review_high``: the manager's target review flags a target as likely too high
      when most months' attainment is below the first, too low when most are above the second.
    """

    fiscal_year_start: int = 1
    timezone: str = "UTC"
    base_currency: str = "USD"
    min_responses: int = 5
    quarantine_max_share: Decimal = Decimal("0.05")
    survey_scales: dict[str, tuple[int, int]] = field(default_factory=dict)
    encodings: dict[str, str] = field(default_factory=dict)
    product_aliases: dict[str, str] = field(default_factory=dict)
    amount_ceiling: Decimal = Decimal(10000000000)
    amount_ceilings: dict[str, Decimal] = field(default_factory=dict)
    median_multiple: int = 1000
    text_max_length: int = 200
    pack_time_limit: int = 120
    # issue 13 item 2: time progress of an as-of run
    time_progress_days: str = "calendar"
    holidays: dict[str, str] = field(default_factory=dict)
    time_progress_gap: Decimal = Decimal("0.10")
    # issue 13 item 4: the manager's target review
    target_review_low: Decimal = Decimal("0.70")
    target_review_high: Decimal = Decimal("1.30")

    @property
    def calendar(self) -> FiscalCalendar:
        """The fiscal calendar these settings describe."""
        return FiscalCalendar(self.fiscal_year_start)


# ---------------------------------------------------------------- how each setting is set

#: The settings file, read from the data folder (the folder of the file that ``attain validate FILE`` checks).
SETTINGS_FILE = "attain.yaml"

_UNSET = ("", "~", "null")


class SettingsError(ValueError):
    """A setting that cannot be used: unknown key or wrong value. The message says where and what to write."""


@dataclass(frozen=True)
class Option:
    """One setting a person can set, and how: the attain.yaml key ``name``, the CLI flag ``flag``.

    ``parse`` turns a written value (text from attain.yaml or a flag, or a number or list from the Dagster run
    config) into the value Attain uses, raising ValueError when it cannot. A ``keyed`` option is a mapping
    (``encodings``): its flag takes one ``KEY=VALUE`` item and is repeated, ``parse`` reads one value and
    ``parse_key`` one key.
    ``example`` is a typical value, quoted in messages and the README. A yes/no option has a flag for yes
    (``flag``) and one for no (``off_flag``). ``default`` is that of an option that is not a Settings field.
    """

    name: str
    flag: str
    parse: Callable[[object], object]
    example: Any
    keyed: bool = False
    parse_key: Callable[[object], str] = lambda key: _text(key)
    off_flag: str = ""
    default: object = None


def _text(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("is not a text")
    return value.strip()


def _whole(low: int, high: int | None = None) -> Callable[[object], int]:
    def parse(value: object) -> int:
        text = str(value).strip()
        if isinstance(value, bool) or not re.fullmatch(r"\d+", text):
            raise ValueError("is not a whole number")
        number = int(text)
        if number < low or (high is not None and number > high):
            raise ValueError(f"is not between {low} and {high}" if high is not None else f"is below {low}")
        return number

    return parse


def _decimal(high: Decimal | None = None) -> Callable[[object], Decimal]:
    def parse(value: object) -> Decimal:
        if isinstance(value, (bool, float)) or not re.fullmatch(r"\d+(\.\d+)?", str(value).strip()):
            raise ValueError("is not a positive number written with a decimal point")
        number = Decimal(str(value).strip())
        if number <= 0 or (high is not None and number > high):
            raise ValueError(f"is not above 0 and at most {high}" if high is not None else "is not above 0")
        return number

    return parse


def _timezone(value: object) -> str:
    name = _text(value)
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("is not an IANA time zone") from None
    return name


def _currency(value: object) -> str:
    code = _text(value).upper()
    if not re.fullmatch(r"[A-Z]{3}", code):
        raise ValueError("is not a three-letter currency code")
    return code


def _encoding(value: object) -> str:
    name = _text(value)
    try:
        codecs.lookup(name)
    except LookupError:
        raise ValueError("is not a known text encoding") from None
    return name


def _scale(value: object) -> tuple[int, int]:
    """``[1, 10]`` (attain.yaml, run config) or ``1-10`` (a flag): the lowest and highest score."""
    parts = value if isinstance(value, (list, tuple)) else re.fullmatch(r"\s*(\d+)\s*-\s*(\d+)\s*", str(value))
    parts = list(parts.groups()) if isinstance(parts, re.Match) else parts
    if not isinstance(parts, list | tuple) or len(parts) != 2:
        raise ValueError("is not a lowest and a highest score, both whole numbers")
    low, high = (_whole(0)(part) for part in parts)
    if low >= high:
        raise ValueError("has a lowest score that is not below the highest")
    return low, high


def _input_table(value: object) -> str:
    """The name of an input table (``deals``), as the contract names it."""
    from attain.ingest.contract import CONTRACT

    name = _text(value).lower()
    if name not in CONTRACT:
        raise ValueError(f"is not an input; use one of {', '.join(CONTRACT)}")
    return name


def _choice(*choices: str) -> Callable[[object], str]:
    def parse(value: object) -> str:
        text = _text(value).upper()
        if text not in choices:
            raise ValueError(f"is not one of {', '.join(choices)}")
        return text

    return parse


def _day_count(value: object) -> str:
    """How elapsed days are counted: ``calendar`` or ``working``."""
    text = _text(value).lower()
    if text not in ("calendar", "working"):
        raise ValueError("is not calendar or working")
    return text


def _iso_date(value: object) -> str:
    """A day written ``YYYY-MM-DD`` (a YAML date or text), as that text."""
    text = str(value).strip()
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            raise ValueError
        return dt.date.fromisoformat(text).isoformat()
    except ValueError:
        raise ValueError("is not a date written YYYY-MM-DD") from None


def _yes_no(value: object) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text not in ("true", "false", "yes", "no"):
        raise ValueError("is not true or false")
    return text in ("true", "yes")


#: Every setting, in the order of the README's example attain.yaml: the fields of Settings, then the options
#: of how to read the deals file (docs/crm-exports.md) and how many processes render packs.
OPTIONS: dict[str, Option] = {
    option.name: option
    for option in (
        Option("fiscal_year_start", "--fiscal-year-start", _whole(1, 12), 4),
        Option("timezone", "--timezone", _timezone, "Europe/Paris"),
        Option("base_currency", "--base-currency", _currency, "EUR"),
        Option("min_responses", "--min-responses", _whole(0), 5),
        Option("quarantine_max_share", "--quarantine-max-share", _decimal(Decimal(1)), Decimal("0.10")),
        Option("survey_scales", "--survey-scale", _scale, {"nps_1_10": (1, 10)}, True, lambda k: _text(k).lower()),
        Option("encodings", "--encoding", _encoding, {"deals": "cp1252"}, True, _input_table),
        Option("product_aliases", "--product-alias", _text, {"GTXPro": "GTX Pro"}, keyed=True),
        Option("amount_ceiling", "--amount-ceiling", _decimal(), Decimal(50000000)),
        Option("amount_ceilings", "--amount-ceiling-for", _decimal(), {"JPY": Decimal(5000000000)}, True, _currency),
        Option("median_multiple", "--median-multiple", _whole(1), 5000),
        Option("text_max_length", "--text-max-length", _whole(1), 500),
        Option("pack_time_limit", "--pack-time-limit", _whole(1), 300),
        Option("profile", "--profile", _text, "hubspot"),
        Option("mapping", "--mapping", _text, "mappings/pipedrive.yaml"),
        Option("date_order", "--date-order", _choice("DMY", "MDY"), "DMY"),
        Option("decimal_comma", "--decimal-comma", _yes_no, True, off_flag="--decimal-point"),
        Option("render_processes", "--render-processes", _whole(1), 4, default=2),
        # issue 13 item 2: time progress of an as-of run
        Option("time_progress_days", "--time-progress-days", _day_count, "working"),
        Option("holidays", "--holiday", _text, {"2026-12-25": "Christmas"}, keyed=True, parse_key=_iso_date),
        Option("time_progress_gap", "--time-progress-gap", _decimal(Decimal(1)), Decimal("0.15")),
        # issue 13 item 4: the manager's target review
        Option("target_review_low", "--target-review-low", _decimal(Decimal(1)), Decimal("0.60")),
        Option("target_review_high", "--target-review-high", _decimal(), Decimal("1.50")),
        # issue 12 item 2: teams per step of the packs stage (each step goes to one Celery worker)
        Option("pack_chunk_teams", "--pack-chunk-teams", _whole(1), 10, default=25),
    )
}

_SETTINGS_FIELDS = {f.name for f in fields(Settings)}


def _written(value: object, quote=None) -> str:
    """A typed value as a person writes it (``1-10`` for a scale on a flag, ``[1, 10]`` in attain.yaml)."""
    if isinstance(value, tuple):
        return f"{value[0]}-{value[1]}" if quote is None else f"[{value[0]}, {value[1]}]"
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    return quote(text) if quote is not None else text


def _yaml_scalar(text: str) -> str:
    """``text`` as a YAML flow scalar: bare when YAML reads it back as that text, else double-quoted."""
    if re.fullmatch(r"[A-Za-z0-9_][\w .\-/+]*", text) and not text.endswith(" "):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def how_to_set(name: str, example: Any = None) -> str:
    """How to set the setting ``name``, quoted in every message that asks for it: its flag and its attain.yaml line.

    ``how_to_set("quarantine_max_share", "0.10")`` is `` `--quarantine-max-share 0.10` or
    `quarantine_max_share: 0.10` in attain.yaml``. For a mapping setting, ``example`` is a dict of one item
    (``{"deals": "big5"}``); without ``example`` the option's own example is quoted.
    """
    option = OPTIONS[name]
    value = option.example if example is None else example
    if option.keyed:
        (key, item), *_ = value.items()
        flag = f"{option.flag} {shlex.quote(f'{key}={_written(item)}')}"
        line = f"{name}: {{{_yaml_scalar(str(key))}: {_written(item, _yaml_scalar)}}}"
    elif isinstance(value, bool):
        flag = option.flag if value else option.off_flag
        line = f"{name}: {_written(value)}"
    else:
        flag = f"{option.flag} {shlex.quote(_written(value))}"
        line = f"{name}: {_written(value, _yaml_scalar)}"
    return f"`{flag}` or `{line}` in {SETTINGS_FILE}"


def parse_option(name: str, value: object, where: str) -> Any:
    """The value of option ``name`` as written at ``where``; SettingsError naming both and an example if wrong."""
    option = OPTIONS[name]
    label, written = name, value
    try:
        if not option.keyed:
            return option.parse(value)
        if not isinstance(value, dict):
            raise ValueError("is not a list of KEY: VALUE items")
        parsed = {}
        for key, item in value.items():
            label, written = name, key
            key = option.parse_key(key)
            label, written = f"{name} {key!r}", item
            parsed[key] = option.parse(item)
        return parsed
    except ValueError as error:
        raise SettingsError(f"{where}: {label}: {written!r} {error}; write for example {how_to_set(name)}") from None


def parse_options(values: dict, where: str) -> dict[str, Any]:
    """Typed values of the options in ``values`` (blank ones left out), checked like attain.yaml is."""
    parsed = {}
    for name, value in values.items():
        if name not in OPTIONS:
            close = difflib.get_close_matches(str(name), list(OPTIONS), n=1, cutoff=0.5)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise SettingsError(f"{where}: {name!r} is not a setting; {hint}the settings are {', '.join(OPTIONS)}")
        if value is None or (isinstance(value, str) and value.strip() in _UNSET):
            continue
        parsed[name] = parse_option(name, value, where)
    return parsed


def load_settings_file(path: Path | str) -> dict[str, Any]:
    """The settings of an attain.yaml file, typed and checked; empty when there is no such file.

    A relative ``mapping`` path is read from the file's folder. Every value is read as written (``0.10`` stays
    the decimal 0.10, never a float).
    """
    path = Path(path)
    if not path.is_file():
        return {}
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.BaseLoader)
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise SettingsError(f"{path}: is not a readable YAML file ({str(error).splitlines()[0]})") from None
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise SettingsError(f"{path}: write one 'setting: value' per line, for example {how_to_set('timezone')}")
    options = parse_options(raw, str(path))
    if "mapping" in options and not Path(options["mapping"]).is_absolute():
        options["mapping"] = str(path.parent / options["mapping"])
    return options


def merge_options(*layers: dict[str, Any]) -> dict[str, Any]:
    """The options in force: a later layer wins over an earlier one, item by item for mapping settings."""
    merged: dict[str, Any] = {}
    for layer in layers:
        for name, value in layer.items():
            merged[name] = {**merged.get(name, {}), **value} if OPTIONS[name].keyed else value
    return merged


def settings_from(options: dict[str, Any]) -> Settings:
    """The Settings of these options (the defaults for those not given)."""
    return Settings(**{name: value for name, value in options.items() if name in _SETTINGS_FIELDS})


def option_in_force(options: dict[str, Any], name: str) -> object:
    """An option's value: given, else the Settings default, else the option's default."""
    if name in options:
        return options[name]
    return getattr(Settings(), name) if name in _SETTINGS_FIELDS else OPTIONS[name].default
