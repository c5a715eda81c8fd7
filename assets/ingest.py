"""Ingest: the month's input files, read, validated and stored; rejected rows kept in quarantine."""

from pathlib import Path

from dagster import AssetExecutionContext, Failure, MetadataValue, Output, multi_asset

from assets.common import WAREHOUSE_POOL, money_totals, run_month, stamped, table_metadata, table_out
from attain.ingest.load import load_inputs
from attain.ingest.raw import InputFileError
from attain.settings import SettingsError
from pipelines.partitions import monthly
from pipelines.resources import AttainConfig

#: The validated input tables, in the order of docs/input-contract.md.
INPUT_TABLES = ("deals", "credit_splits", "reps", "targets", "fx_rates", "surveys", "disputes", "self_assessments")

_DESCRIPTIONS = {
    "deals": "Deals known at the month's end, validated: amounts in minor units, stages won/lost/open.",
    "credit_splits": "Split and overlay credit shares per deal.",
    "reps": "The roster (reps and managers), every valid_from row.",
    "targets": "Target rows with their effective dates, reasons and authors (full history).",
    "fx_rates": "Monthly FX rates against the base currency.",
    "surveys": "Customer survey responses.",
    "disputes": "Disputes raised by reps and how each was decided, who decided and when (full history).",
    "self_assessments": "Reps' own view of the month and the help they ask for (printed in their packs).",
    "quarantine": "Rejected rows: file, row, column and the reason a person can act on.",
}


@multi_asset(
    outs={name: table_out(_DESCRIPTIONS[name], partition_column="as_of") for name in (*INPUT_TABLES, "quarantine")},
    partitions_def=monthly,
    pool=WAREHOUSE_POOL,
    group_name="ingest",
)
def validated_inputs(context: AssetExecutionContext, attain: AttainConfig):
    """Read the data folder as known at the month's end and validate every row.

    File-level problems (a missing file or column, an unreadable encoding) stop the run with one message
    naming the file; row-level problems send the row to ``quarantine`` and the rest of the month goes on.
    """
    month = run_month(context)
    try:
        result = load_inputs(Path(attain.data_dir), month, attain.settings(), **attain.ingest_options())
    except (InputFileError, SettingsError) as error:  # a file, or attain.yaml, to fix: one message
        raise Failure(description=str(error), allow_retries=False) from None
    quarantine = result.quarantine
    for name in INPUT_TABLES:
        frame = getattr(result, name)
        source = result.sources.get(name)
        extra = {}
        if source is not None:
            extra = {
                "source_file": str(source.file),
                "rows_read": source.rows_read,
                "rows_accepted": source.rows_accepted,
                "rows_quarantined": source.rows_quarantined,
            }
            if source.profile:
                extra["crm_profile"] = source.profile
            extra.update({f"read_{key}": str(value) for key, value in sorted(source.details.items())})
        if name == "deals":
            won = frame[frame["stage"] == "won"]
            extra["won_amount_by_currency"] = money_totals(won, "amount_minor")
        yield Output(stamped(frame, month, "as_of"), output_name=name, metadata=table_metadata(frame, **extra))
    rejected_rows = quarantine[["table", "source_file", "source_row"]].drop_duplicates()
    yield Output(
        stamped(quarantine, month, "as_of"),
        output_name="quarantine",
        metadata=table_metadata(
            quarantine,
            rows_quarantined=len(rejected_rows),
            by_table=MetadataValue.json(rejected_rows["table"].value_counts().sort_index().to_dict()),
        ),
    )
