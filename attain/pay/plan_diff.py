"""``attain plans diff OLD NEW``: what changed between two sets of plan files, in words.

A plan committee approves a change it can read: "plan 'ae_usd': component 'commission' tier 2 rate 6% -> 7%
from 2027-01", not two YAML files side by side. Plans are compared by ``plan_id``; a plan's versions by the months
they take effect. At each month where either side has a version starting, the version in force on the old side is
compared with the one in force on the new side, so a new version effective from 2027-01 is described by what it
changes from 2027-01, and a change already stated for an earlier month is not repeated for later ones.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from fractions import Fraction
from pathlib import Path
from typing import Any

from attain.money import money_text
from attain.pay.explain import percent_text
from attain.pay.plans import Band, Component, Condition, Plan, PlanBook, PlanError, load_plan_files, load_plans


def load_book(path: Path | str) -> PlanBook:
    """The plans of a folder (``plans/``) or of one plan file."""
    path = Path(path)
    if path.is_dir():
        return load_plans(path)
    if not path.is_file():
        raise PlanError(f"{path}: (file): no such plan file or folder; give a plan file or the plans folder")
    return load_plan_files([path])


def diff_paths(old: Path | str, new: Path | str) -> list[str]:
    """``diff_books`` of two plan folders or files; when ``new`` is one file, only the plans it defines are
    compared (a plan missing from a single file is not "removed")."""
    before, after = load_book(old), load_book(new)
    if Path(new).is_file():
        before = PlanBook({k: v for k, v in before.versions.items() if k in after.versions})
    return diff_books(before, after)


def diff_books(old: PlanBook, new: PlanBook) -> list[str]:
    """Every change from ``old`` to ``new`` as one sentence each (empty when the plans pay alike)."""
    out = []
    for plan_id in sorted(set(old.versions) | set(new.versions)):
        if plan_id not in new.versions:
            out.append(f"plan {plan_id!r} removed")
        elif plan_id not in old.versions:
            first = new.versions[plan_id][0]
            since = f" from {first.effective_from}" if first.effective_from else ""
            out.append(f"plan {plan_id!r} added ({first.currency}, {len(first.components)} components){since}")
        else:
            out += [
                f"plan {plan_id!r}: {change}" for change in _diff_versions(old.versions[plan_id], new.versions[plan_id])
            ]
    return out


def _in_force(versions: list[Plan], month: str | None) -> Plan | None:
    key = month or "0000-01"
    found = [v for v in versions if (v.effective_from or "0000-01") <= key]
    return found[-1] if found else None


def _diff_versions(old: list[Plan], new: list[Plan]) -> list[str]:
    starts = sorted({v.effective_from for v in old + new}, key=lambda m: m or "0000-01")
    out: list[str] = []
    previous: set[str] = set()
    for month in starts:
        before, after = _in_force(old, month), _in_force(new, month)
        since = f" from {month}" if month else ""
        if before is None or after is None:
            if before is not None or after is not None:
                out.append(f"version{since} {'added' if after is not None else 'removed'}")
            previous = set()
            continue
        changes = _diff_plan(before, after)
        out += [f"{change}{since}" for change in changes if change not in previous]
        previous = set(changes)
    return out


# ---------------------------------------------------------------------------- what a value reads as


def _level(value: Fraction | None, comp: Component, currency: str) -> str:
    """A band start or threshold: a level of the target, or an amount on ``basis: amount``."""
    if value is None:
        return "none"
    return money_text(int(value), currency) if comp.basis == "amount" else percent_text(value)


def _money(value: int | None, currency: str) -> str:
    return "none" if value is None else money_text(value, currency)


def _plain(value: Any) -> str:
    if value is None or value == () or value == "":
        return "none"
    if isinstance(value, tuple):
        return ", ".join(map(str, value))
    return str(value)


def _condition(cond: Condition) -> str:
    limit = cond.at_least if cond.at_least is not None else cond.below
    op = ">=" if cond.at_least is not None else "<"
    shown = percent_text(limit) if cond.measure == "attainment" and limit is not None else _plain(limit)
    where = f" {cond.period} {cond.metric} ({cond.scope})" if cond.measure in ("attainment", "actual") else ""
    return f"{cond.measure}{where} {op} {shown}"


def _changed(label: str, before: str, after: str) -> list[str]:
    return [f"{label} {before} -> {after}"] if before != after else []


def _field_changes(items: Iterable[tuple[str, Any, Any, Callable[[Any], str]]]) -> list[str]:
    out: list[str] = []
    for label, before, after, shown in items:
        out += _changed(label, shown(before), shown(after))
    return out


# ---------------------------------------------------------------------------- plans and components


def _diff_plan(old: Plan, new: Plan) -> list[str]:
    ccy_old, ccy_new = old.currency, new.currency
    out = _field_changes(
        [
            ("name", old.name, new.name, _plain),
            ("currency", ccy_old, ccy_new, _plain),
            ("cap", old.cap_minor, new.cap_minor, lambda v: _money(v, ccy_new)),
            ("target incentive", old.target_incentive_minor, new.target_incentive_minor, lambda v: _money(v, ccy_new)),
            ("draw", old.draw, new.draw, lambda d: _draw(d, ccy_new)),
            ("clawback", old.clawback, new.clawback, _clawback),
            ("version", old.version, new.version, _plain),
            ("approved by", old.approved_by, new.approved_by, _plain),
            ("approved at", old.approved_at, new.approved_at, _plain),
        ]
    )
    old_ids, new_ids = [c.id for c in old.components], [c.id for c in new.components]
    for comp in new.components:
        if comp.id not in old_ids:
            out.append(f"component {comp.id!r} ({comp.kind}) added")
    for comp in old.components:
        if comp.id not in new_ids:
            out.append(f"component {comp.id!r} ({comp.kind}) removed")
    kept_old = [i for i in old_ids if i in new_ids]
    kept_new = [i for i in new_ids if i in old_ids]
    if kept_old != kept_new:
        out.append(f"components reordered: {', '.join(kept_old)} -> {', '.join(kept_new)}")
    by_id = {c.id: c for c in old.components}
    for comp in new.components:
        if comp.id in by_id:
            out += [f"component {comp.id!r} {change}" for change in _diff_component(by_id[comp.id], comp, ccy_new)]
    return out


def _draw(draw, currency: str) -> str:
    if draw is None:
        return "none"
    parts = [f"{draw.kind} {money_text(draw.amount_minor, currency)}"]
    if draw.from_month or draw.until_month:
        parts.append(f"{draw.from_month or '...'} to {draw.until_month or '...'}")
    if draw.first_months:
        parts.append(f"first {draw.first_months} months")
    return " ".join(parts)


def _clawback(claw) -> str:
    if claw is None:
        return "none"
    window = f"{claw.window_days} days" if claw.window_days is not None else f"{claw.window_months} months"
    return window + (f" on {', '.join(claw.components)}" if claw.components else "")


def _band(band: Band, comp: Component, currency: str) -> str:
    accel = " (accelerator)" if band.accelerator else ""
    return f"from {_level(band.lower, comp, currency)} at {percent_text(band.rate)}{accel}"


def _diff_component(old: Component, new: Component, currency: str) -> list[str]:
    if old.kind != new.kind:
        return [f"kind {old.kind} -> {new.kind}"]
    out = _field_changes(
        [
            ("period", old.period, new.period, _plain),
            ("metric", old.metric, new.metric, _plain),
            ("roles", old.roles, new.roles, _plain),
            ("method", old.method, new.method, _plain),
            ("basis", old.basis, new.basis, _plain),
            ("threshold", old.threshold, new.threshold, lambda v: _level(v, new, currency)),
            ("cap", old.cap_minor, new.cap_minor, lambda v: _money(v, currency)),
            ("pay", old.pay, new.pay, _plain),
            ("team", old.team, new.team, _plain),
            ("products", old.products, new.products, _plain),
            ("deal ids", old.deal_ids, new.deal_ids, _plain),
            ("valid from", old.valid_from, new.valid_from, _plain),
            ("valid until", old.valid_until, new.valid_until, _plain),
            ("minimum credit", old.min_credit_minor, new.min_credit_minor, lambda v: _money(v, currency)),
            ("amount per deal", old.per_deal_minor, new.per_deal_minor, lambda v: _money(v, currency)),
            ("rate", old.rate, new.rate, lambda v: "none" if v is None else percent_text(v)),
            ("condition", old.when, new.when, lambda v: "none" if v is None else _condition(v)),
            ("multiplier", old.multiplier, new.multiplier, _plain),
            ("amount", old.amount_minor, new.amount_minor, lambda v: _money(v, currency)),
            ("applies to", old.applies_to, new.applies_to, _plain),
        ]
    )
    for i in range(max(len(old.bands), len(new.bands))):
        label = f"tier {i + 1}"
        if i >= len(old.bands):
            out.append(f"{label} added ({_band(new.bands[i], new, currency)})")
        elif i >= len(new.bands):
            out.append(f"{label} removed ({_band(old.bands[i], old, currency)})")
        else:
            a, b = old.bands[i], new.bands[i]
            out += _field_changes(
                [
                    (f"{label} from", a.lower, b.lower, lambda v: _level(v, new, currency)),
                    (f"{label} rate", a.rate, b.rate, percent_text),
                    (f"{label} accelerator", a.accelerator, b.accelerator, lambda v: "yes" if v else "no"),
                ]
            )
    for i in range(max(len(old.milestones), len(new.milestones))):
        label = f"milestone {i + 1}"
        if i >= len(old.milestones) or i >= len(new.milestones):
            gone = i >= len(new.milestones)
            one = (old if gone else new).milestones[i]
            shown = f"at {percent_text(one.at)}: {money_text(one.amount_minor, currency)}"
            out.append(f"{label} {'removed' if gone else 'added'} ({shown})")
        else:
            was, now = old.milestones[i], new.milestones[i]
            out += _field_changes(
                [
                    (f"{label} at", was.at, now.at, percent_text),
                    (f"{label} amount", was.amount_minor, now.amount_minor, lambda v: money_text(v, currency)),
                ]
            )
    gates_old = [f"{_condition(g.condition)} for {g.applies_to}" for g in old.gates]
    gates_new = [f"{_condition(g.condition)} for {g.applies_to}" for g in new.gates]
    out += [f"gate {g} added" for g in gates_new if g not in gates_old]
    out += [f"gate {g} removed" for g in gates_old if g not in gates_new]
    return out
