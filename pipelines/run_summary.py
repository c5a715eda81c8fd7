"""What one month's run reports: its summary lines, its exit code and why it stopped.

``summary`` reads a finished Dagster run (its step failures, failed checks and the metadata the assets wrote:
quarantined rows, failed packs and deliveries, months without a ledger, unapproved plans) into a
``MonthSummary``, which the CLI prints and turns into an exit code (README "The attain command").
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

#: Exit codes of every command (README "The attain command"). 2 is argparse's own: a usage error.
EXIT_OK = 0  # everything done
EXIT_PROBLEMS = 1  # input problems: validate found some, or a run stopped on its inputs or settings
EXIT_USAGE = 2  # the command line is wrong (unknown option, bad month)
EXIT_PARTIAL = 3  # the month was computed, but some packs or deliveries failed (listed)
EXIT_FAILED = 4  # a run failed: a step broke on something other than its inputs
EXIT_BUSY = 5  # another run holds the var folder (without --wait)

#: Root errors of a failed step that mean "fix the inputs or the settings" (exit 1), not a fault (exit 4):
#: ``Failure`` is what the assets raise with an explained problem (a missing file, a mailer setting).
INPUT_ERRORS = frozenset(
    {"Failure", "InputFileError", "UnknownExportError", "PlanError", "ConventionError", "PeriodError", "LocaleError"}
)
#: Blocking checks that judge the inputs (the others reconcile Attain's own results).
INPUT_CHECKS = frozenset({"won_deal_owners_in_roster", "quarantine_within_limit", "every_rep_has_a_target"})


@dataclass
class MonthSummary:
    """What a month-end produced, read back from the warehouse and the output folder."""

    month: str
    success: bool
    failed_steps: list[str]
    error: str
    counts: dict[str, int]
    payable: dict[str, str]
    output: Path
    outbox: Path | None
    history_gaps: list[str]
    quarantined: dict[str, int] = field(default_factory=dict)  # input table -> rows quarantined
    failed_packs: list[dict] = field(default_factory=list)  # person_id, kind, locale, reason
    failed_deliveries: list[dict] = field(default_factory=list)  # recipient, address, answer (the server's)
    stopped_on_input: bool = False  # the run stopped because of its inputs or settings, not a fault
    unapproved_plans: list[str] = field(default_factory=list)  # issue 14 item 4: plan versions nobody approved

    @property
    def complete(self) -> bool:
        """The run succeeded and nothing in it failed: every pack made, every message delivered."""
        return self.success and not self.failed_packs and not self.failed_deliveries

    @property
    def exit_code(self) -> int:
        """This month's exit code (``EXIT_*``)."""
        if not self.success:
            return EXIT_PROBLEMS if self.stopped_on_input else EXIT_FAILED
        return EXIT_OK if self.complete else EXIT_PARTIAL

    def lines(self) -> list[str]:
        """The summary a person reads at the end of a run."""
        state = "done" if self.complete else "done with problems" if self.success else "FAILED"
        out = [f"month-end {self.month}: {state}"]
        if self.error:
            out.append(f"  problem: {self.error}")
        if self.failed_steps:
            out.append(f"  failed steps: {', '.join(self.failed_steps)}")
        c = self.counts
        if "deals" in c:
            others = "".join(
                f"; {table}: {n} rows quarantined" for table, n in sorted(self.quarantined.items()) if table != "deals"
            )
            out.append(
                f"  deals: {c['deals']} accepted, {self.quarantined.get('deals', 0)} rows quarantined{others} "
                f"(see the quarantine table and the packs)"
            )
        if "credited_this_month" in c:
            out.append(f"  credited deals this month: {c['credited_this_month']}")
        if "ledger_lines" in c:
            out.append(f"  ledger lines: {c['ledger_lines']}; payees: {c.get('payees', 0)}")
            for ccy, amount in sorted(self.payable.items()):
                out.append(f"  payable {ccy}: {amount}")
        if self.history_gaps:
            gaps = self.history_gaps
            out.append(
                f"  warning: no ledger for {', '.join(gaps)}; draws and clawbacks assume nothing was paid "
                f"then (run `attain run --month {gaps[0]} --to {gaps[-1]} --until payouts` first)"
            )
        out += [f"  warning: {warning}" for warning in self.unapproved_plans]
        if "sent" in c:
            out.append(
                f"  deliveries: {c['sent']} sent, {c.get('skipped', 0)} already sent, {c.get('failed', 0)} failed"
            )
        if c.get("changed"):
            out.append(
                f"  {c['changed']} message(s) not re-sent although their packs changed after delivery: "
                "check why, then `attain run --month ... --only deliveries --resend`"
            )
        for failure in self.failed_deliveries:
            out.append(f"  delivery FAILED to {failure['recipient']} <{failure['address']}>: {failure['answer']}")
        packs = self.output / self.month / "packs"
        if "rep_packs" in c:
            out.append(f"  packs: {c['rep_packs']} rep, {c.get('manager_packs', 0)} manager in {shown(packs)}")
        for failure in self.failed_packs:
            out.append(f"  pack FAILED: {failure['reason']}")
        finance = self.output / self.month / "finance"
        if c.get("finance_export") and finance.is_dir():
            out.append(f"  finance export: {', '.join(sorted(p.name for p in finance.iterdir()))} in {shown(finance)}")
        if "sent" in c and self.outbox is not None and (self.outbox / self.month).is_dir():
            mails = sorted((self.outbox / self.month).glob("*.eml"))
            out.append(f"  outbox: {len(mails)} .eml (one per manager) in {shown(self.outbox / self.month)}")
        return out


def shown(path: Path) -> str:
    """``path`` relative to the current folder when it is below it (shorter to read), else absolute."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def summary(month: str, result, resources: Mapping[str, Any]) -> MonthSummary:
    from attain.money import format_minor

    config, warehouse, mailer = resources["attain"], resources["warehouse"], resources["mailer"]
    counts: dict[str, int] = {}
    payable: dict[str, str] = {}

    # Only what this run materialised is reported: older rows of a stage that did not run now would mislead.
    made = {event.asset_key.path[-1] for event in result.get_asset_materialization_events()}
    counts["finance_export"] = int("finance_export" in made)

    def table(con, name: str, column: str = "month") -> pd.DataFrame | None:
        if name not in made:
            return None
        return con.read(f"SELECT * FROM attain.{name} WHERE {column} = ?", [month])

    with warehouse.connect() as con:
        deals, quarantine = table(con, "deals", "as_of"), table(con, "quarantine", "as_of")
        if deals is not None:
            counts["deals"] = len(deals)
        quarantined: dict[str, int] = {}
        if quarantine is not None:
            rows = quarantine[["table", "source_file", "source_row"]].drop_duplicates()
            counts["quarantined_rows"] = len(rows)
            quarantined = {str(t): int(n) for t, n in rows["table"].value_counts().items()}
        credited = table(con, "credited_deals")
        if credited is not None:
            counts["credited_this_month"] = int((credited["credit_month"] == month).sum())
        ledger, pay = table(con, "incentive_ledger"), table(con, "payouts")
        if ledger is not None:
            counts["ledger_lines"] = len(ledger)
        if pay is not None:
            counts["payees"] = len(pay)
            for ccy, total in pay.groupby("currency")["payable_minor"].sum().items():
                payable[str(ccy)] = format_minor(int(total), str(ccy))
        packs = table(con, "review_packs")
        if packs is not None:
            counts["rep_packs"] = int((packs["kind"] == "rep").sum())
            counts["manager_packs"] = int((packs["kind"] == "manager").sum())
    failed_steps, error, stopped_on_input = [], "", False
    if not result.success:
        causes = set()
        for event in result.all_events:
            if event.event_type_value == "STEP_FAILURE":
                failed_steps.append(event.step_key)
                info = event.step_failure_data.error
                if info is not None:
                    error = error or _root_message(info)
                    causes.add(_root_class(info))
        stopped_on_input = bool(causes) and causes <= INPUT_ERRORS
        failed_checks = [  # warnings (a failed pack, a failed delivery) do not stop a run and are listed apart
            e for e in result.get_asset_check_evaluations() if not e.passed and e.severity.value == "ERROR"
        ]
        if failed_checks:
            error = "; ".join(_check_message(e) for e in failed_checks)
            stopped_on_input = {e.check_name for e in failed_checks} <= INPUT_CHECKS
    history_gaps: list[str] = []
    unapproved_plans: list[str] = []
    failed_packs: list[dict] = []
    failed_deliveries: list[dict] = []
    for event in result.get_asset_materialization_events():
        mat = event.event_specific_data.materialization
        if mat.asset_key.path[-1] == "incentive_ledger" and "months_without_ledger" in mat.metadata:
            history_gaps = list(mat.metadata["months_without_ledger"].value)
        if mat.asset_key.path[-1] == "plan_versions" and "unapproved_plans" in mat.metadata:
            unapproved_plans = list(mat.metadata["unapproved_plans"].value)
        if mat.asset_key.path[-1] == "review_packs" and "failed_packs" in mat.metadata:
            failed_packs = list(mat.metadata["failed_packs"].value)
        if mat.asset_key.path[-1] == "deliveries":
            meta = mat.metadata
            if "failed_deliveries" in meta:
                failed_deliveries = list(meta["failed_deliveries"].value)
            for key, name in (("sent", "sent"), ("skipped_already_sent", "skipped"), ("failed", "failed")):
                if key in meta:
                    counts[name] = int(meta[key].value)
            if "changed_after_delivery" in meta:
                counts["changed"] = len(meta["changed_after_delivery"].value)
    outbox = Path(mailer.outbox_dir) if mailer.mode == "outbox" else None
    return MonthSummary(
        month,
        result.success,
        failed_steps,
        error,
        counts,
        payable,
        Path(config.output_dir),
        outbox,
        history_gaps,
        quarantined,
        failed_packs,
        failed_deliveries,
        stopped_on_input,
        unapproved_plans,
    )


def _check_message(evaluation) -> str:
    """A failed check as a sentence: its explanation, or the figures it recorded."""
    name = f"check {evaluation.asset_key.to_user_string()}.{evaluation.check_name} failed"
    if evaluation.description:
        return f"{name}: {evaluation.description}"
    figures = ", ".join(f"{key} = {value.value}" for key, value in evaluation.metadata.items())
    return f"{name} ({figures})" if figures else name


def _root_class(info) -> str:
    """The class name of the innermost error (``InputFileError``, ``KeyError``...)."""
    while info.cause is not None:
        info = info.cause
    return info.cls_name or ""


def _root_message(info) -> str:
    """The innermost error message: what the person must fix, without the traceback or class name."""
    while info.cause is not None:
        info = info.cause
    lines = (info.message or "").strip().splitlines()
    if not lines:
        return info.cls_name or "error"
    return re.sub(r"^[\w.]*(Error|Exception|Failure)\w*: ", "", lines[-1] if len(lines) == 1 else lines[0])
