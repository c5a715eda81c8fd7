"""Resources: the only place that knows where things live.

The embedded defaults need nothing running: the warehouse is a DuckDB file, packs and exports go to a local
folder, and e-mail is written to an outbox folder. Each is a setting, so a deployment points them at
PostgreSQL, object storage or a real SMTP server without touching an asset.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import duckdb
import pandas as pd
from dagster import ConfigurableResource
from dagster_duckdb_pandas import DuckDBPandasIOManager, DuckDBPandasTypeHandler
from pydantic import Field

from attain.settings import (
    OPTIONS,
    SETTINGS_FILE,
    Settings,
    env_options,
    load_settings_file,
    merge_options,
    option_in_force,
    parse_options,
    settings_from,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
#: Everything a run writes lives below this folder unless configured otherwise.
DEFAULT_VAR = REPO_ROOT / "var"
#: AttainConfig fields whose name is not the setting's (attain.yaml key and CLI flag).
CONFIG_FIELDS = {"profile": "deals_profile", "mapping": "deals_mapping"}


def ingest_options(options: dict) -> dict:
    """The deals-file options in ``options`` as the keyword arguments of ``attain.validation.load_inputs``."""
    mapping = options.get("mapping")
    return {
        "deals_profile": options.get("profile"),
        "mapping_file": Path(mapping) if mapping else None,
        "date_order": options.get("date_order"),
        "decimal_comma": options.get("decimal_comma"),
    }


def config_fields(options: dict) -> dict:
    """Typed options as AttainConfig fields: decimals as text, scales as lists (what Dagster config holds)."""

    def plain(value):
        if isinstance(value, dict):
            return {key: plain(item) for key, item in value.items()}
        if isinstance(value, tuple):
            return list(value)
        return str(value) if isinstance(value, Decimal) else value

    return {CONFIG_FIELDS.get(name, name): plain(value) for name, value in options.items()}


class AttainConfig(ConfigurableResource):
    """Where the inputs are, where results go, and the company's settings.

    A setting left blank here (None) takes its value from the ``attain.yaml`` file of ``data_dir``, else its
    default (README "Settings"); one given here, by the run config or the CLI flag, wins over the file.
    """

    data_dir: str = Field(default=str(DEFAULT_VAR / "demo-data"), description="Folder holding the input files.")
    plans_dir: str = Field(default="", description="Folder of plan YAML files; blank = <data_dir>/plans.")
    output_dir: str = Field(default=str(DEFAULT_VAR / "output"), description="Packs and exports, by month.")
    deals_profile: str = Field(default="", description="CRM export profile for deals; blank = detect.")
    deals_mapping: str = Field(default="", description="Mapping file (YAML) for a CRM without a built-in profile.")
    date_order: str = Field(default="", description="DMY or MDY for an export whose dates cannot tell.")
    decimal_comma: bool | None = Field(default=None, description="True: 1.234,50 amounts; None: detect.")
    fiscal_year_start: int | None = Field(default=None, description="First month of the fiscal year (1-12).")
    timezone: str | None = Field(default=None, description="IANA time zone in which the month ends.")
    base_currency: str | None = Field(default=None, description="Currency that FX rates are quoted in.")
    min_responses: int | None = Field(default=None, description="Survey responses needed before a score is shown.")
    quarantine_max_share: str | None = Field(
        default=None, description="Largest share of deal rows quarantined before the run stops, e.g. '0.05'."
    )
    survey_scales: dict[str, list[int]] | None = Field(
        default=None, description="Extra survey scales, name: [lowest, highest], e.g. {nps_1_10: [1, 10]}."
    )
    encodings: dict[str, str] | None = Field(default=None, description="Text encoding per input, e.g. {deals: cp1252}.")
    product_aliases: dict[str, str] | None = Field(
        default=None, description="Product spellings of the deals file: the plans' name for each."
    )
    amount_ceiling: str | None = Field(default=None, description="Largest plausible deal, base currency.")
    amount_ceilings: dict[str, str] | None = Field(
        default=None, description="Largest plausible deal per currency, e.g. {JPY: '5000000000'}."
    )
    median_multiple: int | None = Field(default=None, description="Largest won deal as a multiple of the rep's median.")
    text_max_length: int | None = Field(default=None, description="Characters of display text kept.")
    pack_time_limit: int | None = Field(default=None, description="Seconds one PDF pack may take to render.")
    render_processes: int | None = Field(default=None, description="Processes rendering PDF packs (default 2).")

    def options(self) -> dict:
        """Every setting given: the data folder's attain.yaml, overridden by the fields set here."""
        given = {name: getattr(self, CONFIG_FIELDS.get(name, name)) for name in OPTIONS}
        return merge_options(
            load_settings_file(Path(self.data_dir) / SETTINGS_FILE),
            parse_options(given, "the run config of the attain resource"),
        )

    def option(self, name: str):
        """One setting in force (e.g. ``render_processes``)."""
        return option_in_force(self.options(), name)

    def ingest_options(self) -> dict:
        """The keyword arguments ``attain.validation.load_inputs`` takes for the deals file."""
        return ingest_options(self.options())

    def settings(self) -> Settings:
        """The pure-domain view of this configuration."""
        return settings_from(self.options())

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
    """Stores a month's table: created even when that month has no rows, and grown when a release adds columns.

    The stock handler skips empty DataFrames, so a month with an empty quarantine (the Maven sample) would
    leave no table for downstream steps to read; object columns of an empty frame are typed as text so the
    table accepts the rows of later months. The stock handler also inserts by position, so a warehouse
    written by an earlier release (``payouts`` without ``carried_minor``) would refuse this release's rows:
    columns the table lacks are added (earlier months read them as NULL) and rows are inserted by name.
    """

    def handle_output(self, context, table_slice, obj: pd.DataFrame, connection):
        frame = obj.astype({c: "string" for c in obj.columns if obj[c].dtype == object}) if obj.empty else obj
        target = f"{table_slice.schema}.{table_slice.table}"
        exists = connection.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
            [table_slice.schema, table_slice.table],
        ).fetchone()[0]
        if not exists:
            connection.execute(f"CREATE TABLE {target} AS SELECT * FROM frame")
        else:
            have = {row[0] for row in connection.execute(f"DESCRIBE {target}").fetchall()}
            for name, sql_type, *_ in connection.execute("DESCRIBE SELECT * FROM frame").fetchall():
                if name not in have:
                    connection.execute(f'ALTER TABLE {target} ADD COLUMN "{name}" {sql_type}')
            if not frame.empty:
                connection.execute(f"INSERT INTO {target} BY NAME SELECT * FROM frame")
        context.add_output_metadata({"dagster/partition_row_count": len(obj)})


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
            ).fetchone()
            if not exists or not exists[0]:
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
    keyword arguments are AttainConfig fields; ATTAIN_FISCAL_YEAR_START and ATTAIN_TIMEZONE set those two
    unless given (both win over the data folder's attain.yaml).
    """
    env = os.environ
    var = Path(var or env.get("ATTAIN_VAR") or DEFAULT_VAR).resolve()
    var.mkdir(parents=True, exist_ok=True)
    data_dir = Path(data_dir or env.get("ATTAIN_DATA_DIR") or var / "demo-data").resolve()
    database = str(var / "warehouse.duckdb")
    config = {**config_fields(env_options()), **config}
    return {
        "attain": AttainConfig(data_dir=str(data_dir), output_dir=str(var / "output"), **config),
        "warehouse": Warehouse(database=database),
        "io_manager": WarehouseIOManager(database=database, schema="attain"),
        "mailer": mailer_from_env(var, resend),
    }
