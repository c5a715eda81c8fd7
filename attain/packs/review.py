"""The figures of the monthly review packs: one rep's review, one manager's team review.

Pure functions over the computed tables of ``docs/data-model.md``; nothing here formats or renders.
Numbers stay numbers (money in integer minor units next to its currency, ratios as floats, dates as
dates) so the renderer formats them for the reader's locale and tests compare them with the tables.

Strengths and points to improve come from the rules in ``RULES`` (documented in
``docs/review-packs.md``): each finding names its rule and carries the figure behind it, so the pack
can cite it ("Revenue attainment 112.0% this month").
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pandas as pd

from attain.measures import target_review
from attain.measures.satisfaction import SEGMENT_BOUNDS
from attain.money import round_half_up, to_minor
from attain.packs.coaching import Catalogue, coaching_measures, default_catalogue, suggestions
from attain.periods import add_months, month_end, month_start, trailing
from attain.roster import roster_for_month
from attain.settings import Settings

#: Metrics in the order the pack lists them (data-model: targets.metric).
METRICS: tuple[str, ...] = ("revenue", "won_deals", "new_accounts")
PERIODS: tuple[str, ...] = ("month", "qtd", "ytd")

#: Thresholds of the strength / improvement rules (docs/review-packs.md explains each).
RULES: dict[str, float] = {
    "target_met": 1.00,  # month attainment >= this: strength (each metric with a target)
    "target_missed": 0.80,  # month attainment < this: point to improve
    "ytd_met": 1.00,  # YTD revenue attainment >= this: strength
    "ytd_behind": 0.90,  # YTD revenue attainment < this: point to improve
    "win_rate_margin_up": 0.05,  # win rate >= company + this: strength
    "win_rate_margin_down": 0.10,  # win rate <= company - this: point to improve
    "win_rate_min_closed": 3,  # fewer won + lost deals than this: no win-rate finding
    "coverage_strong": 3.0,  # open pipeline / next month's target >= this: strength
    "coverage_weak": 1.0,  # below this: point to improve
    "csat_strong": 0.85,  # CSAT share (enough responses only) >= this: strength
    "csat_weak": 0.70,  # below this: point to improve
    "trend_months": 3,  # this many consecutive rises (falls) of monthly attainment
    "top_quartile": 1,  # company quartile equal to this: strength
}

#: Attainment bands of the manager's distribution chart: (id, lower bound inclusive).
BANDS: tuple[tuple[str, float], ...] = (
    ("lt50", -np.inf),
    ("50to80", 0.5),
    ("80to100", 0.8),
    ("100to120", 1.0),
    ("ge120", 1.2),
)


class ReviewError(ValueError):
    """Tables that contradict each other, so no trustworthy pack can be printed."""


@dataclass
class ReviewTables:
    """The computed tables one month's packs are made from (columns: docs/data-model.md).

    ``deals`` is the validated snapshot of the month; ``targets`` the validated targets (the rows for
    the month after are used for the next-period SMART target, ``amount_minor`` or ``amount``);
    ``satisfaction`` may hold both windows; ``quarantine`` is the month's quarantine (only counted).
    ``self_assessments`` (optional input) are the reps' own views; ``coaching`` is the catalogue of suggested
    actions (``attain.packs.coaching.load_catalogue``; None: the built-in one).
    An as-of run (``attain.as_of``) also gives ``time_progress`` (``attain.measures.time_progress``) and
    ``as_of`` (``Elapsed.printed()`` and the gap): its packs then say they are provisional and show the
    month's time progress.
    Lookups by person are grouped once and cached, so a pack costs dictionary look-ups, not scans.
    """

    reps: pd.DataFrame
    attainment: pd.DataFrame
    attainment_trend: pd.DataFrame
    pipeline_health: pd.DataFrame
    satisfaction: pd.DataFrame
    incentive_ledger: pd.DataFrame
    payouts: pd.DataFrame
    deals: pd.DataFrame
    targets: pd.DataFrame
    quarantine: pd.DataFrame | None = None
    credit_splits: pd.DataFrame | None = None
    disputes: pd.DataFrame | None = None
    earnings_forecast: pd.DataFrame | None = None
    time_progress: pd.DataFrame | None = None  # issue 13 item 2: an as-of run's time_progress table
    as_of: dict | None = None  # issue 13 item 2: an as-of run's elapsed days
    #: issue 13 item 6: ``segment_summary`` (attain.measures.segments), the rep's customers by ABC segment
    segments: pd.DataFrame | None = None
    _groups: dict[tuple[str, str], dict] = field(default_factory=dict, init=False, repr=False)
    self_assessments: pd.DataFrame | None = None  # issue 13 item 3
    coaching: Catalogue | None = None  # issue 13 item 3

    def records(self, table: str, key: str, value: str, **equal: object) -> list[dict]:
        """The rows of ``table`` whose ``key`` column equals ``value`` (and each column of ``equal``
        its value), as dicts with missing values as None. The table is converted and grouped by
        ``key`` once; later calls are dictionary look-ups."""
        groups = self._groups.get((table, key))
        if groups is None:
            frame = getattr(self, table)
            groups = {}
            for row in _frame_records(frame):
                groups.setdefault(row[key], []).append(row)
            self._groups[(table, key)] = groups
        rows = groups.get(value, [])
        return [r for r in rows if all(r[c] == v for c, v in equal.items())] if equal else rows


def _frame_records(frame: pd.DataFrame | None) -> list[dict]:
    """All rows of ``frame`` as dicts; NaN, <NA> and NaT become None, numpy scalars Python ones."""
    if frame is None or frame.empty:
        return []
    plain = frame.astype(object).where(frame.notna(), None)
    return plain.to_dict("records")


def _person(roster: pd.DataFrame, person_id: str) -> dict:
    if person_id not in roster.index:
        raise ReviewError(f"{person_id!r} is not in the roster in force for this month (reps file, rep_id column)")
    row = {k: (None if pd.isna(v) else v) for k, v in roster.loc[person_id].items()}
    manager_id = row.get("manager_id") or ""
    manager_name = roster.loc[manager_id, "name"] if manager_id in roster.index else ""
    keys = ["rep_id", "name", "email", "role", "team", "region", "locale", "currency", "plan_id"]
    return {**{k: row.get(k) for k in keys}, "manager_id": manager_id, "manager_name": manager_name}


def _attainment(tables: ReviewTables, scope: str, scope_id: str, month: str) -> dict[tuple[str, str], dict]:
    """``{(metric, period): row}`` of the attainment table for one scope (ranks included)."""
    rows = tables.records("attainment", "scope_id", scope_id, scope=scope, month=month)
    return {(r["metric"], r["period"]): r for r in rows}


def _attainment_table(att: dict[tuple[str, str], dict]) -> list[dict]:
    """Rows metric x (month, QTD, YTD) in pack order, for the metrics that have figures."""
    out = []
    for metric in METRICS:
        if not any((metric, p) in att for p in PERIODS):
            continue
        out.append({"metric": metric, **{p: att.get((metric, p)) for p in PERIODS}})
    return out


def _trend(tables: ReviewTables, scope: str, scope_id: str, month: str) -> list[dict]:
    """Monthly revenue attainment for the 12 months ending ``month`` (missing months: no figures)."""
    rows = tables.records("attainment_trend", "scope_id", scope_id, scope=scope, metric="revenue", month=month)
    by_month = {r["trend_month"]: r for r in rows}
    empty = {"actual": None, "target": None, "attainment": None}
    return [{**empty, **by_month.get(m, {}), "trend_month": m} for m in trailing(month, 12)]


def _pipeline(tables: ReviewTables, scope: str, scope_id: str, month: str) -> dict | None:
    rows = tables.records("pipeline_health", "scope_id", scope_id, scope=scope, month=month)
    return rows[0] if rows else None


def _deals(tables: ReviewTables, rep_id: str, month: str) -> tuple[list[dict], list[dict]]:
    """Won and lost deals that closed in ``month`` and that the rep owns or shares (split or overlay credit,
    marked with ``credit``: its ``role`` and, for a split, its ``share`` as a ratio), by close date then deal id."""
    first, last = pd.Timestamp(month_start(month)), pd.Timestamp(month_end(month))
    owned = {d["deal_id"]: d for d in tables.records("deals", "owner_id", rep_id)}
    shared = tables.records("credit_splits", "rep_id", rep_id) if tables.credit_splits is not None else []
    for split in shared:
        for deal in tables.records("deals", "deal_id", split["deal_id"]):
            share = None if split["role"] == "overlay" else Decimal(str(split["share"])) / 100
            owned[deal["deal_id"]] = {**deal, "credit": {"role": split["role"], "share": share}}
    rows = [d for d in owned.values() if d["close_date"] is not None and first <= pd.Timestamp(d["close_date"]) <= last]
    rows.sort(key=lambda d: (pd.Timestamp(d["close_date"]), d["deal_id"]))
    return [d for d in rows if d["stage"] == "won"], [d for d in rows if d["stage"] == "lost"]


def _satisfaction(tables: ReviewTables, rep_id: str, month: str) -> dict[str, dict | None]:
    """The month's and the trailing 12 months' scores; ``csat_share`` is ``csat_pct`` (0-100) as a ratio."""
    by_window = {}
    for row in tables.records("satisfaction", "rep_id", rep_id, month=month):
        pct = row["csat_pct"]
        by_window[row["window"]] = {**row, "csat_share": None if pct is None else pct / 100}
    return {w: by_window.get(w) for w in ("month", "trailing_12")}


def _statement(tables: ReviewTables, rep_id: str, month: str) -> dict:
    """The ledger lines exactly as stored, in statement order, and the payout they add up to. Each line's
    ``explain`` is its explanation's sentence (reason code and facts, ``attain.pay.explain``) for the pack to
    write in the reader's language, or None for a line stored without one (the English ``explanation`` prints)."""
    lines = sorted(tables.records("incentive_ledger", "rep_id", rep_id, month=month), key=lambda r: r["line_no"])
    lines = [{**line, "explain": _sentence(line)} for line in lines]
    payouts = tables.records("payouts", "rep_id", rep_id, month=month)
    payout = payouts[0] if payouts else None
    total = sum(int(line["amount_minor"]) for line in lines)
    if payout is not None and int(payout["payable_minor"]) != total:
        raise ReviewError(
            f"rep {rep_id}, {month}: the incentive ledger lines add up to {total} minor units but "
            f"payouts.payable_minor is {payout['payable_minor']}; re-run the incentives stage for {month}"
        )
    currency = payout["currency"] if payout else (lines[0]["currency"] if lines else None)
    return {"lines": lines, "total_minor": total, "currency": currency, "payout": payout}


def _sentence(line: dict) -> dict | None:
    code = line.get("reason_code")
    if not isinstance(code, str) or not code:
        return None
    return {"code": code, "args": json.loads(line["explain_args"])}


def _segments(tables: ReviewTables, rep_id: str, month: str) -> list[dict]:
    """The rep's A, B and C rows of ``segment_summary`` (one set per plan currency), with ``csat_share`` the
    segment's ``csat_pct`` (0-100) as a ratio; empty when the rep has no credited revenue in the 12 months."""
    if tables.segments is None:
        return []
    rows = tables.records("segments", "rep_id", rep_id, month=month)
    rows = sorted(rows, key=lambda row: (row["currency"], row["segment"]))
    return [{**row, "csat_share": None if row["csat_pct"] is None else row["csat_pct"] / 100} for row in rows]


def _target_value(row: dict, currency: str) -> int | None:
    """A target amount as the attainment tables hold it (minor units for revenue, else a count);
    None when blank, which means "explicitly no target"."""
    if row.get("amount_minor") is not None:
        return int(row["amount_minor"])
    if row.get("amount") in (None, ""):
        return None
    if row["metric"] == "revenue":
        return to_minor(str(row["amount"]), currency)
    return int(Decimal(str(row["amount"])))


def _next_target(tables: ReviewTables, rep_id: str, month: str, currency: str, trend: list[dict]) -> dict:
    """Next month's targets in force (the latest effective date per metric), with the basis a rep
    can judge them against: the average actual of the last three months."""
    nxt = add_months(month, 1)
    last_day = pd.Timestamp(month_end(nxt))
    rows = [
        r
        for r in tables.records("targets", "scope_id", rep_id, scope="rep", month=nxt)
        if pd.Timestamp(r["effective_date"]) <= last_day
    ]
    in_force: dict[str, dict] = {}
    for row in sorted(rows, key=lambda r: pd.Timestamp(r["effective_date"])):
        in_force[row["metric"]] = row
    targets = [
        {
            "metric": r["metric"],
            "amount": _target_value(r, currency),
            "effective_date": r["effective_date"],
            "reason": r.get("reason"),
            "author": r.get("author"),
        }
        for metric, r in in_force.items()
    ]
    targets = [t for t in targets if t["amount"] is not None]
    targets.sort(key=lambda t: METRICS.index(t["metric"]) if t["metric"] in METRICS else len(METRICS))
    recent = [p["actual"] for p in trend[-3:] if p["actual"] is not None]
    basis = round_half_up(Fraction(int(sum(recent)), len(recent))) if recent else None
    return {
        "month": nxt,
        "start": month_start(nxt),
        "end": month_end(nxt),
        "currency": currency,
        "targets": targets,
        "recent_average_minor": basis,
    }


def findings(
    att: dict,
    trend: list[dict],
    pipeline: dict | None,
    company_pipeline: dict | None,
    satisfaction: dict[str, dict | None],
) -> dict[str, list[dict]]:
    """Strengths and points to improve by the rules in ``RULES``, each with the figure behind it.

    A finding is ``{"rule", "kind" (strength|improvement), "value", ...the figures it cites}``.
    """
    out: dict[str, list[dict]] = {"strength": [], "improvement": []}

    def add(kind: str, rule: str, **figures: object) -> None:
        out[kind].append({"rule": rule, "kind": kind, "threshold": RULES.get(rule), **figures})

    for metric in METRICS:
        row = att.get((metric, "month"))
        if row is None or row["attainment"] is None or row["target"] in (None, 0):
            continue
        figures = {
            "metric": metric,
            "value": row["attainment"],
            "actual": row["actual"],
            "target": row["target"],
            "currency": row["currency"],
        }
        if row["attainment"] >= RULES["target_met"]:
            add("strength", "target_met", **figures)
        elif row["attainment"] < RULES["target_missed"]:
            add("improvement", "target_missed", **figures)
    ytd = att.get(("revenue", "ytd"))
    if ytd is not None and ytd["attainment"] is not None and ytd["target"]:
        figures = {
            "value": ytd["attainment"],
            "actual": ytd["actual"],
            "target": ytd["target"],
            "currency": ytd["currency"],
        }
        if ytd["attainment"] >= RULES["ytd_met"]:
            add("strength", "ytd_met", **figures)
        elif ytd["attainment"] < RULES["ytd_behind"]:
            add("improvement", "ytd_behind", **figures)
    month_row = att.get(("revenue", "month"))
    if month_row is not None and month_row.get("quartile_company") == RULES["top_quartile"]:
        add("strength", "top_quartile", value=month_row["rank_company"])
    if pipeline is not None:
        closed = (pipeline["won_count"] or 0) + (pipeline["lost_count"] or 0)
        rate, company_rate = pipeline["win_rate"], (company_pipeline or {}).get("win_rate")
        if closed >= RULES["win_rate_min_closed"] and rate is not None and company_rate is not None:
            if rate >= company_rate + RULES["win_rate_margin_up"]:
                add("strength", "win_rate_high", value=rate, benchmark=company_rate)
            elif rate <= company_rate - RULES["win_rate_margin_down"]:
                add("improvement", "win_rate_low", value=rate, benchmark=company_rate)
        coverage = pipeline["coverage"]
        if coverage is not None:
            figures = {
                "value": coverage,
                "pipeline": pipeline["open_pipeline_minor"],
                "target": pipeline["next_month_target_minor"],
                "currency": pipeline["currency"],
            }
            if coverage >= RULES["coverage_strong"]:
                add("strength", "coverage_strong", **figures)
            elif coverage < RULES["coverage_weak"]:
                add("improvement", "coverage_weak", **figures)
    sat = satisfaction.get("trailing_12") or satisfaction.get("month")
    if sat is not None and sat["enough"] and sat["csat_share"] is not None:
        figures = {"value": sat["csat_share"], "responses": sat["csat_responses"], "window": sat["window"]}
        if sat["csat_share"] >= RULES["csat_strong"]:
            add("strength", "csat_strong", **figures)
        elif sat["csat_share"] < RULES["csat_weak"]:
            add("improvement", "csat_weak", **figures)
    n = int(RULES["trend_months"])
    last = [p["attainment"] for p in trend[-(n + 1) :]]
    if len(last) == n + 1 and None not in last:
        steps = np.diff(np.asarray(last, dtype=float))
        if (steps > 0).all():
            add("strength", "trend_rising", value=last[-1], start=last[0], months=n)
        elif (steps < 0).all():
            add("improvement", "trend_falling", value=last[-1], start=last[0], months=n)
    return out


def _time_progress(tables: ReviewTables, scope: str, scope_id: str) -> list[dict]:
    """An as-of run's time progress rows of one scope, in pack metric order (empty in a month-end run)."""
    if tables.time_progress is None:
        return []
    rows = tables.records("time_progress", "scope_id", scope_id, scope=scope)
    return sorted(rows, key=lambda r: (METRICS.index(r["metric"]), r["currency"]))


def rep_review(
    rep_id: str, month: str, tables: ReviewTables, settings: Settings, roster: pd.DataFrame | None = None
) -> dict:
    """Every figure of one rep's pack for ``month`` (see the module docstring for the conventions).

    ``roster`` is ``roster_for_month(tables.reps, month)``; pass it when reviewing many reps.
    """
    roster = roster_for_month(tables.reps, month) if roster is None else roster
    person = _person(roster, rep_id)
    att = _attainment(tables, "rep", rep_id, month)
    trend = _trend(tables, "rep", rep_id, month)
    pipeline = _pipeline(tables, "rep", rep_id, month)
    company_pipeline = next(iter(tables.records("pipeline_health", "scope", "company", month=month)), None)
    satisfaction = _satisfaction(tables, rep_id, month)
    won, lost = _deals(tables, rep_id, month)
    statement = _statement(tables, rep_id, month)
    currency = person["currency"] or statement["currency"]
    return {
        "kind": "rep",
        "month": month,
        "as_of": tables.as_of,
        "time_progress": _time_progress(tables, "rep", rep_id),
        "quarter": settings.calendar.quarter_label(month),
        "fiscal_year": settings.calendar.year_label(month),
        "person": person,
        "attainment": _attainment_table(att),
        "ranking": att.get(("revenue", "month")),
        "trend": trend,
        "won_deals": won,
        "lost_deals": lost,
        "pipeline": pipeline,
        "company_win_rate": (company_pipeline or {}).get("win_rate"),
        "satisfaction": satisfaction,
        "min_responses": settings.min_responses,
        "statement": statement,
        "findings": findings(att, trend, pipeline, company_pipeline, satisfaction),
        "next_target": _next_target(tables, rep_id, month, currency, trend),
        "disputes": _disputes(tables, rep_id, month),
        "forecast": next(iter(tables.records("earnings_forecast", "rep_id", rep_id)), None)
        if tables.earnings_forecast is not None
        else None,
        "coaching": _coaching(tables, person, month, att, trend, pipeline, company_pipeline, satisfaction),
        "self_assessment": next(iter(tables.records("self_assessments", "rep_id", rep_id, month=month)), None),
        "segments": _segments(tables, rep_id, month),
        "segment_bounds": [bound / 100 for bound in SEGMENT_BOUNDS],
    }


def _disputes(tables: ReviewTables, rep_id: str, month: str) -> list[dict]:
    """The rep's disputes still open at the month's end, then those decided in the month (newest first
    within each), as rows of the ``disputes`` table."""
    if tables.disputes is None:
        return []
    rows = tables.records("disputes", "rep_id", rep_id)
    open_ = [r for r in rows if r["status"] == "open"]
    decided = [r for r in rows if r["decided_at"] is not None and f"{r['decided_at']:%Y-%m}" == month]
    return sorted(open_, key=lambda r: (r["month"], r["dispute_id"])) + sorted(
        decided, key=lambda r: (r["decided_at"], r["dispute_id"])
    )


def _coaching(
    tables: ReviewTables,
    person: dict,
    month: str,
    att: dict,
    trend: list[dict],
    pipeline: dict | None,
    company_pipeline: dict | None,
    satisfaction: dict[str, dict | None],
) -> list[dict]:
    """The suggested actions of the coaching catalogue whose trigger the rep's figures fire (each with its
    figure, and the team's or company's where the trigger compares with it)."""
    team = next(
        iter(tables.records("pipeline_health", "scope_id", person["team"] or "", scope="team", month=month)), None
    )
    measures = coaching_measures(
        att, trend, pipeline, team, company_pipeline, satisfaction, int(RULES["win_rate_min_closed"])
    )
    return suggestions(tables.coaching or default_catalogue(), measures)


def team_members(roster: pd.DataFrame, manager_id: str) -> list[str]:
    """The reps whose manager is ``manager_id`` in this month's roster, by rep id."""
    members = roster[(roster["manager_id"] == manager_id) & (roster["rep_id"] != manager_id)]
    return sorted(members["rep_id"])


def attainment_band(ratio: pd.Series) -> pd.Series:
    """The distribution band id of each attainment ratio; "none" where there is no target."""
    bounds = np.array([b for _, b in BANDS[1:]])
    ids = np.array([i for i, _ in BANDS], dtype=object)
    values = ratio.astype(float).to_numpy()
    band = ids[np.searchsorted(bounds, np.nan_to_num(values, nan=0.0), side="right")]
    return pd.Series(np.where(np.isnan(values), "none", band), index=ratio.index)


def _revenue_ytd(review: dict) -> float | None:
    row = next((a for a in review["attainment"] if a["metric"] == "revenue"), None)
    return (row["ytd"] or {}).get("attainment") if row else None


def manager_review(
    manager_id: str, month: str, tables: ReviewTables, settings: Settings, roster: pd.DataFrame | None = None
) -> dict:
    """A manager's pack: the team's summary, ranking and attainment distribution, then each
    member's review. Members are the reps reporting to the manager in that month's roster."""
    roster = roster_for_month(tables.reps, month) if roster is None else roster
    person = _person(roster, manager_id)
    members = [rep_review(r, month, tables, settings, roster) for r in team_members(roster, manager_id)]
    ranking = pd.DataFrame(
        {
            "rep_id": [m["person"]["rep_id"] for m in members],
            "name": [m["person"]["name"] for m in members],
            "currency": [(m["ranking"] or {}).get("currency") or m["person"]["currency"] for m in members],
            "actual": [(m["ranking"] or {}).get("actual") for m in members],
            "target": [(m["ranking"] or {}).get("target") for m in members],
            "attainment": pd.array([(m["ranking"] or {}).get("attainment") for m in members], dtype="Float64"),
            "ytd_attainment": [_revenue_ytd(m) for m in members],
            "payable_minor": [(m["statement"]["payout"] or {}).get("payable_minor") for m in members],
            "payout_currency": [m["statement"]["currency"] for m in members],
        }
    )
    ranking["band"] = attainment_band(ranking["attainment"])
    ranking = ranking.sort_values(
        ["attainment", "actual", "rep_id"], ascending=[False, False, True], na_position="last"
    ).reset_index(drop=True)
    ranking.insert(0, "rank", range(1, len(ranking) + 1))
    counts = ranking["band"].value_counts()
    distribution = [{"band": b, "count": int(counts.get(b, 0))} for b, _ in BANDS]
    distribution.append({"band": "none", "count": int(counts.get("none", 0))})
    payable = ranking.dropna(subset=["payable_minor"]).groupby("payout_currency")["payable_minor"].sum()
    quarantine = tables.quarantine
    quarantined = 0 if quarantine is None else int((quarantine["month"] == month).sum())
    by_id = {m["person"]["rep_id"]: m for m in members}
    return {
        "kind": "manager",
        "month": month,
        "as_of": tables.as_of,
        "time_progress": _time_progress(tables, "manager", manager_id),
        "target_review": target_review.review_team(
            [m["person"] for m in members],
            month,
            tables.attainment_trend,
            tables.targets,
            person,
            settings,
            complete_through=add_months(month, -1) if tables.as_of else month,
        ),
        "quarter": settings.calendar.quarter_label(month),
        "fiscal_year": settings.calendar.year_label(month),
        "person": person,
        "attainment": _attainment_table(_attainment(tables, "manager", manager_id, month)),
        "trend": _trend(tables, "manager", manager_id, month),
        "pipeline": _pipeline(tables, "manager", manager_id, month),
        "ranking": _frame_records(ranking),
        "distribution": distribution,
        "payable_by_currency": {str(c): int(v) for c, v in payable.items()},
        "quarantined_rows": quarantined,
        "members": [by_id[r] for r in ranking["rep_id"]],
        "open_disputes": [
            {**d, "name": by_id[r]["person"]["name"]}
            for r in ranking["rep_id"]
            for d in by_id[r]["disputes"]
            if d["status"] == "open"
        ],
    }


def missing_packs(month: str, reps: pd.DataFrame, review_packs: pd.DataFrame) -> list[str]:
    """The packs :func:`pack_list` calls for that ``review_packs`` lacks, as ``"<kind> <person_id>"``."""
    expected = pack_list(month, reps)
    made = set(zip(review_packs["person_id"], review_packs["kind"], strict=True))
    return sorted(
        f"{kind} {person}"
        for person, kind in zip(expected["person_id"], expected["kind"], strict=True)
        if (person, kind) not in made
    )


def pack_list(month: str, reps: pd.DataFrame) -> pd.DataFrame:
    """Who gets which pack for ``month``: a rep pack for every employed rep, a manager pack for every
    manager with at least one member; columns ``person_id, kind, locale``."""
    roster = roster_for_month(reps, month)
    has_team = roster["rep_id"].isin(roster["manager_id"])
    reps_ = roster[roster["role"] == "rep"].assign(kind="rep")
    managers = roster[(roster["role"] == "manager") & has_team].assign(kind="manager")
    packs = pd.concat([reps_, managers])[["rep_id", "kind", "locale"]].rename(columns={"rep_id": "person_id"})
    return packs.sort_values(["kind", "person_id"], ascending=[False, True]).reset_index(drop=True)
