"""The business rules that must hold before anything downstream runs.

Each check is evaluated on the run's month only (``partitions_def=monthly``). Blocking checks stop the
month-end at the stage that broke the rule, so no pack or payment is produced from numbers that do not add up.
"""

import warnings

import pandas as pd
from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetIn,
    MetadataValue,
    PreviewWarning,
    asset_check,
)

from assets.common import unstamped
from assets.review_packs import failed_packs
from attain.delivery.send import packs_in_no_message
from attain.measures import credit
from attain.measures import targets as target_rules
from attain.packs.review import missing_packs
from attain.pay.finance_export import ExportError, reconcile
from attain.readiness import quarantine_over_limit
from attain.roster import roster_as_of
from pipelines.partitions import monthly
from pipelines.resources import AttainConfig

# Partitioned asset checks are "preview" in Dagster 1.13; they are what makes a check judge the run's month
# only (a check without partitions would load every month). Pinned versions keep the behaviour stable.
warnings.filterwarnings("ignore", message="Specifying a partitions_def on an AssetCheckSpec", category=PreviewWarning)


def _month(context: AssetCheckExecutionContext) -> str:
    return context.partition_key


@asset_check(asset="deals", partitions_def=monthly, blocking=True, additional_ins={"reps": AssetIn("reps")})
def won_deal_owners_in_roster(context: AssetCheckExecutionContext, deals: pd.DataFrame, reps: pd.DataFrame):
    """Every won deal's owner is a person on the roster in force that month."""
    month = _month(context)
    roster = roster_as_of(unstamped(reps), month)
    won = deals[deals["stage"] == "won"]
    orphans = won[~won["owner_id"].isin(roster["rep_id"])]
    return AssetCheckResult(
        passed=orphans.empty,
        metadata={
            "won_deals": len(won),
            "owners_not_in_roster": MetadataValue.json(sorted(orphans["owner_id"].unique().tolist())[:50]),
        },
    )


@asset_check(asset="deals", partitions_def=monthly, blocking=True, additional_ins={"quarantine": AssetIn("quarantine")})
def quarantine_within_limit(
    context: AssetCheckExecutionContext, attain: AttainConfig, deals: pd.DataFrame, quarantine: pd.DataFrame
):
    """The share of deal rows quarantined stays below ``quarantine_max_share``: more means a broken export."""
    figures, problem = quarantine_over_limit(len(deals), quarantine, attain.settings().quarantine_max_share)
    return AssetCheckResult(passed=problem is None, metadata=figures, description=problem)


@asset_check(
    asset="credited_deals",
    partitions_def=monthly,
    blocking=True,
    additional_ins={name: AssetIn(name) for name in ("deals", "credit_splits", "reps", "fx_rates")},
)
def credit_reconciles(
    context: AssetCheckExecutionContext,
    attain: AttainConfig,
    credited_deals: pd.DataFrame,
    deals: pd.DataFrame,
    credit_splits: pd.DataFrame,
    reps: pd.DataFrame,
    fx_rates: pd.DataFrame,
):
    """Total credited equals won amounts x shares (+ overlays), per currency and month, to the cent."""
    recon = credit.reconcile_credit(
        unstamped(deals),
        unstamped(credit_splits),
        unstamped(reps),
        unstamped(fx_rates),
        credited_deals.drop(columns=["month"]),
        _month(context),
        attain.settings(),
    )
    off = recon[recon["difference_minor"] != 0]
    return AssetCheckResult(
        passed=off.empty,
        metadata={"reconciliation": MetadataValue.json(recon.astype(str).to_dict("records"))},
    )


@asset_check(asset="targets_in_force", partitions_def=monthly, blocking=True, additional_ins={"reps": AssetIn("reps")})
def every_rep_has_a_target(context: AssetCheckExecutionContext, targets_in_force: pd.DataFrame, reps: pd.DataFrame):
    """Every active rep has a target for the month, or an explicit "no target" entry."""
    missing = target_rules.reps_without_targets(unstamped(reps), unstamped(targets_in_force), _month(context))
    return AssetCheckResult(
        passed=missing.empty,
        description=target_rules.describe_missing(missing, _month(context)),
        metadata={"reps_without_target": MetadataValue.json(missing["rep_id"].tolist()[:100])},
    )


@asset_check(
    asset="payouts",
    partitions_def=monthly,
    blocking=True,
    additional_ins={"incentive_ledger": AssetIn("incentive_ledger")},
)
def payouts_equal_ledger(context: AssetCheckExecutionContext, payouts: pd.DataFrame, incentive_ledger: pd.DataFrame):
    """Each rep's payable is exactly the sum of their ledger lines (the rule the finance export enforces)."""
    try:
        reconcile(payouts, incentive_ledger)
    except ExportError as error:
        return AssetCheckResult(passed=False, description=str(error), metadata={"payees": len(payouts)})
    return AssetCheckResult(passed=True, metadata={"payees": len(payouts)})


@asset_check(asset="review_packs", partitions_def=monthly, blocking=True, additional_ins={"reps": AssetIn("reps")})
def every_person_has_a_pack(context: AssetCheckExecutionContext, review_packs: pd.DataFrame, reps: pd.DataFrame):
    """Every rep employed in the month has a rep pack and every manager with a team a manager pack.

    A pack that failed alone (listed in ``failed_packs`` with its reason) is a warning, so the other packs are
    still delivered; a pack missing without a reason is an error that stops the run.
    """
    month = _month(context)
    missing = missing_packs(month, unstamped(reps), review_packs)
    failed = {f"{f['kind']} {f['person_id']}": f["reason"] for f in failed_packs(context.instance, month)}
    unexplained = [m for m in missing if m not in failed]
    return AssetCheckResult(
        passed=not missing,
        severity=AssetCheckSeverity.ERROR if unexplained else AssetCheckSeverity.WARN,
        description="; ".join(failed[m] for m in missing if m in failed) or None,
        metadata={"missing": MetadataValue.json(missing[:100]), "failed": MetadataValue.json(sorted(failed)[:100])},
    )


@asset_check(asset="deliveries", partitions_def=monthly, additional_ins={"review_packs": AssetIn("review_packs")})
def every_pack_reached_a_manager(
    context: AssetCheckExecutionContext, deliveries: pd.DataFrame, review_packs: pd.DataFrame
):
    """No delivery failed and every pack went out in some message (a warning: the others still got their mail).

    A rep whose manager has no manager pack (a manager who left, or a team lead on the roster as a rep) would
    otherwise have a pack that reaches nobody.
    """
    failed = deliveries[deliveries["outcome"] == "failed"]
    unsent = packs_in_no_message(deliveries, review_packs)
    description = None
    if unsent:
        description = f"{len(unsent)} pack(s) are in no message: give their reps a manager with role=manager"
    return AssetCheckResult(
        passed=failed.empty and not unsent,
        severity=AssetCheckSeverity.WARN,
        description=description,
        metadata={
            "failed": MetadataValue.json(failed["recipient"].tolist()),
            "packs_in_no_message": MetadataValue.json(unsent[:100]),
        },
    )


ALL_CHECKS = [
    won_deal_owners_in_roster,
    quarantine_within_limit,
    credit_reconciles,
    every_rep_has_a_target,
    payouts_equal_ledger,
    every_person_has_a_pack,
    every_pack_reached_a_manager,
]
