"""Clawbacks, draws and guarantees, and carried negative-month balances."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd

from attain.money import apply_ratios
from attain.pay import explain
from attain.pay.explain import Sentence, money, pct, sentence
from attain.pay.lines import (
    _STAGE_CLAWBACK,
    _STAGE_DRAW,
    BALANCE_KINDS,
    CLAWBACK_SOURCE_KINDS,
    _block,
    _Month,
)
from attain.pay.plans import Plan
from attain.periods import month_end, parse_month

# ---------------------------------------------------------------------------- clawbacks


def _clawbacks(
    ctx: _Month, plan: Plan, roster: pd.DataFrame, events: pd.DataFrame, paid: pd.DataFrame
) -> list[pd.DataFrame]:
    """Negative lines for cancellations recorded this month, at the rate each paid line used."""
    events = events[events["rep_id"].isin(roster.index)]
    if events.empty:
        return []
    ccy, rule = plan.currency, plan.clawback
    events = events.assign(deal_id=events["deal_id"].astype(str))
    cancelled = pd.to_datetime(events["cancelled_date"])
    closed = pd.to_datetime(events["close_date"])
    days = (cancelled - closed).dt.days.to_numpy()
    if rule is None:
        inside = np.zeros(len(events), dtype=bool)
        window = sentence("window.none")
    elif rule.window_days is not None:
        inside = days <= rule.window_days
        window = sentence("window.days", n=int(rule.window_days))
    else:
        assert rule.window_months is not None  # the plan loader requires window_days or window_months
        inside = (cancelled <= closed + pd.DateOffset(months=rule.window_months)).to_numpy()
        window = sentence("window.months", n=rule.window_months)
    sources = paid[
        paid["kind"].isin(CLAWBACK_SOURCE_KINDS) & (paid["amount_minor"] != 0) & paid["rep_id"].isin(events["rep_id"])
    ]
    if rule is not None and rule.components:
        sources = sources[sources["component"].isin(rule.components)]
    listed = _listed_deals(sources)
    inside_events = events[inside].reset_index(drop=True).reset_index(names="event")
    matched = inside_events.merge(listed, on=["rep_id", "deal_id"]).merge(
        sources.drop(columns=["rep_id", "month", "deal_ids"], errors="ignore"),
        left_on="line",
        right_index=True,
        suffixes=("", "_paid"),
    )
    matched["rate"] = matched["rate"].fillna("").astype(str)
    slices = _slices_paid(ctx, matched, paid)
    blocks = []
    if len(matched):
        base = slices
        per_deal = matched["rate"] == ""
        rates = matched["rate"].where(~per_deal, "0").to_numpy(dtype=object)
        amounts = -apply_ratios(base, rates)
        flat = (matched["amount_minor"] // matched["n_deals"]).to_numpy(dtype=np.int64)
        amounts = np.where(per_deal, -flat, amounts)
        texts = []
        matched["band"] = matched["band"].fillna("").astype(str)
        for m, b, a in zip(matched.itertuples(), base, amounts, strict=True):
            how = (
                sentence("clawback.rate", rate=pct(Decimal(m.rate)), base=money(b, ccy))
                if m.rate != ""
                else sentence("clawback.per_deal", amount=money(-a, ccy))
            )
            cancelled, closed = pd.Timestamp(m.cancelled_date), pd.Timestamp(m.close_date)
            texts.append(
                sentence(
                    "clawback",
                    deal=m.deal_id,
                    closed=explain.date(closed),
                    cancelled=explain.date(cancelled),
                    days=int((cancelled - closed).days),
                    window=window,
                    how=how,
                    paid_in=explain.month(m.month_paid),
                    component=m.component,
                    band=sentence("clawback.band", band=m.band) if m.band else "",
                )
            )
        blocks.append(
            _block(
                matched["rep_id"].to_numpy(),
                matched["component"].to_numpy(),
                "clawback",
                amounts,
                deal_ids=matched["deal_id"].to_numpy(),
                base=base,
                band=matched["band"].to_numpy(),
                rate=matched["rate"].to_numpy(),
                explanation=texts,
                stage=_STAGE_CLAWBACK,
                sub=matched["event"].to_numpy(),
            )
        )
    unpaid = ~inside_events["event"].isin(matched["event"])
    outside = events[~inside]
    notes: list[tuple[str, str, Sentence]] = [
        (
            r.rep_id,
            r.deal_id,
            sentence(
                "clawback.outside",
                deal=r.deal_id,
                cancelled=explain.date(pd.Timestamp(r.cancelled_date)),
                window=window,
            ),
        )
        for r in outside.itertuples()
    ]
    notes += [
        (
            r.rep_id,
            r.deal_id,
            sentence("clawback.unpaid", deal=r.deal_id, cancelled=explain.date(pd.Timestamp(r.cancelled_date))),
        )
        for r in inside_events[unpaid].itertuples()
    ]
    if notes:
        blocks.append(
            _block(
                [n[0] for n in notes],
                "clawback",
                "clawback",
                0,
                deal_ids=[n[1] for n in notes],
                explanation=[n[2] for n in notes],
                stage=_STAGE_CLAWBACK,
                sub=10**9,
            )
        )
    return blocks


def _listed_deals(lines: pd.DataFrame) -> pd.DataFrame:
    """One row per (line, deal id listed on it): ``line`` (index of ``lines``), ``rep_id``, ``deal_id``, ``n_deals``."""
    ids = lines["deal_ids"].fillna("").astype(str)
    counts = (ids.str.count(";") + 1).to_numpy()
    flat = ";".join(ids).split(";") if len(ids) else []
    return pd.DataFrame(
        {
            "line": np.repeat(lines.index.to_numpy(), counts),
            "rep_id": np.repeat(lines["rep_id"].to_numpy(), counts),
            "deal_id": np.array(flat, dtype=object),
            "n_deals": np.repeat(counts, counts),
        }
    )


def _slices_paid(ctx: _Month, matched: pd.DataFrame, paid: pd.DataFrame) -> np.ndarray:
    """How much of each cancelled deal's credit each matched paid line covered.

    A line listing only this deal covered its ``base``; a deal on one line was paid
    there on all its credit. A deal on several lines of one component and month
    straddled band boundaries (marginal tiers): the lines of a marginal component
    cover the credit from zero without gaps, so the boundary after a line is the
    sum of the bases up to it, and the deal's start is the credit of the deals
    listed before it (from ``credited_deals``). Its first line covered
    ``boundary - start``, lines listing only it their base, the last line the rest.
    """
    matched = matched.reset_index(drop=True)
    keys = ["event", "component", "month_paid"]
    credit = matched["credit_minor"].to_numpy(dtype=np.int64)
    single = (matched["n_deals"] == 1).to_numpy()
    slices = np.where(single, matched["base_minor"].to_numpy(dtype=np.int64), credit)
    lines_per_deal = matched.groupby(keys)["line"].transform("size").to_numpy()
    straddled = np.flatnonzero(lines_per_deal > 1)
    if not len(straddled):
        return slices
    involved = matched["rep_id"].iloc[straddled].unique()
    credits = ctx.credited[ctx.credited["rep_id"].isin(involved)]
    credit_of = credits.drop_duplicates(["rep_id", "deal_id"]).set_index(["rep_id", "deal_id"])["credit_minor"]
    paid = paid[paid["rep_id"].isin(involved) & (paid["deal_ids"] != "")]
    for _, group in matched.iloc[straddled].groupby(keys):
        group = group.sort_values("sub_paid")
        first = group.iloc[0]
        siblings = paid[
            (paid["rep_id"] == first["rep_id"])
            & (paid["component"] == first["component"])
            & (paid["month_paid"] == first["month_paid"])
        ].sort_values("sub_paid")
        before: list[str] = []
        for ids in siblings.loc[siblings["sub_paid"] <= first["sub_paid"], "deal_ids"]:
            for deal in ids.split(";"):
                if deal == first["deal_id"]:
                    break
                if deal not in before:
                    before.append(deal)
        known = [credit_of.get((first["rep_id"], d)) for d in before]
        if any(k is None for k in known):  # earlier credit no longer known: all at the first line's rate
            slices[group.index.to_numpy()] = [int(first["credit_minor"])] + [0] * (len(group) - 1)
            continue
        boundary = int(siblings.loc[siblings["sub_paid"] <= first["sub_paid"], "base_minor"].sum())
        total = int(first["credit_minor"])
        parts = [min(max(boundary - sum(int(k) for k in known), 0), total)]
        parts += [int(b) for b in group["base_minor"].iloc[1:-1]]
        parts.append(max(total - sum(parts), 0))
        slices[group.index.to_numpy()] = parts
    return slices


# ---------------------------------------------------------------------------- draws


def _draws(ctx: _Month, plan: Plan, roster: pd.DataFrame, earned: pd.Series, balance: pd.Series) -> list[pd.DataFrame]:
    """Recoverable draw advances and recoveries, or guarantee top-ups, per rep."""
    rep_ids = roster.index.to_numpy()
    ccy = plan.currency
    earnings = earned.reindex(rep_ids).fillna(0).to_numpy(dtype=np.int64)
    owed = balance.reindex(rep_ids).fillna(0).to_numpy(dtype=np.int64)
    draw = plan.draw
    active = np.zeros(len(rep_ids), dtype=bool)
    amount = 0
    if draw is not None:
        in_dates = (draw.from_month or "0000-01") <= ctx.month <= (draw.until_month or "9999-12")
        active[:] = in_dates
        if draw.first_months:
            hired = pd.to_datetime(roster["hire_date"]).dt.strftime("%Y-%m").fillna("0000-01").to_numpy()
            y, m = parse_month(ctx.month)
            served = np.array([(y * 12 + m) - (int(h[:4]) * 12 + int(h[5:7])) for h in hired])
            active &= (served >= 0) & (served < draw.first_months)
        amount = draw.amount_minor
    blocks = []
    if draw is not None and draw.kind == "guarantee":
        top = np.where(active, np.maximum(amount - earnings, 0), 0)
        sel = np.flatnonzero(top > 0)
        texts = [sentence("guarantee", earnings=money(earnings[i], ccy), guarantee=money(amount, ccy)) for i in sel]
        blocks.append(
            _block(
                rep_ids[sel], "draw", "guarantee", top[sel], base=earnings[sel], explanation=texts, stage=_STAGE_DRAW
            )
        )
        floor = np.zeros(len(rep_ids), dtype=np.int64)
    else:
        recoverable = active if draw is not None else np.zeros(len(rep_ids), dtype=bool)
        advance = np.where(recoverable, np.maximum(amount - earnings, 0), 0)
        sel = np.flatnonzero(advance > 0)
        texts = [
            sentence(
                "draw",
                earnings=money(earnings[i], ccy),
                draw=money(amount, ccy),
                advance=money(advance[i], ccy),
                balance=money(owed[i] + advance[i], ccy),
            )
            for i in sel
        ]
        blocks.append(
            _block(rep_ids[sel], "draw", "draw", advance[sel], base=earnings[sel], explanation=texts, stage=_STAGE_DRAW)
        )
        floor = np.where(recoverable, amount, 0)
    recover = np.minimum(owed, np.maximum(earnings - floor, 0))
    sel = np.flatnonzero(recover > 0)
    texts = [
        sentence(
            "draw_recovery",
            recovered=money(recover[i], ccy),
            floor=money(floor[i], ccy),
            owed=money(owed[i], ccy),
            balance=money(owed[i] - recover[i], ccy),
        )
        for i in sel
    ]
    blocks.append(
        _block(
            rep_ids[sel],
            "draw",
            "draw_recovery",
            -recover[sel],
            base=earnings[sel],
            explanation=texts,
            stage=_STAGE_DRAW,
            sub=1,
        )
    )
    return blocks


def _balances(lines: pd.DataFrame | None, kinds: tuple[str, ...], keys: list[str]) -> pd.Series:
    """Outstanding balance per ``keys``: the sum of the ``kinds`` lines (amounts paid out minus recovered)."""
    if lines is None or lines.empty:
        index = pd.MultiIndex.from_tuples([], names=keys) if len(keys) > 1 else pd.Index([], name=keys[0])
        return pd.Series(dtype=np.int64, index=index)
    chosen = lines[lines["kind"].isin(kinds)]
    return chosen.groupby(keys)["amount_minor"].sum().astype(np.int64)


def draw_balances(lines: pd.DataFrame) -> pd.Series:
    """Outstanding recoverable-draw balance per rep: advances minus recoveries over ``lines``."""
    return _balances(lines, ("draw", "draw_recovery"), ["rep_id"])


def carried_balances(lines: pd.DataFrame | None) -> pd.Series:
    """Outstanding carried balance per (``rep_id``, ``for_month`` it was carried from): carried minus recovered."""
    owed = _balances(lines, BALANCE_KINDS, ["rep_id", "for_month"])
    return owed[owed != 0]


# ---------------------------------------------------------------------------- carried balances


def settle_balances(
    lines: pd.DataFrame, month: str, history: pd.DataFrame | None, roster: pd.DataFrame
) -> pd.DataFrame:
    """The ``carry_forward`` and ``recovery`` lines of ``month`` (the policy of docs/plans.md, "Negative months").

    ``lines``: the month's other lines (``rep_id``, ``plan_id``, ``currency``, ``amount_minor``), adjustments
    included; ``history``: earlier months' lines, whose balance lines give what is still owed per month carried
    from; ``roster``: the month's roster rows (``rep_id``, ``leave_date``). Per rep, when the lines sum below zero
    nothing is paid: a line of ``-total`` brings the month to zero and becomes a balance. When they sum above
    zero, outstanding balances are recovered from it, oldest month first, one line per month recovered (its
    ``for_month``), never more than the month pays. A rep who leaves by the end of ``month`` with a balance
    still owed gets a zero line saying so: the balance is reported for finance, never forgiven silently.
    Each line's ``base_minor`` is the amount it was measured on (the month's total, or what was left of it).
    """
    owed = carried_balances(history[history["month"] < month] if history is not None and len(history) else None)
    totals = lines.groupby("rep_id", sort=True)["amount_minor"].sum()
    owing = set(owed.index.get_level_values("rep_id")) if len(owed) else set()
    first = lines.drop_duplicates("rep_id").set_index("rep_id")
    end = pd.Timestamp(month_end(month))
    leave = (
        pd.to_datetime(roster.set_index("rep_id")["leave_date"]) if "leave_date" in roster else pd.Series(dtype=object)
    )
    rows = []
    for rep, total in totals[(totals < 0) | totals.index.isin(list(owing))].items():
        total = int(total)
        ccy = first.at[rep, "currency"]
        sources = owed.loc[rep].sort_index() if rep in owing else pd.Series(dtype=np.int64)
        outstanding = int(sources.sum())

        def line(kind: str, amount: int, base: int, text: Sentence, source: str = month) -> None:
            rows.append(
                {
                    # line() is called only inside this iteration, so the loop's rep and ccy are the right ones.
                    "rep_id": rep,  # noqa: B023
                    "plan_id": first.at[rep, "plan_id"],  # noqa: B023
                    "currency": ccy,  # noqa: B023
                    "kind": kind,
                    "amount_minor": amount,
                    "base_minor": base,
                    "explanation": explain.english(text),
                    "for_month": source,
                    "reason_code": text["code"],
                    "explain_args": explain.args_json(text),
                }
            )

        if total < 0:
            outstanding -= total
            line(
                "carry_forward",
                -total,
                total,
                sentence(
                    "carry_forward",
                    total=money(total, ccy),
                    carried=money(-total, ccy),
                    balance=money(outstanding, ccy),
                ),
            )
        left = max(total, 0)
        for source, balance in sources.items():
            take = min(int(balance), left)
            if take <= 0:
                break
            outstanding -= take
            line(
                "recovery",
                -take,
                left,
                sentence(
                    "recovery",
                    source=explain.month(source),
                    recovered=money(take, ccy),
                    payable=money(left, ccy),
                    left=money(int(balance) - take, ccy),
                ),
                source,
            )
            left -= take
        gone = leave.get(rep, pd.NaT)
        if outstanding > 0 and pd.notna(gone) and pd.Timestamp(gone) <= end:
            line(
                "recovery",
                0,
                outstanding,
                sentence(
                    "recovery.not_recovered",
                    leaves=explain.date(pd.Timestamp(gone)),
                    outstanding=money(outstanding, ccy),
                ),
            )
    out = pd.DataFrame(
        rows,
        columns=[
            "rep_id",
            "plan_id",
            "currency",
            "kind",
            "amount_minor",
            "base_minor",
            "explanation",
            "for_month",
            "reason_code",
            "explain_args",
        ],
    )
    return out.assign(component="balance", deal_ids="", band="", rate="").astype(
        {"amount_minor": np.int64, "base_minor": np.int64}
    )
