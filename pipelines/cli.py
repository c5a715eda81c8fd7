"""`attain`: the jobs people do by hand.

    attain demo                      generate the demo company and run its month-end
    attain maven                     load the public Maven CRM sample and run its last month
    attain run --month 2026-10       run (or re-run) a month; --to 2026-12 runs a range (backfill)
    attain validate PATH             check a data folder or one file, print every problem
    attain close --month 2026-10     freeze a month's ledger for payroll
    attain reopen --month 2026-10 --reason "..."
    attain payouts --month 2026-10 --format csv|xlsx
    attain statement --rep R001 --month 2026-10
    attain whatif --plans DRAFT --from 2026-01 --to 2026-10   model past months under draft plans
    attain plans diff OLD NEW        what changed between two plan files or folders, in words
    attain worker --queue dagster    a Celery worker for runs with ATTAIN_EXECUTOR=celery (README "Running it in production")

Everything a run writes goes below one folder, ``var/`` in the repo by default (ATTAIN_VAR or --var). One
command at a time works on a var folder (``pipelines.run_lock``): another one stops at once with who holds it,
or waits with ``run --wait``.

Exit codes (README "The attain command"):

    0  done: everything succeeded
    1  input problems: validate found some, or a run stopped on its inputs or settings (message says what to fix)
    2  usage error: unknown option, malformed or impossible month
    3  done with problems: the month was computed, but some packs or deliveries failed (each one listed)
    4  FAILED: a run stopped on something other than its inputs (a failed step or reconciliation)
    5  another run holds the var folder (retry later, or `attain run --wait`)
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from attain.periods import PeriodError, add_months, month_span, parse_month
from attain.settings import (
    OPTIONS,
    SETTINGS_FILE,
    SettingsError,
    how_to_set,
    load_settings_file,
    merge_options,
    parse_option,
    settings_from,
)
from pipelines import run_summary
from pipelines.resources import DEFAULT_VAR, REPO_ROOT, read_environment
from pipelines.run_lock import RunInProgress, run_lock
from pipelines.run_summary import (
    EXIT_BUSY,
    EXIT_FAILED,
    EXIT_OK,
    EXIT_PARTIAL,
    EXIT_PROBLEMS,
    EXIT_USAGE,
    INPUT_ERRORS,
    MonthSummary,
    shown,
)

#: Months the demo pays before its month, so draws and clawbacks have a history (90-day windows).
DEMO_HISTORY = 3


def _month(value: str) -> str:
    """A month argument: well formed, and one the partitions have (a month that has ended)."""
    from pipelines.partitions import monthly

    try:
        parse_month(value)
    except PeriodError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    keys = monthly.get_partition_keys()
    if value not in keys:
        raise argparse.ArgumentTypeError(f"{value} is not a month that can be run: from {keys[0]} to {keys[-1]}")
    return value


def _run_month(value: str) -> str:
    """The month of `attain run`: one that can be run, or (for ``--as-of``) the month in progress."""
    from pipelines.partitions import monthly

    try:
        return _month(value)
    except argparse.ArgumentTypeError:
        current = pd.Timestamp.now(tz=monthly.timezone).strftime("%Y-%m")
        if value != current:
            raise
        return value


def _var(args: argparse.Namespace) -> Path:
    return Path(args.var or read_environment().var or DEFAULT_VAR).resolve()


#: The dagster.yaml written when ``attain`` creates the instance under ``var/dagster`` (README shows it): no
#: telemetry, one queued run at a time (one DuckDB writer) and never two of one partition (month), for runs started
#: from the UI, the schedule or the sensors (``attain`` itself holds the var folder's run lock, ``pipelines.run_lock``).
INSTANCE_YAML = """\
telemetry:
  enabled: false
concurrency:
  runs:
    max_concurrent_runs: 1  # the embedded warehouse is one DuckDB file: one writer at a time
    tag_concurrency_limits:  # and never two runs of one month, whatever the warehouse
      - key: dagster/partition
        value:
          applyLimitPerUniqueValue: true
        limit: 1
  pools:  # one step at a time writes the warehouse, one sends mail (steps on Celery workers run side by side)
    granularity: op
    default_limit: 1
"""


def _instance(var: Path):
    """The Dagster instance: DAGSTER_HOME if set, else a lasting one under ``var/dagster``."""
    from dagster import DagsterInstance

    if read_environment().dagster_home:
        return DagsterInstance.get()
    home = var / "dagster"
    home.mkdir(parents=True, exist_ok=True)
    settings = home / "dagster.yaml"
    if not settings.exists():
        settings.write_text(INSTANCE_YAML, encoding="utf-8")
    return DagsterInstance.from_config(str(home))


def run_months(
    months: list[str],
    *,
    var: Path,
    data_dir: Path | None = None,
    resend: bool = False,
    ingest: dict | None = None,
    show_progress: bool = True,
    until: str | None = None,
    only: list[str] | None = None,
    wait: bool = False,
    resume: bool = False,
) -> list[MonthSummary]:
    """Materialise the month-end job for each month in turn; return what each produced.

    ``until`` names an asset (``payouts``, say): only it and what it depends on run. ``only`` names the
    assets to run alone, reading their inputs from the warehouse (``["deliveries"]`` retries the mail).
    The var folder's run lock is taken first: while another run holds it, ``RunInProgress`` is raised before
    anything is read or written, or with ``wait`` this run waits for it.

    The steps run in this process, unless ATTAIN_EXECUTOR=celery sends them to Celery workers (``attain
    worker``); ``resume`` then re-executes each month's last failed run from its failure instead.
    """
    span = months[0] if len(months) == 1 else f"{months[0]} to {months[-1]}"
    var.mkdir(parents=True, exist_ok=True)
    with run_lock(var, span, wait=wait, waiting=lambda message: print(message, file=sys.stderr, flush=True)):
        return _run_months(months, var, data_dir, resend, ingest, show_progress, until, only, resume)


def _run_months(months, var, data_dir, resend, ingest, show_progress, until, only, resume) -> list[MonthSummary]:
    """``run_months`` once the run lock is held."""
    from dagster import AssetSelection

    from pipelines.definitions import build_definitions
    from pipelines.executors import default_execution, run_on_workers
    from pipelines.progress import BAR

    execution = default_execution()
    defs = build_definitions(var=var, data_dir=data_dir, resend=resend, **(ingest or {}))
    job = defs.resolve_job_def("month_end")
    resources = defs.resources or {}
    instance = _instance(var)
    selection = None
    if until or only:
        chosen = AssetSelection.assets(until).upstream() if until else AssetSelection.assets(*only)
        selection = sorted(chosen.required_multi_asset_neighbors().resolve(defs.resolve_asset_graph()))
    summaries = []
    for month in months:
        steps = len(selection) if selection else len(job.graph.nodes)
        BAR.reset(enabled=show_progress, total_steps=steps, title=month)
        loggers = {"console": {"config": {"log_level": "CRITICAL"}}, "progress": {}}
        if "celery" in execution or resume:
            result = run_on_workers(
                month, selection, instance, resources, {"execution": {"config": execution}, "loggers": loggers}, resume
            )
        else:
            result = job.execute_in_process(
                partition_key=month,
                asset_selection=selection,
                instance=instance,
                raise_on_error=False,
                run_config={"loggers": loggers},
            )
        BAR.finish()
        summaries.append(run_summary.summary(month, result, resources))
    return summaries


def _print_summaries(summaries: list[MonthSummary]) -> int:
    """Print each month's summary; the exit code is the worst month's (a failed run over a partial one)."""
    for summary in summaries:
        print("\n".join(summary.lines()))
    codes = {s.exit_code for s in summaries}
    return next((code for code in (EXIT_FAILED, EXIT_PROBLEMS, EXIT_PARTIAL) if code in codes), EXIT_OK)


def cmd_run(args: argparse.Namespace) -> int:
    from pipelines.partitions import monthly
    from pipelines.resources import default_resources

    if args.as_of is not None:
        return _run_as_of(args)
    if args.month not in monthly.get_partition_keys():
        print(f"error: {args.month} has not ended yet: run it after its last day, or give --as-of", file=sys.stderr)
        return EXIT_USAGE
    months = month_span(args.month, args.to or args.month)
    config = _ingest_config(args)
    # attain.yaml and the environment are checked before any step runs: a wrong setting is one line, not a failed run
    default_resources(var=_var(args), data_dir=args.data, **config)["attain"].options()
    summaries = run_months(
        months,
        var=_var(args),
        data_dir=args.data,
        resend=args.resend,
        ingest=config,
        show_progress=not args.quiet,
        until=args.until,
        only=args.only.split(",") if args.only else None,
        wait=args.wait,
        resume=args.resume,
    )
    return _print_summaries(summaries)


def _run_as_of(args: argparse.Namespace) -> int:
    """`attain run --month M --as-of DAY`: provisional packs of M so far (issue 13 item 2); pays nothing."""
    from attain.measures.time_progress import AsOfError
    from pipelines.as_of import as_of_run, summary
    from pipelines.resources import default_resources

    if args.to or args.until or args.only or args.resend:
        print("error: --as-of measures one month so far: leave out --to, --until, --only and --resend", file=sys.stderr)
        return EXIT_USAGE
    attain = default_resources(var=_var(args), data_dir=args.data, **_ingest_config(args))["attain"]
    try:
        result = as_of_run(attain, args.month, args.as_of)
    except Exception as error:  # a day outside the month is a usage error, a bad input file an input problem
        if not isinstance(error, AsOfError) and type(error).__name__ not in INPUT_ERRORS:
            raise
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE if isinstance(error, AsOfError) else EXIT_PROBLEMS
    print("\n".join(summary(result, args.month, shown)))
    return EXIT_PARTIAL if result.packs.failed else EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    from attain.demo.basics import DEMO_MONTH
    from attain.demo.company import generate

    var = _var(args)
    data_dir = var / "demo-data"
    generate(data_dir)
    print(f"demo company written to {data_dir}")
    month = args.month or DEMO_MONTH
    earlier = month_span(add_months(month, -DEMO_HISTORY), add_months(month, -1))
    print(f"paying {earlier[0]} to {earlier[-1]} first (draws and clawbacks carry over), then the month-end of {month}")
    config = _ingest_config(args)
    history = run_months(
        earlier, var=var, data_dir=data_dir, ingest=config, show_progress=not args.quiet, until="payouts"
    )
    if not all(s.success for s in history):
        return _print_summaries(history)
    return _print_summaries(
        run_months([month], var=var, data_dir=data_dir, ingest=config, show_progress=not args.quiet)
    )


def cmd_maven(args: argparse.Namespace) -> int:
    from attain.demo.maven import MAVEN_MONTH, load_maven

    var = _var(args) / "maven" if not args.var else _var(args)
    data_dir = var / "maven-data"
    load_maven(Path(args.source), data_dir)
    print(f"Maven CRM sample converted to {data_dir}")
    return _print_summaries(
        run_months(
            [args.month or MAVEN_MONTH],
            var=var,
            data_dir=data_dir,
            ingest=_ingest_config(args),
            show_progress=not args.quiet,
        )
    )


def _flag_options(args: argparse.Namespace) -> dict:
    """The settings given as flags (README "Settings"), typed: a repeated KEY=VALUE flag as one mapping."""
    given = {}
    for name, option in OPTIONS.items():
        value = getattr(args, name, None)
        if value is not None:
            given[name] = dict(value) if option.keyed else str(value) if isinstance(value, Path) else value
    return given


def _ingest_config(args: argparse.Namespace) -> dict:
    """The settings flags of `run`, `demo` or `maven` as AttainConfig fields (only those given)."""
    from pipelines.resources import config_fields

    return config_fields(_flag_options(args))


def cmd_validate(args: argparse.Namespace) -> int:
    from attain.ingest.raw import InputFileError
    from attain.ingest.report import validate_path

    path = Path(args.path)
    folder = path if path.is_dir() else path.parent
    options = merge_options(
        load_settings_file(folder / SETTINGS_FILE), read_environment().options(), _flag_options(args)
    )
    try:
        report = validate_path(
            path,
            month=args.month,
            settings=settings_from(options),
            profile=options.get("profile"),
            mapping_file=options.get("mapping"),
            date_order=options.get("date_order"),
            decimal_comma=options.get("decimal_comma"),
        )
    except InputFileError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_PROBLEMS
    print(report.text())
    return EXIT_OK if report.ok else EXIT_PROBLEMS


def _warehouse_tables(args: argparse.Namespace, *names: str) -> list[pd.DataFrame]:
    from pipelines.resources import default_resources

    warehouse = default_resources(var=_var(args))["warehouse"]
    frames = []
    with warehouse.connect() as con:
        for name in names:
            table = f"attain.{name}"
            found = con.exists(table)
            frames.append(con.read(f"SELECT * FROM {table} WHERE month = ?", [args.month]) if found else pd.DataFrame())
    if any(f.empty for f in frames[:1]):
        raise SystemExit(
            f"error: no {names[0]} for {args.month} in the warehouse; run `attain run --month {args.month}` first"
        )
    return frames


def cmd_close(args: argparse.Namespace) -> int:
    from attain.pay import period_close
    from attain.pay.finance_export import ExportError, reconcile
    from pipelines.resources import default_resources

    resources = default_resources(var=_var(args))
    ledger, payouts, versions = _warehouse_tables(args, "incentive_ledger", "payouts", "plan_versions")
    try:
        reconcile(payouts, ledger)  # a month whose run stopped before payouts, or mismatched, is not closed
    except ExportError as error:
        print(f"error: {args.month} cannot be closed: {error}", file=sys.stderr)
        return EXIT_PROBLEMS
    with resources["warehouse"].connect() as con:
        fingerprint = period_close.stored_fingerprint(con, args.month)
        period_close.close_month(
            con, args.month, ledger, fingerprint, by=args.by, note=args.note, plan_versions=versions
        )
    print(f"{args.month} closed by {args.by}: {len(ledger)} ledger lines frozen (inputs {fingerprint[:12]})")
    return EXIT_OK


def cmd_reopen(args: argparse.Namespace) -> int:
    from attain.pay import period_close
    from pipelines.resources import default_resources

    with default_resources(var=_var(args))["warehouse"].connect() as con:
        period_close.reopen_month(con, args.month, reason=args.reason, by=args.by)
    print(f"{args.month} reopened by {args.by}: {args.reason}")
    return EXIT_OK


def cmd_payouts(args: argparse.Namespace) -> int:
    from attain.pay.finance_export import write_payouts

    payouts, ledger = _warehouse_tables(args, "payouts", "incentive_ledger")
    out = Path(args.out) if args.out else _var(args) / "output"
    for path in write_payouts(payouts, ledger, out, args.month, formats=(args.format,)):
        print(path)
    return EXIT_OK


def cmd_statement(args: argparse.Namespace) -> int:
    from attain.pay.finance_export import format_statement

    ledger, payouts = _warehouse_tables(args, "incentive_ledger", "payouts")
    print(format_statement(ledger, payouts, args.rep, args.month))
    return EXIT_OK


def cmd_worker(args: argparse.Namespace) -> int:
    """Start a dagster-celery worker: it runs the steps of Celery runs until it is stopped."""
    from pipelines.executors import DEFAULT_QUEUE, worker_main

    env = read_environment()
    if not env.celery_broker:
        raise SettingsError("`attain worker` needs ATTAIN_CELERY_BROKER, e.g. redis://localhost:6379/0")
    if args.concurrency < 1:
        raise SettingsError(f"--concurrency {args.concurrency}: write 1 or more")
    worker_main(
        env.celery_broker, env.celery_backend, args.queue or [DEFAULT_QUEUE], args.name, args.concurrency, args.loglevel
    )
    return EXIT_OK


#: What each setting flag does, for `attain run --help` (README "Settings" says more).
_SETTING_HELP = {
    "fiscal_year_start": "first month of the fiscal year, 1-12 (default 1; ATTAIN_FISCAL_YEAR_START)",
    "timezone": "IANA time zone in which the month ends (default UTC; ATTAIN_TIMEZONE)",
    "base_currency": "currency FX rates are quoted in (default USD)",
    "min_responses": "survey responses needed before a score is shown (default 5)",
    "quarantine_max_share": "largest share of deal rows quarantined before the run stops (default 0.05)",
    "survey_scales": "an extra survey scale, e.g. nps_1_10=1-10 (repeatable)",
    "encodings": "a file's text encoding, e.g. deals=cp1252 (repeatable)",
    "product_aliases": "a deals-file product spelling and the plans' name, e.g. 'GTXPro=GTX Pro' (repeatable)",
    "amount_ceiling": "largest plausible deal amount in the base currency",
    "amount_ceilings": "largest plausible deal amount in one currency, e.g. JPY=5000000000 (repeatable)",
    "median_multiple": "largest won deal as a multiple of the rep's median won deal",
    "text_max_length": "characters of display text (names, accounts, products) kept",
    "pack_time_limit": "seconds one PDF pack may take to render",
    "render_processes": "processes rendering PDF packs in parallel (default 2)",
    "time_progress_days": "as-of runs: count calendar or working days elapsed (default calendar)",
    "holidays": "as-of runs: a day that is not a working day, e.g. 2026-12-25=Christmas (repeatable)",
    "time_progress_gap": "as-of runs: warn when attainment lags the month elapsed by more than this (default 0.10)",
    "target_review_low": "target review: most months below this attainment flags a target too high (default 0.70)",
    "target_review_high": "target review: most months above this attainment flags a target too low (default 1.30)",
    "pack_chunk_teams": "teams per step of the packs stage, one Celery worker each (default 25)",
}


#: What the KEY=VALUE of a repeatable setting flag is.
_KEYED_METAVAR = {
    "survey_scales": "NAME=LOW-HIGH",
    "encodings": "TABLE=ENCODING",
    "product_aliases": "SPELLING=NAME",
    "amount_ceilings": "CCY=AMOUNT",
    "holidays": "DATE=NAME",
}


def _setting_flag(name: str) -> Callable[[str], object]:
    """The argparse type of a setting's flag: the value typed as attain.yaml would type it (KEY=VALUE if keyed)."""
    option = OPTIONS[name]

    def parse(text: str) -> object:
        try:
            if not option.keyed:
                return parse_option(name, text, option.flag)
            key, sep, value = text.partition("=")
            if not sep or not key.strip():
                raise SettingsError(f"{text!r}: write KEY=VALUE, for example {how_to_set(name)}")
            return next(iter(parse_option(name, {key.strip(): value}, option.flag).items()))
        except SettingsError as error:
            raise argparse.ArgumentTypeError(str(error).removeprefix(f"{option.flag}: ")) from None

    return parse


def _settings_options(p: argparse.ArgumentParser, *, rendering: bool = True) -> None:
    """The flags of every setting in Settings (and, for a run that renders packs, ``--render-processes``)."""
    for name in _SETTING_HELP:
        if name in ("render_processes", "pack_chunk_teams") and not rendering:
            continue
        option = OPTIONS[name]
        p.add_argument(
            option.flag,
            dest=name,
            type=_setting_flag(name),
            action="append" if option.keyed else "store",
            metavar=_KEYED_METAVAR.get(name, name.split("_")[-1].upper()),
            help=_SETTING_HELP[name],
        )


def _deals_file_options(p: argparse.ArgumentParser) -> None:
    """How to read a deals file that is a CRM export (docs/crm-exports.md)."""
    p.add_argument("--profile", help="CRM export profile of the deals file (default: detected)")
    p.add_argument("--mapping", type=Path, help="mapping file (YAML) for a CRM without a built-in profile")
    p.add_argument("--date-order", type=_setting_flag("date_order"), help="day/month order of the dates: DMY or MDY")
    decimals = p.add_mutually_exclusive_group()
    decimals.add_argument(
        "--decimal-comma", dest="decimal_comma", action="store_true", default=None, help="amounts are written 1.234,50"
    )
    decimals.add_argument(
        "--decimal-point", dest="decimal_comma", action="store_false", help="amounts are written 1,234.50"
    )


def _global_options(p: argparse.ArgumentParser, default) -> None:
    """Options of every subcommand, accepted before it (``attain --var DIR run``) or after it."""
    p.add_argument(
        "--var", default=default, help="folder for everything a run writes (default: var/ in the repo, or ATTAIN_VAR)"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="attain", description="Attain: month-end sales performance.")
    _global_options(parser, default=None)
    # The global options are accepted after the subcommand too; SUPPRESS keeps one given before it.
    common = argparse.ArgumentParser(add_help=False)
    _global_options(common, default=argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", required=True)

    def add(name: str, **kwargs) -> argparse.ArgumentParser:
        return sub.add_parser(name, parents=[common], **kwargs)

    p = add("demo", help="generate the demo company and run its month-end")
    p.add_argument("--month", type=_month, help="month to run (default: the demo month)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    _settings_options(p)
    p.set_defaults(func=cmd_demo)

    p = add("maven", help="load the public Maven CRM sample and run its last month")
    p.add_argument("--source", default=str(REPO_ROOT.parent / "shared" / "datasets" / "maven-crm"))
    p.add_argument("--month", type=_month)
    p.add_argument("--quiet", action="store_true")
    _settings_options(p)
    p.set_defaults(func=cmd_maven)

    p = add("run", help="run the month-end for a month (or a range: backfill)")
    p.add_argument("--month", type=_run_month, required=True)
    p.add_argument(
        "--as-of", metavar="YYYY-MM-DD", help="provisional packs of the month so far, to this day (pays nothing)"
    )
    p.add_argument("--to", type=_month, help="last month of a backfill range")
    p.add_argument("--data", type=Path, help="input folder (default: ATTAIN_DATA_DIR or var/demo-data)")
    _deals_file_options(p)
    p.add_argument("--resend", action="store_true", help="re-send e-mails already delivered (logged)")
    p.add_argument("--until", metavar="ASSET", help="stop after this asset (e.g. payouts): it and its inputs run")
    p.add_argument("--only", metavar="ASSET[,ASSET]", help="run only these assets, e.g. deliveries to retry the mail")
    p.add_argument("--wait", action="store_true", help="wait for another run on the same var folder to finish")
    p.add_argument(
        "--resume", action="store_true", help="re-execute the month's last failed run from its failure (a lost worker)"
    )
    p.add_argument("--quiet", action="store_true")
    _settings_options(p)
    p.set_defaults(func=cmd_run)

    p = add("validate", help="check a data folder or a file and list every problem")
    p.add_argument("path")
    p.add_argument("--month", type=_month, help="month the data is for (default: the latest close month)")
    _deals_file_options(p)
    _settings_options(p, rendering=False)
    p.set_defaults(func=cmd_validate)

    p = add("close", help="freeze a month's ledger")
    p.add_argument("--month", type=_month, required=True)
    p.add_argument("--by", default=getpass.getuser())
    p.add_argument("--note", default="")
    p.set_defaults(func=cmd_close)

    p = add("reopen", help="reopen a closed month (logged)")
    p.add_argument("--month", type=_month, required=True)
    p.add_argument("--reason", required=True)
    p.add_argument("--by", default=getpass.getuser())
    p.set_defaults(func=cmd_reopen)

    p = add("payouts", help="write the finance export of a month")
    p.add_argument("--month", type=_month, required=True)
    p.add_argument("--format", choices=("csv", "xlsx"), default="csv")
    p.add_argument("--out", help="output folder; files go to OUT/MONTH/finance (default: var/output)")
    p.set_defaults(func=cmd_payouts)

    p = add("statement", help="print one rep's statement")
    p.add_argument("--rep", required=True)
    p.add_argument("--month", type=_month, required=True)
    p.set_defaults(func=cmd_statement)
    from pipelines.cli_plans import plan_commands

    plan_commands(add)

    p = add("worker", help="start a Celery worker for runs with ATTAIN_EXECUTOR=celery (broker ATTAIN_CELERY_BROKER)")
    p.add_argument("--queue", action="append", help="queue to take steps from (repeatable; default: dagster)")
    p.add_argument("--concurrency", type=int, default=1, help="steps this worker runs at once (default 1)")
    p.add_argument("--name", default="attain", help="worker name; the host name is added (default attain)")
    p.add_argument("--loglevel", default="WARNING", help="Celery's log level (default WARNING)")
    p.set_defaults(func=cmd_worker)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `attain` command. Errors a person can act on print one line, not a traceback."""
    from attain.pay.period_close import PeriodCloseError
    from attain.warehouse import WarehouseError

    args = build_parser().parse_args(argv)
    try:
        if args.func in (cmd_close, cmd_reopen, cmd_payouts, cmd_statement):  # they open the warehouse too
            with run_lock(_var(args), f"`attain {args.command}` for {args.month}"):
                return args.func(args)
        return args.func(args)
    except (PeriodCloseError, SettingsError, WarehouseError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_PROBLEMS
    except RunInProgress as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BUSY


if __name__ == "__main__":
    sys.exit(main())
