"""Delivering the plan: each message through a mailer and the log, with retries; the run's report."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import pandas as pd

from attain.delivery.log import DeliveryLog, LoggedDelivery
from attain.delivery.mailers import Mailer, PermanentFailure, TemporaryFailure
from attain.delivery.messages import Outgoing

# ------------------------------------------------------------------------------------------- delivering


@dataclass(frozen=True)
class DeliveryResult:
    """What became of one planned message in this run."""

    message: Outgoing
    outcome: str  # sent | resent | failed | skipped
    detail: str
    attempts: int = 0
    message_id: str = ""

    def __str__(self) -> str:
        to = self.message.to
        return f"{self.message.month} {to.person_id} ({to.name} <{to.email}>): {self.outcome}: {self.detail}"


@dataclass
class DeliveryReport:
    """The run's deliveries: ``sent`` (resent included), ``skipped`` (already delivered), ``failed``
    (with the reason), ``changed`` (delivered earlier with other pack bytes: not re-sent)."""

    sent: list[DeliveryResult] = field(default_factory=list)
    skipped: list[DeliveryResult] = field(default_factory=list)
    failed: list[DeliveryResult] = field(default_factory=list)
    changed: list[DeliveryResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing failed and no changed pack awaits a decision."""
        return not self.failed and not self.changed

    def summary(self) -> str:
        """Plain text for the end of a run: the counts, then one line per failure or changed pack."""
        lines = [
            f"deliveries: {len(self.sent)} sent, {len(self.skipped)} already sent, "
            f"{len(self.failed)} failed, {len(self.changed)} changed since sent"
        ]
        lines += [f"  FAILED {r.message.to.person_id} <{r.message.to.email}>: {r.detail}" for r in self.failed]
        lines += [f"  CHANGED {r.message.to.person_id}: {r.detail}" for r in self.changed]
        return "\n".join(lines)


def _changes(before: list[dict[str, str]], now: list[dict[str, str]]) -> str:
    old = {a["name"]: a["sha256"] for a in before}
    new = {a["name"]: a["sha256"] for a in now}
    parts = [f"{n} changed" for n in sorted(old.keys() & new.keys()) if old[n] != new[n]]
    parts += [f"{n} added" for n in sorted(new.keys() - old.keys())]
    parts += [f"{n} removed" for n in sorted(old.keys() - new.keys())]
    return ", ".join(parts)


def packs_in_no_message(deliveries: pd.DataFrame, review_packs: pd.DataFrame) -> list[str]:
    """Paths of the month's packs that no logged message carries (``deliveries``: the log's records).

    A rep whose manager has no manager pack (one who left, or a team lead on the roster as a rep) would
    otherwise have a pack that reaches nobody, silently.
    """
    carried = {a["name"] for text in deliveries["attachments"] for a in json.loads(text or "[]")}
    return sorted(set(review_packs.loc[~review_packs["path"].astype(str).isin(carried), "path"]))


def deliver(
    messages: Sequence[Outgoing],
    mailer: Mailer,
    log: DeliveryLog,
    *,
    resend: bool = False,
    retries: int = 4,
    backoff: float = 2.0,
    sleep: Callable[[float], None] = time.sleep,
) -> DeliveryReport:
    """Send each planned message at most once per (month, manager, recipient), recording every step.

    - Already sent with the same pack fingerprints: skipped (``resend=True`` sends again with a new
      Message-ID and logs ``resent``).
    - Sent earlier with other fingerprints: reported in ``changed`` and logged ``skipped``, not sent
      (``resend=True`` sends the new packs).
    - Left ``sending`` by an interrupted run: sent again with the *same* Message-ID.
    - Temporary failures are retried ``retries`` times, waiting ``backoff * 2**n`` seconds; permanent
      failures are logged ``failed`` and the other messages still go out. After a message ran out of
      retries, the next ones get one attempt each until one goes through, so a server that is down for
      the whole run costs one backoff sequence, not one per message.
    Only an interruption (KeyboardInterrupt, SystemExit, a crash) stops the loop; it leaves at most one
    ``sending`` row, which the next run completes.
    """
    keys = [m.key for m in messages]
    if len(set(keys)) < len(keys):
        raise ValueError("the plan holds the same (month, manager, recipient) twice; plan with plan_messages")
    report = DeliveryReport()
    history = log.history({m.month for m in messages})
    delivered: dict[tuple[str, str, str], list[LoggedDelivery]] = {}
    last: dict[tuple[str, str, str], LoggedDelivery] = {}
    for row in history:
        key = (row.month, row.manager_id, row.recipient)
        last[key] = row
        if row.outcome in ("sent", "resent"):
            delivered.setdefault(key, []).append(row)
    server_down = False
    for msg in messages:
        sends = delivered.get(msg.key, [])
        latest = last.get(msg.key)
        pending = latest if latest is not None and latest.outcome == "sending" else None
        resumed = pending is not None and pending.attachments == msg.fingerprints
        if resumed and pending is not None:
            message_id = pending.message_id  # interrupted: the same message again, recognisably
        elif sends and not resend:
            if sends[-1].attachments == msg.fingerprints:
                report.skipped.append(
                    DeliveryResult(
                        msg,
                        "skipped",
                        f"already sent {sends[-1].sent_at:%Y-%m-%d %H:%M} UTC as {sends[-1].message_id}",
                        0,
                        sends[-1].message_id,
                    )
                )
                continue
            detail = (
                f"packs changed since sent {sends[-1].sent_at:%Y-%m-%d %H:%M} UTC "
                f"({_changes(sends[-1].attachments, msg.fingerprints)}); not re-sent: re-send "
                f"explicitly (resend) if the recipient should get the new packs"
            )
            assert latest is not None  # sends is not empty, so the log has a latest entry for the message
            if pending is not None:
                log.finish(msg, "skipped", "interrupted run superseded: " + detail)
            elif latest.outcome != "skipped" or latest.message_id != msg.message_id:
                log.record(msg, "skipped", detail)
            report.changed.append(DeliveryResult(msg, "skipped", detail, 0, msg.message_id))
            continue
        elif sends:
            message_id = msg.message_id.replace("@", f".r{len(sends)}@", 1)
        else:
            message_id = msg.message_id
        outcome = "resent" if sends else "sent"
        sending = replace(msg, message_id=message_id)
        log.start(sending)
        result, server_down = _send_with_retries(
            sending, mailer, log, outcome, 0 if server_down else retries, backoff, sleep
        )
        if resumed and result.outcome != "failed":
            result = replace(result, detail=result.detail + "; completes an interrupted run (same Message-ID)")
        log.finish(msg, result.outcome, result.detail)
        (report.failed if result.outcome == "failed" else report.sent).append(result)
    return report


def _send_with_retries(
    msg: Outgoing,
    mailer: Mailer,
    log: DeliveryLog,
    outcome: str,
    retries: int,
    backoff: float,
    sleep: Callable[[float], None],
) -> tuple[DeliveryResult, bool]:
    """One message through the mailer; True as well when it failed only because retries ran out."""
    attempt = 0
    while True:
        attempt += 1
        log.attempt(msg)
        try:
            detail = mailer.send(msg)
            return DeliveryResult(msg, outcome, detail, attempt, msg.message_id), False
        except PermanentFailure as err:
            return DeliveryResult(msg, "failed", str(err), attempt, msg.message_id), False
        except TemporaryFailure as err:
            if attempt > retries:
                tries = f"{attempt} attempts" if attempt > 1 else "1 attempt (the previous message ran out of retries)"
                failed = DeliveryResult(msg, "failed", f"gave up after {tries}: {err}", attempt, msg.message_id)
                return failed, True
            sleep(backoff * 2 ** (attempt - 1))
