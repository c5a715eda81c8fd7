"""Commission components: tier bands, effective rates, marginal/retroactive/per-deal tier slices."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from attain.money import apply_ratios, format_minor
from attain.pay import explain
from attain.pay.explain import Sentence, att, money, pct, percent_text, sentence
from attain.pay.lines import (
    _INT64_MAX,
    _block,
    _ceil_fraction,
    _gates,
    _join_runs,
    _Month,
    _run_starts,
)
from attain.pay.plans import Band, Component, Plan

# ---------------------------------------------------------------------------- components


def _band_labels(comp: Component, currency: str) -> list[str]:
    labels = []
    for k, band in enumerate(comp.bands):
        upper = comp.bands[k + 1].lower if k + 1 < len(comp.bands) else None
        if comp.basis == "attainment":
            low, high = percent_text(band.lower), percent_text(upper) if upper is not None else None
        else:
            low = format_minor(int(band.lower), currency, grouped=True)
            high = format_minor(int(upper), currency, grouped=True) if upper is not None else None
        labels.append(f"{low}-{high}" if high else f"{low}+")
    return labels


def _effective_rates(bands: tuple[Band, ...]) -> list[Decimal]:
    """The rate each band pays when its accelerators are withheld: the last non-accelerator rate."""
    rates, last = [], bands[0].rate
    for band in bands:
        if not band.accelerator:
            last = band.rate
        rates.append(last if band.accelerator else band.rate)
    return rates


def _tier_slices(
    method: str,
    rep_pos: np.ndarray,
    credit: np.ndarray,
    deal_id: np.ndarray,
    lowers: np.ndarray,
    uppers: np.ndarray,
    total: np.ndarray,
) -> pd.DataFrame:
    """Cut each deal's credit into band slices and sum them into statement lines.

    Deals arrive in accumulation order, each rep's together (``rep_pos``: the rep's
    row in ``lowers``/``uppers``, the band bounds in minor units). Marginal: a deal
    covers ``[credit before it, credit after it)`` of its rep's period; per deal:
    ``[0, its credit)``; retroactive: all of it falls in the band its rep's
    ``total`` reached. Returns one row per line: ``rep``, ``band``, ``base``,
    ``deal_ids`` (in accumulation order) and ``first_row`` (its first deal).
    """
    row = np.arange(len(credit))
    group = rep_pos
    start, end = np.zeros_like(credit), credit
    if method == "per_deal":
        group = row
        lowers, uppers = lowers[:1], uppers[:1]  # amount bands: the same for every rep
    elif method == "marginal":
        end = np.cumsum(credit)
        first = np.r_[True, rep_pos[1:] != rep_pos[:-1]] if len(rep_pos) else np.zeros(0, dtype=bool)
        end = end - (np.maximum.accumulate(np.where(first, end - credit, 0)) if len(end) else end)
        start = end - credit
    reached = (total[:, None] >= lowers).sum(axis=1) - 1
    bounds_of = np.zeros_like(rep_pos) if method == "per_deal" else rep_pos
    pieces = []
    for k in range(lowers.shape[1]):
        if method == "retroactive":
            part = np.where(reached[rep_pos] == k, credit, 0)
        else:
            part = np.clip(np.minimum(end, uppers[bounds_of, k]) - np.maximum(start, lowers[bounds_of, k]), 0, None)
        sel = np.flatnonzero(part > 0)
        pieces.append((group[sel], np.full(len(sel), k), sel, part[sel]))
    grp, band_of, row_of, part = (np.concatenate(p) for p in zip(*pieces, strict=True))
    order = np.lexsort((row_of, band_of, grp))
    grp, band_of, row_of, part = grp[order], band_of[order], row_of[order], part[order]
    starts = _run_starts(grp, band_of)
    return pd.DataFrame(
        {
            "rep": rep_pos[row_of[starts]],
            "band": band_of[starts],
            "base": np.add.reduceat(part, starts) if len(starts) else part[:0],
            "deal_ids": _join_runs(deal_id[row_of], starts),
            "first_row": row_of[starts],
        }
    )


def _commission(ctx: _Month, plan: Plan, comp: Component, roster: pd.DataFrame, stage: int) -> list[pd.DataFrame]:
    months = ctx.period_months(comp)
    if months is None:
        return []
    ccy, n_reps, n_bands = plan.currency, len(roster), len(comp.bands)
    deals = ctx.deals(months, roster.index, comp.roles)
    rep_pos = pd.Index(roster.index).get_indexer(deals["rep_id"])
    credit = deals["credit_minor"].to_numpy(dtype=np.int64)
    deal_id = deals["deal_id"].to_numpy(dtype=object)
    total = np.zeros(n_reps, dtype=np.int64)
    np.add.at(total, rep_pos, credit)
    _, target = ctx.actual_target("rep", "revenue", ctx.attainment_key(comp), pd.Index(roster.index))
    period_name = (
        explain.month(months[-1])
        if len(months) == 1
        else sentence("period.qtd", quarter=ctx.settings.calendar.quarter_label(ctx.month))
    )

    # band lower bounds per rep (n_reps x n_bands) in minor units
    if comp.basis == "attainment":
        lowers = np.stack([_ceil_fraction(np.maximum(target, 0), b.lower) for b in comp.bands], axis=1)
    else:
        lowers = np.tile(np.array([int(b.lower) for b in comp.bands], dtype=np.int64), (n_reps, 1))
    uppers = np.concatenate([lowers[:, 1:], np.full((n_reps, 1), _INT64_MAX, dtype=np.int64)], axis=1)

    whole_ok, accel_ok, whole_why, accel_why = _gates(ctx, comp, roster)
    # a single band from 0 without a threshold is a flat rate: no level of the target matters, so none is needed
    flat = len(comp.bands) == 1 and comp.threshold is None
    no_target = (target <= 0) & (comp.basis == "attainment") & (not flat)
    below_threshold = np.zeros(n_reps, dtype=bool)
    if comp.threshold is not None and comp.basis == "attainment":
        thr = comp.threshold
        below_threshold = ~no_target & (total * thr.denominator < target * thr.numerator)
    elif comp.threshold is not None:
        below_threshold = total < int(comp.threshold)
    paying = whole_ok & ~no_target & ~below_threshold & (total > 0)

    keep = paying[rep_pos]
    rep_pos, credit, deal_id = rep_pos[keep], credit[keep], deal_id[keep]
    lines = _tier_slices(comp.method, rep_pos, credit, deal_id, lowers, uppers, total)
    rep_idx = lines["rep"].to_numpy(dtype=np.int64)
    band_idx = lines["band"].to_numpy(dtype=np.int64)
    base = lines["base"].to_numpy(dtype=np.int64)
    full_rates = np.array([b.rate for b in comp.bands], dtype=object)
    withheld = np.array(_effective_rates(comp.bands), dtype=object)
    rates = np.where(accel_ok[rep_idx], full_rates[band_idx], withheld[band_idx])
    amounts = apply_ratios(base, rates)
    labels = _band_labels(comp, ccy)
    rep_ids = roster.index.to_numpy()
    explanations = _slice_explanations(
        comp, ccy, lines, rates, credit, total, target, period_name, flat, accel_ok, accel_why
    )
    blocks = [
        _block(
            rep_ids[rep_idx],
            comp.id,
            "commission",
            amounts,
            deal_ids=lines["deal_ids"].to_numpy(),
            base=base,
            band=np.array(labels, dtype=object)[band_idx],
            rate=[str(r) for r in rates],
            explanation=explanations,
            stage=stage,
            sub=lines["first_row"].to_numpy() * n_bands + band_idx if comp.method == "per_deal" else band_idx,
        )
    ]

    # reps that earn nothing on this component get one zero line saying why
    reasons = _not_paid_reasons(
        comp, ccy, paying, whole_ok, whole_why, no_target, below_threshold, total, target, period_name
    )
    if reasons:
        idx = np.array([i for i, _ in reasons])
        blocks.append(
            _block(
                rep_ids[idx],
                comp.id,
                "commission",
                0,
                base=total[idx],
                explanation=[t for _, t in reasons],
                stage=stage,
            )
        )
    return blocks


def _slice_explanations(
    comp: Component,
    ccy: str,
    lines: pd.DataFrame,
    rates: np.ndarray,
    credit: np.ndarray,
    total: np.ndarray,
    target: np.ndarray,
    period_name: list | Sentence,
    flat: bool,
    accel_ok: np.ndarray,
    accel_why: list[Sentence | None],
) -> list[Sentence]:
    """The explanation of each commission line: rate x base, which credit it pays on, a withheld accelerator."""
    rep_idx = lines["rep"].to_numpy(dtype=np.int64)
    band_idx = lines["band"].to_numpy(dtype=np.int64)
    base = lines["base"].to_numpy(dtype=np.int64)
    n_bands = len(comp.bands)
    labels = _band_labels(comp, ccy)
    explanations = []
    for r, k, b, rate, ids, first_row in zip(
        rep_idx, band_idx, base, rates, lines["deal_ids"], lines["first_row"], strict=True
    ):
        band = comp.bands[k]
        withheld = (
            sentence("commission.withheld", rate=pct(band.rate), why=accel_why[r])
            if band.accelerator and not accel_ok[r]
            else ""
        )
        facts: dict = {"rate": pct(Decimal(rate)), "base": money(b, ccy), "withheld": withheld}
        if comp.method == "per_deal":
            code = "commission.per_deal"
            facts |= {"deal": ids, "credit": money(credit[first_row], ccy), "band": labels[k], "ccy": ccy}
        elif flat:
            code, facts["period"], facts["deals"] = "commission.flat", period_name, explain.deals(ids)
        elif comp.method == "retroactive":
            facts |= {"period": period_name, "band": labels[k], "deals": explain.deals(ids)}
            if comp.basis == "attainment":
                code, facts["att"] = "commission.retro_attainment", att(total[r], target[r])
            else:
                code, facts["total"] = "commission.retro_total", money(total[r], ccy)
        elif comp.basis == "attainment":
            facts |= {"low": pct(band.lower), "target": money(target[r], ccy), "period": period_name}
            facts["deals"] = explain.deals(ids)
            if k + 1 < n_bands:
                code, facts["high"] = "commission.between", pct(comp.bands[k + 1].lower)
            else:
                code = "commission.above"
        else:
            code = "commission.amount_band"
            facts |= {"period": period_name, "band": labels[k], "ccy": ccy, "deals": explain.deals(ids)}
        explanations.append(sentence(code, **facts))
    return explanations


def _not_paid_reasons(
    comp: Component,
    ccy: str,
    paying: np.ndarray,
    whole_ok: np.ndarray,
    whole_why: list[Sentence | None],
    no_target: np.ndarray,
    below_threshold: np.ndarray,
    total: np.ndarray,
    target: np.ndarray,
    period_name: list | Sentence,
) -> list[tuple[np.signedinteger[Any], Sentence]]:
    """Why each rep that earns nothing on the component is not paid: its one zero line's explanation."""
    reasons = []
    for i in np.flatnonzero(~paying):
        if not whole_ok[i]:
            reasons.append((i, sentence("commission.not_paid", why=whole_why[i])))
        elif no_target[i]:
            reasons.append((i, sentence("commission.no_target", period=period_name)))
        elif below_threshold[i] and comp.basis == "attainment":
            assert comp.threshold is not None  # below_threshold is all False without one
            reasons.append(
                (i, sentence("commission.below_threshold", att=att(total[i], target[i]), threshold=pct(comp.threshold)))
            )
        elif below_threshold[i]:
            assert comp.threshold is not None  # below_threshold is all False without one
            reasons.append(
                (
                    i,
                    sentence(
                        "commission.below_amount", total=money(total[i], ccy), threshold=money(int(comp.threshold), ccy)
                    ),
                )
            )
        else:
            reasons.append((i, sentence("commission.no_credit", period=period_name)))
    return reasons
