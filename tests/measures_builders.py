"""Small builders for the validated tables of docs/data-model.md, used by the measures tests."""

from __future__ import annotations

import pandas as pd

from attain.settings import Settings

SETTINGS = Settings()


def reps(*rows: dict) -> pd.DataFrame:
    """A validated roster; each row overrides the defaults (one team T1 in region R1, USD plans)."""
    defaults = {
        "name": "",
        "email": "",
        "role": "rep",
        "manager_id": "",
        "team": "T1",
        "region": "R1",
        "hire_date": "2020-01-01",
        "leave_date": None,
        "plan_id": "p1",
        "locale": "en",
        "currency": "USD",
        "valid_from": "",
    }
    frame = pd.DataFrame([{**defaults, "name": r["rep_id"], **r} for r in rows])
    for col in ("hire_date", "leave_date"):
        frame[col] = pd.to_datetime(frame[col])
    return frame


def deals(*rows: dict) -> pd.DataFrame:
    """Validated deals; ``close_date`` / ``created_date`` / ``cancelled_date`` as ISO text or None."""
    defaults = {
        "owner_id": "r1",
        "account": "Acme",
        "product": "P",
        "amount_minor": 0,
        "currency": "USD",
        "stage": "won",
        "created_date": None,
        "close_date": None,
        "cancelled_date": None,
        "cancel_reason": "",
    }
    frame = pd.DataFrame([{**defaults, **r} for r in rows], columns=["deal_id", *defaults])
    for col in ("created_date", "close_date", "cancelled_date"):
        frame[col] = pd.to_datetime(frame[col])
    frame["amount_minor"] = frame["amount_minor"].astype("int64")
    return frame


def splits(*rows: tuple[str, str, str, str]) -> pd.DataFrame:
    """credit_splits from ``(deal_id, rep_id, share, role)`` tuples."""
    return pd.DataFrame(list(rows), columns=["deal_id", "rep_id", "share", "role"])


def targets(*rows: tuple) -> pd.DataFrame:
    """targets from ``(scope, scope_id, month, metric, amount, effective_date[, reason, author])``."""
    full = [tuple(r) + ("initial", "ops")[len(r) - 6 :] for r in rows]
    frame = pd.DataFrame(
        full, columns=["scope", "scope_id", "month", "metric", "amount", "effective_date", "reason", "author"]
    )
    frame["effective_date"] = pd.to_datetime(frame["effective_date"])
    return frame


def fx(*rows: tuple[str, str, str]) -> pd.DataFrame:
    """fx_rates from ``(month, currency, rate)`` tuples."""
    return pd.DataFrame(list(rows), columns=["month", "currency", "rate"])


def surveys(*rows: tuple) -> pd.DataFrame:
    """surveys from ``(response_id, deal_id, account, response_date, score, scale)`` tuples."""
    frame = pd.DataFrame(list(rows), columns=["response_id", "deal_id", "account", "response_date", "score", "scale"])
    frame["response_date"] = pd.to_datetime(frame["response_date"])
    frame["comment"] = ""
    return frame


def disputes(*rows: dict) -> pd.DataFrame:
    """Validated disputes; each row gives at least ``dispute_id, rep_id, month``; decided ones ``status``,
    ``amount_granted_minor``, ``decided_by`` and ``decided_at``."""
    defaults = {
        "line_no": pd.NA,
        "deal_id": "",
        "claim": "claim",
        "amount_claimed_minor": 0,
        "currency": "USD",
        "status": "open",
        "resolution": "",
        "amount_granted_minor": pd.NA,
        "decided_by": "",
        "decided_at": None,
    }
    frame = pd.DataFrame([{**defaults, **row} for row in rows], columns=["dispute_id", "rep_id", "month", *defaults])
    frame["decided_at"] = pd.to_datetime(frame["decided_at"])
    return frame.astype({"line_no": "Int64", "amount_claimed_minor": "Int64", "amount_granted_minor": "Int64"})
