"""Disputes that become pay: an accepted or partly accepted dispute is an ``adjustment`` line, paid once.

Rules (docs/plans.md "Disputes"):

- A dispute about month D decided on day T is paid in the first month run after D whose month is not before
  T's month: normally the month in which it was decided, or the next one when D is that month. If that month
  is already closed, the next open month pays it.
- It is paid exactly once: a month pays it only when no earlier month's stored ledger line does. The line's
  ``component`` is ``dispute:<dispute_id>``, which is how a payment is traced back to its dispute (and how an
  earlier payment is found).
- The line pays the amount granted, in the rep's plan currency of D; ``base_minor`` is the amount claimed and
  ``for_month`` is D. Open and rejected disputes pay nothing.
- A dispute naming a statement line (``line_no``) is refused when D has no stored statement for the rep or the
  statement has no such line: it is not paid, and the run reports why.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from attain.pay import explain
from attain.pay.lines import LEDGER_COLUMNS

#: ``component`` of a dispute's adjustment line: this prefix and the dispute's id.
COMPONENT_PREFIX = "dispute:"
PAYING_STATUSES = ("accepted", "partly accepted")


@dataclass(frozen=True)
class DisputeLines:
    """What the disputes add to one month's ledger."""

    #: Adjustment lines in LEDGER_COLUMNS (``line_no`` 1.. per rep, renumbered when appended).
    lines: pd.DataFrame
    #: One sentence per dispute that is decided to pay but cannot be paid, saying why and what to fix.
    refused: list[str]


def dispute_component(dispute_id: str) -> str:
    """The ``component`` of the adjustment line paying ``dispute_id``."""
    return f"{COMPONENT_PREFIX}{dispute_id}"


def paid_disputes(ledger: pd.DataFrame) -> pd.Series:
    """For each dispute paid by a line of ``ledger``: the month that paid it (indexed by dispute_id)."""
    if ledger.empty:
        return pd.Series(dtype=object)
    lines = ledger[(ledger["kind"] == "adjustment") & ledger["component"].str.startswith(COMPONENT_PREFIX)]
    return lines.groupby(lines["component"].str.removeprefix(COMPONENT_PREFIX))["month"].min()


def due_disputes(disputes: pd.DataFrame, month: str, history: pd.DataFrame) -> pd.DataFrame:
    """The decided disputes that ``month`` pays: granted, about an earlier month, decided by ``month``'s end
    and not paid by a line of ``history`` (the stored ledger lines of earlier months)."""
    if disputes.empty:
        return disputes
    decided = disputes["decided_at"].dt.strftime("%Y-%m")
    due = (
        disputes["status"].isin(PAYING_STATUSES)
        & disputes["amount_granted_minor"].fillna(0).gt(0)
        & (disputes["month"] < month)
        & (decided <= month)
    )
    earlier = history[history["month"] < month] if not history.empty else history
    due &= ~disputes["dispute_id"].isin(paid_disputes(earlier).index)
    return disputes[due.to_numpy()]


def dispute_lines(disputes: pd.DataFrame, month: str, history: pd.DataFrame, current: pd.DataFrame) -> DisputeLines:
    """The adjustment lines ``month`` pays for decided disputes, and the disputes refused.

    ``history``: stored ledger lines of earlier months (the disputed statements, earlier payments);
    ``current``: the month's own lines (the plan a rep is paid under now).
    """
    due = due_disputes(disputes, month, history)
    if due.empty:
        return DisputeLines(pd.DataFrame(columns=LEDGER_COLUMNS), [])
    statements = history.groupby(["rep_id", "month"])["line_no"].max() if not history.empty else pd.Series()
    refused, keep = [], []
    for row in due.itertuples():
        if pd.isna(row.line_no):
            keep.append(True)
            continue
        lines = statements.get((row.rep_id, row.month))
        if lines is None:
            refused.append(
                f"dispute {row.dispute_id}: {row.rep_id} has no stored statement for {row.month}, so its line "
                f"{row.line_no} cannot be checked; correct month or rep_id in disputes, or run {row.month} first"
            )
        elif row.line_no > lines:
            refused.append(
                f"dispute {row.dispute_id}: {row.rep_id}'s statement for {row.month} has {lines} lines, not a "
                f"line {row.line_no}; correct line_no in disputes (or leave it blank and name the deal)"
            )
        keep.append(lines is not None and row.line_no <= lines)
    due = due[np.array(keep, dtype=bool)]
    plan_of = pd.concat([current, history]).drop_duplicates("rep_id").set_index("rep_id")["plan_id"]
    claimed = due["amount_claimed_minor"].fillna(due["amount_granted_minor"]).astype(np.int64)
    texts = [_explanation(row, int(c)) for row, c in zip(due.itertuples(), claimed, strict=True)]
    lines = pd.DataFrame(
        {
            "month": month,
            "rep_id": due["rep_id"].to_numpy(),
            "plan_id": plan_of.reindex(due["rep_id"]).fillna("").to_numpy(),
            "currency": due["currency"].to_numpy(),
            "component": [dispute_component(i) for i in due["dispute_id"]],
            "kind": "adjustment",
            "deal_ids": due["deal_id"].to_numpy(),
            "base_minor": claimed.to_numpy(),
            "band": "",
            "rate": "",
            "amount_minor": due["amount_granted_minor"].astype(np.int64).to_numpy(),
            "explanation": [explain.english(t) for t in texts],
            "for_month": due["month"].to_numpy(),
            "reason_code": [t["code"] for t in texts],
            "explain_args": [explain.args_json(t) for t in texts],
        }
    ).sort_values(["rep_id", "component"], kind="mergesort")
    lines["line_no"] = lines.groupby("rep_id").cumcount().astype(np.int64) + 1
    return DisputeLines(lines[LEDGER_COLUMNS].reset_index(drop=True), refused)


def _explanation(row, claimed: int) -> explain.Sentence:
    """'Dispute D-17 about 2026-08, line 2 (rate wrong): accepted by Ana Li on 2026-09-10; 120.50 USD of
    120.50 USD claimed.', as a sentence the pack writes in the reader's language."""
    where: explain.Sentence | list
    if not pd.isna(row.line_no):
        where = explain.sentence("dispute.line", month=explain.month(row.month), line=int(row.line_no))
    elif row.deal_id:
        where = explain.sentence("dispute.deal", month=explain.month(row.month), deal=row.deal_id)
    else:
        where = explain.month(row.month)
    return explain.sentence(
        "dispute",
        id=row.dispute_id,
        where=where,
        claim=row.claim,
        status=explain.sentence(f"term.{row.status.replace(' ', '_')}"),
        by=row.decided_by,
        on=explain.date(row.decided_at),
        granted=explain.money(int(row.amount_granted_minor), row.currency),
        claimed=explain.money(claimed, row.currency),
    )
