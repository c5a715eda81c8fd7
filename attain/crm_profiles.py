"""Map a CRM's own deals export onto the deals input contract.

Sales-ops people drop in whatever their CRM exports: a Salesforce report, a
Salesforce Data Export, HubSpot, Zoho (current or legacy "Potentials"),
纷享销客 Fxiaoke, or another CRM described by a mapping file. A *profile* says
which export column feeds which contract column, which vendor stage means won,
lost or open, and the file's conventions (date order, decimal comma, default
currency, encoding). The built-in profiles are YAML files in
``attain/profiles/`` written in exactly the format a user writes for another
CRM (see docs/crm-exports.md).

:func:`adapt` turns a :class:`~attain.readers.RawTable` of the export into
contract-shaped text columns plus quarantine rows. It is called by ingest only
when the deals file is not already in the contract layout. Problems that
concern the whole file (no profile matches, two match, an unknown stage, a date
order nothing in the file proves) raise :class:`~attain.readers.InputFileError`
with what to do; problems with single rows (an unreadable amount or date, an
owner not in the roster) put the row in quarantine, never drop it.
"""

from __future__ import annotations

import codecs
import hashlib
import json
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import yaml

from attain.parsing import (
    DATE_ORDERS,
    ConventionError,
    arrow_flags,
    arrow_text,
    map_unique,
    parse_flag,
    parse_money,
    scan_dates,
    settle_date_order,
)
from attain.readers import InputFileError, RawTable, find_input, read_table

PROFILE_DIR = Path(__file__).resolve().parent / "profiles"

#: The deals contract (docs/data-model.md), in order.
CONTRACT_COLUMNS = (
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
)
#: Keys of a profile's ``columns:`` section: contract columns (``owner`` is the
#: export's owner, mapped to ``owner_id`` through the roster) plus the yes/no
#: columns ``won`` and ``closed`` that decide the stage when present.
SOURCE_KEYS = (
    "deal_id",
    "owner",
    "account",
    "product",
    "amount",
    "currency",
    "stage",
    "created_date",
    "close_date",
    "cancelled_date",
    "cancel_reason",
    "won",
    "closed",
)
REQUIRED_KEYS = ("owner", "amount", "stage", "close_date")
DATE_KEYS = ("close_date", "created_date", "cancelled_date")
TEXT_KEYS = ("account", "product", "cancel_reason")
OUTCOMES = ("won", "lost", "open")
QUARANTINE_COLUMNS = ("month", "table", "source_file", "source_row", "column", "value", "reason", "record")
PROFILE_KEYS = (
    "label",
    "extends",
    "columns",
    "detect",
    "deal_id_from",
    "salesforce_ids",
    "stages",
    "owners",
    "default_currency",
    "date_order",
    "decimal_comma",
    "encoding",
    "delimiter",
    "sheet",
)
OWNER_ALIASES = "owner_aliases"
#: How many top rows may hold the header row when the first row does not (title and filter lines).
HEADER_SEARCH_ROWS = 20

_SF_USER_ID = re.compile(r"^00[5G][A-Za-z0-9]{12}(?:[A-Za-z0-9]{3})?$")
_SF_OPPORTUNITY_ID = re.compile(r"^006[A-Za-z0-9]{12}$")
_SF_SUFFIX = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


class UnknownExportError(InputFileError):
    """The header row fits no profile: the file may be a contract file with a mistake instead."""


@dataclass(frozen=True)
class Profile:
    """One export layout: column names, stage names, owners and conventions.

    ``columns`` maps a :data:`SOURCE_KEYS` key to the export header names that
    may hold it (the first present wins). ``stages`` maps a stage key (see
    :func:`stage_key`) to ``(name as written, outcome)``; ``owners`` maps an
    owner key (see :func:`owner_key`) to ``(owner as written, rep_id)``.
    """

    name: str
    label: str
    columns: dict[str, tuple[str, ...]]
    detect: tuple[str, ...]
    deal_id_from: tuple[str, ...] = ()
    salesforce_ids: bool = False
    stages: dict[str, tuple[str, str]] = field(default_factory=dict)
    owners: dict[str, tuple[str, str]] = field(default_factory=dict)
    default_currency: str | None = None
    date_order: str | None = None
    decimal_comma: bool | None = None
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    source: str = ""


@dataclass
class AdaptedDeals:
    """An export mapped onto the deals contract.

    ``df``: the contract columns as text (ISO dates, plain decimal amounts,
    ISO currency codes, stage won/lost/open) plus ``source_row`` (int);
    ``quarantine``: one row per problem (:data:`QUARANTINE_COLUMNS`);
    ``profile``: the profile used; ``notes``: how the file was read (profile and
    how it was chosen, encoding, delimiter, date order per column, decimal
    convention, how owners matched, counts) for ``attain validate``.
    """

    df: pd.DataFrame
    quarantine: pd.DataFrame
    profile: str
    notes: dict


# ---------------------------------------------------------------- keys


def salesforce_id18(ids: pd.Series) -> pd.Series:
    """Extend 15-character Salesforce ids to their 18-character form, vectorised.

    The three extra characters encode which of the 15 are upper case, so the
    18-character id is unique even compared case-insensitively. Values that
    are not 15 characters long are returned unchanged.
    """
    values = ids.to_numpy(dtype=object)
    short = arrow_flags(pc.match_substring_regex(arrow_text(ids), r"^[A-Za-z0-9]{15}$"))
    if not short.any():
        return ids
    chars = np.frombuffer("".join(values[short]).encode("ascii"), dtype=np.uint8).reshape(-1, 15)
    upper = ((chars >= ord("A")) & (chars <= ord("Z"))).reshape(-1, 3, 5).astype(np.int64)
    suffix = np.frombuffer(_SF_SUFFIX.encode("ascii"), dtype=np.uint8)[(upper << np.arange(5)).sum(axis=2)]
    long_ids = np.ascontiguousarray(np.hstack([chars, suffix])).view("S18").ravel()
    out = values.copy()
    out[short] = long_ids.astype("U18").astype(object)
    return pd.Series(out, index=ids.index, dtype=object)


def stage_key(stage: str) -> str:
    """Stage names match ignoring case, spaces and punctuation: 'Closed Won' = 'closedwon'."""
    return re.sub(r"[\W_]+", "", unicodedata.normalize("NFKC", str(stage)).casefold())


def owner_key(owner: str) -> str:
    """Owners match ignoring case and spaces ('张 三' = '张三'); Salesforce user ids in either length."""
    text = unicodedata.normalize("NFKC", str(owner)).strip()
    if _SF_USER_ID.match(text):
        text = salesforce_id18(pd.Series([text])).iloc[0]
    return "".join(text.split()).casefold()


def _header_key(header: str) -> str:
    return " ".join(str(header).split()).casefold()


# ---------------------------------------------------------------- profiles


def builtin_profiles() -> dict[str, Profile]:
    """The profiles shipped in ``attain/profiles/``, by name (the file stem)."""
    return {path.stem: load_profile(path) for path in sorted(PROFILE_DIR.glob("*.yaml"))}


def load_profile(path: Path | str, base: Profile | None = None) -> Profile:
    """Read a profile or mapping file; ``base`` is the profile it adds to, if any.

    A mapping file with ``extends: NAME`` adds to the built-in profile NAME; one
    with neither ``extends`` nor ``columns`` adds to ``base`` (the profile
    detected or chosen); one with ``columns`` and no ``extends`` stands alone.
    """
    path = Path(path)
    spec = _read_spec(path)
    unknown = sorted(set(spec) - set(PROFILE_KEYS))
    if unknown:
        raise InputFileError(path, f"unknown keys {', '.join(unknown)}; allowed: {', '.join(PROFILE_KEYS)}")
    if spec.get("extends"):
        profiles = builtin_profiles()
        if spec["extends"] not in profiles:
            raise InputFileError(
                path, f"extends: {spec['extends']!r} is not a built-in profile; use one of {', '.join(profiles)}"
            )
        base = profiles[spec["extends"]]
    elif spec.get("columns"):
        base = None
    elif base is None:
        raise InputFileError(path, "needs a columns: section or extends: PROFILE (a built-in profile name)")

    columns = dict(base.columns) if base else {}
    for key, headers in (spec.get("columns") or {}).items():
        if key not in SOURCE_KEYS:
            raise InputFileError(path, f"columns: {key!r} is not a deals column; use {', '.join(SOURCE_KEYS)}")
        headers = [headers] if isinstance(headers, str) else list(headers or [])
        columns[key] = tuple(str(h) for h in headers)
    detect = tuple(spec.get("detect") or (base.detect if base else [k for k in REQUIRED_KEYS if k in columns]))
    stages = dict(base.stages) if base else {}
    for name, outcome in (spec.get("stages") or {}).items():
        outcome = str(outcome).strip().lower()
        if outcome not in OUTCOMES:
            raise InputFileError(path, f"stages: {name!r} is mapped to {outcome!r}; use won, lost or open")
        stages[stage_key(name)] = (str(name), outcome)
    owners = dict(base.owners) if base else {}
    owners.update({owner_key(k): (str(k), str(v).strip()) for k, v in (spec.get("owners") or {}).items()})

    def setting(key: str):
        value = spec.get(key)
        return value if value is not None else (getattr(base, key) if base else None)

    date_order = setting("date_order")
    if date_order is not None and str(date_order).upper() not in ("DMY", "MDY"):
        raise InputFileError(path, f"date_order: {date_order!r} must be DMY or MDY")
    currency = setting("default_currency")
    return Profile(
        name=base.name if base else path.stem,
        label=spec.get("label") or (base.label if base else path.stem),
        columns=columns,
        detect=detect,
        deal_id_from=tuple(spec.get("deal_id_from") or (base.deal_id_from if base else ())),
        salesforce_ids=bool(setting("salesforce_ids")),
        stages=stages,
        owners=owners,
        default_currency=str(currency).upper() if currency else None,
        date_order=str(date_order).upper() if date_order else None,
        decimal_comma=setting("decimal_comma"),
        encoding=setting("encoding"),
        delimiter=setting("delimiter"),
        sheet=setting("sheet"),
        source=f"{base.source} + {path.name}" if base else path.name,
    )


def _locate(profile: Profile, headers: list[str]) -> dict[str, str]:
    """For each source key of ``profile``, the export header that holds it (when present)."""
    by_key = {}
    for header in headers:
        by_key.setdefault(_header_key(header), header)
    found = {}
    for key, names in profile.columns.items():
        for name in names:
            if _header_key(name) in by_key:
                found[key] = by_key[_header_key(name)]
                break
    return found


def _missing(profile: Profile, located: dict[str, str], keys) -> list[str]:
    """Descriptions of ``keys`` the export lacks, each with the header names that would do."""
    return [
        f"{key} ({' or '.join(repr(n) for n in profile.columns.get(key, ())) or 'not mapped'})"
        for key in keys
        if key not in located
    ]


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
            f"its header row fits several CRM profiles ({names}); choose one with --profile "
            f"(for example --profile {min(p.name for p in matches)}) or profile: in the run settings",
        )

    def closeness(p: Profile) -> tuple[int, int]:
        missing = len(_missing(p, _locate(p, headers), p.detect))
        return (-missing, len(p.detect) - missing)

    closest = max(profiles.values(), key=closeness)
    missing = "; ".join(_missing(closest, _locate(closest, headers), closest.detect))
    raise UnknownExportError(
        raw.path,
        f"is neither in the deals contract layout nor a known CRM export. Closest profile: {closest.name} "
        f"({closest.label}), which lacks: {missing}. Its columns are: {', '.join(headers)}. "
        "Export the missing columns, choose a profile with --profile, or describe the file in a mapping "
        "file (see docs/crm-exports.md) and pass it with --mapping",
    )


# ---------------------------------------------------------------- adapt


def adapt(
    raw: RawTable,
    reps: pd.DataFrame | None,
    *,
    profile: str | None = None,
    mapping_file: Path | None = None,
    date_order: str | None = None,
    decimal_comma: bool | None = None,
    owner_aliases: Path | None = None,
    timezone: str | None = None,
) -> AdaptedDeals:
    """Map a CRM export onto the deals contract.

    ``profile`` names a built-in profile (else it is detected from the header
    row); ``mapping_file`` adds to it or replaces it (docs/crm-exports.md).
    ``date_order`` (``"DMY"``/``"MDY"``) and ``decimal_comma`` override both.
    ``owner_aliases``: a file with columns ``owner, rep_id``; by default
    ``owner_aliases.csv`` (or .xlsx/.parquet) next to the export is used when present.
    ``timezone``: date-times with ``Z`` or an offset are dated in this zone.
    ``reps`` is the roster (``rep_id``, ``name``, ``email``); None when there
    is none (``attain validate`` of a lone export): owners are then kept as
    written, unmatched, and ``notes["owners"]`` says so.
    """
    if date_order is not None and date_order.upper() not in DATE_ORDERS:
        raise InputFileError(
            raw.path,
            f"date order {date_order!r} is not one of {', '.join(DATE_ORDERS)}: "
            "use DMY (15/04/2021) or MDY (04/15/2021)",
        )
    builtins = builtin_profiles()
    if profile is not None and profile not in builtins:
        raise InputFileError(
            raw.path, f"--profile {profile!r} is not a known profile; use one of {', '.join(builtins)}"
        )
    base = builtins[profile] if profile else None

    def any_builtin_fits(headers: list[str]) -> bool:
        return any(not _missing(p, _locate(p, headers), p.detect) for p in builtins.values())

    how = "chosen with --profile" if profile else "detected from the header row"
    if mapping_file is not None:
        spec = _read_spec(Path(mapping_file))
        raw = _reread_if_declared(raw, spec)
        name = Path(mapping_file).name
        if spec.get("extends"):
            how = f"named by extends: in the mapping file {name}"
        elif spec.get("columns"):
            how = f"described by the mapping file {name}"
        else:
            how += f", with the mapping file {name}"
            if base is None:
                raw = _promote_header(raw, any_builtin_fits)
                base = detect_profile(raw, builtins)
        chosen = load_profile(mapping_file, base)
    elif base is None:
        raw = _promote_header(raw, any_builtin_fits)
        chosen = detect_profile(raw, builtins)
    else:
        chosen = base
    raw = _promote_header(raw, lambda headers: not _missing(chosen, _locate(chosen, headers), REQUIRED_KEYS))
    chosen = replace(
        chosen,
        date_order=date_order.upper() if date_order else chosen.date_order,
        decimal_comma=decimal_comma if decimal_comma is not None else chosen.decimal_comma,
    )
    adapter = _Adapter(raw, chosen, reps, owner_aliases, timezone)
    adapter.notes["profile_how"] = how
    return adapter.run()


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


def _read_spec(path: Path) -> dict:
    """The YAML mapping of a profile or mapping file."""
    try:
        spec = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise InputFileError(path, f"cannot be read as a YAML mapping file ({exc})") from None
    if not isinstance(spec, dict):
        raise InputFileError(path, "must be a YAML mapping of keys such as columns:, stages:, owners:")
    return spec


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


class _Adapter:
    """One run of :func:`adapt`: holds the export, the profile and the problems found so far."""

    def __init__(self, raw: RawTable, profile: Profile, reps: pd.DataFrame, owner_aliases, timezone) -> None:
        self.raw = raw
        self.profile = profile
        self.reps = reps
        self.owner_aliases = owner_aliases
        self.timezone = timezone
        self.df = raw.df
        self.located = _locate(profile, list(raw.df.columns))
        self.problems: list[tuple[pd.Series, str, pd.Series]] = []  # (reason per row, export column, values)
        self.notes: dict = {
            "profile": profile.name,
            "profile_label": profile.label,
            "profile_source": profile.source,
            "file": raw.path.name,
            "encoding": raw.encoding,
            "delimiter": raw.delimiter,
            "sheet": raw.sheet,
            # contract column -> the export column it came from (for messages about adapted rows)
            "columns": {
                ("owner_id" if key == "owner" else key): header
                for key, header in self.located.items()
                if key in CONTRACT_COLUMNS or key == "owner"
            },
        }

    def run(self) -> AdaptedDeals:
        missing = _missing(self.profile, self.located, REQUIRED_KEYS)
        if missing:
            raise InputFileError(
                self.raw.path,
                f"lacks columns the {self.profile.name} profile needs: {'; '.join(missing)}. "
                f"Its columns are: {', '.join(self.df.columns)}",
            )
        out = pd.DataFrame(index=self.df.index)
        out["deal_id"] = self._deal_ids()
        out["owner_id"] = self._owners()
        for key in TEXT_KEYS:
            out[key] = self._stripped(key)
        out["amount"], out["currency"] = self._money()
        out["stage"] = self._stages()
        for key, iso in self._dates().items():
            out[key] = iso
        out = out[list(CONTRACT_COLUMNS)]
        out["source_row"] = np.asarray(self.raw.row_number(self.df.index), dtype=np.int64)

        quarantine, bad_index = self._quarantine()
        bad = self.df.index.isin(bad_index)
        accepted = out.loc[~bad] if bad.any() else out
        accepted.index = pd.RangeIndex(len(accepted))  # in place: reset_index would copy a million rows
        self.notes.update(
            rows_read=len(self.df),
            rows_accepted=len(accepted),
            rows_quarantined=int(bad.sum()),
            won_deals=int((accepted["stage"] == "won").sum()),
        )
        return AdaptedDeals(accepted, quarantine, self.profile.name, self.notes)

    # ------------------------------------------------------------ helpers

    def _column(self, key: str) -> pd.Series | None:
        header = self.located.get(key)
        return None if header is None else self.df[header]

    def _problem(self, reasons: pd.Series, key: str) -> None:
        """Record per-row problems (non-empty reasons) found in the column mapped to ``key``."""
        if (reasons != "").any():
            self.problems.append((reasons, self.located.get(key, key), self._column(key)))

    def _flag(self, mask: pd.Series, reason: str, key: str) -> None:
        """Record one problem ``reason`` on every row where ``mask`` holds.

        The reasons column is built only when some row is at fault: a
        ``np.where`` over a million rows would allocate a fixed-width string per
        row (hundreds of MB) to say nothing.
        """
        flagged = np.asarray(mask, dtype=bool)
        if flagged.any():
            reasons = pd.Series("", index=self.df.index, dtype=object)
            reasons[flagged] = reason
            self._problem(reasons, key)

    def _row_label(self, position: int) -> str:
        return f"row {self.raw.row_number(self.df.index[position])}"

    def _stripped(self, key: str) -> pd.Series:
        values = self._column(key)
        if values is None:
            return pd.Series("", index=self.df.index, dtype=object)
        return pd.Series(arrow_text(values).to_numpy(zero_copy_only=False), index=self.df.index, dtype=object)

    # ------------------------------------------------------------ deal ids

    def _deal_ids(self) -> pd.Series:
        if "deal_id" in self.located:
            ids = self._stripped("deal_id")
            if self.profile.salesforce_ids:
                sf = arrow_flags(pc.match_substring_regex(pa.array(ids, pa.string()), _SF_OPPORTUNITY_ID.pattern))
                ids = ids.where(~sf, salesforce_id18(ids.where(sf, "")))
            self.notes["deal_id"] = f"column {self.located['deal_id']!r}"
            self._problem(ids.map({"": "blank deal id; every deal needs its CRM id"}).fillna(""), "deal_id")
            return ids
        sources = [h for h in self.profile.deal_id_from if _header_key(h) in map(_header_key, self.df.columns)]
        if not sources:
            wanted = " or ".join(repr(n) for n in self.profile.columns.get("deal_id", ())) or "an id column"
            raise InputFileError(
                self.raw.path, f"has no deal id column; add {wanted} to the export, or map one under columns: deal_id"
            )
        headers = {_header_key(h): h for h in self.df.columns}
        parts = self.df[[headers[_header_key(h)] for h in sources]].apply(lambda c: c.str.strip())
        joined = (
            parts.iloc[:, 0].str.cat([parts.iloc[:, i] for i in range(1, parts.shape[1])], sep="\x1f")
            if parts.shape[1] > 1
            else parts.iloc[:, 0]
        )
        ids = joined.map(lambda text: "crm-" + hashlib.blake2b(text.encode("utf-8"), digest_size=8).hexdigest())
        self.notes["deal_id"] = (
            f"derived from {', '.join(sources)} (no id column: add "
            f"{' or '.join(repr(n) for n in self.profile.columns.get('deal_id', ())) or 'an id column'} "
            "to the export to keep ids stable when these change)"
        )
        return ids

    # ------------------------------------------------------------ owners

    def _owner_map(self) -> dict[str, tuple[str, str]]:
        """The explicit owner map: the profile's owners: section, then the owner aliases file."""
        mapping = dict(self.profile.owners)
        path = self.owner_aliases or find_input(self.raw.path.parent, OWNER_ALIASES)
        if path is None:
            return mapping
        aliases = read_table(path).df
        if not {"owner", "rep_id"} <= set(aliases.columns):
            raise InputFileError(path, "needs the columns owner and rep_id (one export owner per row)")
        for owner, rep_id in zip(aliases["owner"], aliases["rep_id"]):
            if owner.strip():
                mapping.setdefault(owner_key(owner), (owner.strip(), rep_id.strip()))
        self.notes["owner_aliases"] = Path(path).name
        return mapping

    def _roster_index(self) -> tuple[set[str], dict[str, str], dict[str, str], dict[str, list[str]]]:
        """Roster rep ids and the e-mail / name lookups (ambiguous keys listed separately)."""
        reps = self.reps.fillna("").astype(str)
        rep_ids = {r.strip() for r in reps["rep_id"] if r.strip()}
        by_email: dict[str, set[str]] = {}
        by_name: dict[str, set[str]] = {}
        for col, table in (("email", by_email), ("name", by_name)):
            if col in reps:
                for rep_id, value in zip(reps["rep_id"], reps[col]):
                    if value.strip():
                        table.setdefault(owner_key(value), set()).add(rep_id.strip())
        ambiguous = {k: sorted(v) for t in (by_email, by_name) for k, v in t.items() if len(v) > 1}
        email = {k: next(iter(v)) for k, v in by_email.items() if len(v) == 1}
        name = {k: next(iter(v)) for k, v in by_name.items() if len(v) == 1}
        return rep_ids, email, name, ambiguous

    def _owners(self) -> pd.Series:
        column = self.located["owner"]
        self.notes["owner_column"] = column
        if self.reps is None:
            owners = self._stripped("owner")
            self.notes["owners"] = "not matched: there is no roster (reps file)"
            self.notes["owners_matched_by"] = {}
            self._problem(owners.map({"": f"no owner in column {column!r}; fill it in the CRM"}).fillna(""), "owner")
            return owners
        explicit = self._owner_map()
        rep_ids, email, name, ambiguous = self._roster_index()
        rep_keys = {owner_key(r): r for r in rep_ids}
        how_to = (
            f"map it in the owners: section of a mapping file or in {OWNER_ALIASES}.csv "
            "(columns owner, rep_id) next to the deals file"
        )

        def match(value: str) -> tuple[str, str, str]:
            """(rep_id, how matched, problem) for one distinct owner value."""
            text = value.strip()
            if not text:
                return "", "", f"no owner in column {column!r}; fill it in the CRM or {how_to}"
            key = owner_key(text)
            if key in explicit:
                rep_id = explicit[key][1]
                if rep_id not in rep_ids:
                    return "", "", f"owner {text!r} is mapped to {rep_id!r}, which is not a rep_id of the roster"
                return rep_id, "owner map", ""
            if key in rep_keys:
                return rep_keys[key], "rep_id", ""
            if key in ambiguous:
                return "", "", f"owner {text!r} fits several reps ({', '.join(ambiguous[key])}); {how_to}"
            if key in email:
                return email[key], "e-mail", ""
            if key in name:
                return name[key], "name", ""
            return "", "", f"owner {text!r} matches no rep of the roster by rep_id, e-mail or name; {how_to}"

        codes, _, results = map_unique(self._column("owner"), match)
        table = np.asarray(results, dtype=object).reshape(-1, 3) if results else np.empty((0, 3), dtype=object)
        rep_id, how, reasons = (
            pd.Series(table[codes, i] if len(codes) else [], index=self.df.index, dtype=object) for i in range(3)
        )
        self.notes["owners_matched_by"] = {k: int(v) for k, v in how[how != ""].value_counts().items()}
        self._problem(reasons, "owner")
        return rep_id

    # ------------------------------------------------------------ money

    def _money(self) -> tuple[pd.Series, pd.Series]:
        column = self.located["amount"]
        self.notes["amount_column"] = column
        try:
            money = parse_money(
                self._column("amount"),
                column=column,
                decimal_comma=self.profile.decimal_comma,
                default_currency=self.profile.default_currency,
                row_label=self._row_label,
            )
        except ConventionError as exc:
            raise InputFileError(self.raw.path, str(exc)) from None
        self.notes["decimal"] = (
            "not needed"
            if money.decimal_comma is None
            else f"decimal {'comma' if money.decimal_comma else 'point'} "
            f"({'declared' if self.profile.decimal_comma is not None else 'from the amounts'})"
        )
        self._problem(money.problems, "amount")
        own = self._stripped("currency")
        if "currency" in self.located:
            own = pd.Series(
                pc.utf8_upper(pa.array(own, pa.string())).to_numpy(zero_copy_only=False), index=own.index, dtype=object
            )
            written = money.currency != ""
            conflict = written & (own != "") & (own != money.currency)
            reasons = pd.Series("", index=own.index, dtype=object)
            reasons[conflict] = (
                "the amount is written in "
                + money.currency[conflict]
                + " but column "
                + repr(self.located["currency"])
                + " says "
                + own[conflict]
            )
            self._problem(reasons, "amount")
            currency = own.where(own != "", money.currency)
        else:
            currency = money.currency
        if self.profile.default_currency:
            currency = currency.where(currency != "", self.profile.default_currency)
        priced = money.amount != ""
        unknown = (currency == "") & priced
        if priced.any() and unknown[priced].all():
            raise InputFileError(
                self.raw.path,
                f"gives no currency: column {column!r} has no currency symbols or codes and there is no currency "
                "column. Declare it in a mapping file, for example a file my-crm.yaml holding the two lines\n"
                f"extends: {self.profile.name}\ndefault_currency: USD\nand pass it with --mapping my-crm.yaml",
            )
        self._flag(
            unknown,
            "no currency: the amount has no symbol or code and the row no currency; "
            "declare default_currency in a mapping file",
            "amount",
        )
        self.notes["currency"] = (
            f"column {self.located['currency']!r}"
            if "currency" in self.located
            else f"default {self.profile.default_currency}"
            if self.profile.default_currency
            else "from the amounts"
        )
        return money.amount, currency

    # ------------------------------------------------------------ stages

    def _stages(self) -> pd.Series:
        names = self._stripped("stage")
        outcome = pd.Series("", index=self.df.index, dtype=object)
        decided = pd.Series(False, index=self.df.index)
        if "closed" in self.located:
            closed = parse_flag(self._column("closed"))
            won = (
                parse_flag(self._column("won"))
                if "won" in self.located
                else pd.Series(pd.NA, index=self.df.index, dtype="boolean")
            )
            outcome[(closed == False).fillna(False)] = "open"  # nullable boolean: == keeps NA
            outcome[((closed == True) & (won == True)).fillna(False)] = "won"
            outcome[((closed == True) & (won == False)).fillna(False)] = "lost"
            decided = outcome != ""
            self.notes["stage"] = (
                f"columns {self.located['closed']!r} and {self.located.get('won', '-')!r}, "
                f"then column {self.located['stage']!r}"
            )
        else:
            self.notes["stage"] = f"column {self.located['stage']!r}"
        pending = ~decided
        stages = self.profile.stages
        codes, first, keys = map_unique(names[pending], stage_key)
        unknown = [k for k, key in enumerate(keys) if key and key not in stages]
        if unknown:
            counts = np.bincount(codes, minlength=len(keys))
            written = {k: names[pending].iloc[int(first[k])] for k in unknown}
            listing = ", ".join(f"{written[k]!r} ({counts[k]} rows)" for k in unknown)
            lines = "\n".join(f'  "{written[k]}": open    # or won / lost' for k in unknown)
            raise InputFileError(
                self.raw.path,
                f"column {self.located['stage']!r} has stages the {self.profile.name} profile does not know: "
                f"{listing}. Say what each means in a mapping file (docs/crm-exports.md), for example:\n"
                f"extends: {self.profile.name}\nstages:\n{lines}",
            )
        mapped = np.asarray([stages[k][1] if k else "" for k in keys], dtype=object)
        outcome[pending] = mapped[codes] if len(codes) else []
        self._flag(outcome == "", "blank stage; fill in the deal's stage in the CRM", "stage")
        return outcome

    # ------------------------------------------------------------ dates

    def _dates(self) -> dict[str, pd.Series]:
        blank = pd.Series("", index=self.df.index, dtype=object)
        try:
            scans = {
                key: scan_dates(
                    self._column(key), column=self.located[key], timezone=self.timezone, row_label=self._row_label
                )
                for key in DATE_KEYS
                if key in self.located
            }
            settled = settle_date_order(scans.values(), self.profile.date_order)
            out = {}
            for key, scan in scans.items():
                iso, problems = scan.resolve(settled[scan.column][0])
                self._problem(problems, key)
                out[key] = iso
        except ConventionError as exc:
            raise InputFileError(self.raw.path, str(exc)) from None
        self.notes["date_order"] = {column: why for column, (_, why) in settled.items()}
        return {key: out.get(key, blank) for key in DATE_KEYS}

    # ------------------------------------------------------------ quarantine

    def _quarantine(self) -> tuple[pd.DataFrame, pd.Index]:
        """One quarantine row per problem, and the index of the rows concerned."""
        frames = []
        for reasons, column, values in self.problems:
            hit = reasons != ""
            frames.append(
                pd.DataFrame(
                    {
                        "index": self.df.index[hit.to_numpy()],
                        "column": column,
                        "value": values[hit].to_numpy() if values is not None else "",
                        "reason": reasons[hit].to_numpy(),
                    }
                )
            )
        found = (
            pd.concat(frames, ignore_index=True)
            if frames
            else pd.DataFrame(columns=["index", "column", "value", "reason"])
        )
        bad_index = pd.Index(found["index"].unique())
        records = {
            i: json.dumps(row, ensure_ascii=False)
            for i, row in zip(bad_index, self.df.loc[bad_index].to_dict(orient="records"))
        }
        quarantine = pd.DataFrame(
            {
                "month": "",
                "table": "deals",
                "source_file": self.raw.path.name,
                "source_row": np.asarray(self.raw.row_number(pd.Index(found["index"])), dtype=np.int64),
                "column": found["column"].astype(object),
                "value": found["value"].astype(object),
                "reason": found["reason"].astype(object),
                "record": found["index"].map(records).astype(object),
            },
            columns=list(QUARANTINE_COLUMNS),
        )
        return quarantine.sort_values("source_row", kind="stable").reset_index(drop=True), bad_index
