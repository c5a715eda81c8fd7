"""Coaching suggestions: each point to improve in a rep's figures mapped to a suggested action.

The actions come from a catalogue (issue 13 item 3): the built-in ``coaching.yaml`` next to this module, which a
``coaching.yaml`` in the data folder extends entry by entry (docs/review-packs.md, "Coaching and support"). An
entry is a trigger (a measure of the rep, a comparison and a threshold, optionally relative to the team's or the
company's figure), the action in every pack language and optionally a training resource. The pack prints each
suggestion whose trigger fires next to the figure that fired it ("Win rate 18.0% (team 31.0%)").

The catalogue is validated entirely on load: an error names the file, the entry and the field, and says what to
write, so the person who edits the file can fix it without reading code.
"""

from __future__ import annotations

import difflib
import operator
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from attain.packs.i18n import LOCALES

#: The catalogue file a data folder may hold, and the built-in one shipped with the package.
COACHING_FILE = "coaching.yaml"
DEFAULT_CATALOGUE = Path(__file__).with_name(COACHING_FILE)

#: What a trigger can test, and what each measure is (docs/review-packs.md lists the same).
MEASURES: dict[str, str] = {
    "revenue_attainment": "revenue attainment this month (a ratio: 0.8 = 80%; only with a target)",
    "ytd_revenue_attainment": "revenue attainment year to date (a ratio; only with a target)",
    "won_deals_attainment": "won deals against their target this month (a ratio; only with a target)",
    "new_accounts_attainment": "new accounts against their target this month (a ratio; only with a target)",
    "new_accounts": "new accounts won this month (a count)",
    "win_rate": "won / (won + lost) deals closed this month (a ratio; only from 3 closed deals)",
    "median_cycle_days": "median days from created to won over the deals won this month",
    "coverage": "open pipeline divided by next month's revenue target",
    "csat": "share of survey responses scoring 4-5 of 5, last 12 months (a ratio; only with enough responses)",
    "falling_months": "consecutive months, up to this one, in which revenue attainment fell",
}
#: Measures whose figure can be compared with the team's or the company's (``relative_to``).
BENCHMARKED = ("win_rate", "median_cycle_days")
BENCHMARKS = ("team", "company")
#: Ratio measures: a threshold may be written as a percentage ("80%").
RATIOS = frozenset(m for m in MEASURES if m.endswith("attainment") or m in ("win_rate", "csat"))
COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    "below": operator.lt,
    "at_most": operator.le,
    "above": operator.gt,
    "at_least": operator.ge,
}
_ENTRY_KEYS = ("id", "enabled", "trigger", "action", "resource")
_TRIGGER_KEYS = ("measure", "comparison", "threshold", "relative_to")
_FILE_KEYS = ("replace_defaults", "suggestions")


class CoachingError(ValueError):
    """A coaching catalogue that cannot be used; ``str(e)`` names the file, the entry and the field."""


@dataclass(frozen=True)
class Trigger:
    """Fires when ``measure`` compared (``comparison``) with ``threshold`` holds; with ``relative_to`` the
    threshold is added to that benchmark's figure (``win_rate below -0.10 relative_to team``: ten points
    under the team's win rate)."""

    measure: str
    comparison: str
    threshold: float
    relative_to: str | None = None

    def fires(self, value: float, benchmark: float | None) -> bool:
        limit = self.threshold + (benchmark or 0.0) if self.relative_to else self.threshold
        return COMPARISONS[self.comparison](value, limit)


@dataclass(frozen=True)
class CoachingEntry:
    """One catalogue entry: when it fires, the action (per locale) and the optional resource (per locale)."""

    id: str
    trigger: Trigger
    action: dict[str, str]
    resource: dict[str, str] | None = None


@dataclass(frozen=True)
class Catalogue:
    """The entries in force, in the order the pack lists their suggestions."""

    entries: tuple[CoachingEntry, ...]


def load_catalogue(data_dir: Path | str | None = None) -> Catalogue:
    """The built-in catalogue extended by ``<data_dir>/coaching.yaml`` when there is one.

    The data folder's file extends the built-in entries by ``id``: an entry with a new id is added (after the
    built-in ones, in file order); an entry with a built-in id replaces the fields it gives (``trigger``,
    ``action``, ``resource``) and keeps the others; ``enabled: false`` switches an entry off. With
    ``replace_defaults: true`` at the top of the file, only the file's entries are used.
    """
    default = _read(DEFAULT_CATALOGUE, DEFAULT_CATALOGUE.name)
    path = Path(data_dir) / COACHING_FILE if data_dir is not None else None
    if path is not None and not path.is_file() and path.with_suffix(".yml").is_file():
        raise CoachingError(
            f"{path.with_suffix('.yml')}: (file): rename it {COACHING_FILE}; Attain reads that name only"
        )
    if path is None or not path.is_file():
        return _built(default["suggestions"], DEFAULT_CATALOGUE.name)
    custom = _read(path, str(path))
    raw = {} if custom["replace_defaults"] else {e["id"]: e for e in default["suggestions"]}
    for entry in custom["suggestions"]:
        raw[entry["id"]] = {**raw.get(entry["id"], {}), **entry}
    return _built(list(raw.values()), str(path))


@cache
def default_catalogue() -> Catalogue:
    """The built-in catalogue (read once per process): packs made without a data folder use it."""
    return load_catalogue(None)


def _read(path: Path, name: str) -> dict:
    """The file's entries as dicts, each field checked; an entry with a new id must be complete later."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "(file)"
        raise CoachingError(
            f"{name}: {where}: not valid YAML ({getattr(error, 'problem', error)}); "
            "check the indentation and that each key is followed by ': '"
        ) from None
    except UnicodeDecodeError:
        raise CoachingError(f"{name}: (file): not UTF-8 text; save the file as UTF-8") from None
    if document is None:
        raise CoachingError(f"{name}: (file): the file is empty; write a 'suggestions:' list (docs/review-packs.md)")
    reader = _Reader(name)
    reader.keys(document, "(file)", _FILE_KEYS)
    replace = document.get("replace_defaults", False)
    if not isinstance(replace, bool):
        raise reader.fail("(file)", "replace_defaults", f"{replace!r} is not true or false; write true or false")
    entries = document.get("suggestions")
    if not isinstance(entries, list) or not entries:
        raise reader.fail("(file)", "suggestions", "expected a list of entries, each starting with '- id: ...'")
    seen: set[str] = set()
    checked = []
    for number, entry in enumerate(entries, start=1):
        checked.append(reader.entry(entry, number, seen))
    return {"replace_defaults": replace, "suggestions": checked}


def _built(checked: list[dict], name: str) -> Catalogue:
    """The catalogue of checked entries; an entry switched on must have a trigger and an action."""
    entries = []
    for raw in checked:
        if not raw.get("enabled", True):
            continue
        for field in ("trigger", "action"):
            if field not in raw:
                raise CoachingError(
                    f"{name}: entry {raw['id']!r}: {field}: required for a new entry; "
                    "give it (docs/review-packs.md), or use the id of a built-in entry to change that one"
                )
        entries.append(CoachingEntry(raw["id"], raw["trigger"], raw["action"], raw.get("resource")))
    return Catalogue(tuple(entries))


class _Reader:
    """Checks the fields of one catalogue file, raising CoachingError at the first problem."""

    def __init__(self, name: str) -> None:
        self.name = name

    def fail(self, entry: str, field: str, message: str) -> CoachingError:
        return CoachingError(f"{self.name}: {entry}: {field}: {message}")

    def keys(self, value: Any, entry: str, allowed: tuple[str, ...], prefix: str = "") -> dict:
        if not isinstance(value, dict):
            field = prefix.rstrip(".") or "(entry)"
            raise self.fail(entry, field, f"expected the keys {', '.join(allowed)}; found {value!r}")
        for key in value:
            if key not in allowed:
                close = difflib.get_close_matches(str(key), allowed, n=1)
                hint = f"did you mean {close[0]!r}? " if close else ""
                raise self.fail(entry, f"{prefix}{key}", f"unknown field; {hint}allowed here: {', '.join(allowed)}")
        return value

    def entry(self, value: Any, number: int, seen: set[str]) -> dict:
        label = f"entry {number}"
        if not isinstance(value, dict) or not isinstance(value.get("id"), str) or not value["id"].strip():
            raise self.fail(label, "id", "every entry needs an id (a short name such as low_win_rate)")
        entry_id = value["id"].strip()
        label = f"entry {number} {entry_id!r}"
        self.keys(value, label, _ENTRY_KEYS)
        if entry_id in seen:
            raise self.fail(label, "id", "another entry of this file has the same id; give each entry its own id")
        seen.add(entry_id)
        out: dict[str, Any] = {"id": entry_id}
        if "enabled" in value:
            if not isinstance(value["enabled"], bool):
                raise self.fail(label, "enabled", f"{value['enabled']!r} is not true or false; write true or false")
            out["enabled"] = value["enabled"]
        if "trigger" in value:
            out["trigger"] = self.trigger(value["trigger"], label)
        if "action" in value:
            out["action"] = self.texts(value["action"], label, "action")
        if "resource" in value:
            out["resource"] = None if value["resource"] is None else self.texts(value["resource"], label, "resource")
        return out

    def trigger(self, value: Any, label: str) -> Trigger:
        self.keys(value, label, _TRIGGER_KEYS, "trigger.")
        for key in ("measure", "comparison", "threshold"):
            if value.get(key) in (None, ""):
                raise self.fail(label, f"trigger.{key}", "required field is missing or blank")
        measure, comparison, relative_to = value["measure"], value["comparison"], value.get("relative_to")
        if measure not in MEASURES:
            close = difflib.get_close_matches(str(measure), list(MEASURES), n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise self.fail(
                label, "trigger.measure", f"{measure!r} is not a measure; {hint}use one of {', '.join(MEASURES)}"
            )
        if comparison not in COMPARISONS:
            raise self.fail(
                label, "trigger.comparison", f"{comparison!r} is not a comparison; use one of {', '.join(COMPARISONS)}"
            )
        if relative_to is not None and (measure not in BENCHMARKED or relative_to not in BENCHMARKS):
            raise self.fail(
                label,
                "trigger.relative_to",
                f"{relative_to!r} is not possible here; relative_to is team or company, and only for "
                f"{' and '.join(BENCHMARKED)}",
            )
        return Trigger(measure, comparison, self.number(value["threshold"], label, measure), relative_to)

    def number(self, value: Any, label: str, measure: str) -> float:
        """A threshold: a number, or for a ratio measure a percentage such as ``"80%"`` (= 0.8)."""
        text = str(value).strip()
        scale = 1.0
        if measure in RATIOS and text.endswith("%"):
            text, scale = text[:-1].strip(), 0.01
        try:
            number = float(text) * scale
        except ValueError:
            number = float("nan")
        if isinstance(value, bool) or not np.isfinite(number):
            example = "0.8 or 80%" if measure in RATIOS else "14"
            raise self.fail(label, "trigger.threshold", f"{value!r} is not a number; write a number such as {example}")
        return number

    def texts(self, value: Any, label: str, field: str) -> dict[str, str]:
        """Text in every pack language: ``{en: ..., zh_CN: ...}``."""
        self.keys(value, label, LOCALES, f"{field}.")
        for locale in LOCALES:
            text = value.get(locale)
            if not isinstance(text, str) or not text.strip():
                raise self.fail(
                    label,
                    f"{field}.{locale}",
                    f"missing or blank; write the {field} in every pack language ({', '.join(LOCALES)})",
                )
        return {locale: value[locale].strip() for locale in LOCALES}


def coaching_measures(
    att: dict,
    trend: list[dict],
    pipeline: dict | None,
    team_pipeline: dict | None,
    company_pipeline: dict | None,
    satisfaction: dict[str, dict | None],
    min_closed: int,
) -> dict[str, dict]:
    """Every measure of ``MEASURES`` the rep has this month: ``{measure: {"value", ...figures it cites}}``.

    A measure without a figure (no target, too few closed deals or survey responses) is left out, so no
    suggestion rests on it. ``benchmarks`` holds the team's and the company's figure where there is one.
    """
    out: dict[str, dict] = {}
    for metric, period, measure in (
        ("revenue", "month", "revenue_attainment"),
        ("revenue", "ytd", "ytd_revenue_attainment"),
        ("won_deals", "month", "won_deals_attainment"),
        ("new_accounts", "month", "new_accounts_attainment"),
    ):
        row = att.get((metric, period))
        if row is not None and row["attainment"] is not None and row["target"]:
            out[measure] = {
                "value": row["attainment"],
                "actual": row["actual"],
                "target": row["target"],
                "currency": row["currency"],
            }
    accounts = att.get(("new_accounts", "month"))
    if accounts is not None and accounts["actual"] is not None:
        out["new_accounts"] = {"value": accounts["actual"]}
    if pipeline is not None:
        closed = (pipeline["won_count"] or 0) + (pipeline["lost_count"] or 0)
        benches = {"team": team_pipeline, "company": company_pipeline}
        for measure, column in (("win_rate", "win_rate"), ("median_cycle_days", "median_cycle_days")):
            value = pipeline[column]
            if value is None or (measure == "win_rate" and closed < min_closed):
                continue
            benchmarks = {name: row[column] for name, row in benches.items() if row and row[column] is not None}
            out[measure] = {"value": value, "benchmarks": benchmarks}
        if pipeline["coverage"] is not None:
            out["coverage"] = {"value": pipeline["coverage"]}
    sat = satisfaction.get("trailing_12") or satisfaction.get("month")
    if sat is not None and sat["enough"] and sat["csat_share"] is not None:
        out["csat"] = {"value": sat["csat_share"], "responses": sat["csat_responses"]}
    ratios = [p["attainment"] for p in trend]
    falls = 0
    while falls + 1 < len(ratios) and None not in ratios[-falls - 2 :] and ratios[-falls - 1] < ratios[-falls - 2]:
        falls += 1
    if ratios and ratios[-1] is not None:
        out["falling_months"] = {"value": falls, "attainment": ratios[-1], "start": ratios[-falls - 1]}
    return out


def suggestions(catalogue: Catalogue, measures: dict[str, dict]) -> list[dict]:
    """The catalogue's entries whose trigger fires on ``measures``, in catalogue order, each with the figures
    behind it: ``{"id", "measure", "value", "relative_to", "benchmark", ...figures, "action", "resource"}``."""
    out = []
    for entry in catalogue.entries:
        trigger = entry.trigger
        figures = measures.get(trigger.measure)
        if figures is None:
            continue
        benchmark = figures.get("benchmarks", {}).get(trigger.relative_to) if trigger.relative_to else None
        if trigger.relative_to and benchmark is None:
            continue
        if trigger.fires(figures["value"], benchmark):
            cited = {k: v for k, v in figures.items() if k != "benchmarks"}
            out.append(
                {
                    **cited,
                    "id": entry.id,
                    "measure": trigger.measure,
                    "relative_to": trigger.relative_to,
                    "benchmark": benchmark,
                    "action": entry.action,
                    "resource": entry.resource,
                }
            )
    return out
