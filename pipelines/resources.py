"""Resources: the only place that knows where things live.

The embedded defaults need nothing running: the warehouse is a DuckDB file, packs and exports go to a local
folder, and e-mail is written to an outbox folder. Each is a setting, so a deployment points them at
PostgreSQL, object storage or a real SMTP server without touching an asset.
"""

from __future__ import annotations

import contextlib
import os
from decimal import Decimal
from pathlib import Path
from typing import Iterator, Optional

import duckdb
import pandas as pd
from dagster import ConfigurableResource
from dagster_duckdb_pandas import DuckDBPandasIOManager, DuckDBPandasTypeHandler
from pydantic import Field

from attain.settings import Settings

REPO_ROOT = Path(__file__).resolve().parents[1]
#: Everything a run writes lives below this folder unless configured otherwise.
DEFAULT_VAR = REPO_ROOT / "var"


class AttainConfig(ConfigurableResource):
    """Where the inputs are, where results go, and the company's calendar and money settings."""

    data_dir: str = Field(default=str(DEFAULT_VAR / "demo-data"), description="Folder holding the input files.")
    plans_dir: str = Field(default="", description="Folder of plan YAML files; blank = <data_dir>/plans.")
    output_dir: str = Field(default=str(DEFAULT_VAR / "output"), description="Packs and exports, by month.")
    deals_profile: str = Field(default="", description="CRM export profile for deals; blank = detect.")
    deals_mapping: str = Field(default="", description="Mapping file (YAML) for a CRM without a built-in profile.")
    date_order: str = Field(default="", description="DMY or MDY for an export whose dates cannot tell.")
    decimal_comma: Optional[bool] = Field(default=None, description="True: 1.234,50 amounts; None: detect.")
    fiscal_year_start: int = Field(default=1, description="First month of the fiscal year (1-12).")
    timezone: str = Field(default="UTC", description="IANA time zone in which the month ends.")
    base_currency: str = Field(default="USD", description="Currency that FX rates are quoted in.")
    min_responses: int = Field(default=5, description="Survey responses needed before a score is shown.")
    quarantine_max_share: str = Field(
        default="0.05", description="Largest share of deal rows quarantined before the run stops."
    )
    render_processes: int = Field(default=2, description="Processes rendering PDF packs in parallel.")

    def ingest_options(self) -> dict:
        """The keyword arguments ``attain.validation.load_inputs`` takes for the deals file."""
        return {
            "deals_profile": self.deals_profile or None,
            "mapping_file": Path(self.deals_mapping) if self.deals_mapping else None,
            "date_order": self.date_order or None,
            "decimal_comma": self.decimal_comma,
        }

    def settings(self) -> Settings:
        """The pure-domain view of this configuration."""
        return Settings(
            fiscal_year_start=self.fiscal_year_start,
            timezone=self.timezone,
            base_currency=self.base_currency,
            min_responses=self.min_responses,
            quarantine_max_share=Decimal(self.quarantine_max_share),
        )

    @property
    def plans_path(self) -> Path:
        """The plan folder in force."""
        return Path(self.plans_dir) if self.plans_dir else Path(self.data_dir) / "plans"

    @property
    def output_path(self) -> Path:
        """The output folder (created on demand)."""
        path = Path(self.output_dir)
        path.mkdir(parents=True, exist_ok=True)
        return path


class _MonthTableHandler(DuckDBPandasTypeHandler):
    """Stores a month's table, creating the table even when that month has no rows.

    The stock handler skips empty DataFrames, so a month with an empty quarantine (the Maven sample) would
    leave no table for downstream steps to read. Object columns of an empty frame are typed as text so the
    table accepts the rows of later months.
    """

    def handle_output(self, context, table_slice, obj: pd.DataFrame, connection):
        if not obj.empty:
            return super().handle_output(context, table_slice, obj, connection)
        empty = obj.astype({c: "string" for c in obj.columns if obj[c].dtype == object})  # noqa: F841 (read by SQL)
        connection.execute(
            f"create table if not exists {table_slice.schema}.{table_slice.table} as select * from empty"
        )
        context.add_output_metadata({"dagster/partition_row_count": 0})


class WarehouseIOManager(DuckDBPandasIOManager):
    """The DuckDB IO manager for Attain's monthly tables (see ``_MonthTableHandler``)."""

    @staticmethod
    def type_handlers():
        return [_MonthTableHandler()]


class Warehouse(ConfigurableResource):
    """Direct access to the warehouse for the tables that are not asset outputs.

    Closed-period snapshots and the delivery log are written in transactions here; asset tables go through
    the IO manager, which points at the same database.
    """

    database: str = Field(default=str(DEFAULT_VAR / "warehouse.duckdb"), description="DuckDB file.")

    @contextlib.contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection, closed on exit."""
        Path(self.database).parent.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect(self.database)
        try:
            yield con
        finally:
            con.close()

    def read(self, table: str, where: str = "TRUE", params: list | None = None) -> pd.DataFrame:
        """Rows of a warehouse table (schema ``attain``); empty when the table does not exist yet."""
        with self.connect() as con:
            exists = con.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'attain' AND table_name = ?",
                [table],
            ).fetchone()[0]
            if not exists:
                return pd.DataFrame()
            return con.execute(f"SELECT * FROM attain.{table} WHERE {where}", params or []).df()


class MailerResource(ConfigurableResource):
    """How the month-end delivers packs: an outbox folder (default) or a real SMTP server."""

    mode: str = Field(default="outbox", description="'outbox' writes .eml files; 'smtp' sends.")
    outbox_dir: str = Field(default=str(DEFAULT_VAR / "outbox"), description="Folder for .eml files.")
    host: str = Field(default="localhost")
    port: int = Field(default=587)
    security: str = Field(default="starttls", description="'starttls', 'ssl' or 'none'.")
    username: str = Field(default="")
    password: str = Field(default="", description="Blank: read ATTAIN_SMTP_PASSWORD from the environment.")
    timeout: float = Field(default=30.0, description="Seconds before an unanswered SMTP call is retried.")
    cafile: str = Field(default="", description="CA bundle for a server with a private certificate.")
    from_addr: str = Field(default="attain@localhost")
    reply_to: str = Field(default="")
    copy_to_reps: bool = Field(default=False, description="Also send each rep their own pack.")
    resend: bool = Field(default=False, description="Re-send messages already delivered (logged).")


def mailer_from_env(var: Path, resend: bool = False) -> MailerResource:
    """The mailer: the outbox under ``var``, or SMTP when ATTAIN_MAILER=smtp (ATTAIN_SMTP_* settings)."""
    env = os.environ
    if env.get("ATTAIN_MAILER", "outbox") != "smtp":
        return MailerResource(
            outbox_dir=str(var / "outbox"), copy_to_reps=env.get("ATTAIN_COPY_TO_REPS") == "1", resend=resend
        )
    return MailerResource(
        mode="smtp",
        host=env.get("ATTAIN_SMTP_HOST", "localhost"),
        port=int(env.get("ATTAIN_SMTP_PORT", "587")),
        security=env.get("ATTAIN_SMTP_SECURITY", "starttls"),
        username=env.get("ATTAIN_SMTP_USER", ""),
        cafile=env.get("ATTAIN_SMTP_CAFILE", ""),
        from_addr=env.get("ATTAIN_MAIL_FROM", "attain@localhost"),
        reply_to=env.get("ATTAIN_MAIL_REPLY_TO", ""),
        copy_to_reps=env.get("ATTAIN_COPY_TO_REPS") == "1",
        resend=resend,
    )


def default_resources(
    var: Path | str | None = None, data_dir: Path | str | None = None, resend: bool = False, **config
) -> dict:
    """The resource set: embedded defaults, relocated and configured by the environment.

    ``var`` (ATTAIN_VAR) is the folder for everything a run writes: the warehouse, the output and the
    outbox (tests use a temporary folder). ``data_dir`` (ATTAIN_DATA_DIR) holds the input files. Other
    keyword arguments are AttainConfig fields; ATTAIN_FISCAL_YEAR_START and ATTAIN_TIMEZONE set those two.
    """
    env = os.environ
    var = Path(var or env.get("ATTAIN_VAR") or DEFAULT_VAR).resolve()
    var.mkdir(parents=True, exist_ok=True)
    data_dir = Path(data_dir or env.get("ATTAIN_DATA_DIR") or var / "demo-data").resolve()
    database = str(var / "warehouse.duckdb")
    config.setdefault("fiscal_year_start", int(env.get("ATTAIN_FISCAL_YEAR_START", "1")))
    config.setdefault("timezone", env.get("ATTAIN_TIMEZONE", "UTC"))
    return {
        "attain": AttainConfig(data_dir=str(data_dir), output_dir=str(var / "output"), **config),
        "warehouse": Warehouse(database=database),
        "io_manager": WarehouseIOManager(database=database, schema="attain"),
        "mailer": mailer_from_env(var, resend),
    }
