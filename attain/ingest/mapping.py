"""A profile applied to an export: the header row found under a report's title, a report's footer left out,
column rules, missing columns and the advice that names them, and a mapping file's declared conventions.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import yaml

from attain.ingest.parsing import arrow_text
from attain.ingest.profiles import (
    FOOTER_BLANK_KEYS,
    FOOTER_SEARCH_ROWS,
    HEADER_SEARCH_ROWS,
    SIMILAR,
    Profile,
    UnknownExportError,
    _by_key,
    _closest,
    _header_key,
    _locate,
    _similarity,
    builtin_profiles,
)
from attain.ingest.raw import InputFileError, RawTable
from attain.ingest.readers import read_table
from attain.settings import how_to_set


def _apply_rules(raw: RawTable, profile: Profile) -> RawTable:
    """``raw`` with the columns the profile's rules make added under the rules' headers."""
    if not profile.rules:
        return raw
    by_key = _by_key(list(raw.df.columns))
    made = {
        rule.header: rule.apply([raw.df[by_key[_header_key(s)]] for s in rule.sources], raw.df.index)
        for rule in profile.rules.values()
        if all(_header_key(source) in by_key for source in rule.sources)
    }
    return replace(raw, df=raw.df.assign(**made))


def _wanted(profile: Profile, key: str) -> str:
    """The export columns that would give ``key``: 'Close Date' or 'Closing Date', or the rule."""
    if key in profile.rules:
        return profile.rules[key].describe()
    return " or ".join(repr(n) for n in profile.columns.get(key, ())) or "not mapped"


def _missing(profile: Profile, located: dict[str, str], keys, headers: list[str] | None = None) -> list[str]:
    """Descriptions of ``keys`` the export lacks, each with the header names that would do.

    With the export's ``headers``, each also names the unused header most like
    one of those names, as a rename to consider (see :func:`_renames`).
    """
    renames = _renames(profile, located, keys, headers) if headers is not None else {}
    return [
        f"{key} ({_wanted(profile, key)}"
        + (f"; the file's closest column is {renames[key]!r}" if key in renames else "")
        + ")"
        for key in keys
        if key not in located
    ]


def _renames(profile: Profile, located: dict[str, str], keys, headers: list[str]) -> dict[str, str]:
    """For each of ``keys`` the export lacks, its header most like a name the profile expects (difflib).

    A key the profile maps to no name is compared by the key itself ('stage' finds 'Stage').
    """
    unused = [h for h in headers if h not in located.values()]
    renames: dict[str, str] = {}
    for key in keys:
        if key in located or key in profile.rules:
            continue
        scored = [
            (_similarity(_header_key(name), _header_key(header)), header)
            for name in profile.columns.get(key) or (key,)
            for header in unused
            if header not in renames.values()
        ]
        best = max(scored, default=(0.0, ""), key=lambda pair: pair[0])
        if best[0] >= SIMILAR:
            renames[key] = best[1]
    return renames


def _mapping_advice(profile: Profile, located: dict[str, str], keys, headers: list[str]) -> str:
    """How to map the export's own columns for the ``keys`` it lacks: the exact mapping file lines.

    For a built-in profile, a new mapping file that extends it; for a profile a
    mapping file already describes, the lines to add to that file.
    """
    renames = _renames(profile, located, keys, headers)
    lines = ["columns:"] + [
        f"  {key}: {_yaml_text(renames.get(key, f'<the column that holds {key}>'))}"
        for key in keys
        if key not in located
    ]
    if profile.name in builtin_profiles():
        return (
            "name the file's own columns in a mapping file (docs/crm-exports.md), for example a file my-crm.yaml "
            f"holding the lines\nextends: {profile.name}\n"
            + "\n".join(lines)
            + "\nand pass it with --mapping my-crm.yaml"
        )
    return f"name the file's own columns in the mapping file {profile.source}, with the lines\n" + "\n".join(lines)


def _yaml_text(text: str) -> str:
    """``text`` as a YAML scalar: plain when YAML reads it back as the same string, else double-quoted."""
    try:
        plain = yaml.safe_load(text) == text and "\n" not in text
    except yaml.YAMLError:
        plain = False
    return text if plain else json.dumps(text, ensure_ascii=False)


def detect_profile(raw: RawTable, profiles: dict[str, Profile]) -> Profile:
    """The one profile whose detection headers are all in the export's header row."""
    headers = list(raw.df.columns)
    matches = [p for p in profiles.values() if not _missing(p, _locate(p, headers), p.detect)]
    if len(matches) == 1:
        return matches[0]
    if matches:
        names = ", ".join(sorted(p.name for p in matches))
        raise InputFileError(
            raw.path,
            f"its header row fits several CRM profiles ({names}); choose one: "
            + how_to_set("profile", min(p.name for p in matches)),
        )

    def closeness(p: Profile) -> tuple[int, int]:
        missing = len(_missing(p, _locate(p, headers), p.detect))
        return (-missing, len(p.detect) - missing)

    closest = max(profiles.values(), key=closeness)
    located = _locate(closest, headers)
    raise UnknownExportError(
        raw.path,
        f"is neither in the deals contract layout nor a known CRM export. Closest profile: {closest.name} "
        f"({closest.label}), which lacks: {'; '.join(_missing(closest, located, closest.detect, headers))}. "
        f"Its columns are: {', '.join(headers)}. Export the missing columns, choose a profile with --profile, "
        f"or {_mapping_advice(closest, located, closest.detect, headers)}",
    )


def _check_mapped_columns(path: Path, spec: dict, profile: Profile, raw: RawTable) -> None:
    """Stop when a column the mapping file ``path`` names under ``columns:`` is not in the export.

    The message names the mapping file, the key and the export's closest header,
    so a misspelt name is fixed in the mapping file rather than guessed at.
    """
    headers = [str(h) for h in raw.df.columns]
    by_key = _by_key(headers)
    for key in spec.get("columns") or {}:
        rule = profile.rules.get(key)
        names = rule.sources if rule else profile.columns.get(key, ())
        absent = [n for n in names if _header_key(n) not in by_key]
        if not absent or (not rule and len(absent) < len(names)):
            continue
        closest = _closest(absent[0], headers)
        raise InputFileError(
            path,
            f"columns: {key}: {' or '.join(repr(n) for n in absent)} is not a column of {raw.path.name}"
            + (f"; the closest header is {closest!r}" if closest else "")
            + f". Its columns are: {', '.join(headers)}",
        )


def _reread_if_declared(raw: RawTable, spec: dict) -> RawTable:
    """Read the file again when a mapping file declares an encoding, delimiter or sheet other than the one used."""
    encoding, delimiter, sheet = spec.get("encoding"), spec.get("delimiter"), spec.get("sheet")
    differs = (
        (encoding and raw.encoding and not _same_codec(encoding, raw.encoding))
        or (delimiter and delimiter != raw.delimiter)
        or (sheet and sheet != raw.sheet)
    )
    if not differs:
        return raw
    return read_table(raw.path, encoding=encoding, delimiter=delimiter, sheet=sheet)


#: Encodings that decode the same text (GBK is a subset of GB18030; the BOM is stripped anyway).
_CODEC_FAMILIES = ({"utf-8", "utf-8-sig"}, {"gbk", "gb2312", "gb18030"})


def _same_codec(declared: str, used: str) -> bool:
    """Whether text read with ``used`` is what ``declared`` would give (an unknown name is not)."""
    try:
        names = {codecs.lookup(declared).name, codecs.lookup(used).name}
    except LookupError:
        return False
    return len(names) == 1 or any(names <= family for family in _CODEC_FAMILIES)


def _drop_report_footer(raw: RawTable, profile: Profile) -> tuple[RawTable, str]:
    """``raw`` without a report's footer lines, and what was left out ("" when nothing).

    A Salesforce report export ends with a total row and lines such as the report
    name, "Copyright (c) 2000-2025 salesforce.com, inc.", "Confidential
    Information - Do Not Distribute" and "Generated By: ...": rows at the very end
    of the file with no deal id, stage or close date. They are not deals, so they
    are left out (and named by ``attain validate``) instead of being quarantined as
    deals of unknown owners. Only the last :data:`FOOTER_SEARCH_ROWS` rows are
    looked at, and never every row: a file of such rows is left for the checks.
    """
    keys = [
        h
        for k, h in _locate(profile, list(raw.df.columns)).items()
        if k in FOOTER_BLANK_KEYS and getattr(profile.rules.get(k), "kind", "") != "constant"
    ]
    tail = raw.df.tail(FOOTER_SEARCH_ROWS)
    if not keys:
        return raw, ""
    blank = np.ones(len(tail), dtype=bool)
    for header in keys:
        blank &= np.asarray(arrow_text(tail[header]).to_numpy(zero_copy_only=False) == "", dtype=bool)
    filled = np.flatnonzero(~blank)
    start = filled[-1] + 1 if len(filled) else 0
    if start == len(tail) or (start == 0 and len(tail) == len(raw.df)):
        return raw, ""
    footer = tail.iloc[start:]
    first_cells = [str(v).strip() for v in footer.iloc[:, 0] if str(v).strip() and str(v) != "nan"]
    rows = raw.row_number(footer.index)
    shown = ", ".join(repr(v[:40]) for v in first_cells[:3]) + (", ..." if len(first_cells) > 3 else "")
    what = (
        f"row {rows[0]}" if len(rows) == 1 else f"rows {rows[0]}-{rows[-1]}"
    ) + f" left out: the report's footer (no {', '.join(repr(k) for k in keys)}{': ' + shown if shown else ''})"
    return replace(raw, df=raw.df.iloc[: len(raw.df) - len(footer)]), what


def _promote_header(raw: RawTable, fits: Callable[[list[str]], bool]) -> RawTable:
    """``raw`` when its header row ``fits``, else ``raw`` re-headed at the first top row that does.

    Formatted report exports (Salesforce "Formatted Report" XLSX, some Excel
    exports) put a title and the filters above the real header row. Rows keep
    their index, so row numbers still point into the file.
    """
    if fits(list(raw.df.columns)):
        return raw
    top = raw.df.head(HEADER_SEARCH_ROWS)
    for position in range(len(top)):
        headers = [str(value).strip() or f"Unnamed: {i}" for i, value in enumerate(top.iloc[position])]
        if fits(headers):
            body = raw.df.iloc[position + 1 :].copy()
            body.columns = headers
            return replace(raw, df=body)
    return raw
