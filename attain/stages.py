"""The month's chain: credit -> targets -> attainment, satisfaction -> ledger.

Each ``*_of_month`` function is exactly what one month-end asset computes where a stage is more than one call
(the asset adds the partition column, stores the table and shows its figures); attainment and satisfaction
are one call each (``attainment.attainment``, ``satisfaction.satisfaction``), made by their assets and here. ``recompute_ledger`` composes the same functions for a
month from one snapshot of the inputs: period close uses it to see what late or corrected data changed in a
closed month. So there is one chain: a change to a stage reaches the assets and the recomputation alike.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from attain.ingest.load import Inputs
from attain.measures import attainment, credit, satisfaction, targets
from attain.pay import ledger
from attain.pay.plans import PlanBook
from attain.settings import Settings


@dataclass(frozen=True)
class Measures:
    """What the ledger pays on: the ``credit_stage``, ``attainment_stage`` and ``satisfaction_stage`` tables."""

    credited_deals: pd.DataFrame
    clawback_events: pd.DataFrame
    attainment: pd.DataFrame
    satisfaction: pd.DataFrame


def credit_of_month(
    deals: pd.DataFrame,
    credit_splits: pd.DataFrame,
    reps: pd.DataFrame,
    fx_rates: pd.DataFrame,
    month: str,
    settings: Settings,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``credited_deals`` (12 months ending with ``month``) and the ``clawback_events`` recorded in ``month``."""
    credited = credit.credited_deals(deals, credit_splits, reps, fx_rates, month, settings)
    events = credit.clawback_events(deals, credit_splits, reps, fx_rates, month, settings)
    return credited, events


def targets_of_month(
    target_rows: pd.DataFrame, reps: pd.DataFrame, month: str, settings: Settings
) -> targets.TargetsInForce:
    """The targets in force (and team-target warnings) for every month ``month`` measures."""
    return targets.targets_in_force(target_rows, reps, targets.months_needed(month), settings)


def ledger_of_month(
    month: str,
    plans: PlanBook,
    reps: pd.DataFrame,
    measures: Measures,
    history: pd.DataFrame | None,
    settings: Settings,
) -> pd.DataFrame:
    """The ``incentive_ledger`` lines of ``month`` (``history``: earlier months' lines, or None)."""
    return ledger.compute_ledger(
        month,
        plans,
        reps,
        measures.credited_deals,
        measures.attainment,
        measures.satisfaction,
        measures.clawback_events,
        history,
        settings,
    )


def measures_of_month(inputs: Inputs, month: str, settings: Settings) -> Measures:
    """The stages before the ledger, from one snapshot of the inputs."""
    credited, events = credit_of_month(
        inputs.deals, inputs.credit_splits, inputs.reps, inputs.fx_rates, month, settings
    )
    in_force = targets_of_month(inputs.targets, inputs.reps, month, settings).in_force
    return Measures(
        credited_deals=credited,
        clawback_events=events,
        attainment=attainment.attainment(credited, inputs.deals, in_force, inputs.reps, month, settings),
        satisfaction=satisfaction.satisfaction(inputs.surveys, inputs.deals, inputs.reps, month, settings),
    )


def recompute_ledger(
    inputs: Inputs, plans: PlanBook, month: str, settings: Settings, history: pd.DataFrame | None
) -> pd.DataFrame:
    """The ledger of ``month`` computed from ``inputs`` alone, through the same stages the assets run."""
    return ledger_of_month(month, plans, inputs.reps, measures_of_month(inputs, month, settings), history, settings)
