"""Period close: freeze a month's ledger with a fingerprint of its inputs; adjust later, never rewrite.

Three tables in the warehouse (any DB-API connection with ``?`` parameters; DuckDB in practice):

- ``closed_periods``: one row per closed month (fingerprint, who, when, note);
- ``closed_ledger``: the frozen ``incentive_ledger`` lines of each closed month;
- ``period_log``: every close and reopen, with who, when and why (append-only);
- ``input_fingerprints``: the fingerprint of the inputs of each month's latest run
  (``record_fingerprint`` after computing the ledger; ``close`` freezes it).

A closed month's figures are what was paid. When a later run recomputes that
month from late or corrected data, ``adjustment_lines`` turns the difference
(recomputed - frozen - adjustments already made) into ``adjustment`` lines of the
next open month, labelled with the month they belong to (``for_month``).
Reopening is explicit, needs a reason and is logged.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pandas as pd

from attain.ledger import BALANCE_KINDS, LEDGER_COLUMNS
from attain.money import money_text
from attain.periods import parse_month

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS closed_periods (month VARCHAR PRIMARY KEY, fingerprint VARCHAR NOT NULL, "
    "closed_at TIMESTAMP NOT NULL, closed_by VARCHAR NOT NULL, note VARCHAR)",
    "CREATE TABLE IF NOT EXISTS closed_ledger (month VARCHAR, rep_id VARCHAR, plan_id VARCHAR, currency VARCHAR, "
    "component VARCHAR, kind VARCHAR, deal_ids VARCHAR, base_minor BIGINT, band VARCHAR, rate VARCHAR, "
    "amount_minor BIGINT, explanation VARCHAR, for_month VARCHAR, line_no BIGINT)",
    "CREATE TABLE IF NOT EXISTS input_fingerprints (month VARCHAR PRIMARY KEY, fingerprint VARCHAR NOT NULL, "
    "recorded_at TIMESTAMP NOT NULL)",
    "CREATE TABLE IF NOT EXISTS period_log (logged_at TIMESTAMP NOT NULL, month VARCHAR NOT NULL, "
    "action VARCHAR NOT NULL, performed_by VARCHAR NOT NULL, reason VARCHAR, fingerprint VARCHAR, detail VARCHAR)",
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
            values = frame[columns].apply(_plain_text)
            rows = pd.util.hash_pandas_object(values, index=False).to_numpy(dtype=np.uint64)
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


def ensure_tables(con) -> None:
    """Create the period-close tables when missing."""
    for statement in _SCHEMA:
        con.execute(statement)


@contextmanager
def _transaction(con) -> Iterator[None]:
    begin = getattr(con, "begin", None)
    if begin is not None:
        begin()
    try:
        yield
    except BaseException:
        con.rollback()
        raise
    con.commit()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def record_fingerprint(con, month: str, fingerprint: str) -> None:
    """Remember the fingerprint of the inputs the month's ledger was last computed from."""
    ensure_tables(con)
    with _transaction(con):
        con.execute("DELETE FROM input_fingerprints WHERE month = ?", [month])
        con.execute("INSERT INTO input_fingerprints VALUES (?, ?, ?)", [month, fingerprint, _now()])


def stored_fingerprint(con, month: str) -> str:
    """The fingerprint recorded by the month's latest run; an error when the month was never run."""
    ensure_tables(con)
    row = con.execute("SELECT fingerprint FROM input_fingerprints WHERE month = ?", [month]).fetchone()
    if row is None:
        raise PeriodCloseError(
            f"no input fingerprint is recorded for {month}; run the month "
            f"(attain run --month {month}) before closing it"
        )
    return row[0]


def is_closed(con, month: str) -> bool:
    """Whether ``month`` is closed."""
    ensure_tables(con)
    return con.execute("SELECT count(*) FROM closed_periods WHERE month = ?", [month]).fetchone()[0] > 0


def close_month(con, month: str, ledger: pd.DataFrame, fingerprint: str, by: str, note: str = "") -> None:
    """Freeze ``ledger`` (the month's lines) as ``month``'s paid figures, in one transaction."""
    parse_month(month)
    if not by.strip():
        raise PeriodCloseError(f"close {month}: say who closes the month (by)")
    ensure_tables(con)
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
    with _transaction(con):
        con.execute("INSERT INTO closed_periods VALUES (?, ?, ?, ?, ?)", [month, fingerprint, _now(), by, note])
        con.execute("DELETE FROM closed_ledger WHERE month = ?", [month])
        _insert_lines(con, frozen)
        con.execute(
            "INSERT INTO period_log VALUES (?, ?, 'close', ?, ?, ?, ?)",
            [_now(), month, by, note, fingerprint, f"{len(frozen)} lines, amount total {total} minor units"],
        )


def _insert_lines(con, lines: pd.DataFrame) -> None:
    if lines.empty:
        return
    if hasattr(con, "register"):  # DuckDB: one set-based insert
        con.register("_attain_frozen_lines", lines)
        try:
            con.execute(f"INSERT INTO closed_ledger SELECT {', '.join(LEDGER_COLUMNS)} FROM _attain_frozen_lines")
        finally:
            con.unregister("_attain_frozen_lines")
        return
    rows = lines.astype(object).where(lines.notna(), None).itertuples(index=False, name=None)
    con.executemany(f"INSERT INTO closed_ledger VALUES ({', '.join('?' * len(LEDGER_COLUMNS))})", list(rows))


def reopen_month(con, month: str, reason: str, by: str) -> None:
    """Reopen a closed month: its frozen lines are dropped and the act is logged with ``reason``."""
    parse_month(month)
    if not reason or not reason.strip():
        raise PeriodCloseError(f'reopen {month}: a reason is required (e.g. --reason "payroll error in March")')
    if not by.strip():
        raise PeriodCloseError(f"reopen {month}: say who reopens the month (by)")
    if not is_closed(con, month):
        raise PeriodCloseError(f"{month} is not closed; there is nothing to reopen")
    fingerprint, count, total = con.execute(
        "SELECT p.fingerprint, count(l.line_no), coalesce(sum(l.amount_minor), 0) FROM closed_periods p "
        "LEFT JOIN closed_ledger l ON l.month = p.month WHERE p.month = ? GROUP BY p.fingerprint",
        [month],
    ).fetchone()
    with _transaction(con):
        con.execute("DELETE FROM closed_periods WHERE month = ?", [month])
        con.execute("DELETE FROM closed_ledger WHERE month = ?", [month])
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
    ensure_tables(con)
    cursor = con.execute(
        f"SELECT {', '.join(LEDGER_COLUMNS)} FROM closed_ledger WHERE month = ? ORDER BY rep_id, line_no", [month]
    )
    frame = pd.DataFrame(cursor.fetchall(), columns=LEDGER_COLUMNS)
    return frame.astype({"base_minor": np.int64, "amount_minor": np.int64, "line_no": np.int64})


def period_log(con) -> pd.DataFrame:
    """Every close and reopen, oldest first."""
    ensure_tables(con)
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
    1.. per rep; ``attain.ledger.with_adjustments`` renumbers after the month's lines.
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
        sign = "+" if row.diff > 0 else "-"
        already = f", {money_text(row.done, ccy)} already adjusted" if row.done else ""
        texts.append(
            f"Adjustment for {for_month} ({row.component}): recomputed with later data "
            f"{money_text(row.now, ccy)}, {money_text(row.paid, ccy)} paid when {for_month} was closed"
            f"{already}: {sign}{money_text(abs(row.diff), ccy)}"
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
            "explanation": texts,
            "for_month": for_month,
        }
    )
    out["line_no"] = out.groupby("rep_id").cumcount().astype(np.int64) + 1
    return out[LEDGER_COLUMNS].astype({"base_minor": np.int64, "amount_minor": np.int64})
