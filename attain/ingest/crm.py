"""Map a CRM's own deals export onto the deals input contract.

Sales-ops people drop in whatever their CRM exports: a Salesforce report, a
Salesforce Data Export, HubSpot, Zoho (current or legacy "Potentials"),
纷享销客 Fxiaoke, or another CRM described by a mapping file. A *profile* says
which export column feeds which contract column, which vendor stage means won,
lost or open, and the file's conventions (date order, decimal comma, default
currency, encoding). The built-in profiles are YAML files in
``attain/ingest/profiles/`` written in exactly the format a user writes for another
CRM (see docs/crm-exports.md).

:func:`adapt` turns a :class:`~attain.ingest.raw.RawTable` of the export into
contract-shaped text columns plus quarantine rows. It is called by ingest only
when the deals file is not already in the contract layout. Problems that
concern the whole file (no profile matches, two match, an unknown stage, a date
order nothing in the file proves) raise :class:`~attain.ingest.raw.InputFileError`
with what to do; problems with single rows (an unreadable amount or date, an
owner not in the roster) put the row in quarantine, never drop it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from attain.ingest.contract import QUARANTINE_COLUMNS
from attain.ingest.mapping import (
    _apply_rules,
    _check_mapped_columns,
    _drop_report_footer,
    _mapping_advice,
    _missing,
    _promote_header,
    _reread_if_declared,
    detect_profile,
)
from attain.ingest.parsing import (
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
from attain.ingest.profiles import (
    _SF_OPPORTUNITY_ID,
    CONTRACT_COLUMNS,
    DATE_KEYS,
    IDENTIFYING_KEYS,
    OUTCOMES,
    OWNER_ALIASES,
    REQUIRED_KEYS,
    TEXT_KEYS,
    AdaptedDeals,
    Profile,
    _by_key,
    _header_key,
    _locate,
    _read_spec,
    builtin_profiles,
    load_profile,
    owner_key,
    salesforce_id18,
    stage_key,
)
from attain.ingest.raw import InputFileError, RawTable
from attain.ingest.readers import find_input, read_table


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
    if mapping_file is not None:
        _check_mapped_columns(Path(mapping_file), spec, chosen, raw)
    raw = _apply_rules(raw, chosen)
    raw, footer = _drop_report_footer(raw, chosen)
    chosen = replace(
        chosen,
        date_order=date_order.upper() if date_order else chosen.date_order,
        decimal_comma=decimal_comma if decimal_comma is not None else chosen.decimal_comma,
    )
    adapter = _Adapter(raw, chosen, reps, owner_aliases, timezone)
    adapter.notes["profile_how"] = how
    if footer:
        adapter.notes["footer"] = footer
    return adapter.run()


def _hash(parts: list[pd.Series]) -> pd.Series:
    """``crm-`` and 16 hex digits of a hash of the ``parts`` of each row (a stable derived deal id)."""
    joined = parts[0].str.cat(parts[1:], sep="\x1f") if len(parts) > 1 else parts[0]
    return joined.map(lambda text: "crm-" + hashlib.blake2b(text.encode("utf-8"), digest_size=8).hexdigest())


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
        headers = list(self.df.columns)
        missing = _missing(self.profile, self.located, REQUIRED_KEYS, headers)
        if missing:
            raise InputFileError(
                self.raw.path,
                f"lacks columns the {self.profile.name} profile needs: {'; '.join(missing)}. "
                f"Its columns are: {', '.join(headers)}. Export the missing columns, or "
                f"{_mapping_advice(self.profile, self.located, REQUIRED_KEYS, headers)}",
            )
        out = pd.DataFrame(index=self.df.index)
        dates = self._dates()
        if "deal_id" in self.located:
            out["deal_id"] = self._id_column()
        out["owner_id"] = self._owners()
        for key in TEXT_KEYS:
            out[key] = self._stripped(key)
        out["amount"], out["currency"] = self._money()
        out["stage"] = self._stages()
        for key, iso in dates.items():
            out[key] = iso
        if "deal_id" not in self.located:
            out["deal_id"] = self._derived_ids(out)
        out = out[list(CONTRACT_COLUMNS)]
        out["source_row"] = np.asarray(self.raw.row_number(self.df.index), dtype=np.int64)

        quarantine, bad_index = self._quarantine()
        bad = self.df.index.isin(bad_index)
        accepted = out.loc[~bad] if bad.any() else out
        accepted.index = pd.RangeIndex(len(accepted))  # in place: reset_index would copy a million rows
        unread = len(self.raw.rejected)  # rows the reader rejected (too many fields, a byte that is not UTF-8)
        self.notes.update(
            rows_read=len(self.df) + unread,
            rows_accepted=len(accepted),
            rows_quarantined=int(bad.sum()) + unread,
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
        header = self.located.get(key)
        if header is None:
            return pd.Series("", index=self.df.index, dtype=object)
        return self._stripped_header(header)

    def _stripped_header(self, header: str) -> pd.Series:
        """The export column ``header`` as trimmed text (blank = "")."""
        return pd.Series(arrow_text(self.df[header]).to_numpy(zero_copy_only=False), index=self.df.index, dtype=object)

    # ------------------------------------------------------------ deal ids

    def _id_column(self) -> pd.Series:
        """The deal ids of the id column (Salesforce ids in their 18-character form); a blank id is a problem."""
        ids = self._stripped("deal_id")
        if self.profile.salesforce_ids:
            sf = arrow_flags(pc.match_substring_regex(pa.array(ids, pa.string()), _SF_OPPORTUNITY_ID.pattern))
            ids = ids.where(~sf, salesforce_id18(ids.where(sf, "")))
        self.notes["deal_id"] = f"column {self.located['deal_id']!r}"
        self._problem(ids.map({"": "blank deal id; every deal needs its CRM id"}).fillna(""), "deal_id")
        return ids

    def _derived_ids(self, out: pd.DataFrame) -> pd.Series:
        """Ids for an export without a deal id column: a hash of the columns that identify a deal.

        First the profile's ``deal_id_from`` columns (else the mapped owner,
        account, product and created date), so the id stays put while the deal's
        amount, stage or close date change from month to month. Rows those
        columns do not tell apart (two deals of the same name created the same
        day) hash every mapped :data:`IDENTIFYING_KEYS` column as well. Values
        enter the hash as read, not as written (``out``: dates as ISO dates,
        amounts as number and currency, stages as won/lost/open), so the same
        export re-saved by Excel (``2025/1/8 10:23`` for ``2025-01-08 10:23:00``,
        ``1234.5`` for ``¥1,234.50``) keeps its ids. Rows that still share an id
        but differ in some column are quarantined, saying how the id was made;
        rows equal in every column are left to validation, which counts the
        copies as repeated.
        """
        by_key = _by_key(list(self.df.columns))
        key_of = {header: key for key, header in self.located.items()}
        named = (by_key[_header_key(h)] for h in self.profile.deal_id_from if _header_key(h) in by_key)
        base = list(dict.fromkeys(named))
        if not base:
            base = [self.located[k] for k in ("owner", "account", "product", "created_date") if k in self.located]
        extra = [self.located[k] for k in IDENTIFYING_KEYS if k in self.located and self.located[k] not in base]

        def value(header: str, rows: np.ndarray | slice) -> pd.Series:
            """The column ``header`` as it enters the hash, for ``rows`` (positions)."""
            key, read = key_of.get(header), out.iloc[rows]
            text = pd.Series(arrow_text(self.df[header].iloc[rows]).to_numpy(zero_copy_only=False), index=read.index)
            if key in DATE_KEYS:
                return read[key].where(read[key] != "", text)
            if key == "amount":  # 1234.50 and 1234.5 are one amount
                number = pc.replace_substring_regex(
                    pa.array(read["amount"], pa.string()), r"\.0*$|(\.\d*?)0+$", r"\1"
                ).to_numpy(zero_copy_only=False)
                return pd.Series(number, index=read.index).str.cat(read["currency"], sep=" ")
            return read["stage"] if key == "stage" else text

        ids = _hash([value(h, slice(None)) for h in base])
        shared = np.flatnonzero(ids.duplicated(keep=False).to_numpy())
        used = base
        if len(shared) and extra:
            used = base + extra
            ids.iloc[shared] = _hash([value(h, shared) for h in used]).to_numpy()
        wanted = " or ".join(repr(n) for n in self.profile.columns.get("deal_id", ())) or "an id column"
        self.notes["deal_id"] = (
            f"derived from {', '.join(base)}"
            + (
                f"; for the {len(shared)} rows those do not tell apart, also from {', '.join(extra)}"
                if used is not base
                else ""
            )
            + f" (no id column: add {wanted} to the export to keep ids stable when these change)"
        )
        self._collisions(ids, used, wanted)
        return ids

    def _collisions(self, ids: pd.Series, used: list[str], wanted: str) -> None:
        """Quarantine every row of a derived id whose rows differ in some column of the export.

        Rows equal in every column are one deal written twice: validation keeps
        one and counts the others as repeated, as it does for any deals file.
        """
        dup = ids.duplicated(keep=False).to_numpy()
        if not dup.any():
            return
        rows = self.df[dup]
        distinct = ids[rows.index][~rows.duplicated(keep="first").to_numpy()]
        conflicting = ids[rows.index].isin(distinct[distinct.duplicated(keep=False)]).to_numpy()
        if not conflicting.any():
            return
        reasons = pd.Series("", index=self.df.index, dtype=object)
        for deal_id, group in rows[conflicting].groupby(ids[rows.index][conflicting], sort=False):
            differing = [str(c) for c in group.columns if group[c].nunique(dropna=False) > 1]
            for index in group.index:
                others = self.raw.row_number(group.index.drop(index))
                reasons[index] = (
                    f"deal id {deal_id} was derived from {', '.join(used)} (the export has no deal id column) and "
                    f"{'row' if len(others) == 1 else 'rows'} {', '.join(map(str, others))} "
                    f"{'has' if len(others) == 1 else 'have'} the same values there but a different "
                    f"{', '.join(differing)}: add a deal id column to the export ({wanted}), or map the column "
                    "that identifies each deal under columns: deal_id in a mapping file"
                )
        self.problems.append((reasons, "deal_id", ids))

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
        for owner, rep_id in zip(aliases["owner"], aliases["rep_id"], strict=True):
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
                for rep_id, value in zip(reps["rep_id"], reps[col], strict=True):
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
            outcome[closed.eq(False).fillna(False)] = "open"  # nullable boolean: == keeps NA
            outcome[(closed.eq(True) & won.eq(True)).fillna(False)] = "won"
            outcome[(closed.eq(True) & won.eq(False)).fillna(False)] = "lost"
            decided = outcome != ""
            self.notes["stage"] = (
                f"columns {self.located['closed']!r} and {self.located.get('won', '-')!r}, "
                f"then column {self.located['stage']!r}"
            )
        else:
            self.notes["stage"] = f"column {self.located['stage']!r}"
        pending = ~decided
        stages = {**{outcome: (outcome, outcome) for outcome in OUTCOMES}, **self.profile.stages}
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
            for i, row in zip(bad_index, self.df.loc[bad_index].to_dict(orient="records"), strict=True)
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
        if len(self.raw.rejected):
            unread = self.raw.rejected.assign(month="", table="deals", source_file=self.raw.path.name)
            quarantine = pd.concat([quarantine, unread[list(QUARANTINE_COLUMNS)]], ignore_index=True)
        return quarantine.sort_values("source_row", kind="stable").reset_index(drop=True), bad_index
