"""Credit: which rep is credited how much for each won deal, in their plan currency.

A won deal credits its owner on its close date (``role="owner"``, share 100). When the
deal has ``credit_splits`` rows with ``role="split"`` those rows replace the owner's
100% (their shares must sum to exactly 100). ``role="overlay"`` rows are extra credit
for a specialist or manager and never reduce anyone else's.

Each credited row is converted from the deal currency to the credited rep's plan
currency (the roster row in force in the credit month) at that month's rate
``rate[deal] / rate[plan]`` and rounded half-up ONCE:
``credit_minor = round_half_up(deal_amount_minor x share/100 x fx)``. Totals are sums
of rows, so a split deal's rows may differ from the deal's converted amount by at most
half a minor unit per row (the rounding residue; :func:`reconcile_credit` shows it).

Which roster row is in force in the credit month is :mod:`attain.roster`'s rule.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import numpy as np
import pandas as pd

from attain import money, periods
from attain.fx import cross_rate, rate_table, to_plan_currency
from attain.periods import month_keys
from attain.roster import roster_by_month
from attain.settings import Settings

CREDITED_COLUMNS = [
    "month",
    "credit_month",
    "deal_id",
    "rep_id",
    "role",
    "share",
    "close_date",
    "product",
    "account",
    "deal_currency",
    "deal_amount_minor",
    "plan_currency",
    "fx_rate",
    "credit_minor",
]
CLAWBACK_COLUMNS = [
    "month",
    "deal_id",
    "rep_id",
    "cancelled_date",
    "close_date",
    "credit_minor",
    "plan_currency",
    "reason",
]


# --------------------------------------------------------------------------- credit rows


def _check_split_shares(splits: pd.DataFrame) -> None:
    """Split shares of each deal must sum to exactly 100 (exact decimal arithmetic)."""
    if splits.empty:
        return
    values = splits["share"].astype(str).map(lambda s: Decimal(s.strip()))
    totals = values.groupby(splits["deal_id"].to_numpy()).sum()
    bad = totals[totals != 100]
    if len(bad):
        listed = ", ".join(f"{d} ({t}%)" for d, t in bad.head(5).items())
        raise ValueError(
            f"credit_splits: the split shares of deal {listed} do not sum to 100; "
            "correct the share column so each deal's role=split rows add up to exactly 100"
        )


def credit_rows(
    won: pd.DataFrame,
    credit_splits: pd.DataFrame | None,
    reps: pd.DataFrame,
    fx_rates: pd.DataFrame | None,
    settings: Settings,
) -> pd.DataFrame:
    """Credited rows for the given won deals (credit month = close month), without ``month``.

    The splits and overlays that apply are taken from ``credit_splits``; the plan
    currency is that of the credited rep's roster row in force in the credit month.
    Rows are built as positions into ``won`` so each deal column is copied once.
    """
    won = won.sort_values("close_date", kind="stable")
    splits = _empty_splits() if credit_splits is None or credit_splits.empty else credit_splits
    deal_index = pd.Index(won["deal_id"])
    at = deal_index.get_indexer(splits["deal_id"])
    splits, at = splits[at >= 0], at[at >= 0]
    role = splits["role"].astype(str).str.strip().str.lower().to_numpy()
    _check_split_shares(splits[role == "split"])

    is_split = np.zeros(len(won), dtype=bool)
    is_split[at[role == "split"]] = True
    owners = np.flatnonzero(~is_split)
    extra = np.flatnonzero(np.isin(role, ["split", "overlay"]))
    extra = extra[np.lexsort((role[extra] == "overlay", at[extra]))]  # per deal: split rows, then overlays
    pos = np.concatenate([owners, at[extra]])
    order = np.argsort(pos, kind="stable")  # close-date order of ``won``; owner row first within a deal
    pos = pos[order]
    rows = pd.DataFrame(
        {
            "deal_id": won["deal_id"].to_numpy()[pos],
            "rep_id": np.concatenate([won["owner_id"].to_numpy()[owners], splits["rep_id"].to_numpy()[extra]])[order],
            "role": np.concatenate([np.full(len(owners), "owner", dtype=object), role[extra]])[order],
            "share": np.concatenate(
                [np.full(len(owners), "100", dtype=object), splits["share"].astype(str).str.strip().to_numpy()[extra]]
            )[order],
            "close_date": won["close_date"].to_numpy()[pos],
        }
    )
    credit_month = month_keys(won["close_date"]).to_numpy()
    rows.insert(0, "credit_month", credit_month[pos])
    rows["product"] = won["product"].to_numpy()[pos]
    rows["account"] = won["account"].to_numpy()[pos]
    rows["deal_currency"] = won["currency"].to_numpy()[pos]
    rows["deal_amount_minor"] = won["amount_minor"].to_numpy(np.int64)[pos]

    months = sorted(set(credit_month))
    roster = roster_by_month(reps, months)
    rep_ids = pd.Index(roster["rep_id"].unique()).sort_values()
    rep_at = rep_ids.get_indexer(rows["rep_id"])
    if (rep_at < 0).any():
        unknown = rows.loc[rep_at < 0, ["deal_id", "rep_id"]]
        listed = ", ".join(f"{r.rep_id} (deal {r.deal_id})" for r in unknown.head(5).itertuples())
        raise ValueError(f"credited reps missing from the reps roster: {listed}; add them to reps")
    grid_row = pd.Index(months).get_indexer(rows["credit_month"]) * len(rep_ids) + rep_at
    rows["plan_currency"] = roster["currency"].to_numpy()[grid_row]
    rows["credit_minor"], rows["fx_rate"] = to_plan_currency(
        rows["deal_amount_minor"],
        rows["deal_currency"],
        rows["plan_currency"],
        rows["credit_month"],
        fx_rates,
        settings,
        share=rows["share"],
    )
    return rows


def _empty_splits() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in ("deal_id", "rep_id", "share", "role")})


def _won(deals: pd.DataFrame, also: pd.Series | bool = True) -> pd.DataFrame:
    """Won deals (and ``also``) with the columns credit needs, selected in one pass."""
    columns = [
        c
        for c in (
            "deal_id",
            "owner_id",
            "account",
            "product",
            "amount_minor",
            "currency",
            "close_date",
            "cancelled_date",
            "cancel_reason",
        )
        if c in deals
    ]
    return deals.loc[deals["stage"].eq("won") & deals["close_date"].notna() & also, columns]


def credited_deals(
    deals: pd.DataFrame,
    credit_splits: pd.DataFrame | None,
    reps: pd.DataFrame,
    fx_rates: pd.DataFrame | None,
    month: str,
    settings: Settings,
) -> pd.DataFrame:
    """The ``credited_deals`` table of partition ``month``: credit months = the 12 months ending ``month``.

    A cancelled deal keeps its credit here (it was won in its month); the
    cancellation reaches pay through :func:`clawback_events` in the month it is recorded.
    """
    start = pd.Timestamp(periods.month_start(periods.trailing(month, 12)[0]))
    end = pd.Timestamp(periods.month_end(month))
    won = _won(deals, deals["close_date"].between(start, end))
    rows = credit_rows(won, credit_splits, reps, fx_rates, settings)
    rows.insert(0, "month", month)
    return rows[CREDITED_COLUMNS]


def clawback_events(
    deals: pd.DataFrame,
    credit_splits: pd.DataFrame | None,
    reps: pd.DataFrame,
    fx_rates: pd.DataFrame | None,
    month: str,
    settings: Settings,
) -> pd.DataFrame:
    """Cancellations recorded in ``month`` of won deals, one row per originally credited rep.

    ``credit_minor`` is the credit as originally given (positive; the incentive stage
    turns it into a negative line at the rate originally paid), recomputed with the
    credit month's roster and FX rate, whatever the age of the deal.
    """
    won = _won(deals)
    cancelled = won[month_keys(won["cancelled_date"]).eq(month)] if "cancelled_date" in won else won.iloc[0:0]
    rows = credit_rows(cancelled, credit_splits, reps, fx_rates, settings)
    extra = cancelled[["deal_id", "cancelled_date"]].assign(
        reason=cancelled["cancel_reason"].fillna("").astype(str) if "cancel_reason" in cancelled else ""
    )
    rows = rows.merge(extra, on="deal_id", how="left").assign(month=month)
    return rows[CLAWBACK_COLUMNS].reset_index(drop=True)


# --------------------------------------------------------------------------- reconciliation


def reconcile_credit(
    deals: pd.DataFrame,
    credit_splits: pd.DataFrame | None,
    reps: pd.DataFrame,
    fx_rates: pd.DataFrame | None,
    credited: pd.DataFrame,
    month: str,
    settings: Settings,
) -> pd.DataFrame:
    """Per plan currency and credit month: expected vs credited minor units (difference must be 0).

    ``expected_minor`` is recomputed independently of ``credited``, deal by deal in
    exact fractions: each won deal of the 12 months ending ``month`` yields its owner's
    100% (or its split rows) plus its overlays, each rounded half-up once. The
    rounding residue (credited minus the exact unrounded total, at most half a minor
    unit per row) is reported as exact text, so it is visible rather than absorbed.
    """
    window = set(periods.trailing(month, 12))
    rates = rate_table(fx_rates)
    won = _won(deals)
    won = won[month_keys(won["close_date"]).isin(window)]
    splits = _empty_splits() if credit_splits is None or credit_splits.empty else credit_splits
    by_deal: dict[str, list[tuple[str, str, str]]] = {}
    for d, r, s, role in zip(splits["deal_id"], splits["rep_id"], splits["share"], splits["role"], strict=True):
        by_deal.setdefault(str(d), []).append((str(r), str(s), str(role).strip().lower()))
    roster = roster_by_month(reps, sorted(window))
    currency_of = dict(zip(zip(roster["month"], roster["rep_id"], strict=True), roster["currency"], strict=True))

    factors: dict[tuple[str, str, str, str], tuple[int, int]] = {}
    expected: dict[tuple[str, str], list[int]] = {}
    amounts_by_factor: dict[tuple[str, str, str, str], int] = {}
    for deal_id, owner, amount, ccy, cm in zip(
        won["deal_id"],
        won["owner_id"],
        won["amount_minor"].tolist(),
        won["currency"],
        month_keys(won["close_date"]),
        strict=True,
    ):
        extra = by_deal.get(str(deal_id), [])
        split = [(r, s) for r, s, role in extra if role == "split"] or [(str(owner), "100")]
        for rep, share in split + [(r, s) for r, s, role in extra if role == "overlay"]:
            plan = currency_of[(cm, rep)]
            key = (cm, ccy, plan, share)
            if key not in factors:
                shift = Fraction(10) ** (money.minor_digits(plan) - money.minor_digits(ccy))
                factor = money.ratio(share) / 100 * cross_rate(rates, cm, ccy, plan, settings.base_currency) * shift
                factors[key] = (factor.numerator, factor.denominator)
            p, q = factors[key]
            rounded = (2 * amount * p + q) // (2 * q) if amount >= 0 else -((-2 * amount * p + q) // (2 * q))
            slot = expected.get((plan, cm))
            if slot is None:
                slot = expected[(plan, cm)] = [0, 0]
            slot[0] += rounded
            slot[1] += 1
            amounts_by_factor[key] = amounts_by_factor.get(key, 0) + amount
    exact_total: dict[tuple[str, str], Fraction] = {}
    for key, total in amounts_by_factor.items():
        cm, _, plan, _ = key
        p, q = factors[key]
        exact_total[(plan, cm)] = exact_total.get((plan, cm), Fraction(0)) + Fraction(p * total, q)

    got = credited.groupby(["plan_currency", "credit_month"])["credit_minor"].agg(["sum", "size"])
    keys = sorted(set(expected) | set(got.index))
    rows = []
    for plan, cm in keys:
        exp_minor, n_exp = expected.get((plan, cm), [0, 0])
        exact = exact_total.get((plan, cm), Fraction(0))
        cred_minor, n_cred = (
            (int(got.loc[(plan, cm), "sum"]), int(got.loc[(plan, cm), "size"])) if (plan, cm) in got.index else (0, 0)
        )
        residue = cred_minor - exact
        rows.append(
            {
                "month": month,
                "plan_currency": plan,
                "credit_month": cm,
                "expected_rows": n_exp,
                "credited_rows": n_cred,
                "expected_minor": exp_minor,
                "credited_minor": cred_minor,
                "difference_minor": cred_minor - exp_minor,
                "rounding_residue_minor": str(Decimal(residue.numerator) / Decimal(residue.denominator)),
            }
        )
    columns = [
        "month",
        "plan_currency",
        "credit_month",
        "expected_rows",
        "credited_rows",
        "expected_minor",
        "credited_minor",
        "difference_minor",
        "rounding_residue_minor",
    ]
    return pd.DataFrame(rows, columns=columns)
