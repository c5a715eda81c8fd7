"""The ``as_of_review`` job: provisional packs of a month part-way through, from the UI (issue 13 item 2).

The same as ``attain run --month M --as-of YYYY-MM-DD``: one op over ``attain.as_of.run_as_of``, configured with
the month and the day. It is not a partitioned asset job on purpose: it materialises no asset, so the month's
tables, ledger, finance export, period close and deliveries are never touched by it (docs/review-packs.md).
"""

from collections.abc import Callable
from pathlib import Path

from dagster import Config, Failure, OpExecutionContext, job, op
from pydantic import Field

from attain.as_of import AsOfResult, run_as_of
from attain.measures.time_progress import AsOfError
from pipelines.resources import AttainConfig


class AsOfConfig(Config):
    """Which month, measured to which day."""

    month: str = Field(description="The month measured, YYYY-MM (it may be the month in progress).")
    as_of: str = Field(description="The last day counted, YYYY-MM-DD, inside the month.")


def as_of_run(attain: AttainConfig, month: str, as_of: str) -> AsOfResult:
    """The provisional packs of ``month`` as of ``as_of`` with ``attain``'s folders and settings (the CLI's
    ``run --as-of`` and the ``as_of_review`` job)."""
    return run_as_of(
        attain.data_dir,
        month,
        as_of,
        attain.settings(),
        attain.output_dir,
        ingest=attain.ingest_options(),
        processes=attain.option("render_processes"),
    )


@op(description="Render the month's provisional review packs as of a day: nothing is paid, closed or sent.")
def as_of_packs(context: OpExecutionContext, config: AsOfConfig, attain: AttainConfig) -> None:
    """Provisional packs under ``<output>/as-of-YYYY-MM-DD/``; the metadata lists the reps behind time progress."""
    try:
        result = as_of_run(attain, config.month, config.as_of)
    except AsOfError as error:
        raise Failure(description=str(error)) from None
    for failure in result.packs.failed:
        context.log.error(f"pack failed: {failure.reason}")
    context.add_output_metadata(
        {
            "folder": str(result.folder),
            "elapsed": f"{result.elapsed.days} of {result.elapsed.total} {result.elapsed.unit} days",
            "packs": len(result.packs.table),
            "reps_behind": behind(result.time_progress),
        }
    )


def behind(time_progress) -> list[str]:
    """The reps whose revenue lags time progress by more than the gap, by id."""
    rows = time_progress[
        time_progress["scope"].eq("rep") & time_progress["metric"].eq("revenue") & time_progress["lagging"]
    ]
    return sorted(rows["scope_id"].astype(str))


def summary(result: AsOfResult, month: str, shown: Callable[[Path], str] = str) -> list[str]:
    """What `attain run --as-of` prints: the days elapsed, the reps behind, the packs and what was not done."""
    e, table, lagging = result.elapsed, result.packs.table, behind(result.time_progress)
    lines = [
        f"as-of run {month} to {e.as_of.isoformat()}: PROVISIONAL",
        f"  elapsed: {e.days} of {e.total} {e.unit} days ({float(e.share):.1%}); targets pro-rated by that share",
        f"  reps behind time progress (revenue): {', '.join(lagging) if lagging else 'none'}",
        f"  packs: {(table['kind'] == 'rep').sum()} rep, {(table['kind'] == 'manager').sum()} manager in "
        f"{shown(result.folder / month / 'packs')}",
        "  nothing paid, closed, exported or e-mailed; the month-end of the month is unchanged",
    ]
    return lines + [f"  pack FAILED: {f.reason}" for f in result.packs.failed]


@job(description="Provisional review packs of a month as of a day inside it (time progress); pays nothing.")
def as_of_review():
    as_of_packs()
