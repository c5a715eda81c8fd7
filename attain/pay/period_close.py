"""Period close: freeze a month's ledger with a fingerprint of its inputs; adjust later, never rewrite.

Four tables in the warehouse (an ``attain.warehouse`` connection, DuckDB or PostgreSQL; a raw DuckDB
connection is adopted), each change in one transaction:

- ``closed_periods``: one row per closed month (fingerprint, who, when, note);
- ``closed_ledger``: the frozen ``incentive_ledger`` lines of each closed month;
- ``period_log``: every close and reopen, with who, when and why (append-only);
- ``input_fingerprints``: the fingerprint of the inputs of each month's latest run
  (``record_fingerprint`` after computing the ledger; ``close`` freezes it);
- ``closed_plan_versions``: the plan versions (and file hashes) the frozen ledger was paid under.

A closed month's figures are what was paid. When a later run recomputes that
month from late or corrected data, ``adjustment_lines`` turns the difference
(recomputed - frozen - adjustments already made) into ``adjustment`` lines of the
next open month, labelled with the month they belong to (``for_month``).
Reopening is explicit, needs a reason and is logged.

``ledger_for_run`` decides, from plain inputs, what one run of a month stores: the frozen ledger of a
closed month, or the month's ledger with the adjustments owed to the closed months just before it and the
fingerprint to record. The earlier months' stored ``incentive_ledger`` lines reach it as the asset's declared
dependency on its own earlier partitions; the frozen ledgers are a different thing, the ``closed_ledger``
records of what was paid, written in one transaction with the close and its log entry and rewritten by no
run (a stored partition is a run's output: re-materialising a month or rebuilding the table replaces it).
The two agree right after a close; where a closed month's differ, what was paid wins.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from collections.abc import Callable, Collection
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pandas.core.util.hashing import combine_hash_arrays  # the row hash of hash_pandas_object, column by column

from attain import stages
from attain.ingest.load import Inputs
from attain.pay import disputes, explain, ledger
from attain.pay.lines import BALANCE_KINDS, LEDGER_COLUMNS
from attain.pay.plans import PLAN_VERSION_COLUMNS, PlanBook
from attain.periods import add_months, parse_month, trailing
from attain.settings import Settings
from attain.warehouse import Connection, as_connection

#: How far back a closed month is still re-checked for late data.
ADJUSTMENT_HORIZON = 12
#: Months before the run month whose missing ledger is reported (clawback windows and draws reach back).
HISTORY_CHECK = 3

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS closed_periods (month VARCHAR PRIMARY KEY, fingerprint VARCHAR NOT NULL, "
    "closed_at TIMESTAMP NOT NULL, closed_by VARCHAR NOT NULL, note VARCHAR)",
    "CREATE TABLE IF NOT EXISTS closed_ledger (month VARCHAR, rep_id VARCHAR, plan_id VARCHAR, currency VARCHAR, "
    "component VARCHAR, kind VARCHAR, deal_ids VARCHAR, base_minor BIGINT, band VARCHAR, rate VARCHAR, "
    "amount_minor BIGINT, explanation VARCHAR, for_month VARCHAR, line_no BIGINT, reason_code VARCHAR, "
    "explain_args VARCHAR)",
    # issue 13 item 1: a warehouse made before the explanation's facts were kept gains their columns
    "ALTER TABLE closed_ledger ADD COLUMN IF NOT EXISTS reason_code VARCHAR",
    "ALTER TABLE closed_ledger ADD COLUMN IF NOT EXISTS explain_args VARCHAR",
    "CREATE TABLE IF NOT EXISTS input_fingerprints (month VARCHAR PRIMARY KEY, fingerprint VARCHAR NOT NULL, "
    "recorded_at TIMESTAMP NOT NULL)",
    "CREATE TABLE IF NOT EXISTS period_log (logged_at TIMESTAMP NOT NULL, month VARCHAR NOT NULL, "
    "action VARCHAR NOT NULL, performed_by VARCHAR NOT NULL, reason VARCHAR, fingerprint VARCHAR, detail VARCHAR)",
    # issue 14 item 4: the plan versions a closed month was paid under
    "CREATE TABLE IF NOT EXISTS closed_plan_versions (month VARCHAR, plan_id VARCHAR, effective_from VARCHAR, "
    "version VARCHAR, approved_by VARCHAR, approved_at VARCHAR, source VARCHAR, sha256 VARCHAR)",
)


class PeriodCloseError(ValueError):
    """A close or reopen that is not allowed; the message says what to do."""


def input_fingerprint(frames: dict[str, pd.DataFrame], plan_texts: dict[str, str]) -> str:
    """SHA-256 over the input tables and plan files, independent of row order.

    Each table contributes its name, its sorted column names and the sorted
    per-row hashes (pandas' stable ``hash_pandas_object``), so the same data in
    another order gives the same fingerprint and any changed cell does not. Text
    columns are hashed as plain Python strings whatever their pandas dtype
    (object, string, category), so a table read back from the warehouse matches.
    """
    digest = hashlib.sha256()
    for name in sorted(frames):
        frame = frames[name]
        columns = sorted(frame.columns)
        digest.update(f"table {name} {len(frame)}\n{';'.join(map(str, columns))}\n".encode())
        if len(frame):
            # pandas' row hash of the frame, built a column at a time (what ``hash_pandas_object`` of the
            # whole frame does) so that 10M deals are never copied whole (issue 12).
            hashes = (pd.util.hash_pandas_object(_plain_text(frame[c]), index=False).to_numpy() for c in columns)
            rows = combine_hash_arrays(hashes, len(columns))
            digest.update(np.sort(rows).tobytes())
    for name in sorted(plan_texts):
        digest.update(f"plan {name}\n".encode())
        digest.update(plan_texts[name].encode("utf-8"))
    return digest.hexdigest()


def _plain_text(column: pd.Series) -> pd.Series:
    """Text-like columns (string, category) as object columns; others unchanged."""
    if isinstance(column.dtype, (pd.StringDtype, pd.CategoricalDtype)):
        return column.astype(object).where(column.notna(), None)
    return column


def ensure_tables(con) -> Connection:
    """Create the period-close tables when missing; ``con`` as a warehouse connection."""
    con = as_connection(con)
    for statement in _SCHEMA:
        con.execute(statement)
    return con


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def record_fingerprint(con, month: str, fingerprint: str) -> None:
    """Remember the fingerprint of the inputs the month's ledger was last computed from."""
    con = ensure_tables(con)
    with con.transaction():
        con.execute("DELETE FROM input_fingerprints WHERE month = ?", [month])
        con.execute("INSERT INTO input_fingerprints VALUES (?, ?, ?)", [month, fingerprint, _now()])


def stored_fingerprint(con, month: str) -> str:
    """The fingerprint recorded by the month's latest run; an error when the month was never run."""
    con = ensure_tables(con)
    row = con.execute("SELECT fingerprint FROM input_fingerprints WHERE month = ?", [month]).fetchone()
    if row is None:
        raise PeriodCloseError(
            f"no input fingerprint is recorded for {month}; run the month "
            f"(attain run --month {month}) before closing it"
        )
    return row[0]


def is_closed(con, month: str) -> bool:
    """Whether ``month`` is closed."""
    con = ensure_tables(con)
    return con.execute("SELECT count(*) FROM closed_periods WHERE month = ?", [month]).fetchone()[0] > 0


def closed_months(con) -> set[str]:
    """Every closed month."""
    con = ensure_tables(con)
    return {row[0] for row in con.execute("SELECT month FROM closed_periods").fetchall()}


def close_month(
    con,
    month: str,
    ledger: pd.DataFrame,
    fingerprint: str,
    by: str,
    note: str = "",
    plan_versions: pd.DataFrame | None = None,
) -> None:
    """Freeze ``ledger`` (the month's lines) as ``month``'s paid figures, and the ``plan_versions`` rows it was
    computed under, in one transaction.

    The month is the primary key of ``closed_periods``: of two processes closing a month at once, the second
    fails and writes nothing.
    """
    parse_month(month)
    if not by.strip():
        raise PeriodCloseError(f"close {month}: say who closes the month (by)")
    con = ensure_tables(con)
    if is_closed(con, month):
        row = con.execute("SELECT closed_by, closed_at FROM closed_periods WHERE month = ?", [month]).fetchone()
        raise PeriodCloseError(
            f"{month} is already closed (by {row[0]} at {row[1]:%Y-%m-%d %H:%M} UTC); "
            f"reopen it with a reason first if it must be closed again"
        )
    other = sorted(set(ledger["month"]) - {month})
    if other:
        raise PeriodCloseError(
            f"close {month}: the ledger given also holds lines of {', '.join(other)}; pass only the lines of {month}"
        )
    frozen = ledger[LEDGER_COLUMNS].copy()
    total = int(frozen["amount_minor"].sum())
    with con.transaction():
        con.execute("INSERT INTO closed_periods VALUES (?, ?, ?, ?, ?)", [month, fingerprint, _now(), by, note])
        con.execute("DELETE FROM closed_ledger WHERE month = ?", [month])
        con.write_frame("closed_ledger", frozen)
        con.execute("DELETE FROM closed_plan_versions WHERE month = ?", [month])
        if plan_versions is not None and len(plan_versions):
            con.write_frame("closed_plan_versions", plan_versions[PLAN_VERSION_COLUMNS].astype(str))
        con.execute(
            "INSERT INTO period_log VALUES (?, ?, 'close', ?, ?, ?, ?)",
            [_now(), month, by, note, fingerprint, f"{len(frozen)} lines, amount total {total} minor units"],
        )


def reopen_month(con, month: str, reason: str, by: str) -> None:
    """Reopen a closed month: its frozen lines are dropped and the act is logged with ``reason``.

    The month's ``closed_periods`` row is locked first (PostgreSQL), so of two reopens at once one does it.
    """
    parse_month(month)
    if not reason or not reason.strip():
        raise PeriodCloseError(f'reopen {month}: a reason is required (e.g. --reason "payroll error in March")')
    if not by.strip():
        raise PeriodCloseError(f"reopen {month}: say who reopens the month (by)")
    con = ensure_tables(con)
    with con.transaction():
        if not con.lock_rows("SELECT month FROM closed_periods WHERE month = ?", [month]):
            raise PeriodCloseError(f"{month} is not closed; there is nothing to reopen")
        fingerprint, count, total = con.execute(
            "SELECT p.fingerprint, count(l.line_no), coalesce(sum(l.amount_minor), 0) FROM closed_periods p "
            "LEFT JOIN closed_ledger l ON l.month = p.month WHERE p.month = ? GROUP BY p.fingerprint",
            [month],
        ).fetchone()
        con.execute("DELETE FROM closed_periods WHERE month = ?", [month])
        con.execute("DELETE FROM closed_ledger WHERE month = ?", [month])
        con.execute("DELETE FROM closed_plan_versions WHERE month = ?", [month])
        con.execute(
            "INSERT INTO period_log VALUES (?, ?, 'reopen', ?, ?, ?, ?)",
            [
                _now(),
                month,
                by,
                reason.strip(),
                fingerprint,
                f"dropped {count} frozen lines, amount total {int(total)} minor units",
            ],
        )


def frozen_ledger(con, month: str) -> pd.DataFrame:
    """The frozen lines of a closed month (empty when the month is not closed)."""
    con = ensure_tables(con)
    cursor = con.execute(
        f"SELECT {', '.join(LEDGER_COLUMNS)} FROM closed_ledger WHERE month = ? ORDER BY rep_id, line_no", [month]
    )
    frame = pd.DataFrame(cursor.fetchall(), columns=LEDGER_COLUMNS)
    return frame.astype({"base_minor": np.int64, "amount_minor": np.int64, "line_no": np.int64})


def frozen_plan_versions(con, month: str) -> pd.DataFrame:
    """The plan versions a closed month was frozen with (empty when not closed)."""
    con = ensure_tables(con)
    cursor = con.execute(
        f"SELECT {', '.join(PLAN_VERSION_COLUMNS)} FROM closed_plan_versions WHERE month = ? ORDER BY plan_id",
        [month],
    )
    return pd.DataFrame(cursor.fetchall(), columns=PLAN_VERSION_COLUMNS, dtype=object)


def period_log(con) -> pd.DataFrame:
    """Every close and reopen, oldest first."""
    con = ensure_tables(con)
    cursor = con.execute("SELECT * FROM period_log ORDER BY logged_at")
    return pd.DataFrame(cursor.fetchall(), columns=[d[0] for d in cursor.description])


def adjustment_lines(
    frozen: pd.DataFrame, recomputed: pd.DataFrame, already_adjusted: pd.DataFrame, for_month: str, into_month: str
) -> pd.DataFrame:
    """Adjustment lines in ``into_month`` settling the difference of closed ``for_month``.

    Per rep, currency and component: recomputed total - frozen total - adjustments
    already made for ``for_month``; adjustment lines inside ``frozen`` and
    ``recomputed`` (which settle still earlier months) are left out, and so are
    carried-balance lines: they follow from the month's total, and the balance a
    closed month carried stays owed (``settle_balances`` recovers it from the
    month that receives a positive adjustment). ``line_no`` is
    1.. per rep; ``attain.pay.ledger.with_adjustments`` renumbers after the month's lines.
    """
    key = ["rep_id", "currency", "component"]

    def totals(lines: pd.DataFrame) -> pd.Series:
        if lines.empty:
            return pd.Series(dtype=np.int64, index=pd.MultiIndex.from_tuples([], names=key))
        return lines.groupby(key)["amount_minor"].sum()

    frozen, recomputed, already_adjusted = (
        f if len(f) else pd.DataFrame(columns=LEDGER_COLUMNS) for f in (frozen, recomputed, already_adjusted)
    )
    settling = ("adjustment", *BALANCE_KINDS)
    frozen_own = frozen[~frozen["kind"].isin(settling) & (frozen["month"] == for_month)]
    recomputed_own = recomputed[~recomputed["kind"].isin(settling) & (recomputed["month"] == for_month)]
    done = already_adjusted[(already_adjusted["kind"] == "adjustment") & (already_adjusted["for_month"] == for_month)]
    table = pd.concat({"paid": totals(frozen_own), "now": totals(recomputed_own), "done": totals(done)}, axis=1)
    table = table.fillna(0).astype(np.int64)
    table["diff"] = table["now"] - table["paid"] - table["done"]
    table = table[table["diff"] != 0].reset_index()
    plan_of = pd.concat([recomputed_own, frozen_own]).drop_duplicates("rep_id").set_index("rep_id")["plan_id"]
    texts = []
    for row in table.itertuples():
        ccy = row.currency
        texts.append(
            explain.sentence(
                "adjustment",
                for_month=explain.month(for_month),
                component=row.component,
                now=explain.money(row.now, ccy),
                paid=explain.money(row.paid, ccy),
                already=explain.sentence("adjustment.already", done=explain.money(row.done, ccy)) if row.done else "",
                sign="+" if row.diff > 0 else "-",
                diff=explain.money(abs(row.diff), ccy),
            )
        )
    out = pd.DataFrame(
        {
            "month": into_month,
            "rep_id": table["rep_id"],
            "plan_id": plan_of.reindex(table["rep_id"]).to_numpy(),
            "currency": table["currency"],
            "component": table["component"],
            "kind": "adjustment",
            "deal_ids": "",
            "base_minor": table["now"],
            "band": "",
            "rate": "",
            "amount_minor": table["diff"],
            "explanation": [explain.english(t) for t in texts],
            "for_month": for_month,
            "reason_code": [t["code"] for t in texts],
            "explain_args": [explain.args_json(t) for t in texts],
        }
    )
    out["line_no"] = out.groupby("rep_id").cumcount().astype(np.int64) + 1
    return out[LEDGER_COLUMNS].astype({"base_minor": np.int64, "amount_minor": np.int64})


def closed_run(month: str, closed: Collection[str]) -> list[str]:
    """The closed months immediately before ``month`` (most recent first), whose adjustments it carries."""
    run: list[str] = []
    previous = add_months(month, -1)
    while len(run) < ADJUSTMENT_HORIZON and previous in closed:
        run.append(previous)
        previous = add_months(previous, -1)
    return run


def frozen_needed(month: str, closed: Collection[str]) -> list[str]:
    """The closed months whose frozen ledger a run of ``month`` reads: itself if closed, else its closed run."""
    return [month] if month in closed else closed_run(month, closed)


def months_without_ledger(month: str, history: pd.DataFrame, credited_deals: pd.DataFrame) -> list[str]:
    """Of the ``HISTORY_CHECK`` months before ``month`` that had credited deals, those with no stored ledger."""
    credited = set(credited_deals["credit_month"])
    have = set(history["month"]) if not history.empty else set()
    return [m for m in trailing(add_months(month, -1), HISTORY_CHECK) if m in credited and m not in have]


def closed_month_adjustments(
    inputs: Inputs,
    plans: PlanBook,
    month: str,
    settings: Settings,
    frozen: dict[str, pd.DataFrame],
    history: pd.DataFrame,
) -> pd.DataFrame:
    """Adjustment lines in ``month`` for each closed month in ``frozen`` that the snapshot now sees differently.

    ``frozen`` maps each closed month of :func:`closed_run` to its frozen ledger; each is recomputed from
    ``inputs`` by :func:`attain.stages.recompute_ledger`, the chain the assets run. Adjustments already paid
    for a closed month (in the frozen ledgers of the closed months after it) are deducted, so a difference
    is settled exactly once.
    """
    parts = []
    already = pd.concat(frozen.values(), ignore_index=True) if frozen else pd.DataFrame()
    for closed in sorted(frozen):
        earlier = history[history["month"] < closed] if not history.empty else history
        recomputed = stages.recompute_ledger(inputs, plans, closed, settings, earlier)
        recomputed = recomputed.assign(month=closed)
        later = already[already["month"] > closed] if not already.empty else already
        parts.append(adjustment_lines(frozen[closed], recomputed, later, closed, month))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


@dataclass(frozen=True)
class LedgerRun:
    """What one run of a month stores and reports."""

    #: The month's ledger lines (the frozen ones when the month is closed).
    ledger: pd.DataFrame
    #: "closed" (frozen ledger kept) or "open" (computed now).
    state: str
    #: The fingerprint of the inputs to record for the month; None when closed (its fingerprint is frozen).
    fingerprint: str | None
    #: Recent months with credited deals but no stored ledger (draws and clawbacks assume nothing was paid).
    months_without_ledger: list[str]
    #: Decided disputes that could not be paid, each with its reason (``attain.pay.disputes``).
    refused_disputes: list[str] = dataclasses.field(default_factory=list)


def ledger_for_run(
    month: str,
    inputs: Inputs,
    measures: stages.Measures,
    plan_book: Callable[[], PlanBook],
    settings: Settings,
    frozen: dict[str, pd.DataFrame],
    history: pd.DataFrame,
    closed: Collection[str],
) -> LedgerRun:
    """Decide and compute what a run of ``month`` stores.

    - ``closed``: the closed months; ``frozen``: the frozen ledger of each month :func:`frozen_needed` names.
    - ``history``: the stored ledger lines of earlier months (draw and carried balances, the lines
      clawbacks reverse); the closed months' frozen lines take the place of their stored ones.
    - ``plan_book``: loads the plans, only when the month is open (a closed month needs none).

    A closed month returns its frozen ledger unchanged. An open month is computed from ``measures``, with
    adjustment lines for the closed months just before it and for the decided disputes it pays
    (``attain.pay.disputes``), and a fingerprint of ``inputs``, the plans and
    the settings (the fiscal calendar or minimum responses change what is paid).
    """
    if month in closed:
        return LedgerRun(frozen[month], "closed", None, [])
    missing = months_without_ledger(month, history, measures.credited_deals)
    earlier = {m: frozen[m] for m in closed_run(month, closed)}
    if earlier:
        kept = history[~history["month"].isin(earlier)] if not history.empty else history
        history = pd.concat([kept, *earlier.values()], ignore_index=True)
    plans = plan_book()
    lines = stages.ledger_of_month(
        month, plans, inputs.reps, measures, history if not history.empty else None, settings
    )
    granted = disputes.dispute_lines(inputs.disputes, month, history, lines)
    parts = [closed_month_adjustments(inputs, plans, month, settings, earlier, history), granted.lines]
    adjustments = (
        pd.concat([p for p in parts if not p.empty], ignore_index=True) if any(len(p) for p in parts) else None
    )
    if adjustments is not None:
        lines = ledger.with_adjustments(lines, adjustments, history, inputs.reps)
    texts = {**plans.texts, "settings": repr(settings)}
    return LedgerRun(lines, "open", input_fingerprint(vars(inputs), texts), missing, granted.refused)
