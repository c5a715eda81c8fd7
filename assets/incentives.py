"""Rewarding: the incentive ledger (one row per statement line) and the payouts finance pays.

A closed month is never recomputed: its frozen ledger is returned as it was. Differences that later data
makes to closed months are paid or recovered as adjustment lines in the first open month after them.
"""

import pandas as pd
from dagster import AssetExecutionContext, MetadataValue, Output, asset

from assets.common import money_totals, run_month, stamped, table_metadata, unstamped
from attain import ledger as ledger_rules
from attain import month_end, period_close
from attain import payouts as payout_rules
from attain.periods import add_months, trailing
from attain.plans import load_plans
from attain.validation import Inputs
from pipelines.partitions import MONTH_PARTITION, monthly
from pipelines.resources import AttainConfig, Warehouse

#: Earlier months whose ledger lines the month needs (draw balances, clawbacks at the rate paid).
HISTORY_MONTHS = 24
#: Months before the run month whose missing ledger is reported (clawback windows and draws reach back).
HISTORY_CHECK = 3


def ledger_history(warehouse: Warehouse, month: str) -> pd.DataFrame:
    """Ledger lines of the ``HISTORY_MONTHS`` months before ``month``: the ledger and payouts read the same."""
    return warehouse.read("incentive_ledger", "month >= ? AND month < ?", [add_months(month, -HISTORY_MONTHS), month])


def months_without_ledger(month: str, history: pd.DataFrame, credited_deals: pd.DataFrame) -> list[str]:
    """Of the ``HISTORY_CHECK`` months before ``month`` that had credited deals, those with no stored ledger."""
    credited = set(credited_deals["credit_month"])
    have = set(history["month"]) if not history.empty else set()
    return [m for m in trailing(add_months(month, -1), HISTORY_CHECK) if m in credited and m not in have]


@asset(metadata=MONTH_PARTITION, partitions_def=monthly, group_name="reward")
def incentive_ledger(
    context: AssetExecutionContext,
    attain: AttainConfig,
    warehouse: Warehouse,
    deals: pd.DataFrame,
    credit_splits: pd.DataFrame,
    reps: pd.DataFrame,
    targets: pd.DataFrame,
    fx_rates: pd.DataFrame,
    surveys: pd.DataFrame,
    credited_deals: pd.DataFrame,
    clawback_events: pd.DataFrame,
    attainment: pd.DataFrame,
    satisfaction: pd.DataFrame,
) -> Output[pd.DataFrame]:
    """Every statement line of every rep for the month, each rounded half-up once."""
    month, settings = run_month(context), attain.settings()
    missing: list[str] = []
    with warehouse.connect() as con:
        period_close.ensure_tables(con)
        if period_close.is_closed(con, month):
            context.log.info(f"{month} is closed: its frozen ledger is kept unchanged")
            ledger, state = period_close.frozen_ledger(con, month), "closed"
        else:
            history = ledger_history(warehouse, month)
            missing = months_without_ledger(month, history, credited_deals)
            if missing:
                context.log.warning(
                    f"no ledger for {', '.join(missing)}: draw balances and clawbacks of {month} assume nothing "
                    f"was paid then; run them first (attain run --month {missing[0]} --to {missing[-1]} "
                    "--until payouts)"
                )
            closed = month_end.closed_run(month, lambda m: period_close.is_closed(con, m))
            frozen = {m: period_close.frozen_ledger(con, m) for m in closed}
            if frozen:
                kept = history[~history["month"].isin(frozen)] if not history.empty else history
                history = pd.concat([kept, *frozen.values()], ignore_index=True)
            plans = load_plans(attain.plans_path)
            inputs = Inputs(*(unstamped(f) for f in (deals, credit_splits, reps, targets, fx_rates, surveys)))
            ledger = ledger_rules.compute_ledger(
                month,
                plans,
                inputs.reps,
                credited_deals.drop(columns=["month"]),
                attainment.drop(columns=["month"]),
                satisfaction.drop(columns=["month"]),
                clawback_events.drop(columns=["month"]),
                history if not history.empty else None,
                settings,
            )
            adjustments = month_end.closed_month_adjustments(inputs, plans, month, settings, frozen, history)
            if not adjustments.empty:
                ledger = ledger_rules.with_adjustments(ledger, adjustments, history, inputs.reps)
            # Recorded only once the ledger exists, so the fingerprint always describes the stored ledger.
            # The settings are part of it: the fiscal calendar or minimum responses change what is paid.
            texts = {**plans.texts, "settings": repr(settings)}
            period_close.record_fingerprint(con, month, period_close.input_fingerprint(vars(inputs), texts))
            state = "open"
        fingerprint = period_close.stored_fingerprint(con, month)
    return Output(
        stamped(ledger, month),
        metadata=table_metadata(
            ledger,
            period=state,
            months_without_ledger=MetadataValue.json(missing),
            input_fingerprint=fingerprint,
            total_by_currency=money_totals(ledger, "amount_minor"),
            adjustment_lines=int((ledger["kind"] == "adjustment").sum()),
        ),
    )


@asset(metadata=MONTH_PARTITION, partitions_def=monthly, group_name="reward")
def payouts(
    context: AssetExecutionContext, warehouse: Warehouse, incentive_ledger: pd.DataFrame, reps: pd.DataFrame
) -> Output[pd.DataFrame]:
    """Per rep: earnings, draws, adjustments and what is payable; each the sum of its ledger lines."""
    month = run_month(context)
    history = ledger_history(warehouse, month)
    table = payout_rules.payouts(incentive_ledger, unstamped(reps), month, history if not history.empty else None)
    return Output(
        stamped(table, month),
        metadata=table_metadata(table, payable_by_currency=money_totals(table, "payable_minor")),
    )
