"""What-if plan modelling: the months M1..M2 paid again under draft plans, beside the plans in force.

``compare`` replays the ledger chain of each month in memory (``attain.stages``: credit, attainment,
satisfaction, then the ledger) twice from one snapshot of the inputs: once under the plans in force, once under
the draft. The measures of a month do not depend on the plans, so they are computed once and both ledgers are
paid from them: a what-if costs one pass of the measures and two of the ledger, not two whole month-ends.

Months chain: draw and carried balances and the lines clawbacks reverse come from earlier months. Both
replays start from the same real history before M1 (the stored ledgers, closed months as frozen), and each
month's lines, under its own plans, become the history of the next, so a draft that pays more in March
recovers a balance differently in April. Adjustment lines of closed months are left out on both sides: they
settle data corrections, not plan changes. Nothing here reads or writes the warehouse.

The comparison (``WhatIf``) is per rep and month: payout now and under the draft (the sum of the month's ledger
lines, i.e. what is payable), the difference, the credited revenue of the month and the commission tier reached
under each plan. ``summary``, ``grouped`` and ``distribution`` aggregate it per currency: amounts in different
currencies are never added.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pandas as pd

from attain import stages
from attain.ingest.load import Inputs
from attain.money import format_minor
from attain.pay.commission import _band_labels
from attain.pay.lines import LEDGER_COLUMNS
from attain.pay.plans import PlanBook, PlanError
from attain.roster import active_in_month, roster_as_of
from attain.settings import Settings

#: Columns of the per-rep-and-month comparison.
ROW_COLUMNS = [
    "month",
    "rep_id",
    "name",
    "team",
    "region",
    "plan_id",
    "currency",
    "revenue_minor",
    "now_minor",
    "draft_minor",
    "difference_minor",
    "tier_now",
    "tier_draft",
    "tier_change",
]

#: Buckets of a rep's difference over the period, as a share of what the plans in force pay them (``_bucket``).
BUCKETS = (
    "loses over 20%",
    "loses 5-20%",
    "loses up to 5%",
    "unchanged",
    "gains up to 5%",
    "gains 5-20%",
    "gains over 20%",
)
_FIVE, _TWENTY = Decimal("0.05"), Decimal("0.20")


@dataclass(frozen=True)
class WhatIf:
    """Both replays and their comparison."""

    months: list[str]
    #: One row per rep and month (``ROW_COLUMNS``), sorted by month and rep.
    rows: pd.DataFrame
    #: The ledger lines of every month under the plans in force and under the draft.
    now: pd.DataFrame
    draft: pd.DataFrame


def compare(
    inputs: Inputs,
    plans_now: PlanBook,
    plans_draft: PlanBook,
    months: list[str],
    settings: Settings,
    history: pd.DataFrame | None = None,
) -> WhatIf:
    """Replay ``months`` under ``plans_now`` and ``plans_draft`` from ``inputs`` and compare them.

    ``history``: the real ledger lines before the first month (closed months as frozen), or None. A plan id the
    roster uses and the draft does not define stops with the ``PlanError`` naming it.
    """
    _check_draft(inputs.reps, plans_draft, months)
    earlier = history[LEDGER_COLUMNS] if history is not None and len(history) else pd.DataFrame(columns=LEDGER_COLUMNS)
    earlier = earlier[~earlier["kind"].eq("adjustment")] if len(earlier) else earlier
    past = {"now": [earlier], "draft": [earlier]}
    books = {"now": plans_now, "draft": plans_draft}
    frames = []
    for month in months:
        measures = stages.measures_of_month(inputs, month, settings)
        paid = {}
        for side, book in books.items():
            before = pd.concat(past[side], ignore_index=True) if len(past[side]) > 1 else past[side][0]
            lines = stages.ledger_of_month(
                month, book, inputs.reps, measures, before if len(before) else None, settings
            )
            past[side].append(lines)
            paid[side] = lines
        frames.append(_month_rows(month, inputs.reps, measures.credited_deals, paid, books))
    rows = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=ROW_COLUMNS)
    return WhatIf(
        months,
        rows.sort_values(["month", "rep_id"], kind="mergesort").reset_index(drop=True),
        pd.concat(past["now"][1:], ignore_index=True) if months else earlier.iloc[0:0],
        pd.concat(past["draft"][1:], ignore_index=True) if months else earlier.iloc[0:0],
    )


def with_draft(plans_now: PlanBook, draft: PlanBook) -> PlanBook:
    """The plans in force with every plan id the draft defines replaced by the draft's versions: a draft folder
    need only hold the plans it changes."""
    versions = {**plans_now.versions, **draft.versions}
    return PlanBook(versions, {**plans_now.texts, **draft.texts}, {**plans_now.hashes, **draft.hashes})


def _check_draft(reps: pd.DataFrame, draft: PlanBook, months: list[str]) -> None:
    """Every plan id on the roster must have a draft version in force in each month (else a clear PlanError)."""
    for month in months:
        roster = roster_as_of(reps, month)
        roster = roster[active_in_month(roster, month)]
        for plan_id in sorted(set(roster["plan_id"].fillna("").astype(str)) - {""}):
            try:
                draft.for_rep(plan_id, month)
            except PlanError as error:
                raise PlanError(f"draft plans: {error}") from None


def _month_rows(
    month: str, reps: pd.DataFrame, credited: pd.DataFrame, paid: dict[str, pd.DataFrame], books: dict[str, PlanBook]
) -> pd.DataFrame:
    """The comparison rows of one month: every rep with a line under either plan."""
    totals = {}
    for side, lines in paid.items():
        totals[side] = lines.groupby(["rep_id", "plan_id", "currency"])["amount_minor"].sum()
    table = pd.concat({"now_minor": totals["now"], "draft_minor": totals["draft"]}, axis=1).fillna(0)
    table = table.astype(np.int64).reset_index()
    if table.empty:
        return pd.DataFrame(columns=ROW_COLUMNS)
    table = table.drop_duplicates("rep_id")
    own = credited[(credited["credit_month"] == month) & (credited["role"] != "overlay")]
    revenue = own.groupby("rep_id")["credit_minor"].sum()
    roster = roster_as_of(reps, month).set_index("rep_id")
    table["month"] = month
    for column in ("name", "team", "region"):
        table[column] = roster[column].reindex(table["rep_id"]).fillna("").astype(str).to_numpy()
    table["revenue_minor"] = revenue.reindex(table["rep_id"]).fillna(0).astype(np.int64).to_numpy()
    table["difference_minor"] = table["draft_minor"] - table["now_minor"]
    for side in ("now", "draft"):
        tiers = _tiers(month, paid[side], books[side])
        table[f"tier_{side}"] = tiers.reindex(table["rep_id"]).fillna("").to_numpy()
    number = {side: table[f"tier_{side}"].str.extract(r"^tier (\d+)", expand=False) for side in ("now", "draft")}
    crossed = number["now"].fillna("") != number["draft"].fillna("")
    table["tier_change"] = np.where(
        crossed, table["tier_now"].replace("", "none") + " -> " + table["tier_draft"].replace("", "none"), ""
    )
    return table[ROW_COLUMNS]


def _tiers(month: str, lines: pd.DataFrame, book: PlanBook) -> pd.Series:
    """Per rep, the highest commission tier the month's credit reached: ``"tier 3 (100%+)"``.

    The tier is the band of the rep's last commission line with a base (lines run in band order); its
    number is the band's position in the plan's tier table.
    """
    commission = lines[(lines["kind"] == "commission") & (lines["base_minor"] > 0) & (lines["band"] != "")]
    if commission.empty:
        return pd.Series(dtype=object)
    top = commission.sort_values(["rep_id", "line_no"], kind="mergesort").drop_duplicates("rep_id", keep="last")
    numbers: dict[tuple[str, str, str], int] = {}
    for plan_id, currency in top[["plan_id", "currency"]].drop_duplicates().itertuples(index=False):
        plan = book.for_rep(plan_id, month)
        for comp in plan.components:
            if comp.kind == "commission":
                for k, label in enumerate(_band_labels(comp, currency)):
                    numbers[(plan_id, comp.id, label)] = k + 1
    text = [
        f"tier {numbers[(p, c, b)]} ({b})" if (p, c, b) in numbers else b
        for p, c, b in top[["plan_id", "component", "band"]].itertuples(index=False)
    ]
    return pd.Series(text, index=top["rep_id"].to_numpy(), dtype=object)


# ---------------------------------------------------------------------------- aggregates


def share_text(part: int, whole: int) -> str:
    """``part / whole`` as a percentage to two decimals, rounded half-up from the exact integers; "" if whole is 0."""
    if not whole:
        return ""
    value = (Decimal(int(part)) * 100 / Decimal(int(whole))).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return f"{value}%"


def per_rep(rows: pd.DataFrame) -> pd.DataFrame:
    """Each rep's totals over the period (per currency): now, draft, difference."""
    return (
        rows.groupby(["currency", "rep_id"], sort=True)[["now_minor", "draft_minor", "difference_minor"]]
        .sum()
        .reset_index()
    )


def summary(rows: pd.DataFrame) -> pd.DataFrame:
    """Per currency: reps, revenue, payout now and under the draft, the difference and its share of revenue,
    how many reps gain, lose or keep their pay over the period, the largest gain and loss, tier crossings."""
    reps = per_rep(rows)
    out = []
    for currency, group in rows.groupby("currency", sort=True):
        mine = reps[reps["currency"] == currency]["difference_minor"]
        revenue, now, draft = (int(group[c].sum()) for c in ("revenue_minor", "now_minor", "draft_minor"))
        out.append(
            {
                "currency": currency,
                "reps": int(group["rep_id"].nunique()),
                "revenue_minor": revenue,
                "now_minor": now,
                "draft_minor": draft,
                "difference_minor": draft - now,
                "difference_share_of_revenue": share_text(draft - now, revenue),
                "difference_share_of_payout": share_text(draft - now, now),
                "reps_gaining": int((mine > 0).sum()),
                "reps_losing": int((mine < 0).sum()),
                "reps_unchanged": int((mine == 0).sum()),
                "largest_gain_minor": int(max(mine.max(), 0)),
                "largest_loss_minor": int(min(mine.min(), 0)),
                "tier_crossings": int((group["tier_change"] != "").sum()),
            }
        )
    return pd.DataFrame(out)


def grouped(rows: pd.DataFrame, by: str) -> pd.DataFrame:
    """Per currency and ``by`` (``team``, ``region`` or ``month``): payout now, draft, difference, reps gaining
    and losing (in the group's rep-months)."""
    keys = ["currency", by]
    sums = rows.groupby(keys, sort=True)[["revenue_minor", "now_minor", "draft_minor", "difference_minor"]].sum()
    counts = (
        rows.assign(gaining=rows["difference_minor"] > 0, losing=rows["difference_minor"] < 0)
        .groupby(keys, sort=True)[["gaining", "losing"]]
        .sum()
    )
    out = sums.join(counts.astype(np.int64)).reset_index()
    out["difference_share_of_revenue"] = [
        share_text(d, r) for d, r in zip(out["difference_minor"], out["revenue_minor"], strict=True)
    ]
    return out


def distribution(rows: pd.DataFrame) -> pd.DataFrame:
    """Per currency and bucket (``BUCKETS``): how many reps' pay over the period changes by that share, and the
    sum of their differences. A rep paid nothing now who gains is counted in the top bucket."""
    reps = per_rep(rows)
    out = []
    for currency, group in reps.groupby("currency", sort=True):
        labels = [_bucket(d, n) for d, n in zip(group["difference_minor"], group["now_minor"], strict=True)]
        group = group.assign(bucket=labels)
        for label in BUCKETS:
            members = group[group["bucket"] == label]
            out.append(
                {
                    "currency": currency,
                    "bucket": label,
                    "reps": len(members),
                    "difference_minor": int(members["difference_minor"].sum()),
                }
            )
    return pd.DataFrame(out, columns=["currency", "bucket", "reps", "difference_minor"])


def _bucket(difference: int, now: int) -> str:
    """The ``BUCKETS`` label of a difference against the pay now (a rep paid nothing now: the outer buckets)."""
    if difference == 0:
        return "unchanged"
    share = Decimal(int(difference)) / Decimal(int(now)) if now > 0 else Decimal(difference > 0) * 2 - 1
    if share > 0:
        return "gains up to 5%" if share <= _FIVE else "gains 5-20%" if share <= _TWENTY else "gains over 20%"
    return "loses up to 5%" if share >= -_FIVE else "loses 5-20%" if share >= -_TWENTY else "loses over 20%"


def summary_lines(rows: pd.DataFrame) -> list[str]:
    """One line per currency for the terminal, ending ``total difference: <amount> <currency>`` (exact)."""
    lines = []
    for row in summary(rows).itertuples():
        ccy = row.currency
        share = f" ({row.difference_share_of_revenue} of revenue)" if row.difference_share_of_revenue else ""
        sign = "+" if row.difference_minor > 0 else ""
        lines.append(
            f"{ccy}: {row.reps} reps, paid now {format_minor(row.now_minor, ccy)}, under the draft "
            f"{format_minor(row.draft_minor, ccy)}{share}; {row.reps_gaining} gain, {row.reps_losing} lose, "
            f"{row.reps_unchanged} unchanged; {row.tier_crossings} tier crossings; "
            f"total difference: {sign}{format_minor(row.difference_minor, ccy)} {ccy}"
        )
    return lines
