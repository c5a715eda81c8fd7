"""The reason written for each (column, check) failure, for the person who fixes the file."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from attain.ingest.contract import METRICS
from attain.money import unknown_currency_reason

_Reason = Callable[[pd.DataFrame], list[str]]


def _each(template: str, column: str) -> _Reason:
    """Reason from a template with {v} = the cell's text."""
    return lambda rows: [template.format(v=v) for v in rows[column]]


def _generic(check: str) -> _Reason:
    """Fallback for a check without a written reason: still quarantined, never dropped silently."""
    return lambda rows: [f"the row fails the check {check}; see docs/input-contract.md"] * len(rows)


def _blank_or(column: str, blank: str, other: str) -> _Reason:
    return lambda rows: [blank if v == "" else other.format(v=v) for v in rows[column]]


def _currency_reason(rows: pd.DataFrame) -> list[str]:
    """A blank currency, or a code that is not an active ISO 4217 code (with the closest code, not all 160)."""
    return [
        "currency is blank; enter the ISO currency code, for example USD" if v == "" else unknown_currency_reason(v)
        for v in rows["currency"]
    ]


_MONTH_REASON = _blank_or(
    "month",
    "month is blank; enter the month as YYYY-MM, for example 2025-03",
    "month '{v}' is not a month in the form YYYY-MM (for example 2025-03); correct it",
)

_REASONS: dict[tuple[str, str], tuple[str, _Reason]] = {
    ("deals", "deal_id"): ("deal_id", _each("deal_id is blank; every deal needs its CRM id", "deal_id")),
    ("deals", "owner_id"): ("owner_id", _each("owner_id is blank; enter the rep_id of the deal's owner", "owner_id")),
    ("deals", "amount_minor"): (
        "amount",
        _each("amount {v} is negative; enter refunds as a cancellation (cancelled_date) instead", "amount"),
    ),
    ("deals", "currency"): ("currency", _currency_reason),
    ("deals", "stage"): (
        "stage",
        _blank_or(
            "stage",
            "stage is blank; enter won, lost or open",
            "stage '{v}' is not won, lost or open; map the CRM stage to one of these three",
        ),
    ),
    ("deals", "closed_deal_has_close_date"): (
        "close_date",
        lambda rows: [
            f"close_date is blank on a {s.lower()} deal; enter the date the deal was {s.lower()} (YYYY-MM-DD)"
            for s in rows["stage"]
        ],
    ),
    ("deals", "close_not_before_created"): (
        "close_date",
        lambda rows: [
            f"close_date {c} is before created_date {o}; correct whichever date is wrong"
            for c, o in zip(rows["close_date"], rows["created_date"], strict=True)
        ],
    ),
    ("deals", "cancelled_only_if_won"): (
        "cancelled_date",
        lambda rows: [
            f"cancelled_date {c} is set on a {s.lower()} deal; only won deals can be cancelled: clear the date or correct the stage"
            for c, s in zip(rows["cancelled_date"], rows["stage"], strict=True)
        ],
    ),
    ("deals", "cancelled_not_before_close"): (
        "cancelled_date",
        lambda rows: [
            f"cancelled_date {c} is before close_date {d}; a deal is cancelled after it was won: correct one of the dates"
            for c, d in zip(rows["cancelled_date"], rows["close_date"], strict=True)
        ],
    ),
    ("credit_splits", "deal_id"): (
        "deal_id",
        _each("deal_id is blank; enter the deal this credit belongs to", "deal_id"),
    ),
    ("credit_splits", "rep_id"): ("rep_id", _each("rep_id is blank; enter the rep who receives this credit", "rep_id")),
    ("credit_splits", "share"): (
        "share",
        _blank_or(
            "share",
            "share is blank; enter the percentage credited, for example 60 for 60%",
            "share '{v}' is not a percentage; write it as a plain number, for example 60 or 33.5 (no % sign)",
        ),
    ),
    ("credit_splits", "share_positive"): (
        "share",
        _each("share {v} is zero; remove the row or enter the share", "share"),
    ),
    ("credit_splits", "role"): (
        "role",
        _blank_or(
            "role",
            "role is blank; enter split (shares of the deal add up to 100) or overlay (extra credit)",
            "role '{v}' is not split or overlay; use split (shares add up to 100) or overlay (extra credit)",
        ),
    ),
    ("reps", "rep_id"): ("rep_id", _each("rep_id is blank; every roster row needs the person's id", "rep_id")),
    ("reps", "name"): ("name", _each("name is blank; enter the person's name as it should appear in packs", "name")),
    ("reps", "email"): ("email", _each("email '{v}' is not an e-mail address; correct it or leave it blank", "email")),
    ("reps", "role"): (
        "role",
        _blank_or(
            "role", "role is blank; enter rep or manager", "role '{v}' is not rep or manager; use one of these two"
        ),
    ),
    ("reps", "hire_date"): (
        "hire_date",
        _each("hire_date is blank; enter the first day of employment (YYYY-MM-DD)", "hire_date"),
    ),
    ("reps", "locale"): (
        "locale",
        _blank_or(
            "locale",
            "locale is blank; enter en or zh_CN",
            "locale '{v}' is not supported; use en (English) or zh_CN (Chinese)",
        ),
    ),
    ("reps", "currency"): ("currency", _currency_reason),
    ("reps", "valid_from"): (
        "valid_from",
        _each(
            "valid_from '{v}' is not a month in the form YYYY-MM (for example 2025-04); correct it or leave it blank",
            "valid_from",
        ),
    ),
    ("reps", "leave_not_before_hire"): (
        "leave_date",
        lambda rows: [
            f"leave_date {lv} is before hire_date {h}; correct one of the dates"
            for lv, h in zip(rows["leave_date"], rows["hire_date"], strict=True)
        ],
    ),
    ("targets", "scope"): (
        "scope",
        _blank_or("scope", "scope is blank; enter rep or team", "scope '{v}' is not rep or team; use one of these two"),
    ),
    ("targets", "scope_id"): ("scope_id", _each("scope_id is blank; enter the rep_id or team name", "scope_id")),
    ("targets", "month"): ("month", _MONTH_REASON),
    ("targets", "metric"): (
        "metric",
        _blank_or(
            "metric",
            "metric is blank; enter " + ", ".join(METRICS),
            "metric '{v}' is not a known metric; use one of " + ", ".join(METRICS),
        ),
    ),
    ("targets", "target"): ("amount", _each("amount {v} is negative; a target is zero or more", "amount")),
    ("targets", "effective_date"): (
        "effective_date",
        _each("effective_date is blank; enter the date this target took effect (YYYY-MM-DD)", "effective_date"),
    ),
    ("fx_rates", "month"): ("month", _MONTH_REASON),
    ("fx_rates", "currency"): ("currency", _currency_reason),
    ("fx_rates", "rate"): (
        "rate",
        _blank_or(
            "rate",
            "rate is blank; enter the value of one unit of the currency in the base currency",
            "rate '{v}' is not a positive decimal number; write it as for example 1.0845",
        ),
    ),
    ("fx_rates", "rate_positive"): ("rate", _each("rate {v} is zero; enter the real exchange rate", "rate")),
    ("surveys", "response_id"): (
        "response_id",
        _each("response_id is blank; every response needs an id", "response_id"),
    ),
    ("surveys", "response_date"): (
        "response_date",
        _each("response_date is blank; enter the date of the response (YYYY-MM-DD)", "response_date"),
    ),
    ("surveys", "scale"): (
        "scale",
        _each("scale is blank; enter csat_1_5, nps_0_10 or a declared scale such as 1-10", "scale"),
    ),
    ("surveys", "deal_or_account"): (
        "deal_id",
        _each("deal_id and account are both blank; enter the deal surveyed or the account", "deal_id"),
    ),
    ("disputes", "dispute_id"): ("dispute_id", _each("dispute_id is blank; every dispute needs an id", "dispute_id")),
    ("disputes", "rep_id"): ("rep_id", _each("rep_id is blank; enter the rep_id of the rep who disputes", "rep_id")),
    ("disputes", "month"): ("month", _MONTH_REASON),
    ("disputes", "line_no"): (
        "line_no",
        _each("line_no {v} is not a statement line; lines are numbered from 1, or leave it blank", "line_no"),
    ),
    ("disputes", "claim"): ("claim", _each("claim is blank; write what the rep claims", "claim")),
    ("disputes", "status"): (
        "status",
        _blank_or(
            "status",
            "status is blank; enter open, accepted, rejected or partly accepted",
            "status '{v}' is not open, accepted, rejected or partly accepted; correct it",
        ),
    ),
    ("disputes", "decision_recorded"): (
        "decided_by",
        lambda rows: [
            f"the dispute is {s} but {'decided_by' if not b else 'decided_at'} is blank; enter who decided it "
            "and when (decided_at as YYYY-MM-DD)"
            for s, b in zip(rows["status"], rows["decided_by"], strict=True)
        ],
    ),
    ("disputes", "granted_fits_status"): (
        "amount_granted",
        lambda rows: [
            {
                "partly accepted": f"amount_granted '{g}' does not fit a partly accepted dispute: enter an amount "
                f"above zero and below the amount claimed ({c or 'blank'})",
                "accepted": "amount_granted is blank and so is amount_claimed; enter the amount granted",
            }.get(s, f"a {s} dispute pays nothing: leave amount_granted blank (it is '{g}'), or set the status")
            for s, g, c in zip(rows["status"], rows["amount_granted"], rows["amount_claimed"], strict=True)
        ],
    ),
    ("self_assessments", "rep_id"): ("rep_id", _each("rep_id is blank; enter the rep_id of the rep writing", "rep_id")),
    ("self_assessments", "month"): ("month", _MONTH_REASON),
    ("self_assessments", "text_or_help_wanted"): (
        "text",
        _each("text and help_wanted are both blank; write the rep's own view, the help wanted, or both", "text"),
    ),
}
