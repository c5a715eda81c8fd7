"""What would stop a month-end run, found from the validated inputs before any run (``attain validate``).

The run stops on its blocking checks and on the plan files; each rule here is the one the run applies (the
asset checks call the same functions), so ``attain validate`` fails exactly where ``attain run`` would:

- more deal rows quarantined than ``quarantine_max_share`` (:func:`quarantine_over_limit`);
- an active person without a target for the month nor an explicit "no target" row
  (:func:`attain.measures.targets.reps_without_targets`);
- a plan file that does not parse or validate, a plan id on the roster that no plan file defines, or a plan
  not yet in force (:func:`attain.pay.plans.load_plans`, :meth:`attain.pay.plans.PlanBook.for_rep`);
- a ``coaching.yaml`` in the data folder that does not parse or validate (:func:`coaching_problems`).

Plan references that match nothing in the data (a SPIFF naming a product no deal has) do not stop the run,
but silently pay nothing: they are warnings, with the closest spelling the deals use. So is a plan version in force
that says nobody approved it (no ``approved_by``/``approved_at``): the run pays it and warns the same way.
"""

from __future__ import annotations

import difflib
import re
from decimal import ROUND_CEILING, Decimal
from pathlib import Path

import pandas as pd

from attain.measures import targets as target_rules
from attain.packs.coaching import CoachingError, load_catalogue
from attain.pay.plans import PlanBook, PlanError, load_plans, plan_versions, unapproved
from attain.periods import month_end, month_start
from attain.roster import active_in_month, roster_as_of
from attain.settings import Settings, how_to_set


def quarantine_over_limit(
    accepted_deals: int, quarantine: pd.DataFrame, limit: Decimal
) -> tuple[dict[str, float], str | None]:
    """The share of deal rows quarantined against ``quarantine_max_share``: (figures, the problem or None).

    ``accepted_deals`` is the number of deal rows accepted; a rejected row counts once however many problems it
    has. More than the limit means a broken export rather than a few bad rows, so the run stops.
    """
    rejected = len(quarantine[quarantine["table"] == "deals"][["source_file", "source_row"]].drop_duplicates())
    total = accepted_deals + rejected
    share = Decimal(rejected) / total if total else Decimal(0)
    limit = Decimal(str(limit))
    figures = {
        "deal_rows_quarantined": rejected,
        "deal_rows": total,
        "share": float(round(share, 4)),
        "limit": float(limit),
    }
    if share <= limit:
        return figures, None
    needed = (share * 100).to_integral_value(ROUND_CEILING) / 100
    return figures, (
        f"{rejected} of {total} deal rows ({share:.1%}) were rejected, above the {limit:.0%} limit: "
        "look at the quarantine table, fix the export, or raise the limit: "
        + how_to_set("quarantine_max_share", needed)
    )


def missing_targets(reps: pd.DataFrame, targets: pd.DataFrame, month: str, settings: Settings) -> str | None:
    """The problem when an active person has no target for ``month`` (None when everyone has one).

    The targets are resolved as the run resolves them (``targets_in_force`` over the months the run reads).
    """
    try:
        resolved = target_rules.targets_in_force(targets, reps, target_rules.months_needed(month), settings)
    except ValueError as error:
        return str(error)
    return target_rules.describe_missing(target_rules.reps_without_targets(reps, resolved.in_force, month), month)


def payees(reps: pd.DataFrame, deals: pd.DataFrame, credit_splits: pd.DataFrame, month: str) -> pd.DataFrame:
    """Roster rows with a plan whose ledger the run computes: employed in ``month``, or credited a won deal
    cancelled in it (its clawback)."""
    roster = roster_as_of(reps, month)
    roster = roster[roster["plan_id"].fillna("").astype(str) != ""]
    cancelled = deals[
        (deals["cancelled_date"] >= pd.Timestamp(month_start(month)))
        & (deals["cancelled_date"] <= pd.Timestamp(month_end(month)))
    ]
    credited = set(cancelled["owner_id"]) | set(
        credit_splits.loc[credit_splits["deal_id"].isin(cancelled["deal_id"]), "rep_id"]
    )
    return roster[active_in_month(roster, month) | roster["rep_id"].isin(credited)]


def plan_problems(plans_dir: Path, people: pd.DataFrame, month: str) -> tuple[PlanBook | None, list[str]]:
    """Load the plans as the run does; every plan id of ``people`` must have a version in force in ``month``."""
    try:
        book = load_plans(plans_dir)
    except PlanError as error:
        return None, [_in_folder(plans_dir, str(error))]
    problems = []
    for plan_id, group in people.groupby("plan_id", sort=True):
        try:
            book.for_rep(str(plan_id), month)
        except PlanError as error:
            problems.append(f"{_in_folder(plans_dir, str(error))} (the plan of {', '.join(sorted(group['rep_id']))})")
    return book, problems


def _in_folder(plans_dir: Path, message: str) -> str:
    """A plan message naming its file within the plans folder: ``plans/ae.yaml: ...``."""
    name = message.split(": ", 1)[0]
    return f"{plans_dir.name}/{message}" if (plans_dir / name).is_file() else message


def coaching_problems(data_dir: Path) -> list[str]:
    """The data folder's ``coaching.yaml`` loaded as the review packs load it: its problem (naming the file, the
    entry and the field), or nothing when it is valid or absent (issue 13 item 3)."""
    try:
        load_catalogue(data_dir)
    except CoachingError as error:
        return [str(error)]
    return []


def plan_reference_warnings(
    book: PlanBook, plans_dir: Path, people: pd.DataFrame, deals: pd.DataFrame, month: str
) -> list[str]:
    """SPIFF products and deal ids, in the plans in force for ``people`` in ``month``, that no deal has.

    Only SPIFFs whose validity overlaps the month are judged (a SPIFF of next year may name a product not
    sold yet). Each warning names the closest spelling the deals use and how many deals use it.
    """
    counts = deals["product"].value_counts()
    folded: dict[str, str] = {}
    for product in counts.index:
        folded.setdefault(_fold(product), product)
    deal_ids = set(deals["deal_id"])
    first, last = pd.Timestamp(month_start(month)).date(), pd.Timestamp(month_end(month)).date()
    warnings = []
    seen = set()
    for plan_id in sorted(set(people["plan_id"])):
        try:
            plan = book.for_rep(str(plan_id), month)
        except PlanError:
            continue  # a problem already
        for comp in plan.components:
            if comp.kind != "spiff" or (comp.valid_from and comp.valid_from > last):
                continue
            if comp.valid_until and comp.valid_until < first:
                continue
            where = f"{plans_dir.name}/{plan.source}: spiff {comp.id!r}"
            for product in comp.products:
                if product in counts.index or (where, product) in seen:
                    continue
                seen.add((where, product))
                closest = _closest(product, counts, folded)
                warnings.append(f"{where} names product {product!r}, which no deal has; {closest}")
            for deal_id in comp.deal_ids:
                if deal_id not in deal_ids and (where, deal_id) not in seen:
                    seen.add((where, deal_id))
                    warnings.append(f"{where} names deal {deal_id!r}, which is not in deals; correct the deal id")
    return warnings


def _fold(text: str) -> str:
    """A product name compared without case, spaces or punctuation ('GTXPro' = 'GTX Pro')."""
    return re.sub(r"[\W_]+", "", text).casefold()


def _closest(product: str, counts: pd.Series, folded: dict[str, str]) -> str:
    """'did you mean ...? ... appears in N deals; ...' or what the deals' products are."""
    match = folded.get(_fold(product))
    if match is None:
        close = difflib.get_close_matches(_fold(product), list(folded), n=1, cutoff=0.6)
        match = folded[close[0]] if close else None
    if match is None:
        named = ", ".join(repr(p) for p in counts.index[:5]) + (", ..." if len(counts) > 5 else "")
        return (
            f"no deal product is close (the deals name {len(counts):,} products: {named or 'none'}); "
            "correct the product in the plan"
        )
    deals = int(counts[match])
    return (
        f"did you mean {match!r}? {match!r} appears in {deals:,} deal{'s' if deals != 1 else ''}; correct the plan, "
        "or read the deals' spelling as the plan's: " + how_to_set("product_aliases", {match: product})
    )


def month_readiness(inputs, month: str, settings: Settings, plans_dir: Path) -> tuple[list[str], list[str]]:
    """(problems that would stop the run of ``month``, warnings) from its validated inputs and quarantine
    (an :class:`attain.ingest.load.IngestResult`)."""
    problems = []
    _, share = quarantine_over_limit(len(inputs.deals), inputs.quarantine, settings.quarantine_max_share)
    if share:
        problems.append(f"deals: {share}")
    targets = missing_targets(inputs.reps, inputs.targets, month, settings)
    if targets:
        problems.append(targets)
    people = payees(inputs.reps, inputs.deals, inputs.credit_splits, month)
    book, plans = plan_problems(plans_dir, people, month)
    problems += plans
    warnings = plan_reference_warnings(book, plans_dir, people, inputs.deals, month) if book else []
    if book:
        warnings += unapproved_warnings(book, people, month)
    return problems, warnings


def unapproved_warnings(book: PlanBook, people: pd.DataFrame, month: str) -> list[str]:
    """A warning per plan version in force for ``people`` in ``month`` that says nobody approved it."""
    in_force = []
    for plan_id in sorted(set(people["plan_id"].astype(str))):
        try:
            book.for_rep(plan_id, month)
        except PlanError:
            continue  # a problem already
        in_force.append(plan_id)
    return unapproved(plan_versions(book, in_force, month))
