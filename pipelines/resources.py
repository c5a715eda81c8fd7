"""Resources: the only place that knows where things live, and the only place that reads the environment.

The embedded defaults need nothing running: the warehouse is a DuckDB file, packs and exports go to a local
folder, and e-mail is written to an outbox folder. Each is a setting, so a deployment points them at
PostgreSQL, object storage or a real SMTP server without touching an asset.

Every environment variable Attain takes (README "Configuration") is read by ``read_environment`` below and
nowhere else (tests/test_environment.py guards it): the CLI, the partitions, the schedule, the failure alert
and the resources take their values from the ``Environment`` it returns, and the domain (``attain/``) receives
them as arguments. The SMTP password is never read into a field: the mailer resource holds
``EnvVar("ATTAIN_SMTP_PASSWORD")``, which Dagster resolves when the run starts (its config and logs show the
variable's name only). The warehouse password likewise: ``EnvVar("ATTAIN_WAREHOUSE_PASSWORD")`` in the
``warehouse`` and ``io_manager`` resources, whose location (``ATTAIN_WAREHOUSE``) picks DuckDB or PostgreSQL.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from dagster import ConfigurableResource, EnvVar, FilesystemIOManager
from pydantic import Field

from attain import warehouse
from attain.delivery.mailers import PASSWORD_ENV
from attain.settings import (
    OPTIONS,
    SETTINGS_FILE,
    Settings,
    load_settings_file,
    merge_options,
    option_in_force,
    parse_options,
    settings_from,
)
from pipelines.warehouse_io import WarehouseIOManager

REPO_ROOT = Path(__file__).resolve().parents[1]
#: Everything a run writes lives below this folder unless configured otherwise.
DEFAULT_VAR = REPO_ROOT / "var"
#: AttainConfig fields whose name is not the setting's (attain.yaml key and CLI flag).
CONFIG_FIELDS = {"profile": "deals_profile", "mapping": "deals_mapping"}
#: The warehouse password's variable (issue 12 item 1): named by an EnvVar, never read into config.
WAREHOUSE_PASSWORD_ENV = "ATTAIN_WAREHOUSE_PASSWORD"


def ingest_options(options: dict) -> dict:
    """The deals-file options in ``options`` as the keyword arguments of ``attain.ingest.load.load_inputs``."""
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
    # issue 13 item 2: time progress of an as-of run
    time_progress_days: str | None = Field(default=None, description="'calendar' or 'working' days elapsed.")
    holidays: dict[str, str] | None = Field(
        default=None, description="Days that are not working days, e.g. {'2026-12-25': Christmas}."
    )
    time_progress_gap: str | None = Field(
        default=None, description="Warn when attainment lags the month elapsed by more than this, e.g. '0.10'."
    )
    # issue 13 item 4: the manager's target review
    target_review_low: str | None = Field(default=None, description="Most months below this: target too high.")
    target_review_high: str | None = Field(default=None, description="Most months above this: target too low.")
    pack_chunk_teams: int | None = Field(
        default=None, description="Teams per step of the packs stage (default 25): one worker renders each."
    )

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
        """The keyword arguments ``attain.ingest.load.load_inputs`` takes for the deals file."""
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


class Warehouse(ConfigurableResource):
    """Direct access to the warehouse for the tables that are not asset outputs.

    Closed-period snapshots and the delivery log are written in transactions here; asset tables go through
    the IO manager (``pipelines.warehouse_io``), which points at the same database. ``database`` is a DuckDB
    file or a PostgreSQL URL (``attain.warehouse``); the password stays an ``EnvVar``.
    """

    database: str = Field(
        default=str(DEFAULT_VAR / "warehouse.duckdb"),
        description="DuckDB file (a path or duckdb:///path) or postgresql://user@host:port/db.",
    )
    password: str = Field(
        default="", description=f"EnvVar('{WAREHOUSE_PASSWORD_ENV}'): resolved when the run starts, never in config."
    )

    @contextlib.contextmanager
    def connect(self) -> Iterator[warehouse.Connection]:
        """A connection (``attain.warehouse.Connection``), closed on exit.

        In a run the password is resolved already; outside one (the CLI's summary, ``attain close``) an
        ``EnvVar`` is read here, when the connection is made.
        """
        password = self.password.get_value("") if isinstance(self.password, EnvVar) else self.password
        with warehouse.connect(self.database, password or "") as con:
            yield con


# ---------------------------------------------------------------- the environment


#: The settings the environment sets, by option name: they win over attain.yaml; a CLI flag wins over both.
ENV_SETTINGS = {"fiscal_year_start": "ATTAIN_FISCAL_YEAR_START", "timezone": "ATTAIN_TIMEZONE"}

#: What ATTAIN_SMTP_SECURITY (the mailer's spelling) means to Dagster's failure alert, which always logs in over
#: TLS: a plain relay (``none``) is asked for STARTTLS, as the alert always did.
ALERT_SMTP_TYPES = {"starttls": "STARTTLS", "ssl": "SSL", "none": "STARTTLS"}


@dataclass(frozen=True)
class Environment:
    """Every environment variable Attain reads, as written (README "Configuration"); blank means unset.

    ``read_environment`` makes one; the values are typed where they are used (``options``, ``mailer_from_env``,
    the schedule), so a variable that is not used cannot stop anything. The SMTP password is not here: only
    whether it is set (``smtp_password_set``); the resources name it with ``EnvVar``.
    """

    var: str = ""  # ATTAIN_VAR
    data_dir: str = ""  # ATTAIN_DATA_DIR
    fiscal_year_start: str = ""  # ATTAIN_FISCAL_YEAR_START
    timezone: str = ""  # ATTAIN_TIMEZONE
    schedule_day: str = "3"  # ATTAIN_SCHEDULE_DAY
    schedule_hour: str = "6"  # ATTAIN_SCHEDULE_HOUR
    schedule_on: bool = False  # ATTAIN_SCHEDULE_ON=1
    mailer: str = "outbox"  # ATTAIN_MAILER
    smtp_host: str = "localhost"  # ATTAIN_SMTP_HOST
    smtp_port: str = "587"  # ATTAIN_SMTP_PORT
    smtp_security: str = "starttls"  # ATTAIN_SMTP_SECURITY
    smtp_user: str = ""  # ATTAIN_SMTP_USER
    smtp_cafile: str = ""  # ATTAIN_SMTP_CAFILE
    smtp_password_set: bool = False  # ATTAIN_SMTP_PASSWORD (never its value)
    mail_from: str = "attain@localhost"  # ATTAIN_MAIL_FROM
    mail_reply_to: str = ""  # ATTAIN_MAIL_REPLY_TO
    copy_to_reps: bool = False  # ATTAIN_COPY_TO_REPS=1
    alert_to: tuple[str, ...] = ()  # ATTAIN_ALERT_TO, comma-separated
    alert_from: str = "attain@localhost"  # ATTAIN_ALERT_FROM
    alert_smtp_type: str = ""  # ATTAIN_ALERT_SMTP_TYPE: deprecated, ATTAIN_SMTP_SECURITY says it for both
    dagster_home: str = ""  # DAGSTER_HOME
    # issue 12 item 2: distributed execution
    executor: str = "in_process"  # ATTAIN_EXECUTOR: in_process (default) or celery
    celery_broker: str = ""  # ATTAIN_CELERY_BROKER, e.g. redis://host:6379/0
    celery_backend: str = ""  # ATTAIN_CELERY_BACKEND: Celery's result backend, default the broker
    output: str = ""  # ATTAIN_OUTPUT: shared folder for packs, exports, the outbox and step outputs
    warehouse: str = ""  # ATTAIN_WAREHOUSE: duckdb:///path or postgresql://user@host:port/db (issue 12 item 1)
    warehouse_password_set: bool = False  # ATTAIN_WAREHOUSE_PASSWORD (never its value; issue 12 item 1)

    @property
    def partitions_timezone(self) -> str:
        """The time zone of the monthly partitions: ATTAIN_TIMEZONE, else UTC (the Settings default)."""
        return self.timezone or Settings().timezone

    def options(self) -> dict[str, object]:
        """The settings the environment sets (ATTAIN_FISCAL_YEAR_START, ATTAIN_TIMEZONE), typed and checked."""
        given = {name: getattr(self, name) for name in ENV_SETTINGS if getattr(self, name)}
        return parse_options(given, "the environment (" + ", ".join(ENV_SETTINGS.values()) + ")")


def read_environment() -> Environment:
    """The environment as Attain reads it: the only function that does (each call reads it afresh)."""
    env = os.environ

    def text(name: str, default: str = "") -> str:
        return env.get(name) or default

    return Environment(
        var=text("ATTAIN_VAR"),
        data_dir=text("ATTAIN_DATA_DIR"),
        fiscal_year_start=text("ATTAIN_FISCAL_YEAR_START"),
        timezone=text("ATTAIN_TIMEZONE"),
        schedule_day=env.get("ATTAIN_SCHEDULE_DAY", "3"),
        schedule_hour=env.get("ATTAIN_SCHEDULE_HOUR", "6"),
        schedule_on=env.get("ATTAIN_SCHEDULE_ON") == "1",
        mailer=env.get("ATTAIN_MAILER", "outbox"),
        smtp_host=env.get("ATTAIN_SMTP_HOST", "localhost"),
        smtp_port=env.get("ATTAIN_SMTP_PORT", "587"),
        smtp_security=env.get("ATTAIN_SMTP_SECURITY", "starttls"),
        smtp_user=env.get("ATTAIN_SMTP_USER", ""),
        smtp_cafile=env.get("ATTAIN_SMTP_CAFILE", ""),
        smtp_password_set=PASSWORD_ENV in env,
        mail_from=env.get("ATTAIN_MAIL_FROM", "attain@localhost"),
        mail_reply_to=env.get("ATTAIN_MAIL_REPLY_TO", ""),
        copy_to_reps=env.get("ATTAIN_COPY_TO_REPS") == "1",
        alert_to=tuple(a.strip() for a in env.get("ATTAIN_ALERT_TO", "").split(",") if a.strip()),
        alert_from=env.get("ATTAIN_ALERT_FROM", "attain@localhost"),
        alert_smtp_type=text("ATTAIN_ALERT_SMTP_TYPE"),
        dagster_home=text("DAGSTER_HOME"),
        executor=text("ATTAIN_EXECUTOR", "in_process"),
        celery_broker=text("ATTAIN_CELERY_BROKER"),
        celery_backend=text("ATTAIN_CELERY_BACKEND") or text("ATTAIN_CELERY_BROKER"),
        output=text("ATTAIN_OUTPUT"),
        warehouse=text("ATTAIN_WAREHOUSE"),
        warehouse_password_set=WAREHOUSE_PASSWORD_ENV in env,
    )


class MailerResource(ConfigurableResource):
    """How the month-end delivers packs: an outbox folder (default) or a real SMTP server.

    The SMTP fields also serve the run-failure alert (``failure_alert_params``): one server configuration.
    """

    mode: str = Field(default="outbox", description="'outbox' writes .eml files; 'smtp' sends.")
    outbox_dir: str = Field(default=str(DEFAULT_VAR / "outbox"), description="Folder for .eml files.")
    host: str = Field(default="localhost")
    port: int = Field(default=587)
    security: str = Field(default="starttls", description="'starttls', 'ssl' or 'none'.")
    username: str = Field(default="")
    password: str = Field(
        default="", description=f"EnvVar('{PASSWORD_ENV}'): resolved when the run starts, never written in config."
    )
    timeout: float = Field(default=30.0, description="Seconds before an unanswered SMTP call is retried.")
    cafile: str = Field(default="", description="CA bundle for a server with a private certificate.")
    from_addr: str = Field(default="attain@localhost")
    reply_to: str = Field(default="")
    copy_to_reps: bool = Field(default=False, description="Also send each rep their own pack.")
    resend: bool = Field(default=False, description="Re-send messages already delivered (logged).")


def mailer_from_env(var: Path, resend: bool = False, env: Environment | None = None) -> MailerResource:
    """The mailer: the outbox under ``var``, or SMTP when ATTAIN_MAILER=smtp (ATTAIN_SMTP_* settings).

    The SMTP server's fields are filled in either way, so the failure alert reads the same server from it.
    """
    env = env or read_environment()
    server: dict[str, Any] = {
        "host": env.smtp_host,
        "port": int(env.smtp_port),
        "security": env.smtp_security,
        "username": env.smtp_user,
        "cafile": env.smtp_cafile,
    }
    if env.mailer != "smtp":
        return MailerResource(outbox_dir=str(var / "outbox"), copy_to_reps=env.copy_to_reps, resend=resend, **server)
    return MailerResource(
        mode="smtp",
        password=EnvVar(PASSWORD_ENV) if env.smtp_password_set else "",
        from_addr=env.mail_from,
        reply_to=env.mail_reply_to,
        copy_to_reps=env.copy_to_reps,
        resend=resend,
        **server,
    )


def failure_alert_params(mailer: MailerResource | None = None, env: Environment | None = None) -> dict | None:
    """The arguments of Dagster's run-failure e-mail sensor, the SMTP server the mailer's; None when off.

    Off unless ATTAIN_ALERT_TO names recipients. Host, port, user and security are those of ``mailer`` (by
    default the one ``mailer_from_env`` configures); ATTAIN_ALERT_SMTP_TYPE (STARTTLS or SSL), deprecated, still
    wins over ATTAIN_SMTP_SECURITY. Dagster's sensor takes the password as text when it is defined, so it is
    read here from ATTAIN_SMTP_PASSWORD into the sensor alone, never into a resource field or run config.
    """
    env = env or read_environment()
    if not env.alert_to:
        return None
    mailer = mailer or mailer_from_env(DEFAULT_VAR, env=env)
    return {
        "email_from": env.alert_from,
        "email_password": EnvVar(PASSWORD_ENV).get_value(""),
        "email_to": list(env.alert_to),
        "smtp_host": mailer.host,
        "smtp_type": env.alert_smtp_type or ALERT_SMTP_TYPES.get(mailer.security, mailer.security.upper()),
        "smtp_port": mailer.port,
        "smtp_user": mailer.username or None,
    }


def default_resources(
    var: Path | str | None = None, data_dir: Path | str | None = None, resend: bool = False, **config
) -> dict:
    """The resource set: embedded defaults, relocated and configured by the environment.

    ``var`` (ATTAIN_VAR) is the folder for everything a run writes: the warehouse, the output and the
    outbox (tests use a temporary folder). ATTAIN_OUTPUT, when set, is a folder every worker sees (issue 12):
    the output, the outbox and the steps' intermediate results (``step_io_manager``) go there instead of
    under ``var``. ATTAIN_WAREHOUSE puts the warehouse elsewhere: another DuckDB file or a PostgreSQL server,
    whose password the resources name by ``EnvVar`` (ATTAIN_WAREHOUSE_PASSWORD). ``data_dir`` (ATTAIN_DATA_DIR)
    holds the input files. Other
    keyword arguments are AttainConfig fields; ATTAIN_FISCAL_YEAR_START and ATTAIN_TIMEZONE set those two
    unless given (both win over the data folder's attain.yaml).
    """
    env = read_environment()
    var = Path(var or env.var or DEFAULT_VAR).resolve()
    var.mkdir(parents=True, exist_ok=True)
    data_dir = Path(data_dir or env.data_dir or var / "demo-data").resolve()
    database = warehouse.check_location(env.warehouse or str(var / "warehouse.duckdb"))
    password: Any = EnvVar(WAREHOUSE_PASSWORD_ENV) if env.warehouse_password_set else ""
    shared = Path(env.output).resolve() if env.output else var
    config = {**config_fields(env.options()), **config}
    return {
        "attain": AttainConfig(data_dir=str(data_dir), output_dir=str(shared / "output"), **config),
        "warehouse": Warehouse(database=database, password=password),
        "io_manager": WarehouseIOManager(database=database, password=password, schema="attain"),
        "mailer": mailer_from_env(shared, resend, env),
        "step_io_manager": FilesystemIOManager(base_dir=str(shared / "steps")),
    }
