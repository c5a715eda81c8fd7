"""What-if plan modelling as a Dagster job with config (``whatif``), and the run the CLI shares with it.

``run_whatif`` reads the real state read-only (the inputs of the data folder as known at the end of the last
month, the stored ledgers of the 24 months before the first one, closed months as frozen) and hands them to
``attain.pay.whatif.compare``, which pays the months again in memory. Nothing is written to the warehouse: no
asset is materialised, no closed month or delivery is touched. The only output is the comparison's files under
``<output>/whatif/<name>/``.
"""

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from dagster import Config, OpExecutionContext, in_process_executor, job, op
from pydantic import Field

from assets.incentives import HISTORY_MONTHS
from attain.ingest.load import load_inputs
from attain.packs.whatif_report import write_comparison
from attain.pay import period_close, whatif
from attain.pay.plan_diff import load_book
from attain.pay.plans import load_plans
from attain.periods import add_months, month_span
from pipelines.resources import AttainConfig, Warehouse


@dataclass(frozen=True)
class WhatIfRun:
    """A what-if's comparison, the files written and the terminal's summary lines."""

    result: whatif.WhatIf
    files: list[Path]
    lines: list[str]


def real_history(warehouse: Warehouse, first: str) -> pd.DataFrame:
    """The ledger lines paid in the ``HISTORY_MONTHS`` months before ``first``, closed months as frozen.

    Read only: the closed-period tables are read when they exist and never created.
    """
    start = add_months(first, -HISTORY_MONTHS)
    with warehouse.connect() as con:
        stored = (
            con.read("SELECT * FROM attain.incentive_ledger WHERE month >= ? AND month < ?", [start, first])
            if con.exists("attain.incentive_ledger")
            else pd.DataFrame()
        )
        has_closed = con.exists("closed_periods")
        closed = sorted(m for m in period_close.closed_months(con) if start <= m < first) if has_closed else []
        frozen = [period_close.frozen_ledger(con, m) for m in closed]
    if not stored.empty and closed:
        stored = stored[~stored["month"].isin(closed)]
    parts = [f for f in (stored, *frozen) if not f.empty]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def run_whatif(
    attain: AttainConfig, warehouse: Warehouse, draft: Path | str, first: str, last: str, name: str = ""
) -> WhatIfRun:
    """Model ``first``..``last`` under the draft plans (a folder or one file) and write the comparison."""
    months = month_span(first, last)
    settings = attain.settings()
    inputs = load_inputs(attain.data_dir, last, settings, **attain.ingest_options())
    now = load_plans(attain.plans_path)
    plans_draft = whatif.with_draft(now, load_book(draft))
    result = whatif.compare(inputs, now, plans_draft, months, settings, real_history(warehouse, first))
    name = name or f"{Path(draft).stem}_{first}_{last}"
    files = write_comparison(result, attain.output_path, name, title=f"{Path(draft).name}, {first} to {last}")
    return WhatIfRun(result, files, whatif.summary_lines(result.rows))


class WhatIfConfig(Config):
    """What to model: the draft plans and the months."""

    plans_dir: str = Field(description="Folder (or one file) of draft plan YAML; plans it lacks stay as in force.")
    first_month: str = Field(description="First month modelled, YYYY-MM.")
    last_month: str = Field(description="Last month modelled, YYYY-MM.")
    name: str = Field(default="", description="Folder name under <output>/whatif/ (default: draft_first_last).")


@op
def model_draft_plans(
    context: OpExecutionContext, config: WhatIfConfig, attain: AttainConfig, warehouse: Warehouse
) -> None:
    """Pay the months again under the draft plans, in memory, and write the comparison's XLSX and PDF.

    The op has no output for an IO manager to store: nothing reaches the warehouse. The summary lines and the
    files written are in the run's log.
    """
    run = run_whatif(attain, warehouse, config.plans_dir, config.first_month, config.last_month, config.name)
    for line in run.lines or ["nobody is paid in these months under either plan"]:
        context.log.info(line)
    context.log.info("written: " + ", ".join(str(f) for f in run.files))


@job(
    name="whatif",
    executor_def=in_process_executor,
    description="What-if: past months paid again under draft plans (read-only).",
)
def whatif_job() -> None:
    model_draft_plans()
