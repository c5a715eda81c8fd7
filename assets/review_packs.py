"""Review packs: one PDF per rep and per manager, in each person's language, rendered in chunks of teams."""

import dataclasses
from dataclasses import dataclass
from typing import cast

import pandas as pd
from dagster import (
    AssetKey,
    AssetRecordsFilter,
    DagsterInstance,
    DynamicOut,
    DynamicOutput,
    Failure,
    OpExecutionContext,
    Out,
    Output,
    graph_asset,
    op,
)

from assets.common import WAREHOUSE_POOL, stamped, table_metadata, unstamped
from attain.packs.chunks import merge_chunks, team_chunks
from attain.packs.coaching import CoachingError, load_catalogue
from attain.packs.render import RenderedPacks, render_packs
from attain.packs.review import ReviewTables
from attain.pay import period_close
from pipelines.executors import worker_identity
from pipelines.partitions import MONTH_PARTITION, monthly
from pipelines.resources import AttainConfig, Warehouse

#: The IO manager of the steps inside the packs stage: their outputs are files every worker can read.
STEP_IO = "step_io_manager"


@dataclass(frozen=True)
class PackInputs:
    """What every chunk of the month's packs is rendered from: the month, its tables and their fingerprint."""

    month: str
    tables: ReviewTables
    fingerprint: str


@op(pool=WAREHOUSE_POOL, out={"inputs": Out(io_manager_key=STEP_IO), "chunks": DynamicOut(io_manager_key=STEP_IO)})
def plan_pack_chunks(
    context: OpExecutionContext,
    attain: AttainConfig,
    warehouse: Warehouse,
    deals: pd.DataFrame,
    credit_splits: pd.DataFrame,
    reps: pd.DataFrame,
    targets: pd.DataFrame,
    quarantine: pd.DataFrame,
    attainment: pd.DataFrame,
    attainment_trend: pd.DataFrame,
    pipeline_health: pd.DataFrame,
    satisfaction: pd.DataFrame,
    incentive_ledger: pd.DataFrame,
    payouts: pd.DataFrame,
    disputes: pd.DataFrame,
    earnings_forecast: pd.DataFrame,
    self_assessments: pd.DataFrame,
    segment_summary: pd.DataFrame,
):
    """Read the month's tables from the warehouse once, and split the packs into chunks of whole teams
    (``pack_chunk_teams`` teams each), one step per chunk.

    The coaching suggestions come from the built-in catalogue extended by the data folder's ``coaching.yaml``
    (a bad one stops the run with its file, entry and field).
    """
    month = context.partition_key
    try:
        coaching = load_catalogue(attain.data_dir)
    except CoachingError as error:  # coaching.yaml of the data folder to fix: one message naming the entry
        raise Failure(description=str(error), allow_retries=False) from None
    tables = ReviewTables(
        reps=unstamped(reps),
        attainment=attainment,
        attainment_trend=attainment_trend,
        pipeline_health=pipeline_health,
        satisfaction=satisfaction,
        incentive_ledger=incentive_ledger,
        payouts=payouts,
        deals=unstamped(deals),
        targets=unstamped(targets),
        quarantine=unstamped(quarantine),
        credit_splits=unstamped(credit_splits),
        disputes=unstamped(disputes),
        earnings_forecast=earnings_forecast,
        self_assessments=unstamped(self_assessments),
        coaching=coaching,
        segments=segment_summary,
    )
    with warehouse.connect() as con:
        fingerprint = period_close.stored_fingerprint(con, month)
    chunks = team_chunks(month, tables.reps, attain.option("pack_chunk_teams"))
    yield Output(
        PackInputs(month, tables, fingerprint), "inputs", metadata={"chunks": len(chunks), **worker_identity()}
    )
    for number, people in enumerate(chunks, start=1):
        yield DynamicOutput(people, mapping_key=f"teams_{number:03d}", output_name="chunks")


@op(out=Out(io_manager_key=STEP_IO))
def render_pack_chunk(
    context: OpExecutionContext, attain: AttainConfig, inputs: PackInputs, chunk: list[str]
) -> Output[RenderedPacks]:
    """Render the packs of one chunk of teams; which worker (``worker``, ``pid``) did is in the metadata."""
    rendered = render_packs(
        inputs.month,
        inputs.tables,
        attain.settings(),
        attain.output_path,
        inputs.fingerprint,
        processes=attain.option("render_processes"),
        progress=lambda done, total: context.log.debug(f"progress: packs {done}/{total}"),
        people=chunk,
    )
    for failure in rendered.failed:
        context.log.error(f"pack failed: {failure.reason}")
    return Output(
        rendered, metadata={"packs": len(rendered.table), "failed": len(rendered.failed), **worker_identity()}
    )


@op(pool=WAREHOUSE_POOL)
def collect_packs(inputs: PackInputs, chunks: list[RenderedPacks], attain: AttainConfig) -> Output[pd.DataFrame]:
    """The chunks as one ``review_packs`` table, with the metadata the checks, the deliveries and the run
    summary read (``failed_packs``)."""
    rendered = merge_chunks(chunks)
    packs, month = rendered.table, inputs.month
    return Output(
        stamped(packs, month),
        metadata=table_metadata(
            packs,
            rep_packs=int((packs["kind"] == "rep").sum()),
            manager_packs=int((packs["kind"] == "manager").sum()),
            folder=str(attain.output_path / month / "packs"),
            input_fingerprint=inputs.fingerprint,
            failed_packs=[dataclasses.asdict(f) for f in rendered.failed],
            chunks=len(chunks),
            **worker_identity(),
        ),
    )


@graph_asset(metadata=MONTH_PARTITION, partitions_def=monthly, group_name="review", kinds={"pdf"})
def review_packs(
    deals: pd.DataFrame,
    credit_splits: pd.DataFrame,
    reps: pd.DataFrame,
    targets: pd.DataFrame,
    quarantine: pd.DataFrame,
    attainment: pd.DataFrame,
    attainment_trend: pd.DataFrame,
    pipeline_health: pd.DataFrame,
    satisfaction: pd.DataFrame,
    incentive_ledger: pd.DataFrame,
    payouts: pd.DataFrame,
    disputes: pd.DataFrame,
    earnings_forecast: pd.DataFrame,
    self_assessments: pd.DataFrame,
    segment_summary: pd.DataFrame,
):
    """Render every rep's and every manager's pack for the month: one step per chunk of teams, so several
    workers render one month at once (each chunk across processes of its own).

    Each PDF carries the month, the person and the fingerprint of the inputs its figures came from. A pack
    that fails (an error, or longer than ``pack_time_limit``) fails alone: it is listed in the metadata
    ``failed_packs`` (read by the pack check, the deliveries and the run summary) and the others go on.
    """
    inputs, chunks = plan_pack_chunks(
        deals,
        credit_splits,
        reps,
        targets,
        quarantine,
        attainment,
        attainment_trend,
        pipeline_health,
        satisfaction,
        incentive_ledger,
        payouts,
        disputes,
        earnings_forecast,
        self_assessments,
        segment_summary,
    )
    return collect_packs(inputs, chunks.map(lambda chunk: render_pack_chunk(inputs, chunk)).collect())


def failed_packs(instance: DagsterInstance, month: str) -> list[dict]:
    """The packs of ``month`` that failed when its ``review_packs`` were last made (``person_id, kind,
    locale, reason``), from that materialisation's metadata: empty when none failed."""
    records = instance.fetch_materializations(
        AssetRecordsFilter(asset_key=AssetKey("review_packs"), asset_partitions=[month]), limit=1
    ).records
    if not records or records[0].asset_materialization is None:
        return []
    meta = records[0].asset_materialization.metadata.get("failed_packs")
    return list(cast("list[dict]", meta.value)) if meta is not None else []  # a JSON list, as written above
