"""Milestone and team bonuses, SPIFFs, penalties and component/plan caps."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd

from attain.money import apply_ratio
from attain.pay import explain
from attain.pay.explain import att, money, pct, percent_text, sentence
from attain.pay.lines import (
    _ATTAINMENT_SCOPE,
    _block,
    _condition,
    _gates,
    _join_runs,
    _Month,
    _run_starts,
)
from attain.pay.plans import Component, Plan


def _milestone_bonus(ctx: _Month, plan: Plan, comp: Component, roster: pd.DataFrame, stage: int) -> list[pd.DataFrame]:
    months = ctx.period_months(comp)
    if months is None:
        return []
    scope = _ATTAINMENT_SCOPE[comp.team] if comp.kind == "team_bonus" else "rep"
    ids = pd.Index(roster["team"] if scope == "team" else roster.index)
    actual, target = ctx.actual_target(scope, comp.metric, ctx.attainment_key(comp), ids)
    whole_ok, _, whole_why, _ = _gates(ctx, comp, roster)
    rep_ids = roster.index.to_numpy()
    period_name = sentence("term.month" if comp.period == "month" else "term.QTD")
    metric = sentence(f"term.{comp.metric}")
    has = target > 0
    reached = np.stack([actual * m.at.denominator >= target * m.at.numerator for m in comp.milestones], axis=1)
    reached &= has[:, None]
    if comp.pay == "highest":
        top = reached & ~np.c_[reached[:, 1:], np.zeros((len(roster), 1), dtype=bool)]
        reached = top
    blocks, zero_idx, zero_text = [], [], []
    teams = roster["team"].astype(str).to_numpy() if "team" in roster else np.full(len(roster), "")
    whose = [sentence(f"whose.{scope}", **({"team": team} if scope == "team" else {})) for team in teams]
    for j, milestone in enumerate(comp.milestones):
        sel = np.flatnonzero(reached[:, j] & whole_ok)
        texts = [
            sentence(
                "bonus.reached",
                whose=whose[i],
                period=period_name,
                metric=metric,
                att=att(actual[i], target[i]),
                milestone=pct(milestone.at),
            )
            for i in sel
        ]
        blocks.append(
            _block(
                rep_ids[sel],
                comp.id,
                comp.kind,
                milestone.amount_minor,
                base=actual[sel],
                band=f"{percent_text(milestone.at)}+",
                explanation=texts,
                stage=stage,
                sub=j,
            )
        )
    for i in np.flatnonzero(~reached.any(axis=1) | ~whole_ok):
        zero_idx.append(i)
        if not whole_ok[i]:
            zero_text.append(sentence("commission.not_paid", why=whole_why[i]))
        elif not has[i]:
            zero_text.append(sentence("bonus.no_target", metric=metric, whose=whose[i], period=period_name))
        else:
            zero_text.append(
                sentence(
                    "bonus.below",
                    whose=explain.cap(whose[i]),
                    period=period_name,
                    metric=metric,
                    att=att(actual[i], target[i]),
                    milestone=pct(comp.milestones[0].at),
                )
            )
    if zero_idx:
        idx = np.array(zero_idx)
        blocks.append(_block(rep_ids[idx], comp.id, comp.kind, 0, base=actual[idx], explanation=zero_text, stage=stage))
    return blocks


def _spiff(ctx: _Month, plan: Plan, comp: Component, roster: pd.DataFrame, stage: int) -> list[pd.DataFrame]:
    months = ctx.period_months(comp)
    if months is None:
        return []
    deals = ctx.deals(months, roster.index, comp.roles)
    mask = deals["credit_minor"] >= comp.min_credit_minor
    if comp.products:
        mask &= deals["product"].isin(comp.products)
    if comp.deal_ids:
        mask &= deals["deal_id"].isin(comp.deal_ids)
    if comp.valid_from is not None:
        mask &= deals["close_date"] >= pd.Timestamp(comp.valid_from)
    if comp.valid_until is not None:
        mask &= deals["close_date"] <= pd.Timestamp(comp.valid_until)
    whole_ok, _, _, _ = _gates(ctx, comp, roster)
    ok_reps = roster.index[whole_ok]
    qualifying = deals[mask & deals["rep_id"].isin(ok_reps)]
    if qualifying.empty:
        return []
    reps_sorted = qualifying["rep_id"].to_numpy()
    starts = _run_starts(qualifying["rep_code"].to_numpy())  # deals() keeps each rep's rows together
    per_rep = pd.DataFrame(
        {
            "n": np.diff(np.r_[starts, len(reps_sorted)]),
            "base": np.add.reduceat(qualifying["credit_minor"].to_numpy(dtype=np.int64), starts),
            "deal_ids": _join_runs(qualifying["deal_id"].to_numpy(dtype=object), starts),
        },
        index=reps_sorted[starts],
    )
    ccy = plan.currency
    dates = {
        "start": explain.date(comp.valid_from) if comp.valid_from else "...",
        "end": explain.date(comp.valid_until) if comp.valid_until else "...",
    }
    products = ", ".join(comp.products)
    dated = bool(comp.valid_from or comp.valid_until)
    rule: dict | str = ""
    if comp.products and dated:
        rule = sentence("spiff.products_dates", products=products, **dates)
    elif comp.products:
        rule = sentence("spiff.products", products=products)
    elif dated:
        rule = sentence("spiff.dates", **dates)
    base = per_rep["base"].to_numpy(dtype=np.int64)
    if comp.per_deal_minor is not None:
        amounts = per_rep["n"].to_numpy(dtype=np.int64) * comp.per_deal_minor
        texts = [
            sentence(
                "spiff.per_deal.many" if n > 1 else "spiff.per_deal.one",
                n=int(n),
                rule=rule,
                amount=money(comp.per_deal_minor, ccy),
                deals=explain.deals(ids),
            )
            for n, ids in zip(per_rep["n"], per_rep["deal_ids"], strict=True)
        ]
        rate = ""
    else:
        assert comp.rate is not None  # the plan loader requires per_deal_minor or rate on a SPIFF
        amounts = apply_ratio(base, comp.rate)
        texts = [
            sentence("spiff.rate", rate=pct(comp.rate), base=money(b, ccy), rule=rule, deals=explain.deals(ids))
            for b, ids in zip(base, per_rep["deal_ids"], strict=True)
        ]
        rate = str(comp.rate)
    return [
        _block(
            per_rep.index.to_numpy(),
            comp.id,
            "spiff",
            amounts,
            deal_ids=per_rep["deal_ids"].to_numpy(),
            base=base,
            rate=rate,
            explanation=texts,
            stage=stage,
        )
    ]


def _penalty(
    ctx: _Month, plan: Plan, comp: Component, roster: pd.DataFrame, stage: int, earlier: pd.DataFrame
) -> list[pd.DataFrame]:
    assert comp.when is not None  # the plan loader requires a condition on every penalty
    holds, texts = _condition(ctx, comp.when, roster)
    whole_ok, _, _, _ = _gates(ctx, comp, roster)
    hit = holds & whole_ok
    if not hit.any():
        return []
    ccy, rep_ids = plan.currency, roster.index.to_numpy()
    sel = np.flatnonzero(hit)
    if comp.multiplier is not None:
        position = [c.id for c in plan.components].index(comp.id)
        before = [c.id for c in plan.components[:position] if c.kind != "penalty"]
        applies = list(comp.applies_to) or before
        pay = earlier[earlier["component"].isin(applies)].groupby("rep_id")["amount_minor"].sum()
        variable = np.maximum(pay.reindex(rep_ids[sel]).fillna(0).to_numpy(dtype=np.int64), 0)
        cut = Decimal(1) - comp.multiplier
        amounts = -apply_ratio(variable, cut)
        explanation = [
            sentence(
                "penalty.multiplier",
                why=texts[i],
                base=money(v, ccy),
                components=", ".join(applies),
                multiplier=f"{comp.multiplier.normalize():f}",
                cut=pct(cut),
            )
            for i, v in zip(sel, variable, strict=True)
        ]
        return [
            _block(
                rep_ids[sel],
                comp.id,
                "penalty",
                amounts,
                base=variable,
                rate=str(cut),
                explanation=explanation,
                stage=stage,
            )
        ]
    assert comp.amount_minor is not None  # a penalty without a multiplier has an amount (the plan loader requires one)
    explanation = [sentence("penalty.fixed", why=texts[i], amount=money(comp.amount_minor, ccy)) for i in sel]
    return [_block(rep_ids[sel], comp.id, "penalty", -comp.amount_minor, explanation=explanation, stage=stage)]


def _cap_lines(
    lines: pd.DataFrame, cap_minor: int, component: str, what: explain.Sentence, currency: str, stage: int
) -> list[pd.DataFrame]:
    """A negative ``cap`` line for each rep whose ``lines`` sum above ``cap_minor``."""
    if lines.empty:
        return []
    totals = lines.groupby("rep_id", sort=True)["amount_minor"].sum()
    over = totals[totals > cap_minor]
    if over.empty:
        return []
    cut = cap_minor - over.to_numpy(dtype=np.int64)
    texts = [
        sentence("cap", what=what, cap=money(cap_minor, currency), earned=money(t, currency), cut=money(-c, currency))
        for t, c in zip(over.to_numpy(), cut, strict=True)
    ]
    return [
        _block(
            over.index.to_numpy(),
            component,
            "cap",
            cut,
            base=over.to_numpy(dtype=np.int64),
            explanation=texts,
            stage=stage,
            sub=1_000_000,
        )
    ]
