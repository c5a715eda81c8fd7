"""An as-of run: month M measured part-way through, as provisional review packs (issue 13 item 2).

``attain run --month M --as-of YYYY-MM-DD`` (or the Dagster job ``as_of_review``) reads the inputs as the
month-end does, keeps the deals as they stood at the end of the as-of day, pro-rates the month's targets by the
share of the month elapsed (``attain.measures.time_progress``) and renders every rep's and manager's pack,
each marked provisional on every page.

Nothing is paid or closed: no incentive ledger, payouts, finance export, period close or e-mail; nothing is
written to the warehouse. Its only output is the folder ``<output>/as-of-YYYY-MM-DD/M/packs/``, so a month-end
run of M (before or after) is exactly what it would have been without it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from attain import stages
from attain.ingest.load import load_inputs
from attain.measures import attainment, pipeline_health, satisfaction
from attain.measures import time_progress as progress
from attain.packs.render import RenderedPacks, render_packs
from attain.packs.review import ReviewTables
from attain.settings import Settings


@dataclass
class AsOfResult:
    """What an as-of run made: the elapsed days, the time progress table, the packs and where they are."""

    elapsed: progress.Elapsed
    time_progress: pd.DataFrame
    packs: RenderedPacks
    folder: Path


def as_of_folder(out_dir: Path | str, as_of: dt.date) -> Path:
    """The output folder of an as-of run: ``<out_dir>/as-of-YYYY-MM-DD`` (packs under ``<month>/packs/``)."""
    return Path(out_dir) / f"as-of-{as_of.isoformat()}"


def _with_month(frame: pd.DataFrame, month: str) -> pd.DataFrame:
    return frame if "month" in frame.columns else frame.assign(month=month)


def review_tables(inputs, month: str, as_of: dt.date, settings: Settings) -> tuple[ReviewTables, progress.Elapsed]:
    """The tables of month ``month``'s provisional packs as of the end of ``as_of`` (``inputs``: ``load_inputs``)."""
    elapsed = progress.elapsed(month, as_of, settings)
    deals = progress.deals_as_of(inputs.deals, as_of)
    surveys = progress.surveys_as_of(inputs.surveys, as_of)
    credited, _events = stages.credit_of_month(
        deals, inputs.credit_splits, inputs.reps, inputs.fx_rates, month, settings
    )
    in_force = stages.targets_of_month(inputs.targets, inputs.reps, month, settings).in_force
    prorated = progress.prorate_targets(in_force, elapsed.share, month)
    so_far = attainment.attainment(credited, deals, prorated, inputs.reps, month, settings)
    whole = attainment.attainment(credited, deals, in_force, inputs.reps, month, settings)
    tables = ReviewTables(
        reps=inputs.reps,
        attainment=so_far,
        attainment_trend=attainment.attainment_trend(credited, deals, prorated, inputs.reps, month, settings),
        pipeline_health=_with_month(
            pipeline_health.pipeline_health(deals, in_force, inputs.reps, inputs.fx_rates, month, settings), month
        ),
        satisfaction=_with_month(satisfaction.satisfaction(surveys, deals, inputs.reps, month, settings), month),
        incentive_ledger=pd.DataFrame(),
        payouts=pd.DataFrame(),
        deals=deals,
        targets=inputs.targets,
        quarantine=inputs.quarantine,
        credit_splits=inputs.credit_splits,
        time_progress=progress.time_progress(so_far, whole, elapsed.share, settings),
        as_of={**elapsed.printed(), "gap": float(settings.time_progress_gap)},
    )
    return tables, elapsed


def run_as_of(
    data_dir: Path | str,
    month: str,
    as_of: str | dt.date,
    settings: Settings,
    out_dir: Path | str,
    *,
    ingest: dict | None = None,
    processes: int = 2,
) -> AsOfResult:
    """Render month ``month``'s provisional packs as of ``as_of`` into ``as_of_folder(out_dir, as_of)``.

    ``ingest``: the deals-file keyword arguments of ``load_inputs``. ``AsOfError`` for a day outside the month.
    """
    day = progress.parse_as_of(month, as_of)
    inputs = load_inputs(data_dir, month, settings, **(ingest or {}))
    tables, elapsed = review_tables(inputs, month, day, settings)
    folder = as_of_folder(out_dir, day)
    packs = render_packs(month, tables, settings, folder, f"provisional as of {day.isoformat()}", processes=processes)
    assert tables.time_progress is not None  # review_tables always sets it
    return AsOfResult(elapsed, tables.time_progress, packs, folder)
