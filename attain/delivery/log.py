"""The delivery log: a warehouse table written in transactions, so a message is delivered exactly once."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pandas as pd

from attain.delivery.messages import Outgoing
from attain.warehouse import as_connection

#: Outcomes a ``deliveries`` row can have. ``sending`` marks an attempt whose answer is not yet recorded.
OUTCOMES = ("sending", "sent", "resent", "failed", "skipped")

# ---------------------------------------------------------------------------------------------- the log


@dataclass
class LoggedDelivery:
    """One row of the delivery log."""

    month: str
    manager_id: str
    recipient: str
    address: str
    message_id: str
    attachments: list[dict[str, str]]
    outcome: str
    detail: str
    attempts: int
    sent_at: dt.datetime | None
    logged_at: dt.datetime


class DeliveryLog:
    """The ``deliveries`` table: every delivery attempt of every message and its outcome.

    ``con`` is a warehouse connection (``attain.warehouse``: DuckDB or PostgreSQL; a raw DuckDB connection
    is adopted). Each change is its own transaction, so the table is never half-written. Rows are
    appended per run; a ``sending`` row (attempt started, answer not yet recorded) is updated in place
    with the final outcome. A message has at most one ``sending`` row: ``start`` locks it (PostgreSQL: row
    lock, and a partial unique index so two processes cannot both insert one).
    """

    _COLUMNS = (
        "month",
        "manager_id",
        "recipient",
        "address",
        "message_id",
        "attachments",
        "outcome",
        "detail",
        "attempts",
        "sent_at",
        "logged_at",
    )

    def __init__(self, con, table: str = "deliveries") -> None:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*", table):
            raise ValueError(f"{table!r} is not a table name")
        self.con, self.table = as_connection(con), table
        self.con.create_table(
            table,
            f"""month VARCHAR NOT NULL, manager_id VARCHAR NOT NULL, recipient VARCHAR NOT NULL,
            address VARCHAR NOT NULL, message_id VARCHAR NOT NULL, attachments VARCHAR NOT NULL,
            outcome VARCHAR NOT NULL CHECK (outcome IN ({", ".join(f"'{o}'" for o in OUTCOMES)})),
            detail VARCHAR NOT NULL, attempts INTEGER NOT NULL,
            sent_at TIMESTAMP, logged_at TIMESTAMP NOT NULL""",
            ordered=True,
        )
        self.con.unique_while(table, ("month", "manager_id", "recipient"), "outcome = 'sending'")

    def _write(self, sql: str, params: Sequence = ()) -> None:
        with self.con.transaction() as con:
            con.execute(sql, list(params))

    @property
    def _insert_sql(self) -> str:
        return f"INSERT INTO {self.table} ({', '.join(self._COLUMNS)}) VALUES ({', '.join('?' * len(self._COLUMNS))})"

    def _insert(self, values: Sequence) -> None:
        self._write(self._insert_sql, values)

    def history(self, months: Iterable[str] | None = None) -> list[LoggedDelivery]:
        """Rows of ``months`` (all when None), oldest first."""
        sql = f"SELECT {', '.join(self._COLUMNS)} FROM {self.table}"
        params: list[str] = []
        if months is not None:
            params = sorted(set(months))
            sql += f" WHERE month IN ({', '.join('?' * len(params))})" if params else " WHERE FALSE"
        rows = self.con.execute(f"{sql} ORDER BY logged_at, {self.con.insertion_order}", params).fetchall()
        return [
            LoggedDelivery(*(json.loads(v) if c == "attachments" else v for c, v in zip(self._COLUMNS, r, strict=True)))
            for r in rows
        ]

    def records(self, month: str | None = None) -> pd.DataFrame:
        """The log as a DataFrame (for the UI and the run summary)."""
        rows = self.history(None if month is None else [month])
        out = pd.DataFrame([r.__dict__ for r in rows], columns=list(self._COLUMNS))
        out["attachments"] = out["attachments"].map(json.dumps)
        return out

    def start(self, msg: Outgoing) -> None:
        """Record that ``msg`` is about to be sent (reusing a ``sending`` row left by an interrupted run)."""
        values = [msg.to.email, msg.message_id, json.dumps(msg.fingerprints)]
        with self.con.transaction() as con:
            pending = con.lock_rows(
                f"SELECT outcome FROM {self.table} WHERE month=? AND manager_id=? AND recipient=? "
                "AND outcome='sending'",
                list(msg.key),
            )
            if pending:
                con.execute(
                    f"UPDATE {self.table} SET address=?, message_id=?, attachments=?, logged_at=? "
                    f"WHERE month=? AND manager_id=? AND recipient=? AND outcome='sending'",
                    [*values, _now(), *msg.key],
                )
            else:
                con.execute(self._insert_sql, [*msg.key, *values, "sending", "attempt started", 0, None, _now()])

    def attempt(self, msg: Outgoing) -> None:
        """Count one transmission of the pending message (before it is made)."""
        self._write(
            f"UPDATE {self.table} SET attempts = attempts + 1 WHERE month=? AND manager_id=? "
            f"AND recipient=? AND outcome='sending'",
            list(msg.key),
        )

    def finish(self, msg: Outgoing, outcome: str, detail: str) -> None:
        """Record the server's answer on the pending row: sent, resent, failed or skipped."""
        sent_at = _now() if outcome in ("sent", "resent") else None
        self._write(
            f"UPDATE {self.table} SET outcome=?, detail=?, sent_at=?, logged_at=? WHERE month=? "
            f"AND manager_id=? AND recipient=? AND outcome='sending'",
            [outcome, detail, sent_at, _now(), *msg.key],
        )

    def record(self, msg: Outgoing, outcome: str, detail: str) -> None:
        """Append a row for a decision that involved no transmission (a changed pack left unsent)."""
        self._insert(
            [*msg.key, msg.to.email, msg.message_id, json.dumps(msg.fingerprints), outcome, detail, 0, None, _now()]
        )


def _now() -> dt.datetime:
    """UTC wall-clock time without tzinfo (the log's timestamps are UTC)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)
