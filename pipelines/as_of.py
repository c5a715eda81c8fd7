"""The ``as_of_review`` job: provisional packs of a month part-way through, from the UI (issue 13 item 2).

The same as ``attain run --month M --as-of YYYY-MM-DD``: one op over ``attain.as_of.run_as_of``, configured with
the month and the day. It is not a partitioned asset job on purpose: it materialises no asset, so the month's
tables, ledger, finance export, period close and deliveries are never touched by it (docs/review-packs.md).
"""

from dagster import Config, Failure, OpExecutionContext, job, op
from pydantic import Field

from attain.as_of import run_as_of
from attain.measures.time_progress import AsOfError
from pipelines.resources import AttainConfig


class AsOfConfig(Config):
    """Which month, measured to which day."""

    month: str = Field(description="The month measured, YYYY-MM (it may be the month in progress).")
    as_of: str = Field(description="The last day counted, YYYY-MM-DD, inside the month.")


@op(description="Render the month's provisional review packs as of a day: nothing is paid, closed or sent.")
def as_of_packs(context: OpExecutionContext, config: AsOfConfig, attain: AttainConfig) -> None:
    """Provisional packs under ``<output>/as-of-YYYY-MM-DD/``; the metadata lists the reps behind time progress."""
    try:
        result = run_as_of(
            attain.data_dir,
            config.month,
            config.as_of,
            attain.settings(),
            attain.output_path,
            ingest=attain.ingest_options(),
            processes=attain.option("render_processes"),
        )
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


@job(description="Provisional review packs of a month as of a day inside it (time progress); pays nothing.")
def as_of_review():
    as_of_packs()
